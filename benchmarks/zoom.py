"""Zoom connector: API calls per call record, against the fewest the API allows.

Runs the connector against the fake Zoom server (real HTTP on 127.0.0.1) over a
week of daily windows of a generated account, in each way a source can list its
recordings, then re-runs the same windows as a refresh would. For every run it
prints the calls by method, the calls per ``call`` record, and the minimum: what
any client needs for the same windows (one listing page per 300 meetings per
listing, per meeting instance one recordings call for its download token and one
participants page per 300 joins, one download per transcript, one token).

    uv run python benchmarks/zoom.py [--days 7] [--meetings 20] [--seed 11]
"""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from evermuse_zoom import ZoomConnector
from evermuse_zoom.fake import FakeOptions, FakeZoom

from evermuse_connectors.connector import (
    ExtractContext,
    NormaliseContext,
    Routing,
    Window,
)
from evermuse_connectors.envelope import RecordType
from evermuse_connectors.store import Store

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ROUTING = Routing(product_id="bench", project_ids=["bench"])
PAGE = 300


def windows(days: int) -> list[Window]:
    today = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    for back in range(days, 0, -1):
        start = today - timedelta(days=back)
        out.append(Window(start, start + timedelta(days=1), start.strftime("%Y-%m-%d")))
    return out


def minimum(
    fake: FakeZoom, spans: list[Window], settings: dict[str, Any], rerun: bool
) -> int:
    """The fewest API calls any client needs for these windows and settings."""
    account = fake.account
    calls = 0 if rerun else 1  # one token serves the whole run (it lives an hour)
    if settings.get("every_user_via") == "user_list":
        for status in ("active", "inactive"):
            calls += max(
                1, math.ceil(sum(u.status == status for u in account.users) / PAGE)
            )
    for window in spans:
        inside = [m for m in account.meetings if window.contains(m.start)]
        if settings.get("every_user_via") == "user_list":
            for user in account.users:
                mine = sum(m.host is user for m in inside)
                calls += max(1, math.ceil(mine / PAGE))
        else:
            calls += max(1, math.ceil(len(inside) / PAGE))
        if rerun:
            continue
        for meeting in inside:
            calls += 1  # the download token
            calls += max(1, math.ceil(len(meeting.participants) / PAGE))
            calls += sum(f.file_type == "TRANSCRIPT" for f in meeting.files)
    return calls


def run(
    fake: FakeZoom,
    store: Store,
    spans: list[Window],
    settings: dict[str, Any],
    source: str,
) -> tuple[Counter[str], Counter[str], float]:
    connector = ZoomConnector()
    config = connector.parse_config({**fake.settings, **settings})
    records: Counter[str] = Counter()
    fake.reset_counts()
    began = time.perf_counter()
    for window in spans:
        ctx = ExtractContext(
            source=source, window=window, store=store, environ=fake.environ
        )
        try:
            items = list(connector.extract(config, ctx))
        finally:
            ctx.close()
        store.write(source, "raw", window.key, (i.to_json() for i in items))
        normalise = NormaliseContext(source, ROUTING)
        for item in items:
            records.update(
                r.type.value for r in connector.normalise(item, config, normalise)
            )
    return fake.calls, records, time.perf_counter() - began


def report(
    name: str, calls: Counter[str], records: Counter[str], least: int, seconds: float
) -> None:
    api = {k: v for k, v in calls.items() if k != "recording.storage"}
    total = sum(api.values())
    per_call = records[RecordType.CALL.value] or 1
    print(f"\n{name}")
    print(
        f"  records: {records[RecordType.CALL.value]} call, "
        f"{records[RecordType.CALL_TRANSCRIPTION.value]} call_transcription "
        f"in {seconds:.2f}s"
    )
    for method, count in sorted(api.items()):
        print(f"    {method:<28}{count:>6}")
    print(f"    {'(storage redirects followed)':<28}{calls['recording.storage']:>6}")
    print(
        f"  API calls: {total}  minimum: {least}  "
        f"per call record: {total / per_call:.2f} (minimum {least / per_call:.2f}, "
        f"overhead {total / max(least, 1) - 1:+.1%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--meetings", type=int, default=20, help="meetings per day")
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    # The sample holds meetings whose participants Zoom no longer has; their
    # warnings would drown the numbers.
    logging.basicConfig(level=logging.ERROR)
    options = FakeOptions(
        days=max(14, args.days + 1),
        meetings_per_day=(args.meetings, args.meetings),
        users=args.users,
        externals_per_meeting=(2, 10),
    )
    began = time.perf_counter()
    fake = FakeZoom.start(seed=args.seed, now=NOW, options=options, port=0)
    print(
        f"fake Zoom started in {time.perf_counter() - began:.3f}s with "
        f"{len(fake.account.meetings)} meetings, {len(fake.account.users)} users"
    )
    spans = windows(args.days)
    modes: list[tuple[str, dict[str, Any]]] = [
        ("account-wide listing", {}),
        ("user list, then each user's listing", {"every_user_via": "user_list"}),
    ]
    try:
        with tempfile.TemporaryDirectory() as folder:
            for label, settings in modes:
                store = Store(f"{folder}/{len(label)}")
                source = "bench" + str(len(label))
                calls, records, seconds = run(fake, store, spans, settings, source)
                least = minimum(fake, spans, settings, rerun=False)
                report(
                    f"{label}: first run of {len(spans)} daily windows",
                    calls,
                    records,
                    least,
                    seconds,
                )
                calls, records, seconds = run(fake, store, spans, settings, source)
                least = minimum(fake, spans, settings, rerun=True)
                report(
                    f"{label}: refresh of the same windows, nothing new",
                    calls,
                    records,
                    least,
                    seconds,
                )
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
