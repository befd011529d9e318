"""A staged file's JSON form, as raw items keep it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from evermuse_connectors.attachments import StagedFile


def _staged() -> StagedFile:
    return StagedFile(
        key="sha256/ab/report.pdf",
        url="https://files.example.com/report.pdf?sig=SECRET",
        expires_at=datetime(2026, 3, 9, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        sha256="ab",
        sha1="cd",
        md5="ef",
        size=12,
        mime_type="application/pdf",
        filename="report.pdf",
    )


def test_round_trip_keeps_every_field_and_writes_utc() -> None:
    staged = _staged()
    value = staged.to_json()
    assert value["expires_at"] == "2026-03-09T10:00:00Z"
    back = StagedFile.from_json(value)
    assert back == staged
    assert back.expires_at.tzinfo is not None
    assert back.expires_at == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"size": -1}, "count of bytes"),
        ({"size": True}, "count of bytes"),
        ({"sha1": ""}, "are text"),
        ({"expires_at": "2026-03-09T10:00:00"}, "time zone"),
    ],
)
def test_a_damaged_entry_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StagedFile.from_json({**_staged().to_json(), **change})


def test_a_missing_field_is_named() -> None:
    value = _staged().to_json()
    del value["md5"]
    with pytest.raises(ValueError, match="needs key, url"):
        StagedFile.from_json(value)
