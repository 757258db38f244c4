"""Times the notebooks at a learner's pace, and checks that a reader who pauses between cells sees the stored outputs.

A learner reads every cell before running the next one: the markdown, the code, and what the cell before printed
(audio players are listened to for their length; a picture or a widget is looked at for ``--look`` seconds). This
tool runs a notebook top to bottom the same way, through nbval (the same comparison as ``scripts/test``, with
``notebooks/nbval_sanitize.cfg``; cells tagged ``nbval-ignore-output`` are run, not compared; ``nbval-skip``
cells are not run, only read):

- before each code cell it computes the reading time since the cell before (words at ``--wpm``, 130 a minute by
  default, plus the outputs after it) and really sleeps part of it: at least ``--min-pause`` (10 s), at most
  ``--cap`` (15 s). The rest of the reading time is added arithmetically, not slept, to keep a run short; the
  output says so.
- the exercise (a notebook with a ``## Try it`` section) adds ``--think`` minutes (3) to read the task and decide,
  plus ``--per-line`` minutes (0.5) per line of its solution file in notebooks/solutions/ (write, run, fix).
- it prints, per notebook: cells, execution s (the cells' own run times), reading s, exercise s, the total in
  minutes, what it slept, and which cells' outputs differed from the stored ones (cell numbers count every cell
  of the notebook from 1, as a reader scrolls; "code cell" counts code cells from 0, as nbval names them).

Run all the notebooks at once (they are independent; ``--jobs`` limits how many run together):

    .venv/bin/python bench/notebook_pace.py                         # every notebooks/NN_*.ipynb, in parallel
    .venv/bin/python bench/notebook_pace.py notebooks/08_hearing_and_speaking.ipynb --json pace.json
    .venv/bin/python bench/notebook_pace.py --markdown              # also the rows for notebooks/README.md

Each notebook runs as ``pytest NOTEBOOK -p notebook_pace`` (this file is also that pytest plugin), so its
execution times are those of the whole run with the others beside it on the same cores; the lab must be up.
Not a test (tests/test_notebook_pace.py runs notebook 08 with real pauses and asserts its outputs are the
stored ones; tests/offline/test_notebook_pace.py checks the arithmetic).
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
SANITIZER = NOTEBOOKS / "nbval_sanitize.cfg"

WPM = 130.0             # words a minute, markdown and code alike
LOOK = 10.0             # seconds to look at a picture or a widget
MAX_OUTPUT_WORDS = 250  # an output longer than this is skimmed: read as if it had this many words
CAP = 15.0              # the longest pause slept before a cell (the rest of its reading time is added, not slept)
MIN_PAUSE = 10.0        # the shortest pause slept before a cell (a reader never runs two cells back to back)
THINK = 3.0             # minutes to read an exercise and decide what to write
PER_LINE = 0.5          # minutes per line of the exercise's solution (write it, run it, fix it)

_URL = re.compile(r"\]\([^)]*\)|https?://\S+")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img\b[^>]*>", re.I)
_WORD = re.compile(r"\w+(?:'\w+)?")
_HIDDEN_HTML = re.compile(r"<(style|script)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
_AUDIO = re.compile(r"data:audio/wav;base64,([A-Za-z0-9+/=]+)")
_WIDGET = "application/vnd.jupyter.widget-view+json"
_PICTURES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")


def words(text: str) -> int:
    """How many words a reader reads in a text: link targets and URLs are not read, identifiers count once."""
    return len(_WORD.findall(_URL.sub("]", text)))


def markdown_seconds(source: str, wpm: float = WPM, look: float = LOOK) -> float:
    """Seconds to read a markdown cell: its words at `wpm`, and `look` seconds for each picture in it."""
    pictures = len(_IMAGE.findall(source))
    return words(_IMAGE.sub(" ", source)) * 60.0 / wpm + pictures * look


def code_seconds(source: str, wpm: float = WPM) -> float:
    """Seconds to read a code cell's source (comments included) at `wpm`."""
    return words(source) * 60.0 / wpm


