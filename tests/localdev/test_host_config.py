"""host.json, local.settings.json and host keys: what the host reads before it starts."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from localdev.host.hostjson import (
    HostConfig,
    HostJsonError,
    QueueOptions,
    load_host_json,
    parse_host_json,
    parse_timespan,
)
from localdev.host.keys import FUNCTION_KEY_ENV, KEYS_FILE, resolve_keys
from localdev.host.settings import SettingsFileError, apply_settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("00:00:01", timedelta(seconds=1)),
        ("00:01:30", timedelta(minutes=1, seconds=30)),
        ("1.02:03:04", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("00:00:00.500", timedelta(milliseconds=500)),
        (2000, timedelta(seconds=2)),
        ("250", timedelta(milliseconds=250)),
    ],
)
def test_timespan_forms_are_parsed(value: object, expected: timedelta) -> None:
    assert parse_timespan(value, setting="x") == expected


@pytest.mark.parametrize("value", ["1 minute", "00:00", True, None])
def test_malformed_timespan_is_refused(value: object) -> None:
    with pytest.raises(HostJsonError):
        parse_timespan(value, setting="x")


def test_empty_host_json_gives_documented_defaults() -> None:
    config = parse_host_json({"version": "2.0"})
    assert config.http.route_prefix == "api"
    assert config.queues == QueueOptions(
        batch_size=16,
        new_batch_threshold=8,
        max_polling_interval=timedelta(minutes=1),
        visibility_timeout=timedelta(0),
        max_dequeue_count=5,
        message_encoding="base64",
    )
    assert config.function_timeout is None


def test_new_batch_threshold_defaults_to_half_the_batch_size() -> None:
    config = parse_host_json({"extensions": {"queues": {"batchSize": 10}}})
    assert config.queues.new_batch_threshold == 5
    assert config.queues.max_concurrency == 15


def test_queue_settings_are_read() -> None:
    document = {
        "extensions": {
            "http": {"routePrefix": "/v1/"},
            "queues": {
                "batchSize": 4,
                "newBatchThreshold": 1,
                "maxPollingInterval": "00:00:02",
                "visibilityTimeout": "00:00:10",
                "maxDequeueCount": 2,
                "messageEncoding": "none",
            },
        },
        "functionTimeout": "00:05:00",
    }
    config = parse_host_json(document)
    assert config.http.route_prefix == "v1"
    assert config.queues == QueueOptions(
        4, 1, timedelta(seconds=2), timedelta(seconds=10), 2, "none"
    )
    assert config.function_timeout == timedelta(minutes=5)


def test_empty_route_prefix_is_allowed() -> None:
    assert parse_host_json({"extensions": {"http": {"routePrefix": ""}}}).http.route_prefix == ""


def test_function_timeout_minus_one_means_unbounded() -> None:
    assert parse_host_json({"functionTimeout": "-1"}).function_timeout is None


@pytest.mark.parametrize(
    "queues",
    [
        {"batchSize": 33},
        {"batchSize": 0},
        {"maxPollingInterval": "00:00:00.050"},
        {"messageEncoding": "utf8"},
        {"maxDequeueCount": "5"},
    ],
)
def test_values_the_real_host_refuses_are_refused(queues: dict[str, object]) -> None:
    with pytest.raises(HostJsonError):
        parse_host_json({"extensions": {"queues": queues}})


def test_missing_host_json_means_defaults(tmp_path: Path) -> None:
    assert load_host_json(tmp_path).queues.batch_size == 16


def test_project_host_json_is_accepted() -> None:
    assert isinstance(load_host_json(Path(__file__).resolve().parents[2]), HostConfig)


@pytest.fixture
def clean_env() -> Iterator[None]:
    """Settings loading writes to os.environ; put it back however the test ends."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _write_settings(path: Path, values: dict[str, object]) -> Path:
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    return path


@pytest.mark.usefixtures("clean_env")
def test_settings_values_become_environment_variables(tmp_path: Path) -> None:
    _write_settings(tmp_path / "local.settings.json", {"LOCALDEV_T_A": "from-file"})
    apply_settings(tmp_path)
    assert os.environ["LOCALDEV_T_A"] == "from-file"


