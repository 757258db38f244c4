"""Jupyter Server's side of the kit: widget messages that reach the page at once, and cheaply.

A widget that streams small messages, such as the Phone's and Listen's 20 ms audio frames, meets two
costs in a stock Jupyter Server 2 and JupyterLab 4. This Jupyter Server extension removes both, and
does nothing else.

- **Nagle's algorithm.** Through Tornado, Jupyter Server leaves it on for the websocket between it
  and the page. A message is then held back until the page has acknowledged the one before, and
  browsers delay that acknowledgement by up to 40 ms. The extension turns TCP_NODELAY on for kernel
  websockets. Measured with bench/phone_bench.py's comm scene on 2026-12-06 (frames sent every 20 ms
  on the dot by a kernel thread), the page got them with p99 gaps of 44 ms stock and 22 ms with it.
- **Busy and idle for every widget message.** The kernel reports busy, then idle, for each message the
  page sends to a widget; the Phone's microphone sends one every 20 to 40 ms. JupyterLab redraws its kernel
  indicators, the toolbar and the tab's icon for each report. Listing `comm_msg` among the kernel
  manager's `untracked_message_types` makes the page ignore those reports; JupyterLab reads that
  list from the server. Measured on 2026-12-06 with one Phone live, this took Chromium from about
  60 % of a core to about 25 %, and the whole machine from 84–100 % busy to 44 %. What you give up:
  the indicator no longer shows busy while a widget's own Python callback runs. The server's
  activity tracking no longer counts widget messages either, which matters only to a culler
  configured to cull kernels without an open connection.

Installing the kit with pip enables the extension in that environment (`jupyter-config/`). In an
environment of your own, add `c.ServerApp.jpserver_extensions = {"vicifast_kit.notebook_server": True}`
to the server's config. Each part leaves alone a server whose config names the setting itself:
`ServerApp.kernel_websocket_connection_class` (a gateway, your own class) or the kernel manager's
`untracked_message_types`. The server's log says what it did.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

CONNECTION = "kernel_websocket_connection_class"
UNTRACKED = "untracked_message_types"


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
    """Kernel websockets without Nagle's delay, and no busy/idle redraws for widget messages."""
    _send_at_once(serverapp)
    _quiet_widget_status(serverapp)


def _send_at_once(serverapp: Any) -> None:
    """Use NoDelayKernelConnection for the kernels' websockets, unless the server configures its own class."""
    settings = serverapp.web_app.settings
    current = settings.get(CONNECTION)
    if CONNECTION in serverapp.config.get("ServerApp", {}) or current is not ZMQChannelsWebsocketConnection:
        serverapp.log.info("vicifast_kit: kernel websockets left as configured (%s)",
                           getattr(current, "__name__", current))
        return
    settings[CONNECTION] = NoDelayKernelConnection
    serverapp.log.info("vicifast_kit: kernel websockets send each message at once (TCP_NODELAY)")


def _quiet_widget_status(serverapp: Any) -> None:
    """Add comm_msg to the kernel manager's untracked message types (and to the page's copy, if made already)."""
    manager = serverapp.kernel_manager
    current = list(getattr(manager, UNTRACKED, None) or [])
    trait = manager.traits().get(UNTRACKED) if hasattr(manager, "traits") else None
    named = any(UNTRACKED in serverapp.config.get(cls.__name__, {}) for cls in type(manager).__mro__)
    if trait is None or named or current != list(trait.default()):
        serverapp.log.info("vicifast_kit: the kernel manager's %s left as configured", UNTRACKED)
        return
    setattr(manager, UNTRACKED, current + ["comm_msg"])
    page = serverapp.web_app.settings.get("page_config_data", {})
    if UNTRACKED in page and "comm_msg" not in page[UNTRACKED]:
        page[UNTRACKED] = list(page[UNTRACKED]) + ["comm_msg"]
    serverapp.log.info("vicifast_kit: widget messages no longer make the page redraw busy/idle (comm_msg untracked)")
