"""evermuse-connector-zoom: Zoom cloud recordings as Evermuse call records.

The connector reads one Zoom account through a Server-to-Server OAuth app; see the
package README for its configuration. ``evermuse_zoom.fake`` is a local fake of the
Zoom API for tests and the demo.
"""

from evermuse_zoom._config import ZoomConfig
from evermuse_zoom._connector import ZoomConnector
from evermuse_zoom._vtt import Transcript, Turn, parse_vtt

__all__ = ["Transcript", "Turn", "ZoomConfig", "ZoomConnector", "parse_vtt"]
