"""Listen and Phone in a real browser: JupyterLab + Debian's Chromium (fake microphone, Web Audio), the lab.

Chromium's fake microphone plays a periodic beep. The page's own analyser and counters (the widget's
data attributes) tell what the page heard; the test's own client tells what the lab heard.
Prints the figures of the issue: mouth-to-ear latency through the echo beside the plain media round
trip of the same lab path, audio underruns per minute over a 60 s call, kernel CPU per live Phone.
"""

from __future__ import annotations

import contextlib
import json
import os
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
    print(f"\nmouth to ear through the echo (page, widget comm, lab): {figures['mouth_to_ear_ms']:.0f} ms "
          f"(+ {figures['lead_ms']:.0f} ms of playout buffer); the plain media round trip of the same path: "
          f"{figures['plain_round_trip_ms']:.0f} ms; underruns {figures['underruns_per_min']:.1f}/min "
          f"({figures['clock_underruns']} with frames on time: the output clock jumped); "
          f"kernel CPU per live Phone {figures['kernel_cpu_per_phone'] * 100:.1f} % of a core; "
          f"the fake microphone's beep heard at {figures['beep_hz']:.0f} Hz; frames reached the page with gaps "
          f"{figures['gaps']}; page to kernel p50 {figures['to_kernel']} ms; "
          f"kernel to page {figures['to_page']}")


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
        with chromium_page(tmp, {"width": 1280, "height": 1400}, ARGS + MEDIA_ARGS) as page:
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
            cpu0, t0 = kernel_cpu_seconds(tmp), time.monotonic()

            # Phone -> an app: the far end (the test's app) hears the beep and the keypad.
            agent.locator("button.vk-phone-call").click()
            ev = test.wait_for("StasisStart", timeout=15, where=lambda e: e.args == ["inbound", "5553100"])
            callee = ev.channel
            assert callee.caller.name == "Browser" and callee.caller.number == "5550177"
            callee.answer()
            agent.locator(".vk-audio-state", has_text="live").wait_for(timeout=15_000)
            with callee.media() as stream:
                heard = stream.read(3.0)
            assert audio.level_db(heard) > -45, "the lab did not hear the page's microphone"
            figures["beep_hz"] = audio.dominant_frequency(heard, 16000)
            agent.locator("button.vk-phone-key", has_text="5").click()
            assert callee.wait_for("ChannelDtmfReceived", timeout=10).digit == "5"
            dismiss_news(page)
            shot = tmp / "phone.png"                              # both phones live, Listen on
            page.locator(".jp-Notebook").screenshot(path=str(shot))
            if os.environ.get("VICIFAST_UPDATE_SCREENSHOT") == "1":
                shutil.copyfile(shot, SCREENSHOT)
            agent.locator("button.vk-phone-hangup").click()
            callee.wait_for("StasisEnd", timeout=10)

            # The echo call runs 60 s in all: underruns counted by the page.
            cpu_live = (kernel_cpu_seconds(tmp) - cpu0) / (time.monotonic() - t0)
            remaining = 60 - (time.monotonic() - started)
            if remaining > 0:
                page.wait_for_timeout(remaining * 1000)
            minutes = (time.monotonic() - started) / 60
            figures["underruns_per_min"] = int(data(echo, "underruns")) / minutes
            figures["mouth_to_ear_ms"] = float(data(echo, "latencyMs"))
            figures["lead_ms"] = float(data(echo, "leadMs") or 0)
            figures["clock_underruns"] = int(data(echo, "clockUnderruns") or 0)
            late = (int(data(echo, "underruns")) - figures["clock_underruns"]) / minutes
            figures["to_kernel"] = data(echo, "toKernelP50Ms")
            figures["to_page"] = f"p50 {data(echo, 'toPageP50Ms')} ms, p99 {data(echo, 'toPageP99Ms')} ms"
            figures["gaps"] = f"p99 {data(echo, 'gapP99Ms')} ms, max {data(echo, 'gapMaxMs')} ms"
            figures["kernel_cpu_per_phone"] = max(0.0, cpu_live - idle_cpu) / 2     # two phones were live
            figures["plain_round_trip_ms"] = plain_round_trip(test)
            report(figures)
            # goal 0; measured 1-3 a minute on a 2-core machine where frames sometimes reach the page
            # 100-300 ms late (a busy page or kernel); a broken jitter buffer gives hundreds. Counted here:
            # the underruns with frames late (the kit's pipeline); those with frames on time are Chromium's
            # output clock jumping on a starved CPU (measured: most of them when other work loads the machine).
            assert late <= 6, f"{late:.1f} underruns a minute with frames late"
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
