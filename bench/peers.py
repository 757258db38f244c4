"""Benchmark: the kit against a plain script and two ARI libraries, the same work in the same run.

Each call: originate a Local channel into the app (the lab's simulated caller, quiet) ->
StasisStart -> answer -> hangup -> StasisEnd. Four clients do it, in turn, round after round:

  plain      requests.Session + websocket-client, one reader thread, hand-written routing
  kit        vicifast_kit: ari.channels.originate, ari.wait_for(...), ch.answer(), ch.hangup()
  kit-wire   the same with ari.wire() recording everything (bounded) the whole time
  ari-client ari-client 0.9.0 (asyncio, httpx, websockets, pydantic models)
  asyncari   asyncari 0.20.6 (anyio, asyncswagger11 over httpx)

The two libraries run from a virtualenv of their own, made by this script the first time under the
kit's cache folder (<cache>/bench-peers-venv; the project's .venv is never touched), as a child
process of this script (`peers.py --worker LIB`). ari-client's originate always names an app (the
far half would then enter the app as well), so its originate goes through its own HTTP client
with the same request as the others; everything else uses its API.

    python bench/peers.py [--calls 250] [--concurrency 8] [--rounds 3]

Prints each round's calls/s and the one-call latency (one call at a time), and every client's
median as a ratio to the plain script of the same run. Point it at a private Asterisk
(bench/private_lab.py; ARI_PORT=18088) to keep the shared lab quiet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

PEERS = {"ari-client": "ari-client==0.9.0", "asyncari": "asyncari==0.20.6"}
CALLER_VARS = {"SIM_DELAY": "1", "SIM_DTMF": "", "SIM_SAY": "", "SIM_DURATION": "60", "SIM_TALK": ""}
FORMATS = "slin16,ulaw"          # as vk.lab.simulate_caller offers them
TIMEOUT = 15.0


def originate_query(number: str) -> dict:
    """The originate's query parameters: the same request for every client."""
    return {"endpoint": f"Local/{number}@inbound/n", "context": "sim-caller", "extension": "s",
            "priority": "1", "callerId": '"Peer" <5550199>', "formats": FORMATS}


def variables(app: str) -> dict:
    return dict(CALLER_VARS, VICIFAST_APP=app)


def summarize(latencies: list[float], wall: float) -> dict:
    return {"calls": len(latencies), "cps": len(latencies) / wall, "p50_ms": statistics.median(latencies) * 1000}


# --- the peers, run inside their own virtualenv (only the standard library and the peer) ---------

async def _run_calls(call, n: int, concurrency: int, prefix: str) -> dict:
    numbers = iter(f"{prefix}{i:05d}" for i in range(n))
    latencies: list[float] = []

    async def worker():
        for number in numbers:
            latencies.append(await call(number))

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summarize(latencies, time.perf_counter() - t0)


async def ari_client_worker(cfg: dict, jobs: list[dict]) -> list[dict]:
    from ari_client import AriClient
    import logging
    logging.getLogger("ari_client").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    client = AriClient(cfg["host"], cfg["port"], cfg["user"], cfg["password"])
    await client.connect(cfg["app"])
    loop = asyncio.get_running_loop()
    starts: dict[str, asyncio.Future] = {}
    ends: dict[str, asyncio.Future] = {}

    @client.on_stasis_start
    async def on_start(ev):
        fut = starts.get(ev.args[-1] if ev.args else "")
        if fut is not None and not fut.done():
            ends[ev.channel.id] = loop.create_future()
            fut.set_result(ev.channel)

    @client.on_stasis_end
    async def on_end(ev):
        fut = ends.get(ev.channel.id)
        if fut is not None and not fut.done():
            fut.set_result(ev)

    async def call(number: str) -> float:
        t0 = time.perf_counter()
        starts[number] = loop.create_future()
        # Its own HTTP client: ari-client's originate() always adds "app" (see the module doc).
        r = await client.ari.client.post("/channels", params=originate_query(number),
                                         json={"variables": variables(cfg["app"])})
        r.raise_for_status()
        ch = await asyncio.wait_for(starts[number], TIMEOUT)
        del starts[number]
        await ch.answer()
        await ch.stop()
        await asyncio.wait_for(ends[ch.id], TIMEOUT)
        del ends[ch.id]
        return time.perf_counter() - t0

    try:
        return [await _run_calls(call, **job) for job in jobs]
    finally:
        client.event_listener.cancel()
        await client.ws.close()
        await client.ari.client.aclose()


