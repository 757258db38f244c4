"""The kit's Jupyter Server extension loads in a real JupyterLab (no lab, no browser needed)."""

from __future__ import annotations

from browser_helpers import running_jupyterlab

STOCK = ("--ServerApp.kernel_websocket_connection_class="
         "jupyter_server.services.kernels.connection.channels.ZMQChannelsWebsocketConnection",)


def test_jupyterlab_sends_kernel_messages_at_once_unless_configured_otherwise(tmp_path):
    with running_jupyterlab(tmp_path / "kit"):
        pass
    log = (tmp_path / "kit" / "jupyterlab.log").read_text()
    assert "vicifast_kit: kernel websockets send each message at once (TCP_NODELAY)" in log, log[-3000:]
    with running_jupyterlab(tmp_path / "stock", STOCK):
        pass
    log = (tmp_path / "stock" / "jupyterlab.log").read_text()
    assert "vicifast_kit: kernel websockets left as configured (ZMQChannelsWebsocketConnection)" in log, log[-3000:]
