"""Matching this run's parents with the window's previous raw items."""

from __future__ import annotations

import logging

from evermuse_slack._threads import PreviousThreads, clean_message, signature

from evermuse_connectors.connector import RawItem


def thread(channel: str, ts: str) -> RawItem:
    return RawItem(
        id=f"{channel}:{ts}",
        kind="thread",
        data={"channel": {"id": channel}, "thread_ts": ts, "messages": []},
    )


def test_merge_finds_items_in_extract_order() -> None:
    stored = [thread("C1", "30.0"), thread("C1", "20.0"), thread("C2", "40.0")]
    previous = PreviousThreads(lambda: iter(stored))
    assert previous.take("C1", "30.000000") is stored[0]
    assert previous.take("C1", "25.0") is None, "a new thread"
    assert previous.take("C1", "20.0") is stored[1]
    assert previous.take("C2", "40.0") is stored[2]
    assert previous.take("C3", "1.0") is None


def test_skipped_previous_items_are_passed_over() -> None:
    stored = [thread("C1", "30.0"), thread("C1", "20.0"), thread("C1", "10.0")]
    previous = PreviousThreads(lambda: stored)
    assert previous.take("C1", "10.0") is stored[2]


def test_items_out_of_order_fall_back_to_a_dictionary(caplog) -> None:
    stored = [thread("C2", "40.0"), thread("C1", "30.0"), thread("C1", "20.0")]
    with caplog.at_level(logging.WARNING):
        previous = PreviousThreads(lambda: iter(stored))
        assert previous.take("C1", "20.0") is stored[2]
        assert previous.take("C2", "40.0") is stored[0]
    assert "not in extract order" in caplog.text


def test_history_out_of_order_means_refetch_not_a_wrong_match() -> None:
    stored = [thread("C1", "30.0"), thread("C1", "20.0")]
    previous = PreviousThreads(lambda: stored)
    assert previous.take("C1", "20.0") is stored[1]
    assert previous.take("C1", "30.0") is None, "behind the merge: fetched again"


def test_other_kinds_are_ignored() -> None:
    stored = [RawItem(id="x", kind="other", data={}), thread("C1", "5.0")]
    assert PreviousThreads(lambda: stored).take("C1", "5.0") is stored[1]


def test_clean_message_drops_every_file_url() -> None:
    message = {
        "ts": "1.0",
        "files": [{"id": "F1", "url_private": "u", "thumb_64": "t", "name": "n"}],
        "message": {"ts": "1.0", "files": [{"id": "F1", "permalink_public": "p"}]},
    }
    cleaned = clean_message(message)
    assert cleaned["files"] == [{"id": "F1", "name": "n"}]
    assert cleaned["message"]["files"] == [{"id": "F1"}]
    assert message["files"][0]["url_private"] == "u", "the input is not changed"


def test_signature() -> None:
    assert signature({"reply_count": 3, "latest_reply": "9.0"}) == [3, "9.0"]
    assert signature({}) == [0, ""]
    assert signature({"reply_count": "3"}) == [0, ""]