def wav_seconds(data: bytes) -> float:
    """The length of a WAV file's audio, in seconds (0 if it is not a WAV file Python can read)."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            return w.getnframes() / float(w.getframerate())
    except (wave.Error, EOFError, ValueError):
        return 0.0


def html_text(markup: str) -> str:
    """The text a reader sees in HTML: no tags, no style or script, entities decoded."""
    return html.unescape(_TAG.sub(" ", _HIDDEN_HTML.sub(" ", markup)))


def output_seconds(output: dict, wpm: float = WPM, look: float = LOOK, max_words: int = MAX_OUTPUT_WORDS) -> float:
    """Seconds to take in one output: its text read (at most `max_words`), its audio heard, a picture or widget seen."""
    kind = output.get("output_type")
    if kind == "stream":
        return min(words(output.get("text", "")), max_words) * 60.0 / wpm
    if kind == "error":
        return min(words(f"{output.get('ename', '')} {output.get('evalue', '')}"), max_words) * 60.0 / wpm
    data = output.get("data", {})
    seconds = 0.0
    if _WIDGET in data:
        return look
    if "text/html" in data:
        markup = "".join(data["text/html"]) if isinstance(data["text/html"], list) else data["text/html"]
        for encoded in _AUDIO.findall(markup):
            seconds += wav_seconds(base64.b64decode(encoded))
        seconds += min(words(html_text(markup)), max_words) * 60.0 / wpm
        if "<svg" in markup or "<img" in markup:
            seconds += look
        return seconds
    if any(kind in data for kind in _PICTURES):
        return look
    for kind in ("text/markdown", "text/plain"):
        if kind in data:
            text = "".join(data[kind]) if isinstance(data[kind], list) else data[kind]
            return min(words(text), max_words) * 60.0 / wpm
    return 0.0


@dataclass
class Plan:
    """A notebook's reading, computed from the file: what a reader reads before each code cell, and after the last."""

    before: list[float]          # seconds read before code cell i (markdown since the code cell before, its outputs, the cell's code)
    after: float                 # seconds read after the last code cell (its outputs, the closing markdown)
    exercise: float              # seconds to do the exercise
    code_cells: list[int]        # the notebook's index of each code cell
    cells: int                   # all cells

    @property
    def reading(self) -> float:
        """All the reading, in seconds."""
        return sum(self.before) + self.after


def solution_lines(notebook, folder: Path) -> int:
    """Lines (not blank, not comments) of the exercise's solution file, read from the notebook's `%run -i` cell."""
    for cell in notebook.cells:
        if "solution" in cell.metadata.get("tags", []):
            found = re.search(r"%run -i (\S+\.py)", cell.source)
            if found and (folder / found.group(1)).is_file():
                text = (folder / found.group(1)).read_text()
                return sum(1 for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))
    return 0


def exercise_seconds(notebook, folder: Path, think: float = THINK, per_line: float = PER_LINE) -> float:
    """Seconds to do a notebook's exercise: `think` minutes, plus `per_line` minutes per line of its solution."""
    has_exercise = any(c.cell_type == "markdown" and re.search(r"^## Try it", c.source, re.M) for c in notebook.cells)
    if not has_exercise:
        return 0.0
    return 60.0 * (think + per_line * solution_lines(notebook, folder))


def plan(notebook, folder: Path = NOTEBOOKS, wpm: float = WPM, look: float = LOOK, max_words: int = MAX_OUTPUT_WORDS,
         think: float = THINK, per_line: float = PER_LINE) -> Plan:
    """A notebook's reading plan, from its cells and stored outputs (the reader reads what a cell printed before going on)."""
    before, code_cells, pending = [], [], 0.0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            pending += markdown_seconds(cell.source, wpm, look)
        elif cell.cell_type == "code":
            before.append(pending + code_seconds(cell.source, wpm))
            code_cells.append(index)
            pending = sum(output_seconds(o, wpm, look, max_words) for o in cell.get("outputs", []))
    return Plan(before=before, after=pending, exercise=exercise_seconds(notebook, folder, think, per_line),
                code_cells=code_cells, cells=len(notebook.cells))


