"""The lab without Docker: Asterisk 22 from Debian sid, in a cached root filesystem, as root."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from .. import settings
from .errors import LabError

SUITE = "sid"
STATE_FILE = "rootfs-lab.pid"
CONSOLE_LOG = "rootfs-lab-console.log"
INSIDE_DIR = "/opt/vicifast"  # where the config folder and the start script go inside the root


def cache_dir() -> Path:
    """Where root filesystems and lab state are kept (VICIFAST_CACHE_DIR moves it)."""
    if os.environ.get("VICIFAST_CACHE_DIR"):
        return Path(os.environ["VICIFAST_CACHE_DIR"])
    if os.geteuid() == 0:
        return Path("/var/cache/vicifast-kit")
    return Path.home() / ".cache" / "vicifast-kit"


def packages() -> list[str]:
    """The Debian packages of the lab (docker/packages.txt, shared with the Dockerfile)."""
    lines = (settings.LAB_DIR / "packages.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def root_dir() -> Path:
    """The root filesystem for the current package list (a new list gets a new root)."""
    key = hashlib.sha256(f"{SUITE} minbase {' '.join(sorted(packages()))}".encode()).hexdigest()[:12]
    return cache_dir() / f"rootfs-{SUITE}-{key}"


def debian_mirror() -> str:
    """The Debian mirror: VICIFAST_DEBIAN_MIRROR, else the one this host's apt uses."""
    if os.environ.get("VICIFAST_DEBIAN_MIRROR"):
        return os.environ["VICIFAST_DEBIAN_MIRROR"]
    for uri, suites in _apt_sources():
        if "debian" in uri and not any(s.endswith("-security") for s in suites) and "security" not in uri:
            return uri
    raise LabError(
        "Could not find a Debian mirror in this host's apt configuration (/etc/apt/sources.list*). "
        "Set VICIFAST_DEBIAN_MIRROR to the URL of a Debian mirror and run `vicifast-kit lab up` again."
    )


def _apt_sources():
    """(uri, suites) of every enabled apt source of this host, deb822 and one-line formats."""
    apt = Path("/etc/apt")
    for path in sorted(apt.glob("sources.list.d/*.sources")):
        for block in path.read_text().split("\n\n"):
            fields = {}
            for line in block.splitlines():
                if ":" in line and not line.startswith(("#", " ")):
                    name, _, value = line.partition(":")
                    fields[name.strip().lower()] = value.split()
            if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"]) != ["no"]:
                for uri in fields.get("uris", []):
                    yield uri, fields.get("suites", [])
    for path in [apt / "sources.list", *sorted(apt.glob("sources.list.d/*.list"))]:
        if path.is_file():
            for line in path.read_text().splitlines():
                words = [w for w in line.split() if not w.startswith("[") and not w.endswith("]")]
                if len(words) >= 3 and words[0] == "deb":
                    yield words[1], [words[2]]


