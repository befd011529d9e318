"""Staged files across runs of a window, and attachments that fail to download."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
from evermuse_gmail import GmailConnector
from evermuse_gmail.fake import FakeGmail
from evermuse_gmail.fake import _mime as m
from evermuse_gmail.fake._content import SUPPORT

from evermuse_connectors.attachments import (
    AttachmentPolicy,
    LocalAttachmentStore,
    LocalStoreConfig,
)
from evermuse_connectors.connector import NormaliseContext, Routing
from evermuse_connectors.store import Store
from evermuse_connectors.testing import CONTRACT_NOW as NOW
from evermuse_connectors.testing import day_window

CONNECTOR = GmailConnector()
NCTX = NormaliseContext("gmail-test", Routing(product_id="p", project_ids=["x"]))
WINDOW = day_window(NOW - timedelta(days=1))
WHEN = WINDOW.start + timedelta(hours=10)
SUPPORT_ONLY = {"mailboxes": [SUPPORT.email]}
FAST = {"backoff_base_seconds": 0.01, "backoff_cap_seconds": 0.02}


def urls(items: list[Any]) -> list[str]:
    return [
        e["staged"]["url"]
        for item in items
        for e in (item.data.get("files") or {}).values()
        if "staged" in e
    ]


def test_an_unchanged_window_re_uses_its_staged_files(
    run: Any, fake: FakeGmail, store: Store, files: LocalAttachmentStore
) -> None:
    first = run(
        fake.settings, fake.environ, store, attachments=files, keep=True, **SUPPORT_ONLY
    )
    assert urls(first.items)
    fake.reset_counters()
    again = run(fake.settings, fake.environ, store, attachments=files, **SUPPORT_ONLY)
    assert fake.calls["messages.attachments.get"] == 0
    assert fake.calls["batch"] == 0
    assert again.notes["threads_reused"] == len(again.items)
    # Far from expiry, the URLs stay as they were: the records do not change.
    assert [r.to_bytes() for r in again.records] == [
        r.to_bytes() for r in first.records
    ]


def test_urls_about_to_expire_are_re_signed_without_a_download(
    run: Any, fake: FakeGmail, store: Store, tmp_path: Path
) -> None:
    config = LocalStoreConfig(folder=str(tmp_path / "files"), secret_env=None)
    six_days_ago = time.time() - 6 * 86400
    with LocalAttachmentStore(config, clock=lambda: six_days_ago) as old:
        first = run(
            fake.settings,
            fake.environ,
            store,
            attachments=old,
            keep=True,
            **SUPPORT_ONLY,
        )
    fake.reset_counters()
    with LocalAttachmentStore(config) as files:
        again = run(
            fake.settings, fake.environ, store, attachments=files, **SUPPORT_ONLY
        )
        fresh = urls(again.items)
        assert fake.calls["messages.attachments.get"] == 0
        assert len(fresh) == len(urls(first.items)) > 0
        assert set(fresh).isdisjoint(urls(first.items))
        soon = datetime.now(UTC) + timedelta(days=6)
        for item in again.items:
            for entry in item.data["files"].values():
                if "staged" in entry:
                    expires = datetime.fromisoformat(entry["staged"]["expires_at"])
                    assert expires > soon
        for url in fresh:
            assert httpx.get(url).status_code == 200


def test_a_grown_thread_downloads_only_its_new_files(
    run: Any, fake: FakeGmail, store: Store, files: LocalAttachmentStore
) -> None:
    first = run(
        fake.settings, fake.environ, store, attachments=files, keep=True, **SUPPORT_ONLY
    )
    item = next(i for i in first.items if urls([i]))
    old_urls = urls([item])
    thread = item.data["thread"]
    root = thread["messages"][0]["payload"]["headers"]
    message_id = next(h["value"] for h in root if h["name"].lower() == "message-id")
    last = max(int(msg["internalDate"]) for msg in thread["messages"])
    later = datetime.fromtimestamp(last / 1000 + 60, UTC)
    reply = m.multipart(
        "mixed",
        "b-late",
        [
            m.text_part("One more file."),
            m.attachment(b"late bytes " * 50, "text/csv", "late.csv"),
        ],
    )
    reply["From"] = m.address("Zoë Müller", "zoe@kunde.example")
    reply["To"] = m.address("Acme Support", SUPPORT.email)
    reply["Subject"] = "Re: more"
    reply["Date"] = format_datetime(later)
    reply["Message-ID"] = "<late-file@kunde.example>"
    reply["In-Reply-To"] = message_id
    reply["References"] = message_id
    received = int(later.timestamp() * 1000)
    fake.mailboxes[SUPPORT.email].reply(thread["id"], m.serialise(reply), received)

    fake.reset_counters()
    again = run(fake.settings, fake.environ, store, attachments=files, **SUPPORT_ONLY)
    grown = next(i for i in again.items if i.id == item.id)
    assert urls([grown])[: len(old_urls)] == old_urls
    assert fake.calls["messages.attachments.get"] == 1  # late.csv only
    config = CONNECTOR.parse_config(fake.settings)
    [record] = CONNECTOR.normalise(grown, config, NCTX)
    names = [a.filename for a in record.attachments or []]
    assert names[-1] == "late.csv"
    assert len(names) == len(old_urls) + 1


def test_a_changed_policy_re_decides_unchanged_threads(
    run: Any, fake: FakeGmail, store: Store, files: LocalAttachmentStore
) -> None:
    strict = AttachmentPolicy(exclude_mime_types=["application/pdf"])
    first = run(
        fake.settings,
        fake.environ,
        store,
        attachments=files,
        policy=strict,
        keep=True,
        **SUPPORT_ONLY,
    )
    refused = [
        x
        for r in first.records
        for x in r.data.get("attachments_not_staged", [])
        if x["mime_type"] == "application/pdf"
    ]
    assert refused
    fake.reset_counters()
    again = run(fake.settings, fake.environ, store, attachments=files, **SUPPORT_ONLY)
    pdfs = [
        a
        for r in again.records
        for a in r.attachments or []
        if a.mime_type == "application/pdf"
    ]
    assert len(pdfs) == len(refused)
    # Fetched again to stage the PDFs; the files staged before cost nothing.
    assert fake.calls["messages.attachments.get"] == len(refused)


def test_a_store_removed_leaves_stored_copies_metadata_only(
    run: Any, fake: FakeGmail, store: Store, files: LocalAttachmentStore
) -> None:
    run(
        fake.settings, fake.environ, store, attachments=files, keep=True, **SUPPORT_ONLY
    )
    again = run(fake.settings, fake.environ, store, **SUPPORT_ONLY)
    assert again.notes["threads_reused"] == len(again.items)
    assert all(not r.attachments for r in again.records)
    assert all("files" not in i.data for i in again.items)


def test_a_download_that_keeps_failing_is_reported_and_tried_next_run(
    run: Any, fake: FakeGmail, store: Store, files: LocalAttachmentStore
) -> None:
    fake.inject("messages.attachments.get", status=503, reason="backendError", times=50)
    first = run(
        fake.settings,
        fake.environ,
        store,
        attachments=files,
        keep=True,
        max_attempts=2,
        **FAST,
        **SUPPORT_ONLY,
    )
    verdict = CONNECTOR.completeness(first.items, first.ctx.stats)
    assert verdict is not None
    assert not verdict.passed
    assert "could not be staged" in verdict.description
    failed = first.notes["attachments"]["failed"]
    assert failed == verdict.metadata["attachments_failed"] > 0
    reasons = [
        x["reason"]
        for r in first.records
        for x in r.data.get("attachments_not_staged", [])
    ]
    assert len(reasons) == failed
    assert all("could not be downloaded from Gmail" in x for x in reasons)

    fake.clear_faults()
    fake.reset_counters()
    again = run(fake.settings, fake.environ, store, attachments=files, **SUPPORT_ONLY)
    assert fake.calls["messages.attachments.get"] == failed
    assert CONNECTOR.completeness(again.items, again.ctx.stats).passed  # type: ignore[union-attr]
    assert all("attachments_not_staged" not in r.data for r in again.records)


def test_a_rate_limited_download_is_retried_in_the_next_batch(
    run: Any, fake: FakeGmail, store: Store, files: LocalAttachmentStore
) -> None:
    fake.inject("messages.attachments.get", status=429, times=1, retry_after="0")
    sync = run(
        fake.settings, fake.environ, store, attachments=files, **FAST, **SUPPORT_ONLY
    )
    assert sync.notes["attachments"]["failed"] == 0
    assert sync.notes["retried_parts"] == 1
    assert all("attachments_not_staged" not in r.data for r in sync.records)


def test_a_streamed_download_survives_a_rate_limit(
    run: Any, fake: FakeGmail, store: Store, files: LocalAttachmentStore
) -> None:
    fake.inject("messages.attachments.get", status=429, times=2, retry_after="0")
    sync = run(
        fake.settings,
        fake.environ,
        store,
        attachments=files,
        attachment_stream_bytes=0,
        **FAST,
        **SUPPORT_ONLY,
    )
    staged = [a for r in sync.records for a in r.attachments or []]
    assert staged
    assert sync.notes["rate_limited"] == 2
    held = {
        hashlib.sha1(data).hexdigest()
        for message in fake.mailboxes[SUPPORT.email].messages.values()
        for data in message.attachments.values()
    }
    assert {a.sha1 for a in staged} <= held


def test_another_store_gets_the_files_downloaded_again(
    run: Any, fake: FakeGmail, store: Store, tmp_path: Path
) -> None:
    def local(name: str) -> LocalAttachmentStore:
        config = LocalStoreConfig(folder=str(tmp_path / name), secret_env=None)
        return LocalAttachmentStore(config)

    with local("old") as old:
        first = run(
            fake.settings,
            fake.environ,
            store,
            attachments=old,
            keep=True,
            **SUPPORT_ONLY,
        )
    fake.reset_counters()
    with local("new") as new:
        again = run(fake.settings, fake.environ, store, attachments=new, **SUPPORT_ONLY)
        downloaded = first.notes["attachments"]["downloaded"]
        assert fake.calls["messages.attachments.get"] == downloaded > 0
        for url in urls(again.items):
            assert httpx.get(url).status_code == 200
    stored = {p.name for p in (tmp_path / "new" / "sha256").iterdir()}
    assert stored == {p.name for p in (tmp_path / "old" / "sha256").iterdir()}
