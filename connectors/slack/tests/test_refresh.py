"""Re-running a window: late replies are picked up, and nothing new costs nothing
but history pages (no conversations.replies at all)."""

from __future__ import annotations

from datetime import timedelta

from evermuse_slack._ts import ts_datetime
from evermuse_slack.testing import Harness

from evermuse_connectors.store import Store


def _thread_id(harness: Harness, parent: dict) -> str:
    return f"{harness.channel('support').id}:{parent['ts']}"


def test_rerun_with_nothing_new_makes_no_replies_calls(harness: Harness) -> None:
    window = harness.window(3)
    first = harness.sync(window)
    assert first.stats.calls.get("conversations.replies", 0) > 0
    harness.fake.reset_counts()

    again = harness.sync(window)

    assert harness.fake.calls["conversations.replies"] == 0
    assert again.stats.calls.get("conversations.replies", 0) == 0
    # The directory came from the store: no list calls either.
    assert harness.fake.calls["users.list"] == 0
    assert harness.fake.calls["conversations.list"] == 0
    assert again.stats.notes["threads_reused"] == first.stats.notes["threads_fetched"]
    assert again.record_bytes() == first.record_bytes()


def test_late_reply_refetches_only_its_thread(harness: Harness) -> None:
    window = harness.window(4)
    first = harness.sync(window)
    parent = harness.threads_in(window)[0]
    support = harness.channel("support")
    user = support.members[0]
    reply = harness.fake.workspace.post(
        support.id,
        user,
        "A late answer, days later 🕰️",
        thread_ts=parent["ts"],
        at=harness.now - timedelta(minutes=5),
    )
    harness.fake.reset_counts()

    again = harness.sync(window)

    replies_calls = harness.calls_of("conversations.replies")
    assert [c["ts"] for c in replies_calls] == [parent["ts"]]
    changed = again.item(_thread_id(harness, parent))
    assert reply["ts"] in [m["ts"] for m in changed.data["messages"]]
    assert changed.data["fetch"]["replies"] == "fetched"
    before = {r.identity: r.to_bytes() for r in first.records}
    after = {r.identity: r.to_bytes() for r in again.records}
    assert before.keys() == after.keys(), "a grown thread keeps its identity"
    differing = [k for k in before if before[k] != after[k]]
    assert len(differing) == 1
    assert differing[0][1][2] == ("thread_ts", parent["ts"])


def test_refreshed_window_equals_a_fresh_sync(harness: Harness, tmp_path) -> None:
    window = harness.window(5)
    harness.sync(window)
    parent = harness.threads_in(window)[-1]
    support = harness.channel("support")
    harness.fake.workspace.post(
        support.id,
        support.members[1],
        "one more",
        thread_ts=parent["ts"],
        at=harness.now - timedelta(minutes=1),
    )
    refreshed = harness.sync(window)

    fresh = harness.sync(window, store=Store(str(tmp_path / "elsewhere")))
    assert refreshed.record_bytes() == fresh.record_bytes()
    assert fresh.stats.notes["threads_reused"] == 0
    assert refreshed.stats.notes["threads_fetched"] == 1


def test_edited_parent_is_seen_without_a_replies_call(harness: Harness) -> None:
    window = harness.window(2)
    harness.sync(window)
    parent = harness.threads_in(window)[0]
    support = harness.channel("support")
    harness.fake.workspace.edit(
        support.id, parent["ts"], "Edited: all fixed ✅", at=harness.now
    )
    harness.fake.reset_counts()

    again = harness.sync(window)

    assert harness.fake.calls["conversations.replies"] == 0
    record = next(r for r in again.records if r.vendor_ids["thread_ts"] == parent["ts"])
    first_message = record.data["messages"][0]
    assert first_message["text"] == "Edited: all fixed ✅"
    assert first_message["edited_at"].startswith(
        harness.now.strftime("%Y-%m-%dT%H:%M:%S")
    )


def test_deleted_reply_changes_the_count_and_is_refetched(harness: Harness) -> None:
    window = harness.window(6)
    harness.sync(window)
    support = harness.channel("support")
    parent = next(
        p for p in harness.threads_in(window) if len(support.replies[p["ts"]]) > 1
    )
    gone = support.replies[parent["ts"]][0]["ts"]
    harness.fake.workspace.delete(support.id, gone)
    harness.fake.reset_counts()

    again = harness.sync(window)

    assert [c["ts"] for c in harness.calls_of("conversations.replies")] == [
        parent["ts"]
    ]
    item = again.item(_thread_id(harness, parent))
    assert gone not in [m["ts"] for m in item.data["messages"]]


def test_new_thread_in_an_old_window_is_fetched(harness: Harness) -> None:
    window = harness.window(7)
    harness.sync(window)
    support = harness.channel("support")
    at = window.start + timedelta(hours=23, minutes=59)
    parent = harness.fake.workspace.post(
        support.id, support.members[0], "forgotten?", at=at
    )
    harness.fake.workspace.post(
        support.id, support.members[1], "no!", thread_ts=parent["ts"], at=harness.now
    )
    harness.fake.reset_counts()

    again = harness.sync(window)

    assert [c["ts"] for c in harness.calls_of("conversations.replies")] == [
        parent["ts"]
    ]
    assert ts_datetime(parent["ts"]) < window.end
    assert any(r.vendor_ids["thread_ts"] == parent["ts"] for r in again.records)


def test_directory_is_refetched_when_too_old(harness: Harness) -> None:
    config = harness.config(directory_max_age_minutes=0)
    harness.sync(harness.window(1), config)
    harness.sync(harness.window(2), config)
    assert harness.fake.calls["users.list"] == 2
    assert harness.fake.calls["auth.test"] == 2


def test_directory_is_shared_by_windows(harness: Harness) -> None:
    for back in (1, 2, 3):
        harness.sync(harness.window(back))
    assert harness.fake.calls["users.list"] == 1
    assert harness.fake.calls["conversations.list"] == 1
