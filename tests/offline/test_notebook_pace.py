"""bench/notebook_pace.py without the lab: the reading arithmetic, the Time line's edit, and the paced run on a small
notebook of plain Python (a real kernel under nbval: a changed output is reported by cell, an ignored one is not)."""

import base64
import importlib.util
import io
import json
import subprocess
import sys
import time
import wave
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

BENCH = Path(__file__).resolve().parents[2] / "bench"
spec = importlib.util.spec_from_file_location("notebook_pace", BENCH / "notebook_pace.py")
pace = importlib.util.module_from_spec(spec)
sys.modules["notebook_pace"] = pace
spec.loader.exec_module(pace)


def wav(seconds: float, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return out.getvalue()


def test_words_skip_link_targets_and_count_identifiers_once():
    assert pace.words("Read [the docs](https://docs.asterisk.org/x/y) now") == 4
    assert pace.words("ch.play(media='sound:hello-world')") == 6      # ch play media sound hello world
    assert pace.words("don't simulate_caller") == 2


def test_markdown_code_and_outputs_take_their_reading_time():
    assert pace.markdown_seconds("one two three " * 10, wpm=60) == pytest.approx(30)
    assert pace.markdown_seconds("![a picture](images/x.png)", wpm=60, look=10) == pytest.approx(10)
    assert pace.code_seconds("a = b + c", wpm=60) == pytest.approx(3)
    stream = new_output("stream", name="stdout", text="six words are printed right here\n")
    assert pace.output_seconds(stream, wpm=60) == pytest.approx(6)
    long = new_output("stream", name="stdout", text="word " * 1000)
    assert pace.output_seconds(long, wpm=60, max_words=100) == pytest.approx(100)    # skimmed
    player = f'<div><style>p {{ x: y }}</style>Caller<audio src="data:audio/wav;base64,{base64.b64encode(wav(2.5)).decode()}"></audio></div>'
    assert pace.output_seconds(new_output("display_data", data={"text/html": player}), wpm=60) == pytest.approx(3.5)
    widget = new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "w"})
    assert pace.output_seconds(widget, look=7) == 7


def notebook(tmp_path: Path, stored: str = "old\n") -> Path:
    cells = [
        new_markdown_cell("# A lesson\n\n**Time:** about 10 minutes. Take your time.\n\n" + "word " * 26),
        new_code_cell("print('hello')", outputs=[new_output("stream", name="stdout", text="hello\n")], execution_count=1),
        new_code_cell("import random; print(random.random())", execution_count=2,
                      outputs=[new_output("stream", name="stdout", text="0.5\n")], metadata={"tags": ["nbval-ignore-output"]}),
        new_markdown_cell("## Try it\n\nDecide."),
        new_code_cell("print('new')", outputs=[new_output("stream", name="stdout", text=stored)], execution_count=3),
        new_markdown_cell("The solution is in [solutions/x.py](solutions/x.py)."),
        new_code_cell("%run -i solutions/x.py", metadata={"tags": ["solution"]}, execution_count=4, outputs=[]),
        new_code_cell("raise SystemExit('never run')", metadata={"tags": ["nbval-skip"]}),
        new_markdown_cell("Previous / next"),
    ]
    path = tmp_path / "00_lesson.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "x.py").write_text("# a comment\nx = 1\n\ny = 2\n")
    return path


def test_the_plan_reads_what_comes_before_each_code_cell_and_adds_the_exercise(tmp_path):
    nb = nbformat.read(notebook(tmp_path), as_version=4)
    plan = pace.plan(nb, tmp_path, wpm=60, think=3, per_line=0.5)
    assert plan.code_cells == [1, 2, 4, 6, 7] and plan.cells == 9
    # first cell: the heading and text (1 + 6 + 26 words... as counted) and its code ("print hello")
    assert plan.before[0] == pytest.approx(pace.markdown_seconds(nb.cells[0].source, 60) + 2)
    assert plan.before[1] == pytest.approx(1 + pace.code_seconds(nb.cells[2].source, 60))   # "hello" read first
    assert plan.exercise == pytest.approx(60 * (3 + 0.5 * 2))          # two lines of solution, comment and blank not
    assert pace.pause(2, min_pause=10, cap=15) == 10 and pace.pause(100, 10, 15) == 15 and pace.pause(12, 10, 15) == 12
    assert pace.minutes(0) == 5 and pace.minutes(17 * 60) == 15 and pace.minutes(18 * 60) == 20


def test_the_time_line_is_the_only_change(tmp_path):
    path = notebook(tmp_path)
    before = path.read_text()
    assert pace.set_time_line(path, 35)
    after = path.read_text()
    assert "**Time:** about 35 minutes. Take your time." in "".join(json.loads(after)["cells"][0]["source"])
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert len(changed) == 1 and len(before.splitlines()) == len(after.splitlines())
    assert not pace.set_time_line(path, 35)     # already so: nothing written


def test_a_paced_run_reports_the_cell_whose_output_differs_and_not_the_ignored_one(tmp_path):
    path = notebook(tmp_path)
    report = tmp_path / "pace.json"
    args = pace.main.__globals__["argparse"].Namespace(wpm=600, cap=0.5, min_pause=0.2, think=3, per_line=0.5, timeout=120)
    started = time.monotonic()
    done = subprocess.run(pace.command(path, report, args), cwd=tmp_path, env=pace.environment(), capture_output=True,
                          text=True, timeout=180)
    took = time.monotonic() - started
    assert report.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    result = pace.Result.from_dict(json.loads(report.read_text()))
    assert [c.cell for c in result.differed] == [5]         # "old" stored, "new" printed; cell 3's random ignored
    assert not result.errors
    outcomes = {c.cell: c.outcome for c in result.results}
    assert outcomes == {2: "passed", 3: "passed", 5: "failed", 7: "passed", 8: "skipped"}
    plan = pace.plan(nbformat.read(path, as_version=4), tmp_path, wpm=600)
    slept = [pace.pause(b, min_pause=0.2, cap=0.5) for b in plan.before[:4]]      # none before the skipped cell
    assert [c.slept for c in result.results] == pytest.approx(slept + [0]) and result.slept == pytest.approx(sum(slept))
    assert took > result.slept + result.execution          # the pauses were slept, not only counted
    assert result.exercise == pytest.approx(240) and result.execution > 0
    assert "outputs differed" in pace.table([result]) and "5" in pace.table([result]).splitlines()[1]