def pause(reading: float, min_pause: float = MIN_PAUSE, cap: float = CAP) -> float:
    """What is slept before a cell whose reading takes `reading` seconds: at least `min_pause`, at most `cap`."""
    return min(cap, max(min_pause, reading))


def minutes(seconds: float) -> int:
    """A total as the notebooks state it, "about N minutes": to the nearest 5 minutes (at least 5)."""
    return max(5, int(5 * math.floor(seconds / 300.0 + 0.5)))


# -- the pytest plugin (``pytest NOTEBOOK -p notebook_pace``, with this folder on PYTHONPATH) -----------------------

@dataclass
class CellResult:
    """One code cell as the paced run saw it."""

    code_cell: int
    cell: int                    # 1-based among all the notebook's cells
    reading: float
    slept: float
    execution: float = 0.0
    outcome: str = ""            # passed, failed, skipped
    differed: bool = False       # failed because its outputs differ from the stored ones
    message: str = ""


@dataclass
class Result:
    """A notebook's paced run."""

    notebook: str
    cells: int
    code_cells: int
    execution: float
    reading: float
    exercise: float
    slept: float
    wpm: float
    min_pause: float
    cap: float
    results: list[CellResult] = field(default_factory=list)

    @property
    def total(self) -> float:
        """Execution, reading and the exercise, in seconds."""
        return self.execution + self.reading + self.exercise

    @property
    def differed(self) -> list[CellResult]:
        """The cells whose outputs differed from the stored ones."""
        return [r for r in self.results if r.differed]

    @property
    def errors(self) -> list[CellResult]:
        """The cells that failed for another reason (an exception, a timeout)."""
        return [r for r in self.results if r.outcome == "failed" and not r.differed]

    def to_dict(self) -> dict:
        """Plain data (for --json)."""
        return {**asdict(self), "total": self.total, "minutes": minutes(self.total),
                "differed": [r.cell for r in self.differed], "errors": [r.cell for r in self.errors]}

    @classmethod
    def from_dict(cls, data: dict) -> "Result":
        """The inverse of to_dict."""
        names = {f for f in cls.__dataclass_fields__}
        result = cls(**{k: v for k, v in data.items() if k in names and k != "results"})
        result.results = [CellResult(**r) for r in data.get("results", [])]
        return result


def pytest_addoption(parser):
    """The pace's settings."""
    group = parser.getgroup("notebook_pace", "run notebooks at a reader's pace")
    group.addoption("--pace-wpm", type=float, default=WPM, help="reading speed, words a minute")
    group.addoption("--pace-cap", type=float, default=CAP, help="longest pause slept before a cell, s")
    group.addoption("--pace-min-pause", type=float, default=MIN_PAUSE, help="shortest pause slept before a cell, s")
    group.addoption("--pace-think", type=float, default=THINK, help="minutes to read the exercise and decide")
    group.addoption("--pace-per-line", type=float, default=PER_LINE, help="minutes per line of the exercise's solution")
    group.addoption("--pace-report", default=None, help="write the result as JSON to this file")


def pytest_configure(config):
    """Registers the pace (one per run)."""
    config.pluginmanager.register(Pace(config), "notebook-pace-run")


