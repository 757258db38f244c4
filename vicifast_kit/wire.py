"""The wire: what one client sends and receives, as ARI really carries it, and the same steps in curl.

``with ari.wire() as w:`` records, while the block runs, every REST request (method, path,
query, JSON body, status, answer, time taken) and every event that arrived (its JSON as
received), in order. ``w.requests``, ``w.events`` and ``w.entries`` are plain dicts; ``w.curl()``
gives the requests as curl command lines, ``w.http()`` as raw HTTP, ``w.websocket()`` the events
websocket as one command; in Jupyter ``w`` shows as a compact table whose rows open to their JSON.
A request or event that a kit helper made or used says which (``via="collect_digits"``): what
the kit adds on top of ARI is never mistaken for ARI.

Nothing secret is ever shown: passwords, ``api_key`` values, tokens and keys are masked, in the
entries and in everything made from them.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import html
import json
import logging
import re
import shlex
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterator
from urllib.parse import urlencode, urlsplit

from .settings import known_secrets

if TYPE_CHECKING:  # pragma: no cover
    from .client import ARIClient

log = logging.getLogger("vicifast_kit.wire")

MASK = "********"
#: Names whose values are secrets wherever they appear (query, body, channel variables).
SECRET_NAMES = re.compile(r"pass(word)?|secret|token|api_?key|hmac|authorization|signature|credential",
                          re.IGNORECASE)

_VIA: contextvars.ContextVar[str | None] = contextvars.ContextVar("vicifast_wire_via", default=None)
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()


@contextlib.contextmanager
def via(helper: str) -> Iterator[None]:
    """Mark what runs inside as made by a kit helper: its requests and the events it takes say ``via=helper``."""
    token = _VIA.set(_VIA.get() or helper)        # the outermost helper is the one the learner called
    try:
        yield
    finally:
        _VIA.reset(token)


def current_via() -> str | None:
    """The kit helper running now on this thread (None for the learner's own calls)."""
    return _VIA.get()


def register_secret(value: str | None) -> None:
    """Never show this value on the wire (a password, a token, a key), wherever it appears."""
    if value and len(value) >= 4:
        with _SECRETS_LOCK:
            _SECRETS.add(value)


def mask(value: Any, secrets: frozenset[str] | set[str] = frozenset()) -> Any:
    """A copy of a JSON value with every secret masked: values of secret-named keys, and known secret strings."""
    return _mask(value, secrets | _SECRETS)


def _mask(value: Any, known: frozenset[str] | set[str]) -> Any:
    if isinstance(value, dict):
        return {k: MASK if isinstance(k, str) and SECRET_NAMES.search(k) and v not in (None, "")
                else _mask(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, known) for v in value]
    if isinstance(value, str):
        for secret in known:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    return value


class Lines(list):
    """Command lines (curl, HTTP): print() shows them one after another, ready to paste."""

    def __str__(self) -> str:
        return "\n".join(self)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


def _clock(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).strftime("%H:%M:%S.%f")[:-3]


class Wire:
    """A recording of one client's traffic (see the module's docstring); the newest ``limit`` entries are kept."""

    def __init__(self, client: "ARIClient", limit: int = 2000,
                 on_stop: Callable[["Wire"], Any] | None = None) -> None:
        self.client = client
        self.limit = limit
        self._on_stop = on_stop          # the client's way to stop feeding this recording
        self._entries: collections.deque = collections.deque(maxlen=limit)
        self._by_seq: dict[int, dict] = {}
        self._lock = threading.Lock()
        self._count = 0
        #: Entries that did not fit in ``limit`` (the oldest go first).
        self.dropped = 0
        self.started = time.time()
        self.stopped: float | None = None
        self._watchers: list = []
        # The lab's passwords as far as they exist (read, never made); registered ones (register_secret) too.
        self._secrets: frozenset[str] = frozenset(s for s in known_secrets() if len(s) >= 4)

    # --- recording (the client calls these) -------------------------------------------------
    def _add(self, entry: dict) -> None:
        with self._lock:
            self._count += 1
            entry["n"] = self._count
            if len(self._entries) == self.limit:
                old = self._entries[0]
                self._by_seq.pop(old.get("seq"), None)
                self.dropped += 1
            self._entries.append(entry)
            if entry.get("seq") is not None:
                self._by_seq[entry["seq"]] = entry
        self._changed()
        if log.isEnabledFor(logging.DEBUG):      # masked, never the raw entry (a request: as it leaves)
            log.debug("wire %s", json.dumps(self._masked(entry), default=str)[:2000])

    def begin_request(self, method: str, path: str, template: str, params: dict | None, body: Any,
                      started: float) -> dict:
        """File a request as it leaves: it stands before the events it causes (masked when read, not here)."""
        entry = {"kind": "request", "time": started, "t": round(started - self.started, 3), "method": method,
                 "path": path, "template": template, "params": dict(params or {}),
                 "body": json.loads(json.dumps(body)) if isinstance(body, (dict, list)) else body,
                 "status": None, "response": None, "ms": None, "via": current_via()}
        self._add(entry)
        return entry

    def end_request(self, entry: dict, status: int, answer: Any, seconds: float) -> None:
        """Complete a request's entry with ARI's answer."""
        with self._lock:
            entry["response"] = f"<{len(answer)} bytes>" if isinstance(answer, bytes) else answer
            entry["ms"] = round(seconds * 1000, 1)
            entry["status"] = status
        self._changed()

    def record_event(self, raw: dict, seq: int, received: float) -> None:
        """File one event as it arrived (on the reader's thread: only an append; masked when read); seq is the hub's number."""
        self._add({"kind": "event", "time": received, "t": round(received - self.started, 3),
                   "type": raw.get("type", ""), "json": raw, "seq": seq, "via": None})

    def _changed(self) -> None:
        for watcher in self._watchers:           # cheap and on the caller's thread (the reader's, for events)
            watcher()

    def watch(self, fn: Callable[[], Any]) -> Callable[[], None]:
        """Call fn() (no arguments; it must be cheap: it runs on the reader's thread) after each new or completed entry; returns the remover."""
        self._watchers = self._watchers + [fn]

        def remove() -> None:
            self._watchers = [w for w in self._watchers if w is not fn]
        return remove

    def note_taken(self, seq: int, helper: str) -> None:
        """A kit helper used this event (e.g. collect_digits took a ChannelDtmfReceived)."""
        with self._lock:
            entry = self._by_seq.get(seq)
            if entry is None or entry["via"] is not None:
                return
            entry["via"] = helper
        self._changed()

    # --- what it recorded -------------------------------------------------------------------------
    def _masked(self, entry: dict) -> dict:
        masked = {k: v for k, v in entry.items() if k != "seq"}
        for key in ("path", "params", "body", "response", "json"):
            if key in masked:
                masked[key] = mask(masked[key], self._secrets)
        return masked

    @property
    def count(self) -> int:
        """How many entries were recorded so far (the dropped ones included): it grows with every request and event."""
        return self._count

    @property
    def entries(self) -> list[dict]:
        """Requests and events in the order they happened (plain dicts, secrets masked)."""
        with self._lock:
            entries = list(self._entries)
        return [self._masked(e) for e in entries]

    @property
    def requests(self) -> list[dict]:
        """The REST requests: method, path, template, params, body, status, response, ms, via."""
        return [e for e in self.entries if e["kind"] == "request"]

    @property
    def events(self) -> list[dict]:
        """The events: type and json (as received), via when a kit helper used it."""
        return [e for e in self.entries if e["kind"] == "event"]

    # --- the same steps, by hand ------------------------------------------------------------------
    def _url(self, entry: dict) -> str:
        query = urlencode({k: _text(v) for k, v in entry["params"].items()}, safe=",:/@")
        return f"{self.client.url}/ari{entry['path']}" + (f"?{query}" if query else "")

    def curl(self) -> Lines:
        """The requests as curl command lines that do the same: paste them into a shell with ARI_USER and ARI_PASSWORD set."""
        lines = Lines()
        for e in self.requests:
            parts = ["curl -s", '-u "$ARI_USER:$ARI_PASSWORD"']
            if e["method"] != "GET":
                parts.append(f"-X {e['method']}")
            parts.append(shlex.quote(self._url(e)))
            if e["body"] is not None:
                parts += ["-H 'Content-Type: application/json'", "-d " + shlex.quote(json.dumps(e["body"]))]
            lines.append(" ".join(parts))
        return lines

    def http(self) -> Lines:
        """The requests as the raw HTTP that travels (the Authorization header masked)."""
        host = urlsplit(self.client.url).netloc
        lines = Lines()
        for e in self.requests:
            target = self._url(e).split(host, 1)[1]
            text = [f"{e['method']} {target} HTTP/1.1", f"Host: {host}", "Authorization: Basic " + MASK,
                    "Accept: application/json"]
            if e["body"] is not None:
                data = json.dumps(e["body"])
                text += ["Content-Type: application/json", f"Content-Length: {len(data.encode())}", "", data]
            lines.append("\n".join(text) + "\n")
        return lines

    def websocket(self) -> str:
        """The events websocket as one command (any websocket client will do), the password as a variable."""
        apps = ",".join(self.client.apps)
        url = re.sub(r"^http", "ws", self.client.url) + f"/ari/events?app={apps}&api_key=$ARI_USER:$ARI_PASSWORD"
        return f'python -m websockets "{url}"'

    # --- lifetime ---------------------------------------------------------------------------------
    def stop(self) -> "Wire":
        """Stop recording (what was recorded stays)."""
        if self._on_stop is not None:
            self._on_stop(self)
        if self.stopped is None:
            self.stopped = time.time()
        return self

    def __enter__(self) -> "Wire":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- showing it ---------------------------------------------------------------------------------
    def summary(self, entry: dict) -> tuple[str, str, str, str, str, str]:
        """(clock, arrow, what, status, ms, via) of one entry, as the table shows it."""
        if entry["kind"] == "request":
            return (_clock(entry["time"]), "→", f"{entry['method']} {entry['template'] or entry['path']}",
                    "" if entry["status"] is None else str(entry["status"]),
                    "" if entry["ms"] is None else f"{entry['ms']:.0f}", entry["via"] or "")
        data = entry["json"]
        bits = []
        for field, key in (("digit", None), ("channel", "name"), ("playback", "media_uri"), ("bridge", "name"),
                           ("recording", "name")):
            value = data.get(field)
            value = value.get(key) if isinstance(value, dict) and key else value
            if value and isinstance(value, (str, int)):
                bits.append(str(value))
        about = " ".join(bits)
        return (_clock(entry["time"]), "←", entry["type"] + (f"  {about}" if about else ""), "", "",
                entry["via"] or "")

    def __repr__(self) -> str:
        rows = [self.summary(e) for e in self.entries]
        head = (f"<Wire of app {self.client.app!r}: {sum(r[1] == '→' for r in rows)} requests, "
                f"{sum(r[1] == '←' for r in rows)} events" + (f", {self.dropped} dropped" if self.dropped else "")
                + ">")
        return "\n".join([head] + [f"{c}  {a} {w:<52} {s:>3} {ms:>5}{'  via ' + v if v else ''}"
                                   for c, a, w, s, ms, v in rows])

    def _repr_html_(self) -> str:
        rows = []
        for e in self.entries:
            clock, arrow, what, status, ms, helper = self.summary(e)
            detail = e["json"] if e["kind"] == "event" else {
                k: e[k] for k in ("method", "path", "params", "body", "status", "response") if e[k] not in (None, {})}
            text = json.dumps(detail, indent=1)
            if len(text) > 4000:
                text = text[:4000] + f"\n… ({len(text) - 4000} more characters)"
            tone = "#0b5" if arrow == "←" else ("#c33" if status.startswith(("4", "5")) else "#258")
            rows.append(
                f'<details style="margin:0"><summary style="font-family:monospace;white-space:pre;cursor:pointer">'
                f'{html.escape(clock)}  <b style="color:{tone}">{arrow}</b> {html.escape(what):<52} '
                f'{html.escape(status):>3} {html.escape(ms):>5}'
                + (f'  <i style="color:#888">via {html.escape(helper)}</i>' if helper else "")
                + f'</summary><pre style="max-height:16em;overflow:auto;margin:2px 0 6px 2em">{html.escape(text)}'
                  f'</pre></details>')
        title = html.escape(repr(self).splitlines()[0])
        return f'<div class="vk-wire"><div style="font-family:monospace">{title}</div>{"".join(rows)}</div>'


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
