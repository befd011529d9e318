"""The Zoom client's paging, month steps, UUID encoding and 429s, against the fake."""

import itertools
import logging
import math
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from evermuse_zoom._client import date_steps, encode_uuid
from evermuse_zoom.fake import FakeOptions, Fault

from evermuse_connectors.connector import ExtractContext, Window
from evermuse_connectors.errors import SourceError


@pytest.mark.parametrize(
    ("first", "last", "steps"),
    [
        (date(2026, 3, 9), date(2026, 3, 9), [("2026-03-09", "2026-03-09")]),
        (
            date(2026, 1, 31),
            date(2026, 4, 2),
            [
                ("2026-01-31", "2026-02-27"),
                ("2026-02-28", "2026-03-27"),
                ("2026-03-28", "2026-04-02"),
            ],
        ),
        (
            date(2025, 12, 15),
            date(2026, 1, 20),
            [("2025-12-15", "2026-01-14"), ("2026-01-15", "2026-01-20")],
        ),
        (date(2026, 3, 10), date(2026, 3, 9), []),
    ],
)
def test_date_steps(first, last, steps):
    assert [(a.isoformat(), b.isoformat()) for a, b in date_steps(first, last)] == steps


def test_date_steps_cover_a_year_without_gaps_or_overlong_steps():
    steps = list(date_steps(date(2025, 1, 1), date(2025, 12, 31)))
    assert steps[0][0] == date(2025, 1, 1)
    assert steps[-1][1] == date(2025, 12, 31)
    for (_, end), (start, _) in itertools.pairwise(steps):
        assert start == end + timedelta(days=1)
    for start, end in steps:
        assert (end - start).days < 31
        assert end.day < start.day or end.month == start.month


@pytest.mark.parametrize(
    ("uuid", "encoded"),
    [
        ("4444AAAiAAAAAiAiAiiAii==", "4444AAAiAAAAAiAiAiiAii%3D%3D"),
        ("ab/cd+ef==", "ab%2Fcd%2Bef%3D%3D"),
        ("/ajXp112QmuoKj4854875==", "%252FajXp112QmuoKj4854875%253D%253D"),
        ("ab//cd==", "ab%252F%252Fcd%253D%253D"),
    ],
)
def test_encode_uuid(uuid, encoded):
    assert encode_uuid(uuid) == encoded


def _in_window(fake, window):
    return {m.uuid for m in fake.account.meetings if window.contains(m.start)}


def test_a_long_window_is_read_in_month_steps(start_fake, run, day):
    fake = start_fake(options=FakeOptions(days=80, meetings_per_day=(1, 2)))
    end = day(1).end
    window = Window(end - timedelta(days=75), end, "long")
    items, _ctx = run.extract(fake, window)
    assert {i.data["meeting"]["uuid"] for i in items} == _in_window(fake, window)
    listings = [s for s in fake.seen if s.route == "accounts.recordings"]
    assert len(listings) == 3
    assert all(s.status == 200 for s in listings)
    ranges = [(s.query["from"], s.query["to"]) for s in listings]
    assert ranges[0][0] == (window.start - timedelta(days=1)).date().isoformat()
    assert ranges[-1][1] == end.date().isoformat()  # end is exclusive, plus a day


def test_pagination_follows_next_page_token(fake, run, day):
    items, ctx = run.extract(fake, day(1), page_size=2)
    window = day(1)
    assert {i.data["meeting"]["uuid"] for i in items} == _in_window(fake, window)
    listed = ctx.stats.notes["listed"]
    assert fake.calls["accounts.recordings"] == math.ceil(listed / 2)
    assert ctx.stats.expected["listed"] == listed
    by_uuid = {m.uuid: m for m in fake.account.meetings}
    paged = 0
    for item in items:
        meeting = by_uuid[item.data["meeting"]["uuid"]]
        expected = meeting.participants if not meeting.participants_gone else None
        assert item.data["participants"] == expected
        paged += len(meeting.participants) > 2 and not meeting.participants_gone
    assert paged, "the sample should need several participant pages somewhere"


