"""Benchmark: the Phone where a newcomer meets it (notebook 06) against the same Phone alone, in one run.

Every scene runs JupyterLab and Debian's Chromium on this machine, with the lab. Chromium's fake
microphone plays a 200 ms beep every second. In the Phone's scenes a Phone calls 9002 (the echo) for
--seconds, and the page measures it: mouth to ear as heard, page to page, underruns, gaps between
frames, and the stage-by-stage breakdown on the page's and the kernel's shared clock. Through the
echo, what comes back follows both directions; `--number 9001` (music on hold, a steady source)
measures what the page is sent alone.

  stock comm   no call and no kit: a bare anywidget (bench/comm_ticker.js) whose kernel thread sends
               a 640-byte frame every 20 ms on the dot (absolute deadlines), through a stock Jupyter
               Server (its kernel websocket as it comes). The gaps between frames reaching the page
               are the widget comm's floor (kernel -> JupyterLab's server -> the page's main thread)
  comm         the same through Jupyter Server with the kit's extension (vicifast_kit.notebook_server:
               the kernel websocket with TCP_NODELAY, no busy/idle redraws for widget messages), as
               the lab's JupyterLab runs
  alone        a notebook with only that Phone: the quietest page the Phone can have
  notebook 06  the real notebooks/06 run top to bottom to its own Phone (joined to watch-room and
               live). A Dashboard, a CallFlow and a Listen on a talking caller are live beside it;
               the echo Phone comes in a cell after it. The rest of the notebook then runs, with its
               clean-up.

    python bench/phone_bench.py [--seconds 60] [--number 9002|9001] [--only stock-comm|comm|alone|notebook06]

Prints each scene's figures, then the comm's with the extension as ratios to the stock one's and
notebook 06's as ratios to alone's. The plain media round trip of the same lab path (the kernel
alone, no page) is the baseline for "added": the Phone's goal is that the page and the comm add at
most 60 ms over it, with no underruns and a p99 gap of 30 ms or less. The lab must be up (`vicifast-kit lab up`); each scene takes about --seconds + 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import vicifast_kit as vk  # noqa: E402

from browser_helpers import ARGS, chromium_page, dismiss_news, notebook, running_jupyterlab  # noqa: E402
from client_helpers import cleanup, unique_app, wait_until  # noqa: E402
from phone_figures import beeping_microphone, cpu_by_process, data, plain_round_trip  # noqa: E402

NOTEBOOK_06 = ROOT / "notebooks" / "06_watching_with_widgets.ipynb"
# Jupyter Server's own kernel websocket class and untracked message types, named in its config: the kit's
# extension then leaves both as they are (a stock server).
STOCK = ("--ServerApp.kernel_websocket_connection_class="
         "jupyter_server.services.kernels.connection.channels.ZMQChannelsWebsocketConnection",)


def stock_config(tmp: Path) -> None:
    """Name Jupyter Server's own untracked message types in the server's config (JUPYTER_CONFIG_DIR)."""
    from jupyter_server.services.kernels.kernelmanager import MappingKernelManager
    default = MappingKernelManager.class_traits()["untracked_message_types"].default()
    (tmp / "config").mkdir(exist_ok=True)
    (tmp / "config" / "jupyter_server_config.json").write_text(
        json.dumps({"MappingKernelManager": {"untracked_message_types": list(default)}}))
ECHO_CELL = "echo = Phone(ari, {number!r})   # the benchmark's Phone, beside the notebook's own\necho"


TICKER_CELL = """import pathlib, threading, time, anywidget
class Ticker(anywidget.AnyWidget):
    _esm = pathlib.Path({js!r})

ticker = Ticker()

def tick(seconds):
    frame, due = bytes(640), time.monotonic()
    for _ in range(int(seconds / 0.02)):
        due += 0.02
        time.sleep(max(0.0, due - time.monotonic()))
        ticker.send({{"t": "a"}}, buffers=[frame])

