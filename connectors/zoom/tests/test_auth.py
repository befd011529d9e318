import time

import pytest
from evermuse_zoom._auth import TokenProvider
from evermuse_zoom.fake import ACCOUNT_ENV, CLIENT_ID_ENV, CLIENT_SECRET_ENV
from pydantic import SecretStr

from evermuse_connectors.connector import HttpSession
from evermuse_connectors.errors import SourceAuthError


@pytest.fixture
def session():
    with HttpSession() as session:
        yield session


def provider(fake, session, clock):
    return TokenProvider(
        session,
        token_url=fake.settings["token_url"],
        account_id=SecretStr(fake.environ[ACCOUNT_ENV]),
        client_id=SecretStr(fake.environ[CLIENT_ID_ENV]),
        client_secret=SecretStr(fake.environ[CLIENT_SECRET_ENV]),
        clock=clock,
    )


def test_token_is_cached_until_shortly_before_it_expires(start_fake, session):
    fake = start_fake(token_ttl=120)
    now = [1000.0]
    tokens = provider(fake, session, lambda: now[0])
    first = tokens.token()
    now[0] += 100
    assert tokens.token() == first
    assert fake.calls["oauth.token"] == 1
    now[0] += 9  # 109 s: inside the safety margin before Zoom's 120 s
    second = tokens.token()
    assert second != first
    assert fake.calls["oauth.token"] == 2


def test_windows_in_one_process_share_the_token(fake, run, day):
    run.extract(fake, day(1))
    run.extract(fake, day(2))
    assert fake.calls["oauth.token"] == 1
    assert fake.calls["past_meetings.participants"] > 2


def test_a_refused_token_is_replaced_and_the_call_repeated(fake, run, day):
    run.extract(fake, day(1))
    fake.revoke_tokens()
    fake.reset_counts()
    items, ctx = run.extract(fake, day(2))
    assert items
    refused = [s for s in fake.seen if s.status == 401]
    assert len(refused) == 1
    assert refused[0].route == "accounts.recordings"
    assert fake.calls["oauth.token"] == 1
    assert ctx.stats.calls["oauth.token"] == 1


def test_an_expired_token_is_fetched_again(start_fake, run, day):
    fake = start_fake(token_ttl=2)
    run.extract(fake, day(1))
    time.sleep(2.1)
    items, _ = run.extract(fake, day(2))
    assert items
    assert fake.calls["oauth.token"] == 2
    assert not [s for s in fake.seen if s.status == 401]


def test_wrong_credentials_fail_with_a_message_that_keeps_the_secret(fake, run, day):
    environ = {**fake.environ, CLIENT_SECRET_ENV: "wrong-secret-value"}
    fake.environ = environ
    with pytest.raises(SourceAuthError) as caught:
        run.extract(fake, day(1))
    message = str(caught.value)
    assert "401" in message
    assert "client secret" in message
    assert "wrong-secret-value" not in message


def test_a_missing_variable_names_itself(fake, run, day):
    fake.environ = {k: v for k, v in fake.environ.items() if k != CLIENT_ID_ENV}
    with pytest.raises(Exception, match=CLIENT_ID_ENV):
        run.extract(fake, day(1))
