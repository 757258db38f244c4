"""Live call audio over Asterisk 22's WebSocket media: ``ch.media()`` to take part, ``ch.listen()`` to listen."""

from .stream import CALL_FORMATS, CONTROL_FORMATS, DIRECTIONS, FORMATS, PTIME, MediaMark, MediaStream, WireFormat, wire_format
from .wiring import open_bridge, open_listen, open_media

__all__ = ["CALL_FORMATS", "CONTROL_FORMATS", "DIRECTIONS", "FORMATS", "PTIME", "MediaMark", "MediaStream", "WireFormat",
           "wire_format", "open_media", "open_listen", "open_bridge"]
