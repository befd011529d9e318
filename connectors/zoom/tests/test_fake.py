"""The fake is as strict as Zoom: wrong auth, bad parameters and stale tokens fail."""

import time
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest
from evermuse_zoom.fake import CLIENT_ID_ENV, CLIENT_SECRET_ENV


@pytest.fixture
def http():
    with httpx.Client() as client:
        yield client


def token(fake, http):
    answer = http.post(
        fake.settings["token_url"],
        params={"grant_type": "account_credentials", "account_id": fake.account.id},
        auth=(fake.environ[CLIENT_ID_ENV], fake.environ[CLIENT_SECRET_ENV]),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    return body["access_token"]


def api(fake, http, path, bearer, **params):
    return http.get(
        f"{fake.url}/v2{path}",
        params=params,
        headers={"Authorization": f"Bearer {bearer}"},
    )


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"auth": ("wrong", "pair")}, 401, "invalid_client"),
        (
            {"params": {"grant_type": "client_credentials"}},
            400,
            "unsupported_grant_type",
        ),
        (
            {"params": {"grant_type": "account_credentials", "account_id": "x"}},
            400,
            "invalid_request",
        ),
    ],
)
def test_token_endpoint_refuses_bad_requests(fake, http, change, status, error):
    request = {
        "params": {"grant_type": "account_credentials", "account_id": fake.account.id},
        "auth": (fake.environ[CLIENT_ID_ENV], fake.environ[CLIENT_SECRET_ENV]),
        **change,
    }
    answer = http.post(fake.settings["token_url"], **request)
    assert (answer.status_code, answer.json()["error"]) == (status, error)


def test_api_needs_a_live_bearer_token(fake, http):
    missing = http.get(f"{fake.url}/v2/accounts/me/recordings")
    assert missing.status_code == 401
    for bearer in ("made-up", token(fake, http) + "x"):
        answer = api(fake, http, "/accounts/me/recordings", bearer)
        assert answer.status_code == 401
        assert answer.json() == {"code": 124, "message": "Invalid access token."}
    assert (
        api(fake, http, "/accounts/me/recordings", token(fake, http)).status_code == 200
    )


def test_tokens_expire(start_fake, http):
    fake = start_fake(token_ttl=0.2)
    bearer = token(fake, http)
    time.sleep(0.3)
    answer = api(fake, http, "/users", bearer)
    assert answer.status_code == 401
    assert answer.json()["message"] == "Access token is expired."


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-01-01", "to": "2026-02-02"}, "exceed one month"),
        ({"from": "2026-03-09", "to": "2026-03-01"}, "on or after"),
        ({"from": "09/03/2026"}, "yyyy-mm-dd"),
        ({"page_size": "301"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"next_page_token": "forged"}, "invalid or expired"),
    ],
)
def test_listing_parameters_are_checked(fake, http, params, message):
    answer = api(fake, http, "/accounts/me/recordings", token(fake, http), **params)
    assert answer.status_code == 400
    assert answer.json()["code"] == 300
    assert message in answer.json()["message"]


def test_without_dates_the_listing_covers_today_only(fake, http):
    body = api(fake, http, "/accounts/me/recordings", token(fake, http)).json()
    today = fake.account.meetings[0].start.date()
    assert (body["from"], body["to"]) == (
        today.isoformat(),
        (today + timedelta(days=1)).isoformat(),
    )
    assert body["page_size"] == 30


def test_a_page_token_belongs_to_its_listing(fake, http):
    bearer = token(fake, http)
    first = api(
        fake,
        http,
        "/accounts/me/recordings",
        bearer,
        page_size=1,
        **{"from": "2026-03-01", "to": "2026-03-09"},
    ).json()
    assert first["next_page_token"]
    other = api(
        fake,
        http,
        "/accounts/me/recordings",
        bearer,
        page_size=1,
        next_page_token=first["next_page_token"],
        **{"from": "2026-03-02", "to": "2026-03-09"},
    )
    assert other.status_code == 400


