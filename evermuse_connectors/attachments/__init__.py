"""Attachments Evermuse can fetch: files staged behind URLs that need no credentials.

Evermuse downloads every ``_attachments[].vendor_url`` by itself after a batch
lands. Gmail and Slack files need the source's token, so a connector downloads them
in its extract, puts the bytes in a store, and hands Evermuse the store's URL::

    from evermuse_connectors.attachments import AttachmentPolicy, build_store

    policy = AttachmentPolicy(exclude_mime_types=["video/*"])
    store = build_store({"kind": "s3", "bucket": "acme-files", "region": "eu-west-1"})
    decision = policy.decide(filename="a.pdf", mime_type="application/pdf", size=1234)
    if decision.stage:
        staged = store.put(chunks, filename="a.pdf", mime_type="application/pdf",
                           max_bytes=policy.max_bytes)
        attachment = staged.attachment()      # vendor_url, sha1, md5, size, ...
    else:
        data["attachments_not_staged"] = [{"filename": "a.pdf",
                                           "reason": decision.reason}]

A staged file's URL is a secret while it lives: it is kept out of reprs and logs.
"""

from evermuse_connectors.attachments._build import build_store
from evermuse_connectors.attachments._config import (
    DEFAULT_TTL_SECONDS,
    MAX_PRESIGN_SECONDS,
    AttachmentStoreConfig,
    LocalStoreConfig,
    S3StoreConfig,
    parse_store_config,
)
from evermuse_connectors.attachments._errors import (
    AttachmentStoreError,
    AttachmentTooLargeError,
    StoreUnavailableError,
)
from evermuse_connectors.attachments._local import (
    LocalAttachmentStore,
    serve_local_store,
)
from evermuse_connectors.attachments._naming import (
    content_disposition,
    safe_filename,
)
from evermuse_connectors.attachments._policy import (
    DEFAULT_MAX_BYTES,
    MAX_ATTACHMENTS_PER_RECORD,
    AttachmentPolicy,
    Decision,
    effective_mime_type,
)
from evermuse_connectors.attachments._s3 import MAX_URL_LENGTH, S3AttachmentStore
from evermuse_connectors.attachments._spool import Chunks
from evermuse_connectors.attachments._store import (
    AttachmentStore,
    StagedFile,
    attachment_type_for,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TTL_SECONDS",
    "MAX_ATTACHMENTS_PER_RECORD",
    "MAX_PRESIGN_SECONDS",
    "MAX_URL_LENGTH",
    "AttachmentPolicy",
    "AttachmentStore",
    "AttachmentStoreConfig",
    "AttachmentStoreError",
    "AttachmentTooLargeError",
    "Chunks",
    "Decision",
    "LocalAttachmentStore",
    "LocalStoreConfig",
    "S3AttachmentStore",
    "S3StoreConfig",
    "StagedFile",
    "StoreUnavailableError",
    "attachment_type_for",
    "build_store",
    "content_disposition",
    "effective_mime_type",
    "parse_store_config",
    "safe_filename",
    "serve_local_store",
]
