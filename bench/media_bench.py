"""Benchmark: the kit's WebSocket media streams (ch.media()) on the real lab, against plain websocket-client.

Three measurements, each against a plain baseline run in the same process where one makes sense:

1. Delivery: 1, then 10, then 50 concurrent slin16 streams, 10 s each. Every stream is a Local call
   with both halves in the app (like tests' Lab.pair(), offering slin16,ulaw; the far half plays
   tone:440) heard through ``near.media()``, with a consumer thread per stream iterating
   ``frames()`` and timestamping each frame (time.monotonic()). Printed: the frames that arrived in
   the 10 s after each stream's first frame against the 500 due (10 s / 20 ms; the window ends half
   a frame early so the 501st is not counted), and the p50/p99/max gap between frames as the
   consumer saw them.
2. Round trip through the lab's echo (Local/9002@inbound/n: Answer, then Echo()): a 100 ms 1 kHz
   burst is sent into a silent stream and timed until the first frame that is loud and ~1 kHz comes
   back; 15 rounds, median and p90. The kit (``ch.media()``, ``send``, ``frames()``) against a plain
   script doing the same by hand (externalMedia + its own ``mixing,video_sfu`` bridge + the echo
   call, a raw recv loop on a thread, the burst sent as 640-byte binary frames). Then variants of
   the plain script, to see where the time goes: a plain ``mixing`` bridge (simple_bridge for two
   members) instead of softmix, the Local channel without ``/n``, the Local call in ARI's default
   formats (slin192) instead of slin16,ulaw, and Echo() replaced by a second media stream looped
   back in Python (whose one-way time is printed too). The variants take turns, round by round, so
   a busy moment on the machine hits all of them alike; the pause between bursts has a random part
   so the sends fall anywhere on the 20 ms frame clock. Measured in the steady state, 2.5 s after
   the last bridge formed: a softmix bridge's round trip grows by about a frame ~2 s after it forms,
   which a last measurement shows on a fresh bridge (its first 1.8 s against after 2.5 s).
3. CPU per stream: 10 streams, process CPU (time.process_time()) per frame delivered for the kit's
   consumers iterating frames() against a plain websocket-client recv_data loop on the same kind
   of streams, in 3 rounds of 10 s windows taking turns (kit, plain, kit, ...; the machine is
   shared); then the kit with a consumer that reads once a second (the reader thread files every
   frame into the buffer) against a plain window right after it.
4. Marks: ``stream.mark(name)`` after 0.2 / 0.5 / 1 / 2 s of audio sent at once (and after 1 s
   sent while 0.25 s was still queued): the time from the send to Asterisk's MEDIA_MARK_PROCESSED
   against the audio's length, and how far the kit's own estimate (the 20 ms clock from when its
   writer sent the audio: what wait_played() can do on servers older than 22.8) is from it.

Everything runs against the lab on 127.0.0.1 under a unique app name (bench-media-<hex>); every
channel and bridge made is removed at the end, even on errors, and the script checks that none is
left. About 2 minutes. Not a test: figures and ratios, printed, ending in a compact table.

    .venv/bin/python bench/media_bench.py [--seconds 10] [--levels 1,10,50] [--rounds 15] [--cpu-streams 10]
        [--cpu-rounds 3] [--mark-rounds 8] [--only delivery,rtt,cpu,marks]

The lab must be up (``.venv/bin/vicifast-kit lab up``). On an older lab whose dialplan has no 9002,
the echo falls back to Local/9000@inbound/n and waits until its spoken prompt is over.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import json
import logging
import random
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import requests
import websocket

import vicifast_kit as vk
from vicifast_kit import audio, settings
from vicifast_kit import lab as vk_lab
from vicifast_kit.lab.simulate import CALL_FORMATS

RATE = 16000
FRAME = 640                     # bytes of one 20 ms slin16 frame
PTIME = 0.020
BURST = audio.tone(1000, 0.1, rate=RATE)       # 100 ms, 5 frames
LOUD_RMS = 1000.0               # the burst is ~6,900 RMS; echoed silence is 0
SOFTMIX = "mixing,video_sfu"    # what ch.media() makes: softmix even for two members
SIMPLE = "mixing"               # simple_bridge for two members


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values, nearest-rank."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(np.ceil(q / 100 * len(s))) - 1))
    return s[k]


def ms(x: float) -> str:
    return f"{x * 1000:.1f}"


# --- the plain baseline: requests + websocket-client, by hand -----------------------------------------

class Plain:
    """ARI by hand: a requests.Session, an events websocket read on one thread, ids remembered for cleanup."""

    def __init__(self, app: str) -> None:
        cfg = settings.load()
        self.app = app
        self.base = cfg.ari_url + "/ari"
        self.s = requests.Session()
        self.s.auth = (cfg.ari_user, cfg.ari_password)
        self.s.trust_env = False
        token = base64.b64encode(f"{cfg.ari_user}:{cfg.ari_password}".encode()).decode()
        url = self.base.replace("http", "ws", 1) + f"/events?app={app}"
        self.ws = websocket.create_connection(url, header=["Authorization: Basic " + token], timeout=10)
        self.ws.settimeout(None)
        self.lock = threading.Lock()
        self.started: dict[str, threading.Event] = {}
        self.channels: list[str] = []
        self.bridges: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True, name="plain-events")
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                msg = self.ws.recv()
            except Exception:
                return
            if not msg:
                return
            ev = json.loads(msg)
            if ev.get("type") == "StasisStart":
                self._started(ev["channel"]["id"]).set()

    def _started(self, cid: str) -> threading.Event:
        with self.lock:
            return self.started.setdefault(cid, threading.Event())

    def wait_start(self, cid: str, timeout: float = 10.0) -> None:
        if not self._started(cid).wait(timeout):
            raise TimeoutError(f"{cid} did not enter {self.app}")

    def post(self, path: str, **kw):
        r = self.s.post(self.base + path, **kw)
        r.raise_for_status()
        return r.json() if r.content else None

    def originate(self, endpoint: str, cid: str, other: str, variables: dict | None = None,
                  formats: str | None = CALL_FORMATS) -> None:
        self.channels += [cid, other]
        params = {"endpoint": endpoint, "app": self.app, "channelId": cid, "otherChannelId": other}
        if formats:
            params["formats"] = formats
        self.post("/channels", params=params, json={"variables": variables or {}})

    def bridge(self, bid: str, kind: str, members: list[str]) -> str:
        self.bridges.append(bid)
        self.post(f"/bridges/{bid}", params={"type": kind})
        self.post(f"/bridges/{bid}/addChannel", params={"channel": ",".join(members)})
        return self.s.get(f"{self.base}/bridges/{bid}").json().get("technology", "?")

    def media(self, cid: str) -> "PlainStream":
        """An externalMedia WebSocket channel, its websocket open and the channel in the app."""
        self.channels.append(cid)
        ch = self.post("/channels/externalMedia", params={
            "app": self.app, "channelId": cid, "transport": "websocket", "encapsulation": "none",
            "connection_type": "server", "format": "slin16"})
        conn = ch["channelvars"]["MEDIA_WEBSOCKET_CONNECTION_ID"]
        stream = PlainStream(self.base[:-4].replace("http", "ws", 1) + f"/media/{conn}")
        self.wait_start(cid)
        return stream

    def cleanup(self) -> None:
        for cid in self.channels:
            with contextlib.suppress(requests.RequestException):
                self.s.delete(f"{self.base}/channels/{cid}", timeout=5)
        for bid in self.bridges:
            with contextlib.suppress(requests.RequestException):
                self.s.delete(f"{self.base}/bridges/{bid}", timeout=5)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
        self.reader.join(2)
        self.s.close()


class PlainStream:
    """A media websocket with the least a script would write: one thread, recv_data in a loop."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, subprotocols=["media"], timeout=5, enable_multithread=True)
        self.ws.settimeout(5.0)     # bounded: a stream that stops sending ends its loop
        self.media_start = threading.Event()
        self.on_frame = None        # fn(t, frame), called on the reader thread
        self.frames = 0
        self.thread = threading.Thread(target=self._loop, daemon=True, name="plain-media")
        self.thread.start()

    def _loop(self) -> None:
        ws = self.ws
        while True:
            try:
                opcode, data = ws.recv_data()
            except Exception:
                return
            if opcode == websocket.ABNF.OPCODE_BINARY:
                self.frames += 1
                fn = self.on_frame
                if fn is not None:
                    fn(time.monotonic(), data)
            elif opcode == websocket.ABNF.OPCODE_TEXT:
                if data.startswith(b"MEDIA_START"):
                    self.media_start.set()
            elif opcode == websocket.ABNF.OPCODE_CLOSE:
                return

    def send_frames(self, pcm: bytes) -> None:
        for i in range(0, len(pcm), FRAME):
            self.ws.send_binary(pcm[i:i + FRAME])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close(timeout=1)
        self.thread.join(6)


