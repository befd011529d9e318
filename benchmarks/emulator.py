"""How fast the emulator validates and stores records: prints numbers, asserts none.

    uv run python benchmarks/emulator.py [--records 20000] [--batch 1000]

Three runs against a fresh emulator each (SQLite file in a temporary folder):
sequential posts, two posting threads, and sequential posts under 30 % 500s plus
20 % dropped-after-store answers, retried with the same key until accepted. Bodies
are built before the clock starts, so the figures are the emulator's (and the HTTP
round trip's), not the benchmark's JSON encoding.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson

from evermuse_connectors.emulator import (
    DEFAULT_WRITE_KEY,
    Emulator,
    EmulatorConfig,
    Faults,
)


def record(n: int) -> dict[str, object]:
    return {
        "_type": "conversation",
        "_schema_version": "1.0.0",
        "_event_at": "2026-03-09T10:15:00Z",
        "_nature": "evidence",
        "_vendor_ids": {"channel_id": "C0123", "thread_ts": f"1741515300.{n:06d}"},
        "_product_id": "prod-bench",
        "_project_ids": ["proj-bench"],
        "_thread_id": f"C0123:{n}",
        "_participants": [
            {"id": "U1", "name": "Ana Lima", "role": "internal", "type": "user"},
            {"id": "U2", "name": "Bo Chen", "role": "external", "type": "contact"},
        ],
        "_tags": ["slack", "bench"],
        "data": {
            "messages": [
                {"user": "U1", "text": "Could you try the export again? " * 6},
                {"user": "U2", "text": "Still fails with a timeout on big files. " * 6},
            ]
        },
    }


def bodies(total: int, size: int) -> list[bytes]:
    return [
        b"\n".join(
            orjson.dumps(record(n)) for n in range(start, min(total, start + size))
        )
        for start in range(0, total, size)
    ]


def post_all(url: str, batches: list[tuple[int, bytes]], retries: list[int]) -> None:
    headers = {"x-api-key": DEFAULT_WRITE_KEY, "content-type": "application/x-ndjson"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for number, body in batches:
            for attempt in range(1000):
                try:
                    response = client.post(
                        "/api/v1/ingest",
                        content=body,
                        headers={"idempotency-key": f"bench-{number}"},
                    )
                except httpx.RemoteProtocolError:
                    continue
                if response.status_code == 202:
                    retries.append(attempt)
                    break


def run(name: str, total: int, size: int, threads: int, faults: Faults) -> None:
    prepared = list(enumerate(bodies(total, size)))
    megabytes = sum(len(body) for _, body in prepared) / 1e6
    with tempfile.TemporaryDirectory() as folder:
        config = EmulatorConfig(db_path=str(Path(folder) / "bench.sqlite3"), port=0)
        with Emulator(config) as emulator:
            emulator.set_faults(faults)
            retries: list[int] = []
            shares = [prepared[i::threads] for i in range(threads)]
            workers = [
                threading.Thread(target=post_all, args=(emulator.url, s, retries))
                for s in shares
            ]
            started = time.perf_counter()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            elapsed = time.perf_counter() - started
            stats = emulator.stats()
    rate, speed = total / elapsed, megabytes / elapsed
    print(
        f"{name:<32} {rate:>7,.0f} records/s {speed:>5.1f} MB/s"
        f"  identities={stats['identities']} processed={stats['records_processed']}"
        f" requests={stats['ingest_requests']} retries={sum(retries)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    size = len(orjson.dumps(record(0)))
    print(f"{args.records} records of {size} bytes, {args.batch} per request")
    run("warm-up (first use of the models)", 2 * args.batch, args.batch, 1, Faults())
    run("sequential", args.records, args.batch, 1, Faults())
    run("two client threads", args.records, args.batch, 2, Faults())
    faults = Faults(error_500_ratio=0.3, drop_after_store_ratio=0.2, seed=1)
    run("30% 500s + 20% drops, retried", args.records, args.batch, 1, faults)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process (client and emulator): {peak:.0f} MB")


if __name__ == "__main__":
    main()
