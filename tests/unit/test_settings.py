"""Settings: read once from an environment mapping; every problem names its setting."""

from __future__ import annotations

import logging
import os

import pytest

from shared.platform.errors import (
    InvalidSettingError,
    MisconfiguredError,
    MissingSettingError,
    SettingsError,
)
from shared.platform.settings import (
    Group,
    MenuOption,
    Settings,
    TwilioCredentials,
    get_settings,
    load_settings,
)

STORAGE = "UseDevelopmentStorage=true"
GROUPS: tuple[Group, ...] = ("storage", "twilio", "voice")


def load(**env: str) -> Settings:
    return load_settings({"AzureWebJobsStorage": STORAGE, **env})


def setting_error(**env: str) -> SettingsError:
    """The one problem that loading found (loading itself never raises)."""
    (problem,) = load(**env).problems.values()
    return problem


@pytest.mark.parametrize("env", [{}, {"AzureWebJobsStorage": "   "}], ids=["absent", "blank"])
def test_missing_storage_connection_is_named(env: dict[str, str]) -> None:
    settings = load_settings(env)

    with pytest.raises(MisconfiguredError) as info:
        settings.require("storage")

    assert info.value.name == "AzureWebJobsStorage"
    assert "AzureWebJobsStorage" in str(info.value)


@pytest.mark.parametrize(
    ("env", "name", "broken"),
    [
        pytest.param({"VOICE_MODE": "forward"}, "VOICE_FORWARD_TO", "voice", id="voice_mode"),
        pytest.param({"VOICE_MENU": '{"1": {"dance": 1}}'}, "VOICE_MENU", "voice", id="menu"),
        pytest.param({"TWILIO_FROM_NUMBER": "555"}, "TWILIO_FROM_NUMBER", "twilio", id="twilio"),
        pytest.param(
            {"LOG_MESSAGE_BODIES": "maybe"}, "LOG_MESSAGE_BODIES", "storage", id="storage"
        ),
    ],
)
def test_a_bad_setting_breaks_only_its_own_group(
    env: dict[str, str], name: str, broken: Group
) -> None:
    settings = load(**env)

    settings.require(*(group for group in GROUPS if group != broken))
    with pytest.raises(MisconfiguredError) as info:
        settings.require(broken)
    assert (info.value.group, info.value.name) == (broken, name)


def test_a_broken_group_keeps_its_defaults() -> None:
    settings = load(VOICE_MODE="forward", TWILIO_FROM_NUMBER="+15005550006")

    assert (settings.voice_mode, settings.from_number) == ("greeting", "+15005550006")


def test_credentials_refuse_when_the_twilio_group_is_broken() -> None:
    settings = load(TWILIO_ACCOUNT_SID="AC1", TWILIO_AUTH_TOKEN="t", TWILIO_TIMEOUT_SECONDS="x")

    with pytest.raises(MisconfiguredError, match="TWILIO_TIMEOUT_SECONDS"):
        settings.twilio_credentials()


@pytest.mark.parametrize(
    ("env", "phrase"),
    [
        pytest.param(
            {"TWILIO_VALIDATE_SIGNATURES": "false", "PUBLIC_BASE_URL": "https://gw.example.com"},
            "TWILIO_VALIDATE_SIGNATURES=false",
            id="unsigned_webhooks",
        ),
        pytest.param(
            {"TWILIO_VALIDATE_SIGNATURES": "false", "TWILIO_API_BASE_URL": "https://mock.example"},
            "TWILIO_VALIDATE_SIGNATURES=false",
            id="unsigned_webhooks_with_a_remote_mock",
        ),
        pytest.param({}, "PUBLIC_BASE_URL is not set", id="no_status_callbacks"),
    ],
)
def test_unsafe_production_settings_are_warned_about(env: dict[str, str], phrase: str) -> None:
    assert any(phrase in warning for warning in load(**env).warnings())


