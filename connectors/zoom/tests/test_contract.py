from evermuse_zoom import ZoomConnector

from evermuse_connectors.testing import ConnectorContract


class TestZoomContract(ConnectorContract):
    connector = ZoomConnector()
