"""What a send returns: per batch, and for the whole send. Every record is counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evermuse_connectors.ingest._batching import LocalRejection

__all__ = ["BatchResult", "Rejection", "SendSummary"]


@dataclass(frozen=True)
class Rejection:
    """A record Evermuse refused, with its identity and Evermuse's reason.

    ``identity`` is ``None`` only when Evermuse reported more rejections than it
    listed (its ``errors`` array stops at 20): then the record cannot be named.
    """

    batch_id: str
    index: int | None
    identity: str | None
    code: str
    message: str
    record: bytes | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "index": self.index,
            "identity": self.identity,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True)
class BatchResult:
    """One batch as Evermuse answered it."""

    batch_id: str
    key: str
    record_type: str
    product_id: str
    records: int
    accepted: int
    rejected: int
    rejections: tuple[Rejection, ...]
    attempts: int
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "key": self.key,
            "type": self.record_type,
            "product_id": self.product_id,
            "records": self.records,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "attempts": self.attempts,
            "bytes": self.bytes,
            "rejections": [r.to_json() for r in self.rejections],
        }


@dataclass
class SendSummary:
    """Every record handed to a send ends up in exactly one of these counts:
    accepted, rejected by Evermuse, refused locally, or an exact duplicate."""

    batches: list[BatchResult] = field(default_factory=list)
    local_rejections: list[LocalRejection] = field(default_factory=list)
    duplicates: int = 0
    conflicts: int = 0
    received: int = 0

    @property
    def accepted(self) -> int:
        return sum(b.accepted for b in self.batches)

    @property
    def rejected(self) -> int:
        return sum(b.rejected for b in self.batches)

    @property
    def sent(self) -> int:
        return sum(b.records for b in self.batches)

    @property
    def refused(self) -> int:
        return len(self.local_rejections)

    @property
    def rejections(self) -> list[Rejection]:
        return [r for b in self.batches for r in b.rejections]

    @property
    def ok(self) -> bool:
        return self.rejected == 0 and self.refused == 0

    def balanced(self) -> bool:
        """The invariant: nothing handed in is unaccounted for."""
        return (
            self.received == self.sent + self.refused + self.duplicates
            and self.sent == self.accepted + self.rejected
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "batches": len(self.batches),
            "sent": self.sent,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "refused_locally": self.refused,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
        }
