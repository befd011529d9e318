"""Slack connector benchmark: API calls against the minimum, wall time against the
rate-limit floor, 429s provoked, and what a refresh costs.

The fake Slack enforces Slack's per-method tiers, sped up by ``--scale`` (60 means
a minute of Slack's budget is granted every second), and the connector paces at the
same scaled rates. Phases, over ``--days`` daily windows:

1. initial sync of every window;
2. refresh after late replies were posted to some threads;
3. refresh with nothing new (must make no conversations.replies call);
4. the limited regime (1 request a minute, 15 a page) on a few windows.

"minimum" is what any client must call: one history page per ``page size``
messages of each readable channel and window (at least one), one replies page per
``page size`` messages of each thread that is new or changed, and the directory
(auth.test, list pages, users.info for users the list lacks) once.
"floor (serial)" is calls ÷ allowed rate, method by method, summed: the time a
client needs that makes one call at a time. Slack counts limits per method, so a
client may overlap methods; "floor (per method)" is the slowest method alone.

    uv run python benchmarks/slack.py [--days 14] [--threads-per-day 40] [--scale 30]

With ``--attachments`` it measures file staging instead, against a local
attachment store and the fake at full speed: files staged per second, MB/s, Web
API calls and download requests per staged file (initial sync and a refresh with
nothing new), then one window holding a single file of 1, 10 and 50 MB with the
peak RSS each added (memory must not grow with the file).

    uv run python benchmarks/slack.py --attachments [--days 14]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import resource
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from evermuse_slack import SlackConfig, SlackConnector
from evermuse_slack._config import METHOD_TIERS
from evermuse_slack._threads import referenced_users
from evermuse_slack._ts import ts_micros
from evermuse_slack.fake import FakeSlack, hosted_file

from evermuse_connectors.attachments import (
    AttachmentPolicy,
    LocalAttachmentStore,
    LocalStoreConfig,
)
from evermuse_connectors.connector import ExtractContext, RawItem, Window
from evermuse_connectors.store import Store
from evermuse_connectors.testing import day_window

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SLACK_TIERS = {2: 20.0, 3: 50.0, 4: 100.0}


@dataclass
class Phase:
    name: str
    calls: Counter[str]
    minimum: Counter[str]
    wall: float
    rates: dict[str, float]  # allowed requests per second, per method
    rate_limited: int
    items: int

    def floor_serial(self) -> float:
        return sum(n / self.rates[m] for m, n in self.calls.items())

    def floor_parallel(self) -> float:
        return max((n / self.rates[m] for m, n in self.calls.items()), default=0.0)


def _bounds(window: Window) -> tuple[int, int]:
    return window.start_epoch * 1_000_000, window.end_epoch * 1_000_000


def _readable(fake: FakeSlack, config: SlackConfig) -> list[Any]:
    bot = fake.workspace.bot_user_id
    return [
        c
        for c in fake.workspace.channels
        if c.kind in config.channel_types
        and c.name not in config.exclude_channels
        and not c.is_archived
        and c.bot_member
        and bot in c.members
    ]


def minimum_calls(
    fake: FakeSlack,
    config: SlackConfig,
    windows: list[Window],
    *,
    changed: set[tuple[str, str]] | None,
    directory: bool,
) -> Counter[str]:
    """The fewest calls that fetch these windows (see the module docstring)."""
    need: Counter[str] = Counter()
    history_page = config.page_size("conversations.history")
    replies_page = config.page_size("conversations.replies")
    messages: list[dict[str, Any]] = []
    for window in windows:
        start, end = _bounds(window)
        for channel in _readable(fake, config):
            shown = fake.workspace.history(channel)
            # The fake serves [oldest, latest] with inclusive=1, as Slack does.
            count = sum(1 for m in shown if start <= ts_micros(m["ts"]) <= end)
            need["conversations.history"] += max(1, math.ceil(count / history_page))
            for parent in channel.messages:
                if not start <= ts_micros(parent["ts"]) < end:
                    continue
                thread = fake.workspace.thread(channel, parent["ts"]) or [parent]
                messages.extend(thread)
                replies = len(channel.replies.get(parent["ts"], []))
                if replies and (
                    changed is None or (channel.id, parent["ts"]) in changed
                ):
                    pages = math.ceil((1 + replies) / replies_page)
                    need["conversations.replies"] += pages
    if directory:
        listed = {u["id"] for u in fake.workspace.users}
        need["auth.test"] += 1
        need["conversations.list"] += max(
            1, math.ceil(len(fake.workspace.channels) / 200)
        )
        need["users.list"] += max(1, math.ceil(len(listed) / 200))
        unknown = {u for u in referenced_users(messages) if u not in listed}
        need["users.info"] += len(unknown)
    return need


def run_phase(
    name: str,
    fake: FakeSlack,
    config: SlackConfig,
    store: Store,
    windows: list[Window],
    minimum: Counter[str],
    allowed: SlackConfig,
) -> Phase:
    """Extract ``windows`` in order; time extract alone, count what the fake saw."""
    connector = SlackConnector()
    fake.reset_counts()
    items = 0
    wall = 0.0
    for window in windows:
        ctx = ExtractContext(
            source="bench", window=window, store=store, environ=fake.environ
        )
        started = time.perf_counter()
        got = list(connector.extract(config, ctx))
        wall += time.perf_counter() - started
        ctx.close()
        store.write("bench", "raw", window.key, (i.to_json() for i in got))
        items += len(got)
    rates = {
        m: allowed.rate_limit(m).requests / allowed.rate_limit(m).per_seconds
        for m in METHOD_TIERS
    }
    return Phase(
        name,
        Counter(fake.calls),
        minimum,
        wall,
        rates,
        sum(fake.rate_limited.values()),
        items,
    )


def limit_fake(fake: FakeSlack, config: SlackConfig, burst: int) -> None:
    for method in METHOD_TIERS:
        pace = config.rate_limit(method)
        fake.set_rate_limit(method, pace.requests, pace.per_seconds, burst=burst)


def scaled_config(fake: FakeSlack, scale: float, **extra: Any) -> SlackConfig:
    rates = {f"tier{t}_per_minute": r * scale for t, r in SLACK_TIERS.items()}
    rates["limited_per_minute"] = 1.0 * scale
    return SlackConnector().parse_config({**fake.settings, "rates": rates, **extra})


def post_late_replies(
    fake: FakeSlack, windows: list[Window], every: int
) -> set[tuple[str, str]]:
    """A reply today on every ``every``-th parent of the windows; returns them."""
    changed: set[tuple[str, str]] = set()
    index = 0
    for window in windows:
        start, end = _bounds(window)
        for channel in _readable(fake, scaled_config(fake, 1)):
            for parent in list(channel.messages):
                if parent.get("subtype") or not start <= ts_micros(parent["ts"]) < end:
                    continue
                index += 1
                if index % every == 0:
                    user = next(
                        m for m in channel.members if m != fake.workspace.bot_user_id
                    )
                    fake.workspace.post(
                        channel.id,
                        user,
                        "late reply ⏰",
                        thread_ts=parent["ts"],
                        at=NOW - timedelta(minutes=index % 50),
                    )
                    changed.add((channel.id, parent["ts"]))
    return changed


def report(phase: Phase) -> list[str]:
    total, least = sum(phase.calls.values()), sum(phase.minimum.values())
    serial, parallel = phase.floor_serial(), phase.floor_parallel()
    lines = [
        f"\n== {phase.name}: {phase.items} threads",
        f"   calls {total} / minimum {least} = {total / max(least, 1):.3f}x "
        "(target <= 1.05)",
        f"   wall {phase.wall:.2f}s / floor (serial) {serial:.2f}s = "
        f"{phase.wall / max(serial, 1e-9):.3f}x (target <= 1.15); "
        f"floor (per method) {parallel:.2f}s = {phase.wall / max(parallel, 1e-9):.3f}x",
        f"   429s provoked: {phase.rate_limited}",
    ]
    for method in sorted(set(phase.calls) | set(phase.minimum)):
        lines.append(
            f"     {method:24s} calls {phase.calls[method]:5d}  minimum "
            f"{phase.minimum[method]:5d}  at {phase.rates[method]:.1f}/s"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--threads-per-day", type=int, default=40)
    parser.add_argument("--scale", type=float, default=30.0)
    parser.add_argument("--limited-scale", type=float, default=600.0)
    parser.add_argument(
        "--big", type=int, default=0, help="messages in one more channel"
    )
    parser.add_argument(
        "--burst", type=int, default=2, help="the fake's burst allowance"
    )
    parser.add_argument(
        "--margin", type=float, default=0.0, help="pace this much under"
    )
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--attachments", action="store_true")
    args = parser.parse_args()
    # Skipped channels warn once per window; the numbers below are the report.
    logging.basicConfig(level=logging.ERROR)
    if args.attachments:
        attachments_benchmark(args)
        return

    with (
        tempfile.TemporaryDirectory() as root,
        FakeSlack.start(
            seed=args.seed,
            now=NOW,
            days=args.days,
            threads_per_day=args.threads_per_day,
            big_channel_messages=args.big,
        ) as fake,
    ):
        print(
            f"Slack benchmark: {args.days} daily windows, ~{args.threads_per_day} "
            f"threads a day, big channel {args.big}, Slack's limits x{args.scale:g}, "
            f"fake burst {args.burst}, pacing margin {args.margin:g}"
        )
        windows = [day_window(NOW - timedelta(days=b)) for b in range(args.days, 0, -1)]
        phases = standard_phases(fake, args, Store(f"{root}/standard"), windows)
        phases.append(limited_phase(fake, args, Store(f"{root}/limited"), windows[-3:]))
        for phase in phases:
            print("\n".join(report(phase)))
        print(
            "\nrefresh with nothing new: "
            f"{phases[2].calls['conversations.replies']} conversations.replies calls "
            "(target 0)"
        )


def standard_phases(
    fake: FakeSlack, args: argparse.Namespace, store: Store, windows: list[Window]
) -> list[Phase]:
    allowed = scaled_config(fake, args.scale)
    limit_fake(fake, allowed, args.burst)
    # The connector may pace a little under the limit (--margin) for limiters that
    # allow no burst at all; the floor is always the limit itself.
    paced = scaled_config(fake, args.scale * (1 - args.margin))

    def phase(name: str, changed: set[tuple[str, str]] | None) -> Phase:
        least = minimum_calls(
            fake, paced, windows, changed=changed, directory=changed is None
        )
        return run_phase(name, fake, paced, store, windows, least, allowed)

    phases = [phase("initial sync", None)]
    changed = post_late_replies(fake, windows, every=7)
    phases.append(phase(f"refresh after {len(changed)} late replies", changed))
    phases.append(phase("refresh, nothing new", set()))
    return phases


def limited_phase(
    fake: FakeSlack, args: argparse.Namespace, store: Store, windows: list[Window]
) -> Phase:
    # 15 messages a page at one request a minute: the long channel alone would
    # take hours of (scaled) Slack time, so this phase leaves it out.
    extra = {"rate_regime": "limited", "exclude_channels": ["firehose"]}
    allowed = scaled_config(fake, args.limited_scale, **extra)
    paced = scaled_config(fake, args.limited_scale * (1 - args.margin), **extra)
    fake.methods.limited = True
    limit_fake(fake, allowed, args.burst)
    least = minimum_calls(fake, paced, windows, changed=None, directory=True)
    name = f"limited regime (1/min, 15 a page), {len(windows)} windows"
    return run_phase(name, fake, paced, store, windows, least, allowed)


def _extract_all(
    fake: FakeSlack,
    config: SlackConfig,
    store: Store,
    windows: list[Window],
    files: LocalAttachmentStore | None,
    policy: AttachmentPolicy | None = None,
) -> tuple[float, list[RawItem], Counter[str]]:
    """Extract ``windows`` as the framework would; wall time, items, API calls."""
    fake.reset_counts()
    items: list[RawItem] = []
    started = time.perf_counter()
    for window in windows:
        ctx = ExtractContext(
            source="bench",
            window=window,
            store=store,
            environ=fake.environ,
            attachments=files,
            attachment_policy=policy,
        )
        got = list(SlackConnector().extract(config, ctx))
        ctx.close()
        store.write("bench", "raw", window.key, (i.to_json() for i in got))
        items += got
    return time.perf_counter() - started, items, Counter(fake.calls)


def _staged(items: list[RawItem]) -> list[dict[str, Any]]:
    return [
        e["staged"]
        for item in items
        for e in (item.data.get("attachments") or {}).values()
        if "staged" in e
    ]


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM (Linux), so each size gets its own peak.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def attachments_benchmark(args: argparse.Namespace) -> None:
    with (
        tempfile.TemporaryDirectory() as root,
        FakeSlack.start(
            seed=args.seed,
            now=NOW,
            days=args.days,
            threads_per_day=args.threads_per_day,
        ) as fake,
        LocalAttachmentStore(
            LocalStoreConfig(folder=f"{root}/files", secret_env=None)
        ) as files,
    ):
        config = SlackConnector().parse_config(fake.settings)
        windows = [day_window(NOW - timedelta(days=b)) for b in range(args.days, 0, -1)]
        _, _, plain = _extract_all(fake, config, Store(f"{root}/plain"), windows, None)
        store = Store(f"{root}/staged")
        wall, items, calls = _extract_all(fake, config, store, windows, files)
        staged = _staged(items)
        megabytes = sum(e["size"] for e in staged) / 1e6
        api = sum(n for m, n in calls.items() if m != "files.download")
        extra = api - sum(plain.values())
        count = max(len(staged), 1)
        print(
            f"Slack attachments: {args.days} windows, {len(staged)} files staged "
            f"({megabytes:.1f} MB) in {wall:.2f}s of extract = "
            f"{len(staged) / wall:.1f} files/s, {megabytes / wall:.1f} MB/s; "
            f"without a store {sum(plain.values())} Web API calls, with one {api}"
        )
        print(
            f"   per staged file: {calls['files.download'] / count:.2f} download "
            f"requests, {extra / count:.2f} extra Web API calls "
            f"({calls['files.info']} files.info for Slack Connect stubs, Tier 4)"
        )
        again_wall, again, recalls = _extract_all(fake, config, store, windows, files)
        print(
            f"   refresh, nothing new: {recalls['files.download']} downloads, "
            f"{recalls['files.info']} files.info, {len(_staged(again))} kept, "
            f"{again_wall:.2f}s"
        )
        print("   one file of each size (fake at full speed, local store):")
        for size_mb in (1, 10, 50):
            _one_file(fake, config, Path(root), files, size_mb)


def _one_file(
    fake: FakeSlack,
    config: SlackConfig,
    root: Path,
    files: LocalAttachmentStore,
    size_mb: int,
) -> None:
    window = day_window(NOW - timedelta(days=30 + size_mb))
    support = next(c for c in fake.workspace.channels if c.name == "support")
    file = hosted_file(
        fake.workspace,
        f"FBENCH{size_mb:04d}",
        name=f"recording {size_mb} MB.mp4",
        mimetype="video/mp4",
        size=size_mb * 1024 * 1024,
        user=support.members[0],
        created=window.start,
    )
    fake.workspace.post(
        support.id, support.members[0], "big file", at=window.start, files=[file]
    )
    _reset_peak()
    before = _rss_kib("VmRSS")
    big = {**config.model_dump(), "include_channels": ["support"]}
    wall, items, _ = _extract_all(
        fake,
        SlackConnector().parse_config(big),
        Store(str(root / f"one-{size_mb}")),
        [window],
        files,
        AttachmentPolicy(max_bytes=64 * 1024 * 1024),
    )
    added = (_rss_kib("VmHWM") - before) / 1024
    [staged] = _staged(items)
    print(
        f"     {size_mb:3d} MB: {staged['size'] / 1e6 / wall:7.1f} MB/s, "
        f"{wall:.2f}s, peak RSS added {added:.1f} MB"
    )


if __name__ == "__main__":
    main()
