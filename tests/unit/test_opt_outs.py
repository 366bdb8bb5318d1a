"""Opt keywords: Twilio's defaults, matched on the whole trimmed body."""

from __future__ import annotations

import pytest

from shared.storage.opt_outs import OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, keyword_of


@pytest.mark.parametrize(
    "body", ["STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT", " revoke ", "OptOut"]
)
def test_twilio_default_opt_out_keywords_are_recognised(body: str) -> None:
    keyword = keyword_of(body)

    assert keyword in OPT_OUT_KEYWORDS


@pytest.mark.parametrize("body", ["START", "yes", "Unstop"])
def test_twilio_default_opt_in_keywords_are_recognised(body: str) -> None:
    assert keyword_of(body) in OPT_IN_KEYWORDS


@pytest.mark.parametrize("body", ["STOP PLEASE", "please stop", "opt out", "", "STOPP"])
def test_a_keyword_inside_a_sentence_is_not_one(body: str) -> None:
    assert keyword_of(body) is None
