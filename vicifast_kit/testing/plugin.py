"""The pytest plugin of vk.testing (registered as ``vicifast_kit`` in the ``pytest11`` entry points).

Fixtures, made only when a test asks for them (a run that uses none connects to nothing and imports
nothing of the kit beyond this module):

- ``caller``: dials numbers in the lab as simulated people and returns what happened to each call;
  every call it made is ended when the test ends, passed or failed.
- ``app_under_test``: the app whose calls are tested (module scope): started from ``--vk-app FILE.py:app``,
  the test module's ``vk_app = "FILE.py:app"`` or the ini option ``vk_app`` (in that order), once per
  session, and stopped at its end; None when none is named. Override it to give your own.
- ``ari``: a connected client on an app of its own, its calls and bridges removed after the test.
- ``lab``: the lab's status (``vk.lab.status()``); the test fails with the next step when it is down.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """The plugin's options: --vk-app and --vk-app-name (and ini vk_app, vk_app_name)."""
    group = parser.getgroup("vicifast-kit", "vk.testing: callers who talk and listen, in the lab")
    group.addoption("--vk-app", metavar="FILE.py[:app]", default=None,
                    help="the app under test: a vk.App in a file or module, started for the tests and stopped after")
    group.addoption("--vk-app-name", metavar="NAME", default=None,
                    help="run the app under test under this ARI application name (a name of its own lets "
                         "test runs and notebooks share one lab)")
    parser.addini("vk_app", "the app under test, FILE.py[:app] (as --vk-app)", default="")
    parser.addini("vk_app_name", "the ARI application name to run the app under test under (as --vk-app-name)",
                  default="")


class _Apps:
    """The apps under test this session started: one per spec, stopped at the session's end."""

    def __init__(self) -> None:
        self.started: dict[str, Any] = {}

    def get(self, spec: str, name: str, root: Any) -> Any:
        key = f"{spec}|{name}"
        app = self.started.get(key)
        if app is None:
            from .apps import load_app
            app = load_app(spec, root)
            if getattr(app, "state", "stopped") == "stopped":
                if name:
                    app.name = name
                app.start()
                self.started[key] = app
        return app

    def stop_all(self) -> None:
        while self.started:
            _, app = self.started.popitem()
            app.stop()


@pytest.fixture(scope="session")
def _vk_apps() -> Iterator[_Apps]:
    """The apps under test started in this session (stopped at its end)."""
    apps = _Apps()
    try:
        yield apps
    finally:
        apps.stop_all()


@pytest.fixture(scope="module")
def app_under_test(request: pytest.FixtureRequest, _vk_apps: _Apps) -> Any:
    """The app under test (a vk.App, started): --vk-app, the module's vk_app, or the ini vk_app; None if none is named."""
    config = request.config
    spec = (config.getoption("--vk-app") or getattr(request.module, "vk_app", None)
            or config.getini("vk_app") or "")
    if not spec:
        return None
    if not isinstance(spec, str):
        return spec             # the module gave the App itself
    name = config.getoption("--vk-app-name") or config.getini("vk_app_name") or ""
    return _vk_apps.get(spec, name, config.rootpath)


@pytest.fixture
def caller(app_under_test: Any) -> Iterator[Any]:
    """A Caller: ``result = caller("5551234", say="billing please", dtmf="2")``; every call it made ends with the test."""
    from .caller import Caller
    app = getattr(app_under_test, "name", app_under_test)
    with Caller(app) as dialer:
        yield dialer


@pytest.fixture(scope="session")
def lab() -> Any:
    """The lab's status (vk.lab.status()); the test fails with the next step to take when the lab does not answer."""
    from .. import lab as vk_lab
    status = vk_lab.status()
    if not status.up:
        pytest.fail(f"vk.testing needs the lab (or the Asterisk your settings name) to answer:\n{status}",
                    pytrace=False)
    return status


@pytest.fixture
def ari() -> Iterator[Any]:
    """A client connected on an app of its own (``kit-test-...``); the calls and bridges in that app are removed after."""
    import contextlib

    from ..client import connect
    from ..errors import ARIError
    client = connect(f"kit-test-{uuid.uuid4().hex[:10]}")
    try:
        yield client
    finally:
        with contextlib.suppress(ARIError, ConnectionError):
            held = client.applications.get(client.app)
            for channel in held.channel_ids:
                with contextlib.suppress(ARIError, ConnectionError):
                    client.request("DELETE", f"/channels/{channel}")
            for bridge in held.bridge_ids:
                with contextlib.suppress(ARIError, ConnectionError):
                    client.request("DELETE", f"/bridges/{bridge}")
        client.close()
