"""TwiML answers, read back as XML: elements and attributes, not exact strings."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree
from xml.etree.ElementTree import Element

import pytest

from shared.platform.settings import MenuOption, Settings, VoiceMode
from shared.platform.storage_connection import StorageConnection
from shared.twilio.twiml import (
    DEFAULT_GREETING,
    VOICE_MENU_PATH,
    VOICEMAIL_DONE_PATH,
    Speech,
    VoiceScript,
    empty_messaging,
    inbound_call,
    menu_choice,
    message_reply,
    say_response,
    twimlet_from_params,
    twimlet_message,
    twimlet_messages_from,
    voicemail_done,
)

FORWARD_TO = "+15551230000"


def parse(xml: str) -> Element:
    root = ElementTree.fromstring(xml)
    assert root.tag == "Response"
    return root


def tags(root: Element) -> list[str]:
    return [child.tag for child in root]


def settings(mode: VoiceMode = "greeting", **fields: Any) -> Settings:
    return Settings(
        storage_connection=StorageConnection("UseDevelopmentStorage=true"),
        voice_mode=mode,
        **fields,
    )


MENU = {
    "1": MenuOption(say="We open at nine."),
    "2": MenuOption(forward_to=FORWARD_TO),
    "3": MenuOption(voicemail=True),
}


def test_empty_messaging_response_has_no_verbs() -> None:
    assert tags(parse(empty_messaging())) == []


def test_message_reply_is_one_message() -> None:
    root = parse(message_reply("Thanks & bye <3"))

    assert tags(root) == ["Message"]
    assert root[0].text == "Thanks & bye <3"


def test_say_response_carries_voice_and_language() -> None:
    say = parse(say_response("Hallo", voice="alice", language="de-DE"))[0]

    assert (say.tag, say.text) == ("Say", "Hallo")
    assert say.attrib == {"voice": "alice", "language": "de-DE"}


def test_say_response_without_voice_has_no_attributes() -> None:
    assert parse(say_response("Hello"))[0].attrib == {}


def test_twimlet_messages_put_message_first_then_indexed_in_index_order() -> None:
    params = {"Message[10]": "c", "Message[1]": "b", "Message": "first", "Message[0]": "a"}

    assert twimlet_messages_from(params) == ["first", "a", "b", "c"]


def test_twimlet_messages_skip_blank_and_malformed_entries() -> None:
    params = {"Message[0]": "a", "Message[1]": "  ", "Message[x]": "no", "Voice": "alice"}

    assert twimlet_messages_from(params) == ["a"]


def test_twimlet_plays_urls_and_says_everything_else_in_order() -> None:
    root = parse(
        twimlet_message(
            ["Hello", "https://example.com/tone.mp3", "Bye"], voice="alice", language="en-GB"
        )
    )

    assert tags(root) == ["Say", "Play", "Say"]
    assert root[1].text == "https://example.com/tone.mp3"
    assert root[0].attrib == {"voice": "alice", "language": "en-GB"}
    assert root[2].text == "Bye"


def test_greeting_mode_says_the_default_greeting_and_hangs_up() -> None:
    root = parse(inbound_call(settings()))

    assert tags(root) == ["Say", "Hangup"]
    assert root[0].text == DEFAULT_GREETING


def test_greeting_uses_configured_text_voice_and_language() -> None:
    root = parse(
        inbound_call(settings(voice_greeting="Welcome", voice_voice="alice", voice_language="fr"))
    )

    assert root[0].text == "Welcome"
    assert root[0].attrib == {"voice": "alice", "language": "fr"}


def test_forward_mode_dials_the_number() -> None:
    root = parse(inbound_call(settings("forward", voice_forward_to=FORWARD_TO)))

    assert tags(root) == ["Dial"]
    assert root[0].text == FORWARD_TO


def test_forward_mode_says_a_configured_greeting_first() -> None:
    root = parse(
        inbound_call(settings("forward", voice_forward_to=FORWARD_TO, voice_greeting="Hi"))
    )

    assert tags(root) == ["Say", "Dial"]


def test_voicemail_mode_records_with_the_recorded_action() -> None:
    root = parse(inbound_call(settings("voicemail")))

    record = root.find("Record")
    assert record is not None
    assert record.get("action") == VOICEMAIL_DONE_PATH
    assert record.get("method") == "POST"
    assert record.get("maxLength") == "120"
    assert tags(root)[-1] == "Hangup"


def test_menu_mode_gathers_one_digit_posted_to_the_menu() -> None:
    root = parse(inbound_call(settings("menu", voice_menu=MENU, voice_menu_prompt="Press 1")))

    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == VOICE_MENU_PATH
    assert gather.get("method") == "POST"
    assert [(child.tag, child.text) for child in gather] == [("Say", "Press 1")]


def test_reject_mode_only_rejects() -> None:
    root = parse(inbound_call(settings("reject", voice_greeting="ignored")))

    assert tags(root) == ["Reject"]


def test_menu_choice_say_speaks_and_hangs_up() -> None:
    root = parse(menu_choice(settings("menu", voice_menu=MENU), "1"))

    assert tags(root) == ["Say", "Hangup"]
    assert root[0].text == "We open at nine."


def test_menu_choice_forward_dials() -> None:
    root = parse(menu_choice(settings("menu", voice_menu=MENU), "2"))

    assert tags(root) == ["Dial"]
    assert root[0].text == FORWARD_TO


def test_menu_choice_voicemail_records() -> None:
    root = parse(menu_choice(settings("menu", voice_menu=MENU), "3"))

    record = root.find("Record")
    assert record is not None
    assert record.get("action") == VOICEMAIL_DONE_PATH


@pytest.mark.parametrize("digits", ["9", "", "12"])
def test_menu_choice_unknown_digit_apologises_and_redirects_to_the_call(digits: str) -> None:
    root = parse(menu_choice(settings("menu", voice_menu=MENU), digits))

    assert tags(root) == ["Say", "Redirect"]
    assert root[1].text == "/api/twilio/voice"
    assert root[1].get("method") == "POST"


def test_voice_script_reaches_every_verb_of_the_how_to() -> None:
    script = VoiceScript(Speech("Polly.Seoyeon", "ko-KR"))
    script.say("안녕하세요").pause(2).play("https://example.com/a.mp3", loop=2)
    script.gather("1번을 누르세요", "/api/next", num_digits=1, timeout=5)
    script.dial(FORWARD_TO, caller_id="+15005550006").record("/api/rec", max_seconds=30)
    script.redirect("/api/again").sms("See you", to=FORWARD_TO).hangup().reject()

    root = parse(script.xml())

    assert tags(root) == [
        "Say", "Pause", "Play", "Gather", "Dial", "Record", "Redirect", "Sms", "Hangup", "Reject",
    ]  # fmt: skip
    assert root[0].attrib == {"voice": "Polly.Seoyeon", "language": "ko-KR"}
    assert root[1].get("length") == "2" and root[2].get("loop") == "2"
    assert root[3][0].attrib == {"voice": "Polly.Seoyeon", "language": "ko-KR"}
    assert (root[3].get("action"), root[3].get("numDigits")) == ("/api/next", "1")
    assert root[5].get("maxLength") == "30" and root[7].get("to") == FORWARD_TO


def test_say_with_its_own_speech_overrides_the_scripts() -> None:
    root = parse(VoiceScript(Speech("alice", "en-US")).say("Hej", Speech(language="sv-SE")).xml())

    assert root[0].attrib == {"language": "sv-SE"}


def test_message_reply_carries_media() -> None:
    root = parse(message_reply("Look", ["https://example.com/a.png"]))

    assert (root[0].text, [(c.tag, c.text) for c in root[0]]) == (
        "Look",
        [("Media", "https://example.com/a.png")],
    )


def test_spoken_lines_of_the_inbound_flows_are_settable() -> None:
    configured = settings(
        "menu",
        voice_menu=MENU,
        voice_no_choice="선택이 없습니다.",
        voice_invalid_choice="잘못된 선택입니다.",
        voice_voicemail_prompt="메시지를 남겨 주세요.",
        voice_goodbye="감사합니다.",
        voice_language="ko-KR",
    )

    spoken = [
        parse(inbound_call(configured))[-2].text,
        parse(menu_choice(configured, "9"))[0].text,
        parse(menu_choice(configured, "3"))[0].text,
        parse(voicemail_done(configured))[0].text,
    ]

    assert spoken == [
        "선택이 없습니다.",
        "잘못된 선택입니다.",
        "메시지를 남겨 주세요.",
        "감사합니다.",
    ]
    assert parse(voicemail_done(configured))[0].get("language") == "ko-KR"


def test_twimlet_speaks_with_the_configured_voice_unless_the_url_names_one() -> None:
    configured = settings(voice_voice="Polly.Seoyeon", voice_language="ko-KR")

    default = parse(twimlet_from_params({"Message": "안녕하세요"}, configured))[0]
    named = parse(twimlet_from_params({"Message": "Hi", "Language": "en-US"}, configured))[0]

    assert default.attrib == {"voice": "Polly.Seoyeon", "language": "ko-KR"}
    assert named.attrib == {"voice": "Polly.Seoyeon", "language": "en-US"}
