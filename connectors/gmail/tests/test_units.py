"""Small pure pieces: failure classification, backoff, ordered fan-in."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httplib2
import pytest
from evermuse_gmail._fanin import fan_in
from evermuse_gmail._retry import Backoff, Problem, classify, scrub
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError


def http_error(
    status: int, reason: str, message: str = "", **headers: str
) -> HttpError:
    response = httplib2.Response({"status": status, **headers})
    body = {
        "error": {"code": status, "message": message, "errors": [{"reason": reason}]}
    }
    return HttpError(response, json.dumps(body).encode())


@pytest.mark.parametrize(
    ("error", "kind", "retry_after"),
    [
        (
            http_error(429, "rateLimitExceeded", **{"retry-after": "7"}),
            "rate_limit",
            7.0,
        ),
        (http_error(403, "userRateLimitExceeded"), "rate_limit", None),
        (http_error(403, "rateLimitExceeded"), "rate_limit", None),
        (http_error(403, "forbidden", "Delegation denied"), "auth", None),
        (http_error(403, "insufficientPermissions"), "auth", None),
        (http_error(401, "authError"), "auth", None),
        (http_error(400, "failedPrecondition"), "auth", None),
        (http_error(404, "notFound"), "not_found", None),
        (http_error(500, "backendError"), "transient", None),
        (http_error(503, "backendError", **{"retry-after": "2"}), "transient", 2.0),
        (http_error(400, "invalidArgument"), "fatal", None),
        (RefreshError("invalid_grant: Invalid email or User ID"), "auth", None),
        (ConnectionResetError(), "transient", None),
        (httplib2.ServerNotFoundError("no host"), "transient", None),
    ],
)
def test_classify(error: BaseException, kind: str, retry_after: float | None) -> None:
    problem = classify(error)
    assert problem is not None
    assert (problem.kind, problem.retry_after) == (kind, retry_after)


def test_the_retry_time_in_a_user_rate_limit_message_is_read() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    stamp = soon.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    problem = classify(
        http_error(
            403,
            "userRateLimitExceeded",
            f"User-rate limit exceeded.  Retry after {stamp}",
        )
    )
    assert problem is not None
    assert problem.retry_after is not None
    assert 28 <= problem.retry_after <= 30


def test_other_exceptions_are_not_ours() -> None:
    assert classify(ValueError("a bug")) is None


def test_backoff_grows_is_capped_and_takes_the_servers_word() -> None:
    backoff = Backoff(1.0, 8.0, seed=1)
    transient = Problem("transient", "x")
    delays = [backoff.delay(n, transient) for n in range(1, 7)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(8.0, 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert backoff.delay(3, Problem("rate_limit", "x", 429, 12.5)) == 12.5
    assert backoff.delay(3, Problem("rate_limit", "x", 429, 99_999)) == 900


def test_scrub_replaces_known_secrets() -> None:
    assert scrub("token ya29.abcdef leaked", ["ya29.abcdef"]) == "token [secret] leaked"


def producer(name: str, count: int, rng: random.Random) -> Iterator[str]:
    delays = [rng.random() / 200 for _ in range(count)]
    for n, delay in enumerate(delays):
        time.sleep(delay)
        yield f"{name}{n}"


def test_fan_in_order_does_not_depend_on_timing() -> None:
    sizes = {"a": 3, "b": 1, "c": 4, "d": 2}
    orders = []
    for seed in range(4):
        rngs = {name: random.Random(seed * 10 + i) for i, name in enumerate(sizes)}
        producers = [
            lambda n=n, c=c, r=rngs[n]: producer(n, c, r) for n, c in sizes.items()
        ]
        orders.append(list(fan_in(producers, concurrency=2)))
    assert orders[0] == ["a0", "b0", "a1", "c0", "a2", "c1", "d0", "c2", "d1", "c3"]
    assert all(order == orders[0] for order in orders)


def test_fan_in_runs_producers_at_the_same_time() -> None:
    barrier = threading.Barrier(3, timeout=5)

    def waits(name: str) -> Iterator[str]:
        barrier.wait()  # passes only when three producers run at once
        yield name

    assert sorted(fan_in([lambda n=n: waits(n) for n in "xyz"], concurrency=3)) == [
        "x",
        "y",
        "z",
    ]


def test_fan_in_passes_a_producers_error_on() -> None:
    def broken() -> Iterator[str]:
        yield "first"
        raise RuntimeError("boom")

    merged = fan_in([broken, lambda: iter(["other"])], concurrency=2)
    assert next(merged) == "first"
    assert next(merged) == "other"
    with pytest.raises(RuntimeError, match="boom"):
        next(merged)


def test_fan_in_stops_producers_when_the_consumer_stops() -> None:
    produced = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    for value in fan_in([endless], concurrency=1, buffer=2):
        if value == 3:
            break
    time.sleep(0.3)
    settled = len(produced)
    time.sleep(0.3)
    assert len(produced) == settled
    assert settled <= 3 + 2 + 2
