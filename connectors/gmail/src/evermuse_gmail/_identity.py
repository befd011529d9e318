"""Which conversation a Gmail thread is, in words every mailbox agrees on.

Gmail's thread and message ids belong to one mailbox: the same conversation seen by
support@ and by a colleague in CC has different ids in each. What the copies share
is in the messages themselves:

- ``_vendor_ids``: the root message's ``Message-ID``. The root is the first entry
  of ``References`` of the earliest message (RFC 5322 keeps the thread's first
  message there), else its ``In-Reply-To``, else the earliest message's own id. A
  copy that joined the conversation late still names the same root.
- ``_event_at``: when the earliest message was written, from its ``Date`` header
  (identical in every copy), not ``internalDate`` (when each mailbox received it,
  seconds apart). ``internalDate`` is used only when ``Date`` is missing,
  unparseable or more than 48 hours away from it.
- No ``Message-ID`` anywhere: the Gmail thread id plus the mailbox, so the record
  is still stable, but copies in two mailboxes then become two records.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from evermuse_connectors.errors import RecordError, shorten
from evermuse_gmail._mime import header_map

__all__ = [
    "ThreadIdentity",
    "message_ids",
    "message_time",
    "sent_messages",
    "thread_identity",
    "written_at",
]

# Drafts were never sent; spam and trash were thrown away by the mailbox owner.
SKIPPED_LABELS = frozenset({"DRAFT", "SPAM", "TRASH"})
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_DATE_TOLERANCE = timedelta(hours=48)
_MAX_ID = 500


@dataclass(frozen=True)
class ThreadIdentity:
    vendor_ids: dict[str, str]
    event_at: datetime
    thread_id: str

    @property
    def key(self) -> tuple[tuple[tuple[str, str], ...], str]:
        """What Evermuse deduplicates on (besides the record type)."""
        moment = self.event_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return tuple(sorted(self.vendor_ids.items())), moment


def _ids_in(value: str | None) -> list[str]:
    if not value:
        return []
    found = _MESSAGE_ID.findall(value)
    if found:
        return found
    bare = value.strip()
    return [bare] if bare and " " not in bare else []


def _internal_date(message: Mapping[str, Any]) -> datetime | None:
    try:
        millis = int(str(message.get("internalDate")))
    except ValueError:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)


def written_at(value: str | None) -> datetime | None:
    """A Date header as an aware UTC datetime, or ``None`` if it is no date."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(
            tzinfo=UTC
        )  # "-0000": RFC 5322 says UTC, origin unknown
    return moment.astimezone(UTC)


def message_time(
    message: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> datetime | None:
    """When a message was written: its Date header, checked against internalDate."""
    if headers is None:
        headers = header_map(message.get("payload") or {})
    written = written_at(headers.get("date"))
    received = _internal_date(message)
    if written is None:
        return received
    if received is not None and abs(written - received) > _DATE_TOLERANCE:
        return received
    return written


def sent_messages(thread: Any) -> list[Mapping[str, Any]]:
    """The thread's messages that were sent and kept, earliest first."""
    if not isinstance(thread, Mapping):
        raise RecordError(
            f"thread: expected a Gmail thread object, got {shorten(thread)}; "
            "re-extract the window"
        )
    messages = thread.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RecordError(
            f"thread.messages: expected at least one message, got "
            f"{shorten(messages)}; threads.get must be called with format=full"
        )
    kept = [
        m
        for m in messages
        if isinstance(m, Mapping) and not SKIPPED_LABELS & set(m.get("labelIds") or [])
    ]
    # Gmail orders by internalDate already; sorting again keeps odd servers honest.
    return sorted(
        kept, key=lambda m: _internal_date(m) or datetime.min.replace(tzinfo=UTC)
    )


def message_ids(messages: list[Mapping[str, Any]]) -> frozenset[str]:
    """The Message-IDs of ``messages`` (Gmail ids for those without one)."""
    found = set()
    for message in messages:
        own = _ids_in(header_map(message.get("payload") or {}).get("message-id"))
        found.add(own[0] if own else f"gmail:{message.get('id')}")
    return frozenset(found)


def _root_id(first: Mapping[str, Any]) -> str | None:
    headers = header_map(first.get("payload") or {})
    for name in ("references", "in-reply-to", "message-id"):
        ids = _ids_in(headers.get(name))
        if ids:
            return ids[0]
    return None


def _bounded(value: str) -> str:
    if len(value) <= _MAX_ID:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def thread_identity(
    thread: Mapping[str, Any], messages: list[Mapping[str, Any]], mailbox: str
) -> ThreadIdentity:
    """The conversation's identity; ``messages`` from :func:`sent_messages`."""
    first = messages[0]
    event_at = message_time(first)
    if event_at is None:
        raise RecordError(
            f"messages[0]: neither a Date header nor internalDate, got "
            f"{shorten(first.get('internalDate'))}; re-extract with format=full"
        )
    root = _root_id(first)
    if root is not None:
        root = _bounded(root)
        return ThreadIdentity({"message_id": root}, event_at, root)
    thread_id = str(thread.get("id") or first.get("threadId") or "")
    if not thread_id:
        raise RecordError(
            "thread.id: a thread without Message-IDs needs its Gmail id, got none; "
            "re-extract the window"
        )
    vendor_ids = {"gmail_thread_id": thread_id, "gmail_mailbox": mailbox}
    return ThreadIdentity(
        vendor_ids, event_at, _bounded(f"gmail:{mailbox}:{thread_id}")
    )
