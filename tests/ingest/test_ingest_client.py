"""The ingest client against the emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

from evermuse_connectors.emulator import DEFAULT_READ_KEY, DEFAULT_WRITE_KEY, Faults
from evermuse_connectors.envelope import Nature, Participant, Record, RecordType, Role
from evermuse_connectors.errors import (
    AuthError,
    BadRequestError,
    ConfigError,
    GaveUpError,
    PermissionDeniedError,
)
from evermuse_connectors.ingest import (
    DeliveryPolicy,
    EvermuseClient,
    IngestSettings,
)

BASE = datetime(2026, 2, 1, tzinfo=UTC)
FAST = DeliveryPolicy(backoff_base=0.01, backoff_cap=0.05, max_attempts=30)


def make_record(n: int, *, record_type: RecordType = RecordType.CONVERSATION) -> Record:
    return Record(
        type=record_type,
        event_at=BASE + timedelta(seconds=n),
        vendor_ids={"conversation_id": f"c-{n}"},
        product_id="prod-test",
        project_ids=["proj-test"],
        nature=Nature.EVIDENCE,
        data={
            "messages": [{"sender": "customer", "text": f"message number {n} " * 20}]
        },
        participants=[Participant(id=f"u{n}@customer.example", role=Role.EXTERNAL)],
    )


def client_for(
    emulator: Any, key: str = DEFAULT_WRITE_KEY, **policy: Any
) -> EvermuseClient:
    settings = IngestSettings(api_key=SecretStr(key), base_url=emulator.url)
    fields = {**FAST.__dict__, **policy}
    return EvermuseClient(settings, policy=DeliveryPolicy(**fields), seed=1)


def test_records_land_and_every_one_is_counted(emulator: Any) -> None:
    records = [make_record(n) for n in range(2500)]
    with client_for(emulator) as client:
        summary = client.send(records)
    assert summary.balanced()
    assert (summary.sent, summary.accepted, summary.rejected) == (2500, 2500, 0)
    assert [b.records for b in summary.batches] == [1000, 1000, 500]
    assert emulator.stats()["identities"] == 2500


def test_the_same_input_gives_the_same_keys_and_is_not_processed_again(
    emulator: Any,
) -> None:
    records = [make_record(n) for n in range(1200)]
    with client_for(emulator) as client:
        first = client.send(records)
        # Shuffled input: the batches are cut from sorted records all the same.
        second = client.send(list(reversed(records)))
    assert [b.key for b in first.batches] == [b.key for b in second.batches]
    assert [b.batch_id for b in first.batches] == [b.batch_id for b in second.batches]
    stats = emulator.stats()
    assert stats["idempotent_replays"] == len(first.batches)
    assert set(stats["processed_per_batch"].values()) == {1}


def test_keys_are_readable_and_short_enough(emulator: Any) -> None:
    with client_for(emulator) as client:
        summary = client.send([make_record(1)])
    [batch] = summary.batches
    assert batch.key.startswith("emc1-conversation-1-")
    assert len(batch.key) <= 256


def test_batches_group_by_type_and_product(emulator: Any) -> None:
    calls = [make_record(n, record_type=RecordType.CALL) for n in range(3)]
    other_product = [
        make_record(n).model_copy(update={"product_id": "prod-other"}) for n in range(2)
    ]
    with client_for(emulator) as client:
        summary = client.send([make_record(9), *calls, *other_product])
    groups = sorted((b.record_type, b.product_id, b.records) for b in summary.batches)
    assert groups == [
        ("call", "prod-test", 3),
        ("conversation", "prod-other", 2),
        ("conversation", "prod-test", 1),
    ]


def test_byte_limit_cuts_batches(emulator: Any) -> None:
    records = [make_record(n) for n in range(300)]
    size = len(records[0].to_bytes()) + 1
    with client_for(emulator, max_bytes=size * 40) as client:
        summary = client.send(records)
    assert all(b.bytes <= size * 40 + 40 for b in summary.batches)
    assert summary.sent == 300
    assert len(summary.batches) >= 300 // 41


def test_rate_limit_is_waited_out(emulator: Any) -> None:
    emulator.set_faults(Faults(rate_limit_every=2, retry_after=0.05, seed=3))
    with client_for(emulator, max_records=100, max_in_flight=1) as client:
        summary = client.send([make_record(n) for n in range(500)])
    assert summary.accepted == 500
    assert emulator.stats()["rate_limited"] >= 4
    assert sum(b.attempts for b in summary.batches) > len(summary.batches)


def test_server_errors_and_dropped_connections_are_retried_without_duplicates(
    emulator: Any,
) -> None:
    emulator.set_faults(
        Faults(error_500_ratio=0.3, drop_after_store_ratio=0.2, seed=11)
    )
    with client_for(emulator, max_records=250) as client:
        summary = client.send(make_record(n) for n in range(20_000))
    assert summary.balanced()
    assert summary.accepted == 20_000
    stats = emulator.stats()
    assert stats["identities"] == 20_000
    assert stats["dropped"] > 0
    assert stats["errors_500"] > 0
    assert set(stats["processed_per_batch"].values()) == {1}
    assert stats["batches"] == len(summary.batches) == 80


def test_rejections_come_back_with_identity_and_reason(emulator: Any) -> None:
    good = [make_record(n).to_json() for n in range(5)]
    bad = dict(good[2], _participants=[{"id": "x", "role": "boss"}])
    with client_for(emulator) as client:
        summary = client.send([good[0], good[1], bad, good[3], good[4]])
    # The client validates dicts itself: the bad one never leaves the machine.
    assert summary.refused == 1
    assert summary.accepted == 4
    [refused] = summary.local_rejections
    assert "c-2" in (refused.identity or "")
    assert "_participants" in refused.message
    assert summary.balanced()


def test_server_side_rejections_map_index_to_identity(emulator: Any) -> None:
    # A record that is valid to the models but that this emulator refuses: the
    # emulator's validation is the same models, so send raw bytes that differ
    # only in what the server checks (a batch of one bad email address sneaked in
    # by building the batch by hand).
    from evermuse_connectors.ingest import Batch

    lines = [make_record(n).to_bytes() for n in range(3)]
    lines[1] = lines[1].replace(b'"role":"external"', b'"role":"outsider"')
    identities = [str(n) for n in range(3)]
    batch = Batch(
        "conversation", "prod-test", lines, identities, sum(len(x) + 1 for x in lines)
    )
    with client_for(emulator) as client:
        [result] = client.post_batch(batch)
    assert (result.accepted, result.rejected) == (2, 1)
    [rejection] = result.rejections
    assert rejection.index == 1
    assert rejection.identity == "1"
    assert rejection.code == "VALIDATION_ERROR"
    assert "role" in rejection.message


def test_wrong_key_is_an_auth_error_that_says_what_to_do(emulator: Any) -> None:
    with (
        client_for(emulator, key="em_sk_wrong") as client,
        pytest.raises(AuthError) as caught,
    ):
        client.send([make_record(1)])
    assert "EVERMUSE_API_KEY" in str(caught.value)
    assert "em_sk_wrong" not in str(caught.value)
    assert emulator.stats()["ingest_requests"] == 1  # not retried


def test_read_only_key_is_a_permission_error(emulator: Any) -> None:
    with (
        client_for(emulator, key=DEFAULT_READ_KEY) as client,
        pytest.raises(PermissionDeniedError) as caught,
    ):
        client.send([make_record(1)])
    assert "api:write" in str(caught.value)


def test_bad_request_is_not_retried(emulator: Any) -> None:
    from evermuse_connectors.ingest import Batch

    line = make_record(1).to_bytes()
    other = make_record(2).model_copy(update={"product_id": "prod-x"}).to_bytes()
    batch = Batch("conversation", "prod-test", [line, other], ["a", "b"], 10)
    with client_for(emulator) as client, pytest.raises(BadRequestError):
        client.post_batch(batch)
    assert emulator.stats()["ingest_requests"] == 1


def test_the_api_key_never_reaches_logs(
    emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.set_faults(
        Faults(error_500_ratio=0.5, rate_limit_every=3, retry_after=0.01, seed=5)
    )
    canary = DEFAULT_WRITE_KEY
    with caplog.at_level(logging.DEBUG), client_for(emulator, max_records=50) as client:
        client.send([make_record(n) for n in range(400)])
        assert canary not in repr(client)
        assert canary not in repr(client.settings)
    assert caplog.records, "the client should have logged its batches and retries"
    assert canary not in caplog.text


def test_batch_status_and_listing(emulator: Any) -> None:
    with client_for(emulator, max_records=10) as client:
        summary = client.send([make_record(n) for n in range(45)])
        ids = [b.batch_id for b in summary.batches]
        done = client.wait_until_done(ids, timeout=10, poll=0.02)
        listed = [b["batchId"] for b in client.iter_batches(page_size=2)]
    assert {s["status"] for s in done.values()} == {"COMPLETE"}
    assert sorted(listed) == sorted(ids)
    assert len(listed) == 5


def test_plain_http_is_refused_except_to_loopback() -> None:
    with pytest.raises(ConfigError) as caught:
        IngestSettings(api_key=SecretStr("k"), base_url="http://api.evermuse.com")
    assert "https" in str(caught.value)
    assert IngestSettings(
        api_key=SecretStr("k"), base_url="http://127.0.0.1:1/"
    ).base_url == ("http://127.0.0.1:1")


def test_missing_key_in_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        IngestSettings.from_env({})
    assert "EVERMUSE_API_KEY" in str(caught.value)


class _Sink(BaseHTTPRequestHandler):
    """Answers 413 to bodies over a limit and 202 otherwise (counts records)."""

    limit = 0
    sizes: ClassVar[list[int]] = []

    def log_message(self, format: str, *args: Any) -> None:
        del format, args

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        body = self.rfile.read(length)
        count = body.count(b"\n")
        type(self).sizes.append(count)
        if length > self.limit:
            self.send_response(413)
            payload = b'{"error":"payload_too_large","message":"over the limit"}'
        else:
            self.send_response(202)
            payload = (
                b'{"batchId":"b-%d","acceptedCount":%d,"rejectedCount":0,'
                b'"totalErrorCount":0,"errors":[]}' % (len(type(self).sizes), count)
            )
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def small_sink() -> Iterator[str]:
    _Sink.sizes = []
    _Sink.limit = 6000
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_413_splits_the_batch_until_it_fits(small_sink: str) -> None:
    settings = IngestSettings(api_key=SecretStr("k"), base_url=small_sink)
    with EvermuseClient(settings, policy=FAST) as client:
        summary = client.send([make_record(n) for n in range(16)])
    assert summary.accepted == 16
    assert _Sink.sizes[0] == 16
    assert all(b.bytes <= 6000 for b in summary.batches)
    assert len(summary.batches) > 1


def test_unreachable_server_gives_up_within_the_time_limit() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = IngestSettings(
        api_key=SecretStr("k"), base_url=f"http://127.0.0.1:{port}"
    )
    policy = DeliveryPolicy(backoff_base=0.01, backoff_cap=0.02, max_attempts=4)
    with (
        EvermuseClient(settings, policy=policy) as client,
        pytest.raises(GaveUpError) as caught,
    ):
        client.send([make_record(1)])
    assert "4 attempt" in str(caught.value)
    assert caught.value.summary.received == 1  # type: ignore[attr-defined]