def test_unsigned_webhooks_against_a_local_simulator_are_not_warned_about() -> None:
    settings = load(
        TWILIO_VALIDATE_SIGNATURES="false",
        TWILIO_API_BASE_URL="http://127.0.0.1:4010",
        PUBLIC_BASE_URL="http://127.0.0.1:7071",
        NUMBER_HASH_KEY="k" * 32,
    )

    assert settings.warnings() == []


def test_problems_and_warnings_are_logged_once_when_settings_are_read(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(os, "environ", {"AzureWebJobsStorage": STORAGE, "VOICE_MODE": "shout"})
    get_settings.cache_clear()
    caplog.set_level(logging.ERROR, logger="gateway")
    try:
        get_settings()
        get_settings()
    finally:
        get_settings.cache_clear()

    lines = [record.getMessage() for record in caplog.records]
    assert len([line for line in lines if "setting=VOICE_MODE" in line]) == 1
    assert len([line for line in lines if "PUBLIC_BASE_URL is not set" in line]) == 1


def test_defaults_apply_when_only_storage_is_set() -> None:
    settings = load()

    assert settings.storage_connection.connection_string == STORAGE
    assert (settings.outbound_queue, settings.message_log_table, settings.opt_out_table) == (
        "outbound",
        "MessageLog",
        "OptOuts",
    )
    assert settings.log_message_bodies is True
    assert settings.validate_signatures is True
    assert settings.trust_forwarded_headers is False
    assert (settings.twilio_timeout_seconds, settings.send_lease_seconds) == (10.0, 120.0)
    assert settings.voice_mode == "greeting"
    assert settings.public_base_url is None


def test_named_settings_override_defaults() -> None:
    settings = load(OUTBOUND_QUEUE="q2", MESSAGE_LOG_TABLE="Log2", TWILIO_TIMEOUT_SECONDS="2.5")

    assert (settings.outbound_queue, settings.message_log_table) == ("q2", "Log2")
    assert settings.twilio_timeout_seconds == 2.5


FLAGS = {
    "LOG_MESSAGE_BODIES": "log_message_bodies",
    "TRUST_FORWARDED_HEADERS": "trust_forwarded_headers",
    "TWILIO_VALIDATE_SIGNATURES": "validate_signatures",
}


TRUE_WORDS = [("true", True), ("TRUE", True), ("1", True), ("yes", True), ("on", True)]
FALSE_WORDS = [("false", False), ("False", False), ("0", False), ("no", False), (" off ", False)]


@pytest.mark.parametrize("name", FLAGS)
@pytest.mark.parametrize(("raw", "value"), [*TRUE_WORDS, *FALSE_WORDS])
def test_flag_parses_true_and_false(name: str, raw: str, value: bool) -> None:
    assert getattr(load(**{name: raw}), FLAGS[name]) is value


@pytest.mark.parametrize("name", FLAGS)
def test_flag_with_junk_is_refused_naming_it(name: str) -> None:
    error = setting_error(**{name: "maybe"})

    assert isinstance(error, InvalidSettingError)
    assert error.name == name


@pytest.mark.parametrize("raw", ["soon", "0", "-1"])
def test_timeout_that_is_not_a_positive_number_is_refused(raw: str) -> None:
    error = setting_error(TWILIO_TIMEOUT_SECONDS=raw)

    assert isinstance(error, InvalidSettingError)
    assert error.name == "TWILIO_TIMEOUT_SECONDS"


@pytest.mark.parametrize(
    ("name", "attribute"),
    [("TWILIO_FROM_NUMBER", "from_number"), ("VOICE_FORWARD_TO", "voice_forward_to")],
)
def test_phone_setting_accepts_e164(name: str, attribute: str) -> None:
    assert getattr(load(**{name: " +15005550006 "}), attribute) == "+15005550006"


@pytest.mark.parametrize("name", ["TWILIO_FROM_NUMBER", "VOICE_FORWARD_TO"])
@pytest.mark.parametrize("raw", ["5005550006", "+1 500 555 0006", "+0123456"])
def test_phone_setting_that_is_not_e164_is_refused_naming_it(name: str, raw: str) -> None:
    error = setting_error(**{name: raw})

    assert isinstance(error, InvalidSettingError)
    assert error.name == name


@pytest.mark.parametrize(
    ("name", "attribute"),
    [("PUBLIC_BASE_URL", "public_base_url"), ("TWILIO_API_BASE_URL", "api_base_url")],
)
def test_url_setting_loses_its_trailing_slash(name: str, attribute: str) -> None:
    settings = load(**{name: "https://gw.example.com/"})

    assert getattr(settings, attribute) == "https://gw.example.com"


@pytest.mark.parametrize("name", ["PUBLIC_BASE_URL", "TWILIO_API_BASE_URL"])
def test_url_setting_without_scheme_is_refused_naming_it(name: str) -> None:
    error = setting_error(**{name: "gw.example.com"})

    assert isinstance(error, InvalidSettingError)
    assert error.name == name


def test_credentials_prefer_the_api_key_and_secret() -> None:
    settings = load(
        TWILIO_ACCOUNT_SID="AC1",
        TWILIO_AUTH_TOKEN="token",
        TWILIO_API_KEY_SID="SK1",
        TWILIO_API_KEY_SECRET="key-secret",
    )

    assert settings.twilio_credentials() == TwilioCredentials("AC1", "SK1", "key-secret")


@pytest.mark.parametrize(
    "extra", [{}, {"TWILIO_API_KEY_SID": "SK1"}], ids=["no_key", "key_without_secret"]
)
def test_credentials_fall_back_to_the_auth_token(extra: dict[str, str]) -> None:
    settings = load(TWILIO_ACCOUNT_SID="AC1", TWILIO_AUTH_TOKEN="token", **extra)

    assert settings.twilio_credentials() == TwilioCredentials("AC1", "AC1", "token")


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        pytest.param({"TWILIO_AUTH_TOKEN": "token"}, "TWILIO_ACCOUNT_SID", id="no_account_sid"),
        pytest.param({"TWILIO_ACCOUNT_SID": "AC1"}, "TWILIO_AUTH_TOKEN", id="no_auth_token"),
    ],
)
def test_credentials_name_the_missing_setting(env: dict[str, str], missing: str) -> None:
    with pytest.raises(MissingSettingError) as info:
        load(**env).twilio_credentials()

    assert info.value.name == missing
    assert missing in str(info.value)


