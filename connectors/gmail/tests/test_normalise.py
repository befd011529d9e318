"""One raw thread to one email_thread record: identity, participants, data, PII."""

from __future__ import annotations

import json
from typing import Any

import pytest
from evermuse_gmail import GmailConnector
from evermuse_gmail.fake import _mime as m
from evermuse_gmail.fake._store import StoredMessage

from evermuse_connectors.connector import NormaliseContext, RawItem, Routing
from evermuse_connectors.envelope import ParticipantType, Record, Role
from evermuse_connectors.errors import RecordError

CONNECTOR = GmailConnector()
CTX = NormaliseContext(
    "gmail-test", Routing(product_id="p", project_ids=["x"], tags=["vip"])
)
SETTINGS = {
    "auth": {"kind": "service_account", "key_env": "KEY"},
    "mailboxes": ["support@acme.example"],
}
T0 = 1_773_050_400_000  # 2026-03-09T10:00:00Z in milliseconds


def message(
    n: int,
    *,
    sender: str = "José Núñez <jose@cliente.example>",
    to: str = "Acme Support <support@acme.example>",
    cc: str | None = None,
    date: str | None = "Mon, 09 Mar 2026 11:00:00 +0100",
    message_id: str | None = "<root@cliente.example>",
    references: str | None = None,
    body: str = "Hello, the invoice is wrong.",
    labels: tuple[str, ...] = ("INBOX",),
    received_ms: int = T0,
) -> dict[str, Any]:
    part = m.text_part(body)
    part["From"] = sender
    part["To"] = to
    if cc:
        part["Cc"] = cc
    part["Subject"] = "Invoice"
    if date:
        part["Date"] = date
    if message_id:
        part["Message-ID"] = message_id
    if references:
        part["References"] = references
        part["In-Reply-To"] = references.split()[-1]
    stored = StoredMessage(
        f"{n:016x}", "0000000000000001", received_ms, list(labels), n, m.serialise(part)
    )
    return stored.resource("full")


def item(*messages: dict[str, Any], mailbox: str = "support@acme.example") -> RawItem:
    thread = {"id": "0000000000000001", "historyId": "9", "messages": list(messages)}
    return RawItem(
        id=f"{mailbox}/1", kind="thread", data={"mailbox": mailbox, "thread": thread}
    )


def normalise(raw: RawItem, **settings: Any) -> Record:
    config = CONNECTOR.parse_config({**SETTINGS, **settings})
    [record] = CONNECTOR.normalise(raw, config, CTX)
    return record


def reply(n: int, **kwargs: Any) -> dict[str, Any]:
    defaults = {
        "sender": "Acme Support <support@acme.example>",
        "to": "José Núñez <jose@cliente.example>",
        "date": f"Mon, 09 Mar 2026 1{n}:30:00 +0000",
        "message_id": f"<reply{n}@acme.example>",
        "references": "<root@cliente.example>",
        "body": (
            "We are on it.\n\nOn Mon, Mar 9, 2026 José wrote:\n"
            "> Hello, the invoice is wrong."
        ),
        "labels": ("SENT",),
        "received_ms": T0 + n * 3_600_000,
    }
    return message(n, **{**defaults, **kwargs})


def test_identity_comes_from_the_root_message() -> None:
    record = normalise(item(message(1), reply(2)))
    assert record.vendor_ids == {"message_id": "root@cliente.example"}
    assert record.thread_id == "root@cliente.example"
    assert record.event_at_text == "2026-03-09T10:00:00Z"  # the Date header, in UTC
    assert record.tags == ["vip", "gmail"]
    assert (record.product_id, record.project_ids) == ("p", ["x"])


def test_a_grown_thread_keeps_its_identity() -> None:
    small = normalise(item(message(1)))
    grown = normalise(item(message(1), reply(2), reply(3)))
    assert small.identity == grown.identity
    assert grown.data["message_count"] == 3


def test_the_date_header_wins_over_receipt_time_within_two_days() -> None:
    late = normalise(item(message(1, received_ms=T0 + 7_000)))  # seconds later
    assert late.event_at_text == "2026-03-09T10:00:00Z"
    bogus = normalise(item(message(1, date="Tue, 09 Mar 1999 10:00:00 +0000")))
    assert bogus.event_at_text == "2026-03-09T10:00:00Z"  # internalDate instead
    missing = normalise(item(message(1, date=None, received_ms=T0 + 1_500)))
    assert missing.event_at_text == "2026-03-09T10:00:01Z"
    garbage = normalise(item(message(1, date="sometime last week")))
    assert garbage.event_at_text == "2026-03-09T10:00:00Z"


def test_a_late_copy_still_names_the_root() -> None:
    record = normalise(
        item(reply(2, references="<root@cliente.example> <reply1@acme.example>"))
    )
    assert record.vendor_ids == {"message_id": "root@cliente.example"}


def test_without_any_message_id_the_gmail_ids_are_used() -> None:
    record = normalise(item(message(1, message_id=None)))
    assert record.vendor_ids == {
        "gmail_thread_id": "0000000000000001",
        "gmail_mailbox": "support@acme.example",
    }


