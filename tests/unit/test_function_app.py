"""The app's table of contents: every function with its trigger, route, methods and auth."""

from __future__ import annotations

import azure.functions as func
import pytest
from azure.functions.decorators.http import HttpTrigger
from azure.functions.decorators.queue import QueueTrigger
from azure.functions.decorators.timer import TimerTrigger

from tests.support.app import functions
from tests.support.fresh_python import run_python

FUNCTION = func.AuthLevel.FUNCTION
ANONYMOUS = func.AuthLevel.ANONYMOUS

HTTP_FUNCTIONS: dict[str, tuple[str, set[str], func.AuthLevel]] = {
    "send_message": ("messages", {"POST"}, FUNCTION),
    "place_call": ("calls", {"POST"}, FUNCTION),
    "list_messages": ("messages", {"GET"}, FUNCTION),
    "list_calls": ("calls", {"GET"}, FUNCTION),
    "get_message": ("messages/{id}", {"GET"}, FUNCTION),
    "get_call": ("calls/{id}", {"GET"}, FUNCTION),
    "openapi_document": ("openapi.json", {"GET"}, FUNCTION),
    "erase_number": ("numbers/{number}", {"DELETE"}, FUNCTION),
    "statistics": ("stats", {"GET"}, FUNCTION),
    "list_dead_letters": ("events/dead-letters", {"GET"}, FUNCTION),
    "replay_dead_letters": ("events/dead-letters/replay", {"POST"}, FUNCTION),
    "console_page": ("console", {"GET"}, ANONYMOUS),
    "console_asset": ("console/{asset}", {"GET"}, ANONYMOUS),
    "twilio_status": ("twilio/status", {"POST"}, ANONYMOUS),
    "twilio_sms": ("twilio/sms", {"POST"}, ANONYMOUS),
    "twilio_voice": ("twilio/voice", {"POST"}, ANONYMOUS),
    "twilio_voice_menu": ("twilio/voice/menu", {"POST"}, ANONYMOUS),
    "twilio_voicemail": ("twilio/voice/recorded", {"POST"}, ANONYMOUS),
    "twiml_message": ("twiml/message", {"GET", "POST"}, ANONYMOUS),
    "twiml_message_preview": ("preview/twiml/message", {"GET", "POST"}, FUNCTION),
    "reminder_twiml": ("twiml/reminder", {"GET", "POST"}, ANONYMOUS),
    "reminder_choice_twiml": ("twiml/reminder/choice", {"POST"}, ANONYMOUS),
    "reminder_twiml_preview": ("preview/twiml/reminder", {"GET", "POST"}, FUNCTION),
}
QUEUE_FUNCTIONS = {
    "outbound_worker": ("%OUTBOUND_QUEUE%", "AzureWebJobsStorage"),
    "events_publisher": ("%EVENTS_QUEUE%", "AzureWebJobsStorage"),
}
TIMER_FUNCTIONS = {"retention_purge": "0 7 * * * *"}


def test_app_declares_exactly_the_expected_functions() -> None:
    expected = set(HTTP_FUNCTIONS) | set(QUEUE_FUNCTIONS) | set(TIMER_FUNCTIONS)

    assert set(functions()) == expected


@pytest.mark.parametrize("name", TIMER_FUNCTIONS)
def test_timer_function_runs_on_its_ncrontab_schedule(name: str) -> None:
    trigger = functions()[name].get_trigger()

    assert isinstance(trigger, TimerTrigger)
    assert trigger.schedule == TIMER_FUNCTIONS[name]


@pytest.mark.parametrize("name", HTTP_FUNCTIONS)
def test_http_function_route_methods_and_auth(name: str) -> None:
    route, methods, auth = HTTP_FUNCTIONS[name]
    trigger = functions()[name].get_trigger()

    assert isinstance(trigger, HttpTrigger)
    assert trigger.route == route
    assert {str(method) for method in trigger.methods or []} == methods
    assert trigger.auth_level == auth


@pytest.mark.parametrize("name", QUEUE_FUNCTIONS)
def test_queue_function_queue_and_connection(name: str) -> None:
    queue_name, connection = QUEUE_FUNCTIONS[name]
    trigger = functions()[name].get_trigger()

    assert isinstance(trigger, QueueTrigger)
    assert (trigger.queue_name, trigger.connection) == (queue_name, connection)


@pytest.mark.parametrize("name", HTTP_FUNCTIONS)
def test_http_function_binds_the_request_and_returns_a_response(name: str) -> None:
    bindings = functions()[name].get_bindings_dict()["bindings"]

    assert [(b["type"], b["name"]) for b in bindings] == [
        ("httpTrigger", "req"),
        ("http", "$return"),
    ]


def test_importing_the_app_does_not_import_the_twilio_rest_client() -> None:
    result = run_python("import function_app, sys; print('twilio.rest' in sys.modules)")

    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    "sdk", ["azure.core.pipeline", "azure.data.tables", "azure.storage.queue", "azure.eventgrid"]
)
def test_importing_the_app_does_not_import_the_azure_sdks(sdk: str) -> None:
    """A webhook's or a TwiML fetch's cold start pays for azure.functions alone."""
    result = run_python(f"import function_app, sys; print({sdk!r} in sys.modules)")

    assert result.stdout.strip() == "False"


def test_importing_the_app_keeps_the_sdks_request_log_to_warnings() -> None:
    script = (
        "import logging; logging.basicConfig(level=logging.INFO); import function_app; "
        "from shared.platform.logs import SDK_REQUEST_LOGGER; "
        "print(logging.getLogger(SDK_REQUEST_LOGGER).isEnabledFor(logging.INFO))"
    )
    result = run_python(script)

    assert result.stdout.strip().splitlines()[-1] == "False"
