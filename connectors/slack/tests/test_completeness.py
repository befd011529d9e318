"""The completeness check on hand-made items and stats."""

from __future__ import annotations

from evermuse_slack import SlackConnector

from evermuse_connectors.connector import ExtractStats, RawItem, Skip


def thread(ts: str, replies: int, reported, **fetch) -> RawItem:
    messages = [{"ts": ts}] + [{"ts": f"{ts}{i}"} for i in range(replies)]
    return RawItem(
        id=f"C1:{ts}",
        kind="thread",
        data={
            "thread_ts": ts,
            "messages": messages,
            "reported": reported,
            "fetch": {"via": "api", **fetch},
        },
    )


def check(items, stats=None):
    result = SlackConnector().completeness(items, stats or ExtractStats())
    assert result is not None
    return result


def test_all_counts_match() -> None:
    result = check([thread("1.0", 2, [2, "x"]), thread("2.0", 0, [0, ""])])
    assert result.passed
    assert result.metadata["replies_counted"] == result.metadata["replies_fetched"] == 2


def test_a_missing_reply_fails() -> None:
    result = check([thread("1.0", 1, [2, "x"])])
    assert not result.passed
    assert result.metadata["incomplete"] == [
        "C1:1.0: Slack counts 2 replies, 1 fetched"
    ]


def test_an_explained_difference_passes() -> None:
    result = check([thread("1.0", 1, [3, "x"], note="the export ends early")])
    assert result.passed
    assert "the export ends early" in result.metadata["explained"][0]


def test_an_unfinished_fetch_fails() -> None:
    result = check([thread("1.0", 1, [], problem="repeated a cursor")])
    assert not result.passed
    assert "repeated a cursor" in result.metadata["incomplete"][0]


def test_unreadable_channels_are_listed_but_pass() -> None:
    stats = ExtractStats(skipped=[Skip("channel:C9", "not_in_channel: ...")])
    result = check([thread("1.0", 0, [0, ""])], stats)
    assert result.passed
    assert result.metadata["unreadable_channels"] == ["channel:C9"]


def test_skipped_threads_and_pages_fail() -> None:
    stats = ExtractStats(skipped=[Skip("thread:C1:5.0", "conversations.replies ...")])
    result = check([], stats)
    assert not result.passed
    assert result.metadata["incomplete"] == ["thread:C1:5.0: conversations.replies ..."]
