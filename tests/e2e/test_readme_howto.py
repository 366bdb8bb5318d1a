"""The README's how-to, run as written: every shell command of its four scenarios, against
the whole local stack, with only the ports and the function key swapped for the test's."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from typing import Any

import pytest

from localdev.azurite import PROJECT_ROOT
from localdev.twilio_sim import validation
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

README = (PROJECT_ROOT / "README.md").read_text()
HOWTO_HEADING = "## How-to:"
SHELL_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)
ASSIGNMENT = re.compile(r"^([A-Z_]+)=\$\(", re.MULTILINE)
VARS_MARK = "@@VARS@@"
LOCAL_STORAGE = "UseDevelopmentStorage=true"


def scenarios() -> dict[str, list[str]]:
    """Each ``###`` scenario of the how-to section and its ``sh`` blocks, in order."""
    start = README.index(HOWTO_HEADING)
    section = README[start : README.index("\n## ", start + 1)]
    found: dict[str, list[str]] = {}
    for part in section.split("\n### ")[1:]:
        title = part.splitlines()[0]
        found[title.split(".")[0]] = SHELL_BLOCK.findall(part)
    return found


@dataclass
class Shell:
    """Runs README blocks one at a time, carrying the variables they assign (``X=$(...)``)."""

    stack: RunningStack
    variables: dict[str, str] = field(default_factory=dict)

    def localise(self, block: str) -> str:
        return (
            block.replace("http://127.0.0.1:7071", self.stack.base_url)
            .replace("http://127.0.0.1:4010", self.stack.sim_url)
            .replace(LOCAL_STORAGE, self.stack.storage)
        )

    async def run(self, block: str) -> str:
        names = ASSIGNMENT.findall(block)
        script = "set -euo pipefail\n" + self.localise(block)
        script += f"\nprintf '\\n{VARS_MARK}\\n'\n"
        script += "".join(f"printf '%s\\n' \"${name}\"\n" for name in names)
        env = {**os.environ, "KEY": self.stack.function_key, **self.variables}
        process = await asyncio.create_subprocess_exec(
            "bash", "-c", script, env=env, cwd=PROJECT_ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, f"{block}\nfailed: {stderr.decode()}"
        output, _, values = stdout.decode().rpartition(f"\n{VARS_MARK}\n")
        self.variables.update(zip(names, values.splitlines(), strict=True))
        return output


def json_lines(output: str) -> list[Any]:
    decoder = json.JSONDecoder()
    found, index = [], 0
    text = output.strip()
    while index < len(text):
        value, end = decoder.raw_decode(text, index)
        found.append(value)
        index = end
        while index < len(text) and text[index].isspace():
            index += 1
    return found


@pytest.fixture
def shell(stack: RunningStack) -> Shell:
    assert shutil.which("curl"), "the README's commands need curl"
    return Shell(stack)


def test_the_howto_has_its_four_scenarios_with_commands() -> None:
    found = scenarios()

    assert list(found) == ["1", "2", "3", "4"]
    assert all(found.values())


async def test_scenario_1_call_from_a_twimlet_url_then_a_korean_say(
    stack: RunningStack, shell: Shell
) -> None:
    preview, place, read, korean = scenarios()["1"]

    assert "<Say>Hello from Azure</Say><Play>https://api.twilio.com/cowbell.mp3</Play>" in (
        await shell.run(preview)
    )
    assert json_lines(await shell.run(place))[0]["id"] == "howto-call-1"
    record, simulated = json_lines(await shell.run(read))
    assert record["status"] == "completed"
    (call,) = [c for c in simulated["calls"] if c["sid"] == record["twilio_sid"]]
    assert call["twiml"]["http_status"] == 200
    assert "<Say>Hello from Azure</Say>" in call["twiml"]["twiml"]

    assert json_lines(await shell.run(korean))[0]["id"] == "howto-call-ko"
    spoken = await stack.final("call", "howto-call-ko", {"completed"})
    twiml = (await stack.sim("GET", f"/_sim/calls/{spoken['twilio_sid']}"))["twiml"]["twiml"]
    assert '<Say language="ko-KR" voice="Polly.Seoyeon">안녕하세요' in twiml


async def test_scenario_2_sms_is_read_once_it_is_delivered(shell: Shell) -> None:
    send, wait_and_read = scenarios()["2"]

    (accepted,) = json_lines(await shell.run(send))
    (read,) = json_lines(await shell.run(wait_and_read))

    assert accepted["id"] == read["id"] == "howto-sms-1"
    assert (read["status"], read["body"]) == ("delivered", "Hello from Azure")


def queue_section_blocks() -> list[str]:
    start = README.index("## Sending from other Azure services: the queue")
    section = README[start : README.index("\n## ", start + 1)]
    return [block for block in SHELL_BLOCK.findall(section) if LOCAL_STORAGE in block]


async def test_the_local_queue_command_is_sent_and_read_once_delivered(shell: Shell) -> None:
    (block,) = queue_section_blocks()

    (read,) = json_lines(await shell.run(block))

    assert (read["id"], read["status"]) == ("queued-by-hand-1", "delivered")
    assert read["body"] == "From the queue"


async def test_scenario_3_your_own_twiml_endpoint(stack: RunningStack, shell: Shell) -> None:
    use, unsigned, simulated_fetch = scenarios()["3"]

    output = await shell.run(use)
    preview, _, placed = output.partition("</Response>")
    assert 'appointment on Monday at 10.</Say><Pause length="1" /><Gather' in preview
    assert json_lines(placed)[0]["id"] == "howto-reminder-1"
    record = await stack.final("call", "howto-reminder-1", {"completed"})
    fetched = (await stack.sim("GET", f"/_sim/calls/{record['twilio_sid']}"))["twiml"]
    assert fetched["http_status"] == 200 and "<Gather" in fetched["twiml"]

    refused = await shell.run(unsigned)
    assert refused.startswith("HTTP/1.1 403")
    assert "the X-Twilio-Signature header is missing" in refused

    answer = json_lines(await shell.run(simulated_fetch))[0]
    assert answer["status"] == 200
    assert "your appointment is confirmed" in answer["body"]


async def test_scenario_4_inbound_call_menu_voicemail_and_list(
    stack: RunningStack, shell: Shell
) -> None:
    ring, press_one, voicemail, listing = scenarios()["4"]

    await shell.run(ring)
    call_sid = shell.variables["CALL_SID"]
    assert re.fullmatch(r"CA[0-9a-f]{32}", call_sid)

    menu, record = json_lines(await shell.run(press_one))
    assert "We are open from nine to five" in menu["body"]
    assert (record["id"], record["direction"], record["status"]) == (
        call_sid,
        "inbound",
        "completed",
    )

    await shell.run(voicemail)
    left = await stack.record("call", shell.variables["VOICEMAIL_SID"])
    assert left["status"] == "completed"
    assert left["recording_url"].endswith("/Recordings/RE0123")

    (page,) = json_lines(await shell.run(listing))
    newest = [item["id"] for item in page["items"][:2]]
    assert newest == [shell.variables["VOICEMAIL_SID"], call_sid]
    assert page["items"][0]["recording_url"] == left["recording_url"]


def test_readme_test_numbers_are_the_simulators() -> None:
    rows = re.findall(r"^\| `(\+1500555000\d)` \|(.*)\|$", README, re.MULTILINE)
    table = {number: cells for number, cells in rows}
    codes = {number: set(re.findall(r"\b2\d{4}\b", cells)) for number, cells in table.items()}

    expected: dict[str, set[str]] = {}
    for magic in (
        validation._MESSAGE_MAGIC_TO,
        validation._CALL_MAGIC_TO,
        validation._MESSAGE_MAGIC_FROM,
        validation._CALL_MAGIC_FROM,
    ):
        for number, (code, _) in magic.items():
            expected.setdefault(number, set()).add(str(code))

    assert codes == expected


def test_readme_excerpt_of_the_twiml_endpoint_is_the_example_file() -> None:
    excerpt = re.search(
        r"```python\n(from shared.handlers import twiml_endpoint.*?)```", README, re.DOTALL
    )
    assert excerpt is not None
    source = (PROJECT_ROOT / "reminder_twiml.py").read_text()

    lines = [line.split("  #")[0].rstrip() for line in excerpt.group(1).splitlines()]

    assert [line for line in lines if line and line not in source] == []
