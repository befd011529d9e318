"""Attachments staged during extract: policy, limits, batching, streaming, copies."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from evermuse_gmail._attached import NO_STORE
from evermuse_gmail.fake import FakeGmail
from evermuse_gmail.fake import _mime as m
from evermuse_gmail.fake._content import ALICE, SUPPORT

from evermuse_connectors.attachments import (
    AttachmentPolicy,
    LocalAttachmentStore,
    LocalStoreConfig,
)
from evermuse_connectors.store import Store
from evermuse_connectors.testing import CONTRACT_NOW as NOW
from evermuse_connectors.testing import day_window

WINDOW = day_window(NOW - timedelta(days=1))
WHEN = WINDOW.start + timedelta(hours=10)
ONLY_SUPPORT = {"mailboxes": [SUPPORT.email]}


def files_of(fake: FakeGmail, mailbox: str = SUPPORT.email) -> dict[str, bytes]:
    """sha-256 of every attachment's bytes the fake holds, to the bytes."""
    held: dict[str, bytes] = {}
    for message in fake.mailboxes[mailbox].messages.values():
        message.payload()
        for data in message.attachments.values():
            held[hashlib.sha256(data).hexdigest()] = data
    return held


def pdf(n: int, size: int = 300) -> bytes:
    head = f"%PDF-1.4\n% document {n}\n".encode()
    return (head + bytes(range(256)) * (size // 256 + 1))[:size]


def not_staged(sync: Any) -> list[dict[str, Any]]:
    return [x for r in sync.records for x in r.data.get("attachments_not_staged", [])]


def test_the_window_s_files_are_staged_and_named_in_the_records(
    run: Any, fake: FakeGmail, store: Store, files: LocalAttachmentStore
) -> None:
    sync = run(fake.settings, fake.environ, store, attachments=files, **ONLY_SUPPORT)
    attachments = [a for r in sync.records for a in r.attachments or []]
    assert attachments, "the sample day should hold attachments"
    held = files_of(fake)
    by_sha1 = {hashlib.sha1(b).hexdigest(): b for b in held.values()}
    for attachment in attachments:
        body = by_sha1[attachment.sha1 or ""]
        assert attachment.md5 == hashlib.md5(body).hexdigest()
        assert attachment.size == len(body)
        fetched = httpx.get(str(attachment.vendor_url))
        assert fetched.status_code == 200
        assert fetched.content == body
    assert not_staged(sync) == []
    notes = sync.notes["attachments"]
    assert fake.calls["messages.attachments.get"] == notes["downloaded"] > 0
    assert notes["quota_units"] == 5 * notes["downloaded"]
    assert sync.failures == []


def test_without_a_store_files_stay_metadata_with_the_reason(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    sync = run(fake.settings, fake.environ, store, **ONLY_SUPPORT)
    assert all(not r.attachments for r in sync.records)
    reasons = not_staged(sync)
    messages = [msg for r in sync.records for msg in r.data["messages"]]
    listed = [a for msg in messages for a in msg["attachments"]]
    assert len(reasons) == len(listed) > 0
    assert {x["reason"] for x in reasons} == {NO_STORE}
    assert fake.calls["messages.attachments.get"] == 0
    assert "files" not in sync.items[0].data


@pytest.mark.parametrize(
    ("policy", "refused_type"),
    [
        (AttachmentPolicy(max_bytes=100), "application/ics"),
        (AttachmentPolicy(exclude_mime_types=["application/pdf"]), "application/pdf"),
        (AttachmentPolicy(inline_images=False), "image/png"),
        (AttachmentPolicy(mime_types=["image/*"]), "application/pdf"),
    ],
)
def test_files_the_policy_refuses_keep_metadata_and_the_policy_s_reason(
    run: Any,
    fake: FakeGmail,
    store: Store,
    files: LocalAttachmentStore,
    policy: AttachmentPolicy,
    refused_type: str,
) -> None:
    sync = run(
        fake.settings,
        fake.environ,
        store,
        attachments=files,
        policy=policy,
        **ONLY_SUPPORT,
    )
    refused = [x for x in not_staged(sync) if x["mime_type"] == refused_type]
    assert refused
    for entry in refused:
        expected = policy.decide(
            filename=entry["filename"],
            mime_type=entry["mime_type"],
            size=entry["size"],
            inline=entry["mime_type"].startswith("image/"),
        )
        assert not expected.stage
        assert entry["reason"] == expected.reason
    staged = [a for r in sync.records for a in r.attachments or []]
    assert all(a.mime_type != refused_type for a in staged)
    # Nothing refused was downloaded: only what is staged cost a call.
    assert (
        fake.calls["messages.attachments.get"]
        == sync.notes["attachments"]["downloaded"]
    )


def test_a_record_carries_ten_files_and_says_why_not_the_rest(
    run: Any, fake: FakeGmail, store: Store, files: LocalAttachmentStore, deliver: Any
) -> None:
    parts = [m.attachment(pdf(n), "application/pdf", f"doc-{n}.pdf") for n in range(12)]
    deliver(fake, parts, subject="Twelve documents", when=WHEN)
    sync = run(fake.settings, fake.environ, store, attachments=files, **ONLY_SUPPORT)
    [record] = [r for r in sync.records if r.data["subject"] == "Twelve documents"]
    assert [a.filename for a in record.attachments or []] == [
        f"doc-{n}.pdf" for n in range(10)
    ]
    assert record.data["attachments_not_staged"] == [
        {
            "filename": f"doc-{n}.pdf",
            "mime_type": "application/pdf",
            "size": 300,
            "reason": "over the 10 attachments a record may carry",
        }
        for n in (10, 11)
    ]


def test_a_file_re_attached_in_every_reply_counts_once(
    run: Any, fake: FakeGmail, store: Store, files: LocalAttachmentStore, deliver: Any
) -> None:
    same = [m.attachment(pdf(1), "application/pdf", "contract.pdf") for _ in range(12)]
    deliver(fake, same, subject="The contract, again", when=WHEN)
    sync = run(fake.settings, fake.environ, store, attachments=files, **ONLY_SUPPORT)
    [record] = [r for r in sync.records if r.data["subject"] == "The contract, again"]
    assert [a.filename for a in record.attachments or []] == ["contract.pdf"]
    assert "attachments_not_staged" not in record.data
    assert len(list((files.folder / "sha256").iterdir())) == len(
        {a.sha1 for r in sync.records for a in r.attachments or []}
    )


def test_small_files_ride_in_batches_and_large_ones_stream(
    run: Any, fake: FakeGmail, store: Store, files: LocalAttachmentStore, deliver: Any
) -> None:
    big = pdf(7, size=3 * 1024 * 1024 + 5)
    deliver(
        fake,
        [m.attachment(big, "application/pdf", "big.pdf")]
        + [m.attachment(pdf(n), "application/pdf", f"small-{n}.pdf") for n in range(4)],
        subject="One big, four small",
        when=WHEN,
    )
    sync = run(
        fake.settings,
        fake.environ,
        store,
        attachments=files,
        attachment_stream_bytes=1024 * 1024,
        batch_size=50,
        **ONLY_SUPPORT,
    )
    [record] = [r for r in sync.records if r.data["subject"] == "One big, four small"]
    assert [a.size for a in record.attachments or []] == [len(big)] + [300] * 4
    assert httpx.get(str(record.attachments[0].vendor_url)).content == big  # type: ignore[index]
    downloaded = sync.notes["attachments"]["downloaded"]
    # One streamed call, the rest in one batch with the threads' batch before it.
    assert fake.calls["messages.attachments.get"] == downloaded
    assert fake.calls["batch"] == 2
    assert sync.notes["attachments"]["round_trips"] == 2


def test_everything_streams_when_told_to(
    run: Any, fake: FakeGmail, store: Store, tmp_path: Path
) -> None:
    # A clock that stands still: URLs signed a second apart would differ.
    now = time.time()
    config = LocalStoreConfig(folder=str(tmp_path / "files"), secret_env=None)
    with LocalAttachmentStore(config, clock=lambda: now) as files:
        batched = run(
            fake.settings, fake.environ, store, attachments=files, **ONLY_SUPPORT
        )
        fake.reset_counters()
        streamed = run(
            fake.settings,
            fake.environ,
            Store(str(Path(store.root) / "other")),
            attachments=files,
            attachment_stream_bytes=0,
            **ONLY_SUPPORT,
        )
    count = streamed.notes["attachments"]["downloaded"]
    assert count == batched.notes["attachments"]["downloaded"] > 1
    assert streamed.notes["attachments"]["round_trips"] == count
    assert [r.to_bytes() for r in streamed.records] == [
        r.to_bytes() for r in batched.records
    ]


def test_data_gmail_sends_inline_is_staged_without_a_call(
    run: Any, store: Store, files: LocalAttachmentStore
) -> None:
    with FakeGmail(seed=11, now=NOW, inline_attachment_bytes=100).start() as fake:
        sync = run(
            fake.settings, fake.environ, store, attachments=files, **ONLY_SUPPORT
        )
        sizes = Counter(a.size or 0 for r in sync.records for a in r.attachments or [])
        notes = sync.notes["attachments"]
        assert notes["from_inline_data"] > 0
        assert sum(n for size, n in sizes.items() if size <= 100) >= 1
        assert fake.calls["messages.attachments.get"] == notes["downloaded"]
        assert notes["downloaded"] < sum(sizes.values())


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_file_in_two_mailboxes_is_downloaded_and_stored_once(
    run: Any, fake: FakeGmail, store: Store, tmp_path: Path, concurrency: int
) -> None:
    def stage(where: str, **settings: Any) -> Any:
        config = LocalStoreConfig(folder=str(tmp_path / where), secret_env=None)
        with LocalAttachmentStore(config) as files:
            fake.reset_counters()
            sync = run(
                fake.settings,
                fake.environ,
                Store(str(tmp_path / f"store-{where}")),
                attachments=files,
                max_concurrent_mailboxes=concurrency,
                **settings,
            )
            return sync, fake.calls["messages.attachments.get"], files.folder

    _, calls_alone, _ = stage("alone", **ONLY_SUPPORT)
    both, calls_both, folder = stage("both")
    assert both.notes["attachments"]["reused"] > 0, "alice's copies hold files"
    assert calls_both == calls_alone
    stored = {p.name for p in (folder / "sha256").iterdir()}
    assert stored == {s["sha256"] for item in both.items for s in _staged(item)}


def _staged(item: Any) -> list[dict[str, Any]]:
    entries = (item.data.get("files") or {}).values()
    return [e["staged"] for e in entries if "staged" in e]


def test_two_mailboxes_copies_give_the_same_record_bytes(
    run: Any, fake: FakeGmail, tmp_path: Path
) -> None:
    # Each mailbox alone, in a run of its own: the same bytes under the same name
    # sign to the same URL (the clock stands still, as the expiry is in it).
    config = LocalStoreConfig(folder=str(tmp_path / "files"), secret_env=None)
    records = {}
    with LocalAttachmentStore(config, clock=lambda: NOW.timestamp()) as files:
        for mailbox in (SUPPORT.email, ALICE.email):
            sync = run(
                fake.settings,
                fake.environ,
                Store(str(tmp_path / mailbox)),
                attachments=files,
                mailboxes=[mailbox],
            )
            records[mailbox] = {r.identity: r for r in sync.records}
    shared = set(records[SUPPORT.email]) & set(records[ALICE.email])
    with_files = [i for i in shared if records[ALICE.email][i].attachments]
    assert with_files, "alice shares conversations with files in the sample"
    for identity in shared:
        assert (
            records[SUPPORT.email][identity].to_bytes()
            == records[ALICE.email][identity].to_bytes()
        )