MENU = (
    '{"1": {"say": "We open at nine."}, "2": {"forward": "+15551230000"}, "#": {"voicemail": true}}'
)


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        pytest.param({}, "greeting", id="nothing_set_greets"),
        pytest.param({"VOICE_FORWARD_TO": "+15551230000"}, "forward", id="forward_to_forwards"),
        pytest.param({"VOICE_MENU": MENU}, "menu", id="menu_set_is_menu"),
        pytest.param(
            {"VOICE_MENU": MENU, "VOICE_FORWARD_TO": "+15551230000"}, "menu", id="menu_wins"
        ),
        pytest.param(
            {"VOICE_MODE": "voicemail", "VOICE_FORWARD_TO": "+15551230000"},
            "voicemail",
            id="explicit_mode_wins",
        ),
        pytest.param({"VOICE_MODE": "Reject"}, "reject", id="explicit_mode_any_case"),
    ],
)
def test_voice_mode(env: dict[str, str], mode: str) -> None:
    assert load(**env).voice_mode == mode


def test_voice_menu_parses_each_kind_of_option() -> None:
    assert dict(load(VOICE_MENU=MENU).voice_menu) == {
        "1": MenuOption(say="We open at nine."),
        "2": MenuOption(forward_to="+15551230000"),
        "#": MenuOption(voicemail=True),
    }


@pytest.mark.parametrize(
    ("env", "name"),
    [
        pytest.param({"VOICE_MODE": "forward"}, "VOICE_FORWARD_TO", id="forward_without_number"),
        pytest.param({"VOICE_MODE": "menu"}, "VOICE_MENU", id="menu_without_options"),
    ],
)
def test_voice_mode_without_what_it_needs_names_the_missing_setting(
    env: dict[str, str], name: str
) -> None:
    error = setting_error(**env)

    assert isinstance(error, MissingSettingError)
    assert error.name == name