def test_messages_in_order_with_quotes_apart() -> None:
    record = normalise(item(reply(2), message(1)))  # out of order on purpose
    first, second = record.data["messages"]
    assert first["from"] == {"name": "José Núñez", "email": "jose@cliente.example"}
    assert first["to"] == [{"name": "Acme Support", "email": "support@acme.example"}]
    assert first["date"] == "2026-03-09T10:00:00Z"
    assert first["message_id"] == "root@cliente.example"
    assert second["in_reply_to"] == "root@cliente.example"
    assert second["new_text"] == "We are on it."
    assert second["quoted_text"].startswith("On Mon, Mar 9, 2026 José wrote:")
    assert "We are on it." in second["body"]
    assert record.data["first_message_at"] == "2026-03-09T10:00:00Z"


def test_drafts_spam_and_trash_are_left_out() -> None:
    record = normalise(
        item(message(1), reply(2, labels=("DRAFT",)), reply(3, labels=("TRASH",)))
    )
    assert record.data["message_count"] == 1
    config = CONNECTOR.parse_config(SETTINGS)
    assert CONNECTOR.normalise(item(message(1, labels=("DRAFT",))), config, CTX) == []


def test_participants_and_roles() -> None:
    record = normalise(
        item(
            message(
                1,
                cc=(
                    "Alice <alice@acme.example>, noreply@billing.example, "
                    "undisclosed-recipients:;"
                ),
            ),
            reply(2, to="jose@cliente.example, MAILER-DAEMON@mx.acme.example"),
        )
    )
    people = {p.id: p for p in record.participants or []}
    assert people["jose@cliente.example"].role is Role.EXTERNAL
    assert people["jose@cliente.example"].type is ParticipantType.CONTACT
    assert (
        people["jose@cliente.example"].name == "José Núñez"
    )  # kept from the message that had it
    assert people["alice@acme.example"].role is Role.INTERNAL
    assert people["alice@acme.example"].type is ParticipantType.USER
    assert people["noreply@billing.example"].type is ParticipantType.BOT
    # A subdomain of the mailbox's domain is internal too.
    assert people["mailer-daemon@mx.acme.example"].role is Role.INTERNAL
    assert people["mailer-daemon@mx.acme.example"].type is ParticipantType.SYSTEM
    assert len(people) == 5


def test_configured_internal_domains_replace_the_mailbox_domain() -> None:
    record = normalise(item(message(1)), internal_domains=["cliente.example"])
    people = {p.id: p for p in record.participants or []}
    assert people["jose@cliente.example"].role is Role.INTERNAL
    assert people["support@acme.example"].role is Role.EXTERNAL


@pytest.mark.parametrize(
    ("body", "phone"),
    [
        ("Call me on +1 415 555 0134.", True),
        ("Call 0171 555 0134 please", True),
        ("Invoice INV-2026-0042 dated 2026-03-09 10:00", False),
        ("No numbers here.", False),
    ],
)
def test_pii_flags(body: str, phone: bool) -> None:
    record = normalise(item(message(1, body=body)))
    assert record.pii is not None
    assert record.pii.contains_email is True
    assert record.pii.contains_phone is phone


def test_a_huge_thread_is_trimmed_to_the_record_budget() -> None:
    long_text = "word " * 5_000
    messages = [
        reply(n, body=f"{long_text}\n\nOn Mon X wrote:\n> {long_text}")
        for n in range(2, 9)
    ]
    record = normalise(item(message(1), *messages), max_record_chars=60_000)
    size = len(json.dumps(record.data, ensure_ascii=False))
    assert size <= 60_000
    assert any(m["truncated"] for m in record.data["messages"])
    assert all(
        m["new_text"] for m in record.data["messages"]
    )  # what people wrote stays


def test_a_long_body_is_cut_and_marked() -> None:
    record = normalise(item(message(1, body="x" * 500)), max_body_chars=100)
    [first] = record.data["messages"]
    assert len(first["body"]) == 100
    assert first["truncated"] is True


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {"mailbox": "support@acme.example", "thread": {"id": "1", "messages": []}},
            "thread.messages",
        ),
        ({"mailbox": "support@acme.example", "thread": "junk"}, "thread:"),
        ({"thread": {"id": "1", "messages": [{}]}}, "mailbox"),
        (
            {
                "mailbox": "support@acme.example",
                "thread": {"id": "1", "messages": [{"id": "x"}]},
            },
            "messages[0]",
        ),
    ],
)
def test_a_malformed_item_says_what_is_wrong(data: dict[str, Any], field: str) -> None:
    config = CONNECTOR.parse_config(SETTINGS)
    with pytest.raises(
        RecordError, match=field.replace("[", r"\[").replace("]", r"\]")
    ):
        CONNECTOR.normalise(RawItem(id="bad", kind="thread", data=data), config, CTX)


def test_a_foreign_kind_is_refused() -> None:
    config = CONNECTOR.parse_config(SETTINGS)
    with pytest.raises(RecordError, match="kind"):
        CONNECTOR.normalise(RawItem(id="x", kind="message", data={}), config, CTX)


def test_records_repr_shows_no_content() -> None:
    record = normalise(item(message(1, body="secret customer complaint")))
    assert "secret" not in repr(record)
