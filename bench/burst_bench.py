"""Benchmark: bursts of calls all offered at once (300, 500, 1,000), plain script and the kit.

Each call: originate a Local channel into the app -> StasisStart -> answer -> hangup -> StasisEnd.
A burst posts every originate as fast as a pool of HTTP threads can (all calls are up at once, as
when a dialler fires a campaign), answers and hangs up each call as its StasisStart arrives, and
ends when every call's StasisEnd has come. It prints calls/s (calls / time from the first
originate to the last StasisEnd), how long the originates took, per-call latency, and what
Asterisk's busiest task processors held at the worst moment.

Bursts load Asterisk hard: run them against a private Asterisk (bench/private_lab.py), not the
shared lab others test on:

    python bench/private_lab.py up
    ARI_PORT=18088 AMI_PORT=15038 python bench/burst_bench.py [--sizes 300,500,1000] [--rounds 2]
    python bench/private_lab.py down

`--posters N` sets how many HTTP connections each client uses at once (each pool: the originates,
and the answers/hang-ups). With --posters 200 (about 400 connections) a lab whose http.conf keeps
Asterisk's default sessionlimit (100) refuses connections past the 100th ("HTTP session count
exceeded" in its log): the calls whose answer was refused ring until the originate times out (30
s), and a 1,000-call burst "completes" at about 11 calls/s. That is the burst cliff.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import websocket

import vicifast_kit as vk
from vicifast_kit import settings

# The far end of each call: the lab's simulated caller, which stays quiet (no speech, no DTMF).
CALLER_VARS = {"SIM_DELAY": "1", "SIM_DTMF": "", "SIM_SAY": "", "SIM_DURATION": "60", "SIM_TALK": ""}
POSTERS = 16          # HTTP threads posting originates (and answers/hang-ups) at once
FORMATS = "slin16,ulaw"   # as vk.lab.simulate_caller offers them


def originate_params(number: str) -> dict:
    return {"endpoint": f"Local/{number}@inbound/n", "context": "sim-caller", "extension": "s",
            "priority": 1, "callerId": '"Burst" <5550100>', "formats": FORMATS}


class PlainBurst:
    """requests.Session + websocket-client, one reader thread: what a careful script would write."""

    name = "plain"

    def __init__(self, app: str) -> None:
        cfg = settings.load()
        self.base = cfg.ari_url + "/ari"
        self.app = app
        self.local = threading.local()
        self.auth = (cfg.ari_user, cfg.ari_password)
        token = base64.b64encode(f"{cfg.ari_user}:{cfg.ari_password}".encode()).decode()
        url = self.base.replace("http", "ws", 1) + f"/events?app={app}"
        self.ws = websocket.create_connection(url, header=["Authorization: Basic " + token])
        self.pool = ThreadPoolExecutor(POSTERS, thread_name_prefix="plain-http")
        self.on_start = self.on_end = None
        self.reader = threading.Thread(target=self._read, daemon=True, name="plain-reader")
        self.reader.start()

    def session(self) -> requests.Session:
        s = getattr(self.local, "s", None)
        if s is None:
            s = self.local.s = requests.Session()
            s.auth = self.auth
        return s

    def _read(self) -> None:
        while True:
            try:
                msg = self.ws.recv()
            except Exception:
                return
            if not msg:
                return
            ev = json.loads(msg)
            t = ev.get("type")
            if t == "StasisStart":
                self.on_start(ev["channel"]["id"], ev["args"][-1])
            elif t == "StasisEnd":
                self.on_end(ev["channel"]["id"])

    def originate(self, number: str) -> None:
        self.session().post(self.base + "/channels", params=originate_params(number),
                            json={"variables": dict(CALLER_VARS, VICIFAST_APP=self.app)}).raise_for_status()

    def answer_hangup(self, cid: str) -> None:
        s = self.session()
        s.post(f"{self.base}/channels/{cid}/answer").raise_for_status()
        s.delete(f"{self.base}/channels/{cid}").raise_for_status()

    def close(self) -> None:
        self.ws.close()
        self.reader.join(2)
        self.pool.shutdown()


class KitBurst:
    """The kit: the same work with vk.connect, ari.on handlers and handles."""

    name = "kit"

    def __init__(self, app: str) -> None:
        self.ari = vk.connect(app=app)
        self.app = app
        self.pool = ThreadPoolExecutor(POSTERS, thread_name_prefix="kit-http")
        self.on_start = self.on_end = None
        self.ari.on("StasisStart", lambda e: self.on_start(e.channel, e.args[-1]))
        self.ari.on("StasisEnd", lambda e: self.on_end(e.channel.id))

    def originate(self, number: str) -> None:
        p = originate_params(number)
        self.ari.channels.originate(endpoint=p["endpoint"], context=p["context"], extension=p["extension"],
                                    priority=p["priority"], caller_id=p["callerId"], formats=p["formats"],
                                    variables=dict(CALLER_VARS, VICIFAST_APP=self.app))

    def answer_hangup(self, ch) -> None:
        ch.answer()
        ch.hangup()

    def close(self) -> None:
        self.pool.shutdown()
        self.ari.close()


def taskprocessor_peaks(cli, stop: threading.Event, peaks: dict) -> None:
    """Sample `core show taskprocessors` until stop; keep each queue's highest depth."""
    while not stop.wait(0.5):
        try:
            out = cli("core show taskprocessors")
        except Exception:
            continue
        for line in out.splitlines():
            parts = line.split()
            # Processor, Processed, In Queue, Max Depth, Low water, High water, ...
            if len(parts) >= 4 and parts[1].isdigit() and parts[2].isdigit():
                name, queued = parts[0], int(parts[2])
                if queued > peaks.get(name, 0):
                    peaks[name] = queued


