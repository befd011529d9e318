"""What the fake Zoom server keeps, and the request checks its routes share.

``State`` is everything one fake holds: the account, issued tokens, page tokens,
queued faults and what it was asked. The helpers read query parameters and path
segments the way Zoom does, answering Zoom-shaped errors through ``Reply``.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import unquote

from evermuse_zoom.fake._data import FakeAccount

__all__ = [
    "Fault",
    "Reply",
    "Seen",
    "State",
    "date_param",
    "int_param",
    "longer_than_a_month",
    "meeting_id",
    "one",
]


@dataclass(frozen=True)
class Fault:
    """Answer the next request whose path starts with ``prefix`` with ``status``."""

    status: int = 429
    retry_after: str | None = "1"
    prefix: str = "/v2/"


@dataclass(frozen=True)
class Seen:
    """One request the fake answered (no query string: it may hold a token)."""

    at: float
    method: str
    route: str
    raw_path: str
    status: int
    query: dict[str, str] = field(default_factory=dict)  # API calls only


class Reply(Exception):
    """Raised by a route to answer with an error."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message}
        self.headers = headers or {}


@dataclass
class State:
    account: FakeAccount
    now: datetime
    client_id: str
    client_secret: str
    signing_key: bytes
    token_ttl: float
    page_token_ttl: float
    redirect_downloads: bool
    per_second: dict[str, float | None]
    repeat_page_tokens: bool = False
    tokens: dict[str, float] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)
    page_tokens: dict[str, tuple[str, int, float]] = field(default_factory=dict)
    download_tokens: dict[str, float] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    calls: Counter[str] = field(default_factory=Counter)
    seen: list[Seen] = field(default_factory=list)
    recent: dict[str, deque[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def int_param(
    query: dict[str, list[str]], name: str, default: int, low: int, high: int
) -> int:
    raw = one(query, name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Reply(400, 300, f"Invalid field: {name}.")
    return int(raw)


def date_param(query: dict[str, list[str]], name: str, default: date) -> date:
    raw = one(query, name)
    if raw is None:
        return default
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise Reply(400, 300, f"Invalid field: {name}. Use the yyyy-mm-dd format.")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise Reply(400, 300, f"Invalid field: {name}.") from exc


def longer_than_a_month(start: date, end: date) -> bool:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months > 1 or (months == 1 and end.day > start.day)


def meeting_id(segment: str) -> str:
    """The meeting id or UUID from a raw path segment, decoded the way Zoom does.

    One decode gives the value; if that still holds %-escapes it was encoded twice
    and is decoded again. A UUID that starts with "/" or holds "//" only survives
    Zoom's routing when encoded twice: sent once-encoded, it is not found.
    """
    once = unquote(segment)
    if once.startswith("/") or "//" in once:
        return "\0unroutable"
    return unquote(once) if "%" in once else once
