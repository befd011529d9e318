"""Delivery throughput and memory: the ingest client against a bare baseline.

    uv run python benchmarks/ingest.py [--records 200000]

Generates records of realistic size (about 2 KB, nested participants) and sends them
to a minimal local sink that answers 202. Two runs, each in its own process so that
peak RSS is measured separately:

- client: records already built as models, through EvermuseClient.send (canonical
  encoding, external sort, deterministic batches, keys, up to 4 requests in flight);
- baseline: the same records as plain dicts, stdlib json.dumps of 1,000-record chunks
  posted one by one with plain httpx.

The sink runs in a third process, so each sender's peak RSS is its own.

Prints records/s, MB/s, the time ratio and peak RSS of each. The records are
generated lazily in both runs, so RSS shows what the sender holds, not the input.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

WORDS = [
    "export",
    "billing",
    "invoice",
    "dashboard",
    "latency",
    "search",
    "onboarding",
    "permissions",
    "sso",
    "calendar",
    "reminder",
    "mobile",
    "android",
    "ios",
    "crash",
    "slow",
    "feature",
    "request",
    "love",
    "hate",
    "pricing",
    "renewal",
    "seat",
    "upgrade",
    "downgrade",
    "trial",
    "integration",
    "webhook",
    "api",
]


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        del format, args

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        remaining = length
        lines = 0
        while remaining:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            remaining -= len(chunk)
            lines += chunk.count(b"\n")
        body = (
            b'{"batchId":"b","acceptedCount":%d,"rejectedCount":0,"totalErrorCount":0}'
        )
        count = int(self.headers.get("x-count", lines))
        payload = body % count
        self.send_response(202)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def start_sink() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def record_dict(n: int) -> dict[str, Any]:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n * 7)
    words = [WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(40)]
    return {
        "_type": "conversation",
        "_schema_version": "1.0.0",
        "_event_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "_vendor_ids": {
            "team_id": "T0001",
            "channel_id": f"C{n % 97:05d}",
            "ts": f"{n}.0001",
        },
        "_product_id": "prod-bench",
        "_project_ids": ["proj-bench"],
        "_nature": "evidence",
        "_thread_id": f"C{n % 97:05d}-{n}",
        "_participants": [
            {
                "id": f"U{(n + i) % 5000:05d}",
                "name": f"Person {(n + i) % 5000}",
                "email": f"person{(n + i) % 5000}@customer.example",
                "role": "external" if i % 2 else "internal",
                "type": "user",
            }
            for i in range(4)
        ],
        "_tags": ["slack", "benchmark"],
        "data": {
            "channel": {"id": f"C{n % 97:05d}", "name": f"support-{n % 97}"},
            "messages": [
                {
                    "author": f"U{(n + i) % 5000:05d}",
                    "ts": f"{n}.{i:04d}",
                    "text": " ".join(words[i * 5 : i * 5 + 25]) * 2,
                }
                for i in range(5)
            ],
        },
    }


POOL = 1000


def _ids(i: int) -> tuple[dict[str, str], str]:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i * 7)
    ids = {"team_id": "T0001", "channel_id": f"C{i % 97:05d}", "ts": f"{i}.0001"}
    return ids, start.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_client(n: int, url: str) -> dict[str, float]:
    from evermuse_connectors.envelope import Record, parse_event_at
    from evermuse_connectors.ingest import EvermuseClient, IngestSettings

    # The records stand for models a connector has already built and validated: a
    # pool of validated templates, each streamed record a copy with its own identity.
    templates = [Record.from_json(record_dict(i)) for i in range(POOL)]

    def stream() -> Iterator[Record]:
        for i in range(n):
            ids, at = _ids(i)
            yield templates[i % POOL].model_copy(
                update={"vendor_ids": ids, "event_at": parse_event_at(at)}
            )

    settings = IngestSettings(api_key=SecretStr("em_sk_bench"), base_url=url)
    started = time.perf_counter()
    with EvermuseClient(settings) as client:
        summary = client.send(stream())
    seconds = time.perf_counter() - started
    assert summary.accepted == n, summary.to_json()
    sent = sum(b.bytes for b in summary.batches)
    return {"seconds": seconds, "bytes": sent, "batches": len(summary.batches)}


def run_baseline(n: int, url: str) -> dict[str, float]:
    templates = [record_dict(i) for i in range(POOL)]
    started = time.perf_counter()
    sent = 0
    batches = 0
    with httpx.Client(base_url=url) as client:
        chunk: list[dict[str, Any]] = []
        for i in range(n + 1):
            if i < n:
                ids, at = _ids(i)
                chunk.append(
                    {**templates[i % POOL], "_vendor_ids": ids, "_event_at": at}
                )
            if len(chunk) == 1000 or (i == n and chunk):
                body = json.dumps(chunk).encode()
                response = client.post(
                    "/api/v1/ingest",
                    content=body,
                    headers={
                        "content-type": "application/json",
                        "x-api-key": "k",
                        "x-count": str(len(chunk)),
                    },
                )
                assert response.status_code == 202
                sent += len(body)
                batches += 1
                chunk = []
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "bytes": sent, "batches": batches}


def _serve_sink(queue: Any) -> None:
    _server, url = start_sink()
    queue.put(url)
    threading.Event().wait()  # until the parent terminates this process


def peak_rss_mb() -> float:
    # VmHWM is this process's own high-water mark; ru_maxrss can carry the size of
    # the process that exec'd it.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker(kind: str, n: int, url: str, queue: Any) -> None:
    result = (run_client if kind == "client" else run_baseline)(n, url)
    result["peak_rss_mb"] = peak_rss_mb()
    queue.put(result)


def measure(kind: str, n: int) -> dict[str, float]:
    """One run in a fresh process, the sink in another, so RSS is the sender's own."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    sink = context.Process(target=_serve_sink, args=(queue,), daemon=True)
    sink.start()
    url = queue.get()
    try:
        process = context.Process(target=_worker, args=(kind, n, url, queue))
        process.start()
        result: dict[str, float] = queue.get()
        process.join()
    finally:
        sink.terminate()
        sink.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    n = args.records
    size = len(json.dumps(record_dict(1)))
    print(f"{n:,} records of about {size:,} bytes each")
    results = {kind: measure(kind, n) for kind in ("baseline", "client")}
    for kind, r in results.items():
        print(
            f"{kind:>9}: {n / r['seconds']:>9,.0f} records/s "
            f"{r['bytes'] / r['seconds'] / 1e6:>6.1f} MB/s  "
            f"{r['batches']:>4.0f} batches  {r['seconds']:6.2f} s  "
            f"peak RSS {r['peak_rss_mb']:.0f} MB"
        )
    ratio = results["client"]["seconds"] / results["baseline"]["seconds"]
    print(f"client time / baseline time: {ratio:.2f} (target ≤ 1.25)")


if __name__ == "__main__":
    main()