class Pace:
    """Sleeps a reader's pause before each notebook cell nbval runs, and records what each cell did."""

    def __init__(self, config):
        self.config = config
        option = config.option
        self.wpm, self.cap, self.min_pause = option.pace_wpm, option.pace_cap, option.pace_min_pause
        self.think, self.per_line = option.pace_think, option.pace_per_line
        self.report = option.pace_report
        self.plans: dict[str, Plan] = {}
        self.results: dict[str, Result] = {}
        self.cells: dict[str, tuple[CellResult, Result]] = {}

    def _plan(self, item) -> tuple[Plan, Result]:
        path = Path(str(item.path))
        key = str(path)
        if key not in self.plans:
            notebook = nbformat.read(path, as_version=4)
            self.plans[key] = plan(notebook, path.parent, self.wpm, think=self.think, per_line=self.per_line)
            p = self.plans[key]
            self.results[key] = Result(notebook=path.name, cells=p.cells, code_cells=len(p.code_cells), execution=0.0,
                                       reading=p.reading, exercise=p.exercise, slept=0.0, wpm=self.wpm,
                                       min_pause=self.min_pause, cap=self.cap)
        return self.plans[key], self.results[key]

    def _pace(self, item):
        """The cell's place in the plan, and the pause before it (none for a cell nbval skips)."""
        if not hasattr(item, "cell_num") or not hasattr(item, "cell"):
            return None
        p, result = self._plan(item)
        number = item.cell_num
        reading = p.before[number] if number < len(p.before) else 0.0
        skipped = bool(getattr(item, "options", {}).get("skip"))
        cell = CellResult(code_cell=number, cell=p.code_cells[number] + 1 if number < len(p.code_cells) else 0,
                          reading=reading, slept=0.0 if skipped else pause(reading, self.min_pause, self.cap))
        self.cells[item.nodeid] = (cell, result)
        result.results.append(cell)
        return cell

    def pytest_runtest_setup(self, item):
        """After nbval's own setup (the kernel started for the first cell), the reader pauses."""
        cell = self._pace(item)
        if cell is not None and cell.slept:
            time.sleep(cell.slept)          # the point: a reader between two cells
            self.cells[item.nodeid][1].slept += cell.slept

    def pytest_runtest_logreport(self, report):
        """Each cell's run time and outcome."""
        if report.nodeid not in self.cells:
            return
        cell, result = self.cells[report.nodeid]
        if report.when == "call":
            cell.execution = report.duration
            result.execution += report.duration
        if report.failed:
            text = str(report.longrepr)
            cell.outcome = "failed"
            cell.differed = cell.differed or "Cell outputs differ" in text
            cell.message = cell.message or _first_line(text)
        elif report.skipped and cell.outcome != "failed":
            cell.outcome = "skipped"
        elif report.when == "call" and not cell.outcome:
            cell.outcome = "passed"

    def pytest_sessionfinish(self, session):
        """Writes the result (--pace-report) and prints it."""
        for result in self.results.values():
            if self.report:
                Path(self.report).write_text(json.dumps(result.to_dict(), indent=1))

    def pytest_terminal_summary(self, terminalreporter):
        """One table per run, at the end of pytest's output."""
        for result in self.results.values():
            terminalreporter.write_line(table([result]))


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(text: str) -> str:
    """The line of a failure that says what went wrong: outputs that differ, or the exception raised."""
    lines = [line.strip() for line in _ANSI.sub("", text).splitlines() if line.strip()]
    for line in lines:
        if "Cell outputs differ" in line:
            return line[:200]
    found = [line for line in lines if re.match(r"(E\s+)?[\w.]*(Error|Exception|Timeout|Exit)\b.*:", line)]
    return (found[-1] if found else lines[-1] if lines else "")[:200]


# -- the driver -----------------------------------------------------------------------------------------------------

