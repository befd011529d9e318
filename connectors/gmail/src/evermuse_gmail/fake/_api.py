"""The fake's routes: Gmail users.* methods, the batch endpoint, the token endpoint
and the Admin SDK's users.list, answering in Google's shapes and refusing what
Google refuses (missing or foreign tokens, unknown parameters, bad values)."""

from __future__ import annotations

import base64
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from evermuse_gmail.fake._batch import (
    BatchFormatError,
    InnerResponse,
    parse_batch,
    render_batch,
)
from evermuse_gmail.fake._control import UNITS, Faults, QuotaMeter
from evermuse_gmail.fake._errors import ApiError, Response, json_response
from evermuse_gmail.fake._oauth import Grant, OAuthError, TokenAuthority
from evermuse_gmail.fake._params import Params, page_token, read_page_token
from evermuse_gmail.fake._query import QueryError, compile_query
from evermuse_gmail.fake._store import Mailbox, StoredMessage

__all__ = ["FakeGmailApi"]

_GMAIL_SCOPES = {
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://mail.google.com/",
}
_DIRECTORY_SCOPES = {
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.user",
}
_SYSTEM_LABELS = {
    "INBOX", "SENT", "SPAM", "TRASH", "DRAFT", "UNREAD", "STARRED", "IMPORTANT",
    "CHAT", "CATEGORY_PERSONAL", "CATEGORY_SOCIAL", "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES", "CATEGORY_FORUMS",
}  # fmt: skip
_ID = re.compile(r"^[0-9a-f]{1,24}$")
_ROUTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^/gmail/v1/users/([^/]+)/profile$"), "users.getProfile"),
    (re.compile(r"^/gmail/v1/users/([^/]+)/threads$"), "threads.list"),
    (re.compile(r"^/gmail/v1/users/([^/]+)/threads/([^/]+)$"), "threads.get"),
    (re.compile(r"^/gmail/v1/users/([^/]+)/messages$"), "messages.list"),
    (re.compile(r"^/gmail/v1/users/([^/]+)/messages/([^/]+)$"), "messages.get"),
    (
        re.compile(r"^/gmail/v1/users/([^/]+)/messages/([^/]+)/attachments/([^/]+)$"),
        "messages.attachments.get",
    ),
]


