"""``make dev``'s decisions, from the settings a newcomer has."""

from __future__ import annotations

import subprocess
import sys

from localdev.azurite import PROJECT_ROOT
from localdev.dev import EXAMPLE, HOST_LOG, KEYS, banner, simulated_twilio_port
from localdev.host.keys import resolve_keys
from localdev.stack import Stack, read_settings


def test_example_settings_use_the_simulator_on_4010() -> None:
    assert simulated_twilio_port(read_settings(EXAMPLE)) == 4010


def test_real_credentials_never_go_to_the_simulator() -> None:
    values = {**read_settings(EXAMPLE), "TWILIO_ACCOUNT_SID": "AC" + "1" * 32}

    assert simulated_twilio_port(values) is None


def test_remote_api_base_url_starts_no_simulator() -> None:
    values = {**read_settings(EXAMPLE), "TWILIO_API_BASE_URL": "https://mock.example.com"}

    assert simulated_twilio_port(values) is None


def test_banner_has_ready_to_paste_send_and_status_commands() -> None:
    text = banner(Stack(host_port=7071), "k3y", 4010)

    assert "curl -s -X POST http://127.0.0.1:7071/api/messages -H 'x-functions-key: k3y'" in text
    assert "curl -s http://127.0.0.1:7071/api/messages/hello-1 -H 'x-functions-key: k3y'" in text


def test_banner_sets_up_the_readme_how_to_with_the_key() -> None:
    assert "export KEY=k3y" in banner(Stack(host_port=7071), "k3y", 4010)


def test_banner_says_where_the_key_is_kept_and_how_to_print_it() -> None:
    text = banner(Stack(host_port=7071), "k3y", 4010)

    assert f"is kept in {KEYS}; `make key` prints it" in text
    assert str(KEYS).endswith(".localdev/host_keys.json")


def test_banner_shows_the_status_code_and_what_an_empty_answer_means() -> None:
    text = banner(Stack(host_port=7071), "k3y", 4010)

    assert "-w '\\n%{http_code}\\n'" in text
    assert "An empty answer is a 401: the key is missing or wrong" in text


def test_banner_points_at_the_file_that_holds_the_gateways_own_log_lines() -> None:
    text = banner(Stack(host_port=7071), "k3y", 4010)

    assert f"the gateway's and the host's: this terminal and {HOST_LOG}" in text


def test_the_key_command_prints_the_key_make_dev_uses() -> None:
    command = [sys.executable, "-m", "localdev.dev", "--key"]
    printed = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)

    assert printed.stdout.strip() == resolve_keys(PROJECT_ROOT).function_key
