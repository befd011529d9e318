"""The settings model refuses what would fail later, with the field's name."""

from __future__ import annotations

from typing import Any

import pytest
from evermuse_gmail import GmailConfig
from pydantic import ValidationError

BASE: dict[str, Any] = {
    "auth": {"kind": "service_account", "key_env": "GMAIL_KEY"},
    "mailboxes": ["Support@Acme.example"],
}


def test_defaults() -> None:
    config = GmailConfig.model_validate(BASE)
    assert config.mailboxes == ["support@acme.example"]
    assert config.exclude_categories == ["promotions", "social"]
    assert config.batch_uri == "https://gmail.googleapis.com/batch/gmail/v1"
    assert (config.page_size, config.batch_size) == (500, 50)
    assert config.quota.units == 6000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mailbox": ["x@y.example"]}, "Extra inputs are not permitted"),
        ({"api_endpoint": "http://gmail.example.com"}, "plain http"),
        ({"api_endpoint": "ftp://gmail.example.com"}, "absolute http"),
        ({"api_endpoint": "https://gmail.example.com/?key=1"}, "query"),
        (
            {"auth": {"kind": "service_account", "key_env": '{"private_key": "x"}'}},
            "NAME of an environment variable",
        ),
        ({"auth": {"kind": "magic"}}, "service_account"),
        ({"mailboxes": ["not-an-address"]}, "mailbox address"),
        ({"mailboxes": ["a@b.example", "A@b.example"]}, "twice"),
        ({"mailboxes": []}, "mailboxes"),
        ({"internal_domains": ["not a domain"]}, "domain"),
        ({"exclude_categories": ["spam"]}, "promotions"),
        ({"page_size": 501}, "500"),
        ({"batch_size": 101}, "100"),
        ({"quota": {"units": 100}}, "twice the cost of one batch"),
        ({"directory": {"admin_subject": "admin"}}, "mailbox address"),
    ],
)
def test_mistakes_are_refused_by_name(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GmailConfig.model_validate({**BASE, **change})


def test_http_is_allowed_to_loopback_only() -> None:
    for host in ("127.0.0.1:8080", "localhost", "[::1]:9000"):
        config = GmailConfig.model_validate({**BASE, "api_endpoint": f"http://{host}/"})
        assert config.api_endpoint == f"http://{host}"


def test_an_authorized_user_reaches_one_mailbox() -> None:
    user = {"auth": {"kind": "authorized_user", "credentials_env": "GMAIL_USER"}}
    assert GmailConfig.model_validate(user).mailboxes == []
    with pytest.raises(ValidationError, match="one mailbox"):
        GmailConfig.model_validate(
            {**user, "mailboxes": ["a@b.example", "c@b.example"]}
        )
    with pytest.raises(ValidationError, match="domain-wide delegation"):
        GmailConfig.model_validate(
            {**user, "directory": {"admin_subject": "a@b.example"}}
        )


def test_the_directory_can_replace_the_mailbox_list() -> None:
    config = GmailConfig.model_validate(
        {**BASE, "mailboxes": [], "directory": {"admin_subject": "Admin@Acme.example"}}
    )
    assert config.directory is not None
    assert config.directory.admin_subject == "admin@acme.example"