# --- the run: what it made, and how it cleans up ------------------------------------------------------

class Run:
    def __init__(self) -> None:
        self.id = uuid.uuid4().hex[:8]
        self.ari = vk.connect(app=f"bench-media-{self.id}")
        self.plain = Plain(f"bench-media-{self.id}-plain")
        self.streams: list = []             # the kit's streams
        self.channels: list[str] = []       # every channel id made for the kit's side
        self.bridges: list[str] = []
        self.plain_streams: list[PlainStream] = []
        self._serial = itertools.count(1)  # next() is atomic: names are unique across threads

    def name(self, what: str) -> str:
        return f"bm-{self.id}-{what}-{next(self._serial)}"

    def kit_pair(self, number: str = "5557001"):
        """Lab.pair(): a Local call with both halves in the app; near.media() hears what far plays."""
        ari = self.ari
        near, far = self.name("near"), self.name("far")
        self.channels += [near, far]
        ari.channels.originate(endpoint=f"Local/{number}@inbound/n", app=ari.app, channel_id=near,
                               other_channel_id=far, variables={"VICIFAST_APP": ari.app}, formats=CALL_FORMATS)
        far_ch = ari.wait_for("StasisStart", timeout=10, where=lambda e: e.channel.id == far).channel
        far_ch.answer()
        near_ch = ari.wait_for("StasisStart", timeout=10, where=lambda e: e.channel.id == near).channel
        stream = self.kit_media(near_ch)
        far_ch.play(media="tone:440")
        return stream

    def kit_media(self, ch, paced: bool = True):
        stream = ch.media(format="slin16", paced=paced)
        self.streams.append(stream)
        self.channels.append(stream.media_channel.id)
        if stream.bridge is not None:
            self.bridges.append(stream.bridge.id)
        return stream

    def plain_pair(self, number: str = "5557001") -> PlainStream:
        p = self.plain
        near, far, media = self.name("pnear"), self.name("pfar"), self.name("pmedia")
        p.originate(f"Local/{number}@inbound/n", near, far, {"VICIFAST_APP": p.app})
        p.wait_start(far)
        p.post(f"/channels/{far}/answer")
        p.wait_start(near)
        stream = p.media(media)
        self.plain_streams.append(stream)
        p.bridge(self.name("pbridge"), SOFTMIX, [near, media])
        p.post(f"/channels/{far}/play", params={"media": "tone:440"})
        return stream

    def close_kit_streams(self) -> None:
        streams, self.streams = self.streams, []
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda s: s.close(), streams))

    def close_plain_streams(self) -> None:
        streams, self.plain_streams = self.plain_streams, []
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda s: s.close(), streams))

    def hangup_kit_channels(self) -> None:
        def hang(cid):
            with contextlib.suppress(vk.ARIError, vk.LabUnreachable, ConnectionError):
                self.ari.channels.hangup(cid)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(hang, self.channels))

    def cleanup(self) -> None:
        """Close every stream, hang up every channel, destroy every bridge; even after an error."""
        for step in (self.close_kit_streams, self.close_plain_streams, self.hangup_kit_channels,
                     self.plain.cleanup):
            try:
                step()
            except Exception as e:      # keep cleaning
                print(f"  cleanup: {step.__name__} failed: {type(e).__name__}: {e}")
        with contextlib.suppress(Exception):
            app = self.ari.applications.get(self.ari.app)
            for cid in app.channel_ids:
                with contextlib.suppress(Exception):
                    self.ari.channels.hangup(cid)
            for bid in app.bridge_ids:
                with contextlib.suppress(Exception):
                    self.ari.bridges.destroy(bid)
        for bid in self.bridges:
            with contextlib.suppress(Exception):
                self.ari.bridges.destroy(bid)

    def ours(self) -> set[str]:
        return set(self.channels) | set(self.bridges) | set(self.plain.channels) | set(self.plain.bridges)

    def close(self) -> None:
        self.plain.close()
        self.ari.close()


