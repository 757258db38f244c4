"""Another Asterisk beside the lab, one the kit did not configure, and the kit installed as a user installs it.

`foreign_asterisk(config, extend)` runs Debian's stock /etc/asterisk of the lab's cached root filesystem with an
admin's own files over it (`config`: whole files; `extend`: text added at the end of a stock file), through an
overlay (the cache is never written; what Asterisk writes goes to a temporary folder), in private mount, pid and
network namespaces: its network namespace has only its own loopback, so what it binds (even 0.0.0.0) is reachable
from its namespace alone, and no port of the lab or of this machine is taken. Commands run in its network with
`nsenter`. Killing the one `unshare` process ends it all: its pid namespace's processes die with it and its mounts
vanish with its mount namespace. tests/doctor_server.py (an unsafe one) and tests/test_foreign_asterisk.py (a safe
one, with its own ports, users and dialplan) use it.

`wheel_install(folder)` builds a wheel of the kit's working tree and installs it in a new virtualenv (no network:
its dependencies come from the repository's .venv, whose editable kit stays out).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from client_helpers import eventually
from vicifast_kit.lab import rootfs

REPO = Path(__file__).resolve().parent.parent

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


class ForeignAsterisk:
    """A running Asterisk of its own: run commands in its network namespace, its CLI, what it left behind."""

    def __init__(self, process: subprocess.Popen, workdir: Path) -> None:
        self.process = process
        self.workdir = workdir
        self.root = workdir / "root"

    def in_its_network(self, *command: str, timeout: float = 60, env: Mapping[str, str] | None = None,
                       cwd: str | Path | None = None) -> subprocess.CompletedProcess:
        """Run a command of this machine inside the server's network namespace (where 127.0.0.1 is the server);
        env: its whole environment (default: this one without ARI_* and AMI_*)."""
        if env is None:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("ARI_", "AMI_"))}
        return subprocess.run(["nsenter", f"--net=/proc/{self.process.pid}/ns/net", "--", *command],
                              capture_output=True, text=True, timeout=timeout, env=dict(env), cwd=cwd)

    def cli(self, command: str, timeout: float = 30) -> str:
        """One Asterisk CLI command run on this server (its own console socket, in its mount namespace)."""
        run = subprocess.run(["nsenter", f"--mount=/proc/{self.process.pid}/ns/mnt",
                              f"--net=/proc/{self.process.pid}/ns/net", "--", "chroot", str(self.root),
                              "/usr/sbin/asterisk", "-C", "/etc/asterisk/asterisk.conf", "-rx", command],
                             capture_output=True, text=True, timeout=timeout,
                             env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
        return run.stdout

    def processes(self) -> list[int]:
        """The processes still running in its root filesystem."""
        return rootfs.processes_in(self.root)

    def console(self) -> str:
        """What Asterisk printed."""
        path = self.workdir / "console.log"
        return path.read_text(errors="replace") if path.exists() else ""


def can_run() -> str:
    """Why this machine cannot run another Asterisk beside the lab ("" when it can)."""
    if os.geteuid() != 0:
        return "needs root (namespaces, chroot and an overlay mount), as the root-filesystem lab does"
    missing = [tool for tool in ("unshare", "nsenter", "ip", "chroot") if shutil.which(tool) is None]
    if missing:
        return f"needs {', '.join(missing)}"
    if not (rootfs.root_dir() / "usr/sbin/asterisk").exists():
        return f"needs the lab's root filesystem at {rootfs.root_dir()} (`vicifast-kit lab up` builds it)"
    return ""


def _ready(process: subprocess.Popen, timeout: float, name: str) -> bool:
    """True when the start script printed READY within timeout (False if it ended or took longer)."""
    seen = threading.Event()

    def read() -> None:
        for line in process.stdout:
            if line.strip() == "READY":
                seen.set()
                return

    threading.Thread(target=read, name=f"test-{name}-start", daemon=True).start()
    return seen.wait(timeout)


@contextmanager
def foreign_asterisk(config: Mapping[str, str], extend: Mapping[str, str] | None = None, *, name: str = "foreign",
                     timeout: float = 90, kind: type[ForeignAsterisk] = ForeignAsterisk) -> Iterator[ForeignAsterisk]:
    """Start Debian's stock Asterisk with `config` files over /etc/asterisk and `extend` texts added to stock ones;
    on the way out end every process and mount it made and delete its folder."""
    stock = rootfs.root_dir() / "etc/asterisk"
    workdir = Path(tempfile.mkdtemp(prefix=f"vicifast-{name}-asterisk-"))
    for folder in ("upper/etc/asterisk", "work", "root"):
        (workdir / folder).mkdir(parents=True)
    for file, text in config.items():
        (workdir / "upper/etc/asterisk" / file).write_text(text)
    for file, text in (extend or {}).items():
        (workdir / "upper/etc/asterisk" / file).write_text((stock / file).read_text() + "\n" + text)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "LOWER": str(rootfs.root_dir()),
           "WORKDIR": str(workdir)}
    process = subprocess.Popen(["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "sh", "-c", START],
                               env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    server = kind(process, workdir)
    try:
        if not _ready(process, timeout, name):
            raise RuntimeError(f"the {name} Asterisk did not boot within {timeout} s:\n{server.console()[-2000:]}")
        yield server
    finally:
        process.kill()                  # unshare's --kill-child ends the pid namespace, hence every process in it
        process.wait(10)
        process.stdout.close()
        eventually(lambda: not server.processes(), 10, f"the {name} Asterisk's processes to end")
        shutil.rmtree(workdir)


# --- the kit as a user installs it ----------------------------------------------------------------------
#: What a wheel is not built from (the working tree is copied without it, so the build leaves nothing in it).
NOT_BUILT_FROM = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__",
                                        ".pytest_cache", ".ipynb_checkpoints")


@dataclass(frozen=True)
class WheelInstall:
    """The kit installed from a wheel in a virtualenv of its own: its python, its `vicifast-kit`, its folders."""

    venv: Path
    wheel: Path
    python: Path
    command: Path
    site_packages: Path


#: Debian's python3-wheel: setuptools before 70.1 builds wheels only with the `wheel` package's bdist_wheel.
DEBIAN_WHEEL = Path("/usr/lib/python3/dist-packages")


def cannot_build_wheels() -> str:
    """Why this interpreter cannot build the kit's wheel offline ("" when it can)."""
    if importlib.util.find_spec("setuptools") is None:
        return "needs setuptools in the repository's .venv"
    if _has_bdist_wheel() or list(DEBIAN_WHEEL.glob("wheel-*-info")):
        return ""
    return "needs the `wheel` package to build a wheel (setuptools is older than 70.1): apt-get install python3-wheel"


