"""Listen and Phone in a real browser: JupyterLab + Debian's Chromium (fake microphone, Web Audio), the lab.

Chromium's fake microphone plays a file the test writes: a 200 ms beep at 400 Hz every second (clear
onsets for the latency figures). The page's own analyser and counters (the widget's data attributes)
tell what the page heard; the test's own client tells what the lab heard. Prints the figures of the
issue: mouth-to-ear latency through the echo beside the plain media round trip of the same lab path,
stage by stage (the page's and the kernel's shared clock), audio underruns per minute over a 60 s
call, the gaps between frames reaching the page, kernel CPU per live Phone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path

import requests

import vicifast_kit as vk
from vicifast_kit import audio

from browser_helpers import ROOT, jupyterlab, notebook, requires_chromium  # noqa: F401
from browser_helpers import ARGS, chromium_page, dismiss_news, open_and_run
from client_helpers import cleanup, unique_app, wait_until

MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]
SCREENSHOT = ROOT / "docs" / "phone.png"
pytestmark = requires_chromium


def beeping_microphone(tmp: Path) -> list[str]:
    """Chromium's arguments for a fake microphone that plays a 200 ms beep at 400 Hz every second."""
    wav = tmp / "microphone.wav"
    audio.write_wav(wav, audio.tone(400, 0.2, rate=48000, amplitude=0.25) + audio.silence(0.8, rate=48000), rate=48000)
    return MEDIA_ARGS + [f"--use-file-for-fake-audio-capture={wav}"]


def data(locator, name: str) -> str:
    return locator.evaluate(f"e => e.querySelector('.vk-audio').dataset.{name} || ''")