def burst(client, n: int, timeout: float, cli=None) -> dict:
    """Offer n calls at once; answer and hang up each as it starts; wait for every StasisEnd."""
    prefix = f"7{uuid.uuid4().int % 10**5:05d}"
    numbers = [f"{prefix}{i:04d}" for i in range(n)]
    sent: dict[str, float] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    done = threading.Event()
    errors: list[str] = []
    ours: set[str] = set()
    ends = [0]

    def on_start(ch, number: str) -> None:
        if number not in sent:
            return
        cid = getattr(ch, "id", ch)
        with lock:
            ours.add(cid)
            sent[cid] = sent[number]
        client.pool.submit(guard, client.answer_hangup, ch)

    def on_end(cid: str) -> None:
        with lock:
            if cid not in ours:
                return
            ours.discard(cid)
            latencies.append(time.perf_counter() - sent[cid])
            ends[0] += 1
            if ends[0] == n:
                done.set()

    def guard(fn, *args) -> None:
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - counted and shown, the burst goes on
            errors.append(f"{type(e).__name__}: {e}"[:200])

    def originate(number: str) -> None:
        sent[number] = time.perf_counter()
        guard(client.originate, number)

    client.on_start, client.on_end = on_start, on_end
    peaks: dict[str, int] = {}
    stop = threading.Event()
    sampler = None
    if cli:
        sampler = threading.Thread(target=taskprocessor_peaks, args=(cli, stop, peaks), daemon=True,
                                   name="bench-taskprocessors")
        sampler.start()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(POSTERS, thread_name_prefix="originate") as posters:
        list(posters.map(originate, numbers))
    t_posted = time.perf_counter() - t0
    finished = done.wait(timeout)
    wall = time.perf_counter() - t0
    stop.set()
    if sampler:
        sampler.join(5)
    completed = ends[0]
    res = {"client": client.name, "calls": n, "completed": completed, "seconds": wall, "posted_s": t_posted,
           "cps": completed / wall, "finished": finished, "errors": len(errors),
           "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
           "p99_ms": sorted(latencies)[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan"),
           "peaks": dict(sorted(peaks.items(), key=lambda kv: -kv[1])[:4])}
    if errors:
        res["first_error"] = errors[0]
    return res


def show(r: dict) -> None:
    flag = "" if r["finished"] else f"  UNFINISHED ({r['completed']}/{r['calls']} ended)"
    print(f"  {r['client']:5s} {r['calls']:5d} at once: {r['cps']:6.1f} calls/s ({r['seconds']:6.2f} s; originates "
          f"posted in {r['posted_s']:5.2f} s), latency p50 {r['p50_ms']:7.0f} ms p99 {r['p99_ms']:7.0f} ms, "
          f"errors {r['errors']}{flag}")
    if r.get("first_error"):
        print(f"        first error: {r['first_error']}")
    if r["peaks"]:
        print("        deepest task processor queues: " + ", ".join(f"{k} {v}" for k, v in r["peaks"].items()))


def private_cli(root: Path):
    def cli(command: str) -> str:
        return subprocess.run(["chroot", str(root), "asterisk", "-C", "/etc/vicifast-asterisk/asterisk.conf",
                               "-rx", command], capture_output=True, text=True, timeout=20).stdout
    return cli


def settle(cli, limit: float = 120) -> None:
    """Wait until Asterisk holds no channel (the last burst's calls are gone) before the next one."""
    if not cli:
        time.sleep(3)
        return
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        out = cli("core show channels count")
        if out.strip().startswith("0 active channels") or " 0 active channels" in out:
            return
        time.sleep(1)


def main() -> int:
    global POSTERS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="300,500,1000")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--clients", default="plain,kit")
    p.add_argument("--posters", type=int, default=POSTERS, help="HTTP threads posting the originates")
    p.add_argument("--timeout", type=float, default=120.0, help="give up on a burst after this many seconds")
    p.add_argument("--root", type=Path, help="the private Asterisk's root (bench/private_lab.py): sample its "
                   "task processors and wait for its channels to clear between bursts")
    p.add_argument("--shared-lab", action="store_true", help="run against the shared lab's port anyway")
    args = p.parse_args()
    POSTERS = args.posters
    cfg = settings.load()
    if cfg.ari_url.endswith(":8088") and not args.shared_lab:
        print("This points at the shared lab (8088), which others use: run the bursts on a private Asterisk "
              "(bench/private_lab.py up; ARI_PORT=18088 AMI_PORT=15038), or pass --shared-lab", file=sys.stderr)
        return 2
    cli = private_cli(args.root) if args.root else None
    run_id = uuid.uuid4().hex[:6]
    clients = {}
    if "plain" in args.clients:
        clients["plain"] = PlainBurst(f"burst-plain-{run_id}")
    if "kit" in args.clients:
        clients["kit"] = KitBurst(f"burst-kit-{run_id}")
    if cli:
        print(cli("core show version").strip())
    print(f"bursts against {cfg.ari_url}: originate -> StasisStart -> answer -> hangup -> StasisEnd, "
          f"{POSTERS} HTTP threads per client")
    results = []
    try:
        for c in clients.values():                 # warm-up, unrecorded: connections opened, code loaded
            settle(cli)
            burst(c, 20, args.timeout)
        for size in [int(s) for s in args.sizes.split(",")]:
            for r in range(args.rounds):
                for c in clients.values():
                    settle(cli)
                    res = burst(c, size, args.timeout, cli)
                    show(res)
                    results.append(res)
    finally:
        settle(cli)
        for c in clients.values():
            c.close()
    print("summary (calls/s, each round):")
    for size in sorted({r["calls"] for r in results}):
        for name in clients:
            figs = [r["cps"] for r in results if r["calls"] == size and r["client"] == name]
            print(f"  {size:5d} at once, {name:5s}: " + ", ".join(f"{f:.0f}" for f in figs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
