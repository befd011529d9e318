"""Slack's message markup turned into text a person reads, and PII hints.

Slack writes mentions and links as angle-bracket tokens (``<@U123>``,
``<#C123|general>``, ``<https://x|label>``, ``<!here>``) and escapes ``&``, ``<`` and
``>`` as HTML entities; everything else is plain text. See "Formatting text for app
surfaces" in Slack's documentation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "Rendered",
    "contains_email",
    "contains_phone",
    "mentioned_user_ids",
    "render",
]

_TOKEN = re.compile(r"<([^<>\n]{1,2000})>")
_USER_ID = re.compile(r"^[UWB][A-Z0-9]{2,}$")
_MENTION = re.compile(r"<@([UWB][A-Z0-9]{2,})(?:\|[^<>]*)?>")
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)
# A phone number: an optional +country code, then digit groups split by spaces,
# dots, dashes or brackets. Run-on digit strings (order numbers, ts values) are
# not counted unless they start with "+".
_PHONE = re.compile(r"(?<![\w.+])(\+?\(?\d[\d\s().\-]{6,22}\d)(?![\w])")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


@dataclass(frozen=True)
class Rendered:
    text: str
    mentioned_users: tuple[str, ...]


def mentioned_user_ids(text: str) -> list[str]:
    """User ids mentioned as ``<@U…>`` in raw Slack markup, first mention first."""
    seen: dict[str, None] = {}
    for match in _MENTION.finditer(text or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)


def render(
    text: str,
    *,
    user_name: Callable[[str], str | None],
    channel_names: Mapping[str, str],
) -> Rendered:
    """``text`` with every markup token replaced by what Slack would display."""
    mentioned: dict[str, None] = {}

    def replace(match: re.Match[str]) -> str:
        body = match.group(1)
        target, _, label = body.partition("|")
        if target.startswith("@") and _USER_ID.match(target[1:]):
            mentioned.setdefault(target[1:], None)
            name = user_name(target[1:]) or label.lstrip("@") or target[1:]
            return f"@{name}"
        if target.startswith("#"):
            name = label or channel_names.get(target[1:]) or target[1:]
            return f"#{name}"
        if target.startswith("!"):
            return _special(target[1:], label)
        if target.startswith("mailto:"):
            return label or target[len("mailto:") :]
        if label and label != target:
            return f"{label} ({target})"
        return target

    rendered = _TOKEN.sub(replace, text or "")
    return Rendered(_unescape(rendered), tuple(mentioned))


def _special(command: str, label: str) -> str:
    if command in _SPECIAL:
        return _SPECIAL[command]
    if command.startswith("subteam^"):
        # <!subteam^S123|@support>: the label already carries the @.
        return label or "@" + command.split("^", 1)[1]
    if command.startswith("date^"):
        # <!date^1392734382^{date_short}|Feb 18, 2014>: the fallback is readable.
        return label or command
    return label or f"@{command}"


def _unescape(text: str) -> str:
    # Slack escapes exactly these three; &amp; last so "&amp;lt;" stays "&lt;".
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def contains_email(text: str) -> bool:
    return _EMAIL.search(text) is not None


def contains_phone(text: str) -> bool:
    for match in _PHONE.finditer(text):
        candidate = match.group(1)
        digits = sum(ch.isdigit() for ch in candidate)
        if not 9 <= digits <= 15 or _IPV4.fullmatch(candidate.strip()):
            continue
        grouped = any(sep in candidate for sep in " .-()")
        if candidate.startswith("+") or grouped:
            return True
    return False
