"""Gmail connector benchmark: round trips and quota per thread, normalise speed.

Runs one daily window of two mailboxes against the fake Gmail (real HTTP on
127.0.0.1, the real google-api-python-client) and prints:

- HTTP round trips against the minimum, which is, per mailbox, one threads.list
  page per 500 threads plus one batch per 50 threads (OAuth token requests are
  shown apart: one per mailbox per hour of token lifetime);
- quota units per synced thread against the minimum (10 per list page, 10 per
  thread), and the highest spend the fake saw in any quota period against the
  budget (it refuses calls over it, so "refused" must be 0);
- the same window again with its raw items stored (a refresh with nothing new);
- threads per second through extract and through normalise.

With ``--attachments`` it measures attachment staging instead:

- the same window with a local attachment store: files staged, the extra round
  trips and quota units per downloaded attachment, files staged per second, and
  the re-run (which must download nothing);
- one large attachment of 1, 10 and 25 MB, fetched by the stream path and by the
  batch path (which parses the whole JSON answer), each in a fresh process with
  the fake Gmail in another one: MB/s and the peak RSS added.

    uv run python benchmarks/gmail.py [--conversations-per-day 300] [--quota 60000]
    uv run python benchmarks/gmail.py --attachments
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from evermuse_gmail import GmailConnector
from evermuse_gmail._extract import window_query
from evermuse_gmail.fake import FakeGmail
from evermuse_gmail.fake._query import compile_query

from evermuse_connectors.attachments import (
    AttachmentPolicy,
    LocalAttachmentStore,
    LocalStoreConfig,
)
from evermuse_connectors.connector import ExtractContext, NormaliseContext, Routing
from evermuse_connectors.store import Store
from evermuse_connectors.testing import day_window

LIST_PAGE = 500
BATCH = 50


def listed_by_mailbox(
    fake: FakeGmail, query: str, mailboxes: list[str]
) -> dict[str, int]:
    """Threads each mailbox holds for the window, as threads.list will count them."""
    predicate = compile_query(query)
    counts = {}
    for address in mailboxes:
        mailbox = fake.mailboxes[address]
        counts[address] = sum(
            1
            for messages in mailbox.threads.values()
            if any(
                predicate(m) and not {"SPAM", "TRASH"} & set(m.labels) for m in messages
            )
        )
    return counts


def extract(
    connector: GmailConnector,
    config: Any,
    fake: Any,
    store: Store,
    keep: bool,
    files: LocalAttachmentStore | None = None,
    source: str = "bench",
) -> tuple[list[Any], ExtractContext, float]:
    window = day_window(fake.now - timedelta(days=1))
    ctx = ExtractContext(
        source=source,
        window=window,
        store=store,
        environ=fake.environ,
        attachments=files,
        attachment_policy=AttachmentPolicy(max_bytes=40 * 1024 * 1024),
    )
    started = time.perf_counter()
    try:
        items = list(connector.extract(config, ctx))
    finally:
        ctx.close()
    elapsed = time.perf_counter() - started
    if keep:
        store.write(source, "raw", window.key, (i.to_json() for i in items))
    return items, ctx, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--conversations-per-day", type=int, default=300)
    parser.add_argument(
        "--quota", type=int, default=60_000, help="units per minute per user"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--attachments", action="store_true")
    parser.add_argument("--serve-large", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fetch-large", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_large is not None:
        return serve_large(args.serve_large)
    if args.fetch_large is not None:
        return fetch_large(*args.fetch_large)
    if args.attachments:
        staging_window(args)
        return large_files()

    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    connector = GmailConnector()
    started = time.perf_counter()
    fake = FakeGmail(
        seed=args.seed,
        now=now,
        days=1,
        conversations_per_day=args.conversations_per_day,
        quota_units=args.quota,
    ).start()
    print(f"fake started in {time.perf_counter() - started:.2f}s")
    try:
        config = connector.parse_config(
            {**fake.settings, "quota": {"units": args.quota}}
        )
        window = day_window(now - timedelta(days=1))
        mailboxes = list(config.mailboxes)
        counts = listed_by_mailbox(fake, window_query(config, window), mailboxes)
        pages = sum(max(1, math.ceil(n / LIST_PAGE)) for n in counts.values())
        batches = sum(math.ceil(n / BATCH) for n in counts.values())
        minimum = pages + batches
        threads = sum(counts.values())

        with tempfile.TemporaryDirectory() as folder:
            store = Store(folder)
            items, ctx, elapsed = extract(connector, config, fake, store, keep=True)
            notes = ctx.stats.notes
            api_trips = fake.calls["threads.list"] + fake.calls["batch"]
            tokens = fake.calls["oauth2.token"]
            units = sum(fake.quota.total.values())
            print(
                f"window {window.key}: {threads} threads listed in {len(mailboxes)} "
                f"mailboxes, {len(items)} stored, {notes['duplicates_dropped']} "
                "duplicate copies dropped"
            )
            print(
                f"round trips: {api_trips} API + {tokens} token = {fake.round_trips}; "
                f"minimum {minimum} ({pages} list pages + {batches} batches); "
                f"ratio {api_trips / minimum:.3f} (target <= 1.05), "
                f"with tokens {fake.round_trips / minimum:.3f}"
            )
            print(
                f"round trips per thread: {fake.round_trips / threads:.4f} "
                f"(minimum {minimum / threads:.4f})"
            )
            min_units = 10 * pages + 10 * threads
            print(
                f"quota units: {units} ({units / threads:.2f} per thread; minimum "
                f"{min_units} = {min_units / threads:.2f} per thread)"
            )
            peak = max(fake.quota.peak.values(), default=0)
            print(
                f"quota: peak {peak} units in any {fake.quota.per_seconds:.0f}s, "
                f"budget {args.quota}; refused calls: {fake.quota.exceeded}"
            )
            print(f"extract: {elapsed:.2f}s, {threads / elapsed:.0f} threads/s")

            fake.reset_counters()
            _, ctx2, elapsed2 = extract(connector, config, fake, store, keep=False)
            print(
                f"re-run with nothing new: {fake.round_trips} round trips "
                f"({fake.calls['threads.list']} list, {fake.calls['batch']} batch), "
                f"{ctx2.stats.notes['threads_reused']} reused, {elapsed2:.2f}s"
            )

        routing = Routing(product_id="bench", project_ids=["bench"])
        nctx = NormaliseContext("bench", routing)
        started = time.perf_counter()
        rounds = 0
        while True:
            records = [
                r for item in items for r in connector.normalise(item, config, nctx)
            ]
            rounds += 1
            spent = time.perf_counter() - started
            if spent > 1.0:
                break
        rate = rounds * len(items) / spent
        print(
            f"normalise: {rate:.0f} threads/s ({len(records)} records per round, "
            f"{rounds} rounds in {spent:.2f}s)"
        )
    finally:
        fake.stop()


# -- attachments ---------------------------------------------------------------

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def staging_window(args: Any) -> None:
    """The sample window with and without a store: what staging adds."""
    connector = GmailConnector()
    with FakeGmail(
        seed=args.seed,
        now=NOW,
        days=1,
        conversations_per_day=args.conversations_per_day,
        quota_units=args.quota,
    ).start() as fake:
        config = connector.parse_config(
            {**fake.settings, "quota": {"units": args.quota}}
        )
        with tempfile.TemporaryDirectory() as folder:
            # The first run renders the fake's payloads; time the second. Each
            # run is a source of its own, so that none inherits another's spent
            # quota budget (the limiter is per source and process).
            extract(connector, config, fake, Store(f"{folder}/warm"), False, None, "w")
            fake.reset_counters()
            fake.quota.total.clear()
            _, _, plain_s = extract(
                connector, config, fake, Store(f"{folder}/a"), False, None, "plain"
            )
            trips, units = fake.round_trips, sum(fake.quota.total.values())
            fake.reset_counters()
            fake.quota.total.clear()
            local = LocalStoreConfig(folder=f"{folder}/files", secret_env=None)
            with LocalAttachmentStore(local) as files:
                store = Store(f"{folder}/b")
                items, ctx, staged_s = extract(
                    connector, config, fake, store, True, files, "staged"
                )
                notes = ctx.stats.notes["attachments"]
                entries = [
                    e
                    for item in items
                    for e in item.data["files"].values()
                    if "staged" in e
                ]
                more_trips = fake.round_trips - trips
                more_units = sum(fake.quota.total.values()) - units
                got = notes["downloaded"]
                print(
                    f"staging, {len(items)} threads: {len(entries)} files staged "
                    f"({got} downloaded, {notes['from_inline_data']} from inline "
                    f"data, {notes['reused']} copies of other mailboxes' files), "
                    f"{notes['not_staged']} metadata only"
                )
                print(
                    f"  extra round trips: {more_trips} ({more_trips / got:.3f} per "
                    f"downloaded attachment); extra quota units: {more_units} "
                    f"({more_units / got:.1f} per downloaded attachment)"
                )
                extra = staged_s - plain_s
                rate = f"{got / extra:.0f}" if extra > 0.01 else "(too fast to tell)"
                print(
                    f"  extract {plain_s:.2f}s without a store, {staged_s:.2f}s with "
                    f"one: {extra:.2f}s more, {rate} attachments downloaded and "
                    "staged per second of the added time"
                )
                fake.reset_counters()
                _, _, again_s = extract(
                    connector, config, fake, store, False, files, "staged"
                )
                downloads = fake.calls["messages.attachments.get"]
                print(
                    f"  re-run with nothing new: {downloads} attachment downloads, "
                    f"{fake.round_trips} round trips, {again_s:.2f}s"
                )


def serve_large(size: int) -> None:
    """Child process: a fake Gmail holding one message with a ``size``-byte file."""
    from email.utils import format_datetime

    from evermuse_gmail.fake import _mime as m
    from evermuse_gmail.fake._generate import Delivery

    fake = FakeGmail(seed=1, now=NOW, days=1, conversations_per_day=0).start()
    when = NOW - timedelta(hours=30)
    block = bytes(range(256)) * 4096
    body = (block * (size // len(block) + 1))[:size]
    message = m.multipart(
        "mixed",
        "b-large",
        [m.text_part("The big file."), m.attachment(body, "video/mp4", "big.mp4")],
    )
    message["From"] = m.address("Zoë Müller", "zoe@kunde.example")
    message["To"] = "support@acme.example"
    message["Subject"] = "A large file"
    message["Date"] = format_datetime(when)
    message["Message-ID"] = "<large@kunde.example>"
    mailbox = fake.mailboxes["support@acme.example"]
    raw = m.serialise(message)
    millis = int(when.timestamp() * 1000)
    stored = mailbox.add(Delivery(mailbox.address, "large", millis, raw, ("INBOX",)))
    stored.search_view()  # parse it now: the fake's first read is not the client's
    stored.payload()
    print(json.dumps({"settings": fake.settings, "environ": fake.environ}), flush=True)
    sys.stdin.read()  # until the parent closes the pipe
    fake.stop()


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def fetch_large(settings_json: str, path: str, folder: str) -> None:
    """Child process: extract the window and print seconds and peak RSS added."""
    given = json.loads(settings_json)
    connector = GmailConnector()
    config = connector.parse_config(
        {**given["settings"], "mailboxes": ["support@acme.example"]}
        | ({"attachment_stream_bytes": 100 * 1024 * 1024} if path == "batch" else {})
    )

    class Fake:
        now = NOW
        environ = given["environ"]

    local = LocalStoreConfig(folder=f"{folder}/files", secret_env=None)
    with LocalAttachmentStore(local) as files:
        files.start()
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS
        before = _rss_kb("VmRSS")
        _, ctx, seconds = extract(
            connector, config, Fake(), Store(f"{folder}/s"), False, files
        )
        added = _rss_kb("VmHWM") - before
    size = ctx.stats.notes["attachments"]["bytes_downloaded"]
    print(json.dumps({"seconds": seconds, "added_kb": added, "bytes": size}))


def large_files() -> None:
    print(
        "one large attachment, the whole window's extract timed (fake Gmail in its "
        "own process, a fresh process per fetch):"
    )
    print("  size    path     MB/s   peak RSS added")
    for megabytes in (1, 10, 25):
        size = megabytes * 1024 * 1024
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve-large", str(size)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            given = server.stdout.readline()
            for path in ("stream", "batch"):
                with tempfile.TemporaryDirectory() as folder:
                    out = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--fetch-large",
                            given,
                            path,
                            folder,
                        ],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                result = json.loads(out.stdout.strip().splitlines()[-1])
                assert result["bytes"] == size, result
                rate = size / 1e6 / result["seconds"]
                print(
                    f"  {megabytes:>3} MB  {path:<7} {rate:6.1f}   "
                    f"{result['added_kb'] / 1024:.0f} MB"
                )
        finally:
            server.communicate("")


if __name__ == "__main__":
    main()
