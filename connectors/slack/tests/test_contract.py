"""The shared contract every connector passes, run against the Slack connector."""

from evermuse_slack import SlackConnector

from evermuse_connectors.testing import ConnectorContract


class TestSlackContract(ConnectorContract):
    connector = SlackConnector()
