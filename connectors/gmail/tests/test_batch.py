"""The batch request path, through google-api-python-client against the fake."""

from __future__ import annotations

import json
from typing import Any

import httplib2
import httpx
import pytest
from evermuse_gmail.fake import FakeGmail
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest


def credentials(fake: FakeGmail) -> Credentials:
    _, environ = fake.authorized_user()
    info = json.loads(next(iter(environ.values())))
    form = {k: info[k] for k in ("client_id", "client_secret", "refresh_token")}
    token = httpx.post(
        f"{fake.url}/token", data={**form, "grant_type": "refresh_token"}
    )
    return Credentials(
        token=token.json()["access_token"],
        token_uri=info["token_uri"],
        **form,
    )


@pytest.fixture
def gmail(fake: FakeGmail) -> Any:
    http = AuthorizedHttp(credentials(fake), http=httplib2.Http())
    service = build(
        "gmail",
        "v1",
        static_discovery=True,
        client_options={"api_endpoint": fake.url},
        http=http,
    )
    yield service
    service.close()


def thread_ids(gmail: Any, n: int) -> list[str]:
    listed = gmail.users().threads().list(userId="me", maxResults=n).execute()
    return [t["id"] for t in listed["threads"]]


def run_batch(fake: FakeGmail, gmail: Any, ids: list[str]) -> dict[str, Any]:
    got: dict[str, Any] = {}

    def on_part(request_id: str, response: Any, exception: Exception | None) -> None:
        got[request_id] = exception if exception is not None else response

    batch = BatchHttpRequest(callback=on_part, batch_uri=f"{fake.url}/batch/gmail/v1")
    for thread_id in ids:
        request = gmail.users().threads().get(userId="me", id=thread_id, format="full")
        batch.add(request, request_id=thread_id)
    batch.execute()
    return got


def test_each_part_reaches_its_callback(fake: FakeGmail, gmail: Any) -> None:
    ids = thread_ids(gmail, 5)
    before = fake.round_trips
    got = run_batch(fake, gmail, ids)
    assert sorted(got) == sorted(ids)
    for thread_id, thread in got.items():
        assert thread["id"] == thread_id
        assert thread["messages"][0]["payload"]["headers"]
    assert fake.batch_sizes == [5]
    assert fake.round_trips == before + 1
    assert fake.calls["threads.get"] == 5


def test_a_failing_part_arrives_as_an_http_error(fake: FakeGmail, gmail: Any) -> None:
    ids = thread_ids(gmail, 3)
    fake.inject("threads.get", status=404, reason="notFound")
    got = run_batch(fake, gmail, ids)
    errors = [v for v in got.values() if isinstance(v, HttpError)]
    assert len(errors) == 1
    assert errors[0].status_code == 404
    assert sum(1 for v in got.values() if isinstance(v, dict)) == 2


# The library refreshes through a new httplib2.Http that it never closes; the
# connector refreshes expired tokens itself before a batch for that reason.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_expired_parts_are_refreshed_and_sent_again_by_the_library(
    fake: FakeGmail, gmail: Any
) -> None:
    ids = thread_ids(gmail, 2)
    assert fake.api is not None
    fake.api.authority.revoke_all()
    tokens = fake.calls["oauth2.token"]
    got = run_batch(fake, gmail, ids)
    assert all(isinstance(v, dict) for v in got.values())
    assert fake.calls["oauth2.token"] == tokens + 1
    assert fake.batch_sizes == [2, 2]


def test_the_response_format_is_what_the_library_parses(
    fake: FakeGmail, gmail: Any
) -> None:
    [thread_id] = thread_ids(gmail, 1)
    token = gmail._http.credentials.token
    inner = (
        f"GET /gmail/v1/users/me/threads/{thread_id}?format=minimal&alt=json HTTP/1.1\n"
        f"Authorization: Bearer {token}\nHost: 127.0.0.1\n\n"
    )
    body = (
        "--b1\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n"
        f"Content-ID: <0b1d + 1>\n\n{inner}\n--b1--\n"
    )
    response = httpx.post(
        f"{fake.url}/batch/gmail/v1",
        content=body,
        headers={"Content-Type": 'multipart/mixed; boundary="b1"'},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("multipart/mixed; boundary=")
    text = response.text
    assert "Content-ID: <response-0b1d + 1>\r\n" in text
    assert "\r\n\r\nHTTP/1.1 200 OK\r\n" in text
    _, _, rest = text.partition("HTTP/1.1 200 OK\r\n")
    headers, _, payload = rest.partition("\r\n\r\n")
    assert "Content-Type: application/json" in headers
    assert json.loads(payload.split("\r\n--")[0])["id"] == thread_id


def test_more_than_100_parts_are_refused(fake: FakeGmail, gmail: Any) -> None:
    ids = thread_ids(gmail, 1) * 101
    batch = BatchHttpRequest(batch_uri=f"{fake.url}/batch/gmail/v1")
    for n, thread_id in enumerate(ids):
        batch.add(
            gmail.users().threads().get(userId="me", id=thread_id), request_id=str(n)
        )
    with pytest.raises(HttpError) as caught:
        batch.execute()
    assert caught.value.status_code == 400


def test_the_library_default_batch_uri_ignores_the_endpoint(gmail: Any) -> None:
    # Why the connector builds BatchHttpRequest itself: this one targets Google.
    batch = gmail.new_batch_http_request()
    assert batch._batch_uri.startswith("https://gmail.googleapis.com/")
