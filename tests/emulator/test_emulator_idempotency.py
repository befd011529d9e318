"""Idempotency keys and overwriting by identity."""

from __future__ import annotations

import threading

import httpx
import orjson

from evermuse_connectors.emulator import DEFAULT_WRITE_KEY

INGEST = "/api/v1/ingest"


def post(client, records, key=None):
    headers = {"content-type": "application/x-ndjson"}
    if key is not None:
        headers["idempotency-key"] = key
    body = b"\n".join(orjson.dumps(r) for r in records)
    return client.post(INGEST, content=body, headers=headers)


def test_same_key_same_body_replays_the_original_answer(client, emu, record):
    records = [record(n) for n in range(5)]

    first = post(client, records, key="batch-1")
    second = post(client, records, key="batch-1")

    assert first.status_code == second.status_code == 202
    assert second.content == first.content
    stats = emu.stats()
    assert stats["batches"] == 1
    assert stats["records_processed"] == 5
    assert stats["idempotent_replays"] == 1
    assert stats["processed_per_batch"] == {first.json()["batchId"]: 1}


def test_same_key_other_body_is_refused(client, emu, record, schema):
    post(client, [record(1)], key="batch-1").raise_for_status()

    response = post(client, [record(2)], key="batch-1")

    assert response.status_code == 400
    schema("ErrorResponse", response.json())
    assert response.json()["error"] == "idempotency_key_reused"
    assert "different body" in response.json()["message"]
    assert [r["_vendor_ids"]["message_id"] for r in emu.records()] == ["msg-000001"]


def test_a_key_is_compared_on_the_exact_bytes(client, emu, record):
    records = [record(1)]
    post(client, records, key="k").raise_for_status()

    # Same records, one more trailing newline: other bytes, so another body.
    body = b"\n".join(orjson.dumps(r) for r in records) + b"\n"
    response = client.post(
        INGEST,
        content=body,
        headers={"content-type": "application/x-ndjson", "idempotency-key": "k"},
    )

    assert response.status_code == 400


def test_a_key_over_256_characters_is_refused(client, emu, record):
    ok = post(client, [record(1)], key="k" * 256)
    too_long = post(client, [record(2)], key="k" * 257)

    assert ok.status_code == 202
    assert too_long.status_code == 400
    assert too_long.json()["error"] == "invalid_idempotency_key"
    assert emu.stats()["identities"] == 1


def test_a_refused_body_does_not_claim_its_key(client, emu, record):
    bad = post(client, [record(1), record(2, _type="call")], key="k")
    good = post(client, [record(1), record(2)], key="k")

    assert bad.status_code == 400
    assert good.status_code == 202


def test_without_a_key_a_resend_is_processed_again_and_counted(client, emu, record):
    records = [record(1), record(2)]

    post(client, records).raise_for_status()
    post(client, records).raise_for_status()

    stats = emu.stats()
    assert stats["batches"] == 2
    assert stats["identities"] == 2
    assert stats["records_processed"] == 4
    assert stats["reprocessed_bodies"] == 1


def test_concurrent_retries_of_one_request_store_it_once(emu, record):
    records = [record(n) for n in range(200)]
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(8)

    def retry() -> None:
        with httpx.Client(
            base_url=emu.url, headers={"x-api-key": DEFAULT_WRITE_KEY}
        ) as http:
            barrier.wait()
            answers.append(post(http, records, key="same"))

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {answer.status_code for answer in answers} == {202}
    assert len({answer.json()["batchId"] for answer in answers}) == 1
    stats = emu.stats()
    assert stats["batches"] == 1
    assert stats["records_processed"] == 200
    assert stats["idempotent_replays"] == 7


def test_a_resent_identity_overwrites(client, emu, record):
    post(client, [record(1, data={"version": 1})]).raise_for_status()

    # The same identity, its _event_at given with milliseconds this time.
    grown = record(1, _event_at="2026-02-24T12:34:56.900Z", data={"version": 2})
    post(client, [grown]).raise_for_status()

    (stored,) = emu.records()
    assert stored["data"] == {"version": 2}
    assert emu.stats()["identities"] == 1
    assert emu.stats()["records_processed"] == 2


def test_identity_is_type_vendor_ids_and_the_second(client, emu, record):
    post(
        client,
        [
            record(1),
            record(1, _event_at="2026-02-24T12:34:57Z"),
            record(1, _vendor_ids={"message_id": "msg-000001", "thread": "t"}),
        ],
    ).raise_for_status()
    post(client, [record(1, _type="message")]).raise_for_status()

    assert emu.stats()["identities"] == 4


def test_vendor_id_order_does_not_change_identity(client, emu, record):
    post(client, [record(1, _vendor_ids={"a": "1", "b": "2"})]).raise_for_status()
    post(client, [record(1, _vendor_ids={"b": "2", "a": "1"})]).raise_for_status()

    assert emu.stats()["identities"] == 1
