"""Shared helpers: a fake Gmail per test and a way to run one window against it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from evermuse_gmail import GmailConnector
from evermuse_gmail.fake import FakeGmail
from evermuse_gmail.fake import _mime as fake_mime
from evermuse_gmail.fake._generate import Delivery

from evermuse_connectors.attachments import (
    AttachmentPolicy,
    AttachmentStore,
    LocalAttachmentStore,
    LocalStoreConfig,
)
from evermuse_connectors.connector import (
    ExtractContext,
    NormaliseContext,
    RawItem,
    Routing,
    Window,
)
from evermuse_connectors.connector._normalise import NormaliseFailure, normalise_items
from evermuse_connectors.envelope import Record
from evermuse_connectors.store import Store
from evermuse_connectors.testing import CONTRACT_NOW, day_window

NOW = CONTRACT_NOW
ROUTING = Routing(product_id="prod-test", project_ids=["proj-test"], tags=["support"])
CONNECTOR = GmailConnector()


def window(days_back: int) -> Window:
    return day_window(NOW - timedelta(days=days_back))


@dataclass
class Sync:
    items: list[RawItem]
    ctx: ExtractContext
    records: list[Record] = field(default_factory=list)
    failures: list[NormaliseFailure] = field(default_factory=list)

    @property
    def notes(self) -> dict[str, Any]:
        return self.ctx.stats.notes


def _run(
    settings: dict[str, Any],
    environ: dict[str, str],
    store: Store,
    days_back: int = 1,
    *,
    source: str = "gmail-test",
    keep: bool = False,
    attachments: AttachmentStore | None = None,
    policy: AttachmentPolicy | None = None,
    **overrides: Any,
) -> Sync:
    """Extract and normalise one window; ``keep`` stores the raw items afterwards
    (as the framework does), so that a later run sees them as previous items;
    ``attachments`` and ``policy`` go to the context as the framework gives them."""
    config = CONNECTOR.parse_config({**settings, **overrides})
    win = window(days_back)
    ctx = ExtractContext(
        source=source,
        window=win,
        store=store,
        environ=environ,
        attachments=attachments,
        attachment_policy=policy,
    )
    try:
        items = list(CONNECTOR.extract(config, ctx))
    finally:
        ctx.close()
    if keep:
        store.write(source, "raw", win.key, (i.to_json() for i in items))
    sync = Sync(items, ctx)
    for out in normalise_items(
        CONNECTOR, config, items, NormaliseContext(source, ROUTING)
    ):
        if isinstance(out, NormaliseFailure):
            sync.failures.append(out)
        else:
            sync.records.append(out)
    return sync


@pytest.fixture
def fake() -> Iterator[FakeGmail]:
    with FakeGmail(seed=11, now=NOW).start() as started:
        yield started


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(str(tmp_path / "store"))


@pytest.fixture
def run() -> Any:
    """``run(settings, environ, store, days_back=1, **overrides) -> Sync``."""
    return _run


@pytest.fixture
def files(tmp_path: Path) -> Iterator[LocalAttachmentStore]:
    """A local attachment store (files in a folder, signed links on loopback)."""
    config = LocalStoreConfig(folder=str(tmp_path / "files"), secret_env=None)
    with LocalAttachmentStore(config) as started:
        yield started


def _staged_entries(items: list[RawItem]) -> list[dict[str, Any]]:
    """Every staged file the raw items name, in order."""
    return [
        entry["staged"]
        for item in items
        for entry in (item.data.get("files") or {}).values()
        if "staged" in entry
    ]


def _deliver(
    fake: FakeGmail,
    parts: list[Message],
    *,
    subject: str,
    when: datetime,
    mailbox: str = "support@acme.example",
    message_id: str | None = None,
) -> str:
    """Put a customer's message with ``parts`` after its text into ``mailbox``;
    its Message-ID (without brackets)."""
    digest = hashlib.sha1(f"{subject}|{when}".encode()).hexdigest()[:16]
    own = message_id or f"{digest}@kunde.example"
    message = fake_mime.multipart(
        "mixed", f"b-{own}", [fake_mime.text_part("Files attached."), *parts]
    )
    message["From"] = fake_mime.address("Zoë Müller", "zoe@kunde.example")
    message["To"] = fake_mime.address("Acme Support", mailbox)
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = f"<{own}>"
    raw = fake_mime.serialise(message)
    millis = int(when.timestamp() * 1000)
    fake.mailboxes[mailbox].add(Delivery(mailbox, own, millis, raw, ("INBOX",)))
    return own


@pytest.fixture
def staged_entries() -> Any:
    """``staged_entries(items)``: every staged file the raw items name."""
    return _staged_entries


@pytest.fixture
def deliver() -> Any:
    """``deliver(fake, parts, subject=, when=, mailbox=, message_id=)``."""
    return _deliver