async def asyncari_worker(cfg: dict, jobs: list[dict]) -> list[dict]:
    import asyncari
    import logging
    logging.getLogger("asyncari").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    results = []
    async with asyncari.connect(f"http://{cfg['host']}:{cfg['port']}/", cfg["app"], cfg["user"],
                                cfg["password"]) as client:
        loop = asyncio.get_running_loop()
        starts: dict[str, asyncio.Future] = {}
        ends: dict[str, asyncio.Future] = {}

        async def read_starts():
            async with client.on_channel_event("StasisStart") as listener:
                async for objs, ev in listener:
                    ch = objs["channel"] if isinstance(objs, dict) else objs   # a dict when the event has several
                    fut = starts.get((ev["args"] or [""])[-1])
                    if fut is not None and not fut.done():
                        ends[ch.id] = loop.create_future()
                        fut.set_result(ch)

        async def read_ends():
            async with client.on_channel_event("StasisEnd") as listener:
                async for objs, ev in listener:
                    ch = objs["channel"] if isinstance(objs, dict) else objs
                    fut = ends.get(ch.id)
                    if fut is not None and not fut.done():
                        fut.set_result(ev)

        client.taskgroup.start_soon(read_starts)
        client.taskgroup.start_soon(read_ends)
        await asyncio.sleep(0.2)

        async def call(number: str) -> float:
            t0 = time.perf_counter()
            starts[number] = loop.create_future()
            q = originate_query(number)
            await client.channels.originate(endpoint=q["endpoint"], context=q["context"], extension=q["extension"],
                                            priority=1, callerId=q["callerId"], formats=q["formats"],
                                            variables=variables(cfg["app"]))
            ch = await asyncio.wait_for(starts[number], TIMEOUT)
            del starts[number]
            await ch.answer()
            await ch.hangup()
            await asyncio.wait_for(ends[ch.id], TIMEOUT)
            del ends[ch.id]
            return time.perf_counter() - t0

        for job in jobs:
            results.append(await _run_calls(call, **job))
    return results


def worker_main(lib: str) -> int:
    """Child process: read the settings and jobs as JSON on stdin, print the results as JSON."""
    spec = json.loads(sys.stdin.read())
    fn = {"ari-client": ari_client_worker, "asyncari": asyncari_worker}[lib]
    print(json.dumps(asyncio.run(fn(spec["cfg"], spec["jobs"]))))
    return 0


# --- the plain script and the kit (the project's virtualenv) --------------------------------------

class Plain:
    """requests.Session + websocket-client with one reader thread: the least a script would write."""

    def __init__(self, app: str) -> None:
        import base64
        import queue
        import requests
        import websocket
        from vicifast_kit import settings
        cfg = settings.load()
        self.queue = queue
        self.base, self.app = cfg.ari_url + "/ari", app
        self.local = threading.local()
        self.auth = (cfg.ari_user, cfg.ari_password)
        self.requests = requests
        token = base64.b64encode(f"{cfg.ari_user}:{cfg.ari_password}".encode()).decode()
        self.ws = websocket.create_connection(self.base.replace("http", "ws", 1) + f"/events?app={app}",
                                              header=["Authorization: Basic " + token])
        self.lock = threading.Lock()
        self.starts: dict[str, object] = {}
        self.ends: dict[str, threading.Event] = {}
        self.reader = threading.Thread(target=self._read, daemon=True, name="plain-reader")
        self.reader.start()

    def _session(self):
        s = getattr(self.local, "s", None)
        if s is None:
            s = self.local.s = self.requests.Session()
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
                with self.lock:
                    q = self.starts.get((ev.get("args") or [""])[-1])
                    if q is not None:
                        self.ends[ev["channel"]["id"]] = threading.Event()
                if q is not None:
                    q.put(ev["channel"]["id"])
            elif t == "StasisEnd":
                with self.lock:
                    e = self.ends.get(ev["channel"]["id"])
                if e is not None:
                    e.set()

    def call(self, number: str) -> float:
        t0 = time.perf_counter()
        q = self.queue.Queue()
        with self.lock:
            self.starts[number] = q
        s = self._session()
        s.post(self.base + "/channels", params=originate_query(number),
               json={"variables": variables(self.app)}).raise_for_status()
        cid = q.get(timeout=TIMEOUT)
        with self.lock:
            del self.starts[number]
            end = self.ends[cid]
        s.post(f"{self.base}/channels/{cid}/answer").raise_for_status()
        s.delete(f"{self.base}/channels/{cid}").raise_for_status()
        if not end.wait(TIMEOUT):
            raise TimeoutError("no StasisEnd")
        with self.lock:
            del self.ends[cid]
        return time.perf_counter() - t0

    def close(self) -> None:
        self.ws.close()
        self.reader.join(2)


class Kit:
    """The kit, used as its README shows."""

    def __init__(self, app: str) -> None:
        import vicifast_kit as vk
        self.ari = vk.connect(app=app)
        self.app = app

    def call(self, number: str) -> float:
        t0 = time.perf_counter()
        q = originate_query(number)
        self.ari.channels.originate(endpoint=q["endpoint"], context=q["context"], extension=q["extension"],
                                    priority=1, caller_id=q["callerId"], formats=q["formats"],
                                    variables=variables(self.app))
        ch = self.ari.wait_for("StasisStart", timeout=TIMEOUT, where=lambda e: e.args[-1] == number).channel
        ch.answer()
        ch.hangup()
        ch.wait_for("StasisEnd", timeout=TIMEOUT)
        return time.perf_counter() - t0

    def close(self) -> None:
        self.ari.close()


