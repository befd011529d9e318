"""The /_emulator endpoints, the Python read-back API, start/stop and secrecy."""

from __future__ import annotations

import logging

import httpx
import pytest

from evermuse_connectors.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorError,
    EmulatorTimeout,
    Faults,
)

INGEST = "/api/v1/ingest"


def test_records_can_be_read_back_by_type(client, emu, record):
    client.post(INGEST, json=[record(1), record(2)]).raise_for_status()
    client.post(INGEST, json=[record(3, _type="message")]).raise_for_status()

    every = httpx.get(emu.url + "/_emulator/records").json()
    messages = httpx.get(emu.url + "/_emulator/records?type=message").json()

    assert every["count"] == 3
    assert [r["_vendor_ids"]["message_id"] for r in messages["records"]] == [
        "msg-000003"
    ]
    assert messages["records"] == emu.records(type="message")


def test_stats_over_http_match_the_python_api(client, emu, record):
    client.post(INGEST, json=[record(1)]).raise_for_status()
    client.post(INGEST, json=[record(1)], headers={"x-api-key": "wrong"})

    stats = httpx.get(emu.url + "/_emulator/stats").json()

    assert stats == emu.stats()
    assert stats["ingest_requests"] == 2
    assert stats["identities"] == stats["records_processed"] == stats["batches"] == 1
    for name in ("idempotent_replays", "dropped", "errors_500", "rate_limited"):
        assert stats[name] == 0


def test_batches_and_downloads_over_http(client, emu, record):
    client.post(INGEST, json=[record(1)]).raise_for_status()
    emu.wait_idle(10)

    batches = httpx.get(emu.url + "/_emulator/batches").json()["batches"]
    downloads = httpx.get(emu.url + "/_emulator/downloads").json()["downloads"]

    assert batches == emu.batches()
    assert downloads == []


def test_reset_forgets_everything(client, emu, record):
    emu.set_faults(Faults(rate_limit_every=2))
    client.post(INGEST, json=[record(1)]).raise_for_status()

    answer = httpx.post(emu.url + "/_emulator/reset")
    after = client.post(INGEST, json=[record(2)])

    assert answer.status_code == 200
    # The fault sequence starts over: the first request after a reset is #1.
    assert after.status_code == 202
    assert emu.stats()["identities"] == 1
    assert emu.stats()["ingest_requests"] == 1


def test_an_unknown_emulator_endpoint_is_404(emu):
    assert httpx.get(emu.url + "/_emulator/everything").status_code == 404
    assert httpx.post(emu.url + "/_emulator/stats").status_code == 404


def test_wait_idle_times_out_with_a_clear_error(start_emulator, record):
    emu = start_emulator(step_seconds=60)
    with httpx.Client(base_url=emu.url, headers={"x-api-key": _write_key()}) as c:
        c.post(INGEST, json=[record(1)]).raise_for_status()

    with pytest.raises(EmulatorTimeout, match="1 batches or downloads"):
        emu.wait_idle(0.05)


def test_the_python_api_needs_a_started_emulator(tmp_path):
    emulator = Emulator(EmulatorConfig(db_path=str(tmp_path / "x.sqlite3"), port=0))

    with pytest.raises(EmulatorError, match="start"):
        emulator.stats()
    with emulator:
        with pytest.raises(EmulatorError, match="already running"):
            emulator.start()
        assert emulator.url.startswith("http://127.0.0.1:")
    with pytest.raises(EmulatorError):
        emulator.url  # noqa: B018


def test_config_refuses_typos_and_confused_keys():
    with pytest.raises(ValueError, match="step_secnds"):
        EmulatorConfig(step_secnds=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="both"):
        EmulatorConfig(write_keys=("k",), read_keys=("k",))
    with pytest.raises(ValueError, match="write_keys is empty"):
        EmulatorConfig(write_keys=())


def test_keys_stay_out_of_reprs_and_logs(start_emulator, record, caplog):
    canary = "em_sk_canary_3f9a1c"
    caplog.set_level(logging.DEBUG)
    emu = start_emulator(write_keys=(canary,))
    with httpx.Client(base_url=emu.url, headers={"x-api-key": canary}) as c:
        c.post(INGEST, json=[record(1)]).raise_for_status()
        c.post(INGEST, json=[record(1)], headers={"x-api-key": canary + "x"})
    emu.wait_idle(10)

    assert canary not in repr(emu.config)
    assert canary not in repr(emu)
    assert canary not in caplog.text
    assert "batch bat_" in caplog.text  # the log did say something


def test_an_ipv6_loopback_emulator_answers(start_emulator, record):
    try:
        emu = start_emulator(host="::1")
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback on this machine: {exc}")
    with httpx.Client(base_url=emu.url, headers={"x-api-key": _write_key()}) as c:
        response = c.post(INGEST, json=[record(1)])

    assert emu.url.startswith("http://[::1]:")
    assert response.status_code == 202


def _write_key():
    from evermuse_connectors.emulator import DEFAULT_WRITE_KEY

    return DEFAULT_WRITE_KEY
