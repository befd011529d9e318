"""A fake of the example feedback API: real HTTP on 127.0.0.1, generated entries."""

from __future__ import annotations

import json
import random
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from evermuse_connectors.connector import FakeSource

_TOKEN_ENV = "EXAMPLE_API_TOKEN"
_PAGE = 5
_PHRASES = [
    "The export to CSV keeps timing out on large projects.",
    "Love the new dashboard, but dark mode please!",
    "Billing page shows the wrong currency for our team.",
    "Can we get SSO with Okta? Contact me at ops@customer.example.",
    "Search does not find tickets by their number.",
]


def generate_entries(seed: int, now: datetime, days: int = 14) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    entries = []
    for day in range(days):
        for n in range(rng.randint(2, 4)):
            moment = now - timedelta(days=day, minutes=rng.randint(1, 1400))
            author = rng.choice(
                ["ana@customer.example", "li@acme.example", "me@ours.example"]
            )
            entries.append(
                {
                    "id": f"e-{day:02d}-{n}",
                    "created_at": int(moment.timestamp()),
                    "author_email": author,
                    "text": rng.choice(_PHRASES),
                    "channel": rng.choice(["web", "ios", "android"]),
                }
            )
    return sorted(entries, key=lambda e: (e["created_at"], e["id"]))


class FakeFeedbackApi(FakeSource):
    def __init__(self, *, seed: int, now: datetime) -> None:
        self.entries = generate_entries(seed, now)
        self.token = f"example-token-{seed}"
        self.calls = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.settings = {"base_url": self.url, "internal_domains": ["ours.example"]}
        self.environ = {_TOKEN_ENV: self.token}

    def start(self) -> FakeFeedbackApi:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        since, until = int(query["since"][0]), int(query["until"][0])
        offset = int(query.get("next", ["0"])[0])
        matching = [e for e in self.entries if since <= e["created_at"] < until]
        chunk = matching[offset : offset + _PAGE]
        more = offset + _PAGE < len(matching)
        return {"entries": chunk, "next": str(offset + _PAGE) if more else None}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                del format, args  # keep test output quiet

            def do_GET(self) -> None:
                fake.calls += 1
                parts = urlsplit(self.path)
                if self.headers.get("authorization") != f"Bearer {fake.token}":
                    return self._send(401, {"error": "invalid token"})
                if parts.path != "/v1/entries":
                    return self._send(404, {"error": "no such path"})
                try:
                    return self._send(200, fake._page(parse_qs(parts.query)))
                except (KeyError, ValueError):
                    return self._send(400, {"error": "since and until are required"})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
