"""Slack message timestamps: the ``ts`` strings such as ``"1712345678.123456"``.

A ``ts`` is both a message's time and, within one channel, its id, so it is kept as
the exact string Slack sent. Comparisons go through :func:`ts_micros`, because two
strings for the same moment ("5.1" and "5.100000") must compare equal.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TypeGuard

__all__ = ["format_ts", "is_ts", "ts_datetime", "ts_micros"]

_TS = re.compile(r"^(\d{1,12})(?:\.(\d{1,6}))?$")


def is_ts(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _TS.match(value) is not None


def ts_micros(value: str) -> int:
    """Microseconds since the epoch; ValueError when ``value`` is not a Slack ts."""
    match = _TS.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a Slack ts (seconds.micros)")
    seconds, fraction = match.group(1), match.group(2) or ""
    return int(seconds) * 1_000_000 + int(fraction.ljust(6, "0"))


def ts_datetime(value: str) -> datetime:
    """The aware UTC moment of a ts, to the microsecond."""
    micros = ts_micros(value)
    moment = datetime.fromtimestamp(micros // 1_000_000, UTC)
    return moment.replace(microsecond=micros % 1_000_000)


def format_ts(moment: datetime | int) -> str:
    """A ts string for an aware datetime, or for epoch microseconds."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError(f"naive datetime {moment.isoformat()}: give it a timezone")
        delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    else:
        micros = moment
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
