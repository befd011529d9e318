"""The HTTP session and rate limiter handed to connectors."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from evermuse_connectors.connector import (
    HttpSession,
    RateLimit,
    RateLimiter,
    RetryPolicy,
    parse_retry_after,
    redact_url,
)
from evermuse_connectors.errors import SourceAuthError, SourceError


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_limiter_spaces_requests_at_the_allowed_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(10, 1.0), clock=clock, sleep=clock.sleep)
    for _ in range(21):
        limiter.acquire()
    assert clock.now == pytest.approx(102.0)


def test_the_limiter_allows_a_burst_then_paces() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(60, 60.0, burst=5), clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.acquire()
    assert clock.slept == []
    limiter.acquire()
    assert clock.slept == [pytest.approx(1.0)]


def test_a_pause_holds_back_the_next_request() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(100, 1.0), clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.pause(3.0)
    limiter.acquire()
    assert clock.now == pytest.approx(103.0)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_redact_url_drops_query_and_user_info() -> None:
    url = "https://user:pw@files.example.com/rec.m4a?access_token=abc"
    assert redact_url(url) == "https://files.example.com/rec.m4a?[redacted]"


class Flaky(BaseHTTPRequestHandler):
    script: ClassVar[list[tuple[int, dict[str, str]]]] = []
    seen = 0

    def log_message(self, format: str, *args: Any) -> None:
        del format, args

    def do_GET(self) -> None:
        cls = type(self)
        status, headers = cls.script[min(cls.seen, len(cls.script) - 1)]
        cls.seen += 1
        body = b'{"ok": true}' if status == 200 else b'{"error": "x"}'
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def flaky() -> Iterator[str]:
    Flaky.seen = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _session(url: str, slept: list[float], **retry: Any) -> HttpSession:
    return HttpSession(
        base_url=url, retry=RetryPolicy(**retry), sleep=slept.append, seed=1
    )


def test_429_waits_retry_after_then_succeeds(flaky: str) -> None:
    Flaky.script = [(429, {"Retry-After": "2"}), (503, {}), (200, {})]
    slept: list[float] = []
    with _session(flaky, slept, backoff_base=0.1) as http:
        response = http.get("/thing?token=SECRET")
    assert response.status_code == 200
    assert slept[0] == 2.0
    assert len(slept) == 2
    assert (http.stats.requests, http.stats.retries, http.stats.rate_limited) == (
        3,
        2,
        1,
    )


def test_giving_up_names_the_url_without_its_query(
    flaky: str, caplog: pytest.LogCaptureFixture
) -> None:
    Flaky.script = [(500, {})]
    slept: list[float] = []
    with (
        caplog.at_level(logging.WARNING),
        _session(flaky, slept, max_attempts=3, backoff_base=0.01) as http,
        pytest.raises(SourceError) as caught,
    ):
        http.get("/thing?token=SECRET")
    assert "3 attempt" in str(caught.value)
    assert "SECRET" not in str(caught.value)
    assert "SECRET" not in caplog.text
    assert Flaky.seen == 3


def test_refused_credentials_are_not_retried(flaky: str) -> None:
    Flaky.script = [(401, {})]
    with _session(flaky, []) as http, pytest.raises(SourceAuthError):
        http.get("/thing")
    assert Flaky.seen == 1


def test_httpx_own_request_log_loses_the_query_string(
    flaky: str, caplog: pytest.LogCaptureFixture
) -> None:
    Flaky.script = [(200, {})]
    with caplog.at_level(logging.INFO, logger="httpx"), _session(flaky, []) as http:
        http.get("/download?access_token=SECRET-CANARY")
    assert "/download" in caplog.text
    assert "SECRET-CANARY" not in caplog.text
