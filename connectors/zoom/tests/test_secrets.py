"""Canaries: no credential, token or token-bearing URL in logs, stats or errors."""

import json
import logging

import pytest
from evermuse_zoom.fake import CLIENT_ID_ENV, CLIENT_SECRET_ENV, Fault

from evermuse_connectors.connector import NormaliseContext, Routing
from evermuse_connectors.connector._normalise import normalise_items
from evermuse_connectors.errors import SourceError


def secrets_of(fake, items, records):
    found = {
        fake.environ[CLIENT_SECRET_ENV],
        fake.environ[CLIENT_ID_ENV],
        *fake.issued_tokens,
    }
    found |= {
        i.data["download_access_token"]
        for i in items
        if i.data["download_access_token"]
    }
    found |= {a.vendor_url for r in records for a in r.attachments or []}
    assert len(found) > 4
    return found


def test_nothing_secret_reaches_logs_stats_or_reprs(fake, run, day, caplog):
    caplog.set_level(logging.DEBUG)  # everything: httpx and httpcore too
    run.extract(fake, day(3))
    fake.revoke_tokens()  # the 401 path
    fake.fail_next(
        Fault(429, "0", "/v2/meetings/"),  # the retry path
        Fault(503, "0", "/rec/download/"),
        Fault(404, None, "/rec/download/"),  # a skipped transcript
    )
    items, ctx = run.extract(fake, day(2))
    assert ctx.stats.skipped
    ctx_normalise = NormaliseContext(
        "zoom-test", Routing(product_id="p", project_ids=["j"])
    )
    bad = run.connector.malformed_item()
    config = run.config(fake)
    records = [
        r for r in normalise_items(run.connector, config, [*items, bad], ctx_normalise)
    ]
    published = [r for r in records if hasattr(r, "attachments")]
    shown = "\n".join(
        [
            caplog.text,
            json.dumps(ctx.stats.to_json()),
            json.dumps(run.connector.completeness(items, ctx.stats).metadata),
            repr(records),
            str(published),
            repr(config),
            repr(ctx),
        ]
    )
    for secret in secrets_of(fake, items, published):
        assert secret not in shown
    assert "access_token=" not in shown


def test_a_failing_download_reports_without_the_url_query(fake, run, day):
    fake.fail_next(*[Fault(500, "0", "/rec/download/")] * 6)
    _items, ctx = run.extract(fake, day(2))
    reasons = " ".join(s.reason for s in ctx.stats.skipped)
    assert "failed after 6 attempt(s)" in reasons
    for token in fake.issued_tokens:
        assert token not in reasons


def test_an_api_error_names_the_call_not_the_token(start_fake, run, day):
    fake = start_fake()
    fake.fail_next(*[Fault(500, "0", "/v2/accounts/")] * 6)
    with pytest.raises(SourceError) as caught:
        run.extract(fake, day(1))
    message = str(caught.value)
    assert f"/accounts/{fake.account.id}/recordings" in message
    assert "500" in message
    for token in fake.issued_tokens:
        assert token not in message
