"""Cursor paging against the fake: many pages, empty pages, the last page, a
repeated cursor, and the parent repeated on every replies page."""

from __future__ import annotations

import logging
import math

import pytest
from evermuse_slack.testing import Harness


def _visible_in(harness: Harness, name: str, window) -> int:
    channel = harness.channel(name)
    start, end = window.start_epoch, window.end_epoch
    return sum(
        1
        for m in harness.fake.workspace.history(channel)
        if start <= float(m["ts"]) <= end
    )


def test_small_pages_give_the_same_records_as_large_ones(harness: Harness) -> None:
    window = harness.window(2)
    large = harness.sync(window, source="large")
    harness.fake.reset_counts()
    small = harness.sync(
        window, harness.config(history_page_size=2, replies_page_size=2), source="small"
    )
    assert small.record_bytes() == large.record_bytes()
    channels = {c["channel"] for c in harness.calls_of("conversations.history")}
    assert harness.fake.calls["conversations.history"] > len(channels)
    assert (
        small.stats.calls["conversations.replies"]
        > large.stats.calls["conversations.replies"]
    )


def test_history_stops_at_the_last_page(harness: Harness) -> None:
    window = harness.window(3)
    size = 3
    harness.sync(window, harness.config(history_page_size=size))
    support = harness.channel("support")
    pages = [
        c
        for c in harness.calls_of("conversations.history")
        if c["channel"] == support.id
    ]
    expected = max(1, math.ceil(_visible_in(harness, "support", window) / size))
    assert len(pages) == expected
    assert "cursor" not in pages[0]
    assert all("cursor" in p for p in pages[1:])
    assert {p["limit"] for p in pages} == {str(size)}


def test_replies_pages_follow_the_cursor_to_the_end(harness: Harness) -> None:
    window = harness.window(4)
    result = harness.sync(window, harness.config(replies_page_size=2))
    support = harness.channel("support")
    for parent in harness.threads_in(window):
        item = result.item(f"{support.id}:{parent['ts']}")
        fetched = [m["ts"] for m in item.data["messages"][1:]]
        assert fetched == [r["ts"] for r in support.replies[parent["ts"]]]
        calls = [
            c
            for c in harness.calls_of("conversations.replies")
            if c["ts"] == parent["ts"]
        ]
        assert len(calls) == math.ceil((1 + len(fetched)) / 2)


@pytest.mark.parametrize("method", ["conversations.history", "conversations.replies"])
def test_empty_pages_with_a_cursor_are_followed(harness: Harness, method: str) -> None:
    window = harness.window(2)
    plain = harness.sync(window, source="plain")
    harness.fake.faults.empty_pages.add(method)
    harness.fake.reset_counts()
    odd = harness.sync(window, source="odd")
    assert odd.record_bytes() == plain.record_bytes()
    bodies = harness.calls_of(method)
    assert len(bodies) >= 2 * len(
        {c.get("channel", "") + c.get("ts", "") for c in bodies}
    )


def test_parent_repeated_on_every_replies_page(harness: Harness) -> None:
    window = harness.window(5)
    plain = harness.sync(window, harness.config(replies_page_size=2), source="plain")
    harness.fake.faults.parent_on_every_page = True
    again = harness.sync(window, harness.config(replies_page_size=2), source="again")
    assert again.record_bytes() == plain.record_bytes()


def test_repeated_history_cursor_stops_and_is_reported(
    harness: Harness, caplog
) -> None:
    window = harness.window(3)
    assert _visible_in(harness, "support", window) >= 3, "the sample needs 3 pages"
    harness.fake.faults.repeat_cursor.add("conversations.history")
    with caplog.at_level(logging.WARNING):
        result = harness.sync(window, harness.config(history_page_size=1))
    support = harness.channel("support")
    pages = [
        c
        for c in harness.calls_of("conversations.history")
        if c["channel"] == support.id
    ]
    assert len(pages) == 2, "one page, then the repeated cursor once, then stop"
    assert f"history:{support.id}" in [s.item_id for s in result.stats.skipped]
    assert "repeated a cursor" in caplog.text
    assert sum(1 for i in result.items if i.id.startswith(support.id)) <= 2
    check = harness.connector.completeness(result.items, result.stats)
    assert check is not None
    assert not check.passed
    assert any(support.id in line for line in check.metadata["incomplete"])


def test_repeated_replies_cursor_marks_the_thread_for_refetch(harness: Harness) -> None:
    window = harness.window(4)
    support = harness.channel("support")
    long = max(harness.threads_in(window), key=lambda p: len(support.replies[p["ts"]]))
    assert len(support.replies[long["ts"]]) >= 3, "the sample needs a longer thread"
    harness.fake.faults.repeat_cursor.add("conversations.replies")
    first = harness.sync(window, harness.config(replies_page_size=1))
    item = first.item(f"{support.id}:{long['ts']}")
    assert item.data["reported"] == []
    assert "repeated a cursor" in item.data["fetch"]["problem"]
    check = harness.connector.completeness(first.items, first.stats)
    assert check is not None
    assert not check.passed

    harness.fake.faults.repeat_cursor.clear()
    harness.fake.reset_counts()
    second = harness.sync(window, harness.config(replies_page_size=1))
    assert long["ts"] in {c["ts"] for c in harness.calls_of("conversations.replies")}
    item = second.item(f"{support.id}:{long['ts']}")
    assert len(item.data["messages"]) == 1 + len(support.replies[long["ts"]])
    check = harness.connector.completeness(second.items, second.stats)
    assert check is not None
    assert check.passed, check.description