@contextmanager
def locked():
    """Hold the lab's lock, so two `lab up` never build or start at once."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / "lab.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def check_can_run() -> None:
    """Raise LabError saying what is missing if this machine cannot run the root-filesystem lab."""
    if os.geteuid() != 0:
        raise LabError(
            "The lab without Docker needs root (it builds a root filesystem and runs Asterisk in it "
            "with chroot). Run `sudo vicifast-kit lab up`, or install Docker and run "
            "`vicifast-kit lab up --backend docker`."
        )
    for tool, package in (("debootstrap", "debootstrap"), ("unshare", "util-linux"), ("chroot", "coreutils")):
        if not _which(tool):
            raise LabError(f"`{tool}` is missing: install it with `apt-get install {package}`, then run `vicifast-kit lab up` again.")


def _which(tool: str) -> str | None:
    """Where a tool is: on PATH, else in the system folders (sudo may leave /usr/sbin off PATH)."""
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin:/bin")


def build(progress=print) -> Path:
    """Build the root filesystem with debootstrap unless the cached one fits the package list."""
    root = root_dir()
    if (root / "usr/sbin/asterisk").exists():
        return root
    mirror = debian_mirror()
    partial = root.with_name(root.name + ".partial")
    unmount_under(partial)
    shutil.rmtree(partial, ignore_errors=True)
    progress(f"Building the lab's root filesystem (Debian {SUITE}, {', '.join(packages())}) in {root}.")
    progress("This happens once and takes about a minute; later starts take seconds.")
    started = time.monotonic()
    command = [_which("debootstrap"), "--variant=minbase", f"--include={','.join(packages())}", SUITE, str(partial), mirror]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    phase, tail = None, []
    for line in process.stdout:
        tail = (tail + [line.rstrip()])[-20:]
        words = line.split()
        step = {"Validating": "Retrieving"}.get(words[1], words[1]) if len(words) >= 2 else None
        if words[:1] == ["I:"] and step != phase:
            phase = step
            progress(f"  [{time.monotonic() - started:5.1f}s] {line.strip()[3:]}")
    if process.wait() != 0:
        unmount_under(partial)
        shutil.rmtree(partial, ignore_errors=True)
        raise LabError(
            "Building the lab's root filesystem failed (debootstrap exit code "
            f"{process.returncode}). Its last lines:\n  " + "\n  ".join(tail) +
            "\nCheck that this machine reaches the Debian mirror " + mirror +
            " (or set VICIFAST_DEBIAN_MIRROR) and run `vicifast-kit lab up` again."
        )
    shutil.rmtree(partial / "var/cache/apt/archives", ignore_errors=True)
    (partial / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    partial.rename(root)
    for old in cache_dir().glob(f"rootfs-{SUITE}-*"):
        if old != root and not processes_in(old):
            unmount_under(old)
            shutil.rmtree(old, ignore_errors=True)
    progress(f"  [{time.monotonic() - started:5.1f}s] root filesystem ready.")
    return root


def start(values: dict[str, str]) -> None:
    """Start Asterisk inside the root filesystem, detached, with its own mount and pid namespace."""
    root = root_dir()
    inside = root / INSIDE_DIR.lstrip("/")
    shutil.rmtree(inside, ignore_errors=True)
    inside.mkdir(parents=True)
    shutil.copytree(settings.LAB_DIR / "asterisk", inside / "asterisk")
    shutil.copy2(settings.LAB_DIR / "start-asterisk.sh", inside / "start-asterisk.sh")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **values}
    # The mount and pid namespaces make /proc private to the lab and tie every process of the
    # lab to the first one: when it ends, nothing is left mounted or running.
    command = [
        _which("unshare"), "--mount", "--pid", "--fork", "--kill-child", f"--mount-proc={root}/proc",
        _which("chroot"), str(root), f"{INSIDE_DIR}/start-asterisk.sh",
    ]
    global _launched
    with open(cache_dir() / CONSOLE_LOG, "w") as console:
        _launched = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
            env=env, start_new_session=True,
        )
    (cache_dir() / STATE_FILE).write_text(str(_launched.pid))


_launched: subprocess.Popen | None = None   # the lab this process started last


def start_ended() -> int | None:
    """The exit code of the lab this process started last, once it has ended (None while it runs)."""
    return None if _launched is None else _launched.poll()


def console_tail(lines: int = 20) -> str:
    """The last lines Asterisk printed on its console (start-up errors show here)."""
    path = cache_dir() / CONSOLE_LOG
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def launcher_pid() -> int | None:
    """The pid of the lab's launcher process, if it is still running."""
    try:
        pid = int((cache_dir() / STATE_FILE).read_text())
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    # A zombie (its parent, the `lab up` that started it, is gone and nothing reaped it) is not
    # running, and a recycled pid is not ours.
    if stat.rpartition(")")[2].split()[0] in ("Z", "X") or str(root_dir()).encode() not in cmdline:
        return None
    return pid


def processes_in(root: Path) -> list[int]:
    """Every process whose root directory is `root` (the lab's Asterisk and its helpers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "root") == str(root):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def running() -> bool:
    """True while an Asterisk of the lab runs in the root filesystem."""
    return bool(launcher_pid() or processes_in(root_dir()))


def run_inside(*command: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run a command inside the lab's root filesystem (e.g. the asterisk CLI)."""
    return subprocess.run(
        [_which("chroot"), str(root_dir()), *command],
        capture_output=True, text=True, timeout=timeout, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )


def booted() -> bool:
    """True once Asterisk in the root filesystem answers its CLI and has fully booted."""
    if not (root_dir() / "run/asterisk/asterisk.ctl").exists():
        return False
    try:
        result = run_inside("asterisk", "-rx", "core waitfullybooted", timeout=30)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and "fully booted" in result.stdout


def stop(timeout: float = 15) -> None:
    """Stop the lab's Asterisk, then end anything of it still running and unmount what it left."""
    root = root_dir()
    if processes_in(root):
        try:
            run_inside("asterisk", "-rx", "core stop now", timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (launcher_pid() or processes_in(root)):
        time.sleep(0.1)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        leftovers = [pid for pid in [launcher_pid(), *processes_in(root)] if pid]
        for pid in leftovers:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        end = time.monotonic() + 5
        while time.monotonic() < end and (launcher_pid() or processes_in(root)):
            time.sleep(0.1)
    for old in cache_dir().glob(f"rootfs-{SUITE}-*"):
        unmount_under(old)
    global _launched
    if _launched is not None:
        _launched.poll()          # reap it, if this process started it
        _launched = None
    (cache_dir() / STATE_FILE).unlink(missing_ok=True)
    (root / "run/asterisk/asterisk.ctl").unlink(missing_ok=True)


def mounts_under(path: Path) -> list[str]:
    """Mount points of this host under `path` (a lab killed the hard way can leave /proc)."""
    prefix = str(path).rstrip("/") + "/"
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(prefix) or point == str(path):
            found.append(point)
    return found


def unmount_under(path: Path) -> None:
    """Unmount everything mounted under `path`, deepest first."""
    for point in sorted(mounts_under(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
