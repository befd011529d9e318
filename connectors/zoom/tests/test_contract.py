from evermuse_connectors.testing import ConnectorContract
from evermuse_zoom import ZoomConnector


class TestZoomContract(ConnectorContract):
    connector = ZoomConnector()
