"""Stopping child processes: signal them, give them time to exit, then kill them."""

from __future__ import annotations

import signal
import subprocess


def signal_if_running(process: subprocess.Popen[bytes], signum: int) -> None:
    if process.poll() is None:
        process.send_signal(signum)


def wait_or_kill(process: subprocess.Popen[bytes], timeout: float) -> int:
    """Wait up to `timeout` seconds for the process to exit, else kill it; its return code."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def stop_process(
    process: subprocess.Popen[bytes], timeout: float, signum: int = signal.SIGTERM
) -> int:
    """Signal the process, then `wait_or_kill` it."""
    signal_if_running(process, signum)
    return wait_or_kill(process, timeout)
