"""The Evermuse client: deterministic batching, idempotency keys, retries, results."""

from evermuse_connectors.ingest._batching import (
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    Batch,
    Batcher,
    LocalRejection,
    idempotency_key,
)
from evermuse_connectors.ingest._client import DeliveryPolicy, EvermuseClient
from evermuse_connectors.ingest._results import BatchResult, Rejection, SendSummary
from evermuse_connectors.ingest._settings import (
    DEFAULT_BASE_URL,
    IngestSettings,
    check_base_url,
    is_loopback,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_RECORDS",
    "Batch",
    "BatchResult",
    "Batcher",
    "DeliveryPolicy",
    "EvermuseClient",
    "IngestSettings",
    "LocalRejection",
    "Rejection",
    "SendSummary",
    "check_base_url",
    "idempotency_key",
    "is_loopback",
]
