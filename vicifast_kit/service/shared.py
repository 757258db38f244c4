"""Several instances of one vk.App sharing the calls through Asterisk alone: StasisBroadcast claims, peers' pings, takeover.

How it works (measured in the lab, Asterisk 22.10.1; docs/service.md, "Several instances"):

* Each instance registers its own ARI application, ``NAME-INSTANCE`` (``ivr-a``, ``ivr-b``). The lab's
  context ``service-shared`` runs ``StasisBroadcast(timeout,^NAME-,service:NUMBER)``: Asterisk sends a
  ``CallBroadcast`` event to every connected app whose name matches; an instance with room claims the
  call (``POST /events/claim``); the first claim wins (the others get 409) and the channel enters the
  winner's app as ``StasisStart``. An instance that is full or draining does not claim, so another one
  gets the call; nobody claiming within the timeout sends the caller to the dialplan's fallback.
* An instance killed with ``kill -9`` leaves its calls in Stasis in its app (``GET /applications/ivr-a``
  still lists them) and Asterisk tells nobody. So each instance pings the others' apps every
  ``check_every`` seconds with a user event (``POST /events/user/vicifast_ping?application=ivr-b``); a
  live instance answers with ``vicifast_pong``. An app of the family that holds calls and has not
  answered for ``takeover_after`` seconds is dead: the first live instance by name moves each of its
  calls into its own app (``POST /channels/{id}/move``, which works while the source app has no
  websocket) and runs the handler with ``call.resumed`` and ``call.taken_over`` (the dead app's name).
  Calls beyond its max_calls go to the fallback (cause 34 in the lab), as any call over max_calls.
* Only the calls that entered through a broadcast to this family (their dialplan application is
  ``StasisBroadcast`` with the filter ``^NAME-``) are taken, and none that a live app holds; the kit's
  helper channels left by a dead handler (snoops, media) are hung up.

No coordinator and no store of ours: the only shared state is Asterisk's (its apps, channels and events).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import threading
import time
from typing import TYPE_CHECKING, Iterable

from ..errors import Error, NotFound

if TYPE_CHECKING:
    from ..client import ARIClient
    from ..events import Event
    from .app import App

log = logging.getLogger("vicifast_kit.service")

#: The user events instances exchange (ChannelUserevent's eventname).
PING = "vicifast_ping"
PONG = "vicifast_pong"
#: What an instance's name may hold: it becomes part of an ARI app name and of a dialplan regex's subject.
INSTANCE_PATTERN = re.compile(r"^[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*$")
#: A claim not followed by StasisStart within this many seconds stops counting against max_calls.
CLAIM_PENDING_SECONDS = 10.0


def instance_app(name: str, instance: str) -> str:
    """The ARI app name of one instance of a shared app: ``ivr`` and ``a`` -> ``ivr-a``."""
    return f"{name}-{instance}"


def safe_instance(text: str) -> str:
    """An instance id usable in an ARI app name: other characters than letters, digits, ``_`` and ``.`` become ``-``."""
    cleaned = re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-")
    return cleaned or "x"


def broadcast_family(channel_raw: dict) -> str | None:
    """The app family a channel was broadcast to (its dialplan: StasisBroadcast ``2000,^ivr-,...`` -> ``ivr``), else None."""
    dialplan = channel_raw.get("dialplan") or {}
    if str(dialplan.get("app_name", "")).lower() != "stasisbroadcast":
        return None
    parts = str(dialplan.get("app_data", "")).split(",")
    if len(parts) < 2:
        return None
    match = re.fullmatch(r"\^(.+)-", parts[1])
    return match.group(1) if match else None


def family_apps(apps: Iterable[dict], family: str, me: str) -> dict[str, list[str]]:
    """From GET /applications: the other apps of this family (``family-*``, not me), with their channel ids."""
    prefix = f"{family}-"
    return {a["name"]: list(a.get("channel_ids") or []) for a in apps
            if str(a.get("name", "")).startswith(prefix) and a.get("name") != me}


def chooses_me(me: str, live_peers: Iterable[str]) -> bool:
    """True if this instance is the one that takes over a dead peer's calls: the first live app by name."""
    return me == min([me, *live_peers])


