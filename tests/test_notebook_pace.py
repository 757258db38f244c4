"""Notebook 08 read at a reader's pace: 10-12 s between cells, as a learner pauses, and the outputs are still the stored ones.

A reader of 08 once met a caller whose sentence was over by the time the cell that hears it ran ("Loud enough to be
speech: False"); nbval, running the cells back to back, never saw it. This runs the notebook through
bench/notebook_pace.py (nbval with the same sanitizer, a real pause slept before each cell) and asserts that no
cell's output differs from the stored one and that the pauses were really slept. About 5 minutes.
"""

import importlib.util
import json
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("notebook_pace", REPO / "bench" / "notebook_pace.py")
pace = importlib.util.module_from_spec(spec)
sys.modules.setdefault("notebook_pace", pace)
spec.loader.exec_module(pace)

NOTEBOOK = REPO / "notebooks" / "08_hearing_and_speaking.ipynb"
MIN_PAUSE, CAP = 10.0, 12.0

pytestmark = pytest.mark.notebooks


@pytest.mark.timeout(900)
def test_notebook_08_gives_a_reader_who_pauses_the_stored_outputs(tmp_path):
    report = tmp_path / "pace.json"
    args = Namespace(wpm=pace.WPM, cap=CAP, min_pause=MIN_PAUSE, think=pace.THINK, per_line=pace.PER_LINE, timeout=600)
    started = time.monotonic()
    done = subprocess.run(pace.command(NOTEBOOK, report, args), cwd=REPO, env=pace.environment(), capture_output=True,
                          text=True, timeout=840)
    took = time.monotonic() - started
    assert report.is_file(), done.stdout[-4000:] + done.stderr[-2000:]
    result = pace.Result.from_dict(json.loads(report.read_text()))
    ran = [c for c in result.results if c.outcome != "skipped"]
    assert len(ran) >= 10 and all(MIN_PAUSE <= c.slept <= CAP for c in ran), [(c.cell, c.slept) for c in ran]
    assert took > result.slept >= MIN_PAUSE * len(ran)           # slept for real, between every two cells
    differed = {c.cell: c.message for c in result.differed + result.errors}
    assert not differed, f"cells whose outputs differ for a pausing reader (cell numbers from 1):\n{pace.table([result])}\n" \
                         + done.stdout[-6000:]
