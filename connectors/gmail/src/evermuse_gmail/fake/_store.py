"""The fake's mailboxes: raw RFC 5322 messages, rendered the way Gmail renders them.

Gmail's ``format=full`` payload is reproduced from the raw bytes: the MIME tree as
JSON parts (``partId`` "", "0", "0.1"...), header values unfolded and with RFC 2047
words decoded, text parts' bytes with the transfer encoding removed but the charset
kept, base64url-encoded in ``body.data``; parts with a filename and non-text parts
get an ``attachmentId`` instead, served by ``messages.attachments.get`` (or, when
no larger than the mailbox's ``inline_bytes``, their data inline). As in Gmail, the
attachment ids change every time a message is read; every id handed out stays
valid. A ``message/rfc822`` part holds the forwarded message as its one child part.
"""

from __future__ import annotations

import base64
import email
import email.errors
import hashlib
import html
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

from evermuse_gmail.fake._generate import Delivery

__all__ = ["Mailbox", "StoredMessage"]

_FOLD = re.compile(r"\r?\n[ \t]+")
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _header_value(value: str) -> str:
    value = _FOLD.sub(" ", str(value))
    try:
        return str(make_header(decode_header(value)))
    except (LookupError, UnicodeDecodeError, ValueError, email.errors.HeaderParseError):
        return value


