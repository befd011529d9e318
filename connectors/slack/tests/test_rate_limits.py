"""429s are honoured (Retry-After), 5xx retried, and pacing keeps a sync clear of
the fake's per-method limits; the limited regime asks for 15 messages a page."""

from __future__ import annotations

import itertools

import pytest
from evermuse_slack.testing import Harness

from evermuse_connectors.errors import SourceError


def _gaps_after_429(harness: Harness, method: str) -> list[float]:
    times = [t for t, name, _ in harness.fake.requests if name == method]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_rate_limited_call_waits_retry_after_then_succeeds(harness: Harness) -> None:
    window = harness.window(2)
    plain = harness.sync(window, source="plain")
    harness.fake.reset_counts()
    harness.fake.faults.rate_limited["conversations.history"] = 1
    harness.fake.faults.retry_after = 1

    result = harness.sync(window, source="limited")

    assert harness.fake.rate_limited["conversations.history"] == 1
    assert result.record_bytes() == plain.record_bytes()
    # The retry went out only after the second the server asked for.
    assert _gaps_after_429(harness, "conversations.history")[0] >= 1.0
    assert result.stats.notes["rate_limited_responses"] == 1
    # Both attempts are counted as calls, as the server counted them.
    assert (
        result.stats.calls["conversations.history"]
        == harness.fake.calls["conversations.history"]
    )


def test_rate_limit_retries_run_out_with_a_clear_error(harness: Harness) -> None:
    harness.fake.faults.rate_limited["auth.test"] = 5
    with pytest.raises(SourceError, match="429") as caught:
        harness.sync(harness.window(1), harness.config(max_rate_limit_retries=0))
    assert "rates" in str(caught.value)


def test_server_errors_are_retried(harness: Harness) -> None:
    window = harness.window(3)
    plain = harness.sync(window, source="plain")
    harness.fake.faults.server_errors["conversations.replies"] = 1
    harness.fake.faults.server_errors["conversations.history"] = 1
    result = harness.sync(window, source="flaky")
    assert result.record_bytes() == plain.record_bytes()
    assert harness.fake.faults.server_errors == {
        "conversations.replies": 0,
        "conversations.history": 0,
    }


def test_server_errors_past_the_retries_fail_the_window(harness: Harness) -> None:
    harness.fake.faults.server_errors["users.list"] = 3
    with pytest.raises(SourceError, match=r"users\.list"):
        harness.sync(harness.window(1), harness.config(max_server_error_retries=1))


def test_pacing_keeps_under_the_servers_limits(harness: Harness) -> None:
    # The fake allows 20 a second per method (burst 2); the client paces at that.
    for method in ("conversations.history", "conversations.replies", "users.info"):
        harness.fake.set_rate_limit(method, 20, 1.0, burst=2)
    rates = {
        "tier2_per_minute": 1200.0,
        "tier3_per_minute": 1200.0,
        "tier4_per_minute": 1200.0,
    }
    result = harness.sync(harness.window(2), harness.config(rates=rates))
    assert sum(harness.fake.rate_limited.values()) == 0
    assert result.stats.notes["rate_limited_responses"] == 0
    assert result.records


def test_limited_regime_asks_for_fifteen_a_page(harness: Harness) -> None:
    window = harness.window(2)
    standard = harness.sync(window, source="standard")
    harness.fake.methods.limited = True
    harness.fake.reset_counts()
    limited = harness.sync(window, harness.config(rate_regime="limited"), source="ltd")
    for method in ("conversations.history", "conversations.replies"):
        assert {c["limit"] for c in harness.calls_of(method)} == {"15"}
    assert limited.record_bytes() == standard.record_bytes()


def test_limited_regime_paces_history_at_its_own_rate(harness: Harness) -> None:
    config = harness.config(
        rate_regime="limited",
        rates={"limited_per_minute": 1.0, "tier3_per_minute": 50.0},
    )
    assert config.rate_limit("conversations.history").spacing == 60.0
    assert config.rate_limit("conversations.replies").spacing == 60.0
    assert config.rate_limit("conversations.join").spacing == pytest.approx(1.2)
    assert config.page_size("conversations.history") == 15
    assert harness.config().page_size("conversations.history") == 200


def test_a_429_slows_that_method_for_the_rest_of_the_process(harness: Harness) -> None:
    from evermuse_slack._client import SlackApi
    from pydantic import SecretStr

    from evermuse_connectors.connector import ExtractContext

    config = harness.config()
    configured = config.rate_limit("conversations.replies").requests
    harness.fake.faults.rate_limited["conversations.replies"] = 1
    harness.sync(harness.window(2), config, source="adapting")

    ctx = ExtractContext(
        source="adapting", window=harness.window(3), store=harness.store, environ={}
    )
    api = SlackApi(config, SecretStr("unused"), ctx)
    assert api.limiter("conversations.replies").limit.requests == pytest.approx(
        configured * 0.8
    )
    assert api.limiter("conversations.history").limit.requests == configured


def test_dropped_connections_are_retried(harness: Harness) -> None:
    window = harness.window(2)
    plain = harness.sync(window, source="plain")
    harness.fake.reset_counts()
    harness.fake.faults.dropped["conversations.history"] = 1
    harness.fake.faults.dropped["conversations.replies"] = 1
    result = harness.sync(window, source="dropped")
    assert result.record_bytes() == plain.record_bytes()
    assert harness.fake.faults.dropped == {
        "conversations.history": 0,
        "conversations.replies": 0,
    }
    assert (
        result.stats.calls["conversations.history"]
        == harness.fake.calls["conversations.history"]
    )
