"""A local store served for a block keeps links alive past the stores that used it."""

from __future__ import annotations

from pathlib import Path

import httpx

from evermuse_connectors.attachments import build_store, serve_local_store


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
