"""A window end to end against the fake: attachments, re-runs, completeness."""

import httpx
import pytest
from evermuse_zoom.fake import Fault

from evermuse_connectors.envelope import RecordType


@pytest.fixture
def http():
    with httpx.Client(follow_redirects=True) as client:
        yield client


def test_every_attachment_downloads_without_credentials(fake, run, day, http):
    items, _ = run.extract(fake, day(1))
    records = run.normalise(fake, items)
    attachments = [a for r in records if r.attachments for a in r.attachments]
    assert len(attachments) >= 2 * len(items)
    for attachment in attachments:
        got = http.get(attachment.vendor_url)
        assert got.status_code == 200
        assert len(got.content) == attachment.size
        assert got.headers["Content-Type"] == attachment.mime_type
        # The token is what makes it work: the bare URL is refused.
        bare = httpx.URL(attachment.vendor_url).copy_remove_param("access_token")
        assert http.get(bare).status_code == 401


def test_transcripts_become_records_tied_to_their_call(fake, run, day):
    items, ctx = run.extract(fake, day(2))
    records = run.normalise(fake, items)
    calls = {r.thread_id: r for r in records if r.type is RecordType.CALL}
    transcriptions = [r for r in records if r.type is RecordType.CALL_TRANSCRIPTION]
    assert transcriptions
    assert len(transcriptions) == ctx.stats.expected["transcripts"]
    for record in transcriptions:
        call = calls[record.thread_id]
        assert record.vendor_ids["meeting_uuid"] == call.vendor_ids["meeting_uuid"]
        assert record.data["transcript_file_id"] in call.data["transcript_file_ids"]
        assert all(t["text"] for t in record.data["turns"])
    assert fake.calls["recording.download"] == len(transcriptions)


def test_a_meeting_belongs_to_the_window_it_started_in(fake, run, day):
    late = next(
        m
        for m in fake.account.meetings
        if m.start.hour == 23 and day(3).contains(m.start)
    )
    first, _ = run.extract(fake, day(3))
    after, _ = run.extract(fake, day(2))
    assert late.uuid in {i.data["meeting"]["uuid"] for i in first}
    assert late.uuid not in {i.data["meeting"]["uuid"] for i in after}


def test_a_rerun_with_nothing_new_costs_only_the_listing(fake, run, day):
    window = day(1)
    first, _ = run.extract(fake, window)
    run.keep(first, window)
    fake.reset_counts()
    again, ctx = run.extract(fake, window)
    assert set(fake.calls) == {"accounts.recordings"}
    assert ctx.stats.notes["reused"] == len(first)
    assert ctx.stats.notes["fetched"] == 0
    assert sorted(i.id for i in again) == sorted(i.id for i in first)
    before = sorted(r.to_bytes() for r in run.normalise(fake, first))
    assert sorted(r.to_bytes() for r in run.normalise(fake, again)) == before


def test_a_rerun_fetches_again_when_the_token_would_expire_too_soon(fake, run, day):
    window = day(1)
    first, _ = run.extract(fake, window, download_token_ttl=3600)
    run.keep(first, window)
    fake.reset_counts()
    _again, ctx = run.extract(
        fake, window, download_token_ttl=3600, reuse_min_token_seconds=7200
    )
    assert ctx.stats.notes["reused"] == 0
    assert fake.calls["meetings.recordings"] == len(first)


def test_a_rerun_fetches_again_what_was_incomplete(fake, run, day):
    window = day(2)
    fake.fail_next(Fault(404, None, "/rec/download/"))
    first, ctx = run.extract(fake, window)
    assert len(ctx.stats.skipped) == 1
    run.keep(first, window)
    fake.reset_counts()
    _again, ctx = run.extract(fake, window)
    assert ctx.stats.notes["fetched"] == 1
    assert fake.calls["recording.download"] == 1
    assert not ctx.stats.skipped


def test_a_rerun_fetches_transcripts_left_out_before(fake, run, day):
    window = day(2)
    first, _ = run.extract(fake, window, fetch_transcripts=False)
    run.keep(first, window)
    fake.reset_counts()
    _again, ctx = run.extract(fake, window)
    wanting = sum(
        any(
            f["file_type"] == "TRANSCRIPT" for f in i.data["meeting"]["recording_files"]
        )
        for i in first
    )
    assert wanting
    assert ctx.stats.notes["fetched"] == wanting
    assert ctx.stats.notes["reused"] == len(first) - wanting


def test_completeness_passes_when_everything_listed_was_fetched(fake, run, day):
    items, ctx = run.extract(fake, day(1))
    verdict = run.connector.completeness(items, ctx.stats)
    assert verdict is not None
    assert verdict.passed, verdict
    assert verdict.metadata["meetings"] == len(items)


def test_completeness_fails_when_a_transcript_could_not_be_fetched(fake, run, day):
    fake.fail_next(Fault(404, None, "/rec/download/"))
    items, ctx = run.extract(fake, day(2))
    verdict = run.connector.completeness(items, ctx.stats)
    assert verdict is not None
    assert not verdict.passed
    assert "1 transcripts" in verdict.description
    assert verdict.metadata["skipped"][0].endswith(
        "/transcript/" + ctx.stats.skipped[0].item_id.rsplit("/", 1)[1]
    )


def test_participants_unavailable_do_not_sink_the_call(fake, run, day):
    gone = [m for m in fake.account.meetings if m.participants_gone]
    assert gone, "the sample should hold a meeting without participants"
    window = next(day(b) for b in range(15) if day(b).contains(gone[0].start))
    items, ctx = run.extract(fake, window)
    item = next(i for i in items if i.data["meeting"]["uuid"] == gone[0].uuid)
    assert item.data["participants"] is None
    assert ctx.stats.notes["participants_unavailable"] == 1
    call = run.normalise(fake, [item])[0]
    assert call.participants[0].id == gone[0].host.id


def test_transcripts_can_be_left_out(fake, run, day):
    items, _ = run.extract(fake, day(2), fetch_transcripts=False)
    assert "recording.download" not in fake.calls
    assert not [
        r for r in run.normalise(fake, items) if r.type is RecordType.CALL_TRANSCRIPTION
    ]


def test_passcodes_are_not_stored(fake, run, day):
    items, _ = run.extract(fake, day(1))
    for item in items:
        assert "password" not in item.data["meeting"]
        assert "recording_play_passcode" not in item.data["meeting"]
        assert "download_access_token" not in item.data["meeting"]