def _text_of(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


@dataclass
class StoredMessage:
    id: str
    thread_id: str
    internal_ms: int
    labels: list[str]
    history_id: int
    raw: bytes
    inline_bytes: int = 0
    attachments: dict[str, bytes] = field(default_factory=dict)
    reads: int = 0
    _parsed: Message | None = None
    _payload: dict[str, Any] | None = None
    _search: dict[str, str] | None = None

    @property
    def parsed(self) -> Message:
        if self._parsed is None:
            self._parsed = email.message_from_bytes(self.raw)
        return self._parsed

    def payload(self) -> dict[str, Any]:
        """The payload as first rendered (its attachment ids stay valid)."""
        if self._payload is None:
            self._payload = self._part(self.parsed, "")
        return self._payload

    def served_payload(self) -> dict[str, Any]:
        """The payload with attachment ids of its own, as each read gets."""
        template = self.payload()
        self.reads += 1
        return self._reissued(template)

    def _reissued(self, part: dict[str, Any]) -> dict[str, Any]:
        body = part.get("body") or {}
        if "parts" in part:
            return {**part, "parts": [self._reissued(p) for p in part["parts"]]}
        if "attachmentId" not in body:
            return part
        fresh = self._attachment_id(part["partId"], self.reads)
        self.attachments[fresh] = self.attachments[body["attachmentId"]]
        return {**part, "body": {**body, "attachmentId": fresh}}

    def _attachment_id(self, part_id: str, read: int) -> str:
        digest = hashlib.sha256(f"{self.id}:{part_id}:{read}".encode()).digest()
        return "ANGjdJ" + _b64url(digest).rstrip("=")

    def _part(self, part: Message, part_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "partId": part_id,
            "mimeType": part.get_content_type(),
            "filename": _header_value(part.get_filename() or ""),
            "headers": [
                {"name": k, "value": _header_value(v)} for k, v in part.items()
            ],
        }
        children = part.get_payload()
        if part.is_multipart() and isinstance(children, list):
            out["body"] = {"size": 0}
            out["parts"] = [
                self._part(child, f"{part_id}.{i}" if part_id else str(i))
                for i, child in enumerate(children)
            ]
            return out
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        named = out["filename"] or not out["mimeType"].startswith("text/")
        if named and len(data) > self.inline_bytes:
            attachment_id = self._attachment_id(part_id, 0)
            self.attachments[attachment_id] = data
            out["body"] = {"attachmentId": attachment_id, "size": len(data)}
        else:
            out["body"] = {"size": len(data), "data": _b64url(data)}
        return out

    def search_view(self) -> dict[str, str]:
        """Lower-cased fields the fake's search reads."""
        if self._search is None:
            parsed = self.parsed
            texts, names = [], []
            for part in parsed.walk():
                if part.get_filename():
                    names.append(part.get_filename() or "")
                elif part.get_content_maintype() == "text":
                    texts.append(_text_of(part))
            self._search = {
                "from": _header_value(parsed.get("From", "")).lower(),
                "to": _header_value(parsed.get("To", "")).lower(),
                "cc": _header_value(parsed.get("Cc", "")).lower(),
                "subject": _header_value(parsed.get("Subject", "")).lower(),
                "text": "\n".join(texts).lower(),
                "filenames": "\n".join(names).lower(),
            }
        return self._search

    def snippet(self) -> str:
        text = self.search_view()["text"]  # lower-cased, good enough for a fake
        plain = _SPACE.sub(" ", _TAGS.sub(" ", text)).strip()
        return html.escape(plain[:200], quote=True)

    def resource(
        self, fmt: str, metadata_headers: list[str] | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "threadId": self.thread_id,
            "labelIds": list(self.labels),
            "snippet": self.snippet(),
            "sizeEstimate": len(self.raw),
            "historyId": str(self.history_id),
            "internalDate": str(self.internal_ms),
        }
        if fmt == "minimal":
            return out
        if fmt == "raw":
            out["raw"] = _b64url(self.raw)
            return out
        payload = self.payload()
        if fmt == "metadata":
            wanted = {h.lower() for h in metadata_headers or []}
            headers = [
                h
                for h in payload["headers"]
                if not wanted or h["name"].lower() in wanted
            ]
            out["payload"] = {
                "partId": "",
                "mimeType": payload["mimeType"],
                "filename": "",
                "headers": headers,
                "body": {"size": 0},
            }
            return out
        out["payload"] = self.served_payload()
        return out


class Mailbox:
    """One user's messages, grouped into threads as Gmail would hold them."""

    def __init__(self, address: str, *, inline_bytes: int = 0) -> None:
        self.address = address
        self.inline_bytes = inline_bytes
        self.messages: dict[str, StoredMessage] = {}
        self.threads: dict[str, list[StoredMessage]] = {}
        self._by_conversation: dict[str, str] = {}
        self._history = 1000

    def add(self, delivery: Delivery) -> StoredMessage:
        self._history += 1
        message_id = f"{(delivery.internal_ms << 16) + self._history % 65536:016x}"
        thread_id = self._by_conversation.setdefault(delivery.conversation, message_id)
        stored = StoredMessage(
            id=message_id,
            thread_id=thread_id,
            internal_ms=delivery.internal_ms,
            labels=list(delivery.labels),
            history_id=self._history,
            raw=delivery.raw,
            inline_bytes=self.inline_bytes,
        )
        self.messages[message_id] = stored
        self.threads.setdefault(thread_id, []).append(stored)
        self.threads[thread_id].sort(key=lambda s: s.internal_ms)
        return stored

    def reply(self, thread_id: str, raw: bytes, internal_ms: int) -> StoredMessage:
        """Deliver ``raw`` into an existing thread (a reply arriving later)."""
        conversation = next(
            k for k, v in self._by_conversation.items() if v == thread_id
        )
        return self.add(
            Delivery(self.address, conversation, internal_ms, raw, ("INBOX",))
        )

    def thread_history(self, thread_id: str) -> int:
        return max(m.history_id for m in self.threads[thread_id])

    def thread_resource(
        self, thread_id: str, fmt: str, headers: list[str] | None
    ) -> dict[str, Any]:
        messages = self.threads[thread_id]
        return {
            "id": thread_id,
            "historyId": str(self.thread_history(thread_id)),
            "messages": [m.resource(fmt, headers) for m in messages],
        }

    def newest_first(self) -> list[str]:
        """Thread ids by their latest message, newest first (Gmail's list order)."""
        return sorted(
            self.threads,
            key=lambda t: (max(m.internal_ms for m in self.threads[t]), t),
            reverse=True,
        )

    def touch(self, thread_id: str) -> None:
        """Record a change to a thread (a label added), as Gmail's history would."""
        self._history += 1
        self.threads[thread_id][-1].history_id = self._history

    @property
    def history_id(self) -> int:
        return self._history
