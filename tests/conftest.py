"""Markers for every test, applied here by path and fixture, and the lab brought up once for those that need it.

- ``lab``: needs the shared lab running (every test outside tests/offline except the Docker lab's, and the
  notebooks); the lab is brought up once if it is not running.
- ``browser``: drives JupyterLab in headless Chromium (the ``jupyterlab`` fixture of browser_helpers.py).
- ``docker``: builds and runs a Docker lab of its own on other ports (tests/test_docker_lab.py).
- ``notebooks``: runs the notebook series (nbval's cells from notebooks/, tests/test_notebooks.py).
- ``restarts_lab``: stops or restarts the shared lab; these run last.

So ``pytest -m "not docker"``, ``pytest -m browser``, ``pytest -m "lab and not notebooks"`` work from the
repository's root (the markers of the notebooks' cells are set here, so name no path or name both
``tests`` and ``notebooks``).
"""

from pathlib import Path

import pytest

from vicifast_kit import lab, settings

TESTS = Path(__file__).resolve().parent
OFFLINE = TESTS / "offline"
NOTEBOOKS = TESTS.parent / "notebooks"

MARKERS = {
    "lab": "needs the shared lab running (started once for the session if it is not)",
    "browser": "drives JupyterLab in headless Chromium",
    "docker": "builds and runs a Docker lab of its own (tests/test_docker_lab.py)",
    "notebooks": "runs the notebook series (nbval cells, tests/test_notebooks.py)",
    "restarts_lab": "the test stops or restarts the lab (runs last)",
}


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def _markers_for(item) -> list[str]:
    path = Path(str(item.path)).resolve()
    if path.is_relative_to(OFFLINE):
        return []
    names = []
    if path.is_relative_to(NOTEBOOKS) or path.name == "test_notebooks.py":
        names.append("notebooks")
    if path.name == "test_docker_lab.py" or "docker_lab" in getattr(item, "fixturenames", ()):
        names.append("docker")
    else:
        names.append("lab")
    if "jupyterlab" in getattr(item, "fixturenames", ()):
        names.append("browser")
    return names


def pytest_collection_modifyitems(items):
    """Each test gets its markers; tests that stop or restart the lab run last, so the others see a steady lab."""
    for item in items:
        for name in _markers_for(item):
            if item.get_closest_marker(name) is None:
                item.add_marker(name)
    items.sort(key=lambda item: item.get_closest_marker("restarts_lab") is not None)


@pytest.fixture(scope="session")
def lab_settings():
    """The lab is up (started here if it was not); its connection settings."""
    if not lab.status().up:
        lab.up()
    return settings.load()


@pytest.fixture(autouse=True)
def _lab_is_up(request):
    """A test marked ``lab`` gets the lab up before it runs (once per session); the others never touch it."""
    if request.node.get_closest_marker("lab") is not None:
        request.getfixturevalue("lab_settings")
