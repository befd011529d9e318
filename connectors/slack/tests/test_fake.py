"""The fake Slack is as strict as Slack: driven through the real slack_sdk client
(and raw HTTP where slack_sdk would not send what is being refused)."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta

import pytest
from evermuse_slack._ts import ts_datetime
from evermuse_slack.fake import FakeSlack, generate_workspace
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=fake.token, base_url=fake.settings["base_url"])


def _error(call) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


def _raw(fake: FakeSlack, method: str, body: str, headers: dict[str, str]) -> dict:
    request = urllib.request.Request(
        f"{fake.url}api/{method}", data=body.encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def test_wrong_or_missing_token(fake: FakeSlack) -> None:
    wrong = WebClient(token="xoxb-nope", base_url=fake.settings["base_url"])
    assert _error(wrong.auth_test) == "invalid_auth"
    anonymous = WebClient(base_url=fake.settings["base_url"])
    assert _error(anonymous.auth_test) == "not_authed"


def test_token_as_a_form_argument_and_get_with_a_query(fake: FakeSlack) -> None:
    body = _raw(
        fake,
        "auth.test",
        f"token={fake.token}",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert body["team_id"] == fake.workspace.team_id
    url = f"{fake.url}api/auth.test?token={fake.token}"
    with urllib.request.urlopen(url) as response:
        assert json.loads(response.read())["ok"] is True


def test_json_body_with_bearer(fake: FakeSlack) -> None:
    channel = fake.workspace.channels[1].id
    body = _raw(
        fake,
        "conversations.history",
        json.dumps({"channel": channel, "limit": 1}),
        {"Content-Type": "application/json", "Authorization": f"Bearer {fake.token}"},
    )
    assert body["ok"] is True
    assert len(body["messages"]) == 1


def test_unknown_method(fake: FakeSlack, client: WebClient) -> None:
    assert _error(lambda: client.api_call("conversations.nope")) == "unknown_method"


def test_users_list_needs_a_limit_and_hides_emails_without_scope(
    fake: FakeSlack, client: WebClient
) -> None:
    assert _error(client.users_list) == "limit_required"
    members = client.users_list(limit=200)["members"]
    assert any(m["profile"].get("email") for m in members)
    assert all(m["team_id"] == fake.workspace.team_id for m in members)
    fake.methods.email_scope = False
    members = client.users_list(limit=200)["members"]
    assert not any(m["profile"].get("email") for m in members)


def test_external_users_only_through_users_info(
    fake: FakeSlack, client: WebClient
) -> None:
    outsider = fake.workspace.external_users[0]
    listed = {m["id"] for m in client.users_list(limit=1000)["members"]}
    assert outsider["id"] not in listed
    info = client.users_info(user=outsider["id"])["user"]
    assert info["team_id"] != fake.workspace.team_id
    assert "email" not in info["profile"]
    assert _error(lambda: client.users_info(user="U0NOBODY")) == "user_not_found"


@pytest.mark.parametrize("limit", [0, -1, 1000, "ten"])
def test_history_limit_out_of_range(fake: FakeSlack, client: WebClient, limit) -> None:
    channel = fake.workspace.channels[0].id
    assert _error(
        lambda: client.conversations_history(channel=channel, limit=limit)
    ) == ("invalid_limit")


def test_bad_cursor_and_bad_timestamps(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.workspace.channels[0].id
    assert _error(
        lambda: client.conversations_history(channel=channel, cursor="%%%")
    ) == ("invalid_cursor")
    assert _error(
        lambda: client.conversations_history(channel=channel, oldest="x")
    ) == ("invalid_ts_oldest")
    assert _error(
        lambda: client.conversations_history(channel=channel, latest="y")
    ) == ("invalid_ts_latest")


def test_channel_access(fake: FakeSlack, client: WebClient) -> None:
    by_name = {c.name: c for c in fake.workspace.channels}
    assert _error(lambda: client.conversations_history(channel="C0MISSING")) == (
        "channel_not_found"
    )
    random_ = by_name["random"].id
    assert (
        _error(lambda: client.conversations_history(channel=random_))
        == "not_in_channel"
    )
    secret = by_name["hr-private"].id
    assert (
        _error(lambda: client.conversations_history(channel=secret))
        == "channel_not_found"
    )
    assert _error(lambda: client.conversations_join(channel=secret)) == (
        "method_not_supported_for_channel_type"
    )
    listed = {
        c["id"] for c in client.conversations_list(types="private_channel")["channels"]
    }
    assert secret not in listed
    assert (
        _error(lambda: client.conversations_list(types="secret_rooms"))
        == "invalid_types"
    )


def test_replies_arguments(fake: FakeSlack, client: WebClient) -> None:
    support = next(c for c in fake.workspace.channels if c.name == "support")
    assert _error(lambda: client.conversations_replies(channel=support.id, ts="")) == (
        "invalid_arguments"
    )
    join = next(m for m in support.messages if m.get("subtype") == "channel_join")
    assert _error(
        lambda: client.conversations_replies(channel=support.id, ts=join["ts"])
    ) == ("thread_not_found")
    thread_ts = next(iter(support.replies))
    reply_ts = support.replies[thread_ts][0]["ts"]
    by_reply = client.conversations_replies(channel=support.id, ts=reply_ts)["messages"]
    assert by_reply[0]["ts"] == thread_ts, "a reply's ts gives its whole thread"


def test_history_bounds_and_inclusive(fake: FakeSlack, client: WebClient) -> None:
    support = next(c for c in fake.workspace.channels if c.name == "support")
    ts = support.messages[len(support.messages) // 2]["ts"]
    strict = client.conversations_history(
        channel=support.id, oldest=ts, latest=ts, limit=5
    )
    assert strict["messages"] == []
    both = client.conversations_history(
        channel=support.id, oldest=ts, latest=ts, inclusive=True, limit=5
    )
    assert [m["ts"] for m in both["messages"]] == [ts]


def test_sdk_iteration_follows_cursors(fake: FakeSlack, client: WebClient) -> None:
    support = next(c for c in fake.workspace.channels if c.name == "support")
    seen = [
        m["ts"]
        for page in client.conversations_history(channel=support.id, limit=7)
        for m in page["messages"]
    ]
    assert seen == [m["ts"] for m in fake.workspace.history(support)]
    assert len(seen) == len(set(seen))


def test_429_carries_retry_after(fake: FakeSlack) -> None:
    fake.set_rate_limit("auth.test", 1, 60.0, burst=1)
    no_retries = WebClient(token=fake.token, base_url=fake.settings["base_url"])
    no_retries.auth_test()
    with pytest.raises(SlackApiError) as caught:
        no_retries.auth_test()
    response = caught.value.response
    assert response.status_code == 429
    assert response["error"] == "ratelimited"
    assert int(response.headers["Retry-After"]) >= 1
    assert fake.rate_limited["auth.test"] == 1
    assert fake.calls["auth.test"] == 2


def test_the_sample_is_deterministic_and_dated(fake: FakeSlack) -> None:
    now = fake.workspace.now
    again = generate_workspace(11, now)
    assert [c.messages for c in again.channels] == [
        c.messages for c in fake.workspace.channels
    ]
    assert [c.replies for c in again.channels] == [
        c.replies for c in fake.workspace.channels
    ]
    other = generate_workspace(12, now)
    assert [c.messages for c in other.channels] != [c.messages for c in again.channels]
    days = {ts_datetime(m["ts"]).date() for c in again.channels for m in c.messages}
    for back in range(1, 15):
        assert (now - timedelta(days=back)).date() in days
    assert min(days) >= (now - timedelta(days=15)).date()
    assert all(ts_datetime(m["ts"]) <= now for c in again.channels for m in c.messages)


def test_big_channel_is_a_parameter(fake: FakeSlack) -> None:
    big = generate_workspace(3, fake.workspace.now, big_channel_messages=2_000)
    firehose = next(c for c in big.channels if c.name == "firehose")
    assert len(firehose.messages) == 2_000
    assert "firehose" not in {c.name for c in fake.workspace.channels}
