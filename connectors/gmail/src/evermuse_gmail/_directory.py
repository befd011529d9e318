"""Every active user of a Google Workspace domain, from the Admin SDK directory."""

from __future__ import annotations

from typing import Any

from evermuse_gmail._auth import CredentialSource
from evermuse_gmail._client import (
    ApiCaller,
    CallCounter,
    authorized_http,
    build_service,
)
from evermuse_gmail._config import GmailConfig

__all__ = ["directory_mailboxes"]


def directory_mailboxes(
    config: GmailConfig,
    credentials: CredentialSource,
    caller: ApiCaller,
    counter: CallCounter,
) -> list[str]:
    """The primary addresses of the directory's users, suspended and archived
    ones left out; ``[]`` when the source lists its mailboxes itself."""
    directory = config.directory
    if directory is None:
        return []
    http = authorized_http(
        credentials.for_directory(directory.admin_subject),
        timeout=config.timeout_seconds,
        on_request=lambda _uri: counter.add("round_trips"),
    )
    service = build_service(
        "admin", "directory_v1", http=http, endpoint=config.directory_endpoint
    )
    scope: dict[str, str] = (
        {"domain": directory.domain}
        if directory.domain
        else {"customer": "my_customer"}
    )
    try:
        return _list_users(service, caller, scope, directory.query)
    finally:
        service.close()


def _list_users(
    service: Any, caller: ApiCaller, scope: dict[str, str], query: str
) -> list[str]:
    found: list[str] = []
    token: str | None = None
    while True:
        request = service.users().list(
            **scope,
            maxResults=500,
            pageToken=token,
            orderBy="email",
            query=query or None,
        )
        page = caller.call(request, "directory.users.list", 0)
        for user in page.get("users") or []:
            if not isinstance(user, dict) or not user.get("primaryEmail"):
                continue
            if not (user.get("suspended") or user.get("archived")):
                found.append(str(user["primaryEmail"]).lower())
        token = page.get("nextPageToken") or None
        if token is None:
            return found
