"""Benchmark: the kit's client against a plain baseline, on the real lab, in the same run.

Each simulated call: originate (a lab simulated caller) -> StasisStart -> answer -> hangup ->
StasisEnd. The baseline does the same with a requests.Session and websocket-client (one reader
thread, hand-written routing). Also: the latency of ari.asterisk.get_info() against a plain session
GET, and whether any event is lost over a larger run.

    python bench/client_bench.py [--calls 200] [--concurrency 8] [--lost-calls 1000]
"""

from __future__ import annotations

import argparse
import base64
import json
import queue
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
import websocket

import vicifast_kit as vk
from vicifast_kit import settings
from vicifast_kit.lab.simulate import simulate_caller

CALLER_VARS = {"SIM_DELAY": "1", "SIM_DTMF": "", "SIM_DURATION": "30", "SIM_TALK": ""}


class Baseline:
    """requests.Session + websocket-client with one reader thread: the least a script would write."""

    def __init__(self, app: str) -> None:
        cfg = settings.load()
        self.base = cfg.ari_url + "/ari"
        self.app = app
        self.s = requests.Session()
        self.s.auth = (cfg.ari_user, cfg.ari_password)
        token = base64.b64encode(f"{cfg.ari_user}:{cfg.ari_password}".encode()).decode()
        url = self.base.replace("http", "ws", 1) + f"/events?app={app}"
        self.ws = websocket.create_connection(url, header=["Authorization: Basic " + token])
        self.lock = threading.Lock()
        self.starts: dict[str, queue.Queue] = {}    # number -> queue of the StasisStart channel
        self.ends: dict[str, threading.Event] = {}  # channel id -> set at StasisEnd
        self.counts = {"StasisStart": 0, "StasisEnd": 0}
        self.reader = threading.Thread(target=self._read, daemon=True, name="baseline-reader")
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
            t = ev.get("type")
            if t == "StasisStart":
                self.counts[t] += 1
                num = (ev.get("args") or ["", ""])[-1]
                with self.lock:
                    q = self.starts.setdefault(num, queue.Queue())
                q.put(ev["channel"]["id"])
            elif t == "StasisEnd":
                self.counts[t] += 1
                with self.lock:
                    e = self.ends.setdefault(ev["channel"]["id"], threading.Event())
                e.set()

    def call(self, number: str) -> float:
        t0 = time.perf_counter()
        with self.lock:
            q = self.starts.setdefault(number, queue.Queue())
        r = self.s.post(self.base + "/channels", params={
            "endpoint": f"Local/{number}@inbound/n", "context": "sim-caller", "extension": "s", "priority": 1,
            "callerId": '"Caller" <5551234>'}, json={"variables": dict(CALLER_VARS, VICIFAST_APP=self.app)})
        r.raise_for_status()
        cid = q.get(timeout=10)
        with self.lock:
            end = self.ends.setdefault(cid, threading.Event())
        self.s.post(f"{self.base}/channels/{cid}/answer").raise_for_status()
        self.s.delete(f"{self.base}/channels/{cid}").raise_for_status()
        if not end.wait(10):
            raise TimeoutError("no StasisEnd")
        with self.lock:
            self.starts.pop(number, None)
            self.ends.pop(cid, None)
        return time.perf_counter() - t0

    def close(self) -> None:
        self.ws.close()
        self.reader.join(2)
        self.s.close()


def kit_call(ari: vk.ARIClient, number: str) -> float:
    t0 = time.perf_counter()
    simulate_caller(ari, delay=1, duration=30, number=number)
    ch = ari.wait_for("StasisStart", timeout=10, where=lambda e: e.raw["args"][-1] == number).channel
    ch.answer()
    ch.hangup()
    ch.wait_for("StasisEnd", timeout=10)
    return time.perf_counter() - t0


def run(label: str, call, n: int, concurrency: int, prefix: str, quiet: bool = False) -> dict:
    numbers = [f"{prefix}{i:05d}" for i in range(n)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(call, numbers))
    wall = time.perf_counter() - t0
    res = {"label": label, "calls": n, "seconds": wall, "cps": n / wall,
           "p50_ms": statistics.median(latencies) * 1000, "mean_ms": statistics.fmean(latencies) * 1000}
    if quiet:
        return res
    print(f"  {label:9s} {n} calls in {wall:6.2f} s = {res['cps']:6.1f} calls/s; call latency "
          f"median {res['p50_ms']:.1f} ms, mean {res['mean_ms']:.1f} ms")
    return res


def get_info_latency(ari: vk.ARIClient, n: int = 500) -> None:
    cfg = settings.load()
    s = requests.Session()
    s.auth = (cfg.ari_user, cfg.ari_password)
    url = cfg.ari_url + "/ari/asterisk/info"

    def measure(fn):
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1e6, statistics.fmean(times) * 1e6

    for _ in range(50):
        s.get(url).json()
        ari.asterisk.get_info()
    plain = measure(lambda: s.get(url).json())
    kit = measure(lambda: ari.asterisk.get_info())
    plain2 = measure(lambda: s.get(url).json())
    plain = (min(plain[0], plain2[0]), min(plain[1], plain2[1]))
    print(f"get_info: kit median {kit[0]:.0f} us (mean {kit[1]:.0f}), plain GET median {plain[0]:.0f} us "
          f"(mean {plain[1]:.0f}) -> {kit[0] / plain[0]:.2f}x")
    s.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--lost-calls", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3, help="alternating kit/baseline throughput rounds")
    p.add_argument("--latency-rounds", type=int, default=6, help="alternating one-at-a-time latency rounds")
    args = p.parse_args()
    run_id = uuid.uuid4().hex[:6]
    ari = vk.connect(app=f"bench-kit-{run_id}")
    base = Baseline(f"bench-base-{run_id}")
    try:
        print(f"{args.calls} simulated calls per round, {args.concurrency} at a time "
              "(originate -> StasisStart -> answer -> hangup -> StasisEnd)")
        run("warm-up", lambda n: kit_call(ari, n), 20, args.concurrency, "560")
        run("warm-up", base.call, 20, args.concurrency, "561")
        kits, bases = [], []
        for r in range(args.rounds):
            bases.append(run("baseline", base.call, args.calls, args.concurrency, f"57{r}"))
            kits.append(run("kit", lambda n: kit_call(ari, n), args.calls, args.concurrency, f"58{r}"))
        kit_cps = sum(k["cps"] for k in kits) / len(kits)
        base_cps = sum(b["cps"] for b in bases) / len(bases)
        print(f"throughput: kit {kit_cps:.1f} calls/s, baseline {base_cps:.1f} calls/s -> "
              f"{kit_cps / base_cps:.2f}x (target >= 1.0x)")
        # Latency without queuing: one call at a time, alternating, many short rounds.
        klat, blat = [], []
        for r in range(args.latency_rounds):
            blat.append(run("baseline", base.call, 10, 1, f"54{r:02d}", quiet=True)["p50_ms"])
            klat.append(run("kit", lambda n: kit_call(ari, n), 10, 1, f"55{r:02d}", quiet=True)["p50_ms"])
        kit_lat, base_lat = statistics.median(klat), statistics.median(blat)
        print(f"call latency, one call at a time (median of round medians): kit {kit_lat:.1f} ms, "
              f"baseline {base_lat:.1f} ms -> {kit_lat / base_lat:.2f}x (target <= 1.15x)")
        get_info_latency(ari)

        # Lost events: every call must bring exactly one StasisStart and one StasisEnd.
        starts, ends = [], []
        ari.on("StasisStart", starts.append)
        ari.on("StasisEnd", ends.append)
        before = ari.context.events.received
        run("kit", lambda n: kit_call(ari, n), args.lost_calls, args.concurrency, "59")
        time.sleep(1.0)
        lost = {"StasisStart": args.lost_calls - len(starts), "StasisEnd": args.lost_calls - len(ends)}
        flag = "OK" if not any(lost.values()) and not ari.context.events.dropped else "LOST EVENTS"
        print(f"events at {args.lost_calls} calls: {ari.context.events.received - before} received, handlers saw "
              f"{len(starts)} StasisStart / {len(ends)} StasisEnd, lost {lost}, dispatcher drops "
              f"{ari.context.events.dropped} -> {flag}")
        return 0 if flag == "OK" else 1
    finally:
        base.close()
        ari.close()


if __name__ == "__main__":
    sys.exit(main())
