"""Attachment downloads after a batch lands: loopback only, hashes, failures."""

from __future__ import annotations

import hashlib
import logging

import httpx

from evermuse_connectors.emulator import DEFAULT_WRITE_KEY, LOOPBACK_ONLY

INGEST = "/api/v1/ingest"
PAYLOAD = bytes(range(256)) * 1024  # what the conftest's file server serves


def with_attachments(record, *attachments):
    return record(1, _attachments=list(attachments))


def audio(url, **declared):
    return {"type": "audio", "filename": "call.mp3", "vendor_url": url} | declared


def run(emu, client, records):
    response = client.post(INGEST, json=records)
    assert response.status_code == 202, response.text
    emu.wait_idle(20)
    batch_id = response.json()["batchId"]
    return client.get(f"/api/v1/ingest/batches/{batch_id}").json()


def test_a_local_file_is_downloaded_and_hashed(
    emu, client, record, file_server, schema
):
    url = file_server.url + "/files/recording.bin?token=s3cr3t-token"

    status = run(emu, client, [with_attachments(record, audio(url))])

    schema("IngestBatchStatus", status)
    assert status["attachmentDownloadTotal"] == 1
    assert status["attachmentDownloadComplete"] == 1
    assert status["attachmentDownloadFailed"] == 0
    assert status["attachmentDownloadStatus"] == "COMPLETE"
    (download,) = emu.downloads()
    assert download["size"] == len(PAYLOAD)
    assert download["sha1"] == hashlib.sha1(PAYLOAD).hexdigest()
    assert download["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert download["host"] == "127.0.0.1"
    assert "s3cr3t-token" not in str(emu.downloads())
    assert file_server.hits["/files/recording.bin"] == 1


def test_a_redirect_between_local_urls_is_followed(emu, client, record, file_server):
    status = run(
        emu, client, [with_attachments(record, audio(file_server.url + "/redirect"))]
    )

    assert status["attachmentDownloadStatus"] == "COMPLETE"
    assert emu.downloads()[0]["size"] == len(PAYLOAD)


def test_an_outside_host_fails_without_being_resolved(emu, client, record):
    # .invalid never resolves (RFC 6761): a DNS attempt would fail with another
    # reason, so the loopback reason proves the host was checked first.
    status = run(
        emu, client, [with_attachments(record, audio("https://example.invalid/x"))]
    )

    assert status["attachmentDownloadStatus"] == "FAILED"
    assert status["attachmentDownloadFailed"] == 1
    assert emu.downloads()[0]["reason"] == LOOPBACK_ONLY
    assert emu.downloads()[0]["host"] == "example.invalid"


def test_other_non_loopback_forms_fail_the_same_way(emu, client, record):
    urls = [
        "http://10.0.0.1/x",
        "http://[2001:db8::1]/x",
        "http://2130706433/x",  # 127.0.0.1 written as one number
        "http://127.0.0.1.example.invalid/x",
    ]
    run(emu, client, [with_attachments(record, *(audio(url) for url in urls))])

    assert [d["reason"] for d in emu.downloads()] == [LOOPBACK_ONLY] * len(urls)


def test_a_redirect_to_an_outside_host_is_not_followed(
    emu, client, record, file_server
):
    url = file_server.url + "/redirect-out"

    status = run(emu, client, [with_attachments(record, audio(url))])

    assert status["attachmentDownloadStatus"] == "FAILED"
    assert emu.downloads()[0]["reason"] == LOOPBACK_ONLY


def test_a_login_page_is_a_failed_download(emu, client, record, file_server):
    status = run(
        emu,
        client,
        [
            with_attachments(
                record,
                audio(file_server.url + "/login"),
                audio(file_server.url + "/sniffed"),
            )
        ],
    )

    assert status["attachmentDownloadStatus"] == "FAILED"
    assert all("HTML page" in d["reason"] for d in emu.downloads())


def test_an_html_file_declared_as_html_is_fine(emu, client, record, file_server):
    page = {"type": "file", "mime_type": "text/html", "vendor_url": ""}
    page["vendor_url"] = file_server.url + "/login"

    status = run(emu, client, [with_attachments(record, page)])

    assert status["attachmentDownloadStatus"] == "COMPLETE"


def test_some_failed_is_a_partial_failure(emu, client, record, file_server, caplog):
    good = audio(file_server.url + "/files/recording.bin")
    missing = audio(file_server.url + "/missing?sig=private-signature")
    caplog.set_level(logging.DEBUG, logger="evermuse_connectors")

    status = run(emu, client, [with_attachments(record, good, missing)])

    assert status["attachmentDownloadStatus"] == "PARTIAL_FAILURE"
    assert (
        status["attachmentDownloadComplete"],
        status["attachmentDownloadFailed"],
    ) == (
        1,
        1,
    )
    reasons = [d["reason"] for d in emu.downloads()]
    assert reasons == [None, "the server answered HTTP 404"]
    assert "127.0.0.1" in caplog.text
    assert "private-signature" not in caplog.text
    assert "/missing" not in caplog.text


def test_a_file_unlike_its_declared_hash_fails(emu, client, record, file_server):
    url = file_server.url + "/files/recording.bin"
    right = audio(url, sha1=hashlib.sha1(PAYLOAD).hexdigest(), size=len(PAYLOAD))
    wrong = audio(url, sha1="0" * 40)

    run(emu, client, [with_attachments(record, right, wrong)])

    assert [d["status"] for d in emu.downloads()] == ["COMPLETE", "FAILED"]
    assert "sha1" in emu.downloads()[1]["reason"]


def test_an_unreachable_local_port_fails(emu, client, record):
    status = run(
        emu, client, [with_attachments(record, audio("http://127.0.0.1:9/nothing"))]
    )

    assert status["attachmentDownloadStatus"] == "FAILED"
    assert "ConnectError" in emu.downloads()[0]["reason"]


def test_attachments_without_vendor_url_are_not_downloads(emu, client, record):
    uploaded = {"type": "file", "upload_intent_id": "up_1"}

    status = run(emu, client, [with_attachments(record, uploaded)])

    assert "attachmentDownloadTotal" not in status


def test_downloads_can_be_switched_off(start_emulator, record, file_server):
    emu = start_emulator(download_attachments=False)
    with httpx.Client(base_url=emu.url, headers={"x-api-key": DEFAULT_WRITE_KEY}) as c:
        url = file_server.url + "/files/recording.bin"
        status = run(emu, c, [with_attachments(record, audio(url))])

    assert status["status"] == "COMPLETE"
    assert status["attachmentDownloadStatus"] == "PENDING"
    assert file_server.hits["/files/recording.bin"] == 0


def test_downloads_wait_for_the_batch_to_land(start_emulator, record, file_server):
    emu = start_emulator(step_seconds=60)
    with httpx.Client(base_url=emu.url, headers={"x-api-key": DEFAULT_WRITE_KEY}) as c:
        url = file_server.url + "/files/recording.bin"
        answer = c.post(INGEST, json=[with_attachments(record, audio(url))])
        status = c.get(f"/api/v1/ingest/batches/{answer.json()['batchId']}").json()

    assert status["status"] == "LANDING"
    assert status["attachmentDownloadStatus"] == "PENDING"
    assert file_server.hits["/files/recording.bin"] == 0
