"""End to end: a record whose attachment is staged, posted to the emulator, which
downloads the file from the store by itself, without credentials."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from pydantic import SecretStr

from evermuse_connectors.attachments import (
    AttachmentPolicy,
    AttachmentStore,
    LocalAttachmentStore,
    LocalStoreConfig,
    StagedFile,
)
from evermuse_connectors.emulator import DEFAULT_WRITE_KEY
from evermuse_connectors.envelope import Nature, Participant, Record, RecordType, Role
from evermuse_connectors.ingest import DeliveryPolicy, EvermuseClient, IngestSettings

SCREENSHOT = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2000
NOTES = b"Voice note transcript: the export button is missing.\n" * 100


def record_with(*staged: StagedFile, skipped: list[dict[str, str]]) -> Record:
    return Record(
        type=RecordType.EMAIL,
        event_at=datetime(2026, 3, 9, 10, 30, tzinfo=UTC),
        vendor_ids={"message_id": "msg-1"},
        product_id="prod-acme",
        project_ids=["proj-1"],
        nature=Nature.EVIDENCE,
        data={"subject": "Export is broken", "attachments_not_staged": skipped},
        participants=[Participant(id="ana@customer.example", role=Role.EXTERNAL)],
        attachments=[file.attachment() for file in staged],
    )


def stage(store: AttachmentStore) -> tuple[list[StagedFile], list[dict[str, str]]]:
    policy = AttachmentPolicy(exclude_mime_types=["video/*"])
    files = [
        ("screenshot.png", "image/png", SCREENSHOT),
        ("notes.txt", "text/plain", NOTES),
        ("demo.mp4", "video/mp4", b"\x00" * 64),
    ]
    staged, skipped = [], []
    for name, mime_type, body in files:
        decision = policy.decide(
            filename=name,
            mime_type=mime_type,
            size=len(body),
            already_staged=len(staged),
        )
        if not decision.stage:
            skipped.append({"filename": name, "reason": decision.reason})
            continue
        staged.append(
            store.put(
                iter([body[:1000], body[1000:]]),
                filename=name,
                mime_type=mime_type,
                max_bytes=policy.max_bytes,
            )
        )
    return staged, skipped


def send(staged: list[StagedFile], skipped: list[dict[str, str]], emulator) -> dict:
    settings = IngestSettings(
        api_key=SecretStr(DEFAULT_WRITE_KEY), base_url=emulator.url
    )
    policy_fast = DeliveryPolicy(backoff_base=0.01, backoff_cap=0.05)
    with EvermuseClient(settings, policy=policy_fast, seed=1) as client:
        summary = client.send([record_with(*staged, skipped=skipped)])
        emulator.wait_idle(30)
        [batch] = summary.batches
        return client.batch_status(batch.batch_id)


def check_downloaded(staged: list[StagedFile], status: dict, emulator) -> None:
    assert status["status"] == "COMPLETE"
    assert status["attachmentDownloadTotal"] == 2
    assert status["attachmentDownloadComplete"] == 2
    assert status["attachmentDownloadFailed"] == 0
    assert status["attachmentDownloadStatus"] == "COMPLETE"
    downloads = emulator.downloads()
    assert sorted(d["sha256"] for d in downloads) == sorted(
        hashlib.sha256(body).hexdigest() for body in (SCREENSHOT, NOTES)
    )
    assert sorted(d["sha256"] for d in downloads) == sorted(f.sha256 for f in staged)
    assert {d["host"] for d in downloads} == {"127.0.0.1"}
    [stored] = emulator.records()
    assert stored["data"]["attachments_not_staged"] == [
        {"filename": "demo.mp4", "reason": "type video/mp4 is excluded"}
    ]


def test_the_emulator_downloads_a_file_staged_in_s3(s3_store, emulator):
    staged, skipped = stage(s3_store)
    status = send(staged, skipped, emulator)
    check_downloaded(staged, status, emulator)


def test_the_emulator_downloads_a_file_staged_locally(local_store, emulator):
    staged, skipped = stage(local_store)
    status = send(staged, skipped, emulator)
    check_downloaded(staged, status, emulator)


def test_an_expired_link_is_a_failed_download(tmp_path, emulator):
    # The emulator really fetches the URL: a link whose time is up fails there.
    now = [1_773_100_800.0]
    config = LocalStoreConfig(folder=str(tmp_path), secret_env=None, ttl_seconds=60)
    with LocalAttachmentStore(config, clock=lambda: now[0]) as store:
        staged, skipped = stage(store)
        now[0] += 3600  # an hour later: the links lived for a minute
        status = send(staged, skipped, emulator)
    assert status["attachmentDownloadFailed"] == 2
    assert status["attachmentDownloadStatus"] == "FAILED"
    assert {d["reason"] for d in emulator.downloads()} == {
        "the server answered HTTP 403"
    }
    assert len(staged) == 2
