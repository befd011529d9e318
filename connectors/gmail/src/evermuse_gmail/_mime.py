"""The readable body, attachments, forwards and invites of a Gmail message payload.

Gmail's ``format=full`` payload is the MIME tree as JSON: each part has a
``mimeType``, ``headers``, a ``filename`` (attachments only) and a ``body`` with
either ``data`` (base64url bytes, transfer encoding removed) or an ``attachmentId``.
The walk:

- ``multipart/alternative``: one branch is the body, text/plain preferred, then
  HTML (converted to text), then a nested multipart; the others still yield
  attachments and invites;
- ``multipart/related``: the root part is the body, the rest inline resources;
- every other multipart (mixed, signed, report, digest...): parts in order;
- ``message/rfc822``: a forwarded message, read recursively (Gmail nests its parts;
  a server that sends it raw gets it parsed by the stdlib ``email`` package);
- ``text/calendar``: an invite, parsed into a few fields;
- anything with a filename, or not text: an attachment. Its metadata goes into the
  record's data, and a :class:`FilePart` says where its bytes are (inline in
  ``body.data``, or behind ``body.attachmentId``), so that extract can stage it.
"""

from __future__ import annotations

import base64
import email
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from evermuse_gmail._calendar import parse_calendar, summarise_calendar
from evermuse_gmail._charset import (
    b64url_bytes,
    content_param,
    decode_header_value,
    decode_text,
)
from evermuse_gmail._html import html_charset, html_to_text

__all__ = ["Body", "FilePart", "Forwarded", "extract_body", "file_parts", "header_map"]

_MAX_DEPTH = 24
_TEXT_BODIES = ("text/plain", "text/html")


@dataclass(frozen=True)
class FilePart:
    """One file of a message, and where Gmail put its bytes.

    ``ref`` is the part's place in the message (Gmail's ``partId``), the same in
    every fetch and every mailbox's copy; the attachment id is not: Gmail hands
    out a new one each time the message is read.
    """

    ref: str
    filename: str | None
    mime_type: str
    size: int | None
    inline: bool
    attachment_id: str | None = field(default=None, repr=False)
    data: str | None = field(default=None, repr=False)  # base64url, when inline


@dataclass
class Forwarded:
    headers: dict[str, str]
    body: Body


@dataclass
class Body:
    """What one message (or one forwarded message inside it) holds."""

    text: str = ""  # what is split into new text, history and signature
    whole: str = ""  # everything readable, quotes and signature included
    source: str = ""
    html_quoted: str = ""
    html_signature: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    forwarded: list[Forwarded] = field(default_factory=list)
    calendar: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[FilePart] = field(default_factory=list)  # forwarded ones included


def header_map(part: Mapping[str, Any]) -> dict[str, str]:
    """Lower-cased header names to their first value, encoded words decoded."""
    found: dict[str, str] = {}
    for header in part.get("headers") or []:
        if not isinstance(header, Mapping):
            continue
        name = str(header.get("name") or "").strip().lower()
        if name and name not in found:
            found[name] = decode_header_value(str(header.get("value") or ""))
    return found


def _mime_type(part: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    value = str(part.get("mimeType") or "").strip().lower()
    if not value:
        value = headers.get("content-type", "text/plain").split(";")[0].strip().lower()
    return value or "text/plain"


def _disposition(headers: Mapping[str, str]) -> str:
    return headers.get("content-disposition", "").split(";")[0].strip().lower()


def _filename(part: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    name = str(part.get("filename") or "")
    if not name:
        name = content_param(headers.get("content-disposition"), "filename") or ""
    if not name:
        name = content_param(headers.get("content-type"), "name") or ""
    return decode_header_value(name)


def _data(part: Mapping[str, Any]) -> bytes | None:
    body = part.get("body")
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), str):
        return None
    return b64url_bytes(body["data"])


def _size(part: Mapping[str, Any]) -> int | None:
    body = part.get("body")
    size = body.get("size") if isinstance(body, Mapping) else None
    return size if isinstance(size, int) and size >= 0 else None


