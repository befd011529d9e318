"""The fake Gmail is as strict as Gmail: shapes, refusals, paging, data."""

from __future__ import annotations

import base64
import email
import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from evermuse_gmail.fake import KEY_ENV, FakeGmail
from evermuse_gmail.fake._content import ALICE, SUPPORT

from evermuse_connectors.testing import CONTRACT_NOW as NOW

THREADS = "/gmail/v1/users/me/threads"


def user_token(fake: FakeGmail, email_address: str = SUPPORT.email) -> str:
    _, environ = fake.authorized_user(email_address)
    info = json.loads(next(iter(environ.values())))
    form = {k: info[k] for k in ("client_id", "client_secret", "refresh_token")}
    answer = httpx.post(
        f"{fake.url}/token", data={**form, "grant_type": "refresh_token"}
    )
    assert answer.status_code == 200
    return str(answer.json()["access_token"])


@pytest.fixture
def client(fake: FakeGmail) -> Any:
    headers = {"Authorization": f"Bearer {user_token(fake)}"}
    with httpx.Client(base_url=fake.url, headers=headers) as c:
        yield c


def error_of(response: httpx.Response) -> tuple[int, str]:
    body = response.json()["error"]
    assert set(body) == {"code", "message", "errors", "status"}
    return body["code"], body["errors"][0]["reason"]


def test_no_token_is_401_in_googles_shape(fake: FakeGmail) -> None:
    response = httpx.get(f"{fake.url}{THREADS}")
    assert response.status_code == 401
    assert error_of(response) == (401, "authError")
    assert "www-authenticate" in response.headers


