"""The pieces under attachment staging: the streaming decoder, the walk that finds
files, the fake's attachments.get, and normalise on damaged staging details."""

from __future__ import annotations

import base64
import json
import os
import threading
from typing import Any

import httpx
import pytest
from evermuse_gmail import GmailConnector
from evermuse_gmail._attached import NO_STORE, staged_json
from evermuse_gmail._jsonstream import DataStream, StreamFormatError
from evermuse_gmail._mime import FilePart, extract_body, file_parts
from evermuse_gmail._staged import StagedIndex
from evermuse_gmail.fake import FakeGmail
from evermuse_gmail.fake._content import SUPPORT

from evermuse_connectors.attachments import LocalAttachmentStore
from evermuse_connectors.connector import NormaliseContext, RawItem, Routing

CONNECTOR = GmailConnector()
NCTX = NormaliseContext("gmail-test", Routing(product_id="p", project_ids=["x"]))


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def decoded(body: bytes, size: int = 7) -> tuple[bytes, DataStream]:
    stream = DataStream(pieces(body, size))
    return b"".join(stream), stream


CONTENT = os.urandom(5000) + b"end"


@pytest.mark.parametrize("size", [1, 3, 4, 1000, 100_000])
def test_the_decoder_gives_the_bytes_whatever_the_chunking(size: int) -> None:
    encoded = base64.urlsafe_b64encode(CONTENT).decode()
    body = json.dumps({"size": len(CONTENT), "data": encoded}).encode()
    out, stream = decoded(body, size)
    assert out == CONTENT
    assert stream.size == stream.decoded == len(CONTENT)


def test_the_decoder_reads_escapes_any_order_and_no_padding() -> None:
    encoded = base64.urlsafe_b64encode(b"ab").decode()  # "YWI="
    escaped = encoded.replace("=", "\\u003d")
    body = f'{{ "data" : "{escaped}", "attachmentId": "A\\"x", "size": 2 }}'.encode()
    out, stream = decoded(body, 2)
    assert out == b"ab"
    assert stream.size == 2
    unpadded = json.dumps({"data": encoded.rstrip("=")}).encode()
    assert decoded(unpadded)[0] == b"ab"


@pytest.mark.parametrize(
    "body",
    [
        b'{"size": 3}',
        b'{"data": "YWJj"',
        b'{"data": "YWJj',
        b'{"data": {"nested": 1}}',
        b'["data"]',
        b'{"data": "Y"}',
        b"",
    ],
)
def test_the_decoder_refuses_what_attachments_get_never_sends(body: bytes) -> None:
    with pytest.raises(StreamFormatError):
        decoded(body)


def test_the_cheap_walk_finds_the_same_files_as_normalise(fake: FakeGmail) -> None:
    found = 0
    for mailbox in fake.mailboxes.values():
        for message in mailbox.messages.values():
            payload = message.payload()
            assert file_parts(payload) == extract_body(payload).files
            found += len(file_parts(payload))
    assert found > 10