class _Walker:
    """Walks a payload; ``read_text`` False finds the files only (extract's walk,
    which must classify parts exactly as normalise's does, minus the decoding)."""

    def __init__(self, body: Body, *, read_text: bool = True, prefix: str = "") -> None:
        self.body = body
        self.read_text = read_text
        self.prefix = prefix

    def walk(self, part: Mapping[str, Any], depth: int, *, text: bool) -> None:
        if depth > _MAX_DEPTH:
            self.body.notes.append("MIME tree nested too deep; the rest was skipped")
            return
        headers = header_map(part)
        mime = _mime_type(part, headers)
        children = [p for p in part.get("parts") or [] if isinstance(p, Mapping)]
        if mime.startswith("multipart/"):
            self._multipart(mime, headers, children, depth, text=text)
        elif mime in ("message/rfc822", "message/global"):
            self._forwarded(part, headers, children, depth)
        else:
            self._leaf(part, headers, mime, text=text)

    def _multipart(
        self,
        mime: str,
        headers: Mapping[str, str],
        children: list[Mapping[str, Any]],
        depth: int,
        *,
        text: bool,
    ) -> None:
        if mime == "multipart/alternative":
            chosen = _best_alternative(children) if text else None
            for child in children:
                self.walk(child, depth + 1, text=child is chosen)
            return
        if mime == "multipart/related":
            root = _related_root(headers, children)
            for child in children:
                self.walk(child, depth + 1, text=text and child is root)
            return
        for child in children:
            self.walk(child, depth + 1, text=text)

    def _forwarded(
        self,
        part: Mapping[str, Any],
        headers: Mapping[str, str],
        children: list[Mapping[str, Any]],
        depth: int,
    ) -> None:
        inner: Mapping[str, Any] | None = children[0] if children else None
        raw = _data(part)
        if inner is None and raw:
            inner = payload_of_message(email.message_from_bytes(raw))
        if inner is None or _filename(part, headers):
            # A forward with a file name is also shown as the attachment it is.
            self._attachment(part, headers, "message/rfc822")
        if inner is None:
            return
        forwarded = Body()
        # Parts parsed from raw bytes number themselves from scratch: their refs
        # get the forward's own ref in front, so they cannot clash with Gmail's.
        numbered = isinstance(inner.get("partId"), str) and bool(inner.get("partId"))
        prefix = self.prefix if children and numbered else f"{self._ref(part)}~"
        _Walker(forwarded, read_text=self.read_text, prefix=prefix).walk(
            inner, depth + 1, text=True
        )
        self.body.forwarded.append(Forwarded(header_map(inner), forwarded))
        self.body.files.extend(forwarded.files)

    def _leaf(
        self,
        part: Mapping[str, Any],
        headers: Mapping[str, str],
        mime: str,
        *,
        text: bool,
    ) -> None:
        named = bool(_filename(part, headers)) or _disposition(headers) == "attachment"
        if mime == "text/calendar":
            self._calendar(part, headers, named=named, text=text)
            return
        data = _data(part)
        if named or mime not in _TEXT_BODIES or data is None:
            if mime.startswith("text/") and not named and data is None and not text:
                return  # an unused alternative that Gmail left as an attachment
            if not (mime == "text/x-amp-html" and not named):
                self._attachment(part, headers, mime)
            return
        if text and self.read_text:
            self._text(data, headers, mime)

    def _text(self, data: bytes, headers: Mapping[str, str], mime: str) -> None:
        content_type = headers.get("content-type", "")
        charset = content_param(content_type, "charset")
        if mime == "text/html" and charset is None:
            charset = html_charset(data)
        decoded, note = decode_text(data, charset)
        if note:
            self.body.notes.append(note)
        if mime == "text/html":
            rendered = html_to_text(decoded)
            self._append(rendered.text, mime, whole=rendered.whole)
            self.body.html_quoted = _join(self.body.html_quoted, rendered.quoted)
            self.body.html_signature = _join(
                self.body.html_signature, rendered.signature
            )
            return
        if (content_param(content_type, "format") or "").lower() == "flowed":
            delsp = (content_param(content_type, "delsp") or "").lower() == "yes"
            decoded = _unflow(decoded, delsp=delsp)
        self._append(decoded, mime)

    def _append(self, text: str, mime: str, *, whole: str | None = None) -> None:
        self.body.text = _join(self.body.text, text)
        self.body.whole = _join(self.body.whole, text if whole is None else whole)
        self.body.source = self.body.source or mime

    def _calendar(
        self,
        part: Mapping[str, Any],
        headers: Mapping[str, str],
        *,
        named: bool,
        text: bool,
    ) -> None:
        data = _data(part)
        if named:
            self._attachment(part, headers, "text/calendar")
        if data is None or not self.read_text:
            return
        decoded, _ = decode_text(
            data, content_param(headers.get("content-type"), "charset")
        )
        event = parse_calendar(decoded)
        if event and event not in self.body.calendar:
            self.body.calendar.append(event)
        if text and event and not self.body.text:
            self._append(summarise_calendar(event), "text/calendar")

    def _attachment(
        self, part: Mapping[str, Any], headers: Mapping[str, str], mime: str
    ) -> None:
        meta: dict[str, Any] = {"filename": _filename(part, headers) or None}
        meta["mime_type"] = mime
        meta["size"] = _size(part)
        disposition = _disposition(headers)
        meta["inline"] = disposition == "inline" or (
            bool(headers.get("content-id")) and disposition != "attachment"
        )
        if meta not in self.body.attachments:
            self.body.attachments.append(meta)
        body = part.get("body")
        body = body if isinstance(body, Mapping) else {}
        attachment_id = body.get("attachmentId")
        data = body.get("data")
        self.body.files.append(
            FilePart(
                ref=self._ref(part),
                filename=meta["filename"],
                mime_type=mime,
                size=meta["size"],
                inline=meta["inline"],
                attachment_id=attachment_id if isinstance(attachment_id, str) else None,
                data=data if isinstance(data, str) and data else None,
            )
        )

    def _ref(self, part: Mapping[str, Any]) -> str:
        part_id = part.get("partId")
        if isinstance(part_id, str) and part_id:
            return self.prefix + part_id
        # No partId (not Gmail's shape): the order of the files is stable instead.
        return f"{self.prefix}#{len(self.body.files)}"


