"""Downloading ``_attachments[].vendor_url`` after a batch lands, as Evermuse does.

SAFETY: the emulator fetches only from loopback addresses. The host is checked
before any connection is opened, and again at every redirect, so a record naming
an outside URL (or a local server redirecting to one) never makes the emulator talk
to the network; such a download is counted as failed. The URL itself is never logged
or stored in a result (it may carry a token): only its host is.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import queue
import threading
from dataclasses import dataclass

import httpx

from evermuse_connectors.emulator._storage import DownloadJob, DownloadResult, Storage

__all__ = ["LOOPBACK_ONLY", "Downloader", "fetch", "loopback_refusal"]

logger = logging.getLogger(__name__)

LOOPBACK_ONLY = "the emulator only downloads from loopback"
_MAX_REDIRECTS = 5
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTML_STARTS = (b"<!doctype html", b"<html")


def loopback_refusal(url: str) -> str | None:
    """Why ``url`` may not be fetched, or None when it points at this machine.

    Only a literal loopback address or the name ``localhost`` passes: no name is
    ever resolved here, so ``https://example.invalid/x`` fails without a DNS query.
    Stricter than ``ingest.is_loopback``, which also takes localhost.localdomain: a
    name missing from /etc/hosts would be asked of DNS, off this machine.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "the vendor_url is not a valid URL"
    if parsed.scheme not in ("http", "https"):
        return f"only http and https URLs are fetched, got scheme {parsed.scheme!r}"
    host = parsed.host.lower()
    if host == "localhost":
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return LOOPBACK_ONLY
    return None if address.is_loopback else LOOPBACK_ONLY


def host_of(url: str) -> str:
    try:
        return httpx.URL(url).host or "(no host)"
    except httpx.InvalidURL:
        return "(invalid URL)"


@dataclass(frozen=True)
class _Expected:
    mime_type: str | None
    size: int | None
    sha1: str | None
    md5: str | None


def fetch(client: httpx.Client, job: DownloadJob, *, max_bytes: int) -> DownloadResult:
    """Download one attachment, following redirects by hand to check each host."""
    expected = _Expected(job.mime_type, job.size, job.sha1, job.md5)
    current = job.url
    for _hop in range(_MAX_REDIRECTS + 1):
        host = host_of(current)
        refusal = loopback_refusal(current)
        if refusal is not None:
            return DownloadResult(ok=False, host=host, reason=refusal)
        try:
            with client.stream("GET", current) as response:
                if response.is_redirect and "location" in response.headers:
                    current = str(response.url.join(response.headers["location"]))
                    continue
                return _read(response, host, expected, max_bytes)
        except httpx.TimeoutException:
            reason = "the download timed out"
        except httpx.HTTPError as exc:
            # The class name only: httpx messages can quote the URL.
            reason = f"the download failed ({type(exc).__name__})"
        return DownloadResult(ok=False, host=host, reason=reason)
    return DownloadResult(
        ok=False, host=host_of(current), reason=f"over {_MAX_REDIRECTS} redirects"
    )


def _read(
    response: httpx.Response, host: str, expected: _Expected, max_bytes: int
) -> DownloadResult:
    content_type = response.headers.get("content-type")
    if response.status_code != 200:
        reason = f"the server answered HTTP {response.status_code}"
        return DownloadResult(ok=False, host=host, reason=reason)
    if _is_html(content_type, b"") and not _html_expected(expected):
        return _html_result(host, content_type)

    sha1 = hashlib.sha1(usedforsecurity=False)
    sha256 = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    for chunk in response.iter_bytes():
        if size == 0 and _is_html(None, chunk) and not _html_expected(expected):
            return _html_result(host, content_type)
        size += len(chunk)
        if size > max_bytes:
            reason = f"the file is over the emulator's limit of {max_bytes} bytes"
            return DownloadResult(ok=False, host=host, reason=reason)
        for digest in (sha1, sha256, md5):
            digest.update(chunk)

    result = DownloadResult(
        ok=True,
        host=host,
        size=size,
        sha1=sha1.hexdigest(),
        sha256=sha256.hexdigest(),
        md5=md5.hexdigest(),
        content_type=content_type,
    )
    return _against_declared(result, expected)


def _against_declared(result: DownloadResult, expected: _Expected) -> DownloadResult:
    # The spec offers size, sha1 and md5 "for integrity verification": a file that
    # differs from what the record declares is not the file the record meant.
    for name, declared, actual in (
        ("size", expected.size, result.size),
        ("sha1", expected.sha1, result.sha1),
        ("md5", expected.md5, result.md5),
    ):
        if declared is not None and str(declared).lower() != str(actual).lower():
            reason = f"the file's {name} {actual} differs from the declared {declared}"
            return DownloadResult(
                ok=False, host=result.host, reason=reason, size=result.size
            )
    return result


def _is_html(content_type: str | None, first_chunk: bytes) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type in _HTML_TYPES:
        return True
    return first_chunk.lstrip()[:20].lower().startswith(_HTML_STARTS)


def _html_expected(expected: _Expected) -> bool:
    return (expected.mime_type or "").lower() in _HTML_TYPES


def _html_result(host: str, content_type: str | None) -> DownloadResult:
    # A source that wants a login answers a pre-signed URL gone stale with its
    # sign-in page and status 200; Evermuse would store that page as the file.
    return DownloadResult(
        ok=False,
        host=host,
        content_type=content_type,
        reason="the URL answered with an HTML page (a login page?), not the file",
    )


class Downloader:
    """A few threads that fetch queued downloads and store their results."""

    def __init__(
        self, storage: Storage, *, workers: int, timeout: float, max_bytes: int
    ) -> None:
        self._storage = storage
        self._max_bytes = max_bytes
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._timeout = timeout
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._work, name=f"emulator-download-{n}")
            for n in range(workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.daemon = True
            thread.start()

    def enqueue(self, download_ids: list[int]) -> None:
        for download_id in download_ids:
            self._queue.put(download_id)

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        if self._client is not None:
            self._client.close()

    def _http(self) -> httpx.Client:
        # Made on first use: building its TLS context costs tens of milliseconds,
        # which an emulator started per test should not pay when nothing is fetched.
        with self._client_lock:
            if self._client is None:
                # trust_env=False: a proxy from the environment would carry the
                # request off this machine, which the loopback rule forbids.
                self._client = httpx.Client(
                    timeout=httpx.Timeout(self._timeout),
                    follow_redirects=False,
                    trust_env=False,
                )
            return self._client

    def _work(self) -> None:
        while (download_id := self._queue.get()) is not None:
            try:
                self._download(download_id)
            except Exception:
                logger.exception("download %s failed inside the emulator", download_id)

    def _download(self, download_id: int) -> None:
        job = self._storage.claim_download(download_id)
        if job is None:  # already taken, or the data was reset meanwhile
            return
        result = fetch(self._http(), job, max_bytes=self._max_bytes)
        if not result.ok:
            logger.warning(
                "batch %s: attachment from %s not downloaded: %s",
                job.batch_id,
                result.host,
                result.reason,
            )
        still_open = self._storage.finish_download(job, result)
        if still_open == 0:
            logger.info("batch %s: attachment downloads finished", job.batch_id)
