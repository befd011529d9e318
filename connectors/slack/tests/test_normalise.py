"""The normaliser on hand-made raw items: pure, no server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from evermuse_slack import SlackConfig, SlackConnector
from evermuse_slack._normalise import normalise_thread

from evermuse_connectors.connector import RawItem, Routing
from evermuse_connectors.envelope import Nature, ParticipantType, Role
from evermuse_connectors.errors import RecordError

TEAM = "T0OURS"
OTHER = "T0THEIRS"
ROUTING = Routing(
    product_id="prod-1", project_ids=["proj-1"], nature=Nature.GUIDANCE, tags=["acme"]
)
USERS = {
    "U0ANA": {
        "id": "U0ANA",
        "team_id": TEAM,
        "real_name": "Ana Lima",
        "display_name": "ana",
        "email": "ana@ours.example",
    },
    "U0ZOE": {"id": "U0ZOE", "team_id": TEAM, "real_name": "Zoë Åkesson"},
    "U0GONE": {"id": "U0GONE", "team_id": TEAM, "real_name": "Dana", "deleted": True},
    "U0EXT": {"id": "U0EXT", "team_id": OTHER, "real_name": "陈伟"},
    "U0STR": {"id": "U0STR", "real_name": "Stranger", "is_stranger": True},
    "U0BOT": {"id": "U0BOT", "team_id": TEAM, "name": "deploybot", "is_bot": True},
}


def msg(ts: str, user: str | None = "U0ANA", text: str = "hello", **extra: Any) -> dict:
    message: dict[str, Any] = {"type": "message", "ts": ts, "text": text, **extra}
    if user:
        message["user"] = user
    return message


def item(*messages: dict, thread_ts: str = "1700000000.000100", **data: Any) -> RawItem:
    body: dict[str, Any] = {
        "team_id": TEAM,
        "workspace_url": "https://ours.slack.com/",
        "channel": {"id": "C0SUPPORT", "name": "support", "type": "public_channel"},
        "thread_ts": thread_ts,
        "messages": list(messages),
        "users": USERS,
        "channels": {"C0GENERAL": "general"},
        "reported": [
            max(0, len(messages) - 1),
            messages[-1].get("ts", "") if messages else "",
        ],
        "fetch": {"via": "api"},
    }
    body.update(data)
    return RawItem(id=f"C0SUPPORT:{thread_ts}", kind="thread", data=body)


def run(raw: RawItem, **settings: Any) -> list:
    config = SlackConfig(**settings)
    return normalise_thread(raw.id, raw.kind, raw.data, config, ROUTING)


def one(raw: RawItem, **settings: Any):
    records = run(raw, **settings)
    assert len(records) == 1
    return records[0]


def test_identity_comes_from_team_channel_and_parent_ts() -> None:
    record = one(item(msg("1700000000.000100"), msg("1700000500.000200", "U0ZOE")))
    assert record.vendor_ids == {
        "team_id": TEAM,
        "channel_id": "C0SUPPORT",
        "thread_ts": "1700000000.000100",
    }
    assert record.event_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert record.thread_id == f"{TEAM}:C0SUPPORT:1700000000.000100"
    assert record.product_id == "prod-1"
    assert record.nature == Nature.GUIDANCE
    assert record.tags == ["acme", "slack"]
    assert record.data["permalink"] == (
        "https://ours.slack.com/archives/C0SUPPORT/p1700000000000100"
    )


def test_a_growing_thread_keeps_its_identity() -> None:
    short = one(item(msg("1700000000.000100")))
    grown = one(item(msg("1700000000.000100"), msg("1700090000.000300", "U0ZOE")))
    assert short.identity == grown.identity
    assert short.to_bytes() != grown.to_bytes()
    assert grown.data["message_count"] == 2
    assert grown.data["reply_count"] == 1


def test_mentions_channels_links_and_specials_are_readable() -> None:
    text = (
        "<!here> <@U0ZOE> see <#C0GENERAL> and <#C0OTHER|ops>, "
        "<https://status.example.com|status> or <https://x.example>; "
        "mail <mailto:a@b.example|a@b.example> &lt;3 &amp; <@U0NOBODY|old-name>"
    )
    record = one(item(msg("1700000000.000100", text=text)))
    assert record.data["messages"][0]["text"] == (
        "@here @Zoë Åkesson see #general and #ops, "
        "status (https://status.example.com) or https://x.example; "
        "mail a@b.example <3 & @old-name"
    )
    ids = [p.id for p in record.participants]
    assert ids == ["U0ANA", "U0ZOE", "U0NOBODY"], "mentioned users take part too"


def test_roles_and_types_of_participants() -> None:
    raw = item(
        msg("1700000000.000100", "U0ANA"),
        msg("1700000001.000000", "U0EXT"),
        msg("1700000002.000000", "U0STR"),
        msg("1700000003.000000", "U0GONE"),
        msg("1700000004.000000", "U0BOT", bot_id="B0DEPLOY"),
        msg("1700000005.000000", "USLACKBOT", text="Reminder: standup"),
        msg("1700000006.000000", "U0GHOST"),
        msg("1700000007.000000", "U0FROM", user_team=OTHER),
        msg(
            "1700000008.000000",
            None,
            subtype="bot_message",
            bot_id="B0HOOK",
            username="ci",
            bot_profile={"id": "B0HOOK", "name": "CI", "team_id": TEAM},
        ),
    )
    by_id = {p.id: p for p in one(raw).participants}
    assert (by_id["U0ANA"].role, by_id["U0ANA"].type) == (
        Role.INTERNAL,
        ParticipantType.WORKSPACE_MEMBER,
    )
    assert by_id["U0ANA"].email == "ana@ours.example"
    assert by_id["U0ANA"].name == "ana"
    assert (by_id["U0EXT"].role, by_id["U0EXT"].type) == (
        Role.EXTERNAL,
        ParticipantType.USER,
    )
    assert by_id["U0STR"].role == Role.EXTERNAL
    assert by_id["U0GONE"].role == Role.INTERNAL
    assert by_id["U0GONE"].name == "Dana"
    assert by_id["U0BOT"].type == ParticipantType.BOT
    assert (by_id["USLACKBOT"].type, by_id["USLACKBOT"].name) == (
        ParticipantType.SYSTEM,
        "Slackbot",
    )
    assert (by_id["U0GHOST"].role, by_id["U0GHOST"].type) == (
        Role.UNKNOWN,
        ParticipantType.UNKNOWN,
    )
    assert by_id["U0FROM"].role == Role.EXTERNAL
    assert (by_id["B0HOOK"].type, by_id["B0HOOK"].name) == (ParticipantType.BOT, "ci")
    assert "slack_connect" in one(raw).tags


def test_channel_events_are_dropped() -> None:
    join = msg(
        "1700000000.000100",
        text="<@U0ANA> has joined the channel",
        subtype="channel_join",
    )
    assert run(item(join)) == []
    topic = msg("1700000100.000000", subtype="channel_topic", text="set the topic")
    record = one(item(msg("1700000000.000100"), topic))
    assert [m["ts"] for m in record.data["messages"]] == ["1700000000.000100"]


def test_bots_kept_or_dropped_by_setting() -> None:
    raw = item(
        msg(
            "1700000000.000100", None, subtype="bot_message", bot_id="B0", username="ci"
        ),
        msg("1700000001.000000", "U0ANA"),
        msg("1700000002.000000", "U0BOT"),
    )
    assert one(raw).data["message_count"] == 3
    kept = one(raw, include_bots=False)
    assert [m["ts"] for m in kept.data["messages"]] == ["1700000001.000000"]
    assert kept.identity == one(raw).identity, "the parent's ts still names the thread"
    only_bots = item(msg("1700000000.000100", None, subtype="bot_message", bot_id="B0"))
    assert run(only_bots, include_bots=False) == []


def test_changed_and_deleted_messages_apply() -> None:
    raw = item(
        msg("1700000000.000100", text="first words"),
        msg("1700000050.000000", "U0ZOE", text="a reply"),
        msg(
            "1700000090.000000",
            None,
            subtype="message_changed",
            message=msg(
                "1700000000.000100",
                text="better words",
                edited={"user": "U0ANA", "ts": "1700000090.000000"},
            ),
        ),
        msg(
            "1700000095.000000",
            None,
            subtype="message_deleted",
            deleted_ts="1700000050.000000",
        ),
    )
    record = one(raw)
    assert [m["text"] for m in record.data["messages"]] == ["better words"]
    assert record.data["messages"][0]["edited_at"] == "2023-11-14T22:14:50.000000Z"


def test_deleted_parent_stays_as_a_tombstone() -> None:
    raw = item(
        msg(
            "1700000000.000100",
            "USLACKBOT",
            text="This message was deleted.",
            subtype="tombstone",
            hidden=True,
        ),
        msg("1700000060.000000", "U0ZOE", text="still here"),
    )
    record = one(raw, include_bots=False)
    first, reply = record.data["messages"]
    assert first == {
        "ts": "1700000000.000100",
        "at": "2023-11-14T22:13:20.000100Z",
        "subtype": "tombstone",
        "deleted": True,
    }
    assert reply["reply"] is True
    assert reply["text"] == "still here"


def test_files_keep_metadata_and_never_a_url() -> None:
    file = {
        "id": "F0",
        "name": "plan 📎.pdf",
        "title": "Plan",
        "mimetype": "application/pdf",
        "filetype": "pdf",
        "size": 1234,
        "url_private": "https://files.slack.com/x",
        "url_private_download": "https://files.slack.com/y",
        "permalink_public": "https://slack-files.com/T-F-secret",
    }
    record = one(item(msg("1700000000.000100", subtype="file_share", files=[file])))
    assert record.data["messages"][0]["files"] == [
        {
            "id": "F0",
            "name": "plan 📎.pdf",
            "title": "Plan",
            "mimetype": "application/pdf",
            "filetype": "pdf",
            "size": 1234,
        }
    ]
    assert b"files.slack.com" not in record.to_bytes()
    assert b"slack-files.com" not in record.to_bytes()
    assert record.attachments is None


@pytest.mark.parametrize(
    ("text", "email", "phone"),
    [
        ("write to maria@customer.example please", True, False),
        ("call +44 20 7946 0958 after lunch", False, True),
        ("or (555) 123-4567", False, True),
        ("ticket #48213 on 2026-03-09 at 10:30, build 1.2.3", False, False),
        ("server 192.168.100.200 is down", False, False),
        ("ts 1700000000.000100 and order 123456789", False, False),
    ],
)
def test_pii_flags(text: str, email: bool, phone: bool) -> None:
    pii = one(item(msg("1700000000.000100", text=text))).pii
    assert pii is not None
    assert (pii.contains_email, pii.contains_phone) == (email, phone)


def test_text_falls_back_to_legacy_attachments() -> None:
    raw = item(
        msg(
            "1700000000.000100",
            None,
            subtype="bot_message",
            bot_id="B0",
            text="",
            attachments=[{"fallback": "Build #9 failed"}],
        )
    )
    assert one(raw).data["messages"][0]["text"] == "Build #9 failed"


def test_missing_users_map_and_odd_text_are_handled() -> None:
    raw = item(
        msg("1700000000.000100", "U0ZOE", text=None),
        users=None,
        channels=None,
        workspace_url=None,
        reported=None,
    )
    record = one(raw)
    assert record.data["messages"][0]["text"] == ""
    assert "permalink" not in record.data
    assert record.participants[0].role == Role.UNKNOWN


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("thread_ts", "yesterday", "thread_ts"),
        ("team_id", "", "team_id"),
        ("channel", None, "channel"),
        ("messages", "nope", "messages"),
    ],
)
def test_malformed_items_are_refused_with_the_field(field, value, said) -> None:
    raw = item(msg("1700000000.000100"))
    raw.data[field] = value
    with pytest.raises(RecordError, match=said) as caught:
        run(raw)
    assert "re-extract" in str(caught.value)


def test_message_without_ts_is_refused() -> None:
    raw = item(msg("1700000000.000100"), {"type": "message", "text": "no ts"})
    with pytest.raises(RecordError, match=r"messages\[1\]\.ts"):
        run(raw)


def test_other_kinds_are_refused() -> None:
    raw = RawItem(id="x", kind="email", data={})
    with pytest.raises(RecordError, match="not a Slack thread"):
        run(raw)


def test_the_contract_malformed_item_is_refused() -> None:
    bad = SlackConnector().malformed_item()
    with pytest.raises(RecordError, match="thread_ts"):
        run(bad)


def test_same_input_same_bytes() -> None:
    raw = item(
        msg("1700000000.000100", text="<@U0EXT> ✨"), msg("1700000001.1", "U0EXT")
    )
    assert one(raw).to_bytes() == one(raw).to_bytes()
