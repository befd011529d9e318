"""Extract against the fake: paging, batching, retries, quota, mailboxes, re-runs."""

from __future__ import annotations

import logging
import math
from collections import Counter
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from evermuse_gmail import GmailConnector
from evermuse_gmail.fake import ADMIN, FakeGmail
from evermuse_gmail.fake._content import ALICE, SUPPORT

from evermuse_connectors.connector import NormaliseContext, Routing
from evermuse_connectors.errors import ConfigError, SourceAuthError, SourceError
from evermuse_connectors.store import Store
from evermuse_connectors.testing import CONTRACT_NOW as NOW
from evermuse_connectors.testing import day_window

CONNECTOR = GmailConnector()
NCTX = NormaliseContext("gmail-test", Routing(product_id="p", project_ids=["x"]))
FAST = {"backoff_base_seconds": 0.01, "backoff_cap_seconds": 0.05}


def completeness(sync: Any) -> Any:
    return CONNECTOR.completeness(sync.items, sync.ctx.stats)


def subjects(sync: Any) -> set[str]:
    return {str(r.data["subject"]) for r in sync.records}


def test_every_page_is_listed(run: Any, fake: FakeGmail, store: Store) -> None:
    whole = run(fake.settings, fake.environ, store, mailboxes=[SUPPORT.email])
    listed = whole.notes["threads_listed"]
    assert listed > 4
    fake.reset_counters()
    paged = run(
        fake.settings, fake.environ, store, mailboxes=[SUPPORT.email], page_size=2
    )
    assert [i.id for i in paged.items] == [i.id for i in whole.items]
    assert fake.calls["threads.list"] == math.ceil(listed / 2)


def test_batches_fill_up_across_pages(run: Any, fake: FakeGmail, store: Store) -> None:
    sync = run(
        fake.settings,
        fake.environ,
        store,
        mailboxes=[SUPPORT.email],
        page_size=3,
        batch_size=4,
    )
    listed = sync.notes["threads_listed"]
    assert fake.batch_sizes[:-1] == [4] * (len(fake.batch_sizes) - 1)
    assert sum(fake.batch_sizes) == listed
    assert len(fake.batch_sizes) == math.ceil(listed / 4)