def test_an_expired_page_token_restarts_the_listing(fake, run, day, caplog):
    config = run.config(fake, page_size=1)
    window = day(1)
    ctx = ExtractContext(
        source="zoom-test", window=window, store=run.store, environ=fake.environ
    )
    with caplog.at_level(logging.WARNING):
        try:
            stream = run.connector.extract(config, ctx)
            uuids = [next(stream).data["meeting"]["uuid"]]
            fake.expire_page_tokens()  # the next page's token is now stale
            uuids += [i.data["meeting"]["uuid"] for i in stream]
        finally:
            ctx.close()
    assert sorted(uuids) == sorted(_in_window(fake, window))
    assert any(s.status == 400 for s in fake.seen if s.route == "accounts.recordings")
    assert "starting the listing again" in caplog.text


def test_a_repeated_page_token_stops_the_loop(start_fake, run, day):
    fake = start_fake(repeat_page_tokens=True)
    with pytest.raises(SourceError, match="same next_page_token twice"):
        run.extract(fake, day(1), page_size=1)


def test_uuids_with_slashes_are_encoded_twice(fake, run, day):
    items, _ = run.extract(fake, day(1))
    uuids = [i.data["meeting"]["uuid"] for i in items]
    special = [u for u in uuids if u.startswith("/") or "//" in u]
    plain = [u for u in uuids if u not in special]
    assert special, "the sample should hold UUIDs that need double encoding"
    assert plain, "and UUIDs that do not"
    paths = {s.raw_path for s in fake.seen if s.status == 200}
    for uuid in special:
        twice = quote(quote(uuid, safe=""), safe="")
        assert f"/v2/meetings/{twice}/recordings" in paths
        assert f"/v2/past_meetings/{twice}/participants" in paths
    for uuid in plain:
        assert f"/v2/meetings/{quote(uuid, safe='')}/recordings" in paths


def test_a_429_is_waited_out_as_retry_after_says(fake, run, day):
    fake.fail_next(
        Fault(429, "1", "/v2/accounts/"), Fault(429, None, "/v2/past_meetings/")
    )
    items, ctx = run.extract(fake, day(1))
    assert {i.data["meeting"]["uuid"] for i in items} == _in_window(fake, day(1))
    listing = [s for s in fake.seen if s.route == "accounts.recordings"]
    assert [s.status for s in listing] == [429, 200]
    assert listing[1].at - listing[0].at >= 0.95
    assert ctx.stats.notes["http"]["rate_limited"] == 2


def test_client_side_pacing_stays_under_the_plan_limit(start_fake, run, day):
    fake = start_fake(medium_per_second=5, light_per_second=5)
    items, ctx = run.extract(
        fake, day(1), source="paced", medium_per_second=3, light_per_second=3
    )
    assert items
    assert sum(s.route == "past_meetings.participants" for s in fake.seen) >= 3
    assert not [s for s in fake.seen if s.status == 429]
    assert ctx.stats.notes["http"]["rate_limited"] == 0


def test_configured_users_are_listed_one_by_one(fake, run, day):
    window = day(1)
    host = next(m.host for m in fake.account.meetings if window.contains(m.start))
    items, ctx = run.extract(
        fake, window, users=[host.email, "nobody@northwind.example"]
    )
    expected = {
        m.uuid
        for m in fake.account.meetings
        if m.host is host and window.contains(m.start)
    }
    assert {i.data["meeting"]["uuid"] for i in items} == expected
    assert all(i.data["listed_for"] == {"email": host.email} for i in items)
    assert [s.item_id for s in ctx.stats.skipped] == [
        "/users/nobody@northwind.example/recordings"
    ]


def test_every_user_through_the_user_list(fake, run, day):
    window = day(2)
    items, _ctx = run.extract(fake, window, every_user_via="user_list")
    assert {i.data["meeting"]["uuid"] for i in items} == _in_window(fake, window)
    assert fake.calls["users.list"] == 2  # active and deactivated users
    assert fake.calls["users.recordings"] == len(fake.account.users)
    assert "accounts.recordings" not in fake.calls