def test_a_slash_uuid_encoded_once_is_not_found(fake, http):
    bearer = token(fake, http)
    uuid = next(m.uuid for m in fake.account.meetings if m.uuid.startswith("/"))
    once = api(fake, http, f"/meetings/{quote(uuid, safe='')}/recordings", bearer)
    assert (once.status_code, once.json()["code"]) == (404, 3301)
    twice = api(
        fake,
        http,
        f"/meetings/{quote(quote(uuid, safe=''), safe='')}/recordings",
        bearer,
    )
    assert twice.status_code == 200
    assert twice.json()["uuid"] == uuid


def test_a_meeting_number_names_its_latest_instance(fake, http):
    latest = fake.account.meetings[0]
    body = api(
        fake, http, f"/meetings/{latest.number}/recordings", token(fake, http)
    ).json()
    assert body["uuid"] == latest.uuid
    assert "download_access_token" not in body


def test_cc_and_tb_entries_lack_fields(fake, http):
    bearer = token(fake, http)
    kinds = {}
    for meeting in fake.account.meetings:
        if {f.file_type for f in meeting.files} & {"CC", "TB"}:
            uuid = quote(quote(meeting.uuid, safe=""), safe="")
            for entry in api(fake, http, f"/meetings/{uuid}/recordings", bearer).json()[
                "recording_files"
            ]:
                kinds[entry["file_type"]] = set(entry)
    for kind in ("CC", "TB"):
        assert not kinds[kind] & {
            "id",
            "status",
            "file_size",
            "recording_type",
            "play_url",
        }
    assert {"id", "status", "file_size"} <= kinds["MP4"]


def test_downloads_need_a_token_and_redirect_to_signed_storage(fake, http):
    bearer = token(fake, http)
    meeting = fake.account.meetings[0]
    uuid = quote(quote(meeting.uuid, safe=""), safe="")
    body = api(
        fake,
        http,
        f"/meetings/{uuid}/recordings",
        bearer,
        include_fields="download_access_token",
        ttl=60,
    ).json()
    file = next(f for f in body["recording_files"] if f["file_type"] == "MP4")
    assert http.get(file["download_url"]).status_code == 401
    assert (
        http.get(file["download_url"], params={"access_token": "forged"}).status_code
        == 401
    )
    hop = http.get(
        file["download_url"], params={"access_token": body["download_access_token"]}
    )
    assert hop.status_code == 302
    storage = http.get(hop.headers["Location"])
    assert storage.status_code == 200
    assert len(storage.content) == file["file_size"]
    assert storage.headers["Content-Type"] == "video/mp4"
    tampered = hop.headers["Location"].replace("signature=", "signature=0")
    assert http.get(tampered).status_code == 403
    # The API's bearer token works as well, as Zoom recommends.
    assert (
        http.get(
            file["download_url"], headers={"Authorization": f"Bearer {bearer}"}
        ).status_code
        == 302
    )


def test_ttl_is_bounded(fake, http):
    uuid = quote(quote(fake.account.meetings[0].uuid, safe=""), safe="")
    answer = api(
        fake,
        http,
        f"/meetings/{uuid}/recordings",
        token(fake, http),
        include_fields="download_access_token",
        ttl=604801,
    )
    assert answer.status_code == 400


def test_the_same_seed_gives_the_same_account(start_fake):
    first, again, other = start_fake(), start_fake(), start_fake(seed=8)
    assert [m.to_json("x", "a") for m in first.account.meetings] == [
        m.to_json("x", "a") for m in again.account.meetings
    ]
    assert [m.uuid for m in first.account.meetings] != [
        m.uuid for m in other.account.meetings
    ]
    assert first.environ == again.environ


def test_activity_on_each_of_the_last_14_days_and_none_long_before(fake):
    now = fake.account.meetings[0].start
    days = {m.start.date() for m in fake.account.meetings}
    for back in range(1, 15):
        assert (now - timedelta(days=back)).date() in days
    assert min(days) >= (now - timedelta(days=15)).date()
