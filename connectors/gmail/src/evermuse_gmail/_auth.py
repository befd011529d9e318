"""Google credentials for each mailbox, from the secret the configuration names.

Two kinds: a service-account key with domain-wide delegation (the mailbox address
becomes the JWT ``sub``), and one user's OAuth grant (client id, client secret,
refresh token). Either JSON may sit in the environment variable itself or in a file
whose path the variable holds. The token endpoint comes from the JSON, so a fake
server can stand in for Google; it must be https unless it is on this machine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

import google.oauth2.credentials
from google.auth.credentials import Credentials
from google.oauth2 import service_account

from evermuse_connectors.connector import ExtractContext
from evermuse_connectors.errors import ConfigError
from evermuse_gmail._config import (
    AuthorizedUserAuth,
    ServiceAccountAuth,
    check_endpoint,
)

__all__ = ["DIRECTORY_SCOPE", "GMAIL_SCOPE", "CredentialSource"]

logger = logging.getLogger(__name__)

GMAIL_SCOPE = "https://www.googleapis.com/auth/gmail.readonly"
DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)

# Credentials hold their access token until it expires (an hour at Google), so
# windows synced one after another in the same process reuse it instead of asking
# the token endpoint again. Keyed by a digest of the secret, never the secret.
_cache: dict[tuple[str, str, str], Credentials] = {}
_cache_lock = threading.Lock()


def _load_json(value: str, env_name: str) -> dict[str, Any]:
    text = value
    if not value.lstrip().startswith("{"):
        path = Path(value).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"environment variable {env_name} should hold credential JSON or the "
                f"path of a JSON file, but {str(path)[:120]!r} cannot be read "
                f"({type(exc).__name__}); fix the path or put the JSON itself there"
            ) from None
    try:
        loaded = json.loads(text)
    except ValueError:
        # The text is a secret: say where it came from, never what it holds.
        raise ConfigError(
            f"the credentials in {env_name} are not valid JSON; download the key "
            "again and store it unchanged"
        ) from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"the credentials in {env_name} must be a JSON object")
    return loaded


def _token_uri(info: dict[str, Any], env_name: str, default: str | None) -> str:
    uri = info.get("token_uri") or default
    if not isinstance(uri, str) or not uri:
        raise ConfigError(
            f"the credentials in {env_name} have no token_uri; use the key file "
            "exactly as Google issued it"
        )
    try:
        return check_endpoint(uri, what=f"token_uri in {env_name}")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


class CredentialSource:
    """Builds (and reuses) the credentials each mailbox and the directory need."""

    def __init__(
        self, auth: ServiceAccountAuth | AuthorizedUserAuth, ctx: ExtractContext
    ) -> None:
        if isinstance(auth, ServiceAccountAuth):
            self._env = auth.key_env
            purpose = "a Google service-account key (JSON, or the path of its file)"
        else:
            self._env = auth.credentials_env
            purpose = "a Google authorized-user JSON (or the path of its file)"
        raw = ctx.secret(self._env, purpose=purpose).get_secret_value()
        self._info = _load_json(raw, self._env)
        self._digest = hashlib.sha256(raw.encode()).hexdigest()[:16]
        self.kind = auth.kind
        self.token_uri = _token_uri(
            self._info,
            self._env,
            None if self.kind == "service_account" else GOOGLE_TOKEN_URI,
        )
        self._check_fields()

    def __repr__(self) -> str:
        return f"CredentialSource(kind={self.kind!r}, env={self._env!r})"

    @property
    def secret_values(self) -> list[str]:
        """Values that must never be shown (used to scrub foreign error text)."""
        names = ("private_key", "client_secret", "refresh_token", "private_key_id")
        return [str(self._info[n]) for n in names if self._info.get(n)]

    def _check_fields(self) -> None:
        needed: tuple[str, ...]
        if self.kind == "service_account":
            needed = ("client_email", "private_key")
        else:
            needed = ("client_id", "client_secret", "refresh_token")
        missing = [name for name in needed if not self._info.get(name)]
        if missing:
            raise ConfigError(
                f"the credentials in {self._env} lack {', '.join(missing)}; "
                f"expected a {self.kind} JSON with {', '.join(needed)}"
            )

    def for_mailbox(self, mailbox: str | None) -> Credentials:
        """Credentials reading ``mailbox`` (``None``: the authorized user's own)."""
        return self._cached(mailbox or "me", GMAIL_SCOPE)

    def for_directory(self, admin: str) -> Credentials:
        return self._cached(admin, DIRECTORY_SCOPE)

    def _cached(self, subject: str, scope: str) -> Credentials:
        key = (f"{self._digest}:{self.token_uri}", subject, scope)
        with _cache_lock:
            found = _cache.get(key)
            if found is None:
                found = _cache[key] = self._build(subject, scope)
            return found

    def _build(self, subject: str, scope: str) -> Credentials:
        if self.kind == "authorized_user":
            # from_authorized_user_info would force Google's token URI; building
            # the credentials directly keeps the one the file names.
            make_user = google.oauth2.credentials.Credentials
            user: Credentials = make_user(  # type: ignore[no-untyped-call]
                token=None,
                refresh_token=self._info["refresh_token"],
                token_uri=self.token_uri,
                client_id=self._info["client_id"],
                client_secret=self._info["client_secret"],
                scopes=[scope],
            )
            return user
        info = {**self._info, "token_uri": self.token_uri}
        try:
            load = service_account.Credentials.from_service_account_info
            base = load(info, scopes=[scope])  # type: ignore[no-untyped-call]
        except (ValueError, KeyError, TypeError) as exc:
            # google-auth's message names missing fields, never their values.
            raise ConfigError(
                f"the service-account key in {self._env} cannot be used "
                f"({type(exc).__name__}); download a new JSON key for the account"
            ) from None
        delegated: Credentials = base.with_subject(subject)
        return delegated