def test_an_empty_window_costs_one_list_call_per_mailbox(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    sync = run(fake.settings, fake.environ, store, days_back=800)
    assert sync.items == []
    assert fake.calls["threads.list"] == 2
    assert fake.calls["batch"] == 0
    assert completeness(sync).passed


def test_a_repeated_page_token_stops_the_window(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    assert fake.api is not None
    fake.api.repeat_page_token = True
    with pytest.raises(SourceError, match="page token"):
        run(fake.settings, fake.environ, store, mailboxes=[SUPPORT.email], page_size=2)


def test_retry_after_is_honoured(
    run: Any, fake: FakeGmail, store: Store, caplog: Any
) -> None:
    baseline = run(fake.settings, fake.environ, store)
    fake.inject("threads.list", status=429, retry_after="1", times=1)
    with caplog.at_level(logging.WARNING):
        sync = run(fake.settings, fake.environ, store, **FAST)
    assert [i.id for i in sync.items] == [i.id for i in baseline.items]
    assert "retrying in 1.00s" in caplog.text
    assert sync.notes["rate_limited"] == 1


def test_rate_limited_parts_ride_along_in_the_next_batch(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    fake.inject("threads.get", status=403, reason="userRateLimitExceeded", times=2)
    sync = run(fake.settings, fake.environ, store, mailboxes=[SUPPORT.email], **FAST)
    listed = sync.notes["threads_listed"]
    assert fake.batch_sizes == [listed, 2]
    assert len(sync.items) == listed
    assert sync.notes["retried_parts"] == 2
    assert completeness(sync).passed


def test_a_rate_limited_batch_is_sent_again(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    fake.inject("batch", status=429, retry_after="0")
    sync = run(fake.settings, fake.environ, store, mailboxes=[SUPPORT.email], **FAST)
    assert fake.calls["batch"] == 2
    assert len(sync.items) == sync.notes["threads_listed"]


def test_a_part_that_keeps_failing_is_skipped_with_its_reason(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    fake.inject("threads.get", status=503, reason="backendError", times=1000)
    sync = run(
        fake.settings,
        fake.environ,
        store,
        mailboxes=[SUPPORT.email],
        max_attempts=2,
        **FAST,
    )
    listed = sync.notes["threads_listed"]
    assert sync.items == []
    assert len(sync.ctx.stats.skipped) == listed
    assert (
        "not fetched after 2 attempt(s): HTTP 503" in sync.ctx.stats.skipped[0].reason
    )
    verdict = completeness(sync)
    assert not verdict.passed
    assert len(verdict.metadata["skipped"]) == listed


def test_a_thread_deleted_before_get_is_reported(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    fake.inject("threads.get", status=404, reason="notFound")
    sync = run(fake.settings, fake.environ, store, mailboxes=[SUPPORT.email])
    assert len(sync.items) == sync.notes["threads_listed"] - 1
    [skip] = sync.ctx.stats.skipped
    assert "deleted between threads.list and threads.get" in skip.reason
    assert completeness(sync).passed


def test_one_mailbox_failing_auth_does_not_stop_the_others(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    fake.deny(ALICE.email)
    sync = run(fake.settings, fake.environ, store)
    assert sync.items
    assert {i.data["mailbox"] for i in sync.items} == {SUPPORT.email}
    [skip] = sync.ctx.stats.skipped
    assert skip.item_id == f"mailbox:{ALICE.email}"
    assert "unauthorized_client" in skip.reason
    verdict = completeness(sync)
    assert not verdict.passed
    assert "1 mailbox(es) could not be read" in verdict.description


def test_an_unknown_mailbox_is_reported(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    ghost = "ghost@acme.example"
    sync = run(fake.settings, fake.environ, store, mailboxes=[SUPPORT.email, ghost])
    assert sync.items
    assert [s.item_id for s in sync.ctx.stats.skipped] == [f"mailbox:{ghost}"]
    assert "Invalid email or User ID" in sync.ctx.stats.skipped[0].reason


def by_identity(sync: Any) -> dict[Any, bytes]:
    return {r.identity: r.to_bytes() for r in sync.records}


@pytest.mark.parametrize("days_back", [1, 2, 3])
def test_copies_in_two_mailboxes_become_one_record(
    run: Any, fake: FakeGmail, store: Store, days_back: int
) -> None:
    both = run(fake.settings, fake.environ, store, days_back)
    support = run(
        fake.settings, fake.environ, store, days_back, mailboxes=[SUPPORT.email]
    )
    alice = run(fake.settings, fake.environ, store, days_back, mailboxes=[ALICE.email])
    assert len(by_identity(both)) == len(both.records)
    vendor_ids = Counter(tuple(r.vendor_ids.items()) for r in both.records)
    assert max(vendor_ids.values()) == 1
    # The record does not depend on which mailbox it came from.
    shared = by_identity(support).keys() & by_identity(alice).keys()
    assert shared
    for identity in shared:
        assert by_identity(support)[identity] == by_identity(alice)[identity]
    assert by_identity(support).items() <= by_identity(both).items()
    assert both.notes["duplicates_dropped"] >= len(shared)
    assert completeness(both).passed


def test_a_colleague_who_joined_late_names_the_same_root(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    found = []
    for days_back in range(1, 8):
        support = run(
            fake.settings, fake.environ, store, days_back, mailboxes=[SUPPORT.email]
        )
        alice = run(
            fake.settings, fake.environ, store, days_back, mailboxes=[ALICE.email]
        )
        roots = {tuple(r.vendor_ids.items()): r for r in support.records}
        for record in alice.records:
            whole = roots.get(tuple(record.vendor_ids.items()))
            if whole is not None and whole.event_at != record.event_at:
                found.append((whole, record))
    assert found, "the sample should hold a conversation Alice joined late"
    for whole, partial in found:
        assert partial.data["message_count"] < whole.data["message_count"]
        assert partial.event_at > whole.event_at


def test_unchanged_threads_are_not_fetched_again(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    first = run(fake.settings, fake.environ, store, keep=True)
    fetched = fake.calls["threads.get"]
    second = run(fake.settings, fake.environ, store, keep=True)
    assert fake.calls["threads.get"] == fetched
    assert sorted(i.id for i in second.items) == sorted(i.id for i in first.items)
    assert sorted(r.to_bytes() for r in second.records) == sorted(
        r.to_bytes() for r in first.records
    )
    assert second.notes["threads_reused"] == len(first.items)
    assert second.notes["duplicates_dropped"] == first.notes["duplicates_dropped"]
    assert completeness(second).passed

    changed = next(i for i in first.items if i.data["mailbox"] == SUPPORT.email)
    fake.mailboxes[SUPPORT.email].touch(changed.data["thread"]["id"])
    run(fake.settings, fake.environ, store)
    assert fake.calls["threads.get"] == fetched + 1


def test_the_quota_budget_is_respected(run: Any, store: Store) -> None:
    quota = {"units": 300, "per_seconds": 0.5}
    with FakeGmail(
        seed=11, now=NOW, quota_units=300, quota_seconds=0.5
    ).start() as fake:
        settings = {**fake.settings, "quota": quota, "batch_size": 5}
        spent = 0
        for days_back in (1, 2, 3, 4, 5):
            sync = run(settings, fake.environ, store, days_back, source="gmail-quota")
            assert completeness(sync).passed
            spent += sync.notes["quota_units"]
        assert spent > 2 * quota["units"]
        assert fake.quota.exceeded == 0
        assert max(fake.quota.peak.values()) <= quota["units"]


def test_the_fake_enforces_its_quota_and_the_client_recovers(
    run: Any, store: Store
) -> None:
    # A budget this small is kept only by pacing, which a too-large setting turns
    # off: the fake refuses calls, and the retries must still carry the window.
    with FakeGmail(seed=11, now=NOW, quota_units=60, quota_seconds=0.5).start() as fake:
        settings = {**fake.settings, "quota": {"units": 60_000}, "batch_size": 3}
        sync = run(settings, fake.environ, store, source="gmail-no-budget", **FAST)
        assert fake.quota.exceeded > 0
        assert sync.notes["rate_limited"] > 0
        assert (
            len(sync.items) + sync.notes["duplicates_dropped"]
            == sync.notes["threads_listed"]
        )


def test_an_authorized_user_reads_its_own_mailbox(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    settings, environ = fake.authorized_user(SUPPORT.email)
    first = run(settings, environ, store, 1, source="gmail-user")
    assert first.items
    assert {i.data["mailbox"] for i in first.items} == {SUPPORT.email}
    assert fake.calls["users.getProfile"] == 1
    run(settings, environ, store, 2, source="gmail-user")
    assert fake.calls["users.getProfile"] == 1  # the address was kept as state


def test_the_directory_gives_every_active_mailbox(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    sync = run(
        fake.settings,
        fake.environ,
        store,
        mailboxes=[],
        directory={"admin_subject": ADMIN, "domain": "acme.example"},
    )
    # admin, alice, bob and support; carol is suspended
    assert sync.notes["mailboxes"] == 4
    assert fake.calls["directory.users.list"] == 1
    assert fake.calls["threads.list"] == 4
    assert completeness(sync).passed


def test_the_directory_refuses_a_non_admin(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    with pytest.raises(SourceAuthError, match="Not Authorized"):
        run(
            fake.settings,
            fake.environ,
            store,
            mailboxes=[],
            directory={"admin_subject": ALICE.email},
        )


def test_a_revoked_token_is_refreshed(run: Any, fake: FakeGmail, store: Store) -> None:
    run(fake.settings, fake.environ, store, 1)
    tokens = fake.calls["oauth2.token"]
    assert fake.api is not None
    fake.api.authority.revoke_all()
    sync = run(fake.settings, fake.environ, store, 2)
    assert completeness(sync).passed
    assert fake.calls["oauth2.token"] == tokens + 2


def test_items_come_in_the_same_order_every_time(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    runs = [
        run(fake.settings, fake.environ, store, max_concurrent_mailboxes=2)
        for _ in range(3)
    ]
    orders = [[i.id for i in sync.items] for sync in runs]
    assert orders[0] == orders[1] == orders[2]


def test_noise_spam_and_drafts_stay_out(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    seen: set[str] = set()
    for days_back in (1, 2, 3):
        sync = run(fake.settings, fake.environ, store, days_back)
        seen |= subjects(sync)
        for record in sync.records:
            for message in record.data["messages"]:
                assert not str(message["new_text"]).startswith("Draft:")
    assert not seen & {
        "50% off everything this week",
        "You have 3 new connections",
        "You won!",
    }
    everything = run(fake.settings, fake.environ, store, 1, exclude_categories=[])
    assert "50% off everything this week" in subjects(everything) | {
        s
        for d in (2, 3)
        for s in subjects(
            run(fake.settings, fake.environ, store, d, exclude_categories=[])
        )
    }


def test_the_configured_query_narrows_the_window(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    everything = run(fake.settings, fake.environ, store, 1)
    narrowed = run(
        fake.settings,
        fake.environ,
        store,
        1,
        query="from:acme.example OR to:acme.example",
    )
    assert 0 < len(narrowed.items) <= len(everything.items)
    only_jose = run(
        fake.settings, fake.environ, store, 1, query="from:jose@cliente.example"
    )
    for record in only_jose.records:
        assert "jose@cliente.example" in {p.id for p in record.participants or []}


def test_the_window_is_sent_as_epoch_bounds(fake: FakeGmail, store: Store) -> None:
    win = day_window(NOW - timedelta(days=1))
    from evermuse_gmail._extract import window_query

    config = CONNECTOR.parse_config({**fake.settings, "query": "label:Customers"})
    assert window_query(config, win) == (
        f"after:{win.start_epoch - 1} before:{win.end_epoch} "
        "-category:promotions -category:social (label:Customers)"
    )


def test_the_key_may_sit_in_a_file_the_variable_names(
    run: Any, fake: FakeGmail, store: Store, tmp_path: Any
) -> None:
    key_file = tmp_path / "key.json"
    key_file.write_text(next(iter(fake.environ.values())), encoding="utf-8")
    env_name = next(iter(fake.environ))
    sync = run(fake.settings, {env_name: str(key_file)}, store)
    assert sync.items
    assert completeness(sync).passed
    with pytest.raises(ConfigError, match="cannot be read"):
        run(fake.settings, {env_name: str(tmp_path / "missing.json")}, store)


def test_a_thread_answered_a_day_later_is_the_same_record(
    run: Any, fake: FakeGmail, store: Store
) -> None:
    yesterday = run(fake.settings, fake.environ, store, 1, mailboxes=[SUPPORT.email])
    item = yesterday.items[0]
    [before] = CONNECTOR.normalise(item, CONNECTOR.parse_config(fake.settings), NCTX)
    root = next(iter(before.vendor_ids.values()))
    answer = (
        f"From: Acme Support <support@acme.example>\r\nTo: x@y.example\r\n"
        f"Subject: Re: late\r\nDate: {format_datetime(NOW - timedelta(seconds=30))}\r\n"
        f"Message-ID: <late@acme.example>\r\nIn-Reply-To: <{root}>\r\n"
        f"References: <{root}>\r\n\r\nA late answer.\r\n"
    ).encode()
    received = int((NOW - timedelta(seconds=30)).timestamp() * 1000)
    fake.mailboxes[SUPPORT.email].reply(item.data["thread"]["id"], answer, received)

    today = run(fake.settings, fake.environ, store, 0, mailboxes=[SUPPORT.email])
    [after] = [r for r in today.records if r.identity == before.identity]
    assert after.data["message_count"] == before.data["message_count"] + 1
    assert after.data["messages"][-1]["new_text"] == "A late answer."
    assert after.data["messages"][:-1] == before.data["messages"]