threading.Thread(target=tick, args=({seconds!r},), name="bench-ticker", daemon=True).start()
ticker"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def comm_floor(base: str, token: str, tmp: Path, seconds: float) -> dict:
    """The widget comm alone: a frame sent every 20 ms by a kernel thread, the gaps as they reach the page."""
    cell = TICKER_CELL.format(js=str(Path(__file__).with_name("comm_ticker.js")), seconds=seconds)
    (tmp / "comm.ipynb").write_text(json.dumps(notebook([cell])))
    with chromium_page(tmp, {"width": 1280, "height": 1400}) as page:
        run_cells(page, base, token, "comm.ipynb", 1)
        ticker = page.locator(".vk-ticker")
        ticker.wait_for(timeout=60_000)
        started, machine0 = time.monotonic(), cpu_by_process()
        want = int(seconds / 0.02) - 5
        wait_until(lambda: int(ticker.get_attribute("data-count") or 0) >= want, timeout=seconds + 30, step=0.5)
        machine, took = cpu_by_process(), time.monotonic() - started
        gaps = json.loads(ticker.evaluate("e => e.report()"))
    return {"gap_p50": percentile(gaps, 0.5), "gap_p99": percentile(gaps, 0.99), "gap_max": max(gaps),
            "over_30": sum(g > 30 for g in gaps) / len(gaps), "count": len(gaps),
            "cpu": {k: (machine[k] - machine0.get(k, 0.0)) / took for k in machine},
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def alone_notebook(tmp: Path, app: str, number: str) -> tuple[str, int]:
    """A notebook with one Phone to the echo: (its name, how many cells to run for the Phone)."""
    cells = [f"import vicifast_kit as vk\nfrom vicifast_kit.widgets import Phone\nari = vk.connect(app={app!r})",
             ECHO_CELL.format(number=number)]
    (tmp / "alone.ipynb").write_text(json.dumps(notebook(cells)))
    return "alone.ipynb", len(cells)


def notebook_06(tmp: Path, number: str = "9002") -> tuple[str, int]:
    """Notebook 06 as shipped (stored outputs and all) with the echo Phone after its own Phone's cell."""
    nb = json.loads(NOTEBOOK_06.read_text())
    cells = nb["cells"]
    at = next(i for i, c in enumerate(cells) if c["cell_type"] == "code" and "Phone(ari, join=" in "".join(c["source"]))
    cells.insert(at + 1, notebook([ECHO_CELL.format(number=number)])["cells"][0])
    (tmp / NOTEBOOK_06.name).write_text(json.dumps(nb))
    shutil.copytree(NOTEBOOK_06.parent / "solutions", tmp / "solutions")
    return NOTEBOOK_06.name, at + 2


def run_cells(page, base: str, token: str, name: str, count: int) -> None:
    """Open the notebook and press Shift+Enter `count` times from its first cell, as a reader would."""
    page.goto(f"{base}/lab/tree/{name}?token={token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=30_000)
    page.get_by_text("| Idle").first.wait_for(timeout=30_000)
    page.keyboard.press("Control+b")                     # the file browser closed, as in the browser tests
    page.locator(".jp-Notebook .jp-Cell").first.click()
    for _ in range(count):
        page.keyboard.press("Shift+Enter")
        page.wait_for_timeout(300)


def measure(page, phone, seconds: float, echo: bool = True) -> dict:
    """Call on this Phone, hold the call `seconds`, and read the page's figures (mouth to ear only through an echo)."""
    phone.locator("button.vk-phone-call").click()
    phone.locator(".vk-audio-state", has_text="live").wait_for(timeout=20_000)
    started, machine0 = time.monotonic(), cpu_by_process()
    if echo:
        wait_until(lambda: data(phone, "latencyMs") != "", timeout=20)
    page.wait_for_timeout(max(0.0, seconds - (time.monotonic() - started)) * 1000)
    minutes = (time.monotonic() - started) / 60
    machine = cpu_by_process()
    took = time.monotonic() - started
    underruns, clock = int(data(phone, "underruns") or 0), int(data(phone, "clockUnderruns") or 0)
    b = json.loads(data(phone, "breakdown"))
    figures = {"mouth_to_ear": b["mouth_to_ear"], "page_to_page": b["page_to_page"],
               "underruns_per_min": underruns / minutes, "late_underruns_per_min": (underruns - clock) / minutes,
               "gap_p50": b["gaps"][0], "gap_p99": b["gaps"][1], "gap_max": b["gaps"][2],
               "kernel_gap_p99": (b["kernel"].get("send_gap") or [None])[0],
               "rows": b["rows"], "cpu": {k: (machine[k] - machine0.get(k, 0.0)) / took for k in machine},
               "shown": phone.locator(".vk-audio").inner_text().replace("\n", " · ")[:160]}
    phone.locator("button.vk-phone-hangup").click()
    return figures


def scene(kind: str, seconds: float, test: vk.ARIClient, number: str = "9002") -> dict:
    """One scene in a JupyterLab and a Chromium of its own; everything it started is stopped after."""
    with tempfile.TemporaryDirectory(prefix=f"phone-bench-{kind}-") as folder:
        tmp = Path(folder)
        if kind == "stock-comm":
            stock_config(tmp)
        with running_jupyterlab(tmp, STOCK if kind == "stock-comm" else ()) as (base, token, _):
            server_log = (tmp / "jupyterlab.log").read_text()
            if "vicifast_kit: kernel websockets" not in server_log:
                raise SystemExit("The kit's Jupyter Server extension did not load: run scripts/setup")
            if kind in ("stock-comm", "comm"):
                return comm_floor(base, token, tmp, seconds)
            if kind == "alone":
                name, count = alone_notebook(tmp, unique_app("phone-bench"), number)
            else:
                name, count = notebook_06(tmp, number)
            with chromium_page(tmp, {"width": 1280, "height": 1400}, ARGS + beeping_microphone(tmp)) as page:
                run_cells(page, base, token, name, count)
                phones = page.locator(".jp-OutputArea-output").filter(has=page.locator(".vk-phone"))
                wanted = 1 if kind == "alone" else 2
                wait_until(lambda: phones.count() >= wanted, timeout=240, step=0.5)
                dismiss_news(page)
                if kind == "notebook06":                  # the notebook's own Phone joins watch-room, as a reader would
                    phones.nth(0).locator("button.vk-phone-call").click()
                    phones.nth(0).locator(".vk-audio-state", has_text="live").wait_for(timeout=20_000)
                figures = measure(page, phones.nth(wanted - 1), seconds, echo=number == "9002")
                figures["load"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
                if kind == "notebook06":                  # the rest of the notebook, its clean-up included
                    phones.nth(0).locator("button.vk-phone-hangup").click()
                    page.locator(".jp-Notebook .jp-Cell").nth(count).click()
                    total = page.locator(".jp-Notebook .jp-Cell").count()
                    for _ in range(total - count):
                        page.keyboard.press("Shift+Enter")
                        page.wait_for_timeout(300)
                    page.get_by_text("Left in the lab by this notebook").first.wait_for(timeout=120_000)
        cleanup(test)
    return figures


def ms(v) -> str:
    return "–" if v is None else f"{v:.0f}"


def show_comm(kind: str, f: dict) -> None:
    print(f"\n== {kind}: a bare widget, a frame sent every 20 ms (load average after: {f['load']}) ==")
    print(f"gaps between the {f['count']} frames reaching the page: p50 {f['gap_p50']:.0f}, p99 {f['gap_p99']:.0f}, "
          f"max {f['gap_max']:.0f} ms; over 30 ms: {f['over_30'] * 100:.1f} % of them")
    print("  CPU (% of one core; 2 cores): " + ", ".join(f"{k} {v * 100:.0f}" for k, v in f["cpu"].items() if v >= 0.01))


def show(kind: str, f: dict, plain: float) -> None:
    added = None if f["mouth_to_ear"] is None else f["mouth_to_ear"] - plain
    over = None if f["page_to_page"] is None else f["page_to_page"] - plain
    print(f"\n== {kind} (load average after: {f['load']}) ==")
    print(f"the Phone shows: {f['shown']}")
    print(f"mouth to ear as heard {ms(f['mouth_to_ear'])} ms (added over the plain path {ms(added)}); page to page "
          f"{ms(f['page_to_page'])} ms (added {ms(over)}; goal <= 60)")
    print(f"underruns {f['underruns_per_min']:.1f}/min ({f['late_underruns_per_min']:.1f} with frames late; goal 0); "
          f"gaps reaching the page p50 {ms(f['gap_p50'])}, p99 {ms(f['gap_p99'])} (goal <= 30), max {ms(f['gap_max'])} ms; "
          f"as the kernel sent them p99 {ms(f['kernel_gap_p99'])} ms")
    for name, (p50, p99) in f["rows"]:
        print(f"  {name:<78} {ms(p50):>5} {ms(p99):>5}")
    print("  CPU (% of one core; 2 cores): " + ", ".join(f"{k} {v * 100:.0f}" for k, v in f["cpu"].items() if v >= 0.01))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each echo call lasts")
    parser.add_argument("--number", default="9002", help="what the Phone calls: 9002 the echo (the default), "
                        "9001 music on hold (a steady source: the page's side alone, no mouth to ear)")
    parser.add_argument("--only", choices=("stock-comm", "comm", "alone", "notebook06"), help="one scene")
    args = parser.parse_args()
    test = vk.connect(app=unique_app("phone-bench-test"))
    try:
        plain = plain_round_trip(test)
        print(f"plain media round trip of the lab path (9002, the kernel alone): {plain:.0f} ms")
        results = {}
        for kind in ("stock-comm", "comm", "alone", "notebook06"):
            if args.only in (None, kind):
                results[kind] = scene(kind, args.seconds, test, args.number)
                if kind.endswith("comm"):
                    show_comm(kind, results[kind])
                else:
                    show(kind, results[kind], plain)
        if "stock-comm" in results and "comm" in results:
            s, c = results["stock-comm"], results["comm"]
            print("\nthe comm with the kit's extension / stock:")
            for key in ("gap_p99", "gap_max", "over_30"):
                print(f"  {key:<16} {c[key]:>7.3g} / {s[key]:>7.3g} = {c[key] / s[key]:.2f}x" if s[key] else f"  {key} 0")
        if "comm" in results and "alone" in results:
            c, a = results["comm"], results["alone"]
            print(f"\nthe Phone alone / the comm's floor: page gaps p99 {a['gap_p99']:.0f} / {c['gap_p99']:.0f} ms = "
                  f"{a['gap_p99'] / c['gap_p99']:.2f}x; max {a['gap_max']:.0f} / {c['gap_max']:.0f} ms")
        if "alone" in results and "notebook06" in results:
            a, n = results["alone"], results["notebook06"]
            print("\nnotebook 06 / alone:")
            for key in ("mouth_to_ear", "page_to_page", "gap_p99", "gap_max", "kernel_gap_p99"):
                if a[key] and n[key] is not None:
                    print(f"  {key:<16} {n[key]:>6.0f} / {a[key]:>5.0f} = {n[key] / a[key]:.2f}x")
            print(f"  underruns/min   {n['underruns_per_min']:>6.1f} / {a['underruns_per_min']:>5.1f}")
    finally:
        test.close()


if __name__ == "__main__":
    main()
