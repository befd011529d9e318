"""Serve a local attachment folder until Ctrl-C, so its links outlive the syncs.

    python -m evermuse_connectors.attachments --folder .evermuse/attachments --port 8766

A local store with the same folder, port and secret, in any process, finds this
server on its port and signs links that this server answers.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading

from evermuse_connectors.attachments._config import LocalStoreConfig
from evermuse_connectors.attachments._local import LocalAttachmentStore

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    defaults = LocalStoreConfig()
    parser = argparse.ArgumentParser(
        prog="python -m evermuse_connectors.attachments",
        description="Serve a local attachment folder on loopback until Ctrl-C.",
    )
    parser.add_argument("--folder", default=defaults.folder)
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--secret-env",
        default=defaults.secret_env,
        help="variable holding the signing secret (unset: the folder's own)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    config = LocalStoreConfig(
        folder=args.folder,
        host=args.host,
        port=args.port,
        secret_env=args.secret_env or None,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalAttachmentStore(config) as store:
        print(f"serving {store.folder} at {store.start()} (Ctrl-C stops)", flush=True)
        # Ctrl-C ends the wait like SIGTERM does; the store then closes cleanly.
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
