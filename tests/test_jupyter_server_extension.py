"""The kit's Jupyter Server extension loads in a real JupyterLab (no lab, no browser needed)."""

from __future__ import annotations

import json
import re

import requests

from browser_helpers import running_jupyterlab

STOCK = ("--ServerApp.kernel_websocket_connection_class="
         "jupyter_server.services.kernels.connection.channels.ZMQChannelsWebsocketConnection",)


def page_config(base: str, token: str) -> dict:
    """The page config JupyterLab's server puts in /lab (what the page's kernel connection reads)."""
    html = requests.get(f"{base}/lab", params={"token": token}, timeout=30).text
    return json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                html, re.S).group(1))


def test_jupyterlab_sends_kernel_messages_at_once_unless_configured_otherwise(tmp_path):
    with running_jupyterlab(tmp_path / "kit") as (base, token, _):
        untracked = page_config(base, token)["untracked_message_types"]
    log = (tmp_path / "kit" / "jupyterlab.log").read_text()
    assert "vicifast_kit: kernel websockets send each message at once (TCP_NODELAY)" in log, log[-3000:]
    assert "comm_msg" in untracked and "status" in untracked         # the page ignores busy/idle of widget messages
    (tmp_path / "stock" / "config").mkdir(parents=True)           # a server that names both settings itself
    (tmp_path / "stock" / "config" / "jupyter_server_config.json").write_text(
        json.dumps({"MappingKernelManager": {"untracked_message_types": ["status", "stream"]}}))
    with running_jupyterlab(tmp_path / "stock", STOCK) as (base, token, _):
        untracked = page_config(base, token)["untracked_message_types"]
    log = (tmp_path / "stock" / "jupyterlab.log").read_text()
    assert "vicifast_kit: kernel websockets left as configured (ZMQChannelsWebsocketConnection)" in log, log[-3000:]
    assert "untracked_message_types left as configured" in log and untracked == ["status", "stream"]
