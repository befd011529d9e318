"""A local fake of the Zoom API, for tests, benchmarks and the demo.

``FakeZoom.start(seed=..., now=...)`` serves a generated account on 127.0.0.1; its
``settings`` point a zoom source at it and ``environ`` holds the credentials it
accepts. Tests may also tell it to answer 429 (:meth:`FakeZoom.fail_next`), revoke
every token (:meth:`FakeZoom.revoke_tokens`), and read what it was asked
(:attr:`FakeZoom.calls`, :attr:`FakeZoom.seen`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from datetime import datetime
from typing import Any

from evermuse_connectors.connector import FakeSource
from evermuse_zoom.fake._data import (
    COMPANY_DOMAIN,
    FakeAccount,
    FakeMeeting,
    FakeOptions,
    generate,
)
from evermuse_zoom.fake._protocol import Fault, Seen, State
from evermuse_zoom.fake._server import FakeZoomServer

__all__ = [
    "COMPANY_DOMAIN",
    "FakeAccount",
    "FakeMeeting",
    "FakeOptions",
    "FakeZoom",
    "Fault",
    "Seen",
]

ACCOUNT_ENV = "EVERMUSE_FAKE_ZOOM_ACCOUNT_ID"
CLIENT_ID_ENV = "EVERMUSE_FAKE_ZOOM_CLIENT_ID"
CLIENT_SECRET_ENV = "EVERMUSE_FAKE_ZOOM_CLIENT_SECRET"  # noqa: S105 (a name)


def _derived(seed: int, purpose: str) -> str:
    return hashlib.sha256(f"fake-zoom:{seed}:{purpose}".encode()).hexdigest()[:32]


def _port_for(seed: int) -> int:
    # Below Linux's ephemeral range (32768+), where client sockets would collide.
    return 20000 + int(_derived(seed, "port"), 16) % 10000


def _bind(state: State, port: int) -> FakeZoomServer:
    try:
        return FakeZoomServer(state, port)
    except OSError:
        if port == 0:
            raise
        return FakeZoomServer(state, 0)


class FakeZoom(FakeSource):
    """A running fake Zoom API holding one generated account."""

    def __init__(self, server: FakeZoomServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        state = server.state
        self.url = server.url
        self.account: FakeAccount = state.account
        self.settings: dict[str, Any] = {
            "api_base_url": f"{self.url}/v2",
            "token_url": f"{self.url}/oauth/token",
            "account_id_env": ACCOUNT_ENV,
            "client_id_env": CLIENT_ID_ENV,
            "client_secret_env": CLIENT_SECRET_ENV,
            # A local fake has no account-wide budget to share: pace loosely.
            "light_per_second": 500.0,
            "medium_per_second": 500.0,
        }
        self.environ: dict[str, str] = {
            ACCOUNT_ENV: state.account.id,
            CLIENT_ID_ENV: state.client_id,
            CLIENT_SECRET_ENV: state.client_secret,
        }

    def __repr__(self) -> str:
        return f"FakeZoom({self.url!r}, meetings={len(self.account.meetings)})"

    @classmethod
    def start(
        cls,
        *,
        seed: int,
        now: datetime,
        options: FakeOptions | None = None,
        token_ttl: float = 3600.0,
        page_token_ttl: float = 900.0,
        redirect_downloads: bool = True,
        light_per_second: float | None = None,
        medium_per_second: float | None = None,
        port: int | None = None,
        repeat_page_tokens: bool = False,
    ) -> FakeZoom:
        """Generate the account and serve it; ``*_per_second`` make the fake answer
        429 above that rate, as Zoom does above a plan's limits.

        The attachments' download URLs name the fake's port, and the same seed must
        give the same records byte for byte, so by default the fake listens on a
        port derived from the seed, and on any free port only if that one is taken.
        """
        state = State(
            account=generate(seed, now, options),
            now=now,
            client_id=_derived(seed, "client-id"),
            client_secret=_derived(seed, "client-secret"),
            signing_key=_derived(seed, "signing-key").encode(),
            token_ttl=token_ttl,
            page_token_ttl=page_token_ttl,
            redirect_downloads=redirect_downloads,
            per_second={"light": light_per_second, "medium": medium_per_second},
            repeat_page_tokens=repeat_page_tokens,
        )
        server = _bind(state, _port_for(seed) if port is None else port)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() waits at most
            name="fake-zoom",
            daemon=True,
        )
        thread.start()
        return cls(server, thread)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- for tests and benchmarks ------------------------------------------------

    @property
    def calls(self) -> Counter[str]:
        """Requests answered, by route name (``meetings.recordings``, ...)."""
        with self._server.state.lock:
            return Counter(self._server.state.calls)

    @property
    def seen(self) -> list[Seen]:
        with self._server.state.lock:
            return list(self._server.state.seen)

    @property
    def issued_tokens(self) -> list[str]:
        """Every access token the fake handed out (for leak checks in tests)."""
        with self._server.state.lock:
            return list(self._server.state.issued)

    def fail_next(self, *faults: Fault) -> None:
        """Answer the next matching requests with these errors, in order."""
        with self._server.state.lock:
            self._server.state.faults.extend(faults)

    def revoke_tokens(self) -> None:
        """Invalidate every access token issued so far (Zoom answers 401)."""
        with self._server.state.lock:
            self._server.state.tokens.clear()

    def expire_page_tokens(self) -> None:
        """Make every next_page_token issued so far stale."""
        with self._server.state.lock:
            tokens = self._server.state.page_tokens
            for key, (listing, offset, _) in list(tokens.items()):
                tokens[key] = (listing, offset, time.monotonic() - 10**6)

    def reset_counts(self) -> None:
        with self._server.state.lock:
            self._server.state.calls.clear()
            self._server.state.seen.clear()