def lab_ids(ari) -> tuple[set[str], set[str]]:
    return ({c["id"] for c in ari.request("GET", "/channels") or []},
            {b["id"] for b in ari.request("GET", "/bridges") or []})


# --- 1. delivery and gaps -------------------------------------------------------------------------------

def consume(stream, seconds: float, out: list) -> None:
    """Drop what is buffered, then timestamp every frame due in the `seconds` after the first one.

    The frames due are the first one and those every 20 ms after it, each given half a frame either
    way: so the window ends half a frame before `seconds` (else the frame due exactly at `seconds`
    counts whenever the first one was a little late, and a stream "gets" 501 of 500).
    """
    with contextlib.suppress(vk.StreamClosed):
        stream.read(stream.buffered, timeout=0)
    times: list[float] = []
    deadline = None
    for _frame in stream.frames(timeout=5):
        t = time.monotonic()
        if deadline is None:
            deadline = t + seconds - PTIME / 2
        elif t >= deadline:
            break
        times.append(t)
    out.append(times)


def delivery(run: Run, levels: list[int], seconds: float) -> list[dict]:
    print(f"1. delivery: slin16 streams from ch.media() on Local calls playing tone:440, {seconds:g} s each, "
          "one consumer thread per stream")
    rows = []
    for level in levels:
        t0 = time.monotonic()
        need = level - len(run.streams)
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda _: run.kit_pair(), range(need)))
        setup = time.monotonic() - t0
        streams = list(run.streams)
        dropped0 = sum(s.dropped for s in streams)
        out: list = []
        threads = [threading.Thread(target=consume, args=(s, seconds, out), daemon=True) for s in streams]
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 15)
        expected = level * round(seconds / PTIME)
        got = sum(len(x) for x in out)
        gaps = [b - a for x in out for a, b in zip(x, x[1:])]
        row = {"streams": level, "got": got, "expected": expected, "pct": 100 * got / expected,
               "min": min((len(x) for x in out), default=0), "p50": pct(gaps, 50), "p99": pct(gaps, 99),
               "max": max(gaps, default=float("nan")), "dropped": sum(s.dropped for s in streams) - dropped0,
               "setup": setup}
        rows.append(row)
        print(f"  {level:3d} streams: {got}/{expected} frames = {row['pct']:.2f} % (fewest in a stream "
              f"{row['min']}), gap p50 {ms(row['p50'])} ms, p99 {ms(row['p99'])} ms, max {ms(row['max'])} ms, "
              f"kit drops {row['dropped']} (set up {need} more in {setup:.1f} s)")
    run.close_kit_streams()
    run.hangup_kit_channels()
    return rows


# --- 2. round trip through the echo ---------------------------------------------------------------------

