"""Fixtures of the emulator's tests: emulators on free ports, clients, a file server,
and the published spec's response schemas."""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from evermuse_connectors.emulator import (
    DEFAULT_READ_KEY,
    DEFAULT_WRITE_KEY,
    Emulator,
    EmulatorConfig,
)

SPEC_PATH = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "evermuse"
    / "ingest-v1.openapi.yml"
)

# A file the local file server hands out, and its digests.
PAYLOAD = bytes(range(256)) * 1024
PAYLOAD_SHA1 = hashlib.sha1(PAYLOAD).hexdigest()
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def start_emulator(tmp_path: Path) -> Iterator[Callable[..., Emulator]]:
    """Start emulators on free ports (db in tmp_path unless given); stop them all."""
    started: list[Emulator] = []

    def start(**settings: Any) -> Emulator:
        settings.setdefault("db_path", str(tmp_path / "emulator.sqlite3"))
        settings.setdefault("port", 0)
        settings.setdefault("step_seconds", 0.01)
        emulator = Emulator(EmulatorConfig(**settings))
        emulator.start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emu(start_emulator: Callable[..., Emulator]) -> Emulator:
    return start_emulator()


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=emu.url, headers={"x-api-key": DEFAULT_WRITE_KEY}, timeout=30
    ) as http:
        yield http


@pytest.fixture
def reader(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=emu.url, headers={"x-api-key": DEFAULT_READ_KEY}, timeout=30
    ) as http:
        yield http


@pytest.fixture
def record() -> Callable[..., dict[str, Any]]:
    """A valid record JSON object; keyword arguments replace or add top-level keys."""

    def make(n: int = 0, **fields: Any) -> dict[str, Any]:
        value: dict[str, Any] = {
            "_type": "email",
            "_schema_version": "1.0.0",
            "_event_at": "2026-02-24T12:34:56Z",
            "_nature": "evidence",
            "_vendor_ids": {"message_id": f"msg-{n:06d}"},
            "_product_id": "prod-abc",
            "_project_ids": ["proj-123"],
            "_participants": [
                {"id": "alice@acme.example", "role": "external", "type": "contact"}
            ],
            "data": {"subject": f"Feedback {n}", "body": "Dark mode, please. " * 40},
        }
        value.update(fields)
        return value

    return make


# -- the spec's response schemas ---------------------------------------------------


def _nullable_to_type_lists(node: Any) -> Any:
    # The spec says OpenAPI 3.1 but marks nextCursor with 3.0's `nullable: true`,
    # which JSON Schema 2020-12 ignores; read it as the spec's authors meant it.
    if isinstance(node, dict):
        node = {key: _nullable_to_type_lists(value) for key, value in node.items()}
        if node.pop("nullable", False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable_to_type_lists(value) for value in node]
    return node


@pytest.fixture(scope="session")
def schema() -> Callable[[str, Any], None]:
    """``schema(name, value)`` checks value against ``components.schemas[name]``."""
    if not SPEC_PATH.exists():
        pytest.skip(
            f"Evermuse's published spec is not at {SPEC_PATH}: the response-shape "
            "checks need ../shared/evermuse/ingest-v1.openapi.yml beside the checkout"
        )
    spec = yaml.safe_load(SPEC_PATH.read_text())
    components = _nullable_to_type_lists(copy.deepcopy(spec["components"]))

    def check(name: str, value: Any) -> None:
        document = {"$ref": f"#/components/schemas/{name}", "components": components}
        jsonschema.Draft202012Validator(document).validate(value)

    return check


# -- a tiny file server for attachment downloads -----------------------------------


class FileServer:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                hits[path] += 1
                routes = {
                    "/files/recording.bin": (200, "application/octet-stream", PAYLOAD),
                    "/login": (
                        200,
                        "text/html; charset=utf-8",
                        b"<html>Sign in</html>",
                    ),
                    "/sniffed": (200, "application/octet-stream", b"<!DOCTYPE html>"),
                    "/missing": (404, "text/plain", b"no such file"),
                }
                if path == "/redirect":
                    self._redirect("/files/recording.bin")
                elif path == "/redirect-out":
                    self._redirect("https://example.invalid/x")
                elif path in routes:
                    self._answer(*routes[path])
                else:
                    self._answer(404, "text/plain", b"unknown")

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _answer(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    server = FileServer()
    server.start()
    yield server
    server.stop()
