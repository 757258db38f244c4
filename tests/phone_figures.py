"""The Phone's figures, shared by its browser test and bench/phone_bench.py: the fake microphone, the page's
counters, CPU by process, the plain media round trip of the same lab path, and the printed report."""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

from vicifast_kit import audio

MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]


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
