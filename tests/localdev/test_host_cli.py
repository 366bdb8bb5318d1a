"""`python -m localdev.host` as a developer runs it: serve, answer, stop cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from localdev.ports import free_port
from tests.localdev.sample_app.harness import copy_sample_app

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def _wait_ready(url: str, process: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"host exited early with {process.returncode}")
        try:
            status, body = _get(url)
        except OSError:
            time.sleep(0.1)
            continue
        if status == 200:
            document: dict[str, object] = json.loads(body)
            return document
    raise AssertionError("host never became ready")


def test_cli_serves_requests_and_exits_zero_on_sigint(
    tmp_path: Path, storage_connection_string: str
) -> None:
    sample = copy_sample_app(tmp_path)
    port = free_port()
    env = {**os.environ, **sample.env(storage_connection_string)}
    command = [
        sys.executable, "-m", "localdev.host",
        "--app-dir", str(sample.app_dir),
        "--port", str(port),
        "--function-key", "cli-key",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert _wait_ready(f"{base}/admin/host/status", process)["state"] == "Running"
        assert _get(f"{base}/api/secure?code=cli-key") == (200, b"function-level ok")
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "Function key: cli-key" in output
    assert f"{base}/api/items/{{id:int}}/{{name?}}" in output
    assert "Host stopped" in output


def test_cli_log_file_holds_the_apps_own_lines_and_the_hosts(
    tmp_path: Path, storage_connection_string: str
) -> None:
    sample = copy_sample_app(tmp_path)
    port = free_port()
    log_file = tmp_path / "logs" / "host.log"
    command = [
        sys.executable, "-m", "localdev.host",
        "--app-dir", str(sample.app_dir), "--port", str(port), "--function-key", "cli-key",
        "--log-file", str(log_file),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, **sample.env(storage_connection_string)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(f"{base}/admin/host/status", process)
        assert _get(f"{base}/api/secure")[0] == 401
        assert _get(f"{base}/api/boom")[0] == 500
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log_file.read_text()
    assert "sample_app: sample_app_about_to_fail" in text
    assert "401 GET /api/secure (Functions." in text
    assert "Host stopped" in text
