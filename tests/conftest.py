"""Markers for every test, applied here by path and fixture, and the lab brought up once for those that need it.

- ``lab``: needs the shared lab running (every test outside tests/offline except the Docker lab's, and the
  notebooks); the lab is brought up once if it is not running.
- ``browser``: drives JupyterLab in headless Chromium (the ``jupyterlab`` fixture of browser_helpers.py).
- ``docker``: builds and runs a Docker lab of its own on other ports (tests/test_docker_lab.py).
- ``notebooks``: runs the notebook series (nbval's cells from notebooks/, tests/test_notebooks.py).
- ``restarts_lab``: stops, restarts or reconfigures the shared lab; these run last (scripts/test runs them
  after the others, alone).

So ``pytest -m "not docker"``, ``pytest -m browser``, ``pytest -m "lab and not notebooks"`` work from the
repository's root (the markers of the notebooks' cells are set here, so name no path or name both
``tests`` and ``notebooks``).

In parallel (pytest-xdist, ``-n 3 --dist loadgroup``, as scripts/test runs all but the browser and
restarts_lab tests) a file runs whole in one worker, and files that use one lab-wide thing (SHARED) run one
after the other in the same worker.
"""

from pathlib import Path

import pytest

from notebook_leftovers import NotebookLeftovers
from vicifast_kit import lab, settings

TESTS = Path(__file__).resolve().parent
OFFLINE = TESTS / "offline"
NOTEBOOKS = TESTS.parent / "notebooks"

MARKERS = {
    "lab": "needs the shared lab running (started once for the session if it is not)",
    "browser": "drives JupyterLab in headless Chromium",
    "docker": "builds and runs a Docker lab of its own (tests/test_docker_lab.py)",
    "notebooks": "runs the notebook series (nbval cells, tests/test_notebooks.py)",
    "restarts_lab": "the test stops, restarts or reconfigures the shared lab (runs last, alone)",
}

#: Files that use one lab-wide thing, so never run at the same time: one xdist group each.
SHARED = {
    "push-port-8790": ("tests/test_push.py", "notebooks/10_asterisk_pushes_to_you.ipynb"),   # the push server's port
    "phone-6001": ("tests/test_lab.py", "notebooks/00_setup_and_first_contact.ipynb"),      # registers / shows 6001
    # one notebook run twice (nbval, and paced) shares its ARI app: a second websocket takes the first's events
    "notebook-08": ("notebooks/08_hearing_and_speaking.ipynb", "tests/test_notebook_pace.py"),
}
#: Which files start first in parallel: the longest (a worker left alone at the end is time lost).
FIRST = ("docker", "browser", "notebooks")


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    if not config.pluginmanager.has_plugin("notebook-leftovers"):
        config.pluginmanager.register(NotebookLeftovers(), "notebook-leftovers")


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


def _group_of(path: str) -> str:
    """The group of a file (its path from the repository's top): the SHARED group it is in; "browser" for the
    real-browser tests (each starts JupyterLab and Chromium: two at once would crowd two cores); else itself."""
    if path.endswith("_browser.py"):
        return "browser"
    return next((name for name, files in SHARED.items() if path in files), path)


def _group(item) -> str:
    path = Path(str(item.path)).resolve()
    return _group_of(path.relative_to(TESTS.parent).as_posix() if path.is_relative_to(TESTS.parent) else str(path))


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With ``--dist loadgroup``: one work unit per file, or per SHARED group of files (xdist 3.8's own loadgroup
    reads ``xdist_group`` markers through ``item._nodeid``, which pytest 9 no longer uses for the node id)."""
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group_of(nodeid.split("::", 1)[0])

    return FileGroups(config, log)


def _rank(item) -> int:
    return next((i for i, name in enumerate(FIRST) if item.get_closest_marker(name)), len(FIRST))


def _restarts(item) -> bool:
    return item.get_closest_marker("restarts_lab") is not None


@pytest.hookimpl(tryfirst=True)     # the markers are there for -m and for the other plugins' hooks
def pytest_collection_modifyitems(items):
    """Each test gets its markers; a group's tests stay together, the longest kinds first (in parallel they start
    at once: the scheduler hands the groups out in this order); tests that restart the lab run last."""
    for item in items:
        for name in _markers_for(item):
            if item.get_closest_marker(name) is None:
                item.add_marker(name)
    groups = {}
    for item in items:      # the order of groups, each group's tests kept together in their order
        groups.setdefault(_group(item), []).append(item)
    ordered = sorted(groups.values(), key=lambda group: min(_rank(item) for item in group))
    items[:] = sorted((item for group in ordered for item in group), key=_restarts)


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
