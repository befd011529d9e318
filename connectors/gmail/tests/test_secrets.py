"""No token, key or client secret in logs, errors, reprs, metadata or records."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from evermuse_gmail import GmailConnector
from evermuse_gmail._auth import CredentialSource
from evermuse_gmail.fake import KEY_ENV, FakeGmail
from evermuse_gmail.fake._content import ALICE

from evermuse_connectors.connector import ExtractContext
from evermuse_connectors.errors import ConfigError
from evermuse_connectors.store import Store
from evermuse_connectors.testing import CONTRACT_NOW as NOW
from evermuse_connectors.testing import day_window

CONNECTOR = GmailConnector()


def secrets_of(fake: FakeGmail, environ: dict[str, str]) -> list[str]:
    found = list(fake.issued_tokens)
    key = json.loads(fake.environ[KEY_ENV])
    # A few lines of the PEM body: any of them in a log would be a leak.
    found += [line for line in key["private_key"].splitlines() if len(line) > 40][:5]
    for value in environ.values():
        info = json.loads(value)
        found += [info[k] for k in ("client_secret", "refresh_token") if k in info]
    return found


def test_no_secret_anywhere_a_person_can_see(
    run: Any, fake: FakeGmail, store: Store, caplog: Any
) -> None:
    fake.deny(ALICE.email)
    fake.inject("threads.list", status=429, retry_after="0")
    fake.inject("threads.get", status=403, reason="userRateLimitExceeded")
    user_settings, user_environ = fake.authorized_user()
    with caplog.at_level(logging.DEBUG):
        service_sync = run(
            fake.settings, fake.environ, store, backoff_base_seconds=0.01
        )
        assert fake.api is not None
        fake.api.authority.revoke_all()  # a refresh mid-way, logged by google-auth
        user_sync = run(user_settings, user_environ, store, 2, source="gmail-user")
    secrets = secrets_of(fake, user_environ)
    assert len(secrets) >= 6
    shown = [
        caplog.text,
        json.dumps(service_sync.ctx.stats.to_json()),
        json.dumps(user_sync.ctx.stats.to_json()),
        repr(CONNECTOR.parse_config(fake.settings)),
        repr(service_sync.ctx),
        *(repr(r) for r in service_sync.records + user_sync.records),
        *(json.dumps(r.to_json()) for r in service_sync.records),
    ]
    assert service_sync.ctx.stats.skipped  # the refused mailbox was reported...
    for text in shown:
        for secret in secrets:
            assert secret not in text  # ...without any secret in the report


def test_a_rejected_key_is_named_never_shown(fake: FakeGmail, store: Store) -> None:
    key = json.loads(fake.environ[KEY_ENV])
    broken = {**key, "private_key": "-----BEGIN PRIVATE KEY-----\nnot-a-key-abcdefgh\n"}
    environ = {KEY_ENV: json.dumps(broken)}
    ctx = ExtractContext(
        source="s", window=day_window(NOW), store=store, environ=environ
    )
    config = CONNECTOR.parse_config(fake.settings)
    source = CredentialSource(config.auth, ctx)
    assert "not-a-key" not in repr(source)
    with pytest.raises(ConfigError, match=KEY_ENV) as caught:
        source.for_mailbox("support@acme.example")
    assert "not-a-key" not in str(caught.value)


def test_credential_json_that_is_not_json_is_not_echoed(
    fake: FakeGmail, store: Store
) -> None:
    environ = {KEY_ENV: "{hunter2-this-is-not-json"}
    ctx = ExtractContext(
        source="s", window=day_window(NOW), store=store, environ=environ
    )
    config = CONNECTOR.parse_config(fake.settings)
    with pytest.raises(ConfigError, match="not valid JSON") as caught:
        CredentialSource(config.auth, ctx)
    assert "hunter2" not in str(caught.value)
