"""Body extraction from Gmail payloads: charsets, encodings, MIME structures.

Pure tests, no server. Payloads are built two ways: by hand (for shapes a real
server might send that the stdlib would never produce), and from raw MIME made
with the stdlib ``email`` package, rendered the way Gmail's format=full does.
"""

from __future__ import annotations

import base64
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest
from evermuse_gmail._charset import b64url_bytes, decode_header_value, decode_text
from evermuse_gmail._mime import extract_body
from evermuse_gmail.fake import _mime as m
from evermuse_gmail.fake._store import StoredMessage


def gmail_payload(raw: bytes) -> dict[str, Any]:
    stored = StoredMessage("18c0ffee00000001", "18c0ffee00000001", 0, [], 1, raw)
    return stored.payload()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def leaf(
    mime: str, data: bytes, content_type: str | None = None, **extra: Any
) -> dict[str, Any]:
    headers = [{"name": "Content-Type", "value": content_type or mime}]
    headers += [{"name": k, "value": v} for k, v in extra.pop("headers", {}).items()]
    return {
        "mimeType": mime,
        "filename": extra.pop("filename", ""),
        "headers": headers,
        "body": {"size": len(data), "data": b64(data)},
        **extra,
    }


@pytest.mark.parametrize(
    ("data", "charset", "expected", "noted"),
    [
        ("Grüße".encode(), "utf-8", "Grüße", False),
        ("Café".encode("latin-1"), "iso-8859-1", "Café", False),
        # Labelled Latin-1, written by Windows: curly quotes decode as cp1252.
        ("“quoted”".encode("cp1252"), "iso-8859-1", "“quoted”", False),
        ("€ 5 — ok".encode("cp1252"), "windows-1252", "€ 5 — ok", False),
        ("請求書".encode("shift_jis"), "shift_jis", "請求書", False),
        ("髙橋".encode("cp932"), "Shift_JIS", "髙橋", False),  # a cp932-only character
        ("한국어".encode("cp949"), "ks_c_5601-1987", "한국어", False),
        (b"plain ascii", None, "plain ascii", False),
        ("8-bit ü".encode(), "us-ascii", "8-bit ü", False),
        # Declared UTF-8, sent Latin-1: the bytes that are not UTF-8 read as cp1252.
        ("Grüße".encode("latin-1"), "utf-8", "Grüße", True),
        ("naïve ".encode() + "Grüße".encode("latin-1"), "utf-8", "naïve Grüße", True),
        # cp1252 leaves 0x81 undefined: only that byte is replaced.
        (b"ok \x81 ok", "utf-8", "ok \ufffd ok", True),
        # A broken Japanese body stays Japanese around the broken byte.
        ("請求".encode("shift_jis") + b"\x81", "shift_jis", "請求\ufffd", True),
        # A charset that does not exist: UTF-8 is tried, then cp1252.
        ("Zoë".encode(), "x-no-such-charset", "Zoë", True),
        ("Zoë".encode("latin-1"), "x-no-such-charset", "Zoë", True),
        (b"line one\r\nline two\r", "utf-8", "line one\nline two\n", False),
        (b"nul\x00byte", "utf-8", "nulbyte", False),
    ],
)
def test_decode_text(
    data: bytes, charset: str | None, expected: str, noted: bool
) -> None:
    text, note = decode_text(data, charset)
    assert text == expected
    assert (note is not None) is noted


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (b64(b"hello world"), b"hello world"),
        (b64(b"hello world").rstrip("="), b"hello world"),  # padding dropped
        (base64.b64encode(b"\xfb\xff\xfe").decode(), b"\xfb\xff\xfe"),  # + and /
        ("aGVs\nbG8=", b"hello"),  # a line break inside
        ("aGVsbG8", b"hello"),
        ("aGVsbG8=\r\n", b"hello"),  # a trailing line break
        ("aGVsbG8xx", b"hello1"),  # 4n+1 characters: the dangling one is dropped
    ],
)
def test_b64url_bytes_tolerates_what_servers_send(
    encoded: str, expected: bytes
) -> None:
    assert b64url_bytes(encoded) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "=?utf-8?q?Jos=C3=A9_N=C3=BA=C3=B1ez?= <jose@x.example>",
            "José Núñez <jose@x.example>",
        ),
        ("=?iso-8859-1?B?Wm/r?=", "Zoë"),
        ("Already decoded Zoë", "Already decoded Zoë"),
        ("=?x-unknown?q?caf=E9?= ok", "café ok"),
        ("=?utf-8?q?broken", "=?utf-8?q?broken"),
    ],
)
def test_decode_header_value(value: str, expected: str) -> None:
    assert decode_header_value(value) == expected


