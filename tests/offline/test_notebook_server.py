"""vicifast_kit.notebook_server: the Jupyter Server extension that turns Nagle's algorithm off for kernel websockets."""

from __future__ import annotations

import asyncio
import json
import logging
import tomllib
from pathlib import Path
from types import SimpleNamespace

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from traitlets.config import Config

from vicifast_kit import notebook_server
from vicifast_kit.notebook_server import NoDelayKernelConnection

ROOT = Path(__file__).resolve().parents[2]


def server(config: Config | None = None, current=ZMQChannelsWebsocketConnection) -> SimpleNamespace:
    return SimpleNamespace(web_app=SimpleNamespace(settings={"kernel_websocket_connection_class": current}),
                           config=config or Config(), log=logging.getLogger("test-server"))


def test_the_extension_replaces_only_jupyter_servers_own_default_class():
    app = server()
    notebook_server._load_jupyter_server_extension(app)
    assert app.web_app.settings["kernel_websocket_connection_class"] is NoDelayKernelConnection

    configured = Config()        # named in the server's config (even the stock class): the user's choice stands
    configured.ServerApp.kernel_websocket_connection_class = "jupyter_server...ZMQChannelsWebsocketConnection"
    app = server(configured)
    notebook_server._load_jupyter_server_extension(app)
    assert app.web_app.settings["kernel_websocket_connection_class"] is ZMQChannelsWebsocketConnection

    class Gateway:               # a gateway's connection class is not the stock one: left alone
        pass
    app = server(current=Gateway)
    notebook_server._load_jupyter_server_extension(app)
    assert app.web_app.settings["kernel_websocket_connection_class"] is Gateway


def test_connecting_turns_nagle_off_before_the_stock_connect(monkeypatch):
    calls = []

    async def stock_connect(self):
        calls.append("connect")
        return "connected"
    monkeypatch.setattr(ZMQChannelsWebsocketConnection, "connect", stock_connect)
    conn = NoDelayKernelConnection.__new__(NoDelayKernelConnection)
    handler = SimpleNamespace(set_nodelay=lambda on: calls.append(("nodelay", on)))
    conn._trait_values["websocket_handler"] = handler
    assert asyncio.run(conn.connect()) == "connected"
    assert calls == [("nodelay", True), "connect"]


def test_a_pip_install_enables_it_and_scripts_setup_and_docker_copy_the_same_file():
    config = ROOT / "jupyter-config" / "jupyter_server_config.d" / "vicifast_kit.json"
    assert json.loads(config.read_text()) == {"ServerApp": {"jpserver_extensions": {"vicifast_kit.notebook_server": True}}}
    files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    assert files["etc/jupyter/jupyter_server_config.d"] == [str(config.relative_to(ROOT))]
    assert str(config.relative_to(ROOT)) in (ROOT / "scripts" / "setup").read_text()
    assert str(config.relative_to(ROOT)) in (ROOT / "docker" / "jupyter.Dockerfile").read_text()
    assert notebook_server._jupyter_server_extension_points() == [{"module": "vicifast_kit.notebook_server"}]
