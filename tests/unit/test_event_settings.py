"""The settings of events out: destinations, filters, secrets and the retry budget."""

from __future__ import annotations

import base64

import pytest

from shared.platform.errors import SettingsError
from shared.platform.settings import Settings, load_settings

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
SECRET_2 = "whsec_" + base64.b64encode(b"j" * 32).decode()
LOCAL = {"TWILIO_API_BASE_URL": "http://127.0.0.1:9000"}


def load(**env: str) -> Settings:
    return load_settings({"AzureWebJobsStorage": "UseDevelopmentStorage=true", **env})


def problem(**env: str) -> SettingsError:
    settings = load(**env)
    assert set(settings.problems) == {"events"}, settings.problems
    return settings.problems["events"]


def test_no_destination_means_events_are_off() -> None:
    events = load().events
    assert not events.configured
    assert (events.queue, events.retry_budget_hours) == ("events", 72.0)


def test_numbered_webhook_subscriptions_each_with_their_secrets_and_types() -> None:
    events = load(
        EVENT_WEBHOOK_URL="https://a.example.com/e",
        EVENT_WEBHOOK_SECRET=f"{SECRET} {SECRET_2}",
        EVENT_WEBHOOK_URL_2="https://b.example.com/e",
        EVENT_WEBHOOK_SECRET_2=SECRET,
        EVENT_WEBHOOK_TYPES_2="all",
        EVENT_WEBHOOK_BODIES_2="true",
    ).events
    first, second = events.webhooks
    assert (first.name, first.secrets, first.types, first.bodies) == (
        "webhook",
        (SECRET, SECRET_2),
        ("default",),
        False,
    )
    assert (second.name, second.types, second.bodies) == ("webhook_2", ("all",), True)
    assert events.configured
    assert SECRET not in repr(events)


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"EVENT_WEBHOOK_URL": "https://a.example.com"}, "EVENT_WEBHOOK_SECRET"),
        ({"EVENT_WEBHOOK_SECRET": SECRET}, "EVENT_WEBHOOK_URL"),
        ({"EVENT_WEBHOOK_URL": "https://a.example.com", "EVENT_WEBHOOK_SECRET": "x"}, "SECRET"),
        ({"EVENT_WEBHOOK_URL": "http://a.example.com", "EVENT_WEBHOOK_SECRET": SECRET}, "URL"),
        ({"EVENT_GRID_TOPIC_KEY": "k"}, "EVENT_GRID_TOPIC_ENDPOINT"),
        (
            {"EVENT_GRID_TOPIC_ENDPOINT": "https://t.example.com", "EVENT_GRID_TYPES": "sms"},
            "TYPES",
        ),
        ({"EVENT_CALLBACK_SECRET": "whsec_short"}, "EVENT_CALLBACK_SECRET"),
        ({"EVENT_RETRY_BUDGET_HOURS": "0"}, "EVENT_RETRY_BUDGET_HOURS"),
        ({"EVENT_RETRY_FIRST_SECONDS": "60", "EVENT_RETRY_MAX_SECONDS": "10"}, "MAX_SECONDS"),
    ],
)
def test_a_bad_events_setting_is_named(env: dict[str, str], name: str) -> None:
    assert name in str(problem(**env))


def test_a_bad_events_setting_leaves_sending_alone() -> None:
    settings = load(EVENT_WEBHOOK_URL="https://a.example.com")
    settings.require("storage")
    assert not settings.events.configured


def test_http_destinations_only_against_the_local_stack() -> None:
    events = load(
        **LOCAL,
        EVENT_GRID_TOPIC_ENDPOINT="http://127.0.0.1:9100/api/events",
        EVENT_GRID_TOPIC_KEY="key",
    ).events
    assert events.event_grid is not None
    assert events.event_grid.endpoint.startswith("http://")


def test_an_event_grid_topic_without_a_key_uses_the_managed_identity() -> None:
    topic = load(EVENT_GRID_TOPIC_ENDPOINT="https://t.westeurope-1.eventgrid.azure.net").events
    assert topic.event_grid is not None and topic.event_grid.key is None


def test_a_callback_secret_turns_callback_urls_on() -> None:
    events = load(EVENT_CALLBACK_SECRET=SECRET).events
    assert events.configured and events.callback_secrets == (SECRET,)
