"""The notebook series as a whole: its shape, its exercises, no secret shown, nothing of its own left in the lab.

(pytest --nbval also re-runs each notebook and compares its outputs with the stored ones.)
"""

import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from vicifast_kit import settings
from vicifast_kit.lab import probes

HERE = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
CLEAN = "{'channels': 0, 'bridges': 0, 'recordings': 0}"
#: Dialplan contexts only notebook 01 sends calls to (docker/asterisk/extensions.conf).
AMI_CONTEXTS = ("ami-lobby", "ami-menu", "agi-menu")


def read(path: Path):
    return nbformat.read(path, as_version=4)


def code_of(notebook) -> str:
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "code")


def test_the_series_is_numbered_and_each_notebook_says_what_you_will_learn_and_need():
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(len(NOTEBOOKS))]
    for path in NOTEBOOKS:
        first = read(path).cells[0]
        assert first.cell_type == "markdown", path.name
        assert "What you will learn" in first.source and "What you need" in first.source, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_each_notebook_has_the_shape_of_a_cookbook_chapter(path):
    """Time and prerequisites on top; a summary, docs.asterisk.org links and previous/next links at the end."""
    cells = read(path).cells
    first, index = cells[0].source, NOTEBOOKS.index(path)
    assert re.search(r"\*\*Time:\*\* about \d+ minutes", first), f"{path.name}: no '**Time:** about N minutes'"
    if index > 0:    # prerequisites link to earlier notebooks
        need = first[first.index("What you need"):]
        assert re.search(r"\]\(0\d_[\w]+\.ipynb\)", need), f"{path.name}: 'What you need' links no earlier notebook"
    markdown = [c.source for c in cells if c.cell_type == "markdown"]
    assert any(re.search(r"^## Summary", m, re.M) for m in markdown), f"{path.name}: no '## Summary'"
    assert any("Learn more" in m and "https://docs.asterisk.org/" in m for m in markdown), \
        f"{path.name}: no 'Learn more' with docs.asterisk.org pages"
    last = cells[-1]
    assert last.cell_type == "markdown" and "Previous" in last.source, f"{path.name}: the last cell is not the navigation"
    neighbours = [NOTEBOOKS[i].name for i in (index - 1, index + 1) if 0 <= i < len(NOTEBOOKS)]
    for name in neighbours:
        assert f"]({name})" in last.source, f"{path.name}: the navigation does not link {name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_exercises_have_blanks_a_check_and_a_hidden_solution(path):
    """Each solution cell is collapsed, announced as hidden, follows an exercise with blanks and its check, and
    is followed by a second check."""
    cells = read(path).cells
    solutions = [i for i, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])]
    if any(c.cell_type == "markdown" and re.search(r"^## Try it", c.source, re.M) for c in cells):
        assert solutions, f"{path.name}: a 'Try it' section without a hidden solution"
    for i in solutions:
        cell = cells[i]
        assert cell.cell_type == "code" and cell.metadata.get("jupyter", {}).get("source_hidden") is True, \
            f"{path.name} cell {i}: the solution is not collapsed"
        assert "..." not in cell.source, f"{path.name} cell {i}: the solution still has blanks"
        assert cells[i - 1].cell_type == "markdown" and "hidden" in cells[i - 1].source, \
            f"{path.name} cell {i}: no note that the solution is hidden below"
        before = [c for c in cells[:i - 1] if c.cell_type == "code"]
        assert len(before) >= 2 and "..." in before[-2].source, f"{path.name} cell {i}: no exercise with blanks before"
        after = cells[i + 1] if i + 1 < len(cells) else None
        assert after is not None and after.cell_type == "code", f"{path.name} cell {i}: no check after the solution"
        for check in (before[-1], after):   # each check prints one line for every outcome, never raises
            assert not any(o.get("output_type") == "error" for o in check.get("outputs", [])), \
                f"{path.name}: a check cell stored an error"
        assert "Well done" in "".join(o.get("text", "") for o in after.get("outputs", [])), \
            f"{path.name} cell {i + 1}: the stored check after the solution does not say 'Well done'"


def test_no_stored_output_shows_a_password_or_an_api_key():
    values = settings.lab_values()
    secrets = {values[name] for name in settings.SECRET_NAMES} | {"api_key"}
    for path in NOTEBOOKS:
        for cell in read(path).cells:
            for output in cell.get("outputs", []):
                text = str(output.get("text", "")) + str(output.get("data", {}))
                assert not [s for s in secrets if s in text], f"{path.name} shows a secret"


def test_each_leftover_check_counts_only_what_its_notebook_made():
    """The clean-up asks vk.lab.leftovers(ari): a lab holding other people's calls never fails a learner."""
    for path in NOTEBOOKS:
        code = code_of(read(path))
        assert "leftovers(ari" in code, f"{path.name}: its leftover check is not scoped to its client"
        assert not re.search(r"leftovers\(\s*(timeout=[^)]*)?\)", code), f"{path.name}: a lab-wide leftovers() call"


def _ours(notebook, before: dict) -> dict[str, list[str]]:
    """What is in the lab now that this notebook made: its apps' channels, its named bridges and recordings."""
    code = code_of(notebook)
    apps = set(re.findall(r'\bapp="([\w.-]+)"', code))
    get = probes.lab_getter()
    def mine(channel: dict) -> bool:
        dialplan = channel.get("dialplan") or {}
        if dialplan.get("context") in AMI_CONTEXTS:
            return "dialplan_caller" in code
        return dialplan.get("app_name") == "Stasis" and (dialplan.get("app_data") or "").split(",")[0] in apps

    channels = [c for c in get("/channels") if mine(c)]
    bridges = [b for b in get("/bridges") if b["id"] not in before["bridges"] and b.get("name")
               and f'"{b["name"]}"' in code]
    recordings = [r for r in get("/recordings/stored") if r["name"] not in before["recordings"]
                  and f'"{r["name"]}"' in code]
    return {"channels": [c["name"] for c in channels], "bridges": [b["name"] for b in bridges],
            "recordings": [r["name"] for r in recordings]}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_running_a_notebook_leaves_nothing_of_its_own_in_the_lab(path):
    """Run top to bottom: its own check says clean, and no call, bridge or recording of its own is left.

    Other people's calls (the lab is shared) are neither counted nor touched."""
    get = probes.lab_getter()
    before = {"bridges": {b["id"] for b in get("/bridges")}, "recordings": {r["name"] for r in get("/recordings/stored")}}
    notebook = read(path)
    started = time.monotonic()
    NotebookClient(notebook, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    check = next(c for c in reversed(notebook.cells) if c.cell_type == "code" and "leftovers(ari" in c.source)
    said = "".join(o.get("text", "") for o in check.get("outputs", []))
    assert CLEAN in said, f"{path.name}'s own leftover check said: {said.strip()}"
    deadline = time.monotonic() + 10
    while any((left := _ours(notebook, before)).values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(left.values()), f"{path.name} left {left}"
    print(f"{path.name} ran in {time.monotonic() - started:.0f} s")
