"""The framework's shared contract, run against the Gmail connector and its fake."""

from evermuse_gmail import GmailConnector

from evermuse_connectors.testing import ConnectorContract


class TestGmailContract(ConnectorContract):
    connector = GmailConnector()
