"""POST /api/v1/ingest: body shapes, keys, batch rules and per-record validation."""

from __future__ import annotations

import orjson
import pytest

from evermuse_connectors.emulator import DEFAULT_READ_KEY, MAX_BODY_BYTES

INGEST = "/api/v1/ingest"
NDJSON = {"content-type": "application/x-ndjson"}


def ndjson(records, separator=b"\n"):
    return separator.join(orjson.dumps(r) for r in records)


def test_a_json_array_is_accepted_and_stored(client, emu, record, schema):
    response = client.post(INGEST, json=[record(1), record(2)])

    assert response.status_code == 202
    body = response.json()
    schema("IngestAcceptedResponse", body)
    assert (body["acceptedCount"], body["rejectedCount"]) == (2, 0)
    assert body["batchId"].startswith("bat_")
    stored = {r["_vendor_ids"]["message_id"] for r in emu.records()}
    assert stored == {"msg-000001", "msg-000002"}


def test_the_records_wrapper_is_accepted(client, emu, record):
    response = client.post(INGEST, json={"records": [record(1), record(2), record(3)]})

    assert response.status_code == 202
    assert response.json()["acceptedCount"] == 3
    assert emu.stats()["identities"] == 3


def test_a_single_bare_object_is_one_record(client, emu, record):
    response = client.post(INGEST, json=record(7))

    assert response.status_code == 202
    assert response.json()["acceptedCount"] == 1
    assert emu.records()[0]["_vendor_ids"] == {"message_id": "msg-000007"}


def test_ndjson_skips_blank_lines_and_accepts_crlf(client, emu, record):
    body = b"\n" + ndjson([record(1), record(2)], b"\r\n\r\n") + b"\n  \n"

    response = client.post(INGEST, content=body, headers=NDJSON)

    assert response.status_code == 202
    assert response.json()["acceptedCount"] == 2


def test_a_chunked_body_is_read(client, emu, record):
    body = ndjson([record(n) for n in range(50)])
    chunks = (body[i : i + 1000] for i in range(0, len(body), 1000))

    response = client.post(INGEST, content=chunks, headers=NDJSON)

    assert response.status_code == 202
    assert response.json()["acceptedCount"] == 50


def test_stored_records_keep_data_as_sent_and_normalise_event_at(client, emu, record):
    sent = record(1, _event_at="2026-02-24T12:34:56.789Z", data={"émoji": "🦊", "n": 1})

    client.post(INGEST, json=[sent]).raise_for_status()

    (stored,) = emu.records()
    assert stored["data"] == {"émoji": "🦊", "n": 1}
    assert stored["_event_at"] == "2026-02-24T12:34:56Z"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 401),
        ({"x-api-key": "em_sk_not_a_key"}, 401),
        ({"x-api-key": DEFAULT_READ_KEY}, 403),
    ],
)
def test_ingest_needs_a_write_key(emu, record, schema, headers, expected):
    import httpx

    response = httpx.post(emu.url + INGEST, json=[record()], headers=headers)

    assert response.status_code == expected
    body = response.json()
    schema("ErrorResponse", body)
    assert body["error"] == {401: "unauthorized", 403: "forbidden"}[expected]
    assert "em_sk_not_a_key" not in response.text
    assert emu.stats()["identities"] == 0


@pytest.mark.parametrize(
    ("content", "content_type", "error", "words"),
    [
        (b"[{", "application/json", "invalid_json", "not valid"),
        (b"\xff\xfe[]", "application/json", "invalid_json", "UTF-8"),
        (b"{}\n{", "application/x-ndjson", "invalid_json", "line 2"),
        (b"[]", "text/plain", "unsupported_content_type", "text/plain"),
        (b"[]", None, "unsupported_content_type", "Content-Type"),
        (b"42", "application/json", "invalid_body", "int"),
        (b'{"records": {}}', "application/json", "invalid_body", "must be an array"),
        (b'{"records": [], "x": 1}', "application/json", "invalid_body", "'x'"),
        (b"[]", "application/json", "empty_batch", "no records"),
        (b"\n\n", "application/x-ndjson", "empty_batch", "no records"),
    ],
)
def test_a_broken_body_is_refused_with_what_is_wrong(
    client, emu, schema, content, content_type, error, words
):
    headers = {"content-type": content_type} if content_type else {}

    response = client.post(INGEST, content=content, headers=headers)

    assert response.status_code == 400
    body = response.json()
    schema("ErrorResponse", body)
    assert body["error"] == error
    assert words in body["message"]
    assert emu.stats()["batches"] == 0


def test_mixed_types_are_refused(client, emu, record, schema):
    response = client.post(INGEST, json=[record(1), record(2, _type="message")])

    assert response.status_code == 400
    schema("ErrorResponse", response.json())
    assert response.json()["error"] == "mixed_type"
    assert "_type" in response.json()["message"]
    assert emu.stats()["identities"] == 0


def test_mixed_products_are_refused(client, emu, record):
    response = client.post(INGEST, json=[record(1), record(2, _product_id="other")])

    assert response.status_code == 400
    assert response.json()["error"] == "mixed_product_id"
    assert response.json()["details"]["values"] == ["prod-abc", "other"]