def _best_alternative(
    children: list[Mapping[str, Any]],
) -> Mapping[str, Any] | None:
    def rank(child: Mapping[str, Any]) -> int:
        headers = header_map(child)
        mime = _mime_type(child, headers)
        if _filename(child, headers):
            return 9
        if mime == "text/plain":
            data = _data(child)
            return 0 if data and data.strip() else 8
        if mime == "text/html":
            return 1
        if mime.startswith("multipart/"):
            return 2
        if mime == "text/calendar":
            return 3
        return 9

    ranked = sorted(enumerate(children), key=lambda pair: (rank(pair[1]), pair[0]))
    return ranked[0][1] if ranked and rank(ranked[0][1]) < 9 else None


def _related_root(
    headers: Mapping[str, str], children: list[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    start = content_param(headers.get("content-type"), "start")
    if start:
        for child in children:
            if header_map(child).get("content-id", "").strip() == start.strip():
                return child
    return children[0] if children else None


def _unflow(text: str, *, delsp: bool) -> str:
    # RFC 3676: a line ending in a space continues on the next (except "-- ").
    out: list[str] = []
    carry = ""
    for line in text.split("\n"):
        if line.endswith(" ") and line != "-- ":
            carry += line[:-1] if delsp else line
            continue
        out.append(carry + line)
        carry = ""
    if carry:
        out.append(carry)
    return "\n".join(out)


def _join(first: str, second: str) -> str:
    if not first:
        return second
    if not second:
        return first
    return f"{first.rstrip()}\n\n{second.lstrip()}"


def extract_body(payload: Mapping[str, Any]) -> Body:
    """Body text, attachments, forwards and invites of one message payload."""
    body = Body()
    _Walker(body).walk(payload, 0, text=True)
    return body


def file_parts(payload: Mapping[str, Any]) -> list[FilePart]:
    """The files of one message payload, without decoding any text (cheap)."""
    body = Body()
    _Walker(body, read_text=False).walk(payload, 0, text=True)
    return body.files


def payload_of_message(message: Message, part_id: str = "") -> dict[str, Any]:
    """A Gmail-style payload of a parsed stdlib message (for raw forwards)."""
    headers = [{"name": k, "value": str(v)} for k, v in message.items()]
    out: dict[str, Any] = {
        "partId": part_id,
        "mimeType": message.get_content_type(),
        "filename": message.get_filename() or "",
        "headers": headers,
    }
    if message.is_multipart():
        payload = message.get_payload()
        parts = payload if isinstance(payload, list) else []
        out["body"] = {"size": 0}
        out["parts"] = [
            payload_of_message(p, f"{part_id}.{i}" if part_id else str(i))
            for i, p in enumerate(parts)
        ]
        return out
    data = message.get_payload(decode=True)
    raw = data if isinstance(data, bytes) else b""
    out["body"] = {
        "size": len(raw),
        "data": base64.urlsafe_b64encode(raw).decode("ascii"),
    }
    return out
