"""A tiny connector in its own distribution, the way a third party would write one.

It reads feedback entries from a small JSON API (``GET /v1/entries``, paged by an
opaque ``next`` token) and emits one ``message`` record per entry. The framework
finds it through the ``evermuse_connectors.connectors`` entry point in this
package's pyproject.toml; nothing in evermuse-connectors names it.
"""

from evermuse_example._connector import ExampleConfig, ExampleConnector
from evermuse_example._fake import FakeFeedbackApi

__all__ = ["ExampleConfig", "ExampleConnector", "FakeFeedbackApi"]