class KitOnTheWire(Kit):
    """The kit with ari.wire() open the whole time (the issue's goal: at most 10 % slower than the kit)."""

    def __init__(self, app: str) -> None:
        super().__init__(app)
        self.wire = self.ari.wire()

    def close(self) -> None:
        self.wire.stop()
        super().close()


def run_sync(call, n: int, concurrency: int, prefix: str) -> dict:
    from concurrent.futures import ThreadPoolExecutor
    numbers = [f"{prefix}{i:05d}" for i in range(n)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency, thread_name_prefix="bench-call") as pool:
        latencies = list(pool.map(call, numbers))
    return summarize(latencies, time.perf_counter() - t0)


def peers_python() -> Path:
    """The peers' own virtualenv (made on first use): its python."""
    from vicifast_kit.lab import rootfs
    venv = rootfs.cache_dir() / "bench-peers-venv"
    python = venv / "bin" / "python"
    marker = venv / "peers.txt"
    wanted = "\n".join(PEERS.values())
    if not python.exists() or not marker.exists() or marker.read_text() != wanted:
        print(f"making the peers' virtualenv in {venv} ({', '.join(PEERS.values())})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEERS.values()], check=True)
        marker.write_text(wanted)
    return python


def run_peer(lib: str, jobs: list[dict]) -> list[dict]:
    from urllib.parse import urlsplit
    from vicifast_kit import settings
    cfg = settings.load()
    url = urlsplit(cfg.ari_url)
    spec = {"cfg": {"host": url.hostname, "port": url.port or 80, "user": cfg.ari_user,
                    "password": cfg.ari_password, "app": f"bench-{lib}-{uuid.uuid4().hex[:6]}"}, "jobs": jobs}
    out = subprocess.run([str(peers_python()), __file__, "--worker", lib], input=json.dumps(spec),
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{lib} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=250)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--latency-calls", type=int, default=20, help="one-call-at-a-time calls per round")
    p.add_argument("--clients", default="plain,kit,kit-wire,ari-client,asyncari")
    args = p.parse_args()
    from vicifast_kit import settings
    names = args.clients.split(",")
    run_id = uuid.uuid4().hex[:4]
    sync = {}
    if "plain" in names:
        sync["plain"] = Plain(f"bench-plain-{run_id}")
    if "kit" in names:
        sync["kit"] = Kit(f"bench-kit-{run_id}")
    if "kit-wire" in names:
        sync["kit-wire"] = KitOnTheWire(f"bench-wire-{run_id}")
    print(f"{settings.load().ari_url}: {args.calls} calls per round, {args.concurrency} at a time, and "
          f"{args.latency_calls} one at a time (originate -> StasisStart -> answer -> hangup -> StasisEnd)")
    tput: dict[str, list[float]] = {n: [] for n in names}
    lat: dict[str, list[float]] = {n: [] for n in names}
    ratios_t: dict[str, list[float]] = {n: [] for n in names}
    ratios_l: dict[str, list[float]] = {n: [] for n in names}
    try:
        for r in range(-1, args.rounds):          # round -1 warms every client up, unrecorded
            n = 20 if r < 0 else args.calls
            m = 5 if r < 0 else args.latency_calls
            got = {}
            for i, name in enumerate(names):
                prefix = f"6{r + 1}{i}"
                jobs = [{"n": n, "concurrency": args.concurrency, "prefix": prefix + "0"},
                        {"n": m, "concurrency": 1, "prefix": prefix + "1"}]
                if name in sync:
                    got[name] = [run_sync(sync[name].call, j["n"], j["concurrency"], j["prefix"]) for j in jobs]
                else:
                    got[name] = run_peer(name, jobs)
            if r < 0:
                continue
            line = []
            for name in names:
                t, l = got[name][0]["cps"], got[name][1]["p50_ms"]
                tput[name].append(t)
                lat[name].append(l)
                if "plain" in got:
                    ratios_t[name].append(t / got["plain"][0]["cps"])
                    ratios_l[name].append(l / got["plain"][1]["p50_ms"])
                line.append(f"{name} {t:5.0f}/s {l:5.1f} ms")
            print(f"  round {r + 1}: " + " | ".join(line), flush=True)
    finally:
        for c in sync.values():
            c.close()
    print("median of rounds (ratio to plain, from the same rounds):")
    print(f"  {'client':10s} {'calls/s':>8s} {'x plain':>8s} {'1-call ms':>10s} {'x plain':>8s}")
    for name in names:
        rt = f"{statistics.median(ratios_t[name]):.2f}" if ratios_t[name] else "-"
        rl = f"{statistics.median(ratios_l[name]):.2f}" if ratios_l[name] else "-"
        print(f"  {name:10s} {statistics.median(tput[name]):8.0f} {rt:>8s} {statistics.median(lat[name]):10.1f} {rl:>8s}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(worker_main(sys.argv[2]))
    sys.exit(main())
