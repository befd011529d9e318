"""One Gmail thread (a raw item) to one ``email_thread`` record.

The record carries nothing that belongs to one mailbox (no Gmail ids, labels or
``internalDate``) unless the conversation has no Message-ID: two mailboxes' copies
of a conversation then give byte-identical records, and whichever Evermuse keeps
is the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from evermuse_connectors.connector import NormaliseContext, RawItem
from evermuse_connectors.envelope import Participant, Pii, Record, RecordType
from evermuse_connectors.errors import RecordError, shorten
from evermuse_gmail._addresses import (
    Address,
    domain_of,
    parse_addresses,
    participant,
)
from evermuse_gmail._attached import FILES, Attached
from evermuse_gmail._config import GmailConfig
from evermuse_gmail._identity import (
    message_time,
    sent_messages,
    thread_identity,
    written_at,
)
from evermuse_gmail._mime import Body, FilePart, Forwarded, extract_body, header_map
from evermuse_gmail._quotes import split_text

__all__ = ["CONNECTOR_TAG", "THREAD_KIND", "normalise_thread"]

THREAD_KIND = "thread"
CONNECTOR_TAG = "gmail"
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Digits with the separators people write in phone numbers; see _looks_like_phone.
_PHONE = re.compile(r"(?<![\w+])(\+?\(?\d[\d\s().-]{6,20}\d)(?!\w)")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_ADDRESS_HEADERS = ("from", "to", "cc")


def _iso(moment: Any) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def _cut(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit], True)


def _first_id(value: str | None) -> str | None:
    if not value:
        return None
    found = re.findall(r"<([^<>\s]+)>", value)
    return found[0] if found else value.strip()[:998] or None


def _parts_of(body: Body) -> dict[str, str]:
    split = split_text(body.text)
    quoted = "\n\n".join(t for t in (split.quoted, body.html_quoted) if t)
    return {
        "new_text": split.new,
        "quoted_text": quoted,
        "signature": split.signature or body.html_signature,
        "forwarded_text": split.forwarded,
    }


def _forwarded_json(forwarded: Forwarded, limit: int) -> dict[str, Any]:
    headers = forwarded.headers
    text, cut = _cut(forwarded.body.whole, limit)
    written = written_at(headers.get("date"))
    return {
        "from": [a.to_json() for a in parse_addresses(headers.get("from"))],
        "to": [a.to_json() for a in parse_addresses(headers.get("to"))],
        "date": _iso(written) if written else headers.get("date"),
        "subject": headers.get("subject"),
        "body": text,
        "truncated": cut,
        "attachments": forwarded.body.attachments,
    }


def _message_json(
    message: Mapping[str, Any], limit: int
) -> tuple[dict[str, Any], list[Address], list[FilePart]]:
    """A message as record data, every address in its From, To and Cc, and its
    files."""
    payload = message.get("payload")
    if not isinstance(payload, Mapping):
        payload = {}
    headers = header_map(payload)
    body = extract_body(payload)
    out: dict[str, Any] = {
        "message_id": _first_id(headers.get("message-id")),
        "in_reply_to": _first_id(headers.get("in-reply-to")),
        "date": _iso(message_time(message, headers)),
        "subject": headers.get("subject"),
    }
    everyone: list[Address] = []
    for name in _ADDRESS_HEADERS:
        found = parse_addresses(headers.get(name))
        everyone += found
        listed = [a.to_json() for a in found]
        out[name] = (listed[0] if listed else None) if name == "from" else listed
    out["body"], truncated = _cut(body.whole, limit)
    for name, text in _parts_of(body).items():
        out[name], cut = _cut(text, limit)
        truncated = truncated or cut
    out["body_format"] = body.source or None
    out["truncated"] = truncated
    out["attachments"] = body.attachments
    out["forwarded"] = [_forwarded_json(f, limit) for f in body.forwarded]
    out["calendar"] = body.calendar
    out["decoding_notes"] = body.notes[:5]
    return out, everyone, body.files


def _participants(addresses: list[Address], internal: list[str]) -> list[Participant]:
    seen: dict[str, Participant] = {}
    for address in addresses:
        person = participant(address, internal)
        if person is None:
            continue
        known = seen.get(person.id)
        if known is None or (known.name is None and person.name is not None):
            seen[person.id] = person
    return list(seen.values())[:5000]


def _texts(data: Mapping[str, Any]) -> list[str]:
    texts: list[str] = []
    for message in data["messages"]:
        texts.extend(str(message.get(k) or "") for k in ("body", "new_text"))
        texts.extend(str(f.get("body") or "") for f in message["forwarded"])
    return texts


def _looks_like_phone(found: str) -> bool:
    if _ISO_DATE.match(found):
        return False
    digits = sum(c.isdigit() for c in found)
    return 9 <= digits <= 15 or (found.startswith("+") and 7 <= digits <= 15)


def _pii(data: Mapping[str, Any], participants: list[Participant]) -> Pii:
    texts = _texts(data)
    has_email = any(p.email for p in participants) or any(
        _EMAIL_IN_TEXT.search(t) for t in texts
    )
    has_phone = any(
        _looks_like_phone(found) for text in texts for found in _PHONE.findall(text)
    )
    return Pii(contains_email=has_email, contains_phone=has_phone)


def _size(data: dict[str, Any]) -> int:
    return len(json.dumps(data, ensure_ascii=False))


def _fit(data: dict[str, Any], limit: int) -> None:
    """Drop repeated text until the record is at most ``limit`` characters.

    ``body`` repeats new text, history and signature, so it goes first, then the
    history and inline forwards; what each sender wrote is cut last, to an equal
    share per message.
    """
    messages = data["messages"]
    for field_name in ("body", "quoted_text", "forwarded_text"):
        for message in sorted(messages, key=lambda m: -len(m.get(field_name) or "")):
            if _size(data) <= limit:
                return
            if message.get(field_name):
                message[field_name] = None
                message["truncated"] = True
    texts = [str(m.get("new_text") or "") for m in messages]
    for message in messages:
        message["new_text"] = ""
    share = max(0, (limit - _size(data)) // max(1, len(messages)))
    while True:
        for message, text in zip(messages, texts, strict=True):
            message["new_text"] = text[:share]
            message["truncated"] = message["truncated"] or len(text) > share
        if _size(data) <= limit or share == 0:
            return
        share //= 2


def _internal_domains(config: GmailConfig, mailbox: str) -> list[str]:
    if config.internal_domains:
        return config.internal_domains
    domain = domain_of(mailbox)
    return [domain] if domain else []


def normalise_thread(
    item: RawItem, config: GmailConfig, ctx: NormaliseContext
) -> list[Record]:
    """The ``email_thread`` record of one raw thread (none for a drafts-only one)."""
    mailbox = item.data.get("mailbox")
    if not isinstance(mailbox, str) or not mailbox:
        raise RecordError(
            f"mailbox: expected the synced mailbox address, got {shorten(mailbox)}; "
            "re-extract the window"
        )
    thread = item.data.get("thread")
    messages = sent_messages(thread)
    if not messages:
        return []  # only drafts, spam or trash: nothing was said yet
    assert isinstance(thread, Mapping)
    identity = thread_identity(thread, messages, mailbox)
    internal = _internal_domains(config, mailbox)
    rendered: list[dict[str, Any]] = []
    addresses: list[Address] = []
    attached = Attached(item.data.get(FILES))
    for message in messages:
        data_of_message, seen, files = _message_json(message, config.max_body_chars)
        rendered.append(data_of_message)
        addresses += seen
        for part in files:
            attached.add(str(message.get("id") or ""), part)
    data: dict[str, Any] = {
        "subject": rendered[0]["subject"],
        "message_count": len(rendered),
        "first_message_at": rendered[0]["date"],
        "last_message_at": rendered[-1]["date"],
        "messages": rendered,
    }
    if attached.not_staged:
        data["attachments_not_staged"] = attached.not_staged
    _fit(data, config.max_record_chars)
    people = _participants(addresses, internal)
    tags = list(dict.fromkeys([*ctx.routing.tags, CONNECTOR_TAG]))[:200]
    return [
        Record(
            type=RecordType.EMAIL_THREAD,
            event_at=identity.event_at,
            vendor_ids=identity.vendor_ids,
            thread_id=identity.thread_id,
            product_id=ctx.routing.product_id,
            project_ids=list(ctx.routing.project_ids),
            nature=ctx.routing.nature,
            data=data,
            participants=people or None,
            attachments=attached.attachments or None,
            tags=tags,
            pii=_pii(data, people),
        )
    ]
