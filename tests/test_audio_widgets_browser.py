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
import shutil
import time
import uuid

import requests

import vicifast_kit as vk
from vicifast_kit import audio

from browser_helpers import ROOT, jupyterlab, notebook, requires_chromium  # noqa: F401
from browser_helpers import ARGS, chromium_page, dismiss_news, open_and_run
from client_helpers import cleanup, unique_app, wait_until
from phone_figures import beeping_microphone, cpu_by_process, data, kernel_cpu_seconds, plain_round_trip, report

SCREENSHOT = ROOT / "docs" / "phone.png"
pytestmark = requires_chromium


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
            # The kit's server extension is on (scripts/setup): the page read it from its config and sends
            # each microphone frame alone (a frame waits 20 ms for its last sample; two a message: 30 / 40).
            assert next(v for name, v in b["rows"] if name.startswith("framing")) == [20, 20], b["rows"]
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