def test_a_token_for_one_mailbox_cannot_read_another(client: Any) -> None:
    response = client.get(f"/gmail/v1/users/{ALICE.email}/threads")
    assert error_of(response) == (403, "forbidden")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (THREADS, {"maxResult": "5"}),  # a typo
        (THREADS, {"maxResults": "five"}),
        (THREADS, {"includeSpamTrash": "yes"}),
        (THREADS, {"pageToken": "not-a-token"}),
        (THREADS, {"labelIds": "NO_SUCH_LABEL"}),
        (THREADS, {"q": "older_than:1d"}),  # not implemented: refused, never ignored
        (THREADS, {"alt": "proto"}),
        (f"{THREADS}/zzzz", {}),
        (f"{THREADS}/18c0ffee00000000", {"format": "raw"}),  # threads have no raw
    ],
)
def test_bad_parameters_are_refused(
    client: Any, path: str, params: dict[str, str]
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400
    assert error_of(response)[1] in {"invalidArgument", "invalidParameter"}


def test_an_unknown_thread_is_404(client: Any) -> None:
    response = client.get(f"{THREADS}/18c0ffee00000000")
    assert error_of(response) == (404, "notFound")


def test_pages_cover_every_thread_once(client: Any) -> None:
    whole = client.get(THREADS, params={"maxResults": 500}).json()
    seen, token = [], None
    while True:
        params = {"maxResults": 7, **({"pageToken": token} if token else {})}
        page = client.get(THREADS, params=params).json()
        seen += [t["id"] for t in page["threads"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert seen == [t["id"] for t in whole["threads"]]
    assert whole["resultSizeEstimate"] == len(seen)


def test_a_page_token_belongs_to_its_query(client: Any) -> None:
    first = client.get(THREADS, params={"maxResults": 2}).json()
    other = client.get(
        THREADS,
        params={
            "maxResults": 2,
            "q": "subject:invoice",
            "pageToken": first["nextPageToken"],
        },
    )
    assert error_of(other) == (400, "invalidArgument")


def test_nothing_matching_leaves_threads_out(client: Any) -> None:
    body = client.get(THREADS, params={"q": "after:1 before:2"}).json()
    assert body == {"resultSizeEstimate": 0}


def test_epoch_bounds_compare_received_time(fake: FakeGmail, client: Any) -> None:
    mailbox = fake.mailboxes[SUPPORT.email]
    message = next(m for m in mailbox.messages.values() if "SPAM" not in m.labels)
    second = message.internal_ms // 1000

    def listed(q: str) -> bool:
        body = client.get(THREADS, params={"q": q}).json()
        return message.thread_id in {t["id"] for t in body.get("threads", [])}

    assert listed(f"after:{second - 1} before:{second + 1}")
    assert not listed(f"after:{second + 1}")
    assert not listed(f"before:{second}")


def test_spam_and_trash_only_with_include_spam_trash(client: Any) -> None:
    hidden = client.get(THREADS, params={"q": "subject:won", "maxResults": 500}).json()
    shown = client.get(
        THREADS,
        params={"q": "subject:won", "includeSpamTrash": "true", "maxResults": 500},
    ).json()
    assert hidden == {"resultSizeEstimate": 0}
    assert shown["resultSizeEstimate"] > 0


def test_full_format_matches_the_raw_message(fake: FakeGmail, client: Any) -> None:
    listed = client.get(THREADS, params={"maxResults": 1}).json()
    thread = client.get(f"{THREADS}/{listed['threads'][0]['id']}").json()
    message = thread["messages"][0]
    assert set(message) >= {
        "id",
        "threadId",
        "labelIds",
        "snippet",
        "historyId",
        "internalDate",
        "payload",
    }
    assert thread["historyId"] == max(
        (m["historyId"] for m in thread["messages"]), key=int
    )
    raw = client.get(
        f"/gmail/v1/users/me/messages/{message['id']}", params={"format": "raw"}
    ).json()
    parsed = email.message_from_bytes(base64.urlsafe_b64decode(raw["raw"]))
    headers = {h["name"]: h["value"] for h in message["payload"]["headers"]}
    assert headers["Message-ID"] == parsed["Message-ID"]
    assert message["payload"]["mimeType"] == parsed.get_content_type()


def test_attachments_are_served_by_id(fake: FakeGmail, client: Any) -> None:
    mailbox = fake.mailboxes[SUPPORT.email]
    for stored in mailbox.messages.values():
        parts = [stored.payload()]
        while parts:
            part = parts.pop()
            parts += part.get("parts", [])
            if "attachmentId" in part["body"]:
                attachment = part["body"]["attachmentId"]
                path = (
                    f"/gmail/v1/users/me/messages/{stored.id}/attachments/{attachment}"
                )
                body = client.get(path).json()
                assert body["size"] == part["body"]["size"]
                assert len(base64.urlsafe_b64decode(body["data"])) == body["size"]
                return
    pytest.fail("the sample should hold an attachment")


def test_the_token_endpoint_checks_the_jwt(fake: FakeGmail) -> None:
    info = json.loads(fake.environ[KEY_ENV])
    assert info["token_uri"] == f"{fake.url}/token"
    head = (
        base64.urlsafe_b64encode(
            json.dumps({"alg": "RS256", "kid": info["private_key_id"]}).encode()
        )
        .decode()
        .rstrip("=")
    )
    claims = (
        base64.urlsafe_b64encode(
            json.dumps(
                {
                    "iss": info["client_email"],
                    "aud": info["token_uri"],
                    "sub": SUPPORT.email,
                    "scope": "https://www.googleapis.com/auth/gmail.readonly",
                    "iat": int(time.time()),
                    "exp": int(time.time()) + 600,
                }
            ).encode()
        )
        .decode()
        .rstrip("=")
    )
    forged = (
        f"{head}.{claims}.{base64.urlsafe_b64encode(b'x' * 256).decode().rstrip('=')}"
    )
    answer = httpx.post(
        f"{fake.url}/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": forged,
        },
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid JWT Signature.",
    }


def test_a_wrong_client_secret_is_refused(fake: FakeGmail) -> None:
    _, environ = fake.authorized_user()
    info = json.loads(next(iter(environ.values())))
    answer = httpx.post(
        f"{fake.url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": info["refresh_token"],
            "client_id": info["client_id"],
            "client_secret": "wrong",
        },
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def raw_bytes(fake: FakeGmail) -> list[bytes]:
    return [d.raw for d in fake.workspace.deliveries]


def test_the_same_seed_gives_the_same_bytes() -> None:
    a, b = FakeGmail(seed=3, now=NOW), FakeGmail(seed=3, now=NOW)
    c = FakeGmail(seed=4, now=NOW)
    assert raw_bytes(a) == raw_bytes(b)
    assert raw_bytes(a) != raw_bytes(c)


def test_every_recent_day_has_mail_and_two_years_ago_none() -> None:
    fake = FakeGmail(seed=5, now=NOW)
    days = {
        (NOW - timedelta(milliseconds=NOW.timestamp() * 1000 - d.internal_ms)).date()
        for d in fake.workspace.deliveries
    }
    for back in range(1, 15):
        assert (NOW - timedelta(days=back)).date() in days
    assert min(days) >= (NOW - timedelta(days=15)).date()


def test_the_sample_holds_the_mime_variety(fake: FakeGmail) -> None:
    raw = b"\n".join(raw_bytes(fake))
    for needle in (
        b'charset="iso-8859-1"',
        b'charset="windows-1252"',
        b'charset="shift_jis"',
        b'charset="x-evermuse-unknown"',
        b"format=flowed",
        b"quoted-printable",
        b"base64",
        b"multipart/alternative",
        b"multipart/related",
        b"message/rfc822",
        b"text/calendar",
        b"Content-ID: <logo.",
        b"invoice.pdf",
        b"Forwarded message",
        b"-----Original Message-----",
        b"text/html",
    ):
        assert needle in raw, needle
