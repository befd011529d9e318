"""A workspace export gives the same records, with the same identities, as the API."""

from __future__ import annotations

import zipfile
from datetime import timedelta

import pytest
from evermuse_slack.testing import Harness

from evermuse_connectors.errors import ConfigError


@pytest.fixture
def exported(harness: Harness, tmp_path):
    return harness.fake.write_export(tmp_path / "export.zip")


def _export_config(harness: Harness, path, **extra):
    ws = harness.fake.workspace
    return harness.config(
        export_path=str(path), team_id=ws.team_id, workspace_url=ws.url, **extra
    )


@pytest.mark.parametrize("back", [1, 3, 6, 13])
def test_export_and_api_give_the_same_records(harness: Harness, exported, back) -> None:
    window = harness.window(back)
    api = harness.sync(window, source="api")
    harness.fake.reset_counts()
    export = harness.sync(window, _export_config(harness, exported), source="zip")

    assert sum(harness.fake.calls.values()) == 0, "the export path calls no API"
    assert api.records
    assert export.failures == []
    by_identity = {r.identity: r.to_bytes() for r in export.records}
    for record in api.records:
        assert by_identity.get(record.identity) == record.to_bytes(), record
    # The export holds what the bot could not read through the API, too.
    unread = {r.data["channel"]["name"] for r in export.records} - {
        r.data["channel"]["name"] for r in api.records
    }
    assert unread <= {"random", "hr-private"}


def test_slack_connect_threads_match_too(harness: Harness, exported) -> None:
    external = 0
    for back in range(1, 8):
        window = harness.window(back)
        api = harness.sync(window, source="api")
        export = harness.sync(window, _export_config(harness, exported), source="zip")
        by_identity = {r.identity: r.to_bytes() for r in export.records}
        for record in api.records:
            if "slack_connect" in (record.tags or []):
                external += 1
                assert by_identity[record.identity] == record.to_bytes()
    assert external, "the sample has Slack Connect threads"


def test_export_sees_channels_the_bot_is_not_in(harness: Harness, exported) -> None:
    names = set()
    for back in range(1, 15):
        result = harness.sync(harness.window(back), _export_config(harness, exported))
        names |= {i.data["channel"]["name"] for i in result.items}
    assert "random" in names


def test_export_completeness_passes(harness: Harness, exported) -> None:
    result = harness.sync(harness.window(5), _export_config(harness, exported))
    check = harness.connector.completeness(result.items, result.stats)
    assert check is not None
    assert check.passed, check.metadata


def test_export_until_splits_windows_between_export_and_api(
    harness: Harness, exported
) -> None:
    until = harness.window(5).end
    config = _export_config(harness, exported, export_until=until.isoformat())
    harness.sync(harness.window(6), config)
    assert sum(harness.fake.calls.values()) == 0
    harness.sync(harness.window(4), config)
    assert harness.fake.calls["conversations.history"] > 0


def test_late_replies_in_later_day_files_are_found(harness: Harness, exported) -> None:
    window = harness.window(8)
    result = harness.sync(window, _export_config(harness, exported))
    late = [
        i
        for i in result.items
        for m in i.data["messages"][1:]
        if float(m["ts"]) >= (window.end + timedelta(days=1)).timestamp()
    ]
    assert late, "the sample has replies posted days after their parent"


def test_missing_export_file_is_a_config_error(harness: Harness, tmp_path) -> None:
    config = _export_config(harness, tmp_path / "nope.zip")
    with pytest.raises(ConfigError, match="not a file"):
        harness.sync(harness.window(1), config)


def test_a_file_that_is_not_a_zip_is_a_config_error(harness: Harness, tmp_path) -> None:
    path = tmp_path / "export.zip"
    path.write_text("not a zip")
    with pytest.raises(ConfigError, match="not a zip"):
        harness.sync(harness.window(1), _export_config(harness, path))


def test_damaged_day_file_is_skipped(
    harness: Harness, exported, tmp_path, caplog
) -> None:
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(exported) as src, zipfile.ZipFile(damaged, "w") as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("support/"):
                data = b"{not json"
            out.writestr(info, data)
    result = harness.sync(harness.window(2), _export_config(harness, damaged))
    assert "support" not in {i.data["channel"]["name"] for i in result.items}
    assert result.items
    assert "is not JSON" in caplog.text


def test_export_needs_the_team_id(harness: Harness, exported) -> None:
    with pytest.raises(ValueError, match="team_id"):
        harness.config(export_path=str(exported))