def _has_bdist_wheel() -> bool:
    return any(importlib.util.find_spec(name) is not None for name in ("setuptools.command.bdist_wheel", "wheel"))


def _build_env(folder: Path) -> dict[str, str]:
    """The environment of the wheel's build: bdist_wheel from Debian's `wheel` when the .venv has none (only that
    package and its metadata on PYTHONPATH, so the .venv's setuptools stays the one used)."""
    env = dict(os.environ)
    if not _has_bdist_wheel():
        only = folder / "wheel-package"
        only.mkdir()
        for item in [DEBIAN_WHEEL / "wheel", *DEBIAN_WHEEL.glob("wheel-*-info")]:
            (only / item.name).symlink_to(item)
        env["PYTHONPATH"] = str(only)
    return env


def wheel_install(folder: Path) -> WheelInstall:
    """Build a wheel of the kit's working tree and install it into a new virtualenv in folder, offline: the
    dependencies come from the repository's .venv through a .pth line (its editable kit's own .pth is not read)."""
    source, wheels, venv = folder / "source", folder / "wheels", folder / "venv"
    shutil.copytree(REPO, source, ignore=NOT_BUILT_FROM)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w",
          str(wheels), str(source)], "build the wheel", env=_build_env(folder))
    wheel = next(wheels.glob("vicifast_kit-*.whl"))
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], "make the virtualenv")
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
          str(wheel)], "install the wheel")
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     "find the virtualenv's site-packages").strip())
    # A plain path line: .venv's site-packages joins sys.path after this one, and the .pth files there (the
    # editable kit's finder among them) are not run.
    (site / "zz-repo-venv-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    shutil.rmtree(source)
    return WheelInstall(venv=venv, wheel=wheel, python=python, command=venv / "bin" / "vicifast-kit",
                        site_packages=site)


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> str:
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"could not {what}: {' '.join(command)}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    return run.stdout
