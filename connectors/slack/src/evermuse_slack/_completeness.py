"""The completeness check: every synced thread has the replies Slack counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from evermuse_connectors.connector import Completeness, ExtractStats, RawItem
from evermuse_slack._threads import THREAD_KIND

__all__ = ["thread_completeness"]

_SHOWN = 50


def _replies_in(data: Mapping[str, object]) -> int:
    thread_ts = data.get("thread_ts")
    messages = data.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(
        1 for m in messages if isinstance(m, Mapping) and m.get("ts") != thread_ts
    )


def thread_completeness(items: Iterable[RawItem], stats: ExtractStats) -> Completeness:
    """Passes when, for each thread, the replies fetched equal the parent's
    ``reply_count`` or the difference is explained, and no thread or history page
    was skipped. Unreadable channels are listed but do not fail the check: they
    are a matter of the bot's membership, not of a broken sync."""
    threads = counted = fetched = 0
    mismatched: list[str] = []
    explained: list[str] = []
    for item in items:
        if item.kind != THREAD_KIND:
            continue
        threads += 1
        fetch = item.data.get("fetch")
        notes: Mapping[str, object] = fetch if isinstance(fetch, Mapping) else {}
        reported = item.data.get("reported")
        got = _replies_in(item.data)
        if not isinstance(reported, list) or not reported:
            problem = notes.get("problem") or "replies were not fully fetched"
            mismatched.append(f"{item.id}: {problem}")
            continue
        want = int(reported[0])
        counted += want
        fetched += got
        if got == want:
            continue
        line = f"{item.id}: Slack counts {want} replies, {got} fetched"
        if notes.get("note"):
            explained.append(f"{line} ({notes['note']})")
        else:
            mismatched.append(line)
    unreadable = [s.item_id for s in stats.skipped if s.item_id.startswith("channel:")]
    failed_skips = [
        f"{s.item_id}: {s.reason}"
        for s in stats.skipped
        if not s.item_id.startswith("channel:")
    ]
    problems = mismatched + failed_skips
    if problems:
        description = (
            f"{len(problems)} of {threads} thread(s) or page(s) are incomplete; "
            "re-run the window (see 'incomplete')"
        )
    else:
        description = (
            f"{threads} thread(s): {fetched} replies fetched of {counted} counted"
            + (f", {len(explained)} difference(s) explained" if explained else "")
        )
    return Completeness(
        passed=not problems,
        description=description,
        metadata={
            "threads": threads,
            "replies_counted": counted,
            "replies_fetched": fetched,
            "incomplete": problems[:_SHOWN],
            "explained": explained[:_SHOWN],
            "unreadable_channels": unreadable[:_SHOWN],
        },
    )
