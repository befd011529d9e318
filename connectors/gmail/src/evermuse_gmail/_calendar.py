"""The few fields of a calendar invite (``text/calendar``) a reader of a thread needs.

Only the first VEVENT is read, and only what tells a person what the invite was:
method (REQUEST, CANCEL, REPLY), summary, start, end, location, organizer and the
number of attendees. Recurrence rules and time-zone definitions are left out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["parse_calendar", "summarise_calendar"]

_FIELDS = {
    "SUMMARY": "summary",
    "LOCATION": "location",
    "UID": "uid",
    "STATUS": "status",
    "DESCRIPTION": "description",
}
_DATE_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$")


def _unfold(text: str) -> list[str]:
    # RFC 5545 3.1: a line starting with a space or tab continues the previous one.
    lines: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def _unescape(value: str) -> str:
    return (
        value.replace("\\n", "\n")
        .replace("\\N", "\n")
        .replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\\\", "\\")
    )


def _when(params: dict[str, str], value: str) -> str:
    """An ISO text of a DATE or DATE-TIME; UTC ones end in Z, others keep TZID."""
    found = _DATE_TIME.match(value.strip())
    if not found:
        return value.strip()[:64]
    year, month, day, hour, minute, second, utc = found.groups()
    if hour is None:
        return f"{year}-{month}-{day}"
    moment = f"{year}-{month}-{day}T{hour}:{minute}:{second}"
    if utc:
        parsed = datetime.fromisoformat(moment).replace(tzinfo=UTC)
        return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")
    tzid = params.get("TZID")
    return f"{moment} ({tzid[:64]})" if tzid else moment


def _split(line: str) -> tuple[str, dict[str, str], str]:
    head, _, value = line.partition(":")
    name, *raw_params = head.split(";")
    params = {}
    for item in raw_params:
        key, _, param_value = item.partition("=")
        params[key.upper()] = param_value.strip('"')
    return name.upper(), params, value


def parse_calendar(text: str) -> dict[str, Any]:
    """The invite's method and first event, as plain JSON values."""
    out: dict[str, Any] = {}
    attendees = 0
    in_event = False
    for line in _unfold(text):
        name, params, value = _split(line)
        if name == "METHOD" and not in_event:
            out["method"] = value.strip().upper()[:32]
        elif name == "BEGIN" and value.strip().upper() == "VEVENT":
            in_event = True
        elif name == "END" and value.strip().upper() == "VEVENT":
            in_event = False
            break
        elif not in_event:
            continue
        elif name in _FIELDS:
            out[_FIELDS[name]] = _unescape(value)[:2000]
        elif name in ("DTSTART", "DTEND"):
            out["start" if name == "DTSTART" else "end"] = _when(params, value)
        elif name == "ORGANIZER":
            out["organizer"] = _person(params, value)
        elif name == "ATTENDEE":
            attendees += 1
    if attendees:
        out["attendee_count"] = attendees
    return out


def _person(params: dict[str, str], value: str) -> dict[str, str]:
    person = {"email": re.sub(r"^mailto:", "", value.strip(), flags=re.I)[:320]}
    if params.get("CN"):
        person["name"] = params["CN"][:256]
    return person


def summarise_calendar(event: dict[str, Any]) -> str:
    """One readable paragraph for a message whose only body is an invite."""
    parts = [f"Calendar {str(event.get('method', 'event')).lower()}:"]
    if event.get("summary"):
        parts.append(str(event["summary"]))
    if event.get("start"):
        parts.append(f"from {event['start']}")
    if event.get("end"):
        parts.append(f"to {event['end']}")
    if event.get("location"):
        parts.append(f"at {event['location']}")
    return " ".join(parts)
