"""Slack markup to readable text, and the PII hints, as pure functions."""

from __future__ import annotations

import pytest
from evermuse_slack._text import mentioned_user_ids, render

NAMES = {"U0ANA": "Ana", "W0GRID": "Grid User"}


def show(text: str) -> str:
    return render(text, user_name=NAMES.get, channel_names={"C0GEN": "general"}).text


@pytest.mark.parametrize(
    ("raw", "readable"),
    [
        ("<@U0ANA>", "@Ana"),
        ("<@W0GRID> hi", "@Grid User hi"),
        ("<@U0NOPE>", "@U0NOPE"),
        ("<#C0GEN>", "#general"),
        ("<#C0GEN|>", "#general"),
        ("<#C0UNKNOWN>", "#C0UNKNOWN"),
        ("<!channel> and <!everyone>", "@channel and @everyone"),
        ("<!subteam^S0SUP|@support>", "@support"),
        ("<!subteam^S0SUP>", "@S0SUP"),
        ("<!date^1392734382^{date_short}|Feb 18, 2014>", "Feb 18, 2014"),
        ("<mailto:ana@x.example>", "ana@x.example"),
        (
            "<https://a.example/x?y=1&amp;z=2|docs>",
            "docs (https://a.example/x?y=1&z=2)",
        ),
        ("<https://a.example|https://a.example>", "https://a.example"),
        ("a &lt;b&gt; &amp;lt;", "a <b> &lt;"),
        ("", ""),
        ("no markup, ünïcödé ✨ 中文", "no markup, ünïcödé ✨ 中文"),
    ],
)
def test_render(raw: str, readable: str) -> None:
    assert show(raw) == readable


def test_mentions_are_collected_in_order() -> None:
    text = "<@U0B> and <@U0A|a> and <@U0B> again, not <#C0GEN>"
    assert mentioned_user_ids(text) == ["U0B", "U0A"]
    rendered = render(text, user_name=lambda _: None, channel_names={})
    assert rendered.mentioned_users == ("U0B", "U0A")
