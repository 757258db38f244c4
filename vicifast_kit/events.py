"""Events: the objects, the bounded buffers that wait_for reads like a queue, and the handler dispatcher."""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .errors import ClientClosed, WaitTimeout
from .handles import EVENT_FIELD_MODELS, FINAL_EVENTS, HANDLE_CLASSES, KIND_BY_SOURCE, Handle, wrap_plain

if TYPE_CHECKING:  # pragma: no cover
    from .handles import Context

log = logging.getLogger("vicifast_kit.events")

# Kinds named by a playback's or recording's target_uri ("channel:ID", "bridge:ID"): ARI's prefix -> kind.
_TARGET_KINDS = KIND_BY_SOURCE

#: Types of the kit's own (local) events about its websocket.
DISCONNECTED = "WebSocketDisconnected"
RECONNECTED = "WebSocketReconnected"


def asterisk_time(text: Any) -> datetime | None:
    """A time as Asterisk writes it ("2026-01-02T03:04:05.678+0000") as a datetime (None if it is not one)."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(str(text), fmt)
        except ValueError:
            pass
    return None


def _parse_time(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    parsed = asterisk_time(text)
    return text if parsed is None else parsed


class Event:
    """One ARI event: ``.type``, ``.timestamp``, its fields as attributes, handles for the objects it names."""

    __slots__ = ("_ctx", "raw", "type", "seq", "keys", "local", "_field_types", "received", "internal")

    def __init__(self, context: "Context", raw: dict, seq: int = 0, local: bool = False) -> None:
        self._ctx = context
        self.raw = raw
        self.received = time.time()      # this machine's clock, comparable with request times
        self.type: str = raw.get("type", "")
        self.seq = seq
        self.local = local
        self._field_types = context.field_types(self.type)
        self.keys = self._object_keys()
        self.internal = False    # about objects the kit made for itself (media channels, snoops, bridges)

    @property
    def timestamp(self) -> Any:
        """When the server made the event (a datetime; the text if it could not be read)."""
        return _parse_time(self.raw.get("timestamp"))

    def _field_type(self, name: str) -> str:
        return self._field_types.get(name) or EVENT_FIELD_MODELS.get(name, "")

    def _object_keys(self) -> list[tuple[str, str]]:
        keys = []
        for name, value in self.raw.items():
            if value.__class__ is not dict:
                continue
            cls = HANDLE_CLASSES.get(self._field_type(name))
            if cls is not None:
                key = (cls.kind, "/".join(str(value.get(f, "")) for f in cls.key_fields))
                if key not in keys:
                    keys.append(key)
                target = value.get("target_uri")
                if isinstance(target, str) and ":" in target:
                    kind, _, ident = target.partition(":")
                    if kind in _TARGET_KINDS and (_TARGET_KINDS[kind], ident) not in keys:
                        keys.append((_TARGET_KINDS[kind], ident))
        return keys

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            value = self.raw[name]
        except KeyError:
            raise AttributeError(f"{self.type} event has no field {name!r}; fields: "
                                 f"{', '.join(self.raw)}") from None
        type_name = self._field_type(name)
        if type_name and (isinstance(value, dict) or isinstance(value, list)):
            return self._ctx.wrap(type_name, value)
        return wrap_plain(value)

    def __getitem__(self, name: str) -> Any:
        return self.raw[name]

    def get(self, name: str, default: Any = None) -> Any:
        """A field (as for attribute access), or default when the event has no such field."""
        try:
            return getattr(self, name)
        except AttributeError:
            return default

    def __dir__(self) -> Iterable[str]:
        return sorted(set(self.raw) | {"type", "timestamp", "raw", "local", "get", "seq", "received"})

    def __repr__(self) -> str:
        bits = []
        for name in ("channel", "bridge", "playback", "recording", "endpoint"):
            v = self.raw.get(name)
            if isinstance(v, dict):
                bits.append(f"{name}={v.get('name') or v.get('id')!r}")
        for name in ("digit", "args", "variable", "value", "eventname", "dialstatus"):
            if name in self.raw:
                bits.append(f"{name}={self.raw[name]!r}")
        return f"<Event {self.type}{' ' if bits else ''}{' '.join(bits)}>"


class Ownership:
    """What one client made or saw enter its app: channels, bridges and recordings, by (kind, id).

    ``vk.lab.leftovers(ari)`` counts only these, so a notebook's last cell checks its own work in
    a lab that other people use. Bounded: the oldest of more than ``limit`` entries are forgotten.
    """

    def __init__(self, limit: int = 200_000) -> None:
        self._keys: "collections.OrderedDict[tuple[str, str], None]" = collections.OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    def add(self, kind: str, ident: Any) -> None:
        """Remember an object of this kind ("channel", "bridge", "stored_recording") by its id (a recording's name)."""
        if not ident:
            return
        with self._lock:
            self._keys[(kind, str(ident))] = None
            if len(self._keys) > self._limit:
                self._keys.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def owns(self, kind: str, ident: Any) -> bool:
        """True if the object was noted (a live recording counts as its stored recording, by name)."""
        if kind == "live_recording":
            kind = "stored_recording"
        return (kind, str(ident)) in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def note_result(self, method: str, path: str, result: Any) -> None:
        """Remember what a request made: a channel, bridge or recording in the answer to a POST."""
        if method != "POST" or result.__class__ is not dict:
            return
        if path.endswith("/record") or (path.startswith("/recordings/stored/") and path.endswith("/copy")):
            self.add("stored_recording", result.get("name"))       # a live recording is stored by its name
        elif path.startswith("/channels") and "caller" in result:
            self.add("channel", result.get("id"))
        elif path.startswith("/bridges") and "bridge_type" in result:
            self.add("bridge", result.get("id"))

    def note_event(self, raw: dict) -> None:
        """Remember the channels an event brings into the client's app (StasisStart)."""
        for name in ("channel", "replace_channel"):
            value = raw.get(name)
            if value.__class__ is dict:
                self.add("channel", value.get("id"))


class Subscription:
    """What ``on()`` returns: call it (or its ``unsubscribe()``) to stop the handler."""

    def __init__(self, hub: "EventHub", key: Any, types: frozenset | None, fn: Callable) -> None:
        self._hub, self.key, self.types, self.fn = hub, key, types, fn
        self.active = True

    def unsubscribe(self) -> None:
        """Stop calling the handler."""
        self._hub._unsubscribe(self)

    __call__ = unsubscribe

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.unsubscribe()

    def __repr__(self) -> str:
        what = "any event" if self.types is None else ", ".join(sorted(self.types))
        return f"<Subscription {what}{' on ' + ':'.join(self.key) if self.key else ''}" \
               f"{'' if self.active else ' (inactive)'}>"


def _types(event_type: str | Iterable[str] | None) -> frozenset | None:
    if event_type is None or event_type == "*":
        return None
    if isinstance(event_type, str):
        return frozenset([event_type])
    types = frozenset(event_type)
    return None if "*" in types else types


class EventHub:
    """Bounded per-type and per-object buffers that wait_for reads like queues, and the handler dispatcher.

    The websocket reader calls ``put`` (cheap: file the event and wake waiters); handlers run on
    the dispatcher thread, so a slow handler never holds up the stream or a wait_for.
    """

    def __init__(self, context: "Context", name: str, per_type: int = 5000, per_object: int = 500,
                 objects: int = 5000, dispatch_queue: int = 20000, slow_handler: float = 1.0,
                 ownership: Ownership | None = None) -> None:
        self._ctx = context
        #: What the client made or saw enter its app (StasisStart events are noted here).
        self.ownership = ownership if ownership is not None else Ownership()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._waiters: list[tuple[frozenset | None, Any, threading.Condition]] = []
        self._seq = itertools.count(1)
        self._by_type: dict[str, collections.deque] = {}
        self._by_object: "collections.OrderedDict[tuple, collections.deque]" = collections.OrderedDict()
        self._per_type, self._per_object, self._objects = per_type, per_object, objects
        self._handlers: dict[Any, list[Subscription]] = {}   # key (None = client-wide) -> subscriptions
        self._handlers_lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(maxsize=dispatch_queue)
        self._closed = False
        self._failure: BaseException | None = None     # raised by waits once no more events can come
        self._ended: dict[str, int | None] = {}        # channel id -> hang-up cause, of the last ended ones
        # Bookkeeping by event type, on arrival: what entered the app, which calls ended and why.
        self._notes: dict[str, Callable[[dict], None]] = {
            "StasisStart": self.ownership.note_event, "ChannelHangupRequest": self._note_ended,
            "StasisEnd": self._note_ended, "ChannelDestroyed": self._note_ended}
        self._internal: dict[tuple, None] = {}   # keys of objects the kit made for itself (oldest first)
        self.dropped = 0        # events the dispatcher had no room for
        self.received = 0
        self.slow_handler = slow_handler
        #: Called with each event a wait takes (the wire notes which kit helper used it); None: nobody.
        self.on_take: Callable[[Event], Any] | None = None
        self._thread = threading.Thread(target=self._dispatch_loop, name=f"vicifast-ari-dispatch[{name}]",
                                        daemon=True)
        self._thread.start()

    # --- arrival (reader thread) ---------------------------------------------------------
    def put(self, raw: dict, local: bool = False) -> Event:
        """File an event from the server (or a local one) and wake whoever waits for it."""
        ev = Event(self._ctx, raw, next(self._seq), local)
        note = self._notes.get(ev.type)
        if note is not None:
            note(raw)
        internal = self._internal
        if internal and ev.keys and all(k in internal for k in ev.keys):
            ev.internal = True
        with self._cond:
            self.received += 1
            if not ev.internal:         # the kit's own objects stay out of the app's client-wide waits
                buf = self._by_type.get(ev.type)
                if buf is None:
                    buf = self._by_type[ev.type] = collections.deque(maxlen=self._per_type)
                buf.append(ev)
            for key in ev.keys:
                obuf = self._by_object.get(key)
                if obuf is None:
                    obuf = self._by_object[key] = collections.deque(maxlen=self._per_object)
                    if len(self._by_object) > self._objects:
                        self._by_object.popitem(last=False)
                else:
                    self._by_object.move_to_end(key)
                obuf.append(ev)
            for types, key, cond in self._waiters:
                if (types is None or ev.type in types) and (key is None or key in ev.keys):
                    cond.notify()
        if self._handlers and self._wanted(ev):
            try:
                self._queue.put_nowait(ev)
            except queue.Full:
                self.dropped += 1
                log.warning("Event handlers are too slow: dropped %s for the handlers (wait_for still has it)",
                            ev.type)
        return ev

    def _note_ended(self, raw: dict) -> None:
        """A channel's hang-up (or its leaving the app): remember it, with the latest cause known."""
        channel = raw.get("channel")
        if channel.__class__ is dict:
            ended, ident = self._ended, str(channel.get("id"))
            cause = None if raw.get("soft") else raw.get("cause")     # a soft hang-up's "cause" is a flag
            ended[ident] = cause if cause is not None else ended.get(ident)
            if len(ended) > 5000:
                del ended[next(iter(ended))]

    def ended(self, channel_id: str) -> tuple[bool, int | None]:
        """(True, hang-up cause or None) if this channel hung up or left the app (as its events said), else (False, None)."""
        if channel_id in self._ended:
            return True, self._ended[channel_id]
        return False, None

    def wait_ended(self, channel_id: str, timeout: float = 1.0) -> tuple[bool, int | None]:
        """As ended(), after waiting up to timeout s for the channel's end (a hang-up or leaving the app) to be seen."""
        deadline = time.monotonic() + timeout
        waiter = (frozenset(("ChannelHangupRequest", "StasisEnd", "ChannelDestroyed")), ("channel", channel_id),
                  threading.Condition(self._lock))
        with self._lock:
            self._waiters.append(waiter)
            try:
                while channel_id not in self._ended and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    waiter[2].wait(remaining)
            finally:
                self._waiters.remove(waiter)
        return self.ended(channel_id)

    def _wanted(self, ev: Event) -> bool:
        h = self._handlers
        return (None in h and not ev.internal) or any(k in h for k in ev.keys)

    def mark_internal(self, key: tuple[str, str]) -> None:
        """Treat events about this object (and only it) as the kit's own: filed per object, not per type."""
        with self._cond:
            self._internal[key] = None
            while len(self._internal) > 10000:
                del self._internal[next(iter(self._internal))]

    # --- waiting (user threads) ------------------------------------------------------------
    def _find(self, types: frozenset | None, where: Callable | None, key: Any, remove: bool = True
              ) -> Event | None:
        if key is None:
            if types is None:
                bufs = list(self._by_type.values())
            else:
                bufs = [self._by_type[t] for t in types if t in self._by_type]
            best_buf, best = None, None
            for buf in bufs:
                for ev in buf:
                    if best is not None and ev.seq > best.seq:
                        break
                    if where is None or where(ev):
                        best_buf, best = buf, ev
                        break
            if best is not None and remove:
                best_buf.remove(best)
            return best
        buf = self._by_object.get(key)
        if not buf:
            return None
        for ev in buf:
            if (types is None or ev.type in types) and (where is None or where(ev)):
                if remove:
                    buf.remove(ev)
                return ev
        return None

    def take(self, event_type: str | Iterable[str] | None, timeout: float | None = 30.0,
             where: Callable[[Event], bool] | None = None, key: Any = None, what: str | None = None,
             stop_types: Iterable[str] = ()) -> Event | None:
        """Remove and return the oldest matching event, waiting up to timeout (WaitTimeout after)."""
        __tracebackhide__ = True
        types = _types(event_type)
        stops = frozenset(stop_types)
        deadline = None if timeout is None else time.monotonic() + timeout
        wake = None if types is None else types | stops
        waiter = None
        with self._lock:
            try:
                while True:
                    ev = self._find(types, where, key)
                    if ev is not None:
                        if self.on_take is not None:
                            self.on_take(ev)
                        return ev
                    if stops and self._find(stops, None, key, remove=False) is not None:
                        return None
                    if self._closed:
                        raise ClientClosed(f"The client was closed while waiting for {what or event_type}")
                    if self._failure is not None:
                        raise type(self._failure)(*self._failure.args)
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise WaitTimeout(what or str(event_type), timeout)
                    if waiter is None:      # woken only by events that may match
                        waiter = (wake, key, threading.Condition(self._lock))
                        self._waiters.append(waiter)
                    waiter[2].wait(remaining if remaining is not None and remaining < 5 else 5)
            finally:
                if waiter is not None:
                    self._waiters.remove(waiter)

    def pending(self, event_type: str | Iterable[str] | None = None, key: Any = None) -> list[Event]:
        """Buffered events not yet taken by a wait, oldest first."""
        types = _types(event_type)
        with self._cond:
            if key is not None:
                evs = list(self._by_object.get(key) or ())
            else:
                evs = sorted((ev for buf in self._by_type.values() for ev in buf), key=lambda e: e.seq)
        return [e for e in evs if types is None or e.type in types]

    def clear(self) -> int:
        """Forget every buffered event; returns how many there were."""
        with self._cond:
            n = sum(len(b) for b in self._by_type.values())
            self._by_type.clear()
            self._by_object.clear()
        return n

    def collect_digits(self, channel: Handle, max_digits: int | None, terminator: str | None,
                       timeout: float, inter_digit_timeout: float) -> str:
        """The keypresses of a channel (see Channel.collect_digits)."""
        __tracebackhide__ = True
        digits = ""
        start = time.monotonic()
        deadline = start + timeout
        last = start
        while not (max_digits and len(digits) >= max_digits):
            limit = deadline if not digits else min(deadline, last + inter_digit_timeout)
            try:
                ev = self.take("ChannelDtmfReceived", timeout=max(0.0, limit - time.monotonic()),
                               key=channel.key, stop_types=("StasisEnd", "ChannelDestroyed"),
                               what=f"a digit on {channel!r}")
            except WaitTimeout:
                break
            if ev is None:          # the channel hung up or left the app
                break
            last = time.monotonic()
            digit = ev.raw.get("digit", "")
            if terminator and digit in terminator:
                break
            digits += digit
        return digits

    # --- handlers (dispatcher thread) ----------------------------------------------------
    def subscribe(self, event_type: str | Iterable[str] | None, fn: Callable[[Event], Any],
                  key: Any = None) -> Subscription:
        """Register fn for events of that type (client-wide, or about one object)."""
        if not callable(fn):
            raise TypeError("the handler must be callable: on(event_type, fn)")
        sub = Subscription(self, key, _types(event_type), fn)
        with self._handlers_lock:
            handlers = dict(self._handlers)
            handlers[key] = handlers.get(key, []) + [sub]
            self._handlers = handlers
        return sub

    def subscriptions(self, key: Any = ...) -> list[Subscription]:
        """The active handlers: all of them, or those about one object (key=("channel", id)); key=None: client-wide ones."""
        handlers = self._handlers
        if key is ...:
            return [sub for subs in handlers.values() for sub in subs]
        return list(handlers.get(key, ()))

    def objects(self) -> list[tuple[str, str]]:
        """The (kind, id) of every object with events filed (the newest 5,000), oldest first."""
        with self._cond:
            return list(self._by_object)

    def _unsubscribe(self, sub: Subscription) -> None:
        sub.active = False
        with self._handlers_lock:
            handlers = dict(self._handlers)
            rest = [s for s in handlers.get(sub.key, []) if s is not sub]
            if rest:
                handlers[sub.key] = rest
            else:
                handlers.pop(sub.key, None)
            self._handlers = handlers

    def _drop_object(self, key: Any) -> None:
        with self._handlers_lock:
            handlers = dict(self._handlers)
            for sub in handlers.pop(key, []):
                sub.active = False
            self._handlers = handlers

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every event filed so far has been dispatched (its handlers have run); WaitTimeout after timeout s."""
        __tracebackhide__ = True
        if threading.current_thread() is self._thread:
            raise RuntimeError("flush() called from an event handler would wait for itself: call it from elsewhere")
        if self._closed:
            raise ClientClosed("The client is closed: its events are no longer dispatched")
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            raise WaitTimeout("room in the event dispatcher's queue (handlers are too slow)", timeout) from None
        if not done.wait(timeout):
            if self._closed:
                raise ClientClosed("The client was closed while waiting for its event handlers")
            raise WaitTimeout("the event handlers to catch up", timeout)

    def _dispatch_loop(self) -> None:
        while True:
            ev = self._queue.get()
            if ev is None:
                return
            if ev.__class__ is threading.Event:      # a flush() marker: everything before it is dispatched
                ev.set()
                continue
            handlers = self._handlers
            subs = [] if ev.internal else list(handlers.get(None, ()))
            for key in ev.keys:
                subs += handlers.get(key, ())
            for sub in subs:
                if sub.active and (sub.types is None or ev.type in sub.types):
                    self._run(sub, ev)
            for key in ev.keys:
                if ev.type in FINAL_EVENTS.get(key[0], ()) and key in self._handlers:
                    self._drop_object(key)

    def _run(self, sub: Subscription, ev: Event) -> None:
        started = time.monotonic()
        try:
            sub.fn(ev)
        except Exception:
            log.exception("Event handler %r failed on %s (the stream goes on)",
                          getattr(sub.fn, "__name__", sub.fn), ev.type)
        spent = time.monotonic() - started
        if spent > self.slow_handler:
            log.warning("Event handler %r took %.1f s on %s: events wait behind it (wait_for does not)",
                        getattr(sub.fn, "__name__", sub.fn), spent, ev.type)

    # --- shutdown --------------------------------------------------------------------------
    def fail(self, error: BaseException) -> None:
        """No more events will come: waits return what is buffered, then raise error instead of waiting."""
        with self._lock:
            self._failure = error
            for _, _, cond in self._waiters:
                cond.notify()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the dispatcher and wake every waiter."""
        with self._lock:
            self._closed = True
            for _, _, cond in self._waiters:
                cond.notify()
        while True:
            try:
                self._queue.put_nowait(None)
                break
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    pass
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