def table(results: list[Result]) -> str:
    """The results as a plain table, with the note on what was slept and what was added."""
    lines = [f"{'notebook':40} {'cells':>5} {'run s':>6} {'read s':>7} {'exer s':>7} {'total':>8} "
             f"{'slept s':>8}  outputs differed (cell numbers)"]
    for r in results:
        differed = ", ".join(str(c.cell) for c in r.differed) or "none"
        if r.errors:
            differed += "; errors in " + ", ".join(str(c.cell) for c in r.errors)
        lines.append(f"{r.notebook[:40]:40} {r.cells:>5} {r.execution:>6.0f} {r.reading:>7.0f} {r.exercise:>7.0f} "
                     f"{r.total / 60:>6.1f} m {r.slept:>8.0f}  {differed}")
    for r in results:
        for c in r.differed + r.errors:
            lines.append(f"  {r.notebook[:2]} cell {c.cell} (code cell {c.code_cell}): {c.message}")
    if results:
        r = results[0]
        lines.append(f"Reading at {r.wpm:g} words a minute (outputs included, audio for its length); slept "
                     f"{r.min_pause:g}-{r.cap:g} s before each code cell, the rest of its reading time added, not slept. "
                     f"Total = run + reading + exercise.")
    return "\n".join(lines)


def markdown_rows(results: list[Result]) -> str:
    """The measured times as markdown rows for notebooks/README.md."""
    rows = ["| notebook | cells | run | reading | exercise | total | about |", "|---|---|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| {r.notebook[:2]} | {r.cells} | {r.execution / 60:.1f} min | {r.reading / 60:.1f} min | "
                    f"{r.exercise / 60:.1f} min | {r.total / 60:.1f} min | {minutes(r.total)} min |")
    return "\n".join(rows)


def command(notebook: Path, report: Path, args) -> list[str]:
    """The pytest command that runs one notebook at a reader's pace."""
    return [sys.executable, "-m", "pytest", str(notebook), "-q", "-p", "no:cacheprovider", "-o", "addopts=",
            "--nbval", "--nbval-current-env", f"--nbval-sanitize-with={SANITIZER}", "-p", "notebook_pace",
            f"--pace-wpm={args.wpm}", f"--pace-cap={args.cap}", f"--pace-min-pause={args.min_pause}",
            f"--pace-think={args.think}", f"--pace-per-line={args.per_line}", f"--pace-report={report}",
            "-o", f"timeout={args.timeout}"]


def environment() -> dict:
    """This folder on PYTHONPATH, so pytest finds the plugin."""
    here = str(Path(__file__).resolve().parent)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": here + (os.pathsep + path if path else "")}


def run(notebooks: list[Path], args) -> list[Result]:
    """Runs the notebooks, at most `args.jobs` at once, and returns their results in the order given."""
    results: dict[Path, Result] = {}
    with tempfile.TemporaryDirectory(prefix="notebook-pace-") as folder:
        waiting = list(notebooks)
        running: dict[Path, tuple[subprocess.Popen, Path, Path]] = {}
        while waiting or running:
            while waiting and len(running) < args.jobs:
                notebook = waiting.pop(0)
                report, log = Path(folder) / f"{notebook.stem}.json", Path(folder) / f"{notebook.stem}.log"
                with open(log, "w") as out:
                    process = subprocess.Popen(command(notebook, report, args), cwd=REPO, env=environment(),
                                               stdout=out, stderr=subprocess.STDOUT)
                running[notebook] = (process, report, log)
                print(f"started {notebook.name}", flush=True)
            for notebook, (process, report, log) in list(running.items()):
                if process.poll() is None:
                    continue
                del running[notebook]
                if report.is_file():
                    results[notebook] = Result.from_dict(json.loads(report.read_text()))
                    print(f"finished {notebook.name}: {results[notebook].total / 60:.1f} min", flush=True)
                else:
                    print(f"{notebook.name}: no result (pytest exited {process.returncode}); its output ends:\n"
                          + log.read_text()[-2000:], flush=True)
                if args.logs:
                    Path(args.logs).mkdir(parents=True, exist_ok=True)
                    (Path(args.logs) / log.name).write_text(log.read_text())
            if running:
                time.sleep(1.0)      # polling the child processes, not a test
    return [results[n] for n in notebooks if n in results]


