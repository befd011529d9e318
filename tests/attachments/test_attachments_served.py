"""A local store served for a block keeps links alive past the stores that used it."""

from __future__ import annotations

from pathlib import Path

import httpx

from evermuse_connectors.attachments import (
    LocalAttachmentStore,
    build_store,
    serve_local_store,
)


def test_links_outlive_the_store_that_made_them(tmp_path: Path) -> None:
    with serve_local_store(tmp_path / "files") as config:
        assert config.port != 0
        step = build_store(config)
        staged = step.put(
            [b"hello ", b"world"], filename="a.txt", mime_type="text/plain"
        )
        step.close()  # an extract step ends; the block's server still serves
        response = httpx.get(staged.url)
        assert response.status_code == 200
        assert response.content == b"hello world"
    # After the block nothing serves the folder any more.
    try:
        httpx.get(staged.url, timeout=2)
    except httpx.TransportError:
        return
    raise AssertionError("the link should stop working when the block ends")


def test_signed_gives_the_expiry_of_the_store_clock(tmp_path: Path) -> None:
    clock = [1_000_000.0]
    with serve_local_store(tmp_path / "files", ttl_seconds=3600) as config:
        store = LocalAttachmentStore(config, clock=lambda: clock[0])
        staged = store.put([b"x"], filename="x.txt", mime_type="text/plain")
        clock[0] += 600
        url, expires = store.signed(
            staged.key, filename="x.txt", mime_type="text/plain"
        )
        assert expires.timestamp() == 1_000_000 + 600 + 3600
        assert url == store.url_for(
            staged.key, filename="x.txt", mime_type="text/plain"
        )
        store.close()
