"""What can go wrong while staging a file, grouped by what the caller should do.

::

    SourceError (evermuse_connectors.errors)
    └── AttachmentStoreError       staging one file failed; keep it as metadata only
        ├── StoreUnavailableError  transient (5xx, timeout, dropped connection): retry
        └── AttachmentTooLargeError the bytes ran past the size limit given to put

A wrong bucket, missing credentials or a refused folder are configuration mistakes
and raise :class:`evermuse_connectors.errors.ConfigError` instead. The store is
called from a connector's extract, next to the source API's own calls, so its
failures sit under ``SourceError`` like theirs.
"""

from __future__ import annotations

from evermuse_connectors.errors import SourceError

__all__ = ["AttachmentStoreError", "AttachmentTooLargeError", "StoreUnavailableError"]


class AttachmentStoreError(SourceError):
    """Staging one file failed; the message says why, never the file's URL."""

    retryable: bool = False


class StoreUnavailableError(AttachmentStoreError):
    """The object store did not answer well (5xx, timeout, connection): retry later."""

    retryable = True


class AttachmentTooLargeError(AttachmentStoreError):
    """The stream ran past ``max_bytes`` given to ``put``; nothing was kept."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit
