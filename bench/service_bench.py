"""Benchmark: a call flow served by `vicifast-kit serve` (one instance, two sharing the calls) beside a plain script.

Every service here does the least a call flow does: answer the call, hang it up. The callers are the same
in every run: `vicifast-kit load`'s light callers (vicifast_kit/service/load.py), N of them placed at R per
second, counted from their side. For each service it prints how many calls were handled, the calls handled
per second (handled / time from the first dial to the last end) and the answer time's p50/p90/p99 (from
dialling to the answer, as the caller sees it); then each figure as a ratio to the plain script of the
same round. The services:

  plain        requests.Session + websocket-client in this process: on StasisStart, answer and hang up
               (what a careful script would write; dialled through the `service` context)
  kit 1        `vicifast-kit serve` of the same flow as a vk.App, one process (the `service` context)
  kit 1 shared the same, one instance of a shared app (`serve --instance a`; `service-shared`:
               StasisBroadcast offers each call, the instance claims it)
  kit 2 shared two instances sharing the calls (`serve --instance a` and `b`)

    python bench/service_bench.py [--callers 300] [--rate 1000] [--rounds 2]

The default rate is more than one placing thread can dial: the callers come as fast as they can be placed,
and calls/s is what the service (and the lab) handle flat out. `--rate 40` measures the answer time at a
steady pace the services all keep up with. Point it at a private Asterisk (bench/private_lab.py;
ARI_PORT=18088 AMI_PORT=15038) to keep the shared lab quiet. On a machine of 2 cores where Asterisk, the
callers and the services share the cores, a second instance adds no capacity: the figures say what the
sharing costs, not how it scales.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import websocket

from vicifast_kit import settings
from vicifast_kit.service.load import Load, LoadResult, ServiceProcess, calls_handled_twice

SERVICE = '''
import os
import vicifast_kit as vk

app = vk.App(os.environ["BENCH_APP"], max_calls=300, drain_timeout=30, shared=os.environ.get("BENCH_SHARED") == "1")


@app.call
def answer_and_hang_up(call):
    call.answer()
    call.hangup()
'''


class PlainService:
    """The baseline: a plain script (requests + websocket-client) that answers each call and hangs it up."""

    def __init__(self, app: str, threads: int = 8) -> None:
        cfg = settings.load()
        self.base = cfg.ari_url + "/ari"
        self.auth = (cfg.ari_user, cfg.ari_password)
        self.local = threading.local()
        token = base64.b64encode(f"{cfg.ari_user}:{cfg.ari_password}".encode()).decode()
        url = self.base.replace("http", "ws", 1) + f"/events?app={app}"
        self.ws = websocket.create_connection(url, header=["Authorization: Basic " + token])
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="bench-plain-http")
        self.reader = threading.Thread(target=self._read, daemon=True, name="bench-plain-reader")
        self.reader.start()

    def _session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
            session.auth = self.auth
        return session

    def _read(self) -> None:
        while True:
            try:
                text = self.ws.recv()
            except Exception:
                return
            if not text:
                return
            event = json.loads(text)
            if event.get("type") == "StasisStart":
                self.pool.submit(self._answer_and_hang_up, event["channel"]["id"])

    def _answer_and_hang_up(self, ident: str) -> None:
        session = self._session()
        try:
            session.post(f"{self.base}/channels/{ident}/answer", timeout=10)
            session.delete(f"{self.base}/channels/{ident}", timeout=10)
        except requests.RequestException:
            pass

    def close(self) -> None:
        """Close the websocket and the HTTP threads."""
        self.ws.close()
        self.reader.join(5)
        self.pool.shutdown()


def one_run(name: str, app: str, callers: int, rate: float, shared: bool) -> LoadResult:
    """One load of `callers` at `rate` into the app; the callers wait long enough never to give up first."""
    return Load(app, callers, rate, delay=0.0, duration=30.0, patience=20.0, shared=shared).run(timeout=120)


def show(name: str, result: LoadResult, base: LoadResult | None) -> None:
    """One row: the figures, and their ratio to the plain script's of the same round."""
    p = [result.answer_time(q) for q in (50, 90, 99)]
    text = (f"  {name:13s} {result.handled:4d}/{result.callers} handled, {result.per_second:6.1f} calls/s, answer "
            + " / ".join("-" if v is None else f"{v * 1000:6.1f}" for v in p) + " ms (p50/p90/p99)")
    if base is not None and base is not result and base.per_second and base.answer_time(50):
        text += (f"   x{result.per_second / base.per_second:.2f} calls/s, "
                 f"x{(result.answer_time(50) or 0) / base.answer_time(50):.1f} p50 of plain")
    other = {k: v for k, v in result.counts.items() if v and k != "handled"}
    if other:
        text += f"   ({', '.join(f'{v} {k}' for k, v in other.items())})"
    print(text)


def main() -> int:
    """Run the rounds and print each service's figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=300, help="callers per run (300)")
    parser.add_argument("--rate", type=float, default=1000.0,
                        help="callers placed per second (1000: as fast as they can be placed)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the four services (2)")
    args = parser.parse_args()
    run_id = uuid.uuid4().hex[:6]
    folder = Path(tempfile.mkdtemp(prefix="vicifast-service-bench-"))
    path = folder / "service.py"
    path.write_text(SERVICE)
    cfg = settings.load()
    print(f"{args.callers} callers at {args.rate:g}/s against {cfg.ari_url}, each service answers and hangs up; "
          f"{args.rounds} round(s)")
    names = ("plain", "kit 1", "kit 1 shared", "kit 2 shared")
    results: dict[str, list[LoadResult]] = {name: [] for name in names}
    twice: list[str] = []
    plain = PlainService(f"bench-plain-{run_id}")
    try:
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}:")
            base = one_run("plain", f"bench-plain-{run_id}", args.callers, args.rate, False)
            results["plain"].append(base)
            show("plain", base, None)
            for name, instances, shared in (("kit 1", 1, False), ("kit 1 shared", 1, True), ("kit 2 shared", 2, True)):
                app = f"bench-kit-{run_id}-{round_}-{instances}{'s' if shared else ''}"
                env = {"BENCH_APP": app, "BENCH_SHARED": "1" if shared else "0"}
                services = [ServiceProcess(str(path), env=env, instance=chr(ord("a") + i) if shared else None)
                            for i in range(instances)]
                try:
                    result = one_run(name, app, args.callers, args.rate, shared)
                finally:
                    for service in services:
                        service.stop(60)
                        service.close()
                twice += calls_handled_twice(services)
                results[name].append(result)
                show(name, result, base)
    finally:
        plain.close()
        path.unlink()
        folder.rmdir()
    print("medians over the rounds:")
    base_cps = statistics.median(r.per_second for r in results["plain"])
    base_p50 = statistics.median(r.answer_time(50) or 0 for r in results["plain"])
    for name in names:
        cps = statistics.median(r.per_second for r in results[name])
        p50 = statistics.median(r.answer_time(50) or 0 for r in results[name])
        p99 = statistics.median(r.answer_time(99) or 0 for r in results[name])
        handled = statistics.median(r.handled for r in results[name])
        ratio = "" if name == "plain" else f"   x{cps / base_cps:.2f} calls/s, x{p50 / base_p50:.1f} p50 of plain"
        print(f"  {name:13s} {handled:5.0f} handled, {cps:6.1f} calls/s, answer p50 {p50 * 1000:6.1f} ms, "
              f"p99 {p99 * 1000:6.1f} ms{ratio}")
    print(f"calls handled twice (the instances' logs): {len(twice)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
