"""A fake Gmail (and Google token endpoint, and Admin SDK directory) on 127.0.0.1.

``FakeGmail(seed=, now=).start()`` serves a generated workspace of acme.example:
``support@`` and ``alice@`` hold customer conversations (some shared through CC),
``bob@`` a few internal ones, ``admin@`` may list the directory, ``carol@`` is
suspended. ``settings`` point a source at it with a service-account key that
``environ`` holds; :meth:`FakeGmail.authorized_user` gives the OAuth-grant variant.
Tests steer it with :meth:`FakeGmail.inject` (failures on demand), ``deny`` (refuse
delegation for a mailbox) and a per-user quota, and read ``calls``,
``round_trips``, ``batch_sizes`` and the quota meter.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from evermuse_connectors.connector import FakeSource
from evermuse_gmail.fake._api import FakeGmailApi
from evermuse_gmail.fake._content import ALICE, BOB, DOMAIN, SUPPORT
from evermuse_gmail.fake._control import Fault, QuotaMeter
from evermuse_gmail.fake._generate import Workspace, generate
from evermuse_gmail.fake._oauth import TokenAuthority
from evermuse_gmail.fake._server import FakeServer
from evermuse_gmail.fake._store import Mailbox

__all__ = ["ADMIN", "KEY_ENV", "SUSPENDED", "FakeGmail"]

KEY_ENV = "EVERMUSE_FAKE_GMAIL_KEY"
USER_ENV = "EVERMUSE_FAKE_GMAIL_USER"
ADMIN = f"admin@{DOMAIN}"
SUSPENDED = f"carol@{DOMAIN}"


def _directory() -> list[dict[str, Any]]:
    people = [
        (ADMIN, "Ada Admin", False),
        (ALICE.email, ALICE.name, False),
        (BOB.email, BOB.name, False),
        (SUSPENDED, "Carol Gone", True),
        (SUPPORT.email, SUPPORT.name, False),
    ]
    return [
        {
            "kind": "admin#directory#user",
            "id": str(100000 + i),
            "primaryEmail": email,
            "name": {"fullName": name},
            "suspended": suspended,
            "archived": False,
            "isAdmin": email == ADMIN,
        }
        for i, (email, name, suspended) in enumerate(people)
    ]


class FakeGmail(FakeSource):
    """A running fake of Gmail; use as a context manager or call :meth:`stop`."""

    def __init__(
        self,
        *,
        seed: int = 7,
        now: datetime | None = None,
        days: int = 14,
        conversations_per_day: int = 6,
        quota_units: int = 60_000,
        quota_seconds: float = 60.0,
        mailboxes: tuple[str, ...] = (SUPPORT.email, ALICE.email),
        inline_attachment_bytes: int = 0,
    ) -> None:
        """``inline_attachment_bytes``: files up to this size come with their data
        in the payload rather than an attachment id (Gmail does that for small
        parts; the threshold is not published, so by default every file has an
        id)."""
        self.now = now or datetime.now(UTC)
        self.workspace: Workspace = generate(
            seed=seed,
            now=self.now,
            days=days,
            conversations_per_day=conversations_per_day,
        )
        users = {*self.workspace.users, ADMIN, SUSPENDED}
        self.mailboxes = {
            address: Mailbox(address, inline_bytes=inline_attachment_bytes)
            for address in sorted(users)
        }
        for delivery in self.workspace.deliveries:
            self.mailboxes[delivery.mailbox].add(delivery)
        self.quota = QuotaMeter(quota_units, quota_seconds)
        self._synced = list(mailboxes)
        self._quota_settings = {"units": quota_units, "per_seconds": quota_seconds}
        self._server: FakeServer | None = None
        self.api: FakeGmailApi | None = None

    def start(self) -> FakeGmail:
        authority = TokenAuthority("", set(self.mailboxes))
        api = FakeGmailApi(
            authority=authority,
            mailboxes=self.mailboxes,
            directory=_directory(),
            admins={ADMIN},
            quota=self.quota,
        )
        self._server = FakeServer(api)
        self.url = self._server.url
        authority.token_uri = f"{self.url}/token"
        self.api = api
        self._server.start()
        self.settings = {
            "auth": {"kind": "service_account", "key_env": KEY_ENV},
            "mailboxes": list(self._synced),
            "api_endpoint": self.url,
            "directory_endpoint": self.url,
            "quota": dict(self._quota_settings),
        }
        self.environ = {KEY_ENV: json.dumps(authority.service_account_info())}
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __repr__(self) -> str:
        return f"FakeGmail(url={getattr(self, 'url', None)!r})"

    @property
    def _api(self) -> FakeGmailApi:
        if self.api is None:
            raise RuntimeError("call FakeGmail.start() first")
        return self.api

    def authorized_user(
        self, email: str = SUPPORT.email
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Settings and environment for one mailbox's own OAuth grant."""
        info = self._api.authority.authorized_user_info(email)
        settings = {
            "auth": {"kind": "authorized_user", "credentials_env": USER_ENV},
            "api_endpoint": self.url,
            "quota": dict(self._quota_settings),
        }
        return settings, {USER_ENV: json.dumps(info)}

    def inject(
        self,
        method: str,
        *,
        status: int = 429,
        reason: str = "rateLimitExceeded",
        times: int = 1,
        retry_after: str | None = None,
        user: str | None = None,
        message: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (``batch``,
        ``oauth2.token``, or a Gmail method such as ``threads.get``)."""
        self._api.faults.add(
            Fault(method, status, reason, times, retry_after, user, message)
        )

    def clear_faults(self) -> None:
        """Forget the failures injected and not used up yet."""
        self._api.faults.clear()

    def deny(self, subject: str) -> None:
        """Refuse domain-wide delegation for ``subject`` (401 unauthorized_client)."""
        self._api.authority.denied.add(subject.lower())

    @property
    def calls(self) -> Counter[str]:
        return self._api.calls

    @property
    def round_trips(self) -> int:
        return self._api.round_trips

    @property
    def batch_sizes(self) -> list[int]:
        return self._api.batch_sizes

    @property
    def issued_tokens(self) -> list[str]:
        return list(self._api.authority.issued)

    def reset_counters(self) -> None:
        api = self._api
        api.calls.clear()
        api.round_trips = 0
        api.batch_sizes.clear()