def set_time_line(path: Path, minutes_: int) -> bool:
    """Writes "about N minutes" into a notebook's "**Time:**" line (first cell), changing nothing else in the file."""
    raw = path.read_text()
    first = json.loads(raw)["cells"][0]
    source = "".join(first["source"]) if isinstance(first["source"], list) else first["source"]
    found = re.search(r"\*\*Time:\*\* about (\d+) minutes", source)
    if found is None:
        raise ValueError(f"{path.name}: no '**Time:** about N minutes' in the first cell")
    if int(found.group(1)) == minutes_:
        return False
    old = found.group(0)
    new = f"**Time:** about {minutes_} minutes"
    if raw.count(json.dumps(old)[1:-1]) != 1:
        raise ValueError(f"{path.name}: '{old}' is not once in the file")
    edited = raw.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1], 1)
    before, after = json.loads(raw), json.loads(edited)
    before["cells"][0]["source"] = None
    after["cells"][0]["source"] = None
    assert before == after, "only the first cell's source may change"
    path.write_text(edited)
    return True


def main(argv: list[str] | None = None) -> int:
    """The command line: run notebooks at a reader's pace and print what it took."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: every notebooks/NN_*.ipynb)")
    parser.add_argument("--wpm", type=float, default=WPM, help=f"reading speed, words a minute ({WPM:g})")
    parser.add_argument("--cap", type=float, default=CAP, help=f"longest pause slept before a cell, s ({CAP:g})")
    parser.add_argument("--min-pause", type=float, default=MIN_PAUSE, help=f"shortest pause slept, s ({MIN_PAUSE:g})")
    parser.add_argument("--think", type=float, default=THINK, help=f"minutes to read the exercise and decide ({THINK:g})")
    parser.add_argument("--per-line", type=float, default=PER_LINE, help=f"minutes per solution line ({PER_LINE:g})")
    parser.add_argument("--jobs", type=int, default=0, help="notebooks run at once (default: all)")
    parser.add_argument("--timeout", type=int, default=600, help="pytest-timeout per cell, pause included, s (600)")
    parser.add_argument("--json", type=Path, help="write every result to this file")
    parser.add_argument("--logs", help="keep each notebook's pytest output in this folder")
    parser.add_argument("--markdown", action="store_true", help="also print markdown rows for notebooks/README.md")
    parser.add_argument("--plan", action="store_true", help="only print the reading plan (no lab, nothing run)")
    parser.add_argument("--write-times", action="store_true",
                        help="write each measured total into its notebook's '**Time:** about N minutes' line")
    args = parser.parse_args(argv)
    notebooks = [p.resolve() for p in args.notebooks] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    args.jobs = args.jobs or len(notebooks)
    if args.plan:
        for path in notebooks:
            p = plan(nbformat.read(path, as_version=4), path.parent, args.wpm, think=args.think, per_line=args.per_line)
            slept = sum(pause(b, args.min_pause, args.cap) for b in p.before)
            print(f"{path.name[:40]:40} cells {p.cells:>3}  reading {p.reading / 60:5.1f} min  exercise "
                  f"{p.exercise / 60:4.1f} min  would sleep {slept / 60:4.1f} min")
        return 0
    changed = [p.name for p in notebooks if subprocess.run(["git", "diff", "--quiet", "HEAD", "--", str(p)], cwd=REPO).returncode]
    if changed:
        print("Not as committed (their working copies are timed): " + ", ".join(changed), flush=True)
    started = time.monotonic()
    results = run(notebooks, args)
    print()
    print(table(results))
    print(f"{len(results)} notebooks in {time.monotonic() - started:.0f} s of wall-clock time, {args.jobs} at once.")
    if args.markdown:
        print()
        print(markdown_rows(results))
    if args.json:
        args.json.write_text(json.dumps([r.to_dict() for r in results], indent=1))
    if args.write_times:
        paths = {p.name: p for p in notebooks}
        for r in results:
            if set_time_line(paths[r.notebook], minutes(r.total)):
                print(f"{r.notebook}: **Time:** about {minutes(r.total)} minutes")
    missing = len(notebooks) - len(results)
    return 1 if missing or any(r.differed or r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