class Detector:
    """Fed every frame (on the thread that reads them): the first loud ~1 kHz frame after arm(t) is the hit."""

    def __init__(self) -> None:
        self.t0 = None
        self.hit = None
        self.last_loud = 0.0
        self.done = threading.Event()

    def arm(self, t0: float) -> None:
        self.hit = None
        self.done.clear()
        self.t0 = t0

    def feed(self, t: float, frame: bytes) -> None:
        x = np.frombuffer(frame, dtype="<i2").astype(np.float64)
        if x.size == 0 or np.sqrt(np.mean(x * x)) < LOUD_RMS:
            return
        self.last_loud = t
        t0 = self.t0
        if t0 is None or t < t0:
            return
        if abs(audio.dominant_frequency(frame, RATE) - 1000) > 60:
            return
        self.t0 = None
        self.hit = t - t0
        self.done.set()


class Variant:
    def __init__(self, key: str, label: str, send, detector: Detector, one_way: Detector | None = None,
                 note: str = "", probe=None):
        self.key, self.label, self.send, self.det, self.one_way, self.note = key, label, send, detector, one_way, note
        self.probe = probe
        self.rtt: list[float] = []
        self.ow: list[float] = []
        self.misses = 0


class KitProbe:
    """Times the kit's two thread hand-overs from inside one stream (wrapping two of its attributes).

    send: from stream.send() to the writer thread putting the audio on the websocket;
    hand: from the reader thread receiving the first echoed frame to the frames() consumer seeing it.
    """

    def __init__(self, stream) -> None:
        self.t0 = None
        self.wire = None
        self.reader = Detector()
        self.send: list[float] = []
        self.hand: list[float] = []
        ws_send, file = stream._ws.send_binary, stream._file

        def send_binary(data, *a, **kw):
            if self.t0 is not None and self.wire is None:
                self.wire = time.monotonic()
            return ws_send(data, *a, **kw)

        def filed(data):
            self.reader.feed(time.monotonic(), data)
            file(data)
        stream._ws.send_binary = send_binary     # the writer thread calls self._ws.send_binary
        stream._file = filed                    # the reader thread calls self._file for each frame

    def arm(self, t0: float) -> None:
        self.wire = None
        self.reader.arm(t0)
        self.t0 = t0

    def collect(self, hit: float) -> None:
        if self.wire is not None and self.reader.hit is not None:
            self.send.append(self.wire - self.t0)
            self.hand.append(hit - self.reader.hit)
        self.t0 = None


def kit_echo(run: Run, endpoint: str, paced: bool = True) -> Variant:
    ari = run.ari
    cid, other = run.name("kecho" if paced else "kecho-s"), run.name("kecho2" if paced else "kecho2-s")
    run.channels += [cid, other]
    ari.channels.originate(endpoint=endpoint, app=ari.app, channel_id=cid, other_channel_id=other,
                           formats=CALL_FORMATS)
    ch = ari.wait_for("StasisStart", timeout=10, where=lambda e: e.channel.id == cid).channel
    stream = run.kit_media(ch, paced=paced)
    det = Detector()

    def reader():
        with contextlib.suppress(vk.StreamClosed):
            for frame in stream.frames(timeout=5):
                det.feed(time.monotonic(), frame)
    threading.Thread(target=reader, daemon=True, name="kit-echo-consumer").start()
    tech = ari.request("GET", f"/bridges/{stream.bridge.id}").get("technology", "?")
    if not paced:
        return Variant("kit-simple", "kit: ch.media(paced=False) + Local/n + Echo", stream.send, det, note=tech)
    return Variant("kit", "kit: ch.media() + Local/n + Echo", stream.send, det, note=tech, probe=KitProbe(stream))


def plain_echo(run: Run, endpoint: str, kind: str, key: str, label: str, formats: str | None = CALL_FORMATS) -> Variant:
    p = run.plain
    cid, other, media = run.name("pecho"), run.name("pecho2"), run.name("pemedia")
    p.originate(endpoint, cid, other, formats=formats)
    p.wait_start(cid)
    stream = p.media(media)
    run.plain_streams.append(stream)
    det = Detector()
    stream.on_frame = det.feed
    tech = p.bridge(run.name("pebridge"), kind, [cid, media])
    if not stream.media_start.wait(5):
        raise TimeoutError("no MEDIA_START")
    return Variant(key, label, stream.send_frames, det, note=tech)


def plain_loopback(run: Run, kind: str, key: str, label: str) -> Variant:
    """Two media streams in one bridge; what B hears, Python sends straight back on B."""
    p = run.plain
    a_id, b_id = run.name("pla"), run.name("plb")
    a = p.media(a_id)
    b = p.media(b_id)
    run.plain_streams += [a, b]
    det, one_way = Detector(), Detector()
    a.on_frame = det.feed

    def bounce(t, frame, ws=b.ws, feed=one_way.feed):
        ws.send_binary(frame)
        feed(t, frame)
    b.on_frame = bounce
    tech = p.bridge(run.name("plbridge"), kind, [a_id, b_id])
    return Variant(key, label, a.send_frames, det, one_way, note=tech)


