"""The envelope models against Evermuse's published IngestRecord schema."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from evermuse_connectors.envelope import (
    Attachment,
    AttachmentType,
    Nature,
    Participant,
    ParticipantType,
    Pii,
    Record,
    RecordType,
    Role,
    describe_errors,
)


@pytest.fixture(scope="module")
def record_schema(spec: dict[str, Any]) -> dict[str, Any]:
    # Resolve the spec's internal $refs by embedding the components next to the schema.
    schema = copy.deepcopy(spec["components"]["schemas"]["IngestRecord"])
    schema["components"] = spec["components"]
    return schema


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def minimal(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "_type": "conversation",
        "_schema_version": "1.0.0",
        "_event_at": "2026-02-24T12:34:56Z",
        "_vendor_ids": {"conversation_id": "c-1"},
        "_product_id": "prod-abc",
        "_project_ids": ["proj-123"],
        "_nature": "evidence",
        "data": {"messages": []},
    }
    value.update(overrides)
    return value


def test_event_at_is_written_in_utc_cut_to_the_second() -> None:
    paris = timezone(timedelta(hours=1))
    record = Record.from_json(minimal(_event_at="2026-02-24T12:34:56.789Z"))
    assert record.to_json()["_event_at"] == "2026-02-24T12:34:56Z"
    built = Record(
        type=RecordType.CALL,
        event_at=datetime(2026, 2, 24, 13, 34, 56, 999_000, tzinfo=paris),
        vendor_ids={"meeting_id": "m"},
        product_id="p",
        project_ids=["x"],
        nature=Nature.EVIDENCE,
        data={},
    )
    assert built.to_json()["_event_at"] == "2026-02-24T12:34:56Z"


def test_naive_datetime_is_refused_with_the_fix() -> None:
    with pytest.raises(ValidationError) as caught:
        Record(
            type=RecordType.CALL,
            event_at=datetime(2026, 2, 24, 12, 0),
            vendor_ids={"m": "1"},
            product_id="p",
            project_ids=["x"],
            nature=Nature.EVIDENCE,
            data={},
        )
    text = " ".join(describe_errors(caught.value))
    assert "event_at" in text
    assert "timezone" in text


def test_unset_optional_fields_are_omitted() -> None:
    out = Record.from_json(minimal()).to_json()
    assert set(out) == {
        "_type",
        "_schema_version",
        "_event_at",
        "_vendor_ids",
        "_product_id",
        "_project_ids",
        "_nature",
        "data",
    }


def test_a_vendor_url_never_shows_in_a_repr() -> None:
    url = "https://files.example.com/rec.m4a?access_token=SECRET-CANARY"
    record = Record.from_json(
        minimal(_attachments=[{"type": "audio", "vendor_url": url}])
    )
    assert "SECRET-CANARY" not in repr(record)
    assert "SECRET-CANARY" not in str(record)
    assert "SECRET-CANARY" not in repr(record.attachments)
    assert record.to_json()["_attachments"][0]["vendor_url"] == url


def test_canonical_bytes_do_not_depend_on_key_order() -> None:
    one = Record.from_json(minimal(data={"a": 1, "b": [1, 2]}))
    two = Record.from_json(
        dict(reversed(list(minimal(data={"b": [1, 2], "a": 1}).items())))
    )
    assert one.to_bytes() == two.to_bytes()


# -- every record built through the models validates against the spec ---------------

_text = st.text(min_size=0, max_size=20)
_short_id = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P"]),
    min_size=1,
    max_size=30,
)
_participants = st.builds(
    Participant,
    id=_short_id,
    role=st.sampled_from(Role),
    name=st.none() | _text,
    email=st.none() | st.emails(),
    type=st.none() | st.sampled_from(ParticipantType),
)
_attachments = st.builds(
    Attachment,
    type=st.sampled_from(AttachmentType),
    filename=st.none() | _text,
    size=st.none() | st.integers(min_value=0, max_value=10**12),
    mime_type=st.none()
    | st.sampled_from(["audio/mpeg", "application/pdf", "image/png"]),
    vendor_url=st.none()
    | st.builds(lambda n: f"https://storage.example.com/f/{n}", st.integers(0, 10**6)),
)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _text,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3)
    ),
    max_leaves=10,
)
# Keyword arguments go through a dict: st.builds would read pydantic's alias-based
# signature and invent values for the underscore names itself.
_record_kwargs = st.fixed_dictionaries(
    dict(
        type=st.sampled_from(RecordType),
        event_at=st.datetimes(
            min_value=datetime(1971, 1, 1),
            max_value=datetime(2099, 12, 31),
            timezones=st.just(UTC),
        ),
        vendor_ids=st.dictionaries(_short_id, _short_id, min_size=1, max_size=3),
        product_id=_short_id,
        project_ids=st.lists(_short_id, min_size=1, max_size=3),
        nature=st.sampled_from(Nature),
        data=st.dictionaries(_text, _json_values, max_size=4),
        thread_id=st.none() | _short_id,
        participants=st.none() | st.lists(_participants, max_size=4),
        attachments=st.none() | st.lists(_attachments, max_size=10),
        tags=st.none() | st.lists(st.text(max_size=64), max_size=5),
        pii=st.none()
        | st.builds(
            Pii,
            contains_email=st.none() | st.booleans(),
            sensitive_score=st.none() | st.floats(0, 1),
        ),
    )
)
_records = _record_kwargs.map(lambda kwargs: Record(**kwargs))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(record=_records)
def test_generated_records_validate_against_the_spec(
    record_schema: dict[str, Any], record: Record
) -> None:
    _validator(record_schema).validate(record.to_json())


def test_the_specs_own_examples_are_accepted(spec: dict[str, Any]) -> None:
    examples = spec["paths"]["/api/v1/ingest"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]
    count = 0
    for example in examples.values():
        value = example["value"]
        records = value["records"] if isinstance(value, dict) else value
        for raw in records:
            # YAML reads the unquoted timestamps as datetimes; JSON would carry text.
            raw = {**raw, "_event_at": _as_text(raw["_event_at"])}
            Record.from_json(raw)
            count += 1
    assert count >= 5


def _as_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


# -- invalid records: refused by both the models and the schema, naming the field ---

INVALID = [
    ("_type", minimal(_type="chat")),
    ("_event_at", minimal(_event_at="2026-02-24 12:34:56")),
    ("_event_at", minimal(_event_at="2026-02-24T12:34:56+01:00")),
    ("_vendor_ids", minimal(_vendor_ids={})),
    ("_vendor_ids", minimal(_vendor_ids={"id": 5})),
    ("_product_id", minimal(_product_id="p" * 129)),
    ("_project_ids", minimal(_project_ids=[])),
    ("_project_ids", minimal(_project_ids=["x" * 129])),
    ("_nature", minimal(_nature="feedback")),
    ("data", minimal(data="text")),
    ("_thread_id", minimal(_thread_id="t" * 513)),
    ("_participants", minimal(_participants=[{"id": "a"}])),
    ("_participants", minimal(_participants=[{"id": "a", "role": "boss"}])),
    ("_participants", minimal(_participants=[{"id": "a", "role": "internal", "x": 1}])),
    (
        "_participants",
        minimal(_participants=[{"id": "a", "role": "internal", "email": "no"}]),
    ),
    ("_attachments", minimal(_attachments=[{"type": "audio"}] * 11)),
    ("_attachments", minimal(_attachments=[{"type": "zip"}])),
    ("_attachments", minimal(_attachments=[{"type": "file", "size": -1}])),
    (
        "_attachments",
        minimal(
            _attachments=[{"type": "file", "vendor_url": "https://x/" + "a" * 2048}]
        ),
    ),
    ("_tags", minimal(_tags=["t" * 65])),
    ("_tags", minimal(_tags=["t"] * 201)),
    ("_pii", minimal(_pii={"sensitive_score": 1.5})),
    ("_pii", minimal(_pii={"redaction_status": "hidden"})),
    ("_project_id", minimal(_project_id="singular-is-not-in-the-schema")),
]


@pytest.mark.parametrize(("field", "record"), INVALID, ids=[f for f, _ in INVALID])
def test_invalid_records_are_refused_by_models_and_schema(
    record_schema: dict[str, Any], field: str, record: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as caught:
        Record.from_json(record)
    assert any(line.startswith(field) for line in describe_errors(caught.value)), (
        describe_errors(caught.value)
    )
    errors = list(_validator(record_schema).iter_errors(record))
    assert errors, f"the spec's schema accepted a record the models refused ({field})"


def test_missing_required_fields_are_each_named(record_schema: dict[str, Any]) -> None:
    for field in minimal():
        record = minimal()
        del record[field]
        with pytest.raises(ValidationError) as caught:
            Record.from_json(record)
        assert any(line.startswith(field) for line in describe_errors(caught.value))
        assert list(_validator(record_schema).iter_errors(record))


def test_only_the_documented_schema_version_is_accepted() -> None:
    # The schema types _schema_version as any string; its description says to use
    # "1.0.0", the only version there is. The models hold to the description, so a
    # typo like "1.0" is caught here instead of being sent.
    with pytest.raises(ValidationError) as caught:
        Record.from_json(minimal(_schema_version="1.0"))
    assert describe_errors(caught.value)[0].startswith("_schema_version")


def test_a_vendor_url_must_be_an_absolute_uri_and_is_not_echoed() -> None:
    # jsonschema checks format: uri only with an extra package; the models always do.
    with pytest.raises(ValidationError) as caught:
        Record.from_json(
            minimal(_attachments=[{"type": "file", "vendor_url": "token=abc123 file"}])
        )
    text = " ".join(describe_errors(caught.value))
    assert "_attachments" in text
    assert "abc123" not in text