def test_unknown_voice_mode_is_refused_naming_it() -> None:
    error = setting_error(VOICE_MODE="shout")

    assert isinstance(error, InvalidSettingError)
    assert error.name == "VOICE_MODE"


@pytest.mark.parametrize(
    "menu",
    [
        pytest.param('{"1": {"say": ', id="not_json"),
        pytest.param('[{"say": "hi"}]', id="not_an_object"),
        pytest.param('{"12": {"say": "hi"}}', id="key_of_two_digits"),
        pytest.param('{"a": {"say": "hi"}}', id="key_not_a_key_press"),
        pytest.param('{"1": "hi"}', id="action_not_an_object"),
        pytest.param('{"1": {"say": "hi", "voicemail": true}}', id="two_actions"),
        pytest.param('{"1": {"dance": "hi"}}', id="unknown_action"),
        pytest.param('{"1": {"say": ""}}', id="empty_say"),
        pytest.param('{"1": {"forward": "5551230000"}}', id="forward_not_e164"),
        pytest.param('{"1": {"voicemail": false}}', id="voicemail_false"),
    ],
)
def test_bad_voice_menu_is_refused_naming_it(menu: str) -> None:
    error = setting_error(VOICE_MENU=menu)

    assert isinstance(error, InvalidSettingError)
    assert error.name == "VOICE_MENU"


def test_status_callback_url_carries_the_id() -> None:
    settings = load(PUBLIC_BASE_URL="https://gw.example.com/")

    assert settings.status_callback_url("abc-1") == (
        "https://gw.example.com/api/twilio/status?id=abc-1"
    )


def test_status_callback_url_is_none_without_a_public_url() -> None:
    assert load().status_callback_url("abc-1") is None


def test_twilio_secrets_are_not_in_repr() -> None:
    settings = load(
        TWILIO_ACCOUNT_SID="AC1",
        TWILIO_AUTH_TOKEN="auth-token-value",
        TWILIO_API_KEY_SID="SK1",
        TWILIO_API_KEY_SECRET="api-key-secret-value",
    )

    assert "auth-token-value" not in repr(settings)
    assert "api-key-secret-value" not in repr(settings)


def test_storage_account_key_is_not_in_repr() -> None:
    settings = load_settings(
        {
            "AzureWebJobsStorage": "DefaultEndpointsProtocol=https;AccountName=gw;"
            "AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net"
        }
    )

    assert "c2VjcmV0LWtleQ==" not in repr(settings)


def test_send_lease_shorter_than_a_twilio_call_is_refused_naming_both() -> None:
    error = setting_error(TWILIO_TIMEOUT_SECONDS="10", SEND_LEASE_SECONDS="12")

    assert isinstance(error, InvalidSettingError)
    assert error.name == "SEND_LEASE_SECONDS"
    assert "TWILIO_TIMEOUT_SECONDS" in str(error)


def test_send_lease_that_outlives_a_twilio_call_is_accepted() -> None:
    settings = load(TWILIO_TIMEOUT_SECONDS="2", SEND_LEASE_SECONDS="7")

    assert settings.send_lease_seconds == 7.0
    assert settings.settle_seconds == 7.0


@pytest.mark.parametrize(
    ("env", "name"),
    [
        pytest.param({"TWILIO_RETRY_BUDGET_HOURS": "0"}, "TWILIO_RETRY_BUDGET_HOURS", id="budget"),
        pytest.param(
            {"TWILIO_RETRY_FIRST_SECONDS": "60", "TWILIO_RETRY_MAX_SECONDS": "10"},
            "TWILIO_RETRY_MAX_SECONDS",
            id="cap-below-first-step",
        ),
        pytest.param({"TWILIO_MAX_IN_FLIGHT": "2.5"}, "TWILIO_MAX_IN_FLIGHT", id="in-flight"),
    ],
)
def test_a_bad_retry_setting_is_named(env: dict[str, str], name: str) -> None:
    error = setting_error(**env)

    assert isinstance(error, InvalidSettingError) and error.name == name