def kernel_cpu_seconds(tmp: Path) -> float:
    """CPU seconds used so far by the notebook's kernel (the ipykernel process under this JupyterLab)."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            if "ipykernel_launcher" not in cmd or str(tmp) not in cmd and str(tmp) not in os.readlink(f"/proc/{pid}/cwd"):
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError):
            continue
    return total


def cpu_by_process() -> dict[str, float]:
    """CPU seconds used so far by the processes of the Phone's path (Chromium, JupyterLab's server, kernels,
    Asterisk) and by the whole machine (all cores)."""
    groups = {"jupyter server": 0.0, "kernels": 0.0, "asterisk": 0.0}
    tick = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        used = (int(fields[11]) + int(fields[12])) / tick
        if "chromium" in cmd.split(" ", 1)[0]:
            kind = re.search(r"--utility-sub-type=(\S+)|--type=(\S+)", cmd)
            name = "chromium " + ((kind.group(1) or kind.group(2)).split(".")[0] if kind else "browser")
            groups[name] = groups.get(name, 0.0) + used
        elif "ipykernel_launcher" in cmd:
            groups["kernels"] += used
        elif "-m jupyterlab" in cmd:
            groups["jupyter server"] += used
        elif cmd.startswith("asterisk"):
            groups["asterisk"] += used
    cpu = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    groups["machine busy"] = (sum(map(int, cpu)) - int(cpu[3]) - int(cpu[4])) / tick
    return groups


def plain_round_trip(ari) -> float:
    """The kit's media round trip on the same lab path (9002), for comparison: ms from send to heard."""
    ident = f"rt-{uuid.uuid4().hex[:8]}"
    ari.channels.originate(endpoint="Local/9002@inbound/n", app=ari.app, channel_id=ident, formats="slin16,ulaw")
    ch = ari.wait_for("StasisStart", timeout=10, where=lambda e: e.channel.id == ident).channel
    try:
        times = []
        with ch.media() as stream:
            for _ in range(5):
                stream.read(0.3)
                sent = time.monotonic()
                stream.send(audio.tone(1000, 0.1))
                for frame in stream.frames(timeout=2):
                    if audio.level_db(frame) > -40:
                        times.append((time.monotonic() - sent) * 1000)
                        break
        return sorted(times)[len(times) // 2]
    finally:
        ch.hangup()


def report(figures: dict) -> None:
    """Print the figures of the issue and, stage by stage, where the Phone's delay goes."""
    b = figures["breakdown"]
    plain = figures["plain_round_trip_ms"]

    def ms(v) -> str:
        return "–" if v is None else f"{v:.0f}"
    print(f"\nmouth to ear through the echo, as heard (microphone captured -> speaker): {ms(b['mouth_to_ear'])} ms; "
          f"the plain media round trip of the same lab path: {plain:.0f} ms; added: "
          f"{ms(None if b['mouth_to_ear'] is None else b['mouth_to_ear'] - plain)} ms (goal <= 60)")
    print(f"page to page (a frame sent -> its echo arrives, the old figure): {ms(b['page_to_page'])} ms")
    print(f"{'stage':<78} {'p50':>6} {'p99':>6}")
    for name, (p50, p99) in b["rows"]:
        print(f"{name:<78} {ms(p50):>6} {ms(p99):>6}")
    print(f"{'sum of the p50s (stages without indent)':<78} {ms(b['sum_p50']):>6}")
    k = b["kernel"]
    print(f"gaps between frames: sent by the kernel p99 {ms(k.get('send_gap', [None])[0])} ms, max "
          f"{ms((k.get('send_gap') or [None, None])[1])}; reaching the page p50 {ms(b['gaps'][0])}, p99 "
          f"{ms(b['gaps'][1])} (goal <= 30), max {ms(b['gaps'][2])} ms; microphone frames reaching the kernel p99 "
          f"{ms((k.get('mic_gap') or [None])[0])}, max {ms((k.get('mic_gap') or [None, None])[1])} ms")
    print(f"underruns {figures['underruns_per_min']:.1f}/min (goal 0; {figures['clock_underruns']} with frames on "
          f"time: the output clock jumped); frames dropped to keep the delay short: page {figures['skipped']}, "
          f"kernel (microphone) {k.get('mic_dropped')}; kernel CPU per live Phone "
          f"{figures['kernel_cpu_per_phone'] * 100:.1f} % of a core; the fake microphone's beep heard at "
          f"{figures['beep_hz']:.0f} Hz; load average {figures['load']}")
    print("CPU during the call (% of one core; the machine has 2): "
          + ", ".join(f"{k} {v * 100:.0f}" for k, v in figures["cpu"].items()))


def test_listen_and_phone_in_the_page(jupyterlab):
    base, token, tmp = jupyterlab
    test = vk.connect(app=unique_app("audio-test"))       # the test's own app: the far ends
    kernel_app = unique_app("audio-kernel")
    near_id, far_id = f"near-{uuid.uuid4().hex[:8]}", f"far-{uuid.uuid4().hex[:8]}"
    test.channels.originate(endpoint="Local/5557401@inbound/n", app=test.app, channel_id=near_id,
                            other_channel_id=far_id, variables={"VICIFAST_APP": test.app}, formats="slin16,ulaw")
    far = test.wait_for("StasisStart", timeout=10, where=lambda e: e.channel.id == far_id).channel
    far.answer()
    test.wait_for("StasisStart", timeout=10, where=lambda e: e.channel.id == near_id)
    far.play(media="tone:440")
    cells = [
        f"import vicifast_kit as vk\nari = vk.connect(app={kernel_app!r})\nlisten = vk.widgets.Listen(ari, {near_id!r})\nlisten",
        "echo = vk.widgets.Phone(ari, '9002')\necho",
        f"agent = vk.widgets.Phone(ari, '5553100', app={test.app!r}, caller_id='\"Browser\" <5550177>')\nagent",
    ]
    (tmp / "audio.ipynb").write_text(json.dumps(notebook(cells)))
    figures = {}
    try:
        with chromium_page(tmp, {"width": 1280, "height": 1400}, ARGS + beeping_microphone(tmp)) as page:
            open_and_run(page, base, token, "audio.ipynb", len(cells), page.locator(".vk-phone").nth(1))
            widgets = page.locator(".jp-OutputArea-output")
            listen = widgets.filter(has=page.locator(".vk-listen")).first
            echo = widgets.filter(has=page.locator(".vk-phone")).nth(0)
            agent = widgets.filter(has=page.locator(".vk-phone")).nth(1)

            # Listen: the page's analyser finds the tone the far end plays.
            wait_until(lambda: abs(float(data(listen, "peakHz") or 0) - 440) <= 15, timeout=15)
            assert float(data(listen, "levelDb")) > -50

            # Phone -> 9002 (the echo): the fake microphone's beep comes back; mouth to ear, measured in the page.
            cpu_idle0, t0 = kernel_cpu_seconds(tmp), time.monotonic()
            page.wait_for_timeout(3000)                          # a 3 s window of kernel CPU with Listen alone
            idle_cpu = (kernel_cpu_seconds(tmp) - cpu_idle0) / (time.monotonic() - t0)   # with Listen only
            echo.locator("button.vk-phone-call").click()
            echo.locator(".vk-audio-state", has_text="live").wait_for(timeout=15_000)
            started = time.monotonic()
            wait_until(lambda: int(data(echo, "frames") or 0) > 150, timeout=15)
            wait_until(lambda: float(data(echo, "levelDb") or -120) > -50, timeout=10, step=0.02)  # the beep, back
            wait_until(lambda: data(echo, "latencyMs") != "", timeout=15)

            # Phone -> an app: the far end (the test's app) hears the beep and the keypad.
            agent.locator("button.vk-phone-call").click()
            ev = test.wait_for("StasisStart", timeout=15, where=lambda e: e.args == ["inbound", "5553100"])
            callee = ev.channel
            assert callee.caller.name == "Browser" and callee.caller.number == "5550177"
            callee.answer()
            agent.locator(".vk-audio-state", has_text="live").wait_for(timeout=15_000)
            cpu0, t0 = kernel_cpu_seconds(tmp), time.monotonic()      # from here on, two phones are live
            machine0 = cpu_by_process()
            with callee.media() as stream:
                heard = stream.read(3.0)
            assert audio.level_db(heard) > -45, "the lab did not hear the page's microphone"
            figures["beep_hz"] = audio.dominant_frequency(heard, 16000)
            agent.locator("button.vk-phone-key", has_text="5").click()
            assert callee.wait_for("ChannelDtmfReceived", timeout=10).digit == "5"

            # The echo call runs 60 s in all (the agent's call live beside it): underruns counted by the page.
            remaining = 60 - (time.monotonic() - started)
            if remaining > 0:
                page.wait_for_timeout(remaining * 1000)
            cpu_live = (kernel_cpu_seconds(tmp) - cpu0) / (time.monotonic() - t0)
            machine = cpu_by_process()
            figures["cpu"] = {k: (machine[k] - machine0.get(k, 0.0)) / (time.monotonic() - t0) for k in machine}
            minutes = (time.monotonic() - started) / 60
            figures["underruns_per_min"] = int(data(echo, "underruns")) / minutes
            figures["mouth_to_ear_ms"] = float(data(echo, "latencyMs"))
            figures["clock_underruns"] = int(data(echo, "clockUnderruns") or 0)
            figures["skipped"] = int(data(echo, "skipped") or 0)
            late = (int(data(echo, "underruns")) - figures["clock_underruns"]) / minutes
            figures["breakdown"] = json.loads(data(echo, "breakdown"))
            figures["kernel_cpu_per_phone"] = max(0.0, cpu_live - idle_cpu) / 2     # two phones were live

            # The screenshot after the figures: a page screenshot stalls headless Chromium's main thread.
            dismiss_news(page)
            shot = tmp / "phone.png"                              # both phones live, Listen on
            page.locator(".jp-Notebook").screenshot(path=str(shot))
            if os.environ.get("VICIFAST_UPDATE_SCREENSHOT") == "1":
                shutil.copyfile(shot, SCREENSHOT)
            agent.locator("button.vk-phone-hangup").click()
            callee.wait_for("StasisEnd", timeout=10)
            figures["plain_round_trip_ms"] = plain_round_trip(test)
            figures["load"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
            report(figures)
            # goal 0; measured 3 a minute on this 2-core machine when the test runs alone, 10-40 when other
            # work loads it (frames then reach the page 100-300 ms late); a broken jitter buffer gives hundreds.
            # Counted here: the underruns with frames late (the kit's pipeline); those with frames on time are
            # Chromium's output clock jumping on a starved CPU (most of them when other work loads the machine).
            assert late <= 6, f"{late:.1f} underruns a minute with frames late"
            # The breakdown accounts for the delay: its stages add up to the mouth to ear measured end to end.
            b = figures["breakdown"]
            assert abs(b["sum_p50"] - b["mouth_to_ear"]) <= max(40, 0.5 * b["mouth_to_ear"]), b
            # A kernel restart leaves nothing of its Listen and Phones in the lab (they are live now).
            agent.locator("button.vk-phone-call").click()        # the agent calls again, and is left ringing
            test.wait_for("StasisStart", timeout=15, where=lambda e: e.args == ["inbound", "5553100"])
            def kernels_things(among=None):
                """The kernel's calls and the kit's own channels (media, snoops, phones) - of this kernel only."""
                return [c.id for c in test.channels.list()
                        if c.raw.get("dialplan", {}).get("app_data", "").split(",")[0] == kernel_app
                        or (c.id.startswith("kit-") and (among is None or c.id in among))]
            live = kernels_things()
            assert any(ident.startswith("kit-") for ident in live), live
            kernels = requests.get(f"{base}/api/kernels", params={"token": token}, timeout=10).json()
            for kernel in kernels:
                requests.post(f"{base}/api/kernels/{kernel['id']}/restart", params={"token": token}, timeout=60)
            # (other clients' kit- channels in a shared lab are not this kernel's: only those seen live count)
            wait_until(lambda: not kernels_things(among=set(live)), timeout=15)
    finally:
        for ident in (near_id, far_id):
            with contextlib.suppress(vk.ARIError):
                test.channels.hangup(ident)
        cleanup(test)
        test.close()
    assert figures["mouth_to_ear_ms"] < 500        # goal: the page and the widget comm add <= 60 ms
