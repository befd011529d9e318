"""pydantic models of Evermuse's Integration Envelope (ingest API v1).

Every limit of the published ``IngestRecord`` schema is here: the nine record types,
string lengths, array sizes, enums, the ``_event_at`` pattern and
``additionalProperties: false`` on every object. A record that passes these models
passes the schema, so the ingest client and the emulator share one definition of
"valid".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)

__all__ = [
    "SCHEMA_VERSION",
    "Attachment",
    "AttachmentType",
    "EventAt",
    "Identity",
    "Nature",
    "Participant",
    "ParticipantType",
    "Pii",
    "PiiEntity",
    "Record",
    "RecordType",
    "RedactionStatus",
    "Role",
    "ValidationError",
    "describe_errors",
    "format_event_at",
    "identity_of",
    "parse_event_at",
]

SCHEMA_VERSION: Literal["1.0.0"] = "1.0.0"

# The spec's pattern for _event_at, verbatim.
_EVENT_AT_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$")
# JSON Schema's "email" format, loosely: one @, no spaces, a dot-free local part is
# fine, the domain needs something on both sides. Stricter checks reject real
# addresses (quoted local parts, IDN domains) that Evermuse accepts.
_EMAIL_PATTERN = re.compile(r"^[^\s@]+@[^\s@]+$")
# An absolute URI: a scheme, then something (RFC 3986 section 3).
_URI_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")


class RecordType(StrEnum):
    EMAIL_THREAD = "email_thread"
    EMAIL = "email"
    MEETING_NOTES = "meeting_notes"
    CALL = "call"
    CALL_TRANSCRIPTION = "call_transcription"
    CONVERSATION = "conversation"
    MESSAGE = "message"
    DOCUMENT = "document"
    SPREADSHEET = "spreadsheet"


class Nature(StrEnum):
    EVIDENCE = "evidence"
    GUIDANCE = "guidance"
    CONTEXT = "context"


class Role(StrEnum):
    INTERNAL = "internal"
    EXTERNAL = "external"
    UNKNOWN = "unknown"


class ParticipantType(StrEnum):
    USER = "user"
    CONTACT = "contact"
    WORKSPACE_MEMBER = "workspace_member"
    BOT = "bot"
    SYSTEM = "system"
    UNKNOWN = "unknown"


class AttachmentType(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"
    FILE = "file"
    IMAGE = "image"
    TEXT = "text"
    UNKNOWN = "unknown"


class RedactionStatus(StrEnum):
    UNREDACTED = "unredacted"
    REDACTED = "redacted"
    ENCRYPTED = "encrypted"


def format_event_at(moment: datetime) -> str:
    """``moment`` in UTC, cut to the second, as ``YYYY-MM-DDTHH:MM:SSZ``."""
    # isoformat of a naive copy is several times faster than strftime, and this runs
    # a few times per record on the delivery path.
    utc = moment.astimezone(UTC).replace(microsecond=0, tzinfo=None)
    return utc.isoformat() + "Z"


def parse_event_at(value: object) -> datetime:
    """An aware UTC datetime cut to the second, from a datetime or a spec string.

    Evermuse truncates milliseconds on arrival, so cutting them here keeps a record's
    identity the same on both sides.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()!r}: give it a timezone "
                "(for example datetime(..., tzinfo=UTC)); _event_at must be UTC"
            )
        return value.astimezone(UTC).replace(microsecond=0)
    if isinstance(value, str):
        if not _EVENT_AT_PATTERN.match(value):
            raise ValueError(
                f"{value[:40]!r} is not an ISO-8601 UTC timestamp of the form "
                "YYYY-MM-DDTHH:MM:SSZ (optionally .mmm before the Z)"
            )
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.replace(microsecond=0)
    raise ValueError(
        f"expected a timezone-aware datetime or a YYYY-MM-DDTHH:MM:SSZ string, "
        f"got {type(value).__name__}"
    )


EventAt = Annotated[
    datetime,
    BeforeValidator(parse_event_at),
    PlainSerializer(format_event_at, return_type=str, when_used="json"),
]


def _check_email(value: str) -> str:
    if not _EMAIL_PATTERN.match(value):
        raise ValueError(f"{value[:60]!r} is not an email address (name@domain)")
    return value


def _check_uri(value: str) -> str:
    if not _URI_PATTERN.match(value):
        raise ValueError("not an absolute URI (scheme://host/...); value withheld")
    return value


Email = Annotated[str, Field(max_length=320), BeforeValidator(_check_email)]
Uri = Annotated[str, Field(max_length=2048), BeforeValidator(_check_uri)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_enum_values=False,
    )


class Participant(_Model):
    id: Annotated[str, Field(max_length=256)]
    role: Role
    name: Annotated[str, Field(max_length=256)] | None = None
    email: Email | None = None
    type: ParticipantType | None = None


