"""vicifast_kit.notebook_server: the Jupyter Server extension that turns Nagle's algorithm off for kernel websockets."""

from __future__ import annotations

import asyncio
import json
import logging
import tomllib
from pathlib import Path
from types import SimpleNamespace

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from traitlets import HasTraits, List, Unicode
from traitlets.config import Config

from vicifast_kit import notebook_server
from vicifast_kit.notebook_server import NoDelayKernelConnection

ROOT = Path(__file__).resolve().parents[2]


class Manager(HasTraits):
    """The one trait of Jupyter Server's kernel manager that the extension reads."""
    untracked_message_types = List(Unicode(), default_value=["status", "stream"])


def server(config: Config | None = None, current=ZMQChannelsWebsocketConnection, manager=None,
           page=None) -> SimpleNamespace:
    settings = {"kernel_websocket_connection_class": current}
    if page is not None:
        settings["page_config_data"] = page
    return SimpleNamespace(web_app=SimpleNamespace(settings=settings), kernel_manager=manager or Manager(),
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


def test_widget_messages_stop_making_the_page_redraw_busy_and_idle_unless_configured():
    app = server()                              # JupyterLab reads the list from the kernel manager after us
    notebook_server._load_jupyter_server_extension(app)
    assert app.kernel_manager.untracked_message_types == ["status", "stream", "comm_msg"]
    page = {"untracked_message_types": ["status", "stream"], "other": 1}
    app = server(page=page)                     # ... or it has already copied it into the page's config
    notebook_server._load_jupyter_server_extension(app)
    assert page == {"untracked_message_types": ["status", "stream", "comm_msg"], "other": 1}
    mine = Manager(untracked_message_types=["status"])   # a list the server's config set: left as it is
    app = server(manager=mine, page={"untracked_message_types": ["status"]})
    notebook_server._load_jupyter_server_extension(app)
    assert mine.untracked_message_types == ["status"]
    assert app.web_app.settings["page_config_data"] == {"untracked_message_types": ["status"]}
    named = Config()                            # Jupyter Server's own list, named in the config: also left
    named.Manager.untracked_message_types = ["status", "stream"]
    app = server(named)
    notebook_server._load_jupyter_server_extension(app)
    assert app.kernel_manager.untracked_message_types == ["status", "stream"]


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
