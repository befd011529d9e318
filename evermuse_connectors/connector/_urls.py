"""Which hosts count as this machine: the one rule behind "https, or plain http to
loopback" everywhere a URL is configured (Evermuse, source APIs, attachment stores).
"""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback_host"]

_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback_host(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or localhost. Names are never resolved: a name that merely
    points at 127.0.0.1 (or is made to) does not count."""
    if not host:
        return False
    host = host.strip().strip("[]").lower()
    if host in _NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