class Attachment(_Model):
    type: AttachmentType
    filename: Annotated[str, Field(max_length=512)] | None = None
    size: Annotated[int, Field(ge=0)] | None = None
    mime_type: Annotated[str, Field(max_length=256)] | None = None
    sha1: Annotated[str, Field(max_length=128)] | None = None
    md5: Annotated[str, Field(max_length=128)] | None = None
    # A vendor_url often carries a download token: it is excluded from repr so that
    # logging a record never prints it.
    vendor_url: Uri | None = Field(default=None, repr=False)
    upload_intent_id: Annotated[str, Field(max_length=256)] | None = None


class PiiEntity(_Model):
    type: Annotated[str, Field(max_length=64)]
    value: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None, repr=False
    )
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None


class Pii(_Model):
    contains_email: bool | None = None
    contains_phone: bool | None = None
    sensitive_score: Annotated[float, Field(ge=0, le=1)] | None = None
    detected_entities: list[PiiEntity] | None = None
    redaction_status: RedactionStatus | None = None


Identity = tuple[str, tuple[tuple[str, str], ...], str]
"""``(_type, sorted _vendor_ids items, _event_at)``: what Evermuse deduplicates on."""


class Record(_Model):
    """One Integration Envelope. Build with field names or with the ``_`` aliases."""

    type: RecordType = Field(alias="_type")
    schema_version: Literal["1.0.0"] = Field(
        default=SCHEMA_VERSION, alias="_schema_version"
    )
    event_at: EventAt = Field(alias="_event_at")
    vendor_ids: Annotated[dict[str, str], Field(min_length=1)] = Field(
        alias="_vendor_ids"
    )
    product_id: Annotated[str, Field(max_length=128)] = Field(alias="_product_id")
    project_ids: Annotated[
        list[Annotated[str, Field(max_length=128)]], Field(min_length=1)
    ] = Field(alias="_project_ids")
    nature: Nature = Field(alias="_nature")
    data: dict[str, Any]
    thread_id: Annotated[str, Field(max_length=512)] | None = Field(
        default=None, alias="_thread_id"
    )
    participants: Annotated[list[Participant], Field(max_length=5000)] | None = Field(
        default=None, alias="_participants"
    )
    attachments: Annotated[list[Attachment], Field(max_length=10)] | None = Field(
        default=None, alias="_attachments"
    )
    tags: (
        Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=200)]
        | None
    ) = Field(default=None, alias="_tags")
    pii: Pii | None = Field(default=None, alias="_pii")

    @model_validator(mode="before")
    @classmethod
    def _version_is_required_in_json(cls, value: Any) -> Any:
        # Built in Python, the only version there is fills itself in; arriving as
        # JSON (keys with the leading _), the spec requires it to be present.
        if (
            isinstance(value, dict)
            and "_type" in value
            and "_schema_version" not in value
        ):
            # A missing key becomes None so the error names _schema_version.
            return {**value, "_schema_version": None}
        return value

    def __repr__(self) -> str:
        # data holds customer text and attachments may hold token-bearing URLs: the
        # repr names the record, never its content.
        return f"Record({self.type.value}, {self.vendor_ids!r}, {self.event_at_text})"

    __str__ = __repr__

    @property
    def event_at_text(self) -> str:
        return format_event_at(self.event_at)

    @property
    def identity(self) -> Identity:
        return (
            self.type.value,
            tuple(sorted(self.vendor_ids.items())),
            self.event_at_text,
        )

    def to_json(self) -> dict[str, Any]:
        """The record as Evermuse's JSON object; unset optional fields are omitted."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_bytes(self) -> bytes:
        """Canonical JSON bytes (sorted keys, UTF-8): equal records, equal bytes."""
        return orjson.dumps(self.to_json(), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, value: bytes | str | dict[str, Any]) -> Record:
        """A record as Evermuse reads one: from JSON, strictly, by the ``_`` names.

        Strict JSON validation refuses what the schema refuses ("true" for a boolean,
        "5" for an integer, ``type`` for ``_type``), where Python-mode validation
        would coerce it.
        """
        text = value if isinstance(value, bytes | str) else orjson.dumps(value)
        return cls.model_validate_json(text, strict=True, by_alias=True, by_name=False)


def identity_of(value: dict[str, Any]) -> Identity:
    """The identity of a record given as JSON, without validating the rest of it."""
    vendor_ids = value.get("_vendor_ids") or {}
    return (
        str(value.get("_type", "")).lower(),
        tuple(sorted((str(k), str(v)) for k, v in dict(vendor_ids).items())),
        format_event_at(parse_event_at(value.get("_event_at"))),
    )


def describe_errors(exc: ValidationError) -> list[str]:
    """One line per problem: the field path, the value (cut short) and the rule."""
    lines = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"]) or "(record)"
        value = error.get("input")
        shown = "value withheld" if "vendor_url" in path else f"got {_cut(value)}"
        lines.append(f"{path}: {error['msg']} ({shown})")
    return lines


def _cut(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
