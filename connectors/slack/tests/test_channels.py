"""Which conversations are read: types, include/exclude lists, archived ones, and
what happens to the ones the bot cannot read (skipped, listed, never fatal)."""

from __future__ import annotations

import logging

from evermuse_slack.testing import Harness


def _channels_in(result) -> set[str]:
    return {i.data["channel"]["name"] for i in result.items}


def test_channel_the_bot_is_not_in_is_skipped_and_listed(
    harness: Harness, caplog
) -> None:
    random_ = harness.channel("random")
    with caplog.at_level(logging.WARNING):
        result = harness.sync(harness.window(2))
    assert result.items, "the other channels still give threads"
    assert "random" not in _channels_in(result)
    assert f"channel:{random_.id}" in [s.item_id for s in result.stats.skipped]
    assert result.stats.notes["channels_unreadable"] == [
        {"id": random_.id, "name": "random", "error": "not_in_channel"}
    ]
    assert "not_in_channel" in caplog.text
    # Known not to be readable: no history call was spent on it.
    assert random_.id not in {
        c["channel"] for c in harness.calls_of("conversations.history")
    }
    check = harness.connector.completeness(result.items, result.stats)
    assert check is not None
    assert check.passed
    assert check.metadata["unreadable_channels"] == [f"channel:{random_.id}"]


def test_channel_not_found_is_skipped(harness: Harness) -> None:
    secret = harness.channel("hr-private")  # private, bot not a member: invisible
    support = harness.channel("support")
    config = harness.config(include_channels=[secret.id, "support"])
    result = harness.sync(harness.window(2), config)
    assert _channels_in(result) == {"support"}
    assert {c["channel"] for c in harness.calls_of("conversations.history")} == {
        secret.id,
        support.id,
    }
    assert result.stats.notes["channels_unreadable"] == [
        {"id": secret.id, "name": secret.id, "error": "channel_not_found"}
    ]


def test_history_error_midway_skips_only_that_channel(harness: Harness) -> None:
    general = harness.channel("general")
    harness.fake.faults.channel_errors[general.id] = "channel_not_found"
    result = harness.sync(harness.window(3))
    names = _channels_in(result)
    assert "general" not in names
    assert "support" in names
    assert f"channel:{general.id}" in [s.item_id for s in result.stats.skipped]


def test_join_public_channels_joins_once(harness: Harness) -> None:
    config = harness.config(join_public_channels=True)
    first = harness.sync(harness.window(2), config)
    harness.sync(harness.window(3), config)
    random_ = harness.channel("random")
    assert harness.fake.calls["conversations.join"] == 1
    read = [c["channel"] for c in harness.calls_of("conversations.history")]
    assert read.count(random_.id) == 2, "read in both windows after one join"
    assert not first.stats.notes["channels_unreadable"]


def test_include_and_exclude_by_name_or_id(harness: Harness) -> None:
    support = harness.channel("support")
    config = harness.config(include_channels=["#general", support.id])
    assert _channels_in(harness.sync(harness.window(2), config, source="a")) == {
        "general",
        "support",
    }
    config = harness.config(exclude_channels=["general", support.id])
    names = _channels_in(harness.sync(harness.window(2), config, source="b"))
    assert names
    assert not names & {"general", "support"}


def test_unknown_channel_name_is_reported(harness: Harness) -> None:
    config = harness.config(include_channels=["no-such-channel", "support"])
    result = harness.sync(harness.window(2), config)
    assert _channels_in(result) == {"support"}
    skipped = {s.item_id: s.reason for s in result.stats.skipped}
    assert "check the name" in skipped["channel:no-such-channel"]


def test_archived_channels_only_when_asked(harness: Harness) -> None:
    archived = harness.channel("old-project")
    window = harness.window(12)
    harness.sync(window, source="a")
    assert harness.calls_of("conversations.list")[0]["exclude_archived"] == "1"
    assert archived.id not in {
        c["channel"] for c in harness.calls_of("conversations.history")
    }
    harness.fake.reset_counts()
    found: set[str] = set()
    for back in range(10, 15):
        result = harness.sync(
            harness.window(back), harness.config(include_archived=True), source="b"
        )
        found |= _channels_in(result)
    assert harness.calls_of("conversations.list")[0]["exclude_archived"] == "0"
    assert "old-project" in found


def test_direct_messages_only_when_their_types_are_asked(harness: Harness) -> None:
    types = ["public_channel", "private_channel", "mpim", "im"]
    found: set[str] = set()
    for back in range(1, 15):
        result = harness.sync(harness.window(back), harness.config(channel_types=types))
        found |= {i.data["channel"]["type"] for i in result.items}
    assert {"im", "mpim", "private_channel", "public_channel"} <= found
    default = harness.sync(harness.window(1), source="default")
    assert {i.data["channel"]["type"] for i in default.items} <= {
        "public_channel",
        "private_channel",
    }
