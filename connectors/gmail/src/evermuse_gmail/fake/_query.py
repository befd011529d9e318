"""The part of Gmail's search language the fake understands.

Terms are ANDed; ``OR`` between two terms, ``{a b}`` (any of) and ``( ... )``
groups; ``-`` negates. Operators: ``after:``/``before:`` (epoch seconds, or a date
read as midnight Pacific time, as Gmail does), ``category:``, ``label:``, ``in:``,
``is:``, ``from:``, ``to:``, ``cc:``, ``subject:``, ``has:attachment``,
``filename:``; a bare word or "quoted phrase" matches subject, addresses and text.
An operator the fake does not know is refused with 400, so that a test never
passes by accident on a query the fake silently ignored.

Epoch bounds compare ``internalDate``: ``after:N`` keeps messages received after
second N, ``before:N`` those before it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from evermuse_gmail.fake._store import StoredMessage

__all__ = ["QueryError", "compile_query"]

Predicate = Callable[[StoredMessage], bool]
_PACIFIC = ZoneInfo("America/Los_Angeles")
_TOKEN = re.compile(r'\s*(-?"[^"]*"|[(){}]|-?[^\s(){}"]+(?:"[^"]*")?)')
_OPERATOR = re.compile(r"^[A-Za-z_]+$")
_CATEGORIES = {"primary", "social", "promotions", "updates", "forums", "personal"}
_IN = {
    "inbox": "INBOX",
    "sent": "SENT",
    "spam": "SPAM",
    "trash": "TRASH",
    "draft": "DRAFT",
    "drafts": "DRAFT",
    "chats": "CHAT",
    "starred": "STARRED",
    "important": "IMPORTANT",
}


class QueryError(ValueError):
    """The query uses something the fake (or Gmail) does not accept."""


def _seconds(value: str) -> float:
    if value.isdigit():
        return float(value)
    for pattern in ("%Y/%m/%d", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            day = datetime.strptime(value, pattern)
        except ValueError:
            continue
        return day.replace(tzinfo=_PACIFIC).timestamp()
    raise QueryError(f"cannot read {value!r} as a date or epoch seconds")


def _label(message: StoredMessage, label: str) -> bool:
    return label in message.labels


def _operator(name: str, value: str) -> Predicate:
    value = value.strip('"')
    low = value.lower()
    if name in ("after", "before"):
        bound = _seconds(value) * 1000
        if name == "after":
            return lambda msg: msg.internal_ms > bound
        return lambda msg: msg.internal_ms < bound
    if name == "category":
        if low not in _CATEGORIES:
            raise QueryError(f"unknown category {value!r}")
        label = "CATEGORY_PERSONAL" if low == "primary" else f"CATEGORY_{low.upper()}"
        return lambda msg: _label(msg, label)
    if name == "label":
        label = value.upper() if value.upper() in _IN.values() else value
        return lambda msg: _label(msg, label) or _label(msg, value)
    if name == "in":
        if low == "anywhere":
            return lambda msg: True
        if low not in _IN:
            raise QueryError(f"unknown in: value {value!r}")
        return lambda msg: _label(msg, _IN[low])
    if name == "is":
        flags = {"unread": "UNREAD", "starred": "STARRED", "important": "IMPORTANT"}
        if low == "read":
            return lambda msg: not _label(msg, "UNREAD")
        if low not in flags:
            raise QueryError(f"unknown is: value {value!r}")
        return lambda msg: _label(msg, flags[low])
    if name in ("from", "to", "cc", "subject"):
        return lambda msg: low in msg.search_view()[name]
    if name == "has" and low == "attachment":
        return lambda msg: bool(msg.search_view()["filenames"])
    if name == "filename":
        return lambda msg: low in msg.search_view()["filenames"]
    raise QueryError(f"the fake does not implement the {name}: operator")


def _word(value: str) -> Predicate:
    low = value.strip('"').lower()
    fields = ("subject", "from", "to", "cc", "text")
    return lambda msg: any(low in msg.search_view()[f] for f in fields)


@dataclass
class _Parser:
    tokens: list[str]
    at: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def sequence(self, closer: str | None) -> list[Predicate]:
        terms: list[Predicate] = []
        while (token := self.peek()) is not None and token != closer:
            terms.append(self.either())
        if closer is not None:
            if self.peek() != closer:
                raise QueryError(f"missing {closer!r} in the query")
            self.take()
        return terms

    def either(self) -> Predicate:
        options = [self.unary()]
        while self.peek() == "OR":
            self.take()
            options.append(self.unary())
        if len(options) == 1:
            return options[0]
        return lambda msg: any(option(msg) for option in options)

    def unary(self) -> Predicate:
        word = self.take()
        if word in (")", "}", "OR"):
            raise QueryError(f"unexpected {word!r} in the query")
        negate = word.startswith("-")
        if word == "-":
            word = self.take()  # "-(a b)" and "-{a b}"
        elif negate:
            word = word[1:]
        predicate = self.atom(word)
        return (lambda msg: not predicate(msg)) if negate else predicate

    def atom(self, word: str) -> Predicate:
        if word == "(":
            terms = self.sequence(")")
            return lambda msg: all(t(msg) for t in terms)
        if word == "{":
            options = self.sequence("}")
            return lambda msg: any(o(msg) for o in options)
        name, colon, value = word.partition(":")
        if colon and _OPERATOR.match(name) and value:
            return _operator(name.lower(), value)
        return _word(word)


def compile_query(q: str) -> Predicate:
    """A predicate over messages for Gmail's ``q``."""
    tokens = [t for t in _TOKEN.findall(q) if t.strip()]
    parser = _Parser(tokens)
    terms = parser.sequence(None)
    return lambda msg: all(term(msg) for term in terms)