def test_the_retry_budget_is_a_day_unless_set() -> None:
    settings = load()

    assert settings.twilio_retry_budget_hours == 24.0
    assert (settings.twilio_retry_first_seconds, settings.twilio_retry_max_seconds) == (10, 600)
    assert load(TWILIO_RETRY_BUDGET_HOURS="48").twilio_retry_budget_hours == 48.0


def test_records_are_kept_30_days_and_nothing_is_deleted_at_twilio_by_default() -> None:
    settings = load()

    assert settings.retention_days == 30 and settings.retention_table == "Retention"
    assert not settings.twilio_delete_on_erasure and not settings.twilio_delete_on_purge


@pytest.mark.parametrize("days", ["0", "3651", "seven", "-1", "1.5", "٣"])
def test_retention_days_must_be_whole_days_in_range(days: str) -> None:
    problem = setting_error(RETENTION_DAYS=days)

    assert isinstance(problem, InvalidSettingError) and problem.name == "RETENTION_DAYS"


def test_a_short_number_hash_key_is_refused_naming_it() -> None:
    problem = setting_error(NUMBER_HASH_KEY="too-short")

    assert isinstance(problem, InvalidSettingError) and problem.name == "NUMBER_HASH_KEY"


def test_no_number_hash_key_is_warned_about() -> None:
    assert any("NUMBER_HASH_KEY" in warning for warning in load().warnings())


def test_twilio_side_deletion_is_read_as_flags() -> None:
    settings = load(TWILIO_DELETE_ON_ERASURE="true", TWILIO_DELETE_ON_PURGE="yes")

    assert settings.twilio_delete_on_erasure and settings.twilio_delete_on_purge


def test_bodies_are_kept_as_long_as_records_unless_set() -> None:
    assert load().body_retention_days is None
    assert load(BODY_RETENTION_DAYS="7").body_retention_days == 7


def test_bodies_kept_longer_than_records_are_refused_naming_it() -> None:
    problem = setting_error(BODY_RETENTION_DAYS="30", RETENTION_DAYS="30")

    assert isinstance(problem, InvalidSettingError) and problem.name == "BODY_RETENTION_DAYS"


def test_two_webhook_keys_are_held_by_id_for_rotation() -> None:
    settings = load(
        TWILIO_WEBHOOK_KEY_ID="webhooks_sharedkey_a",
        TWILIO_WEBHOOK_KEY_SECRET="secret-a",
        TWILIO_WEBHOOK_KEY_ID_2="webhooks_sharedkey_b",
        TWILIO_WEBHOOK_KEY_SECRET_2="secret-b",
    )

    assert dict(settings.webhook_keys) == {
        "webhooks_sharedkey_a": "secret-a",
        "webhooks_sharedkey_b": "secret-b",
    }
    assert "secret-a" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TWILIO_WEBHOOK_KEY_ID": "k"}, "TWILIO_WEBHOOK_KEY_SECRET"),
        ({"TWILIO_WEBHOOK_KEY_SECRET_2": "s"}, "TWILIO_WEBHOOK_KEY_ID_2"),
        (
            {"TWILIO_WEBHOOK_KEY_ID": "a,b", "TWILIO_WEBHOOK_KEY_SECRET": "s"},
            "TWILIO_WEBHOOK_KEY_ID",
        ),
        (
            {
                "TWILIO_WEBHOOK_KEY_ID": "k",
                "TWILIO_WEBHOOK_KEY_SECRET": "s",
                "TWILIO_WEBHOOK_KEY_ID_2": "k",
                "TWILIO_WEBHOOK_KEY_SECRET_2": "t",
            },
            "TWILIO_WEBHOOK_KEY_ID_2",
        ),
    ],
)
def test_incomplete_or_bad_webhook_key_is_refused_naming_it(
    env: dict[str, str], named: str
) -> None:
    assert getattr(setting_error(**env), "name", None) == named
