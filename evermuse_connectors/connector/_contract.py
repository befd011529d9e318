"""The plugin contract: what a connector declares and what the framework hands it.

A connector is a class with a name, a pydantic config model, the record types it
emits, and three methods: :meth:`Connector.extract` (raw items for a window, as an
iterator so memory stays flat), :meth:`Connector.normalise` (a pure function from one
raw item to records) and :meth:`Connector.fake_source` (a local fake of the source
API, for tests and the demo). The framework hands ``extract`` an
:class:`ExtractContext`: paced HTTP sessions, shared rate limiters, the store, a
logger, and a place to report what was skipped and what the source says it has.
"""

from __future__ import annotations

import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from evermuse_connectors.connector._http import HttpSession, RetryPolicy
from evermuse_connectors.connector._ratelimit import RateLimit, RateLimiter
from evermuse_connectors.connector._secrets import resolve_secret
from evermuse_connectors.envelope import Nature, Record, RecordType
from evermuse_connectors.store import Store

__all__ = [
    "Completeness",
    "Connector",
    "ExtractContext",
    "ExtractStats",
    "FakeSource",
    "NormaliseContext",
    "RawItem",
    "Routing",
    "Skip",
    "Window",
]

if TYPE_CHECKING:  # the attachments package imports this one
    from evermuse_connectors.attachments import AttachmentPolicy, AttachmentStore

ConfigT = TypeVar("ConfigT", bound=BaseModel)

_limiters: dict[tuple[str, str], RateLimiter] = {}
_limiters_lock = threading.Lock()


@dataclass(frozen=True)
class Window:
    """The time slice ``[start, end)`` one sync covers; ``key`` is its partition key."""

    start: datetime
    end: datetime
    key: str

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise ValueError(f"Window.{name} must be timezone-aware, got {value!r}")
        if self.end <= self.start:
            raise ValueError(f"Window end {self.end} is not after start {self.start}")

    @property
    def start_epoch(self) -> int:
        return int(self.start.timestamp())

    @property
    def end_epoch(self) -> int:
        return int(self.end.timestamp())

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment.astimezone(UTC) < self.end


