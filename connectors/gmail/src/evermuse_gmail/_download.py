"""Attachment bytes from Gmail into the attachment store, for one mailbox.

``messages.attachments.get`` answers JSON with the whole file base64url-encoded in
``data`` (there is no media download for attachments). Small attachments ride
together in batch requests, up to ``batch_size`` calls and about 8 MiB announced
per batch, so that the library's batch response (which it reads whole) stays
small. Attachments announced as larger than ``attachment_stream_bytes`` are
fetched one at a time with httpx and decoded while they arrive (``_jsonstream``),
straight into the store's spool file, so memory does not grow with the file.
Each call costs 5 quota units, charged to the mailbox's budget before it is sent.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httplib2
import httpx
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from evermuse_connectors.attachments import (
    AttachmentStore,
    AttachmentTooLargeError,
    StagedFile,
    StoreUnavailableError,
)
from evermuse_connectors.attachments import AttachmentStoreError as StoreError
from evermuse_connectors.errors import SourceError
from evermuse_gmail._charset import b64url_bytes
from evermuse_gmail._client import GoneError, MailboxClient
from evermuse_gmail._config import ATTACHMENT_UNITS
from evermuse_gmail._jsonstream import DataStream, StreamFormatError
from evermuse_gmail._mime import FilePart
from evermuse_gmail._retry import Problem, classify

__all__ = ["Downloader", "Failure", "Outcome", "Wanted", "store_failure"]

logger = logging.getLogger(__name__)

METHOD = "messages.attachments.get"
_BATCH_BYTES = 8 * 1024 * 1024
_ERROR_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Wanted:
    """One attachment to download: the Gmail message it belongs to, and the part."""

    message: str
    part: FilePart


@dataclass(frozen=True)
class Failure:
    """Why a file was not staged; ``retry`` when a later run may succeed."""

    reason: str
    retry: bool


Outcome = StagedFile | Failure


def store_failure(exc: StoreError) -> Failure:
    if isinstance(exc, AttachmentTooLargeError):
        return Failure(
            f"larger than Gmail announced, and over the {exc.limit} bytes limit",
            retry=False,
        )
    if isinstance(exc, StoreUnavailableError):
        return Failure(f"the attachment store was unavailable ({exc})", retry=True)
    return Failure(f"the attachment store refused it ({exc})", retry=False)


def _download_failure(exc: SourceError) -> Failure:
    # Not found: the message was deleted since threads.get, and the thread's next
    # fetch will no longer list it. A refused or failed call may work next time.
    gone = isinstance(exc, GoneError)
    return Failure(f"could not be downloaded from Gmail ({exc})", retry=not gone)


class Downloader:
    """Downloads a mailbox's attachments and puts them in the store."""

    def __init__(
        self,
        client: MailboxClient,
        store: AttachmentStore,
        *,
        max_bytes: int,
        stream_above: int,
    ) -> None:
        self.client = client
        self.store = store
        self.max_bytes = max_bytes
        self.stream_above = stream_above
        self._http: httpx.Client | None = None

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def fetch(self, wanted: Sequence[Wanted]) -> list[Outcome]:
        """The staged file, or why not, for each of ``wanted``, in order."""
        outcomes: dict[int, Outcome] = {}
        small = deque(
            (n, w, 0)
            for n, w in enumerate(wanted)
            if (w.part.size or 0) <= self.stream_above
        )
        while small:
            self._batch(small, outcomes)
        for n, w in enumerate(wanted):
            if n not in outcomes:
                outcomes[n] = self._streamed(w)
        return [outcomes[n] for n in range(len(wanted))]

    def put(self, data: Any, part: FilePart) -> Outcome:
        """Stage bytes (or a stream of them); a store failure becomes a Failure."""
        try:
            return self.store.put(
                data,
                filename=part.filename,
                mime_type=part.mime_type,
                max_bytes=self.max_bytes,
            )
        except StoreError as exc:
            return store_failure(exc)

    # -- batches of small attachments -----------------------------------------

    def _batch(
        self, queue: deque[tuple[int, Wanted, int]], outcomes: dict[int, Outcome]
    ) -> None:
        chunk = [queue.popleft()]
        budget = max(_BATCH_BYTES, self.stream_above) - (chunk[0][1].part.size or 0)
        while queue and len(chunk) < self.client.config.batch_size:
            size = queue[0][1].part.size or 0
            if size > budget:
                break
            budget -= size
            chunk.append(queue.popleft())
        answers, problems = self._get_batch([w for _, w, _ in chunk])
        retry: list[tuple[int, Wanted, int]] = []
        worst: tuple[Problem, int] | None = None
        for (n, w, attempts), key in zip(
            chunk, map(str, range(len(chunk))), strict=True
        ):
            answer = answers.get(key)
            if answer is not None:
                outcomes[n] = self._from_answer(answer, w)
                continue
            problem = problems[key]
            if problem.retryable and attempts + 1 < self.client.config.max_attempts:
                retry.append((n, w, attempts + 1))
                if worst is None or (problem.retry_after or 0) > (
                    worst[0].retry_after or 0
                ):
                    worst = (problem, attempts + 1)
                continue
            outcomes[n] = Failure(
                f"could not be downloaded from Gmail ({problem.detail})",
                retry=problem.kind not in ("not_found", "fatal"),
            )
        queue.extendleft(reversed(retry))
        self.client.caller.counter.add("retried_parts", len(retry))
        if worst is not None:
            problem, attempt = worst
            self.client.caller.wait(problem, attempt, what=f"{METHOD} in a batch")

    def _get_batch(
        self, wanted: list[Wanted]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, Problem]]:
        answers: dict[str, dict[str, Any]] = {}
        problems: dict[str, Problem] = {}

        def on_part(
            request_id: str, response: Any, exception: Exception | None
        ) -> None:
            if exception is None and isinstance(response, dict):
                answers[request_id] = response
                return
            problem = classify(exception) if exception is not None else None
            problems[request_id] = problem or Problem(
                "transient", "the batch part held no attachment"
            )

        client = self.client
        batch = BatchHttpRequest(callback=on_part, batch_uri=client.config.batch_uri)
        attachments = client.service.users().messages().attachments()
        for n, w in enumerate(wanted):
            request = attachments.get(
                userId=client.user_id, messageId=w.message, id=w.part.attachment_id
            )
            batch.add(request, request_id=str(n))
        client.fresh_token()
        self._charge(len(wanted))
        client.caller.ctx.count_call("batch")
        whole = client.execute_batch(batch)
        for key in map(str, range(len(wanted))):
            if key not in answers and key not in problems:
                problems[key] = whole or Problem(
                    "transient", "the batch response had no part for this attachment"
                )
        return answers, problems

    def _from_answer(self, answer: dict[str, Any], w: Wanted) -> Outcome:
        data = answer.get("data")
        if not isinstance(data, str):
            return Failure("Gmail's answer held no data for this attachment", True)
        content = b64url_bytes(data)
        self._check_size(answer.get("size"), len(content), w)
        return self._counted(self.put(content, w.part), len(content))

    # -- one large attachment, streamed ---------------------------------------

    def _streamed(self, w: Wanted) -> Outcome:
        try:
            return self._stream(w)
        except StoreError as exc:
            return store_failure(exc)
        except SourceError as exc:
            return _download_failure(exc)

    def _stream(self, w: Wanted) -> Outcome:
        client = self.client
        request = (
            client.service.users()
            .messages()
            .attachments()
            .get(userId=client.user_id, messageId=w.message, id=w.part.attachment_id)
        )
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            client.fresh_token()
            self._charge(1)
            client.caller.counter.add("round_trips")
            problem, staged = self._stream_once(request.uri, dict(request.headers), w)
            if staged is not None:
                return staged
            assert problem is not None
            if problem.status == 401 and not refreshed:
                # An access token revoked or expired early: one refresh, as the
                # library does for batch parts.
                refreshed = True
                client.fresh_token(force=True)
                continue
            client.caller.settle(problem, attempt, what=METHOD)

    def _stream_once(
        self, uri: str, headers: dict[str, str], w: Wanted
    ) -> tuple[Problem | None, StagedFile | None]:
        self.client.credentials.apply(headers)  # type: ignore[no-untyped-call]
        try:
            with self._client().stream("GET", uri, headers=headers) as response:
                if response.status_code != 200:
                    return _problem_of(response, uri), None
                stream = DataStream(response.iter_bytes())
                staged = self.store.put(
                    stream,
                    filename=w.part.filename,
                    mime_type=w.part.mime_type,
                    max_bytes=self.max_bytes,
                )
        except httpx.TransportError as exc:
            return Problem(
                "transient", f"connection failed ({type(exc).__name__})"
            ), None
        except StreamFormatError as exc:
            return Problem("transient", f"unreadable answer ({exc})"), None
        self._check_size(stream.size, stream.decoded, w)
        self.client.caller.counter.add("attachments_downloaded")
        self.client.caller.counter.add("attachment_bytes", staged.size)
        return None, staged

    def _client(self) -> httpx.Client:
        if self._http is None:
            timeout = self.client.config.timeout_seconds
            self._http = httpx.Client(timeout=timeout, follow_redirects=False)
        return self._http

    # -- bookkeeping ------------------------------------------------------------

    def _charge(self, calls: int) -> None:
        caller = self.client.caller
        caller.spend(ATTACHMENT_UNITS * calls)
        caller.counter.add("attachment_units", ATTACHMENT_UNITS * calls)
        caller.counter.add("attachment_round_trips")
        caller.ctx.count_call(METHOD, calls)

    def _counted(self, outcome: Outcome, size: int) -> Outcome:
        if isinstance(outcome, StagedFile):
            self.client.caller.counter.add("attachments_downloaded")
            self.client.caller.counter.add("attachment_bytes", size)
        return outcome

    def _check_size(self, announced: object, decoded: int, w: Wanted) -> None:
        if isinstance(announced, int) and announced != decoded:
            logger.warning(
                "%s: attachment %s of message %s: Gmail said %d bytes, sent %d; "
                "keeping what was sent",
                self.client.mailbox,
                w.part.ref,
                w.message,
                announced,
                decoded,
            )


def _problem_of(response: httpx.Response, uri: str) -> Problem:
    """The problem an error answer stands for, classified like the library's."""
    body = b""
    for piece in response.iter_bytes():
        body += piece
        if len(body) >= _ERROR_BODY_BYTES:
            break
    info = {"status": str(response.status_code)}
    for name in ("retry-after", "content-type"):
        if name in response.headers:
            info[name] = response.headers[name]
    problem = classify(HttpError(httplib2.Response(info), body, uri=uri))
    assert problem is not None  # an HttpError always classifies
    return problem
