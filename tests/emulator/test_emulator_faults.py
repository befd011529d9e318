"""Misbehaviour on demand: 429, 500, and the dropped answer after storing."""

from __future__ import annotations

import httpx
import orjson
import pytest

from evermuse_connectors.emulator import Faults

INGEST = "/api/v1/ingest"


def post(client, records, key):
    body = b"\n".join(orjson.dumps(r) for r in records)
    headers = {"content-type": "application/x-ndjson", "idempotency-key": key}
    return client.post(INGEST, content=body, headers=headers)


def test_every_nth_request_is_rate_limited(client, emu, record, schema):
    emu.set_faults(Faults(rate_limit_every=3, retry_after=0.05))

    codes = [post(client, [record(n)], key=f"k{n}").status_code for n in range(6)]
    limited = post(client, [record(9)], key="k9")

    assert codes == [202, 202, 429, 202, 202, 429]
    assert limited.status_code == 202
    stats = emu.stats()
    assert stats["rate_limited"] == 2
    assert stats["identities"] == 5


def test_a_429_says_how_long_to_wait_in_body_and_header(client, emu, record, schema):
    emu.set_faults(Faults(rate_limit_every=1, retry_after=0.05))

    response = post(client, [record(1)], key="k")

    assert response.status_code == 429
    schema("ErrorResponse", response.json())
    assert response.json()["error"] == "rate_limited"
    assert response.json()["retryAfter"] == 0.05
    assert response.headers["retry-after"] == "1"  # whole seconds, rounded up


def test_a_500_stores_nothing(client, emu, record, schema):
    emu.set_faults(Faults(error_500_ratio=1.0))

    response = post(client, [record(1)], key="k")

    assert response.status_code == 500
    schema("ErrorResponse", response.json())
    stats = emu.stats()
    assert (stats["errors_500"], stats["identities"], stats["batches"]) == (1, 0, 0)


def test_a_dropped_answer_was_still_stored_and_its_retry_replays(client, emu, record):
    emu.set_faults(Faults(drop_after_store_ratio=1.0))

    with pytest.raises(httpx.RemoteProtocolError):
        post(client, [record(1)], key="k")
    emu.set_faults(Faults())
    retry = post(client, [record(1)], key="k")

    assert retry.status_code == 202
    stats = emu.stats()
    assert stats["dropped"] == 1
    assert stats["identities"] == 1
    assert stats["records_processed"] == 1
    assert stats["idempotent_replays"] == 1
    assert retry.json()["batchId"] == emu.batches()[0]["batchId"]


def test_faults_are_drawn_per_request_so_retries_get_through(client, emu, record):
    emu.set_faults(Faults(error_500_ratio=0.5, seed=7))

    codes = [
        post(client, [record(1)], key="the-same-key").status_code for _ in range(30)
    ]

    # One key meets both answers: the decision is not tied to the key.
    assert set(codes) == {202, 500}
    assert emu.stats()["batches"] == 1
    assert emu.stats()["idempotent_replays"] == codes.count(202) - 1


def test_a_seed_gives_the_same_decisions(start_emulator, tmp_path, record):
    def codes(name):
        emu = start_emulator(db_path=str(tmp_path / name))
        emu.set_faults(Faults(error_500_ratio=0.5, seed=42))
        with httpx.Client(base_url=emu.url, headers=_key()) as c:
            return [post(c, [record(n)], key=f"k{n}").status_code for n in range(20)]

    first, second = codes("a.sqlite3"), codes("b.sqlite3")

    assert first == second
    assert set(first) == {202, 500}


def test_many_retried_batches_under_faults_are_each_processed_once(client, emu, record):
    emu.set_faults(
        Faults(
            error_500_ratio=0.3,
            drop_after_store_ratio=0.2,
            rate_limit_every=7,
            retry_after=0,
            seed=3,
        )
    )
    outcomes = {"dropped": 0, "500": 0, "429": 0}

    for batch in range(25):
        records = [record(batch * 200 + n) for n in range(200)]
        for _attempt in range(100):
            try:
                response = post(client, records, key=f"batch-{batch}")
            except httpx.RemoteProtocolError:
                outcomes["dropped"] += 1
                continue
            if response.status_code == 202:
                break
            outcomes[str(response.status_code)] += 1

    stats = emu.stats()
    assert stats["identities"] == 5000
    assert stats["records_processed"] == 5000
    assert set(stats["processed_per_batch"].values()) == {1}
    assert stats["batches"] == 25
    assert stats["dropped"] == outcomes["dropped"] > 0
    assert stats["errors_500"] == outcomes["500"] > 0
    assert stats["rate_limited"] == outcomes["429"] > 0


def test_faults_can_be_set_and_read_over_http(emu, record):
    with httpx.Client(base_url=emu.url) as c:
        set_ = c.post("/_emulator/faults", json={"error_500_ratio": 1, "seed": 1})
        read = c.get("/_emulator/faults")
        refused = c.post("/_emulator/faults", json={"eror_500_ratio": 1})
        out_of_range = c.post("/_emulator/faults", json={"error_500_ratio": 2})

    assert set_.status_code == 200
    assert read.json()["error_500_ratio"] == 1.0
    assert emu.faults == Faults(error_500_ratio=1.0, seed=1)
    assert refused.status_code == out_of_range.status_code == 400
    assert "eror_500_ratio" in refused.json()["message"]
    assert "error_500_ratio" in out_of_range.json()["message"]


def test_a_float_retry_after_is_accepted_over_http(emu):
    with httpx.Client(base_url=emu.url) as c:
        c.post("/_emulator/faults", json={"rate_limit_every": 1, "retry_after": 2.5})

    assert emu.faults.retry_after == 2.5


def _key():
    from evermuse_connectors.emulator import DEFAULT_WRITE_KEY

    return {"x-api-key": DEFAULT_WRITE_KEY}
