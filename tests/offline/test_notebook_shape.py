"""The notebook series' shape, read from the files (no lab): numbered, each a cookbook chapter, real exercises,
leftover checks scoped to the notebook's own client.

(Running them is nbval's part, against the lab: ``pytest notebooks``; tests/notebook_leftovers.py checks that
each leaves nothing of its own there.)
"""

import re
from pathlib import Path

import nbformat
import pytest

HERE = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))


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
def test_exercises_have_blanks_a_check_and_a_solution_out_of_sight(path):
    """Each solution lives in notebooks/solutions/ (never in plain view, on GitHub or nbviewer either), is run by a
    `%run -i` cell announced and linked just above it, follows an exercise with blanks and its check, and is
    followed by a second check that stored 'Well done' (so CI runs every solution)."""
    cells = read(path).cells
    solutions = [i for i, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])]
    if any(c.cell_type == "markdown" and re.search(r"^## Try it", c.source, re.M) for c in cells):
        assert solutions, f"{path.name}: a 'Try it' section without a solution"
    for i in solutions:
        cell = cells[i]
        # ({home}/: a notebook that works in a folder of its own names the notebooks' folder; IPython expands it)
        run = re.fullmatch(r"%run -i (?:\{home\}/)?(solutions/[\w.-]+\.py)", cell.source.strip())
        assert cell.cell_type == "code" and run, f"{path.name} cell {i}: a solution cell shows more than `%run -i solutions/...`"
        file = HERE / run.group(1)
        assert file.is_file(), f"{path.name} cell {i}: {run.group(1)} does not exist"
        assert "..." not in file.read_text(), f"{path.name}: {run.group(1)} still has blanks"
        assert cells[i - 1].cell_type == "markdown" and f"]({run.group(1)})" in cells[i - 1].source, \
            f"{path.name} cell {i}: the cell above does not link the solution's file"
        before = [c for c in cells[:i - 1] if c.cell_type == "code"]
        assert len(before) >= 2 and "..." in before[-2].source, f"{path.name} cell {i}: no exercise with blanks before"
        after = cells[i + 1] if i + 1 < len(cells) else None
        assert after is not None and after.cell_type == "code", f"{path.name} cell {i}: no check after the solution"
        for check in (before[-1], after):   # each check prints one line for every outcome, never raises
            assert not any(o.get("output_type") == "error" for o in check.get("outputs", [])), \
                f"{path.name}: a check cell stored an error"
        assert "Well done" in "".join(o.get("text", "") for o in after.get("outputs", [])), \
            f"{path.name} cell {i + 1}: the stored check after the solution does not say 'Well done'"


def test_no_solution_is_in_plain_view_and_no_test_marker_in_a_learners_cell():
    """nbval's markers are cell tags (nbval-ignore-output), not comments a learner reads; no solution's code is
    stored in a notebook (only in notebooks/solutions/)."""
    for path in NOTEBOOKS:
        for cell in read(path).cells:
            assert "NBVAL_" not in cell.source, f"{path.name}: an NBVAL comment in a learner's cell"
            assert not cell.metadata.get("jupyter", {}).get("source_hidden"), \
                f"{path.name}: a hidden cell (hidden only in JupyterLab; in plain view on GitHub)"


def test_each_leftover_check_counts_only_what_its_notebook_made():
    """The clean-up asks vk.lab.leftovers(ari): a lab holding other people's calls never fails a learner."""
    for path in NOTEBOOKS:
        code = code_of(read(path))
        assert "leftovers(ari" in code, f"{path.name}: its leftover check is not scoped to its client"
        assert not re.search(r"leftovers\(\s*(timeout=[^)]*)?\)", code), f"{path.name}: a lab-wide leftovers() call"