def test_plain_is_preferred_over_html_in_an_alternative() -> None:
    alternative = m.multipart(
        "alternative",
        "b1",
        [
            m.text_part("the plain words"),
            m.text_part("<p>the <b>html</b> words</p>", subtype="html"),
        ],
    )
    body = extract_body(gmail_payload(m.serialise(alternative)))
    assert (body.text, body.source) == ("the plain words", "text/plain")


def test_an_empty_plain_alternative_falls_back_to_html() -> None:
    alternative = m.multipart(
        "alternative",
        "b1",
        [
            m.text_part("   \n"),
            m.text_part("<p>only <b>here</b></p>", subtype="html"),
        ],
    )
    body = extract_body(gmail_payload(m.serialise(alternative)))
    assert (body.text, body.source) == ("only here", "text/html")


def test_html_only_is_converted_to_readable_text() -> None:
    html = (
        "<html><head><style>p{color:red}</style></head><body><p>Hello <b>team</b>"
        "</p><ul><li>one</li><li>two</li></ul><table><tr><td>Qty</td><td>3</td>"
        "</tr></table></body></html>"
    )
    body = extract_body(gmail_payload(m.serialise(m.text_part(html, subtype="html"))))
    assert "Hello team" in body.text
    for expected in ("* one", "* two", "Qty", "3"):
        assert expected in body.text
    assert "color" not in body.text
    assert "<" not in body.text


def test_html_charset_from_meta_when_the_header_has_none() -> None:
    html = '<html><head><meta charset="windows-1252"></head><body>“hi” €</body></html>'
    payload = leaf("text/html", html.encode("cp1252"), "text/html")
    assert extract_body(payload).text == "“hi” €"


@pytest.mark.parametrize(
    ("charset", "cte"),
    [
        ("utf-8", "quoted-printable"),
        ("utf-8", "base64"),
        ("iso-8859-1", "quoted-printable"),
        ("windows-1252", "base64"),
        ("iso-8859-15", "quoted-printable"),
    ],
)
def test_transfer_encodings_and_charsets_round_trip(charset: str, cte: str) -> None:
    text = "Prix: 12 € — déjà vu, naïve café"
    if charset.startswith("iso-8859"):
        text = text.replace("—", "-")
    if charset == "iso-8859-1":
        text = text.replace("€", "EUR")
    body = extract_body(
        gmail_payload(m.serialise(m.text_part(text, charset=charset, cte=cte)))
    )
    assert body.text == text
    assert body.notes == []


def test_format_flowed_is_unwrapped() -> None:
    flowed = "This is a long line that the client \nwrapped for sending.\n-- \nsig"
    payload = leaf(
        "text/plain", flowed.encode(), 'text/plain; charset="utf-8"; format=flowed'
    )
    assert extract_body(payload).text == (
        "This is a long line that the client wrapped for sending.\n-- \nsig"
    )


def test_nested_multiparts_attachments_and_inline_images() -> None:
    related = m.multipart(
        "related",
        "r1",
        [
            m.text_part(
                '<p>See <img src="cid:logo@x" alt="logo"> here</p>', subtype="html"
            ),
            m.attachment(
                m.tiny_png(1, 2, 3),
                "image/png",
                "logo.png",
                inline=True,
                content_id="logo@x",
            ),
        ],
    )
    alternative = m.multipart(
        "alternative", "a1", [m.text_part("See the logo here"), related]
    )
    mixed = m.multipart(
        "mixed",
        "m1",
        [
            alternative,
            m.attachment(b"%PDF-1.4 x", "application/pdf", "invoice.pdf"),
        ],
    )
    body = extract_body(gmail_payload(m.serialise(mixed)))
    assert body.text == "See the logo here"
    assert body.attachments == [
        {
            "filename": "logo.png",
            "mime_type": "image/png",
            "size": len(m.tiny_png(1, 2, 3)),
            "inline": True,
        },
        {
            "filename": "invoice.pdf",
            "mime_type": "application/pdf",
            "size": 10,
            "inline": False,
        },
    ]


