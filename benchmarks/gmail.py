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

    uv run python benchmarks/gmail.py [--conversations-per-day 300] [--quota 60000]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from evermuse_gmail import GmailConnector
from evermuse_gmail._extract import window_query
from evermuse_gmail.fake import FakeGmail
from evermuse_gmail.fake._query import compile_query

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
    connector: GmailConnector, config: Any, fake: FakeGmail, store: Store, keep: bool
) -> tuple[list[Any], ExtractContext, float]:
    window = day_window(fake.now - timedelta(days=1))
    ctx = ExtractContext(
        source="bench", window=window, store=store, environ=fake.environ
    )
    started = time.perf_counter()
    try:
        items = list(connector.extract(config, ctx))
    finally:
        ctx.close()
    elapsed = time.perf_counter() - started
    if keep:
        store.write("bench", "raw", window.key, (i.to_json() for i in items))
    return items, ctx, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--conversations-per-day", type=int, default=300)
    parser.add_argument(
        "--quota", type=int, default=60_000, help="units per minute per user"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
