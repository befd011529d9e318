"""The one loopback rule every configured URL goes through."""

from __future__ import annotations

import pytest

from evermuse_connectors.connector import is_loopback_host


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    ["", None, "10.0.0.1", "192.168.1.2", "example.com", "127.0.0.1.nip.io", "::2"],
)
def test_other_hosts_are_not_loopback(host: str | None) -> None:
    assert not is_loopback_host(host)
