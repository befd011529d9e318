"""The Slack connector for evermuse-connectors: one conversation record per thread.

``SlackConnector`` is registered under the ``evermuse_connectors.connectors`` entry
point as ``slack``; ``SlackConfig`` is its settings model; ``evermuse_slack.fake``
holds the fake Slack Web API used by tests, benchmarks and the demo.
"""

from evermuse_slack._config import SlackConfig, SlackRates
from evermuse_slack._connector import SlackConnector

__all__ = ["SlackConfig", "SlackConnector", "SlackRates"]