def _split(target: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(target)
    return parts.path, parse_qs(parts.query, keep_blank_values=True)


class FakeGmailApi:
    """Everything the fake answers; thread-safe (the server runs calls in threads)."""

    def __init__(
        self,
        *,
        authority: TokenAuthority,
        mailboxes: dict[str, Mailbox],
        directory: list[dict[str, Any]],
        admins: set[str],
        quota: QuotaMeter,
    ) -> None:
        self.authority = authority
        self.mailboxes = mailboxes
        self.directory = directory
        self.admins = admins
        self.quota = quota
        self.faults = Faults()
        self.calls: Counter[str] = Counter()
        self.round_trips = 0
        self.batch_sizes: list[int] = []
        # Misbehaviour on demand: threads.list hands out its first page token again.
        self.repeat_page_token = False
        self._lock = threading.Lock()

    def count(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1

    # -- the outer HTTP request -------------------------------------------------

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Response:
        with self._lock:
            self.round_trips += 1
        path, query = _split(target)
        try:
            if path == "/token":
                return self._token(method, headers, body)
            if path == "/batch/gmail/v1":
                return self._batch(method, headers, body)
            return self.dispatch(method, path, query, headers, body)
        except ApiError as exc:
            return exc.response()

    def _token(self, method: str, headers: dict[str, str], body: bytes) -> Response:
        self.count("oauth2.token")
        if method != "POST":
            raise ApiError(405, "methodNotAllowed", "Use POST for the token endpoint")
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        injected = self.faults.take("oauth2.token", None)
        if injected is not None:
            raise injected
        try:
            return json_response(self.authority.exchange(form))
        except OAuthError as exc:
            return json_response(exc.body, exc.status)

    def _batch(self, method: str, headers: dict[str, str], body: bytes) -> Response:
        self.count("batch")
        if method != "POST":
            raise ApiError(405, "methodNotAllowed", "A batch request must be a POST")
        injected = self.faults.take("batch", None)
        if injected is not None:
            raise injected
        try:
            inner = parse_batch(headers.get("content-type", ""), body)
        except BatchFormatError as exc:
            raise ApiError(400, "badRequest", str(exc)) from None
        # Outer headers apply to every part unless the part sets its own.
        shared = {k: v for k, v in headers.items() if not k.startswith("content-")}
        responses = []
        for request in inner:
            path, query = _split(request.target)
            try:
                answer = self.dispatch(
                    request.method,
                    path,
                    query,
                    {**shared, **request.headers},
                    request.body,
                )
            except ApiError as exc:
                answer = exc.response()
            kept = {
                k: v for k, v in answer.headers.items() if k.lower() != "content-length"
            }
            responses.append(
                InnerResponse(request.content_id, answer.status, kept, answer.body)
            )
        with self._lock:
            self.batch_sizes.append(len(inner))
        content_type, out = render_batch(responses)
        return Response(200, out, {"Content-Type": content_type})

    # -- one API call (direct, or a part of a batch) -------------------------

    def dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> Response:
        if (
            method == "POST"
            and headers.get("x-http-method-override", "").upper() == "GET"
        ):
            # The library turns a GET longer than 2048 characters into this.
            method, query = (
                "GET",
                {**query, **parse_qs(body.decode("utf-8", "replace"))},
            )
        if path == "/admin/directory/v1/users":
            return self._directory_users(method, query, headers)
        for pattern, name in _ROUTES:
            found = pattern.match(path)
            if found:
                self.count(name)
                if method != "GET":
                    raise ApiError(405, "methodNotAllowed", f"{name} takes GET")
                user, args = (
                    unquote(found.group(1)),
                    [unquote(g) for g in found.groups()[1:]],
                )
                mailbox = self._mailbox(headers, user)
                injected = self.faults.take(name, mailbox.address)
                if injected is not None:
                    raise injected
                handler: Callable[..., Response] = getattr(
                    self, "_" + name.replace(".", "_")
                )
                return handler(mailbox, query, *args)
        raise ApiError(404, "notFound", f"Not Found: {path[:120]}")

    def _grant(self, headers: dict[str, str], scopes: set[str]) -> Grant:
        grant = self.authority.grant_for(headers.get("authorization"))
        if grant is None:
            raise ApiError(
                401,
                "authError",
                "Request had invalid authentication credentials. Expected OAuth 2 "
                "access token, login cookie or other valid authentication credential.",
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'
                },
            )
        if not grant.scopes & scopes:
            raise ApiError(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
            )
        return grant

    def _mailbox(self, headers: dict[str, str], user: str) -> Mailbox:
        grant = self._grant(headers, _GMAIL_SCOPES)
        wanted = grant.subject if user == "me" else user.lower()
        if wanted != grant.subject:
            raise ApiError(403, "forbidden", f"Delegation denied for {grant.subject}")
        mailbox = self.mailboxes.get(wanted)
        if mailbox is None:
            raise ApiError(
                400,
                "failedPrecondition",
                "Precondition check failed.",
                status_name="FAILED_PRECONDITION",
            )
        return mailbox

    def _charge(self, mailbox: Mailbox, method: str) -> None:
        self.quota.charge(mailbox.address, UNITS[method])

    # -- Gmail methods -------------------------------------------------------

    def _users_getProfile(
        self, mailbox: Mailbox, query: dict[str, list[str]]
    ) -> Response:
        Params(query, set())
        self._charge(mailbox, "users.getProfile")
        return json_response(
            {
                "emailAddress": mailbox.address,
                "messagesTotal": len(mailbox.messages),
                "threadsTotal": len(mailbox.threads),
                "historyId": str(mailbox.history_id),
            }
        )

    def _matcher(
        self, mailbox: Mailbox, params: Params
    ) -> Callable[[StoredMessage], bool]:
        labels = params.many("labelIds")
        for label in labels:
            if label not in _SYSTEM_LABELS:
                raise ApiError(400, "invalidArgument", f"Invalid label: {label}")
        include = params.boolean("includeSpamTrash", False)
        try:
            predicate = compile_query(params.one("q", "") or "")
        except QueryError as exc:
            raise ApiError(400, "invalidArgument", f"Invalid query: {exc}") from None

        def matches(message: StoredMessage) -> bool:
            if not include and {"SPAM", "TRASH"} & set(message.labels):
                return False
            return all(label in message.labels for label in labels) and predicate(
                message
            )

        return matches

    def _page(
        self, params: Params, matching: list[str], scope: Any
    ) -> tuple[list[str], str | None]:
        size = params.integer("maxResults", 100, low=1, high=500)
        offset = read_page_token(params.one("pageToken"), scope)
        end = offset + size
        token = page_token(end, scope) if end < len(matching) else None
        return matching[offset:end], token

    def _threads_list(self, mailbox: Mailbox, query: dict[str, list[str]]) -> Response:
        params = Params(
            query, {"q", "labelIds", "includeSpamTrash", "maxResults", "pageToken"}
        )
        matches = self._matcher(mailbox, params)
        self._charge(mailbox, "threads.list")
        matching = [
            t
            for t in mailbox.newest_first()
            if any(matches(m) for m in mailbox.threads[t])
        ]
        scope = [
            mailbox.address,
            query.get("q"),
            query.get("labelIds"),
            query.get("includeSpamTrash"),
        ]
        page, token = self._page(params, matching, scope)
        if token and self.repeat_page_token:
            token = page_token(len(page), scope)
        body: dict[str, Any] = {"resultSizeEstimate": len(matching)}
        if page:
            # Gmail leaves "threads" out altogether when nothing matches.
            body["threads"] = [
                {
                    "id": t,
                    "snippet": mailbox.threads[t][-1].snippet(),
                    "historyId": str(mailbox.thread_history(t)),
                }
                for t in page
            ]
        if token:
            body["nextPageToken"] = token
        return json_response(body)

    def _known(
        self, mailbox: Mailbox, thread_or_message: str, pool: dict[str, Any]
    ) -> None:
        if not _ID.match(thread_or_message):
            raise ApiError(400, "invalidArgument", "Invalid id value")
        if thread_or_message not in pool:
            raise ApiError(404, "notFound", "Requested entity was not found.")

    def _threads_get(
        self, mailbox: Mailbox, query: dict[str, list[str]], thread_id: str
    ) -> Response:
        params = Params(query, {"format", "metadataHeaders"})
        fmt = params.choice("format", "full", ("full", "metadata", "minimal"))
        self._known(mailbox, thread_id, mailbox.threads)
        self._charge(mailbox, "threads.get")
        return json_response(
            mailbox.thread_resource(thread_id, fmt, params.many("metadataHeaders"))
        )

    def _messages_list(self, mailbox: Mailbox, query: dict[str, list[str]]) -> Response:
        params = Params(
            query, {"q", "labelIds", "includeSpamTrash", "maxResults", "pageToken"}
        )
        matches = self._matcher(mailbox, params)
        self._charge(mailbox, "messages.list")
        ordered = sorted(
            mailbox.messages.values(), key=lambda m: (m.internal_ms, m.id), reverse=True
        )
        matching = [m.id for m in ordered if matches(m)]
        scope = [mailbox.address, "messages", query.get("q"), query.get("labelIds")]
        page, token = self._page(params, matching, scope)
        body: dict[str, Any] = {"resultSizeEstimate": len(matching)}
        if page:
            body["messages"] = [
                {"id": i, "threadId": mailbox.messages[i].thread_id} for i in page
            ]
        if token:
            body["nextPageToken"] = token
        return json_response(body)

    def _messages_get(
        self, mailbox: Mailbox, query: dict[str, list[str]], message_id: str
    ) -> Response:
        params = Params(query, {"format", "metadataHeaders"})
        fmt = params.choice("format", "full", ("full", "metadata", "minimal", "raw"))
        self._known(mailbox, message_id, mailbox.messages)
        self._charge(mailbox, "messages.get")
        message = mailbox.messages[message_id]
        return json_response(message.resource(fmt, params.many("metadataHeaders")))

    def _messages_attachments_get(
        self,
        mailbox: Mailbox,
        query: dict[str, list[str]],
        message_id: str,
        attachment_id: str,
    ) -> Response:
        Params(query, set())
        self._known(mailbox, message_id, mailbox.messages)
        message = mailbox.messages[message_id]
        message.payload()  # attachment ids are assigned while rendering
        data = message.attachments.get(attachment_id)
        if data is None:
            raise ApiError(400, "invalidArgument", "Invalid attachment token")
        self._charge(mailbox, "messages.attachments.get")
        encoded = base64.urlsafe_b64encode(data).decode("ascii")
        return json_response({"size": len(data), "data": encoded})

    # -- Admin SDK directory -----------------------------------------------

    def _directory_users(
        self, method: str, query: dict[str, list[str]], headers: dict[str, str]
    ) -> Response:
        self.count("directory.users.list")
        if method != "GET":
            raise ApiError(405, "methodNotAllowed", "users.list takes GET")
        grant = self._grant(headers, _DIRECTORY_SCOPES)
        if grant.subject not in self.admins:
            raise ApiError(
                403, "forbidden", "Not Authorized to access this resource/api"
            )
        allowed = {
            "customer", "domain", "maxResults", "pageToken", "orderBy", "query",
            "projection", "viewType", "showDeleted", "sortOrder", "customFieldMask",
            "event",
        }  # fmt: skip
        params = Params(query, allowed)
        customer, domain = params.one("customer"), params.one("domain")
        if not customer and not domain:
            raise ApiError(400, "badRequest", "Bad Request")
        users = [
            u
            for u in self.directory
            if not domain or u["primaryEmail"].endswith(f"@{domain}")
        ]
        scope = ["directory", customer, domain, params.one("query")]
        page, token = self._page(params, [u["primaryEmail"] for u in users], scope)
        chosen = [u for u in users if u["primaryEmail"] in set(page)]
        body: dict[str, Any] = {"kind": "admin#directory#users", "users": chosen}
        if token:
            body["nextPageToken"] = token
        return json_response(body)