def test_over_1000_records_are_refused_and_1000_accepted(client, emu, record):
    small = [record(n, data={}) for n in range(1001)]

    too_many = client.post(INGEST, content=ndjson(small), headers=NDJSON)
    just_right = client.post(INGEST, content=ndjson(small[:1000]), headers=NDJSON)

    assert too_many.status_code == 400
    assert too_many.json()["error"] == "too_many_records"
    assert "1001" in too_many.json()["message"]
    assert just_right.status_code == 202
    assert emu.stats()["identities"] == 1000


def test_a_body_over_5_mb_gets_413_and_the_connection_stays_usable(
    client, emu, record, schema
):
    body = b" " * (MAX_BODY_BYTES + 1)

    response = client.post(INGEST, content=body, headers=NDJSON)
    after = client.post(INGEST, json=[record()])

    assert response.status_code == 413
    schema("ErrorResponse", response.json())
    assert response.json()["error"] == "payload_too_large"
    assert after.status_code == 202
    assert emu.stats()["identities"] == 1


def test_a_chunked_body_over_5_mb_gets_413(client):
    chunks = (b" " * 1_000_000 for _ in range(6))

    response = client.post(INGEST, content=chunks, headers=NDJSON)

    assert response.status_code == 413


def test_exactly_5_mb_is_not_too_large(client, record):
    line = orjson.dumps(record(1))
    body = line + b" " * (MAX_BODY_BYTES - len(line))

    response = client.post(INGEST, content=body, headers=NDJSON)

    assert len(body) == MAX_BODY_BYTES
    assert response.status_code == 202


def test_per_record_errors_list_20_and_count_all(client, emu, record, schema):
    records = [record(n) for n in range(10)]
    records += [record(n, _nature="gossip") for n in range(10, 40)]

    response = client.post(INGEST, json=records)

    assert response.status_code == 202
    body = response.json()
    schema("IngestAcceptedResponse", body)
    assert body["acceptedCount"] == 10
    assert body["rejectedCount"] == body["totalErrorCount"] == 30
    assert [error["index"] for error in body["errors"]] == list(range(10, 30))
    assert {error["code"] for error in body["errors"]} == {"VALIDATION_ERROR"}
    assert "_nature" in body["errors"][0]["message"]
    assert emu.stats()["identities"] == 10


def test_an_error_message_is_cut_to_2048_characters(client, record, schema):
    # Many bad participants make one very long message.
    people = [{"id": "x" * 300, "role": "boss"} for _ in range(40)]

    response = client.post(INGEST, json=[record(1, _participants=people)])

    (error,) = response.json()["errors"]
    schema("IngestAcceptedResponse", response.json())
    assert len(error["message"]) == 2048
    assert error["message"].endswith("…")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"_pii": {"contains_email": "true"}}, "_pii.contains_email"),
        ({"_attachments": [{"type": "file", "size": "5"}]}, "_attachments.0.size"),
        ({"_event_at": "2026-02-24T12:34:56+00:00"}, "_event_at"),
        ({"_event_at": "2026-02-30T12:00:00Z"}, "_event_at"),
        ({"_vendor_ids": {}}, "_vendor_ids"),
        ({"_vendor_ids": {"id": 5}}, "_vendor_ids.id"),
        ({"_project_ids": []}, "_project_ids"),
        ({"_type": "EMAIL"}, "_type"),
        ({"_schema_version": "2.0.0"}, "_schema_version"),
        ({"_project_id": "p"}, "_project_id"),
    ],
)
def test_records_are_validated_as_strictly_as_the_schema(
    client, emu, record, change, field
):
    response = client.post(INGEST, json=[record(1, **change)])

    assert response.status_code == 202
    (error,) = response.json()["errors"]
    assert error["message"].startswith(field) or f"; {field}" in error["message"]
    assert emu.stats()["identities"] == 0


def test_a_missing_schema_version_is_rejected(client, record):
    value = record(1)
    del value["_schema_version"]

    response = client.post(INGEST, json=[value])

    assert response.json()["rejectedCount"] == 1
    assert "_schema_version" in response.json()["errors"][0]["message"]


def test_field_names_without_the_underscore_are_rejected(client, record):
    value = record(1)
    value["type"] = value.pop("_type")

    response = client.post(INGEST, json=[value])

    assert response.json()["rejectedCount"] == 1


def test_non_object_items_are_rejected_one_by_one(client, record):
    response = client.post(INGEST, json=[record(1), 5, "text", None])

    body = response.json()
    assert response.status_code == 202
    assert body["acceptedCount"] == 1
    assert [error["index"] for error in body["errors"]] == [1, 2, 3]


def test_a_bad_format_hint_is_refused_and_a_good_one_accepted(client, record):
    bad = client.post(INGEST, params={"format": "hologram"}, json=[record(1)])
    good = client.post(INGEST, params={"format": "text"}, json=[record(1)])

    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_format"
    assert good.status_code == 202


def test_wrong_method_and_unknown_path(client, schema):
    wrong = client.get(INGEST)
    unknown = client.get("/api/v2/ingest")

    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert unknown.status_code == 404
    schema("ErrorResponse", wrong.json())
    schema("ErrorResponse", unknown.json())
