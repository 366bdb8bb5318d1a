"""``make dev``'s decisions, from the settings a newcomer has."""

from __future__ import annotations

from localdev.dev import EXAMPLE, banner, simulated_twilio_port
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
