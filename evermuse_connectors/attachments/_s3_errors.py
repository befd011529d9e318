"""botocore's errors, translated at the boundary into the project's own.

A mistake a person must fix (no bucket, refused or missing credentials, wrong
region, a skewed clock) becomes ConfigError with the fix; what may pass by itself
(5xx, throttling, timeouts, dropped connections, after botocore's own retries)
becomes StoreUnavailableError; anything else AttachmentStoreError. Messages name
the bucket and the action, never a URL's query (a signature may sit there).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSLError,
)

from evermuse_connectors.attachments._errors import (
    AttachmentStoreError,
    StoreUnavailableError,
)
from evermuse_connectors.errors import ConfigError, EvermuseError

__all__ = ["translate"]

_CREDENTIALS = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for "
    "temporary credentials), or give a profile of ~/.aws/config"
)
_FIXES = {
    "NoSuchBucket": "the bucket does not exist; create it, or fix bucket, "
    "endpoint_url and region",
    # HEAD answers carry no error code: a 403 there may also be unknown keys.
    "AccessDenied": "the credentials were refused or may not use this bucket; "
    f"check them ({_CREDENTIALS}) and that they allow s3:ListBucket on the bucket "
    "and s3:GetObject and s3:PutObject on the prefix",
    "AllAccessDisabled": "all access to this bucket is disabled; use another",
    "InvalidAccessKeyId": f"the store does not know the access key; {_CREDENTIALS}",
    "SignatureDoesNotMatch": f"the secret key is wrong; {_CREDENTIALS}",
    "ExpiredToken": "the session token has expired; renew the credentials",
    "InvalidToken": "the session token is not valid; renew the credentials",
    "PermanentRedirect": "the bucket lives in another region; set region to it",
    "AuthorizationHeaderMalformed": "the region is wrong; set region to the "
    "bucket's region",
    "IllegalLocationConstraintException": "the region is wrong; set region to "
    "the bucket's region",
    "RequestTimeTooSkewed": "this machine's clock is off; synchronise it (NTP)",
    "InvalidBucketName": "the bucket name is not valid for this store; fix bucket",
}
_BY_STATUS = {
    "301": "PermanentRedirect",
    "403": "AccessDenied",
    "404": "NoSuchBucket",
}
_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
    }
)


def translate(exc: Exception, *, action: str, bucket: str) -> EvermuseError:
    """The project's error for a botocore failure of ``action`` on ``bucket``."""
    where = f"S3 {action} on bucket {bucket!r}"
    if isinstance(exc, ClientError):
        return _client_error(exc, where)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return ConfigError(
            f"{where}: no usable AWS credentials were found; {_CREDENTIALS}"
        )
    if isinstance(exc, CredentialRetrievalError | ProfileNotFound | NoRegionError):
        return ConfigError(f"{where}: {_text(exc)}; {_CREDENTIALS}, and a region")
    if isinstance(exc, SSLError):
        return ConfigError(
            f"{where}: the TLS handshake failed ({type(exc).__name__}); check "
            "endpoint_url and the server's certificate"
        )
    if isinstance(exc, ConnectionError | HTTPClientError):
        return StoreUnavailableError(
            f"{where} failed: {type(exc).__name__}, after botocore's retries; the "
            "store did not answer in time or dropped the connection, retry later"
        )
    if isinstance(exc, BotoCoreError):
        return AttachmentStoreError(f"{where} failed: {_text(exc)}")
    return AttachmentStoreError(f"{where} failed: {type(exc).__name__}")


def _client_error(exc: ClientError, where: str) -> EvermuseError:
    error: dict[str, Any] = dict(exc.response.get("Error") or {})
    meta: dict[str, Any] = dict(exc.response.get("ResponseMetadata") or {})
    status = int(meta.get("HTTPStatusCode") or 0)
    code = str(error.get("Code") or status)
    code = _BY_STATUS.get(code, code)
    said = f"{code}: {_cut(str(error.get('Message') or ''))}"
    if code in _FIXES:
        region = meta.get("HTTPHeaders", {}).get("x-amz-bucket-region")
        hint = f" (the bucket's region is {region})" if region else ""
        return ConfigError(f"{where} was refused ({said}); {_FIXES[code]}{hint}")
    if status >= 500 or code in _TRANSIENT_CODES:
        return StoreUnavailableError(
            f"{where} failed ({said}, HTTP {status}) after botocore's retries; the "
            "store is unwell or throttling, retry later"
        )
    return AttachmentStoreError(f"{where} was refused ({said}, HTTP {status})")


def _text(exc: Exception) -> str:
    return _cut(str(exc))


def _cut(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