class Routing(BaseModel):
    """Where a source's records go in Evermuse, and how they are labelled."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: str = Field(min_length=1, max_length=128)
    project_ids: list[str] = Field(min_length=1)
    nature: Nature = Nature.EVIDENCE
    tags: list[str] = Field(default_factory=list, max_length=200)


@dataclass(frozen=True)
class RawItem:
    """One object as the source API returned it, plus a stable id and a kind."""

    id: str
    kind: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "data": self.data}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> RawItem:
        return cls(
            id=str(value["id"]), kind=str(value["kind"]), data=dict(value["data"])
        )


@dataclass(frozen=True)
class Skip:
    """Something extract could not fetch, with the reason (shown in metadata)."""

    item_id: str
    reason: str


@dataclass
class ExtractStats:
    """What one extract did: calls per API method, what it skipped, what it expected."""

    calls: dict[str, int] = field(default_factory=dict)
    skipped: list[Skip] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": dict(sorted(self.calls.items())),
            "skipped": [
                {"item_id": s.item_id, "reason": s.reason} for s in self.skipped
            ],
            "expected": dict(sorted(self.expected.items())),
            "notes": self.notes,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ExtractStats:
        return cls(
            calls=dict(value.get("calls", {})),
            skipped=[Skip(**s) for s in value.get("skipped", [])],
            expected=dict(value.get("expected", {})),
            notes=dict(value.get("notes", {})),
        )


@dataclass(frozen=True)
class Completeness:
    """A connector's verdict on whether a window's raw items are all there."""

    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


class ExtractContext:
    """What the framework hands :meth:`Connector.extract` for one source and window."""

    def __init__(
        self,
        *,
        source: str,
        window: Window,
        store: Store,
        logger: logging.Logger | None = None,
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        attachments: AttachmentStore | None = None,
        attachment_policy: AttachmentPolicy | None = None,
    ) -> None:
        self.source = source
        # Where files the source holds behind its credentials (Gmail attachments,
        # Slack files) are staged so Evermuse can fetch them; None keeps them as
        # metadata only. The policy says which files to stage.
        self.attachments = attachments
        self.attachment_policy = attachment_policy
        self.window = window
        self.store = store
        self.logger = logger or logging.getLogger(
            f"evermuse_connectors.source.{source}"
        )
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.stats = ExtractStats()
        self._transport = transport
        self._sessions: list[HttpSession] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ExtractContext(source={self.source!r}, window={self.window.key!r})"

    def secret(self, env_name: str, *, purpose: str) -> SecretStr:
        """The secret in environment variable ``env_name``; ConfigError if unset."""
        return resolve_secret(env_name, purpose=purpose, environ=self.environ)

    def limiter(self, name: str, limit: RateLimit) -> RateLimiter:
        """A rate limiter shared by every window of this source in this process."""
        key = (self.source, name)
        with _limiters_lock:
            existing = _limiters.get(key)
            if existing is None or existing.limit != limit:
                existing = _limiters[key] = RateLimiter(limit)
            return existing

    def http(
        self,
        *,
        base_url: str,
        rate_limit: RateLimit | None = None,
        limiter_name: str = "http",
        retry: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> HttpSession:
        """A paced, retrying httpx session; closed by the framework after extract."""
        session = HttpSession(
            base_url=base_url,
            retry=retry,
            timeout=timeout,
            transport=self._transport,
            headers=headers,
        )
        if rate_limit is not None:
            session.limiter = self.limiter(limiter_name, rate_limit)
        self._sessions.append(session)
        return session

    def count_call(self, method: str, n: int = 1) -> None:
        """Count ``n`` calls of an API method (shown in Dagster metadata)."""
        with self._lock:
            self.stats.calls[method] = self.stats.calls.get(method, 0) + n

    def skip(self, item_id: str, reason: str) -> None:
        """Report something that could not be fetched; the window goes on."""
        self.logger.warning("skipped %s: %s", item_id, reason)
        with self._lock:
            self.stats.skipped.append(Skip(item_id, reason))

    def expect(self, what: str, count: int) -> None:
        """Record how many of ``what`` the source says there are (for completeness)."""
        with self._lock:
            self.stats.expected[what] = self.stats.expected.get(what, 0) + count

    def previous_items(self) -> Iterator[RawItem]:
        """The raw items this window had after its last extract (empty the first time).

        Lets a connector re-use what it fetched before, e.g. unchanged Slack threads.
        """
        for row in self.store.read(self.source, "raw", self.window.key):
            yield RawItem.from_json(row)

    def close(self) -> None:
        for session in self._sessions:
            session.close()


@dataclass(frozen=True)
class NormaliseContext:
    """What :meth:`Connector.normalise` may use besides the raw item: plain data."""

    source: str
    routing: Routing


class FakeSource(AbstractContextManager["FakeSource"]):
    """A running fake of a source API on 127.0.0.1.

    ``settings`` are connector config values that point a source at the fake;
    ``environ`` holds the secrets the fake accepts, by the variable names that
    ``settings`` reference.
    """

    settings: dict[str, Any]
    environ: dict[str, str]
    url: str

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @abstractmethod
    def stop(self) -> None: ...


class Connector(ABC, Generic[ConfigT]):
    """Subclass this and register the class under the ``evermuse_connectors.connectors``
    entry-point group; the framework finds it at run time."""

    name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]
    record_types: ClassVar[tuple[RecordType, ...]]
    description: ClassVar[str] = ""
    # The Dagster concurrency pool that caps how many steps call this API at once.
    api_pool: ClassVar[str] = ""
    # How many windows before the newest each scheduled tick re-runs, for sources
    # where old windows change (late replies); a source's refresh_windows overrides.
    default_refresh_windows: ClassVar[int] = 3

    def parse_config(self, settings: Mapping[str, Any]) -> ConfigT:
        return self.config_model.model_validate(dict(settings))  # type: ignore[return-value]

    @abstractmethod
    def extract(self, config: ConfigT, ctx: ExtractContext) -> Iterator[RawItem]:
        """Yield the raw items of ``ctx.window``, one at a time."""

    @abstractmethod
    def normalise(
        self, item: RawItem, config: ConfigT, ctx: NormaliseContext
    ) -> list[Record]:
        """The records of one raw item. Pure: no I/O, the same input gives the same
        output. Raise RecordError (or let a ValidationError through) for a bad item."""

    @abstractmethod
    def fake_source(self, *, seed: int, now: datetime) -> FakeSource:
        """Start a fake of the source API holding a generated sample workspace whose
        activity covers at least the 14 days before ``now``. Same seed, same data."""

    def malformed_item(self) -> RawItem:
        """A raw item of a real kind whose content normalise must refuse (for the
        contract test's "one bad item" case)."""
        return RawItem(id="malformed", kind="unknown", data={})

    def completeness(
        self, items: Iterable[RawItem], stats: ExtractStats
    ) -> Completeness | None:
        """Whether a window's raw items are all there; ``None`` when the source
        reports nothing to compare with. The default compares nothing."""
        del items
        if not stats.skipped:
            return None
        return Completeness(
            passed=False,
            description=f"{len(stats.skipped)} item(s) could not be fetched",
            metadata={"skipped": [s.item_id for s in stats.skipped][:50]},
        )

    @property
    def pool(self) -> str:
        return self.api_pool or f"{self.name}_api"
