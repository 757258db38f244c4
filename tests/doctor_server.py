"""A deliberately unsafe Asterisk beside the lab, for the doctor's tests: Debian's stock configuration with the
careless ARI and AMI settings a first set-up often has, in namespaces of its own, so nothing outside can reach it.

It runs the lab's cached root filesystem through an overlay (the cache is never written; what Asterisk writes goes
to a temporary folder), in private mount, pid and network namespaces: it binds every address (0.0.0.0) of a
network namespace that has only its own loopback, so "beyond loopback" is real for the doctor and unreachable for
anyone else, and no port of the lab or of this machine is taken. Killing the one `unshare` process ends it all:
its pid namespace's processes die with it and its mounts vanish with its mount namespace.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from client_helpers import eventually
from vicifast_kit.lab import rootfs

ARI_USER, ARI_PASSWORD = "admin", "mysecret"            # the password of Asterisk's manager.conf.sample
AMI_USER, AMI_SECRET = "admin", "1234"                  # the secret of Asterisk's users.conf.sample
WATCHER, WATCHER_SECRET = "watcher", "a-long-secret-of-the-watcher"   # may neither run commands nor read files
VICIFAST_KIT = Path(sys.executable).with_name("vicifast-kit")

#: The unsafe files, over Debian's stock /etc/asterisk (everything else stays stock).
CONFIG = {
    "http.conf": "[general]\nenabled = yes\nbindaddr = 0.0.0.0\nbindport = 8088\n",
    "ari.conf": ("[general]\nenabled = yes\nallowed_origins = *\n\n"
                 f"[{ARI_USER}]\ntype = user\nread_only = no\npassword = {ARI_PASSWORD}\n\n"
                 "[dashboard]\ntype = user\nread_only = no\npassword = dash1\n\n"
                 "[reports]\ntype = user\nread_only = no\npassword = dash1\n"),
    "manager.conf": ("[general]\nenabled = yes\nport = 5038\nbindaddr = 0.0.0.0\nwebenabled = yes\n\n"
                     f"[{AMI_USER}]\nsecret = {AMI_SECRET}\nread = all\nwrite = all\n\n"
                     f"[{WATCHER}]\nsecret = {WATCHER_SECRET}\nread = call\nwrite = originate\n"),
}

#: Run inside the new namespaces by `unshare`: the overlay, /proc, a /run of its own, Asterisk, then READY.
START = r"""
set -e
ip link set lo up
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$WORKDIR/upper,workdir=$WORKDIR/work" "$WORKDIR/root"
mount -t proc proc "$WORKDIR/root/proc"
mount -t tmpfs tmpfs "$WORKDIR/root/run"
mkdir -p "$WORKDIR/root/run/asterisk"
chroot "$WORKDIR/root" /usr/sbin/asterisk -f -C /etc/asterisk/asterisk.conf > "$WORKDIR/console.log" 2>&1 &
i=0
until chroot "$WORKDIR/root" /usr/sbin/asterisk -C /etc/asterisk/asterisk.conf -rx "core waitfullybooted" 2>/dev/null \
      | grep -q "fully booted"; do
  i=$((i + 1)); [ "$i" -lt 300 ] || exit 1
  sleep 0.2
done
echo READY
wait
"""


class UnsafeAsterisk:
    """The running unsafe Asterisk: run commands in its network namespace, see what it left behind."""

    def __init__(self, process: subprocess.Popen, workdir: Path) -> None:
        self.process = process
        self.workdir = workdir
        self.root = workdir / "root"

    def in_its_network(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a command of this machine inside the server's network namespace (where 127.0.0.1 is the server)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ARI_", "AMI_"))}
        return subprocess.run(["nsenter", f"--net=/proc/{self.process.pid}/ns/net", "--", *command],
                              capture_output=True, text=True, timeout=timeout, env=env)

    def doctor(self, *options: str) -> subprocess.CompletedProcess:
        """`vicifast-kit doctor OPTIONS` run in the server's network, as its admin would."""
        return self.in_its_network(str(VICIFAST_KIT), "doctor", "--url", "http://127.0.0.1:8088", "--user",
                                   ARI_USER, "--password", ARI_PASSWORD, *options)

    def processes(self) -> list[int]:
        """The processes still running in its root filesystem."""
        return rootfs.processes_in(self.root)

    def console(self) -> str:
        """What Asterisk printed."""
        path = self.workdir / "console.log"
        return path.read_text(errors="replace") if path.exists() else ""


def can_run() -> str:
    """Why this machine cannot run the unsafe Asterisk ("" when it can)."""
    if os.geteuid() != 0:
        return "needs root (namespaces, chroot and an overlay mount), as the root-filesystem lab does"
    missing = [tool for tool in ("unshare", "nsenter", "ip", "chroot") if shutil.which(tool) is None]
    if missing:
        return f"needs {', '.join(missing)}"
    if not (rootfs.root_dir() / "usr/sbin/asterisk").exists():
        return f"needs the lab's root filesystem at {rootfs.root_dir()} (`vicifast-kit lab up` builds it)"
    return ""


def _ready(process: subprocess.Popen, timeout: float) -> bool:
    """True when the start script printed READY within timeout (False if it ended or took longer)."""
    seen = threading.Event()

    def read() -> None:
        for line in process.stdout:
            if line.strip() == "READY":
                seen.set()
                return

    threading.Thread(target=read, name="test-unsafe-asterisk-start", daemon=True).start()
    return seen.wait(timeout)


@contextmanager
def unsafe_asterisk(timeout: float = 90) -> Iterator[UnsafeAsterisk]:
    """Start the unsafe Asterisk; on the way out end every process and mount it made and delete its folder."""
    workdir = Path(tempfile.mkdtemp(prefix="vicifast-unsafe-asterisk-"))
    for name in ("upper/etc/asterisk", "work", "root"):
        (workdir / name).mkdir(parents=True)
    for name, text in CONFIG.items():
        (workdir / "upper/etc/asterisk" / name).write_text(text)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "LOWER": str(rootfs.root_dir()),
           "WORKDIR": str(workdir)}
    process = subprocess.Popen(["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "sh", "-c", START],
                               env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    server = UnsafeAsterisk(process, workdir)
    try:
        if not _ready(process, timeout):
            raise RuntimeError(f"the unsafe Asterisk did not boot within {timeout} s:\n{server.console()[-2000:]}")
        yield server
    finally:
        process.kill()                  # unshare's --kill-child ends the pid namespace, hence every process in it
        process.wait(10)
        process.stdout.close()
        eventually(lambda: not server.processes(), 10, "the unsafe Asterisk's processes to end")
        shutil.rmtree(workdir)