def test_each_read_hands_out_new_attachment_ids_and_all_stay_valid(
    fake: FakeGmail,
) -> None:
    mailbox = fake.mailboxes[SUPPORT.email]
    message = next(m for m in mailbox.messages.values() if file_parts(m.payload()))
    first = file_parts(message.resource("full")["payload"])
    second = file_parts(message.resource("full")["payload"])
    assert [p.ref for p in first] == [p.ref for p in second]
    assert {p.attachment_id for p in first}.isdisjoint(
        {p.attachment_id for p in second}
    )
    _, environ = fake.authorized_user(SUPPORT.email)
    info = json.loads(next(iter(environ.values())))
    form = {k: info[k] for k in ("client_id", "client_secret", "refresh_token")}
    access = httpx.post(
        f"{fake.url}/token", data={**form, "grant_type": "refresh_token"}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    base = f"{fake.url}/gmail/v1/users/me/messages"
    for part in (first[0], second[0]):
        answer = httpx.get(
            f"{base}/{message.id}/attachments/{part.attachment_id}", headers=headers
        )
        assert answer.status_code == 200
        body = answer.json()
        assert set(body) == {"size", "data"}
        assert len(base64.urlsafe_b64decode(body["data"])) == body["size"] == part.size
    for bad, status in [
        (f"{base}/{message.id}/attachments/ANGjdJnot-issued", 400),
        (f"{base}/ffffffffffffffff/attachments/{first[0].attachment_id}", 404),
        (f"{base}/not-an-id/attachments/{first[0].attachment_id}", 400),
    ]:
        assert httpx.get(bad, headers=headers).status_code == status
    assert (
        httpx.get(
            f"{base}/{message.id}/attachments/{first[0].attachment_id}",
            params={"format": "full"},
            headers=headers,
        ).status_code
        == 400
    )


def raw_thread(files: Any) -> RawItem:
    payload = {
        "partId": "",
        "mimeType": "multipart/mixed",
        "headers": [
            {"name": "From", "value": "Zoë <zoe@kunde.example>"},
            {"name": "Date", "value": "Mon, 09 Mar 2026 10:00:00 +0000"},
            {"name": "Message-ID", "value": "<one@kunde.example>"},
            {"name": "Subject", "value": "A file"},
        ],
        "body": {"size": 0},
        "parts": [
            {
                "partId": "0",
                "mimeType": "text/plain",
                "filename": "",
                "headers": [],
                "body": {"size": 2, "data": "aGk"},
            },
            {
                "partId": "1",
                "mimeType": "application/pdf",
                "filename": "a.pdf",
                "headers": [],
                "body": {"size": 10, "attachmentId": "ANGjdJx"},
            },
        ],
    }
    message = {
        "id": "18c0ffee00000001",
        "threadId": "18c0ffee00000001",
        "labelIds": ["INBOX"],
        "internalDate": "1773050400000",
        "payload": payload,
    }
    data: dict[str, Any] = {
        "mailbox": SUPPORT.email,
        "thread": {"id": "18c0ffee00000001", "historyId": "9", "messages": [message]},
    }
    if files is not None:
        data["files"] = files
    return RawItem(f"{SUPPORT.email}/18c0ffee00000001", "thread", data)


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        (None, NO_STORE),
        ({}, "not considered"),
        ("garbage", "not considered"),
        ({"18c0ffee00000001/1": {"staged": {"key": "x"}}}, "unreadable"),
        (
            {"18c0ffee00000001/1": {"reason": "type application/pdf is excluded"}},
            "excluded",
        ),
    ],
)
def test_damaged_or_missing_staging_details_keep_the_record(
    files: Any, reason: str, fake: FakeGmail
) -> None:
    config = CONNECTOR.parse_config(fake.settings)
    [record] = CONNECTOR.normalise(raw_thread(files), config, NCTX)
    assert record.attachments is None
    [entry] = record.data["attachments_not_staged"]
    assert entry["filename"] == "a.pdf"
    assert entry["size"] == 10
    assert reason in entry["reason"]


def test_a_mailbox_waits_for_the_copy_another_mailbox_is_downloading(
    files: LocalAttachmentStore,
) -> None:
    index = StagedIndex(files)
    part = FilePart("1", "a.pdf", "application/pdf", 3, False, attachment_id="x")
    assert index.claim("one@kunde.example", "1") is None  # support downloads it
    held = index.claim("one@kunde.example", "1")  # alice finds it in flight
    assert held is not None
    assert index.known("alice@acme.example", "m2", part, "one@kunde.example") is None
    got: list[Any] = []

    def alice() -> None:
        held.wait(5)
        got.append(index.known("alice@acme.example", "m2", part, "one@kunde.example"))

    waiter = threading.Thread(target=alice)
    waiter.start()
    staged = files.put(b"pdf", filename="a.pdf", mime_type="application/pdf")
    canonical = index.remember(
        "support@acme.example",
        "m1",
        "1",
        "one@kunde.example",
        staged_json(staged),
        signed_now=True,
    )
    index.release("one@kunde.example", "1")
    waiter.join(5)
    assert got == [canonical]
    assert canonical is not None
    assert canonical["url"] == staged.url
    # Released: the next claim is a new one; a different file never matches.
    assert index.claim("one@kunde.example", "1") is None
    other = FilePart("1", "b.pdf", "application/pdf", 3, False, attachment_id="y")
    assert index.known("bob@acme.example", "m3", other, "one@kunde.example") is None
