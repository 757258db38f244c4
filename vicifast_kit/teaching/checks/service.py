"""Notebook 12's check: a `vicifast-kit load` command line, run for real against the served IVR."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Sequence

from .. import blank


def check_load_command(command: Sequence[object], callers: int = 20) -> str:
    """Run `command` (vicifast-kit load ... --json) and say in one line whether it loaded the IVR as asked."""
    if blank(list(command)):
        return "Fill in the blanks (...) of command first: the file, how many callers, which key."
    if not command or command[0] != "vicifast-kit" or "load" not in command or "--json" not in command:
        return "command should start with \"vicifast-kit\", \"load\" and keep \"--json\" (the check reads its figures)."
    try:
        run = subprocess.run([sys.executable, "-m", "vicifast_kit.cli", *map(str, command[1:])],
                             capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "The load ran for more than 5 minutes: how many callers, at which rate?"
    if run.returncode != 0:
        lines = (run.stderr or run.stdout).strip().splitlines()
        return f"The command failed: {lines[-1] if lines else 'exit code ' + str(run.returncode)}"
    try:
        figures = json.loads(run.stdout)
    except ValueError:
        return "The command printed no JSON figures: keep --json."
    if figures["callers"] != callers:
        return f"It placed {figures['callers']} callers, not {callers}: check --callers."
    if figures["handled"] != callers:
        return f"{figures['handled']} of {callers} callers were handled: do they press 1 (--dtmf)?"
    return (f"Well done: {figures['callers']} callers into {figures['app']}, {figures['handled']} handled, "
            f"{len(figures['handled_twice'])} handled twice.")
