"""``make dev``'s decisions, from the settings a newcomer has."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.request import urlopen

from localdev import event_grid, webhook_receiver
from localdev.azurite import PROJECT_ROOT
from localdev.dev import EXAMPLE, HOST_LOG, KEYS, banner, simulated_twilio_port
from localdev.host.keys import resolve_keys
from localdev.ports import free_port
from localdev.stack import Part, Stack, event_stand_ins, read_settings


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


def test_example_settings_start_both_events_stand_ins_with_the_apps_key_and_secret() -> None:
    values = read_settings(EXAMPLE)

    parts = {part.name: part for part in event_stand_ins(values)}

    assert parts["event_grid"].port == 4020
    assert parts["event_grid"].args[-2:] == ("--key", values["EVENT_GRID_TOPIC_KEY"])
    assert parts["webhook_receiver"].port == 4030
    assert parts["webhook_receiver"].args[-2:] == ("--secret", values["EVENT_WEBHOOK_SECRET"])


def test_the_example_uses_the_stand_ins_own_defaults() -> None:
    values = read_settings(EXAMPLE)

    assert values["EVENT_GRID_TOPIC_KEY"] == event_grid.DEFAULT_KEY
    assert values["EVENT_WEBHOOK_SECRET"] == webhook_receiver.DEFAULT_SECRET


def test_every_secret_of_a_rotation_reaches_the_receiver() -> None:
    values = {
        "EVENT_WEBHOOK_URL": "http://127.0.0.1:4030/x",
        "EVENT_WEBHOOK_SECRET": "whsec_a whsec_b",
    }

    [part] = event_stand_ins(values)

    assert part.args[-4:] == ("--secret", "whsec_a", "--secret", "whsec_b")


def test_destinations_elsewhere_start_no_stand_in() -> None:
    values = {
        **read_settings(EXAMPLE),
        "EVENT_GRID_TOPIC_ENDPOINT": "https://topic.westeurope-1.eventgrid.azure.net/api/events",
        "EVENT_WEBHOOK_URL": "https://hooks.example.com/events",
    }

    assert event_stand_ins(values) == ()


def test_banner_says_how_to_watch_events_arrive_at_each_stand_in() -> None:
    parts = event_stand_ins(read_settings(EXAMPLE))

    text = banner(Stack(host_port=7071, parts=parts), "k3y", 4010)

    assert "curl -s http://127.0.0.1:4020/received" in text
    assert "curl -s http://127.0.0.1:4030/received" in text
    assert "curl -s -X POST http://127.0.0.1:4030/faults" in text


def test_banner_without_local_destinations_says_no_event_is_sent() -> None:
    text = banner(Stack(host_port=7071), "k3y", 4010)

    assert "no local destination is configured" in text
    assert "/received" not in text


def test_a_stack_starts_its_extra_parts_before_the_host() -> None:
    port = free_port()
    part = Part("event_grid", ("localdev.event_grid", "--port", str(port)), port)
    stack = Stack(host_port=free_port(), parts=(part,), app_dir=PROJECT_ROOT)
    stack.start_host = lambda: None  # type: ignore[method-assign]
    try:
        stack.start()
        with urlopen(f"http://127.0.0.1:{port}/received", timeout=5) as answer:
            assert json.load(answer) == []
    finally:
        stack.stop()