def round_trips(run: Run, rounds: int) -> tuple[list[Variant], str]:
    try:
        has_9002 = "9002" in vk_lab.cli("dialplan show 9002@inbound")
    except Exception:
        has_9002 = True
    echo = "Local/9002@inbound" if has_9002 else "Local/9000@inbound"
    print(f"2. round trip: a 100 ms 1 kHz burst into a silent stream, until the first loud ~1 kHz frame comes "
          f"back; {rounds} interleaved rounds; echo = {echo}/n")
    if not has_9002:
        print("   (no 9002 in the lab's dialplan yet: using 9000 and waiting out its spoken prompt)")
    started = time.monotonic()
    variants = [
        kit_echo(run, echo + "/n"),
        kit_echo(run, echo + "/n", paced=False),
        plain_echo(run, echo + "/n", SOFTMIX, "plain", "plain: mixing,video_sfu + Local/n + Echo"),
        plain_echo(run, echo + "/n", SIMPLE, "simple", "plain: mixing + Local/n + Echo"),
        plain_echo(run, echo, SOFTMIX, "plain-no-n", "plain: mixing,video_sfu + Local (no /n) + Echo"),
        plain_echo(run, echo, SIMPLE, "simple-no-n", "plain: mixing + Local (no /n) + Echo"),
        plain_echo(run, echo + "/n", SOFTMIX, "plain-192", "plain: mixing,video_sfu + Local/n + Echo, ARI's "
                   "default formats (slin192)", formats=None),
        plain_loopback(run, SOFTMIX, "plain-loop", "plain: mixing,video_sfu + 2nd stream looped back"),
        plain_loopback(run, SIMPLE, "simple-loop", "plain: mixing + 2nd stream looped back"),
    ]
    started_last = time.monotonic()
    if has_9002:   # steady state: a softmix bridge's round trip grows ~2 s after it forms (see settling())
        time.sleep(max(0.0, started_last + 2.5 - time.monotonic()))
    else:                                   # the prompt is over once every echo has been quiet for 1.5 s
        deadline = started + 40
        while time.monotonic() < deadline and (time.monotonic() - started < 5 or any(
                time.monotonic() - v.det.last_loud < 1.5 for v in variants)):
            time.sleep(0.1)
        print(f"   prompt over after {time.monotonic() - started:.1f} s")
    for v in variants:                      # warm-up: the first send starts the kit's writer thread
        fire(v)
    for v in variants:
        v.rtt.clear(), v.ow.clear()
        v.misses = 0
        if v.probe:
            v.probe.send.clear(), v.probe.hand.clear()
    for _ in range(rounds):
        for v in variants:
            fire(v)
    return variants, echo


def fire(v: Variant) -> None:
    t0 = time.monotonic()
    v.det.arm(t0)
    if v.one_way:
        v.one_way.arm(t0)
    if v.probe:
        v.probe.arm(t0)
    v.send(BURST)
    if v.det.done.wait(2.0):
        v.rtt.append(v.det.hit)
        if v.probe:
            v.probe.collect(v.det.hit)
        if v.one_way and v.one_way.hit is not None:
            v.ow.append(v.one_way.hit)
    else:
        v.misses += 1
    # the rest of the burst comes back before the next one; the random part spreads the sends over
    # the 20 ms frame clock (else every send lands at the same phase of it, and so does the delay)
    time.sleep(0.15 + random.uniform(0, PTIME))


def report_round_trips(variants: list[Variant]) -> dict:
    print(f"  {'variant':50s} {'bridge tech':13s} {'median':>6s} {'p90':>6s} {'mean':>6s} (ms)")
    res = {}
    for v in variants:
        med, p90 = statistics.median(v.rtt) if v.rtt else float("nan"), pct(v.rtt, 90)
        mean = statistics.fmean(v.rtt) if v.rtt else float("nan")
        extra = f"  one-way A->B median {ms(statistics.median(v.ow))}" if v.ow else ""
        miss = f"  ({v.misses} bursts not heard)" if v.misses else ""
        print(f"  {v.label:50s} {v.note:13s} {ms(med):>6s} {ms(p90):>6s} {ms(mean):>6s}{extra}{miss}")
        res[v.key] = {"label": v.label, "median": med, "p90": p90, "mean": mean, "n": len(v.rtt), "tech": v.note,
                      "one_way": statistics.median(v.ow) if v.ow else None}
    d = lambda a, b: ms(res[a]["median"] - res[b]["median"])
    print(f"  -> the kit adds {d('kit', 'plain')} ms to the plain script (median; mean "
          f"{ms(res['kit']['mean'] - res['plain']['mean'])} ms; target <= 10 ms); each burst waits 0-20 ms "
          "for the frame clock, so a difference of medians of this many rounds is good to a few ms")
    print(f"  -> ch.media(paced=False) adds {d('kit-simple', 'simple')} ms to the plain two-party bridge, and saves "
          f"{d('kit', 'kit-simple')} ms against ch.media() (median)")
    probe = next(v.probe for v in variants if v.key == "kit")
    if probe.send:
        send, hand = statistics.median(probe.send), statistics.median(probe.hand)
        res["kit"]["own"] = send + hand
        print(f"     timed inside the kit: send() to the websocket (writer thread) median {ms(send)} ms "
              f"(max {ms(max(probe.send))}), reader thread to the frames() consumer median {ms(hand)} ms "
              f"(max {ms(max(probe.hand))}): the kit's own share {ms(send + hand)} ms")
    print("  where the plain round trip goes (differences of medians):")
    print(f"     softmix instead of simple_bridge: +{d('plain', 'simple')} ms with /n, +{d('plain-no-n', 'simple-no-n')} "
          "ms without")
    print(f"     Local without /n instead of with: {d('plain-no-n', 'plain')} ms (softmix), "
          f"{d('simple-no-n', 'simple')} ms (simple)")
    print(f"     the Local call in ARI's default formats (slin192) instead of slin16,ulaw: {d('plain-192', 'plain')} ms")
    print(f"     Local/n + Echo() instead of a 2nd media stream looped back in Python: {d('plain', 'plain-loop')} ms "
          f"(softmix), {d('simple', 'simple-loop')} ms (simple)")
    ow = res["simple-loop"]["one_way"]
    if ow is not None:
        print(f"     one way, websocket -> Asterisk -> websocket through simple_bridge: {ms(ow)} ms (median); "
              f"through softmix: {ms(res['plain-loop']['one_way'] or float('nan'))} ms")
    return res


