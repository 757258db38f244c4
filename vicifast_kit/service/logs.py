"""Structured logs of a service: one JSON object per line, each with the app, the instance and the call's id.

Every record gets the same keys: ``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``,
``app``, ``instance``, ``call`` (the channel id of the call it is about, or null), ``event`` (what
happened: started, call_started, call_ended, handed_back, draining, stopped, ... or "log" for a plain
line) and ``message``; then the event's own fields (outcome, seconds, resumed, how, ...), and ``error``
and ``traceback`` when an exception is logged. A line written on a call's thread (the handler's own
``logging`` or ``call.log`` lines, the kit's warnings) carries that call's id.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from typing import IO, Any, Callable

from .app import current_call

#: The keys every line has, in this order.
KEYS = ("time", "level", "logger", "app", "instance", "call", "event", "message")


class JsonFormatter(logging.Formatter):
    """Formats a log record as one line of JSON (see the module's docstring for the keys)."""

    def __init__(self, app: str = "", instance: str = "") -> None:
        super().__init__()
        self.app = app
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line (no newline inside: a traceback is one escaped string)."""
        fields: dict[str, Any] = dict(getattr(record, "service", None) or {})
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        line: dict[str, Any] = {
            "time": stamp, "level": record.levelname.lower(), "logger": record.name,
            "app": fields.pop("app", None) or self.app, "instance": fields.pop("instance", None) or self.instance,
            "call": fields.pop("call", None) or current_call.get(), "event": fields.pop("event", None) or "log",
            "message": record.getMessage()}
        fields.pop("message", None)
        line.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error"] = f"{type(error).__name__}: {error}"
            line["traceback"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(app: str, instance: str, stream: IO[str] | None = None, level: int | str = logging.INFO
              ) -> Callable[[], None]:
    """Send every log record of this process to stream (stdout) as JSON lines instead; returns the function that undoes it."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter(app, instance))
    root = logging.getLogger()
    before, before_level = list(root.handlers), root.level
    for old in before:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)

    def undo() -> None:
        root.removeHandler(handler)
        for old in before:
            root.addHandler(old)
        root.setLevel(before_level)
    return undo
