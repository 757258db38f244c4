"""A private Asterisk for benchmarks: the lab's packages and configuration, on ports of its own.

Burst benchmarks load Asterisk hard; run them against this copy, never against the shared lab that
tests and notebooks use. As root:

    python bench/private_lab.py up [--root DIR] [--offset 10000] [--config DIR]
    ARI_PORT=18088 AMI_PORT=15038 python bench/burst_bench.py
    python bench/private_lab.py cli "core show taskprocessors"
    python bench/private_lab.py down

`up` copies the lab's cached root filesystem (`vicifast-kit lab up` builds it) to DIR once, renders
docker/asterisk/ (or --config) with every port moved by --offset (ARI 8088 -> 18088, AMI 15038,
SIP 15060, RTP 20000-20099, the outbound websockets 18790) and starts Asterisk in it, in private
mount and pid namespaces as the lab does: when it stops, nothing is left running or mounted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from vicifast_kit import settings
from vicifast_kit.lab import rootfs

DEFAULT_ROOT = rootfs.cache_dir() / "bench-rootfs"
CONF = "/etc/vicifast-asterisk/asterisk.conf"
PORT_NAMES = ("ARI_PORT", "AMI_PORT", "SIP_PORT", "RTP_START", "RTP_END", "PUSH_PORT")


def values(offset: int) -> dict[str, str]:
    """The lab's settings with every port moved by offset (the variables to export for the kit)."""
    v = settings.lab_values()
    for name in PORT_NAMES:
        v[name] = str(int(v[name]) + offset)
    return v


def env_for_kit(offset: int) -> dict[str, str]:
    """Environment variables that point the kit (vicifast_kit.settings) at the private Asterisk."""
    v = values(offset)
    return {"ARI_PORT": v["ARI_PORT"], "AMI_PORT": v["AMI_PORT"]}


def _inside(root: Path, *command: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(["chroot", str(root), *command], capture_output=True, text=True, timeout=timeout,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})


def cli(root: Path, command: str, timeout: float = 60) -> str:
    """Run one Asterisk CLI command in the private Asterisk and return its output."""
    return _inside(root, "asterisk", "-C", CONF, "-rx", command, timeout=timeout).stdout


def running(root: Path) -> list[int]:
    """The pids whose root directory is the private root filesystem."""
    return rootfs.processes_in(root)


def up(root: Path = DEFAULT_ROOT, offset: int = 10000, config: Path | None = None) -> dict[str, str]:
    """Copy the lab's root filesystem (once), render the config on moved ports, start Asterisk, wait for it."""
    if os.geteuid() != 0:
        raise SystemExit("private_lab: run as root (chroot and namespaces), as `vicifast-kit lab up` does")
    if running(root):
        raise SystemExit(f"private_lab: an Asterisk already runs in {root}; `down` first")
    if not root.exists():
        source = rootfs.root_dir()
        if not (source / "usr/sbin/asterisk").exists():
            raise SystemExit(f"private_lab: no lab root filesystem at {source}: run `vicifast-kit lab up` once")
        print(f"copying {source} -> {root} (about 500 MB, once)")
        subprocess.run(["cp", "-a", str(source), str(root)], check=True)
    (root / "run/asterisk/asterisk.ctl").unlink(missing_ok=True)
    inside = root / "opt/vicifast"
    shutil.rmtree(inside, ignore_errors=True)
    inside.mkdir(parents=True)
    shutil.copytree(config or settings.LAB_DIR / "asterisk", inside / "asterisk")
    shutil.copy2(settings.LAB_DIR / "start-asterisk.sh", inside / "start-asterisk.sh")
    # The outbound websockets point at the kit's push server: move them too, so this Asterisk
    # never connects to a push server someone runs for the shared lab.
    ws = inside / "asterisk/websocket_client.conf"
    if ws.exists():
        ws.write_text(re.sub(r"127\.0\.0\.1:(\d+)", lambda m: f"127.0.0.1:{int(m[1]) + offset}", ws.read_text()))
    v = values(offset)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **v}
    log = open(root.parent / f"{root.name}-console.log", "w")
    subprocess.Popen(
        ["unshare", "--mount", "--pid", "--fork", "--kill-child", f"--mount-proc={root}/proc",
         "chroot", str(root), "/opt/vicifast/start-asterisk.sh"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (root / "run/asterisk/asterisk.ctl").exists() and "fully booted" in cli(root, "core waitfullybooted"):
            clash = [line for line in Path(log.name).read_text(errors="replace").splitlines()
                     if "Address already in use" in line]
            if clash:
                down(root)
                raise SystemExit("private_lab: a port is taken (another private Asterisk? choose another "
                                 "--offset):\n  " + "\n  ".join(clash[:3]))
            print(f"private Asterisk up in {root}: ARI http://127.0.0.1:{v['ARI_PORT']}, AMI {v['AMI_PORT']}, "
                  f"SIP {v['SIP_PORT']}; point the kit at it with "
                  + " ".join(f"{k}={x}" for k, x in env_for_kit(offset).items()))
            return v
        time.sleep(0.3)
    down(root)
    raise SystemExit(f"private_lab: Asterisk did not boot within 60 s; see {log.name}")


def down(root: Path = DEFAULT_ROOT) -> None:
    """Stop the private Asterisk, end what is left of it and unmount anything under its root."""
    if running(root):
        try:
            cli(root, "core stop now", timeout=15)
        except subprocess.TimeoutExpired:
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL, None):   # wait, then TERM what is left, then KILL
        deadline = time.monotonic() + 10
        while running(root) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in running(root) if sig else []:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
    rootfs.unmount_under(root)
    (root / "run/asterisk/asterisk.ctl").unlink(missing_ok=True)
    print(f"private Asterisk in {root} stopped; processes left: {len(running(root))}, "
          f"mounts left: {len(rootfs.mounts_under(root))}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["up", "down", "cli", "env"])
    p.add_argument("command", nargs="?", help="the CLI command (cli)")
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    p.add_argument("--offset", type=int, default=10000)
    p.add_argument("--config", type=Path, help="a config folder instead of docker/asterisk")
    a = p.parse_args()
    if a.action == "up":
        up(a.root, a.offset, a.config)
    elif a.action == "down":
        down(a.root)
    elif a.action == "cli":
        print(cli(a.root, a.command or "core show version"), end="")
    else:
        print(" ".join(f"{k}={v}" for k, v in env_for_kit(a.offset).items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
