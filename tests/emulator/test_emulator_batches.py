"""Batch status, the list endpoint with cursors, and surviving a restart."""

from __future__ import annotations

import time

import httpx
import pytest

from evermuse_connectors.emulator import DEFAULT_WRITE_KEY, Faults

INGEST = "/api/v1/ingest"
ORDER = ["LANDING", "LANDED", "PROCESSING", "COMPLETE"]


def send(client, record, n):
    response = client.post(INGEST, json=[record(n)])
    response.raise_for_status()
    return response.json()["batchId"]


def test_a_batch_walks_to_complete(start_emulator, record, schema):
    emu = start_emulator(step_seconds=0.25)
    with httpx.Client(base_url=emu.url, headers={"x-api-key": DEFAULT_WRITE_KEY}) as c:
        batch_id = send(c, record, 1)
        seen: list[str] = []
        deadline = time.monotonic() + 20
        while (not seen or seen[-1] != "COMPLETE") and time.monotonic() < deadline:
            status = c.get(f"/api/v1/ingest/batches/{batch_id}").json()
            schema("IngestBatchStatus", status)
            if not seen or seen[-1] != status["status"]:
                seen.append(status["status"])
            time.sleep(0.01)

    assert seen == ORDER
    assert status["acceptedCount"] == 1
    assert status["type"] == "email"
    assert "attachmentDownloadStatus" not in status


def test_a_read_key_may_read_batches(client, reader, record):
    batch_id = send(client, record, 1)

    assert reader.get(f"/api/v1/ingest/batches/{batch_id}").status_code == 200
    assert reader.get("/api/v1/ingest/batches").status_code == 200


def test_reading_batches_needs_a_key(emu):
    assert httpx.get(emu.url + "/api/v1/ingest/batches").status_code == 401
    assert httpx.get(emu.url + "/api/v1/ingest/batches/bat_x").status_code == 401


def test_an_unknown_batch_is_404(client, schema):
    response = client.get("/api/v1/ingest/batches/bat_nope")

    assert response.status_code == 404
    schema("ErrorResponse", response.json())
    assert "bat_nope" in response.json()["message"]


def test_the_list_pages_newest_first_until_the_cursor_is_null(client, record, schema):
    sent = [send(client, record, n) for n in range(7)]

    pages, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/ingest/batches", params=params).json()
        schema("IngestBatchListResponse", body)
        pages.append([batch["batchId"] for batch in body["batches"]])
        cursor = body["nextCursor"]
        if cursor is None:
            break

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [batch for page in pages for batch in page] == sent[::-1]


def test_the_list_defaults_to_20_and_an_empty_store_has_no_cursor(client, record):
    empty = client.get("/api/v1/ingest/batches").json()
    for n in range(21):
        send(client, record, n)
    full = client.get("/api/v1/ingest/batches").json()

    assert empty == {"batches": [], "nextCursor": None}
    assert len(full["batches"]) == 20
    assert full["nextCursor"] is not None


def test_a_page_exactly_at_the_end_has_no_cursor(client, record):
    for n in range(3):
        send(client, record, n)

    body = client.get("/api/v1/ingest/batches", params={"limit": 3}).json()

    assert len(body["batches"]) == 3
    assert body["nextCursor"] is None


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "", "2.5", "٣"])
def test_a_bad_limit_is_400(client, schema, limit):
    response = client.get("/api/v1/ingest/batches", params={"limit": limit})

    assert response.status_code == 400
    schema("ErrorResponse", response.json())
    assert response.json()["error"] == "invalid_limit"


@pytest.mark.parametrize("cursor", ["nonsense!", "c2VxOmFiYw==", "x" * 300])
def test_a_bad_cursor_is_400(client, cursor):
    response = client.get("/api/v1/ingest/batches", params={"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_cursor"


def test_a_fault_can_fail_a_batch(client, emu, record, schema):
    emu.set_faults(Faults(fail_batch_ratio=1.0))
    batch_id = send(client, record, 1)

    emu.wait_idle(10)

    status = client.get(f"/api/v1/ingest/batches/{batch_id}").json()
    schema("IngestBatchStatus", status)
    assert status["status"] == "FAILED"


def test_data_survives_a_restart(start_emulator, tmp_path, record):
    db = str(tmp_path / "kept.sqlite3")
    first = start_emulator(db_path=db)
    with httpx.Client(
        base_url=first.url, headers={"x-api-key": DEFAULT_WRITE_KEY}
    ) as c:
        answer = c.post(INGEST, json=[record(1)], headers={"idempotency-key": "k1"})
    first.wait_idle(10)
    first.stop()

    second = start_emulator(db_path=db)
    with httpx.Client(
        base_url=second.url, headers={"x-api-key": DEFAULT_WRITE_KEY}
    ) as c:
        status = c.get(f"/api/v1/ingest/batches/{answer.json()['batchId']}").json()
        replay = c.post(INGEST, json=[record(1)], headers={"idempotency-key": "k1"})

    assert status["status"] == "COMPLETE"
    assert [r["_vendor_ids"] for r in second.records()] == [
        {"message_id": "msg-000001"}
    ]
    assert replay.content == answer.content
    assert second.stats()["records_processed"] == 1


def test_a_batch_left_open_by_a_stop_finishes_after_the_restart(
    start_emulator, tmp_path, record
):
    db = str(tmp_path / "kept.sqlite3")
    slow = start_emulator(db_path=db, step_seconds=60)
    with httpx.Client(base_url=slow.url, headers={"x-api-key": DEFAULT_WRITE_KEY}) as c:
        batch_id = send(c, record, 1)
    slow.stop()

    fast = start_emulator(db_path=db, step_seconds=0.01)
    fast.wait_idle(10)

    (batch,) = fast.batches()
    assert (batch["batchId"], batch["status"]) == (batch_id, "COMPLETE")
