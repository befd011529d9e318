"""Re-running a window keeps what was staged: no second download, the same URL
while it has time left, a fresh signature (still no download) when it has not."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from evermuse_slack._files import parse_iso
from evermuse_slack.fake import hosted_file
from evermuse_slack.testing import Harness

from evermuse_connectors.attachments import (
    AttachmentPolicy,
    LocalAttachmentStore,
    LocalStoreConfig,
)


def png(harness: Harness, fid: str, size: int = 4_000) -> dict:
    return hosted_file(
        harness.fake.workspace,
        fid,
        name=f"{fid.lower()}.png",
        mimetype="image/png",
        size=size,
        user=harness.channel("support").members[0],
        created=harness.now,
    )


def local_store(
    folder: Path, *, ttl_seconds: int = 604_800, later: list[float] | None = None
) -> LocalAttachmentStore:
    """A store whose clock runs ``later[0]`` seconds ahead, when given."""
    config = LocalStoreConfig(
        folder=str(folder), secret_env=None, ttl_seconds=ttl_seconds
    )
    offset = later if later is not None else [0.0]
    return LocalAttachmentStore(config, clock=lambda: time.time() + offset[0])


def test_a_rerun_with_nothing_new_downloads_nothing_and_sends_the_same_bytes(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    window = harness.window(2)
    first = harness.sync(window, attachments=files)
    assert first.staged(), "the window shares files"
    harness.fake.reset_counts()

    again = harness.sync(window, attachments=files)

    assert harness.fake.downloads == []
    assert harness.fake.calls["files.info"] == 0
    assert harness.fake.calls["conversations.replies"] == 0
    assert again.staged() == first.staged()
    assert again.record_bytes() == first.record_bytes()
    notes = again.stats.notes["attachments"]
    assert notes["reused"] == len(first.staged())
    assert "refreshed" not in notes


def test_a_url_about_to_expire_is_signed_again_without_a_download(
    harness: Harness, tmp_path: Path
) -> None:
    window = harness.window(2)
    # Links that live an hour are always within two days of expiring.
    later = [0.0]
    with local_store(tmp_path / "files", ttl_seconds=3600, later=later) as store:
        first = harness.sync(window, attachments=store)
        harness.fake.reset_counts()
        later[0] = 600.0  # ten minutes on, so the new signature differs
        again = harness.sync(window, attachments=store)
        assert harness.fake.downloads == []
        before, after = first.staged(), again.staged()
        assert before.keys() == after.keys()
        for fid, entry in after.items():
            assert entry["key"] == before[fid]["key"]
            assert entry["sha256"] == before[fid]["sha256"]
            assert entry["url"] != before[fid]["url"]
            assert parse_iso(entry["expires_at"]) > datetime.now(UTC)
            assert httpx.get(entry["url"]).status_code == 200
        assert again.stats.notes["attachments"]["refreshed"] == len(after)


def test_a_url_of_a_server_that_is_gone_is_signed_again(
    harness: Harness, tmp_path: Path
) -> None:
    # A local store on port 0 serves on another port in each process: links of
    # the last run point at a server that has stopped.
    window = harness.window(3)
    with local_store(tmp_path / "files") as store:
        first = harness.sync(window, attachments=store)
    assert first.staged(), "the window shares files"
    with local_store(tmp_path / "files") as store:
        harness.fake.reset_counts()
        again = harness.sync(window, attachments=store)
        assert harness.fake.downloads == []
        for fid, entry in again.staged().items():
            assert entry["url"] != first.staged()[fid]["url"]
            assert httpx.get(entry["url"]).status_code == 200


def test_a_file_in_a_reply_is_staged_once_a_store_is_configured(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    window = harness.window(4)
    parent = harness.threads_in(window)[0]
    support = harness.channel("support")
    harness.fake.workspace.post(
        support.id,
        support.members[0],
        "the log you asked for",
        thread_ts=parent["ts"],
        at=harness.now - timedelta(hours=1),
        files=[png(harness, "F0INREPLY")],
    )
    harness.sync(window)  # no store yet: metadata only
    harness.fake.reset_counts()

    again = harness.sync(window, attachments=files)

    # Reused replies carry no file links, so that thread is fetched again.
    assert parent["ts"] in [c["ts"] for c in harness.calls_of("conversations.replies")]
    assert again.staged()["F0INREPLY"]["sha256"] == harness.sha256_of("F0INREPLY")


def test_a_missing_scope_is_tried_again_once_granted(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    window, _ = harness.post_files(png(harness, "F0LATER"), days_back=2)
    harness.fake.set_files_scope(False)
    first = harness.sync(window, attachments=files)
    assert "files:read" in first.reasons()["F0LATER"]
    harness.fake.set_files_scope(True)

    again = harness.sync(window, attachments=files)

    assert again.staged()["F0LATER"]["sha256"] == harness.sha256_of("F0LATER")


def test_a_file_that_is_gone_is_not_asked_for_again(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    window, _ = harness.post_files(png(harness, "F0GONE"), days_back=2)
    harness.fake.faults.download_statuses["F0GONE"] = [404]
    first = harness.sync(window, attachments=files)
    assert "the file is gone" in first.reasons()["F0GONE"]
    harness.fake.reset_counts()

    again = harness.sync(window, attachments=files)

    assert "F0GONE" not in harness.fake.downloads
    assert again.reasons()["F0GONE"] == first.reasons()["F0GONE"]


def test_a_tighter_policy_applies_to_files_staged_before(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    window, _ = harness.post_files(png(harness, "F0SHOT"), days_back=2)
    assert "F0SHOT" in harness.sync(window, attachments=files).staged()
    policy = AttachmentPolicy(exclude_mime_types=["image/*"])

    again = harness.sync(window, attachments=files, policy=policy)

    assert again.reasons()["F0SHOT"] == "type image/png is excluded"


def test_a_file_over_the_limit_is_tried_again_only_under_a_higher_limit(
    harness: Harness, files: LocalAttachmentStore
) -> None:
    window, _ = harness.post_files(png(harness, "F0BIG", size=1_000), days_back=2)
    harness.fake.faults.served_sizes["F0BIG"] = 2_000_000
    small = AttachmentPolicy(max_bytes=1024 * 1024)
    first = harness.sync(window, attachments=files, policy=small)
    assert "more bytes arrived" in first.reasons()["F0BIG"]
    harness.fake.reset_counts()

    harness.sync(window, attachments=files, policy=small)
    assert "F0BIG" not in harness.fake.downloads

    bigger = AttachmentPolicy(max_bytes=4 * 1024 * 1024)
    third = harness.sync(window, attachments=files, policy=bigger)
    assert harness.fake.downloads.count("F0BIG") == 1
    assert third.staged()["F0BIG"]["size"] == 2_000_000
