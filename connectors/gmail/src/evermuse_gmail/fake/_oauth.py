"""The fake's OAuth token endpoint and the access tokens it hands out.

Two grants, as Google's token endpoint takes them: a service account's signed JWT
(``urn:ietf:params:oauth:grant-type:jwt-bearer``), verified against the RSA key the
fake generated and checked for issuer, audience, lifetime, scope and subject; and
``refresh_token`` for an authorized user. Each access token remembers its subject
and scopes, so the Gmail endpoints can refuse a token for another mailbox.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["Grant", "TokenAuthority"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_EMAIL = "evermuse-sync@fake-project.iam.gserviceaccount.com"
# google-auth always puts Google's endpoint in the JWT's aud, whatever token_uri
# the key names; Google accepts that audience, and so does the fake.
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"

_key_lock = threading.Lock()
_key: rsa.RSAPrivateKey | None = None


def _private_key() -> rsa.RSAPrivateKey:
    # Generating an RSA key takes tens of milliseconds; one per process is enough
    # for the fake (the key guards nothing real).
    global _key
    with _key_lock:
        if _key is None:
            _key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _key


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Grant:
    subject: str
    scopes: frozenset[str]
    expires_at: float


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


class TokenAuthority:
    """Issues and checks tokens for one fake Google tenant."""

    def __init__(self, token_uri: str, users: set[str], lifetime: int = 3599) -> None:
        self.token_uri = token_uri
        self.users = users
        self.lifetime = lifetime
        self.denied: set[str] = set()
        self.key_id = secrets.token_hex(20)
        self._key = _private_key()
        self._tokens: dict[str, Grant] = {}
        self._refresh: dict[str, tuple[str, str, str]] = {}
        self._lock = threading.Lock()
        self.issued: list[str] = []

    def service_account_info(self) -> dict[str, Any]:
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": "fake-project",
            "private_key_id": self.key_id,
            "private_key": pem,
            "client_email": CLIENT_EMAIL,
            "client_id": "100000000000000000001",
            "token_uri": self.token_uri,
        }

    def authorized_user_info(self, email: str) -> dict[str, Any]:
        client_id = f"{secrets.token_hex(6)}.apps.googleusercontent.com"
        client_secret = f"GOCSPX-{secrets.token_urlsafe(18)}"
        refresh = f"1//{secrets.token_urlsafe(32)}"
        with self._lock:
            self._refresh[refresh] = (client_id, client_secret, email)
        return {
            "type": "authorized_user",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh,
            "token_uri": self.token_uri,
        }

    def exchange(self, form: dict[str, str]) -> dict[str, Any]:
        """The token response for a form-encoded grant; raises OAuthError."""
        grant_type = form.get("grant_type", "")
        if grant_type == JWT_GRANT:
            subject, scopes = self._check_assertion(form.get("assertion", ""))
        elif grant_type == "refresh_token":
            subject, scopes = self._check_refresh(form)
        else:
            raise OAuthError(
                400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}"
            )
        token = f"ya29.fake-{secrets.token_urlsafe(24)}"
        with self._lock:
            self._tokens[token] = Grant(subject, scopes, time.time() + self.lifetime)
            self.issued.append(token)
        return {
            "access_token": token,
            "expires_in": self.lifetime,
            "token_type": "Bearer",
            "scope": " ".join(sorted(scopes)),
        }

    def _check_assertion(self, assertion: str) -> tuple[str, frozenset[str]]:
        try:
            head_b64, claims_b64, signature_b64 = assertion.split(".")
            header = json.loads(_unb64(head_b64))
            claims = json.loads(_unb64(claims_b64))
            signature = _unb64(signature_b64)
        except ValueError:
            raise OAuthError(
                400, "invalid_grant", "Invalid JWT: not three parts"
            ) from None
        if header.get("alg") != "RS256" or header.get("kid") != self.key_id:
            raise OAuthError(400, "invalid_grant", "Invalid JWT Signature.")
        try:
            self._key.public_key().verify(
                signature,
                f"{head_b64}.{claims_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise OAuthError(400, "invalid_grant", "Invalid JWT Signature.") from None
        now = time.time()
        audiences = {GOOGLE_AUDIENCE, self.token_uri}
        if claims.get("iss") != CLIENT_EMAIL or claims.get("aud") not in audiences:
            raise OAuthError(400, "invalid_grant", "Invalid JWT: iss or aud is wrong")
        if not (claims.get("iat", 0) - 300 <= now < claims.get("exp", 0)):
            raise OAuthError(
                400, "invalid_grant", "Invalid JWT: Token must be a short-lived token"
            )
        scopes = frozenset(str(claims.get("scope", "")).split())
        subject = str(claims.get("sub") or CLIENT_EMAIL).lower()
        if not scopes:
            raise OAuthError(
                400, "invalid_scope", "Empty or missing scope not allowed."
            )
        if subject != CLIENT_EMAIL and subject not in self.users:
            raise OAuthError(400, "invalid_grant", "Invalid email or User ID")
        if subject in self.denied:
            raise OAuthError(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, "
                "or client not authorized for any of the scopes requested.",
            )
        return subject, scopes

    def _check_refresh(self, form: dict[str, str]) -> tuple[str, frozenset[str]]:
        with self._lock:
            known = self._refresh.get(form.get("refresh_token", ""))
        if known is None:
            raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
        client_id, client_secret, email = known
        if (
            form.get("client_id") != client_id
            or form.get("client_secret") != client_secret
        ):
            raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
        if email in self.denied:
            raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
        scopes = frozenset(form.get("scope", "").split()) or frozenset(
            {"https://www.googleapis.com/auth/gmail.readonly"}
        )
        return email, scopes

    def grant_for(self, authorization: str | None) -> Grant | None:
        """The live grant behind an ``Authorization: Bearer`` header, if any."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        with self._lock:
            grant = self._tokens.get(authorization[len("Bearer ") :].strip())
        if grant is None or grant.expires_at <= time.time():
            return None
        return grant

    def revoke_all(self) -> None:
        """Forget every access token (clients must refresh)."""
        with self._lock:
            self._tokens.clear()