class PeerClock:
    """When each peer app was first pinged and last answered: a peer is dead after ``takeover_after`` s of silence."""

    def __init__(self, takeover_after: float) -> None:
        self.takeover_after = takeover_after
        self.first_ping: dict[str, float] = {}
        self.last_pong: dict[str, float] = {}

    def pinged(self, peer: str, now: float) -> None:
        """A ping was sent to peer at now (only the first one counts)."""
        self.first_ping.setdefault(peer, now)

    def ponged(self, peer: str, now: float) -> None:
        """Peer answered at now."""
        self.last_pong[peer] = now

    def alive(self, peer: str, now: float) -> bool:
        """True if peer answered within takeover_after s."""
        last = self.last_pong.get(peer)
        return last is not None and now - last <= self.takeover_after

    def dead(self, peer: str, now: float) -> bool:
        """True if peer was pinged and has not answered for takeover_after s (since its last answer, or the first ping)."""
        since = self.last_pong.get(peer, self.first_ping.get(peer))
        return since is not None and now - since > self.takeover_after

    def forget(self, keep: Iterable[str]) -> None:
        """Drop the peers no longer seen in Asterisk."""
        keep = set(keep)
        for book in (self.first_ping, self.last_pong):
            for peer in [p for p in book if p not in keep]:
                del book[peer]


