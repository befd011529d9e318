"""The bot token never shows: not in logs (even at DEBUG), errors, reprs, raw items
or records. Config holds the variable's name; plain http only to loopback."""

from __future__ import annotations

import logging

import pytest
from evermuse_slack import SlackConfig
from evermuse_slack.testing import Harness
from pydantic import ValidationError

from evermuse_connectors.errors import ConfigError, SourceAuthError


def test_token_never_logged_in_a_full_sync(harness: Harness, caplog) -> None:
    token = harness.fake.token
    harness.fake.faults.rate_limited["conversations.replies"] = 1
    harness.fake.faults.server_errors["conversations.history"] = 1
    with caplog.at_level(logging.DEBUG):
        result = harness.sync(harness.window(2))
    assert result.records
    assert "conversations.history" in caplog.text, "the canary needs log lines"
    assert token not in caplog.text
    for item in result.items:
        assert token not in str(item.data)
    for record in result.records:
        assert token.encode() not in record.to_bytes()
        assert token not in repr(record)


def test_wrong_token_is_an_auth_error_that_names_the_variable(
    harness: Harness, caplog
) -> None:
    harness.fake.environ[next(iter(harness.fake.environ))] = "xoxb-wrong-0000-secretish"
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceAuthError) as caught:
        harness.sync(harness.window(1))
    message = str(caught.value)
    assert "invalid_auth" in message
    assert "EVERMUSE_FAKE_SLACK_TOKEN" in message
    assert "xoxb-wrong" not in message
    assert "xoxb-wrong" not in caplog.text


def test_missing_variable_says_what_to_set(harness: Harness) -> None:
    harness.fake.environ.clear()
    with pytest.raises(ConfigError, match="EVERMUSE_FAKE_SLACK_TOKEN"):
        harness.sync(harness.window(1))


def test_config_holds_a_name_and_refuses_a_pasted_token() -> None:
    with pytest.raises(ValidationError) as caught:
        SlackConfig(token_env="xoxb-1234-5678-abcdefghijkl")
    assert "xoxb-1234" not in str(caught.value)
    config = SlackConfig(token_env="MY_SLACK_TOKEN")
    assert "MY_SLACK_TOKEN" in repr(config)


@pytest.mark.parametrize(
    "url",
    [
        "http://slack.com/api/",
        "http://10.0.0.5:8080/api",
        "ftp://slack.com/",
        "slack.com",
    ],
)
def test_plain_http_is_refused_off_loopback(url: str) -> None:
    with pytest.raises(ValidationError, match="https"):
        SlackConfig(base_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "https://slack.com/api",
        "http://127.0.0.1:9/api/",
        "http://localhost:9/api/",
        "http://[::1]:9/api/",
    ],
)
def test_https_and_loopback_are_allowed(url: str) -> None:
    assert SlackConfig(base_url=url).base_url.endswith("/")


def test_workspace_url_must_be_https() -> None:
    with pytest.raises(ValidationError, match="workspace_url"):
        SlackConfig(workspace_url="http://127.0.0.1/")