def test_a_forwarded_message_rfc822_is_read_recursively() -> None:
    inner = EmailMessage(policy=SMTP)
    inner["From"] = "Kim Park <kim@partner.example>"
    inner["Subject"] = "Export broken"
    inner["Date"] = "Mon, 02 Mar 2026 10:00:00 +0000"
    inner.set_content("The export button does nothing.")
    outer = m.multipart("mixed", "m1", [m.text_part("FYI, below."), m.rfc822(inner)])
    body = extract_body(gmail_payload(m.serialise(outer)))
    assert body.text == "FYI, below."
    [forwarded] = body.forwarded
    assert forwarded.headers["from"] == "Kim Park <kim@partner.example>"
    assert forwarded.headers["subject"] == "Export broken"
    assert forwarded.body.text.strip() == "The export button does nothing."


def test_a_raw_rfc822_part_from_a_server_that_does_not_nest_it() -> None:
    raw = (
        b"From: Kim <kim@p.example>\r\nSubject: Raw\r\nContent-Type: text/plain; "
        b"charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Gr=FC=DFe\r\n"
    )
    payload = {
        "mimeType": "multipart/mixed",
        "headers": [],
        "body": {"size": 0},
        "parts": [
            leaf("text/plain", b"see below"),
            {
                "mimeType": "message/rfc822",
                "headers": [],
                "body": {"size": len(raw), "data": b64(raw)},
            },
        ],
    }
    body = extract_body(payload)
    [forwarded] = body.forwarded
    assert forwarded.headers["subject"] == "Raw"
    assert forwarded.body.text.strip() == "Grüße"


def test_a_calendar_invite_is_parsed_and_the_ics_file_listed() -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nDTSTART:20260317T150000Z"
        "\r\nDTEND;TZID=Europe/Paris:20260317T170000\r\n"
        "SUMMARY:Quarterly review\\, Acme"
        "\r\nLOCATION:Room 1\r\nORGANIZER;CN=Alice:mailto:alice@acme.example\r\n"
        "ATTENDEE:mailto:a@x.example\r\nATTENDEE:mailto:b@x.example\r\nDESCRIPTION:Line"
        " one\\n\r\n line two\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    alternative = m.multipart(
        "alternative",
        "a1",
        [
            m.text_part("You are invited"),
            m.text_part(ics, subtype="calendar", extra="; method=REQUEST"),
        ],
    )
    mixed = m.multipart(
        "mixed",
        "m1",
        [alternative, m.attachment(ics.encode(), "application/ics", "invite.ics")],
    )
    body = extract_body(gmail_payload(m.serialise(mixed)))
    assert body.text == "You are invited"
    assert body.calendar == [
        {
            "method": "REQUEST",
            "start": "2026-03-17T15:00:00Z",
            "end": "2026-03-17T17:00:00 (Europe/Paris)",
            "summary": "Quarterly review, Acme",
            "location": "Room 1",
            "organizer": {"email": "alice@acme.example", "name": "Alice"},
            "description": "Line one\nline two",
            "attendee_count": 2,
        }
    ]
    assert [a["filename"] for a in body.attachments] == ["invite.ics"]


def test_an_invite_alone_becomes_a_readable_line() -> None:
    ics = (
        "BEGIN:VCALENDAR\nMETHOD:CANCEL\nBEGIN:VEVENT\nSUMMARY:Sync\n"
        "DTSTART:20260317\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    body = extract_body(
        leaf("text/calendar", ics.encode(), "text/calendar; charset=utf-8")
    )
    assert body.text == "Calendar cancel: Sync from 2026-03-17"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"mimeType": "text/plain"},
        {"mimeType": "text/plain", "body": {"size": 0}},
        {"mimeType": "text/plain", "body": "not an object", "headers": "junk"},
        {"mimeType": "multipart/mixed", "parts": ["junk", None, 3]},
        {"mimeType": "TEXT/PLAIN", "body": {"data": b64(b"upper case type")}},
    ],
)
def test_messy_payloads_never_raise(payload: dict[str, Any]) -> None:
    body = extract_body(payload)
    assert isinstance(body.text, str)


def test_a_body_gmail_left_as_an_attachment_is_listed_not_lost() -> None:
    payload = {
        "mimeType": "text/plain",
        "headers": [],
        "filename": "",
        "body": {"size": 9_000_000, "attachmentId": "ANGjdJ_big"},
    }
    body = extract_body(payload)
    assert body.text == ""
    assert body.attachments == [
        {
            "filename": None,
            "mime_type": "text/plain",
            "size": 9_000_000,
            "inline": False,
        }
    ]


def test_deep_nesting_stops_instead_of_recursing_forever() -> None:
    payload: dict[str, Any] = leaf("text/plain", b"bottom")
    for _ in range(60):
        payload = {"mimeType": "multipart/mixed", "headers": [], "parts": [payload]}
    body = extract_body(payload)
    assert body.text == ""
    assert body.notes