def settling(run: Run, kind: str = SOFTMIX, early: float = 1.8, late: float = 2.5, n_late: int = 8) -> dict:
    """A fresh bridge with the echo: bursts in its first `early` s, then `n_late` after `late` s."""
    v = plain_echo(run, "Local/9002@inbound/n", kind, "settle", f"fresh {kind} bridge")
    started = time.monotonic()              # the bridge has just formed
    first, then = [], []
    while time.monotonic() - started < early:
        fire(v)
        first += v.rtt
        v.rtt.clear()
    time.sleep(max(0.0, started + late - time.monotonic()))
    for _ in range(n_late):
        fire(v)
    then = list(v.rtt)
    med = lambda x: statistics.median(x) if x else float("nan")
    print(f"  a fresh {kind} bridge ({v.note}): round trip median {ms(med(first))} ms in its first {early:g} s "
          f"({len(first)} bursts), {ms(med(then))} ms after {late:g} s ({len(then)} bursts)")
    return {"early": med(first), "late": med(then), "tech": v.note}


# --- 3. CPU per stream ----------------------------------------------------------------------------------

def cpu_window(seconds: float) -> tuple[float, float]:
    c0, w0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return time.process_time() - c0, time.monotonic() - w0


def kit_cpu_window(run: Run, n: int, seconds: float, per_frame: bool) -> tuple[float, float, int]:
    """n kit streams; a consumer per stream iterating frames() (per_frame) or reading once a second."""
    with ThreadPoolExecutor(6) as pool:
        streams = list(pool.map(lambda _: run.kit_pair(), range(n)))
    counts = [0] * n
    stop = threading.Event()

    def each_frame(i, s):
        with contextlib.suppress(vk.StreamClosed):
            for _frame in s.frames(timeout=5):
                counts[i] += 1
                if stop.is_set():
                    return

    def once_a_second(i, s):
        with contextlib.suppress(vk.StreamClosed):
            while not stop.wait(1.0):
                counts[i] += len(s.read(s.buffered, timeout=0)) // FRAME
    threads = [threading.Thread(target=each_frame if per_frame else once_a_second, args=(i, s), daemon=True)
               for i, s in enumerate(streams)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    f0 = sum(counts) if per_frame else sum(s.frames_received for s in streams)
    cpu, wall = cpu_window(seconds)
    frames = (sum(counts) if per_frame else sum(s.frames_received for s in streams)) - f0
    stop.set()
    for t in threads:
        t.join(2)
    run.close_kit_streams()
    run.hangup_kit_channels()
    return cpu, wall, frames


def plain_cpu_window(run: Run, n: int, seconds: float) -> tuple[float, float, int]:
    """n plain streams, each a websocket-client recv_data loop on its own thread."""
    with ThreadPoolExecutor(6) as pool:
        pstreams = list(pool.map(lambda _: run.plain_pair(), range(n)))
    time.sleep(0.5)
    f0 = sum(s.frames for s in pstreams)
    cpu, wall = cpu_window(seconds)
    frames = sum(s.frames for s in pstreams) - f0
    run.close_plain_streams()
    run.plain.cleanup()
    return cpu, wall, frames


def cpu_per_stream(run: Run, n: int, seconds: float, rounds: int = 3) -> dict:
    print(f"3. CPU: {n} streams, process CPU per stream (kit: a consumer thread per stream iterating frames(); "
          f"plain: a websocket-client recv_data loop per stream); {rounds} rounds of a {seconds:g} s window each, "
          "kit and plain taking turns so a busy moment on the shared machine hits both alike")
    idle_cpu, idle_wall = cpu_window(2.0)
    totals = {"kit": [0.0, 0.0, 0], "plain": [0.0, 0.0, 0]}
    ratios = []
    for r in range(rounds):
        kit = kit_cpu_window(run, n, seconds, per_frame=True)
        plain = plain_cpu_window(run, n, seconds)
        for key, (cpu, wall, frames) in (("kit", kit), ("plain", plain)):
            totals[key][0] += cpu
            totals[key][1] += wall
            totals[key][2] += frames
        ratios.append((kit[0] / max(kit[2], 1)) / (plain[0] / max(plain[2], 1)))
        print(f"  round {r + 1}: kit {kit[0] / max(kit[2], 1) * 1e6:.0f} us a frame, plain "
              f"{plain[0] / max(plain[2], 1) * 1e6:.0f} us a frame: {ratios[-1]:.2f}x")
    bulk_cpu, bulk_wall, bulk_frames = kit_cpu_window(run, n, seconds, per_frame=False)
    bulk_plain = plain_cpu_window(run, n, seconds)
    per = lambda cpu, wall: cpu / wall / n * 100      # % of one core per stream
    kit_cpu, kit_wall, kit_frames = totals["kit"]
    plain_cpu, plain_wall, plain_frames = totals["plain"]
    res = {"kit": per(kit_cpu, kit_wall), "plain": per(plain_cpu, plain_wall), "bulk": per(bulk_cpu, bulk_wall),
           "idle": idle_cpu / idle_wall * 100, "kit_frames": kit_frames, "plain_frames": plain_frames,
           "rounds": ratios}
    res["ratio"] = (kit_cpu / max(kit_frames, 1)) / (plain_cpu / max(plain_frames, 1))     # per frame delivered
    res["bulk_ratio"] = (bulk_cpu / max(bulk_frames, 1)) / (bulk_plain[0] / max(bulk_plain[2], 1))
    for label, pc, cpu, wall, frames in (("kit frames()", res["kit"], kit_cpu, kit_wall, kit_frames),
                                         ("plain", res["plain"], plain_cpu, plain_wall, plain_frames),
                                         ("kit read 1/s", res["bulk"], bulk_cpu, bulk_wall, bulk_frames)):
        print(f"  {label:13s} {pc:.2f} % of a core per stream ({cpu:.2f} s CPU in {wall:.1f} s, {frames} frames, "
              f"{cpu / max(frames, 1) * 1e6:.0f} us a frame)")
    print(f"  -> kit/plain {res['ratio']:.2f}x per frame over all rounds (target <= 1.2x; rounds "
          f"{', '.join(f'{x:.2f}' for x in ratios)}); with the consumer reading once a second instead of every "
          f"frame {res['bulk_ratio']:.2f}x (against a plain window right after it); the process idles at "
          f"{res['idle']:.2f} % of a core with no stream")
    return res


# --- 4. marks: when Asterisk says it played, against the estimate ----------------------------------------

MARK_CASES = ((0.2, 0.0), (0.5, 0.0), (1.0, 0.0), (2.0, 0.0), (1.0, 0.5))   # (seconds sent, of which still queued)


def marks(run: Run, rounds: int) -> dict:
    """stream.mark(): the time from the send to MEDIA_MARK_PROCESSED against the audio's length, and how far
    the kit's estimate (the 20 ms clock from when its writer sent the audio: what wait_played() was before
    Asterisk had marks, and still is on servers older than 22.8) is from what Asterisk said."""
    stream = run.kit_pair()
    print(f"4. Marks: {rounds} rounds of each case on one stream ({stream.control_format} control, Asterisk marks: "
          f"{stream.asterisk_marks}); audio sent at once, then mark(); times from the send")
    stream.read(0.5)
    rows = []
    for length, queued in MARK_CASES:
        lateness, errors = [], []
        for r in range(rounds):
            stream.read(stream.buffered, timeout=0)
            if queued:                          # the mark goes after audio already playing
                stream.send(audio.tone(500, queued))
                time.sleep(queued / 2)
            t0 = time.monotonic()
            stream.send(audio.tone(700, length))
            mark = stream.mark(f"bench-{length}-{queued}-{r}")
            if not mark.wait(timeout=length + queued + 5):
                raise RuntimeError(f"mark {mark.name} not played: {mark.how or 'timeout'}")
            due = length + (queued / 2 if queued else 0)    # what was still to play when it was sent
            lateness.append(mark.played_at - t0 - due)
            errors.append(mark.estimated_at - mark.played_at)
            time.sleep(random.uniform(0, 0.04))
        rows.append({"length": length, "queued": queued, "late_median": statistics.median(lateness),
                     "late_max": max(lateness), "late_min": min(lateness),
                     "err_median": statistics.median(errors), "err_max": max(errors, key=abs)})
        label = f"{length:g} s" + (f" after {queued / 2:g} s still queued" if queued else "")
        print(f"  {label:28s} MEDIA_MARK_PROCESSED {ms(statistics.median(lateness))} ms after the audio's end "
              f"(min {ms(min(lateness))}, max {ms(max(lateness))}); the estimate was off by "
              f"{ms(statistics.median(errors))} ms (worst {ms(max(errors, key=abs))})")
    run.close_kit_streams()
    run.hangup_kit_channels()
    return {"rows": rows, "control": stream.control_format,
            "late": statistics.median([r["late_median"] for r in rows]),
            "err": statistics.median([r["err_median"] for r in rows]),
            "err_worst": max((r["err_max"] for r in rows), key=abs)}


# --- main ------------------------------------------------------------------------------------------------

def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0, help="seconds per delivery level and CPU window")
    p.add_argument("--levels", default="1,10,50", help="concurrent streams per delivery level")
    p.add_argument("--rounds", type=int, default=15, help="round-trip bursts per variant")
    p.add_argument("--cpu-streams", type=int, default=10)
    p.add_argument("--cpu-rounds", type=int, default=3, help="kit/plain CPU windows, taking turns")
    p.add_argument("--mark-rounds", type=int, default=8, help="rounds of each mark case")
    p.add_argument("--only", default="delivery,rtt,cpu,marks", help="the parts to run, comma-separated")
    args = p.parse_args()
    only = set(args.only.split(","))
    levels = sorted({int(x) for x in args.levels.split(",")})
    logging.basicConfig(level=logging.WARNING, format="  log: %(name)s: %(message)s")

    began = time.monotonic()
    run = Run()
    before = lab_ids(run.ari)
    rows, rtt, cpu, echo, mk = [], {}, {}, "?", {}
    status = 0
    try:
        if "delivery" in only:
            rows = delivery(run, levels, args.seconds)
        if "rtt" in only:
            variants, echo = round_trips(run, args.rounds)
            rtt = report_round_trips(variants)
            run.close_kit_streams()
            run.close_plain_streams()
            run.hangup_kit_channels()
            run.plain.cleanup()
            if echo.startswith("Local/9002"):
                rtt["settle"] = settling(run)
                run.close_plain_streams()
                run.plain.cleanup()
        if "cpu" in only:
            cpu = cpu_per_stream(run, args.cpu_streams, args.seconds, args.cpu_rounds)
        if "marks" in only:
            mk = marks(run, args.mark_rounds)
    except Exception as e:
        status = 1
        print(f"FAILED: {type(e).__name__}: {e}")
    finally:
        run.cleanup()
        ours = run.ours()
        left: tuple[set, set] = (set(), set())
        after: tuple[set, set] = (set(), set())
        try:
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                after = lab_ids(run.ari)
                left = (after[0] & ours, after[1] & ours)
                if not left[0] and not left[1]:
                    break
                time.sleep(0.25)
            counts = (f"lab channels {len(before[0])} before / {len(after[0])} after, bridges {len(before[1])} / "
                      f"{len(after[1])} (others share the lab)")
        except vk.LabUnreachable:
            counts = "the lab did not answer at the end (restarted by someone?): nothing of ours can be left"
        run.close()
        threads = [t.name for t in threading.enumerate() if t.name.startswith(("vicifast-media", "plain-"))]
        print(f"cleanup: {counts}; of the {len(ours)} channels and bridges this run made, left: "
              f"{sorted(left[0] | left[1]) or 'none'}; media threads left: {threads or 'none'}")
        if left[0] or left[1]:
            status = 1

    if rows or rtt or cpu or mk:
        print()
        print(f"| slin16 media streams, lab on 127.0.0.1 (echo: {echo}/n) | kit | plain websocket-client | note |")
        print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['streams']} streams x {args.seconds:g} s: frames delivered | {r['got']}/{r['expected']} "
              f"= {r['pct']:.2f} % | | gap p99 {ms(r['p99'])} ms, max {ms(r['max'])} ms |")
    if rtt:
        kit, base = rtt["kit"], rtt["plain"]
        own = f"; timed inside the kit {ms(kit['own'])} ms" if "own" in kit else ""
        print(f"| round trip through Echo(), median (p90) | {ms(kit['median'])} ms ({ms(kit['p90'])}) | "
              f"{ms(base['median'])} ms ({ms(base['p90'])}) | kit adds {ms(kit['median'] - base['median'])} ms{own} |")
        simple, plain_simple = rtt["kit-simple"], rtt["simple"]
        print(f"| round trip, ch.media(paced=False) beside a plain two-party bridge | {ms(simple['median'])} ms "
              f"({ms(simple['p90'])}) | {ms(plain_simple['median'])} ms ({ms(plain_simple['p90'])}) | {simple['tech']} |")
        for key in ("simple", "plain-no-n", "simple-no-n", "plain-192", "plain-loop", "simple-loop"):
            v = rtt[key]
            ow = f", one-way {ms(v['one_way'])} ms" if v["one_way"] is not None else ""
            print(f"| {v['label'][7:]} | | {ms(v['median'])} ms ({ms(v['p90'])}) | {v['tech']}{ow} |")
        if "settle" in rtt:
            st = rtt["settle"]
            print(f"| fresh mixing,video_sfu bridge + Local/n + Echo: first 1.8 s / after 2.5 s | | "
                  f"{ms(st['early'])} ms / {ms(st['late'])} ms | {st['tech']} |")
    if cpu:
        print(f"| CPU per stream, {args.cpu_streams} streams | {cpu['kit']:.2f} % of a core | "
              f"{cpu['plain']:.2f} % of a core | {cpu['ratio']:.2f}x per frame (rounds "
              f"{', '.join(f'{x:.2f}' for x in cpu['rounds'])}); reading once a second "
              f"{cpu['bulk']:.2f} % = {cpu['bulk_ratio']:.2f}x |")
    if mk:
        print(f"| mark(): MEDIA_MARK_PROCESSED after the audio's end, median of cases | {ms(mk['late'])} ms "
              f"({mk['control']}) | | the 20 ms estimate off by {ms(mk['err'])} ms (worst {ms(mk['err_worst'])}) |")
    print(f"total {time.monotonic() - began:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
