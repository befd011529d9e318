"""The Gmail connector for evermuse-connectors.

``GmailConnector`` is registered under the ``evermuse_connectors.connectors`` entry
point as ``gmail``; ``GmailConfig`` is the schema of a source's ``settings``. The fake
Gmail server for tests and demos lives in :mod:`evermuse_gmail.fake`.
"""

from evermuse_gmail._config import (
    AuthorizedUserAuth,
    DirectoryMailboxes,
    GmailConfig,
    Quota,
    ServiceAccountAuth,
)
from evermuse_gmail._connector import GmailConnector

__all__ = [
    "AuthorizedUserAuth",
    "DirectoryMailboxes",
    "GmailConfig",
    "GmailConnector",
    "Quota",
    "ServiceAccountAuth",
]
