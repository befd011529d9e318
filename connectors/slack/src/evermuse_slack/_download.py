"""Download one Slack file with the bot token, streamed into the attachment store.

``url_private_download`` answers the file only with ``Authorization: Bearer`` and
a token holding ``files:read``. Without them Slack answers 200 with an HTML sign-in
page, so the response's Content-Type is checked before a byte is stored. The body
goes to the store in 256 KiB pieces: memory does not grow with the file.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Literal

import httpx
from pydantic import SecretStr

from evermuse_connectors.attachments import (
    AttachmentStore,
    AttachmentStoreError,
    AttachmentTooLargeError,
    StagedFile,
    effective_mime_type,
)
from evermuse_connectors.connector import ExtractContext, parse_retry_after
from evermuse_connectors.errors import SourceError
from evermuse_slack._config import DOWNLOAD_METHOD, SlackConfig

__all__ = ["LOGIN_PAGE", "DownloadFailed", "FileDownloader"]

logger = logging.getLogger(__name__)

LOGIN_PAGE = (
    "Slack answered a sign-in page instead of the file: the app lacks the "
    "files:read scope (or the token is not valid); add the scope and reinstall "
    "the app"
)
_ELSEWHERE = (
    "Slack redirected the download to a sign-in page on another host (the token "
    "is not sent to other hosts); the app may lack the files:read scope"
)
_CHUNK = 256 * 1024
_FILE_PATH = "/files-pri/"
_CONNECTION_RETRIES = 2
_SERVER_ERRORS = frozenset({500, 502, 503, 504})
_GONE = frozenset({404, 410})


class _RedactFileUrls(logging.Filter):
    """httpx logs every request's URL at INFO. A file's link names the team, the
    file and its name, which is customer content, so the path is cut there."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_redacted(arg) for arg in record.args)
        return True


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _redacted(arg: object) -> object:
    if not isinstance(arg, str | httpx.URL):
        return arg
    text = str(arg)
    at = text.find(_FILE_PATH)
    return arg if at < 0 else text[: at + len(_FILE_PATH)] + "[redacted]"


logging.getLogger("httpx").addFilter(_RedactFileUrls())


