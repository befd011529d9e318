"""Signed, expiring links of the local store: HMAC-SHA256 over what the link serves.

The signature covers the key, the expiry and the two response headers the link
chooses (media type and file name), so none of them can be changed without the
secret. The secret comes from an environment variable, or is generated once and
kept in the store's folder so that every process serving that folder agrees on it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from evermuse_connectors.errors import ConfigError

__all__ = ["SECRET_FILE", "Signer", "load_secret"]

logger = logging.getLogger(__name__)

SECRET_FILE = ".secret"  # noqa: S105 (a file name)
_MIN_SECRET = 16


@dataclass(frozen=True)
class Signer:
    """Signs and checks links; the secret never shows in a repr."""

    secret: bytes = field(repr=False)

    def sign(self, key: str, expires: int, mime_type: str, filename: str) -> str:
        message = "\n".join(("GET", key, str(expires), mime_type, filename))
        return hmac.new(self.secret, message.encode(), hashlib.sha256).hexdigest()

    def verify(
        self, key: str, expires: int, mime_type: str, filename: str, signature: str
    ) -> bool:
        expected = self.sign(key, expires, mime_type, filename)
        return hmac.compare_digest(expected, signature.lower())

    def store_id(self, folder: Path) -> str:
        """Names the folder and secret without revealing the secret.

        A process that finds its fixed port taken asks the server there for this
        value: equal means that server serves the same files with the same secret.
        """
        message = f"evermuse-attachment-store\n{folder.resolve()}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]


def load_secret(
    folder: Path, env_name: str | None, environ: Mapping[str, str] | None = None
) -> Signer:
    """The signing secret from ``env_name`` when set, else the folder's own."""
    env = os.environ if environ is None else environ
    value = env.get(env_name, "").strip() if env_name else ""
    if value:
        if len(value) < _MIN_SECRET:
            raise ConfigError(
                f"environment variable {env_name} holds a {len(value)}-character "
                f"secret; links signed with it could be forged. Give at least "
                f"{_MIN_SECRET} random characters, for example the output of "
                "python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        return Signer(value.encode())
    logger.info(
        "attachment links are signed with the secret kept in %s (%s is not set)",
        folder / SECRET_FILE,
        env_name or "no variable is configured",
    )
    return Signer(_folder_secret(folder))


def _folder_secret(folder: Path) -> bytes:
    path = folder / SECRET_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _create(path)
        return _read(path)
    except PermissionError as exc:
        raise ConfigError(
            f"cannot create the signing secret in {folder} ({exc.strerror}); make "
            "the folder writable, or set the store's secret_env variable"
        ) from None


def _create(path: Path) -> None:
    # Several processes may start at once: each writes its own candidate, and the
    # first hard link wins (link fails when the name exists), so all read the same
    # complete file and none reads a half-written one.
    candidate = path.with_name(f"{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        os.link(candidate, path)
    except FileExistsError:
        pass
    finally:
        candidate.unlink(missing_ok=True)


def _read(path: Path) -> bytes:
    value = path.read_text().strip()
    if len(value) < _MIN_SECRET:
        raise ConfigError(
            f"the signing secret in {path} is too short or empty; delete the file "
            "so that a new one is generated (links signed before stop working)"
        )
    return value.encode()
