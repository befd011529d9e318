"""The S3-compatible attachment store: one object per key, pre-signed GET URLs.

Works with AWS S3, MinIO, Cloudflare R2 and GCS's S3 interface through boto3.
Credentials come the usual boto3 way (AWS_* environment variables, or a profile).
An object is written once: a HEAD finds bytes stored before, and an upload streams
the spool file from disk (multipart above 8 MiB, four parts in flight).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from evermuse_connectors.attachments._config import S3StoreConfig
from evermuse_connectors.attachments._errors import AttachmentStoreError
from evermuse_connectors.attachments._naming import content_disposition
from evermuse_connectors.attachments._s3_errors import translate
from evermuse_connectors.attachments._spool import Spooled
from evermuse_connectors.attachments._store import AttachmentStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["MAX_URL_LENGTH", "S3AttachmentStore"]

logger = logging.getLogger(__name__)

# The envelope's maxLength for _attachments[].vendor_url.
MAX_URL_LENGTH = 2048
_PART = 8 * 1024 * 1024
_CONCURRENCY = 4


def _transfer_config() -> TransferConfig:
    return TransferConfig(
        multipart_threshold=_PART,
        multipart_chunksize=_PART,
        max_concurrency=_CONCURRENCY,
        preferred_transfer_client="classic",
    )


def make_client(config: S3StoreConfig) -> S3Client:
    """A boto3 S3 client for ``config``; a missing profile is a ConfigError."""
    # Since botocore 1.36 every upload carries a CRC checksum by default, which R2,
    # GCS and older MinIO refuse (boto/boto3 issue 4392); AWS itself keeps them.
    checksums: Literal["when_supported", "when_required"] = (
        "when_supported" if config.endpoint_url is None else "when_required"
    )
    client_config = Config(
        signature_version="s3v4",
        s3={"addressing_style": config.addressing_style},
        retries={"mode": "standard", "total_max_attempts": config.max_attempts},
        connect_timeout=config.timeout_seconds,
        read_timeout=config.timeout_seconds,
        request_checksum_calculation=checksums,
        response_checksum_validation=checksums,
    )
    try:
        session = boto3.session.Session(
            profile_name=config.profile, region_name=config.region
        )
        return session.client(
            "s3", endpoint_url=config.endpoint_url, config=client_config
        )
    except BotoCoreError as exc:
        raise translate(exc, action="client set-up", bucket=config.bucket) from exc


class S3AttachmentStore(AttachmentStore):
    """Objects under ``prefix`` in ``bucket``, read through pre-signed GET URLs.

    Give ``client`` to use a boto3 client built elsewhere (its own endpoint,
    retries and timeouts); otherwise one is made from the config.
    """

    def __init__(
        self,
        config: S3StoreConfig,
        *,
        client: S3Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(ttl_seconds=config.ttl_seconds, clock=clock)
        self.config = config
        self._client = client if client is not None else make_client(config)
        self._transfer = _transfer_config()
        self._checked = False
        self._check_lock = threading.Lock()

    def __repr__(self) -> str:
        where = self.config.endpoint_url or "AWS"
        return f"S3AttachmentStore(bucket={self.config.bucket!r}, endpoint={where!r})"

    def object_key(self, key: str) -> str:
        """The bucket's object key of a store key (the prefix in front)."""
        return self.config.prefix + key

    def close(self) -> None:
        self._client.close()

    def _spool_folder(self) -> Path | None:
        folder = self.config.spool_folder
        return Path(folder).expanduser() if folder else None

    def _exists(self, key: str) -> bool:
        self._check_bucket()
        try:
            self._client.head_object(
                Bucket=self.config.bucket, Key=self.object_key(key)
            )
        except ClientError as exc:
            if _status(exc) == 404:
                return False
            raise self._error(exc, "HEAD object") from exc
        except BotoCoreError as exc:
            raise self._error(exc, "HEAD object") from exc
        return True

    def _keep(self, file: Spooled, key: str, mime_type: str) -> None:
        extra: dict[str, Any] = {
            "ContentType": mime_type,
            # The hashes travel with the object, so a person or a tool can check a
            # file against the record's sha1/md5 without downloading it.
            "Metadata": {"sha256": file.sha256, "sha1": file.sha1, "md5": file.md5},
        }
        # upload_file, not upload_fileobj: for a file object s3transfer reads each
        # part into memory (up to 10 parts of 8 MiB at once), while from a path it
        # reads every part from disk as it is sent, so memory stays flat.
        try:
            self._client.upload_file(
                str(file.path),
                self.config.bucket,
                self.object_key(key),
                ExtraArgs=extra,
                Config=self._transfer,
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "upload") from exc
        except boto3.exceptions.S3UploadFailedError as exc:
            # boto3 raises it inside its except clause for the ClientError, which
            # is therefore the context.
            cause = exc.__cause__ or exc.__context__
            raise self._error(
                cause if isinstance(cause, Exception) else exc, "upload"
            ) from exc

    def _signed(self, key: str, filename: str, mime_type: str) -> tuple[str, datetime]:
        _expires, expires_at = self._expiry()
        url = self._presign(key, mime_type, content_disposition(filename))
        if len(url) > MAX_URL_LENGTH:
            # A long non-ASCII name is in the URL twice percent-encoded; its ASCII
            # fallback alone is much shorter.
            short = content_disposition(filename, ascii_only=True)
            url = self._presign(key, mime_type, short)
        if len(url) > MAX_URL_LENGTH:
            raise AttachmentStoreError(
                f"the pre-signed URL of sha256:{key.split('/')[1]} is {len(url)} "
                f"characters, over the {MAX_URL_LENGTH} Evermuse accepts for a "
                "vendor_url; shorten prefix, or use long-term credentials (a "
                "session token makes every URL longer)"
            )
        return url, expires_at

    def _presign(self, key: str, mime_type: str, disposition: str) -> str:
        params = {
            "Bucket": self.config.bucket,
            "Key": self.object_key(key),
            "ResponseContentType": mime_type,
            "ResponseContentDisposition": disposition,
        }
        try:
            return self._client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=int(self.ttl.total_seconds())
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "pre-signing") from exc

    def _check_bucket(self) -> None:
        # Once per store: a wrong bucket, region or credentials shows as one clear
        # ConfigError before the first upload, instead of one per file.
        with self._check_lock:
            if self._checked:
                return
            try:
                self._client.head_bucket(Bucket=self.config.bucket)
            except (ClientError, BotoCoreError) as exc:
                raise self._error(exc, "HEAD bucket") from exc
            self._checked = True

    def _error(self, exc: Exception, action: str) -> Exception:
        return translate(exc, action=action, bucket=self.config.bucket)


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