class DownloadFailed(SourceError):
    """One file could not be staged; ``reason`` goes into the record's data."""

    def __init__(
        self,
        reason: str,
        *,
        retry: bool,
        by: Literal["slack", "store"],
        limit: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.by = by
        self.limit = limit
        """The size limit a file ran past: a higher limit later tries it again."""


@dataclass(frozen=True)
class _Again:
    """A try that may succeed if repeated: how long to wait, and what went wrong."""

    wait: float
    problem: str
    kind: Literal["rate", "server", "connection"]


class FileDownloader:
    """Downloads files of one extract, paced by the source's download limiter."""

    def __init__(
        self,
        config: SlackConfig,
        ctx: ExtractContext,
        token: SecretStr,
        store: AttachmentStore,
        *,
        max_bytes: int,
    ) -> None:
        self._config = config
        self._ctx = ctx
        self._token = token
        self._store = store
        self._max_bytes = max_bytes
        self._session = ctx.http(
            base_url="",
            rate_limit=config.rate_limit(DOWNLOAD_METHOD),
            limiter_name=f"slack:{DOWNLOAD_METHOD}",
            timeout=config.timeout_seconds,
        )
        self._rng = random.Random()  # noqa: S311 (jitter, not cryptography)
        self.requests = 0
        self.bytes = 0
        self.login_page = False
        """Set once Slack answered a sign-in page: the token lacks files:read, so
        the window's other files would get the same page."""

    def __repr__(self) -> str:
        return f"FileDownloader(source={self._ctx.source!r})"

    def stage(
        self,
        url: str,
        *,
        file_id: str,
        filename: str,
        mime_type: str | None,
        size: int | None,
    ) -> StagedFile:
        """Download ``url`` into the store; DownloadFailed with the reason if not."""
        if self.login_page:
            raise DownloadFailed(LOGIN_PAGE, retry=True, by="slack")
        tries = {"rate": 0, "server": 0, "connection": 0}
        limits = {
            "rate": self._config.max_rate_limit_retries,
            "server": self._config.max_server_error_retries,
            "connection": _CONNECTION_RETRIES,
        }
        while True:
            outcome = self._attempt(url, filename, mime_type, size)
            if isinstance(outcome, StagedFile):
                return outcome
            tries[outcome.kind] += 1
            if tries[outcome.kind] > limits[outcome.kind]:
                raise DownloadFailed(
                    f"the download failed: {outcome.problem}, "
                    f"{tries[outcome.kind]} time(s); a later run tries again",
                    retry=True,
                    by="slack",
                )
            logger.warning(
                "%s: Slack file %s: %s; retrying in %.1fs",
                self._ctx.source,
                file_id,
                outcome.problem,
                outcome.wait,
            )
            if outcome.wait > 0:
                time.sleep(outcome.wait)

    def _attempt(
        self, url: str, filename: str, mime_type: str | None, size: int | None
    ) -> StagedFile | _Again:
        limiter = self._session.limiter
        if limiter is not None:
            limiter.acquire()
        self._ctx.count_call(DOWNLOAD_METHOD)
        self.requests += 1
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        try:
            # Redirects are followed; httpx drops the Authorization header when
            # one leads to another host, so the token stays with Slack.
            with self._session.client.stream(
                "GET", url, headers=headers, follow_redirects=True
            ) as response:
                again = self._retryable(response)
                if again is not None:
                    return again
                self._check(response, filename, mime_type, size)
                staged = self._put(response, filename, mime_type)
        except httpx.DecodingError:
            raise DownloadFailed(
                "Slack sent the file in a content encoding that did not decode",
                retry=True,
                by="slack",
            ) from None
        except httpx.TooManyRedirects:
            raise DownloadFailed(
                "the download link redirected too many times", retry=True, by="slack"
            ) from None
        except httpx.InvalidURL:
            raise DownloadFailed(
                "Slack gave a download link that is not a valid URL",
                retry=False,
                by="slack",
            ) from None
        except httpx.TransportError as exc:
            # Also a connection cut in the middle of the body: the store kept
            # nothing of it, so the whole file is fetched again.
            wait = self._rng.uniform(0.25, 0.5)
            return _Again(
                wait, f"connection failed ({type(exc).__name__})", "connection"
            )
        self.bytes += staged.size
        return staged

    def _retryable(self, response: httpx.Response) -> _Again | None:
        status = response.status_code
        if status == 429:
            asked = parse_retry_after(response.headers.get("Retry-After"))
            wait = 1.0 if asked is None else asked
            if self._session.limiter is not None:
                self._session.limiter.pause(wait)
            return _Again(wait, "Slack answered 429", "rate")
        if status in _SERVER_ERRORS:
            asked = parse_retry_after(response.headers.get("Retry-After"))
            wait = self._rng.uniform(0.5, 1.0) if asked is None else asked
            return _Again(wait, f"Slack answered HTTP {status}", "server")
        return None

    def _check(
        self,
        response: httpx.Response,
        filename: str,
        mime_type: str | None,
        size: int | None,
    ) -> None:
        status = response.status_code
        if status in (401, 403):
            raise DownloadFailed(
                f"Slack refused the download with HTTP {status}: check the bot "
                "token and its files:read scope",
                retry=True,
                by="slack",
            )
        if status in _GONE:
            raise DownloadFailed(
                f"Slack answered HTTP {status}: the file is gone (deleted after "
                "the message was read)",
                retry=False,
                by="slack",
            )
        if not 200 <= status < 300:
            raise DownloadFailed(
                f"Slack answered HTTP {status} to the download", retry=True, by="slack"
            )
        if not self._is_login_page(response, filename, mime_type, size):
            return
        asked = response.history[0].request.url if response.history else response.url
        if _origin(response.url) != _origin(asked):
            # httpx sent no token to the other host, so its page may say nothing
            # about this app's scopes: only this file is given up.
            raise DownloadFailed(_ELSEWHERE, retry=True, by="slack")
        self.login_page = True
        logger.warning("%s: %s", self._ctx.source, LOGIN_PAGE)
        raise DownloadFailed(LOGIN_PAGE, retry=True, by="slack")

    @staticmethod
    def _is_login_page(
        response: httpx.Response,
        filename: str,
        mime_type: str | None,
        size: int | None,
    ) -> bool:
        served = response.headers.get("Content-Type", "").split(";", 1)[0]
        if served.strip().lower() != "text/html":
            return False
        if effective_mime_type(filename, mime_type) != "text/html":
            return True
        # An HTML file uploaded to Slack comes back as HTML too: then only its
        # length tells the file from the page.
        length = response.headers.get("Content-Length")
        return bool(
            length and size is not None and length.isdigit() and int(length) != size
        )

    def _put(
        self, response: httpx.Response, filename: str, mime_type: str | None
    ) -> StagedFile:
        try:
            return self._store.put(
                response.iter_bytes(_CHUNK),
                filename=filename,
                mime_type=mime_type,
                max_bytes=self._max_bytes,
            )
        except AttachmentTooLargeError as exc:
            megabytes = f"{exc.limit / (1024 * 1024):.4g} MB"
            raise DownloadFailed(
                f"over the {megabytes} limit (more bytes arrived than Slack announced)",
                retry=False,
                by="store",
                limit=exc.limit,
            ) from None
        except AttachmentStoreError as exc:
            raise DownloadFailed(str(exc), retry=exc.retryable, by="store") from None
