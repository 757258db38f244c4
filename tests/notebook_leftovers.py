"""While nbval runs the notebooks: after each notebook's last cell, none of its own calls, named bridges or
recordings is left in the lab (registered by tests/conftest.py as a plugin, so it sees notebooks/'s cells).

nbval already compares each notebook's own leftover check (``vk.lab.leftovers(ari)``) with its stored
"0, 0, 0"; this looks at the lab from outside, after the notebook's kernel has stopped. Other people's
calls, bridges and recordings (the lab is shared) are neither counted nor touched.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vicifast_kit.lab import probes

#: Dialplan contexts only notebook 01 sends calls to (docker/asterisk/extensions.conf).
AMI_CONTEXTS = ("ami-lobby", "ami-menu", "agi-menu")
#: The VICIdial-shaped contexts (docker/asterisk/extensions_vicidial.conf) where notebook 11's callers wait once
#: handed back (the stand-in in-groups keep a caller on hold), outside any app.
VICIDIAL_CONTEXTS = ("trunkinbound", "standin-did-route", "standin-ingroup")


def code_of(notebook) -> str:
    """A notebook's code cells as one text."""
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "code")


def lab_snapshot() -> dict[str, set[str]]:
    """The channels, bridges and stored recordings in the lab now (what a notebook finds there is not its own)."""
    get = probes.lab_getter()
    return {"channels": {c["id"] for c in get("/channels")}, "bridges": {b["id"] for b in get("/bridges")},
            "recordings": {r["name"] for r in get("/recordings/stored")}}


def ours(code: str, before: dict) -> dict[str, list[str]]:
    """What is in the lab now that a notebook with this code made: its apps' channels, its named bridges and recordings."""
    apps = set(re.findall(r'\bapp="([\w.-]+)"', code))
    get = probes.lab_getter()

    def mine(channel: dict) -> bool:
        dialplan = channel.get("dialplan") or {}
        if dialplan.get("context") in AMI_CONTEXTS:
            return "dialplan_caller" in code
        if dialplan.get("context") in VICIDIAL_CONTEXTS and dialplan.get("app_name") != "Stasis":
            return "vicidial_standin" in code
        return dialplan.get("app_name") == "Stasis" and (dialplan.get("app_data") or "").split(",")[0] in apps

    channels = [c for c in get("/channels") if c["id"] not in before["channels"] and mine(c)]
    bridges = [b for b in get("/bridges") if b["id"] not in before["bridges"] and b.get("name")
               and f'"{b["name"]}"' in code]
    recordings = [r for r in get("/recordings/stored") if r["name"] not in before["recordings"]
                  and f'"{r["name"]}"' in code]
    return {"channels": [c["name"] for c in channels], "bridges": [b["name"] for b in bridges],
            "recordings": [r["name"] for r in recordings]}


def _is_cell(item) -> bool:
    return Path(str(item.path)).suffix == ".ipynb" and hasattr(item.parent, "nb")


class NotebookLeftovers:
    """The plugin: a snapshot before a notebook's first cell, the check after its last cell's teardown."""

    def __init__(self) -> None:
        self.before: dict[str, dict] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item) -> None:
        if _is_cell(item) and item.parent.nodeid not in self.before:
            self.before[item.parent.nodeid] = lab_snapshot()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item, nextitem):
        result = yield          # nbval stops the notebook's kernel in this teardown when the notebook ends
        if _is_cell(item) and (nextitem is None or nextitem.parent is not item.parent):
            before = self.before.pop(item.parent.nodeid, None)
            if before is not None:
                from client_helpers import eventually
                code = code_of(item.parent.nb)
                left = {}

                def clean() -> bool:
                    left.update(ours(code, before))
                    return not any(left.values())

                try:
                    eventually(clean, timeout=10, what=f"{item.path.name} leaving none of its own calls, "
                                                       "bridges or recordings in the lab")
                except pytest.fail.Exception as e:
                    raise AssertionError(f"{item.path.name} left {left}") from e
        return result
