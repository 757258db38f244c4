"""Jupyter Server's side of the kit: kernel websockets that send each message at once.

Jupyter Server (2.x, through Tornado) leaves Nagle's algorithm on for the websocket between it and
the page. A widget that streams small messages, such as the Phone's and Listen's 20 ms audio frames,
then has a message held back until the page has acknowledged the one before. Browsers delay that
acknowledgement by up to 40 ms. Measured with bench/phone_bench.py's comm scene on 2026-12-06
(frames sent every 20 ms on the dot by a kernel thread, nothing else running), the gaps between
frames reaching the page were:

- stock Jupyter Server: p99 47 ms, max 61 ms, a quarter of them over 30 ms;
- with TCP_NODELAY on the kernel websocket: p99 22 ms, max 37 ms.

This module is a Jupyter Server extension that turns TCP_NODELAY on, and nothing else. Installing
the kit with pip enables it in that environment (`jupyter-config/`). In an environment of your own,
enable it with `jupyter server extension enable vicifast_kit.notebook_server`. It leaves alone a
server whose `ServerApp.kernel_websocket_connection_class` is configured (a gateway, your own class).
"""

from __future__ import annotations

from typing import Any

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

SETTING = "kernel_websocket_connection_class"


class NoDelayKernelConnection(ZMQChannelsWebsocketConnection):
    """Jupyter Server's kernel websocket connection, sending each message at once (TCP_NODELAY)."""

    async def connect(self) -> Any:
        """Connect the page to the kernel, with Nagle's algorithm off on the page's websocket."""
        self.websocket_handler.set_nodelay(True)
        return await super().connect()


def _jupyter_server_extension_points() -> list[dict]:
    """Jupyter Server finds the extension here."""
    return [{"module": "vicifast_kit.notebook_server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Use NoDelayKernelConnection for the kernels' websockets, unless the server configures its own class."""
    settings = serverapp.web_app.settings
    configured = SETTING in serverapp.config.get("ServerApp", {})
    current = settings.get(SETTING)
    if configured or current is not ZMQChannelsWebsocketConnection:
        name = getattr(current, "__name__", current)
        serverapp.log.info("vicifast_kit: kernel websockets left as configured (%s)", name)
        return
    settings[SETTING] = NoDelayKernelConnection
    serverapp.log.info("vicifast_kit: kernel websockets send each message at once (TCP_NODELAY)")