class Sharing:
    """The shared part of a running App: claims the calls it has room for, answers and sends pings, takes over dead peers.

    Two named daemonic threads, stopped by stop(): ``vicifast-app-claims[APP]`` (claims and pongs: one
    short request each, never behind a ping round or a takeover) and ``vicifast-app-peers[APP]`` (pings
    and takeovers).
    """

    def __init__(self, app: "App", ari: "ARIClient") -> None:
        self.app = app
        self.ari = ari
        self.me = app.ari_app
        self.family = app.name
        self.clock = PeerClock(app.takeover_after)
        self.pending: dict[str, float] = {}       # channel id -> when claimed (not yet in the app)
        self.taking: dict[str, str] = {}          # channel id -> the dead app it is moved from
        self._lock = threading.Lock()
        self._jobs: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._subs = [ari.on("CallBroadcast", self._on_broadcast), ari.on("ChannelUserevent", self._on_user_event)]
        self._claims = threading.Thread(target=self._claims_loop, name=f"vicifast-app-claims[{self.me}]", daemon=True)
        self._peers = threading.Thread(target=self._peers_loop, name=f"vicifast-app-peers[{self.me}]", daemon=True)
        self._claims.start()
        self._peers.start()

    @property
    def threads(self) -> list[threading.Thread]:
        """The threads of this part that still run."""
        return [t for t in (self._claims, self._peers) if t.is_alive()]

    def pending_claims(self) -> int:
        """Calls claimed whose StasisStart has not come yet (they count against max_calls)."""
        now = time.monotonic()
        with self._lock:
            for ident in [i for i, t in self.pending.items() if now - t > CLAIM_PENDING_SECONDS]:
                del self.pending[ident]
            return len(self.pending)

    def admitted(self, channel_id: str) -> str | None:
        """A channel entered the app: it is no longer pending; returns the dead app it was taken from, if any."""
        with self._lock:
            self.pending.pop(channel_id, None)
            return self.taking.pop(channel_id, None)

    def stop(self) -> None:
        """Stop claiming, answering and watching (before the App's websocket closes)."""
        self._stop.set()
        for sub in self._subs:
            sub.unsubscribe()
        self._jobs.put(None)
        for thread in (self._claims, self._peers):
            if thread is not threading.current_thread():
                thread.join(5)
        while True:                     # what was queued after the stop is dropped: flush() does not wait for it
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
            self._jobs.task_done()

    # --- calls offered (dispatcher thread: decide, queue, return) -------------------------------
    def _on_broadcast(self, ev: "Event") -> None:
        channel = ev.raw.get("channel") or {}
        ident = channel.get("id")
        if not ident or broadcast_family(channel) not in (None, self.family):
            return
        room = self.app.room_for_claim(self.pending_claims())
        if room is not None:
            self.app.emit("not_claimed", ident, level=logging.DEBUG,
                           message=f"Call {ident} offered; not claimed ({room}): another instance or the fallback "
                                   "takes it", why=room)
            return
        with self._lock:
            self.pending[ident] = time.monotonic()
        self._jobs.put(("claim", ident))

    def _on_user_event(self, ev: "Event") -> None:
        name = ev.raw.get("eventname")
        fields = ev.raw.get("userevent") or {}
        sender = str(fields.get("from", ""))
        if not sender or sender == self.me:
            return
        if name == PING:
            self._jobs.put(("pong", sender))
        elif name == PONG:
            self.clock.ponged(sender, time.monotonic())

    def flush(self) -> None:
        """Wait until the claims and pongs queued so far have been sent (or the part stopped)."""
        self._jobs.join()

    def _claims_loop(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None or self._stop.is_set():
                    return
                self._do(*job)
            finally:
                self._jobs.task_done()

    def _do(self, kind: str, arg: str) -> None:
        """One job of the claims thread: a claim, or a pong to the instance that pinged."""
        try:
            if kind == "claim":
                self._claim(arg)
            elif kind == "pong":
                self.ari.request("POST", f"/events/user/{PONG}", application=arg,
                                 body={"variables": {"from": self.me}})
        except Error as error:
            log.debug("%s for %s failed: %s", kind, arg, error)
        except Exception:
            log.exception("The claims thread could not do %s (it goes on)", kind)

    def _claim(self, ident: str) -> None:
        try:
            self.ari.request("POST", "/events/claim", channelId=ident, application=self.me)
        except Error as error:      # 409: another instance was first; 404: the broadcast is over (timeout, hang-up)
            with self._lock:
                self.pending.pop(ident, None)
            self.app.emit("claim_lost", ident, level=logging.DEBUG,
                           message=f"Call {ident} went elsewhere: {error}", status=getattr(error, "status", None))
            return
        self.app.emit("claimed", ident, level=logging.DEBUG, message=f"Claimed call {ident}")

    # --- peers (their own thread) ---------------------------------------------------------------
    def _peers_loop(self) -> None:
        every = self.app.check_every
        while not self._stop.wait(every):
            try:
                self.check_peers()
            except Error as error:
                log.debug("Could not check the other instances: %s", error)
            except Exception:
                log.exception("Checking the other instances failed (it goes on)")

    def check_peers(self, now: float | None = None) -> list[str]:
        """One round (at time.monotonic() now): ping the family's other apps, take over the calls of those gone silent; returns the dead."""
        if self._stop.is_set() or not self.ari.connected:
            return []       # while our own websocket is down we hear no pong: judge nobody
        now = time.monotonic() if now is None else now
        apps = self.ari.request("GET", "/applications")
        others = family_apps(apps, self.family, self.me)
        self.clock.forget(others)
        for peer in others:
            self.clock.pinged(peer, now)
            with contextlib.suppress(Error):
                self.ari.request("POST", f"/events/user/{PING}", application=peer,
                                 body={"variables": {"from": self.me}})
        live = [p for p in others if self.clock.alive(p, now)]
        dead = [p for p, calls in others.items() if calls and self.clock.dead(p, now)]
        if not dead or self.app.draining or not chooses_me(self.me, live):
            return dead
        held = {c for a in apps if a.get("name") == self.me or a.get("name") in live
                for c in (a.get("channel_ids") or [])}
        for peer in dead:
            self._take_over(peer, [c for c in others[peer] if c not in held])
        return dead

    def _take_over(self, peer: str, ids: list[str]) -> None:
        """Move a dead app's calls into this one (their StasisStart runs the handler with taken_over=peer)."""
        from .app import HELPER_CHANNELS, stasis_args
        moved = 0
        for ident in ids:
            try:
                raw = self.ari.request("GET", f"/channels/{ident}")
            except NotFound:
                continue
            if str(raw.get("name", "")).startswith(HELPER_CHANNELS):
                with contextlib.suppress(Error):
                    self.ari.request("DELETE", f"/channels/{ident}")
                self.app.emit("orphan_removed", message=f"Hung up {raw.get('name')}: a helper channel of dead "
                               f"instance {peer}", channel=raw.get("name"), peer=peer)
                continue
            if broadcast_family(raw) != self.family:
                continue        # not a call of this family (another program's channel): not ours to take
            with self._lock:
                self.taking[ident] = peer
            try:
                self.ari.request("POST", f"/channels/{ident}/move", app=self.me,
                                 appArgs=",".join(stasis_args(raw)))
                moved += 1
            except Error as error:
                with self._lock:
                    self.taking.pop(ident, None)
                log.debug("Could not move %s from %s: %s", ident, peer, error)
        self.app.emit("takeover", level=logging.WARNING,
                       message=f"Instance app {peer!r} has not answered for {self.clock.takeover_after:g} s: "
                               f"took over {moved} of its call(s)", peer=peer, calls=moved)
