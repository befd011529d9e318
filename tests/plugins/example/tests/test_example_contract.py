from evermuse_example import ExampleConnector

from evermuse_connectors.testing import ConnectorContract


class TestExampleContract(ConnectorContract):
    connector = ExampleConnector()
