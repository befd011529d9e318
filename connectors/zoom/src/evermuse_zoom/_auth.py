"""Server-to-Server OAuth: an account-credentials token, cached until it expires.

Zoom issues no refresh token for this grant; a new token is simply requested with
the client credentials again, and several tokens may be live at once. The cache is
per process and keyed by the credentials, so the windows of one source that run in
one process share a token instead of each asking for one.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from evermuse_connectors.connector import HttpSession
from evermuse_connectors.errors import SourceAuthError, SourceError, shorten

__all__ = ["TokenProvider"]

logger = logging.getLogger(__name__)

# Ask again this long before Zoom's stated expiry, so a token never dies in flight.
_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class _Cached:
    token: SecretStr
    expires_at: float  # on the provider's clock


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()


class TokenProvider:
    """Hands out a valid access token, fetching one when none is cached or live."""

    def __init__(
        self,
        session: HttpSession,
        *,
        token_url: str,
        account_id: SecretStr,
        client_id: SecretStr,
        client_secret: SecretStr,
        on_fetch: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._token_url = token_url
        self._account_id = account_id
        self._client_id = client_id
        self._client_secret = client_secret
        self._on_fetch = on_fetch
        self._clock = clock
        self._key = hashlib.sha256(
            "\0".join(
                (
                    token_url,
                    account_id.get_secret_value(),
                    client_id.get_secret_value(),
                    client_secret.get_secret_value(),
                )
            ).encode()
        ).hexdigest()

    def __repr__(self) -> str:
        return f"TokenProvider(token_url={self._token_url!r})"

    def token(self) -> str:
        """A live access token: the cached one, or a fresh one."""
        with _cache_lock:
            cached = _cache.get(self._key)
            if cached is not None and self._clock() < cached.expires_at:
                return cached.token.get_secret_value()
            fresh = self._fetch()
            _cache[self._key] = fresh
            return fresh.token.get_secret_value()

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (Zoom refused it), unless a newer one replaced it."""
        with _cache_lock:
            cached = _cache.get(self._key)
            if cached is not None and cached.token.get_secret_value() == token:
                del _cache[self._key]

    def _fetch(self) -> _Cached:
        self._on_fetch()
        started = self._clock()
        try:
            response = self._session.post(
                self._token_url,
                params={
                    "grant_type": "account_credentials",
                    "account_id": self._account_id.get_secret_value(),
                },
                auth=httpx.BasicAuth(
                    self._client_id.get_secret_value(),
                    self._client_secret.get_secret_value(),
                ),
            )
        except SourceAuthError as exc:  # 401/403: the client id or secret is wrong
            raise SourceAuthError(_refused("401 or 403")) from exc
        if response.status_code != 200:
            raise SourceAuthError(
                _refused(f"{response.status_code} ({_reason(response)})")
            )
        body = _json(response)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise SourceError(
                "Zoom's token endpoint answered 200 without an access_token (got "
                f"keys {shorten(sorted(body))}); check token_url points at Zoom's "
                "OAuth endpoint"
            )
        lifetime = _lifetime(body.get("expires_in"))
        margin = min(_MARGIN_SECONDS, lifetime / 10)
        logger.info("fetched a Zoom access token valid for %.0fs", lifetime)
        return _Cached(SecretStr(token), started + lifetime - margin)


def _refused(answer: str) -> str:
    return (
        f"Zoom's token endpoint answered {answer}: expected an access token for the "
        "account_credentials grant; check the source's account id, client id and "
        "client secret variables and that the Server-to-Server app is activated"
    )


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _reason(response: httpx.Response) -> str:
    body = _json(response)
    reason = body.get("reason") or body.get("error") or body.get("message")
    return shorten(reason, 120) if reason else "no reason given"


def _lifetime(value: object) -> float:
    # Zoom documents 3600 seconds; a missing or odd value is treated as short-lived
    # rather than trusted, so the worst case is one extra token request.
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    logger.warning("Zoom gave no usable expires_in (%s); assuming 300s", value)
    return 300.0
