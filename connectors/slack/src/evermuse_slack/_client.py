"""The Slack Web API as this connector calls it.

slack_sdk's ``WebClient`` does the HTTP (every method is a form-encoded POST with a
Bearer token). Out of the box it retries only dropped connections, once; here it also
gets a 429 handler that honours ``Retry-After``, a 5xx handler, and client-side
pacing per method through the framework's shared limiters, so that a sync keeps
under Slack's per-method, per-workspace limits instead of provoking 429s.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Iterator, Mapping
from http.client import RemoteDisconnected
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit

from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from evermuse_connectors.connector import (
    ExtractContext,
    RateLimit,
    RateLimiter,
    parse_retry_after,
)
from evermuse_connectors.errors import SourceAuthError, SourceError
from evermuse_slack._config import SlackConfig

__all__ = ["SDK_LOGGER", "UNREADABLE", "PagingError", "SlackApi", "SlackRefusal"]

logger = logging.getLogger(__name__)
# slack_sdk writes every response body at DEBUG unless its logger's own level is
# above DEBUG: message texts and file links (url_private*) are customer data, so
# its logger here stays at INFO. Set this logger to DEBUG to see them anyway.
SDK_LOGGER = logging.getLogger("evermuse_slack.sdk")
SDK_LOGGER.setLevel(logging.INFO)

# Errors that mean the token or the app's scopes are wrong: retrying cannot help.
_AUTH_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "team_access_not_granted",
    }
)
# Errors that mean one conversation (or thread) cannot be read by this token.
UNREADABLE = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "method_not_supported_for_channel_type",
        "thread_not_found",
        "access_denied",
    }
)
# Pace per (source, method) after 429s, as a share of the configured rate; kept
# for the process so that the next window starts at the pace that worked.
_slowdown: dict[tuple[str, str], float] = {}
_slowdown_lock = threading.Lock()
_MIN_PACE = 0.25
_SCOPES_HINT = (
    "channels:history, groups:history, im:history, mpim:history, channels:read, "
    "groups:read, users:read and (for emails) users:read.email"
)


class SlackRefusal(SourceError):
    """Slack answered ``ok: false``; ``error`` is Slack's error code."""

    def __init__(self, method: str, error: str, status: int) -> None:
        self.method = method
        self.error = error
        super().__init__(
            f"Slack {method} answered ok:false with error {error!r} (HTTP {status}); "
            "see the method's page on docs.slack.dev for what it means"
        )


class PagingError(SourceError):
    """Cursor paging could not go on (a repeated cursor, has_more without one)."""

    def __init__(self, method: str, what: str, problem: str) -> None:
        self.method = method
        self.problem = problem
        super().__init__(
            f"Slack {method} for {what}: {problem}; stopped paging so the sync does "
            "not loop. What came before was kept; re-run the window later."
        )


def _method_of(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) and value else value)
    return None