@pytest.mark.usefixtures("clean_env")
def test_settings_do_not_override_the_environment(tmp_path: Path) -> None:
    os.environ["LOCALDEV_T_B"] = "from-env"
    _write_settings(tmp_path / "local.settings.json", {"LOCALDEV_T_B": "from-file"})
    applied = apply_settings(tmp_path)
    assert os.environ["LOCALDEV_T_B"] == "from-env"
    assert applied.kept_from_environment == ["LOCALDEV_T_B"]


@pytest.mark.usefixtures("clean_env")
def test_values_a_launcher_already_set_are_logged_as_the_same_not_as_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    os.environ["LOCALDEV_T_E"] = "same"
    os.environ["LOCALDEV_T_F"] = "from-env"
    _write_settings(
        tmp_path / "local.settings.json",
        {"LOCALDEV_T_E": "same", "LOCALDEV_T_F": "from-file", "LOCALDEV_T_G": "new"},
    )
    with caplog.at_level(logging.INFO, logger="localdev.host"):
        apply_settings(tmp_path)

    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("settings from")]
    assert line.endswith(
        ": 1 applied, 1 already set to the same value by whoever started the host, "
        "1 left as the environment has them (it wins, as under func start)"
    )


@pytest.mark.usefixtures("clean_env")
def test_example_settings_are_the_fallback(tmp_path: Path) -> None:
    _write_settings(tmp_path / "local.settings.json.example", {"LOCALDEV_T_C": "example"})
    applied = apply_settings(tmp_path)
    assert applied.path == tmp_path / "local.settings.json.example"
    assert os.environ["LOCALDEV_T_C"] == "example"


@pytest.mark.usefixtures("clean_env")
def test_explicit_settings_file_wins(tmp_path: Path) -> None:
    _write_settings(tmp_path / "local.settings.json", {"LOCALDEV_T_D": "default"})
    other = _write_settings(tmp_path / "ci.json", {"LOCALDEV_T_D": "explicit"})
    apply_settings(tmp_path, other)
    assert os.environ["LOCALDEV_T_D"] == "explicit"


@pytest.mark.usefixtures("clean_env")
def test_revert_removes_only_what_was_applied(tmp_path: Path) -> None:
    os.environ["LOCALDEV_T_E"] = "from-env"
    _write_settings(tmp_path / "local.settings.json", {"LOCALDEV_T_E": "x", "LOCALDEV_T_F": "y"})
    apply_settings(tmp_path).revert()
    assert os.environ.get("LOCALDEV_T_E") == "from-env"
    assert "LOCALDEV_T_F" not in os.environ


@pytest.mark.usefixtures("clean_env")
def test_non_string_values_are_stringified(tmp_path: Path) -> None:
    _write_settings(tmp_path / "local.settings.json", {"LOCALDEV_T_G": True, "LOCALDEV_T_H": 3})
    apply_settings(tmp_path)
    assert (os.environ["LOCALDEV_T_G"], os.environ["LOCALDEV_T_H"]) == ("true", "3")


def test_encrypted_settings_are_refused(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text(json.dumps({"IsEncrypted": True}))
    with pytest.raises(SettingsFileError):
        apply_settings(tmp_path)


def test_missing_explicit_settings_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsFileError):
        apply_settings(tmp_path, tmp_path / "nope.json")


def test_generated_keys_are_stable_between_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FUNCTION_KEY_ENV, raising=False)
    first = resolve_keys(tmp_path)
    assert (tmp_path / KEYS_FILE).exists()
    assert resolve_keys(tmp_path) == first
    assert first.function_key != first.master_key


def test_key_from_environment_beats_the_persisted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FUNCTION_KEY_ENV, "env-key")
    assert resolve_keys(tmp_path).function_key == "env-key"


def test_explicit_key_beats_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FUNCTION_KEY_ENV, "env-key")
    assert resolve_keys(tmp_path, "flag-key").function_key == "flag-key"


def test_master_key_allows_admin_and_function_key_does_not(tmp_path: Path) -> None:
    keys = resolve_keys(tmp_path, "fn")
    assert keys.allows_admin(keys.master_key)
    assert not keys.allows_admin("fn")
    assert keys.allows_function("fn")
    assert keys.allows_function(keys.master_key)
    assert not keys.allows_function(None)
