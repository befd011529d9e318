"""Calls to one mailbox through google-api-python-client: list pages, batched gets.

Every call is paced by the mailbox's quota budget (cost = Gmail quota units, through
the framework's shared limiter), counted, and retried here rather than by the
library (see ``_retry``). ``threads.get`` goes out in batch requests; parts that fail
with a retryable error go back to the front of the queue and ride along in the next
batch, so a rate-limited part costs no extra round trip of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httplib2
from google.auth.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp, Request
from googleapiclient.discovery import build
from googleapiclient.errors import BatchError, HttpError
from googleapiclient.http import BatchHttpRequest

from evermuse_connectors.connector import ExtractContext, RateLimit, RateLimiter
from evermuse_connectors.errors import SourceAuthError, SourceError
from evermuse_gmail._config import THREADS_GET_UNITS, GmailConfig
from evermuse_gmail._retry import Backoff, Problem, classify, scrub

__all__ = [
    "DIRECTORY_HINT",
    "LIST_UNITS",
    "ApiCaller",
    "CallCounter",
    "GoneError",
    "MailboxAuthError",
    "MailboxClient",
    "build_service",
]

logger = logging.getLogger(__name__)

_MAILBOX_HINT = (
    "check that the mailbox exists, has Gmail, and that the credentials may read "
    "it (for a service account: domain-wide delegation of the gmail.readonly scope)"
)
DIRECTORY_HINT = (
    "check that directory.admin_subject is an administrator and that the service "
    "account is delegated the admin.directory.user.readonly scope"
)
LIST_UNITS = 10  # threads.list
PROFILE_UNITS = 1


class MailboxAuthError(SourceAuthError):
    """This mailbox cannot be read with the configured credentials."""


class GoneError(SourceError):
    """The object was deleted (HTTP 404)."""


@dataclass
class CallCounter:
    """Round trips, quota units and outcomes of one extract, across its threads."""

    round_trips: int = 0
    token_requests: int = 0
    quota_units: int = 0
    retried_parts: int = 0
    rate_limited: int = 0
    threads_listed: int = 0
    threads_gone: int = 0
    threads_failed: int = 0
    mailboxes_failed: int = 0
    attachments_downloaded: int = 0
    attachments_inline: int = 0
    attachments_reused: int = 0
    attachments_not_staged: int = 0
    attachments_failed: int = 0
    attachment_bytes: int = 0
    attachment_units: int = 0
    attachment_round_trips: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)


class _CountingHttp(httplib2.Http):  # type: ignore[misc]
    """httplib2.Http that reports every round trip, OAuth token requests included."""

    def __init__(self, on_request: Callable[[str], None], timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._on_request = on_request

    def request(self, uri: str, *args: Any, **kwargs: Any) -> Any:
        self._on_request(uri)
        return super().request(uri, *args, **kwargs)


def authorized_http(
    credentials: Credentials, *, timeout: float, on_request: Callable[[str], None]
) -> AuthorizedHttp:
    """An httplib2 transport that adds (and refreshes) the credentials' token.

    The library refuses ``http=`` together with ``credentials=``; wrapping the
    credentials in an AuthorizedHttp is the one way to have both.
    """
    return AuthorizedHttp(credentials, http=_CountingHttp(on_request, timeout))


def build_service(
    api: str, version: str, *, http: AuthorizedHttp, endpoint: str
) -> Any:
    """A discovery client for ``endpoint``; the discovery document ships with the
    library, so building needs no network."""
    return build(
        api,
        version,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": endpoint},
        http=http,
    )


class ApiCaller:
    """Runs one call with pacing, counting and retries; raises what cannot be fixed."""

    def __init__(
        self,
        *,
        label: str,
        ctx: ExtractContext,
        config: GmailConfig,
        limiter: RateLimiter | None,
        counter: CallCounter,
        secrets: list[str],
        auth_hint: str = _MAILBOX_HINT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.label = label
        self.auth_hint = auth_hint
        self.ctx = ctx
        self.config = config
        self.limiter = limiter
        self.counter = counter
        self.secrets = secrets
        self.backoff = Backoff(config.backoff_base_seconds, config.backoff_cap_seconds)
        self._sleep = sleep

    def spend(self, units: int) -> None:
        if self.limiter is not None:
            self.limiter.acquire(units)
        self.counter.add("quota_units", units)

    def call(self, request: Any, method: str, units: int) -> dict[str, Any]:
        attempt = 0
        while True:
            attempt += 1
            self.spend(units)
            self.ctx.count_call(method)
            try:
                result = request.execute(num_retries=0)
            except Exception as exc:
                problem = classify(exc)
                if problem is None:
                    raise
                self.settle(problem, attempt, what=method)
                continue
            return result if isinstance(result, dict) else {}

    def settle(self, problem: Problem, attempt: int, *, what: str) -> None:
        """Wait before the next attempt, or raise the error this problem means."""
        detail = scrub(problem.detail, self.secrets)
        if problem.kind == "auth":
            raise MailboxAuthError(
                f"{self.label}: {what} was refused ({detail}); {self.auth_hint}"
            )
        if problem.kind == "not_found":
            raise GoneError(f"{self.label}: {what} found nothing ({detail})")
        if problem.kind == "fatal":
            raise SourceError(
                f"{self.label}: {what} failed with {detail}; this request is not "
                "retried. Check query and label_ids in the source's settings"
            )
        if attempt >= self.config.max_attempts:
            raise SourceError(
                f"{self.label}: {what} failed {attempt} times, last with {detail}; "
                "Gmail may be down or the quota too small. Try again later, or "
                "lower max_concurrent_mailboxes or quota.units"
            )
        self.wait(problem, attempt, what=what)

    def wait(self, problem: Problem, attempt: int, *, what: str) -> None:
        seconds = self.backoff.delay(attempt, problem)
        if problem.kind == "rate_limit":
            self.counter.add("rate_limited")
            if self.limiter is not None:
                # Hold back every other call of this mailbox too.
                self.limiter.pause(seconds)
        logger.warning(
            "%s: %s failed (%s); attempt %d, retrying in %.2fs",
            self.label,
            what,
            scrub(problem.detail, self.secrets),
            attempt,
            seconds,
        )
        self._sleep(seconds)


@dataclass
class BatchOutcome:
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: dict[str, Problem] = field(default_factory=dict)


class MailboxClient:
    """threads.list pages and batched threads.get for one mailbox."""

    def __init__(
        self,
        *,
        mailbox: str,
        user_id: str,
        credentials: Credentials,
        config: GmailConfig,
        caller: ApiCaller,
    ) -> None:
        self.mailbox = mailbox
        self.user_id = user_id
        self.config = config
        self.caller = caller
        self.credentials = credentials
        self._http = authorized_http(
            credentials,
            timeout=config.timeout_seconds,
            on_request=self._count_round_trip,
        )
        self.service = build_service(
            "gmail", "v1", http=self._http, endpoint=config.api_endpoint
        )

    def close(self) -> None:
        """Close the kept-alive connections (httplib2 keeps them open otherwise)."""
        self.service.close()

    def _count_round_trip(self, uri: str) -> None:
        counter = self.caller.counter
        counter.add("round_trips")
        if urlsplit(uri).path.rstrip("/").endswith("/token"):
            counter.add("token_requests")
            self.caller.ctx.count_call("oauth2.token")

    def profile_address(self) -> str:
        request = self.service.users().getProfile(userId=self.user_id)
        profile = self.caller.call(request, "users.getProfile", PROFILE_UNITS)
        return str(profile.get("emailAddress") or "").lower()

    def list_pages(self, q: str) -> Iterator[list[dict[str, Any]]]:
        """The ``threads`` of each threads.list page, in order."""
        token: str | None = None
        seen: set[str] = set()
        page = 0
        while True:
            request = (
                self.service.users()
                .threads()
                .list(
                    userId=self.user_id,
                    q=q,
                    labelIds=self.config.label_ids or None,
                    maxResults=self.config.page_size,
                    pageToken=token,
                    includeSpamTrash=False,
                )
            )
            body = self.caller.call(request, "threads.list", LIST_UNITS)
            page += 1
            threads = [t for t in body.get("threads") or [] if isinstance(t, dict)]
            logger.info(
                "%s: threads.list page %d has %d thread(s)",
                self.mailbox,
                page,
                len(threads),
            )
            yield threads
            token = body.get("nextPageToken") or None
            if token is None:
                return
            if token in seen:
                raise SourceError(
                    f"{self.mailbox}: threads.list returned a page token it had "
                    "returned before; stopping rather than looping. Re-run the window"
                )
            seen.add(token)

    def get_threads(self, ids: Sequence[str]) -> BatchOutcome:
        """threads.get (format=full) of ``ids`` in one batch request."""
        outcome = BatchOutcome()

        def on_part(
            request_id: str, response: Any, exception: Exception | None
        ) -> None:
            if exception is None and isinstance(response, dict):
                outcome.threads[request_id] = response
                return
            problem = classify(exception) if exception is not None else None
            outcome.problems[request_id] = problem or Problem(
                "transient", "the batch part held no thread"
            )

        batch = BatchHttpRequest(callback=on_part, batch_uri=self.config.batch_uri)
        threads = self.service.users().threads()
        for thread_id in ids:
            request = threads.get(userId=self.user_id, id=thread_id, format="full")
            batch.add(request, request_id=thread_id)
        self.fresh_token()
        self.caller.spend(THREADS_GET_UNITS * len(ids))
        self.caller.ctx.count_call("batch")
        self.caller.ctx.count_call("threads.get", len(ids))
        whole = self.execute_batch(batch)
        for thread_id in ids:
            if thread_id not in outcome.threads and thread_id not in outcome.problems:
                outcome.problems[thread_id] = whole or Problem(
                    "transient", "the batch response had no part for this thread"
                )
        return outcome

    def fresh_token(self, *, force: bool = False) -> None:
        """Refresh the token now if it has expired (or if ``force``)."""
        # BatchHttpRequest refreshes an expired token through a new httplib2.Http
        # that it never closes (a leaked socket per refresh); refreshing here goes
        # through this client's own connection instead.
        if self.credentials.valid and not force:
            return
        try:
            refresh = self.credentials.refresh
            refresh(Request(self._http.http))  # type: ignore[no-untyped-call]
        except Exception as exc:
            problem = classify(exc)
            if problem is None:
                raise
            if problem.kind == "auth":
                self.caller.settle(problem, 1, what="the token refresh")
            # Otherwise the batch request tries to refresh once more by itself.

    def execute_batch(self, batch: BatchHttpRequest) -> Problem | None:
        """Send the batch; the problem of the whole request, if it failed."""
        try:
            batch.execute()
        except HttpError as exc:
            return classify(exc)
        except (BatchError, KeyError, IndexError, ValueError) as exc:
            # The library raises these on a batch response it cannot parse.
            return Problem(
                "transient", f"unreadable batch response ({type(exc).__name__})"
            )
        except Exception as exc:
            problem = classify(exc)
            if problem is None:
                raise
            return problem
        return None


def quota_limiter(
    ctx: ExtractContext, config: GmailConfig, mailbox: str
) -> RateLimiter:
    """The mailbox's quota budget, shared by every window of the source in-process.

    A quarter of the budget may go out at once, so a typical window finishes
    without waiting; the rest is paced evenly. The limiter admits a call when the
    budget allows and charges its cost after, so within any period the spend can
    reach rate + burst + one call's cost: the rate leaves room for the burst and
    for the largest call (one full batch), so the total stays under Gmail's limit.
    The price: a long sync uses about 65 % of the budget (0.95 x (6000 - 1500 -
    500) of the default 6000 units a minute).
    """
    units = config.quota.units
    largest = config.batch_size * THREADS_GET_UNITS
    burst = units // 4
    # 5 % more headroom: the server sees calls after a varying network delay, so
    # two calls spaced exactly right here may land closer together there.
    rate = RateLimit(
        requests=0.95 * (units - burst - largest),
        per_seconds=config.quota.per_seconds,
        burst=burst,
    )
    return ctx.limiter(f"gmail-quota-{mailbox}", rate)