class SlackApi:
    """Paced, retrying Slack calls for one extract; safe to use from two threads."""

    def __init__(
        self, config: SlackConfig, token: SecretStr, ctx: ExtractContext
    ) -> None:
        self._config = config
        self._token = token
        self._ctx = ctx
        self._local = threading.local()
        self._lock = threading.Lock()
        self.rate_limited = 0

    def __repr__(self) -> str:
        return f"SlackApi(base_url={self._config.base_url!r})"

    def limiter(self, method: str) -> RateLimiter:
        limit = self._config.rate_limit(method)
        factor = _slowdown.get((self._ctx.source, method), 1.0)
        if factor < 1.0:
            limit = RateLimit(limit.requests * factor, limit.per_seconds, limit.burst)
        return self._ctx.limiter(f"slack:{method}", limit)

    def _slow_down(self, method: str) -> None:
        # A 429 despite pacing means the workspace allows less than the settings
        # say (another app on the same token, a stricter tier): go 20% slower for
        # the rest of this process instead of hitting the wall again.
        key = (self._ctx.source, method)
        with _slowdown_lock:
            _slowdown[key] = max(_MIN_PACE, _slowdown.get(key, 1.0) * 0.8)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One paced call; SlackRefusal for ok:false, SourceAuthError for auth."""
        self.limiter(method).acquire()
        self._ctx.count_call(method)
        arguments = {k: v for k, v in params.items() if v is not None}
        try:
            response = self._client().api_call(method, params=arguments)
        except SlackApiError as exc:
            raise self._translate(method, exc) from exc
        except (SlackClientError, OSError) as exc:
            raise SourceError(
                f"Slack {method} could not be reached ({type(exc).__name__}) after "
                "retries; check base_url and the network, then re-run the window"
            ) from exc
        data = response.data
        if not isinstance(data, dict):
            raise SourceError(f"Slack {method} answered a non-JSON body; expected JSON")
        return data

    def pages(
        self, method: str, *, items_key: str, what: str, **params: Any
    ) -> Iterator[dict[str, Any]]:
        """Every page of a cursor-paginated method, in order.

        Slack ends a collection with an empty ``next_cursor``; a page may be empty
        and still have a cursor ("fewer than the requested number of items may be
        returned"), so only the cursor decides.
        """
        cursor: str | None = None
        seen: set[str] = set()
        number = 0
        while True:
            page = self.call(method, cursor=cursor, **params)
            number += 1
            items = page.get(items_key)
            if items is not None and not isinstance(items, list):
                raise SourceError(
                    f"Slack {method} answered {items_key} of type "
                    f"{type(items).__name__}; expected a list"
                )
            logger.info(
                "%s: %s %s page %d: %d %s",
                self._ctx.source,
                method,
                what,
                number,
                len(items or []),
                items_key,
            )
            yield page
            metadata = page.get("response_metadata") or {}
            next_cursor = str(metadata.get("next_cursor") or "")
            if not next_cursor:
                if page.get("has_more"):
                    raise PagingError(
                        method, what, "has_more is true but no next_cursor came back"
                    )
                return
            if next_cursor in seen or next_cursor == cursor:
                raise PagingError(
                    method, what, f"the server repeated a cursor after page {number}"
                )
            seen.add(next_cursor)
            cursor = next_cursor

    def before_retry(
        self, url: str, *, wait: float, reason: str, rate_limited: bool
    ) -> None:
        """Wait as asked, then take a place in the method's pace for the retry."""
        method = _method_of(url)
        logger.warning(
            "%s: Slack %s %s; retrying in %.1fs", self._ctx.source, method, reason, wait
        )
        if rate_limited:
            with self._lock:
                self.rate_limited += 1
            self._slow_down(method)
            # Every thread calling this method holds back, not only this one.
            self.limiter(method).pause(wait)
        if wait > 0:
            time.sleep(wait)
        self.limiter(method).acquire()
        self._ctx.count_call(method)

    def _client(self) -> WebClient:
        client: WebClient | None = getattr(self._local, "client", None)
        if client is None:
            config = self._config
            handlers: list[RetryHandler] = [
                _ConnectionRetry(self),
                _RateLimitRetry(self, config.max_rate_limit_retries),
                _ServerErrorRetry(self, config.max_server_error_retries),
            ]
            client = WebClient(
                token=self._token.get_secret_value(),
                base_url=config.base_url,
                timeout=math.ceil(config.timeout_seconds),
                retry_handlers=handlers,
                logger=SDK_LOGGER,
            )
            self._local.client = client
        return client

    def _translate(self, method: str, exc: SlackApiError) -> SourceError:
        response = exc.response
        status = int(response.status_code)
        data = response.data if isinstance(response.data, dict) else {}
        error = str(data.get("error") or f"http_{status}")
        if status == 429 or error == "ratelimited":
            return SourceError(
                f"Slack {method} still answered 429 after "
                f"{self._config.max_rate_limit_retries} retries; lower the source's "
                "rates (settings.rates) or raise max_rate_limit_retries"
            )
        if error in _AUTH_ERRORS:
            needed = data.get("needed")
            scope = f" (the method needs scope {needed})" if needed else ""
            return SourceAuthError(
                f"Slack refused {method} with {error}{scope}: check the bot token in "
                f"${self._config.token_env} and that the app has {_SCOPES_HINT}"
            )
        return SlackRefusal(method, error, status)


class _RateLimitRetry(RateLimitErrorRetryHandler):
    """Retries a 429 after the ``Retry-After`` seconds, pausing the method's pace."""

    def __init__(self, api: SlackApi, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._api = api

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or SourceError("Slack 429 retry without a response")
        # slack_sdk's own handler reads int(Retry-After) and adds up to a second of
        # jitter; the framework's parser also takes fractions and HTTP-dates.
        seconds = parse_retry_after(_header(response.headers, "retry-after"))
        self._api.before_retry(
            request.url,
            wait=1.0 if seconds is None else seconds,
            reason="answered 429 (ratelimited)",
            rate_limited=True,
        )
        state.next_attempt_requested = True
        state.increment_current_attempt()


class _ServerErrorRetry(ServerErrorRetryHandler):
    """Retries 500, 502, 503 and 504 with capped exponential backoff."""

    def __init__(self, api: SlackApi, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._api = api

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in (500, 502, 503, 504)

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        ceiling = min(30.0, 0.5 * 2**state.current_attempt)
        asked = parse_retry_after(
            _header(response.headers, "retry-after") if response else None
        )
        wait = asked if asked is not None else random.uniform(ceiling / 2, ceiling)  # noqa: S311
        status = response.status_code if response is not None else "error"
        self._api.before_retry(
            request.url, wait=wait, reason=f"answered HTTP {status}", rate_limited=False
        )
        state.next_attempt_requested = True
        state.increment_current_attempt()


class _ConnectionRetry(ConnectionErrorRetryHandler):
    """Retries a dropped or timed-out connection twice, paced like any call."""

    def __init__(self, api: SlackApi) -> None:
        super().__init__(
            max_retry_count=2,
            error_types=[
                URLError,
                ConnectionResetError,
                RemoteDisconnected,
                TimeoutError,
            ],
        )
        self._api = api

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = random.uniform(0.25, 0.5) * 2**state.current_attempt  # noqa: S311
        reason = f"connection failed ({type(error).__name__})"
        self._api.before_retry(
            request.url, wait=wait, reason=reason, rate_limited=False
        )
        state.next_attempt_requested = True
        state.increment_current_attempt()
