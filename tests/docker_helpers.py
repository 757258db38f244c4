"""A Docker engine for the Docker lab's tests: the machine's own when one answers, else a private one.

The private engine is this test run's alone: its own socket, data root, exec root and pid file under
the kit's cache folder (<cache>/docker-test/engine), `--storage-driver=vfs` (works on any file
system), reached through DOCKER_HOST set for the Docker tests only. It never changes which backend
the other tests or a user's `vicifast-kit lab up` pick (they look at the default socket), and it is
stopped when the tests end. Its data root stays, so a second run reuses the images and build layers.

Where no image registry answers, the Dockerfiles' base image is made here from a debootstrap of the
same Debian suite (`docker import`, tagged with the base image's name). The stand-in carries what
this kind of machine needs and the user's Dockerfile must not: `Acquire::Check-Valid-Until "false"`
(a mirror of frozen snapshots serves expired Release files) and the host's CA bundle, with PIP_CERT
and SSL_CERT_FILE pointing at it (HTTPS may pass a TLS-intercepting proxy).
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from client_helpers import eventually
from vicifast_kit import settings
from vicifast_kit.lab import docker, rootfs

HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
#: Folders in /run that dockerd and containerd make whatever their exec root (left empty when they stop).
RUN_DIRS = [Path("/run/containerd/s"), Path("/run/docker/plugins")]
INSIDE_CA = "/etc/ssl/vicifast-test-host-ca.crt"
# What Debian's slim images leave out (their dpkg.cfg.d excludes), so the stand-in installs like one.
SLIM_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
"""


def cache() -> Path:
    """The Docker tests' own folder in the kit's cache (engine data, compose plugin, logs)."""
    return rootfs.cache_dir() / "docker-test"


def log(message: str) -> None:
    """One line of progress (pytest shows it with -s, and in a failing test's output)."""
    print(f"[docker-test {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(command: list[str], env: dict | None = None, timeout: float = 900, check: bool = True,
        **kwargs) -> subprocess.CompletedProcess:
    """Run a command, its output captured; on failure raise with the command's last lines."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, **kwargs)
    if check and result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RuntimeError(f"{' '.join(command[:4])} ... failed (exit {result.returncode}):\n{tail}")
    return result


@contextmanager
def exclusive(folder: Path, timeout: float = 900):
    """Hold the Docker tests' lock: two test runs never share the private engine or the test project at once."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "tests.lock", "w") as lock:
        def locked() -> bool:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False

        eventually(locked, timeout=timeout, step=1.0,
                   what=f"the Docker tests' lock {folder / 'tests.lock'} (another run of them holds it)")
        yield


def base_image() -> str:
    """The one base image of the lab's Dockerfiles (FROM in docker/Dockerfile and docker/jupyter.Dockerfile)."""
    names = set()
    for path in settings.LAB_DIR.glob("*Dockerfile"):
        names.update(re.findall(r"^FROM\s+(\S+)", path.read_text(), flags=re.MULTILINE))
    assert len(names) == 1, f"the lab's Dockerfiles should share one base image, they use {sorted(names)}"
    return names.pop()


def why_no_engine() -> str | None:
    """Why no Docker engine can run for these tests (None when one answers or can be started)."""
    if docker.engine_answers():
        return None
    if os.geteuid() != 0:
        return "no Docker engine answers and starting a private one needs root"
    if not shutil.which("dockerd") and not shutil.which("apt-get"):
        return "no Docker engine answers, and neither dockerd nor apt-get (to install docker.io) is here"
    if not shutil.which("debootstrap") and not shutil.which("debootstrap", path="/usr/sbin"):
        return "no Docker engine answers and debootstrap (for a locally made base image) is missing"
    return None


def install_docker_io() -> None:
    """Install Debian's docker.io (dockerd, containerd, runc) without starting its system service."""
    log("installing Debian's docker.io (its system service is not started)")
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:                      # tells invoke-rc.d not to start dockerd/containerd services
        policy.write_text("#!/bin/sh\n# made by the VICIfast kit's Docker tests while installing docker.io\nexit 101\n")
        policy.chmod(0o755)
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if run(["apt-get", "install", "-y", "-qq", "docker.io"], env=env, check=False).returncode != 0:
            run(["apt-get", "update", "-qq"], env=env)
            run(["apt-get", "install", "-y", "-qq", "docker.io"], env=env)
    finally:
        if made_policy:
            policy.unlink()


class PrivateEngine:
    """A dockerd of these tests alone: own socket, data root, exec root and pid file; vfs storage."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "docker.sock"
        self.pidfile = folder / "dockerd.pid"
        self.process: subprocess.Popen | None = None
        self.made_bridge = False
        self.made_dirs: list[Path] = []
        self.firewall: tuple[str, str] | None = None

    @property
    def host(self) -> str:
        """The DOCKER_HOST value that reaches this engine."""
        return f"unix://{self.socket}"

    def answers(self) -> bool:
        """True when this engine answers `docker info`."""
        env = {**os.environ, "DOCKER_HOST": self.host}
        try:
            return run(["docker", "info", "--format", "{{.ServerVersion}}"], env=env, timeout=10, check=False).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def start(self, timeout: float = 60) -> float:
        """Start dockerd (after ending one a killed run left); seconds until it answered."""
        if not shutil.which("dockerd"):
            install_docker_io()
        self._end_stale()
        self.firewall = firewall_state()        # dockerd adds its NAT and FORWARD rules; stop() puts these back
        for name in ("data", "exec"):
            (self.folder / name).mkdir(parents=True, exist_ok=True)
        self.made_bridge = not Path("/sys/class/net/docker0").exists()
        self.made_dirs = [path for path in RUN_DIRS if not path.exists()]
        started = time.monotonic()
        command = [
            "dockerd", "--host", self.host, "--data-root", str(self.folder / "data"),
            "--exec-root", str(self.folder / "exec"), "--pidfile", str(self.pidfile), "--storage-driver=vfs",
        ]
        with open(self.folder / "dockerd.log", "w") as out:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        try:
            eventually(lambda: self.process.poll() is not None or self.answers(), timeout=timeout, step=0.2,
                       what="the private dockerd answering")
        except pytest.fail.Exception:
            pass
        if not self.answers():
            self.stop()
            tail = (self.folder / "dockerd.log").read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError("the private dockerd did not start:\n" + "\n".join(tail))
        return time.monotonic() - started

    def _end_stale(self) -> None:
        """End a private dockerd that a killed test run left (found by its pid file)."""
        try:
            pid = int(self.pidfile.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if b"dockerd" in cmdline and str(self.folder).encode() in cmdline:
            log(f"ending the private dockerd a killed run left (pid {pid})")
            self._end(pid)

    def _end(self, pid: int, timeout: float = 30) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                process = os.pidfd_open(pid)        # readable once the process has exited
            except ProcessLookupError:
                return
            try:
                os.kill(pid, sig)
                ended = select.select([process], [], [], timeout)[0]
            except ProcessLookupError:
                ended = True
            finally:
                os.close(process)
            if self.process is not None and self.process.pid == pid:
                self.process.poll()                 # reap our own child
            if ended:
                return

    def prune(self) -> None:
        """Drop images and build cache no tag uses (vfs keeps every layer whole: a rebuild's leftovers are GBs)."""
        env = {**os.environ, "DOCKER_HOST": self.host}
        for command in (["docker", "image", "prune", "--force"], ["docker", "builder", "prune", "--force"]):
            run(command, env=env, check=False, timeout=300)

    def stop(self) -> None:
        """Stop dockerd (it stops its containers and containerd) and remove the bridge it made."""
        if self.process is not None:
            self._end(self.process.pid)
            self.process = None
        if self.made_bridge and Path("/sys/class/net/docker0").exists():
            subprocess.run(["ip", "link", "delete", "docker0"], capture_output=True)
        if self.firewall is not None:
            restore_firewall(*self.firewall)
            self.firewall = None
        for path in self.made_dirs:      # empty folders dockerd and containerd made in /run
            for folder in (path, *path.parents):
                if folder == Path("/run"):
                    break
                try:
                    folder.rmdir()
                except OSError:
                    break

    def processes(self) -> list[int]:
        """Pids of processes of this engine still running (dockerd, its containerd, shims)."""
        mark = str(self.folder).encode()
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if mark in (entry / "cmdline").read_bytes():
                        found.append(int(entry.name))
                except OSError:
                    pass
        return found


def firewall_state() -> tuple[str, str] | None:
    """This host's IPv4 firewall rules (iptables-save) and IP forwarding, before dockerd changes them."""
    if not shutil.which("iptables-save"):
        return None
    return run(["iptables-save"], check=False).stdout, Path("/proc/sys/net/ipv4/ip_forward").read_text()


def restore_firewall(rules: str, forward: str) -> None:
    """Put back the rules and forwarding firewall_state() saw (a table it did not have is emptied)."""
    present = set(re.findall(r"^\*(\w+)", rules, flags=re.MULTILINE))
    chains = {"filter": ("INPUT", "FORWARD", "OUTPUT"), "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")}
    for table, builtin in chains.items():
        if table not in present:
            for command in (["-F"], ["-X"], *[["-P", chain, "ACCEPT"] for chain in builtin]):
                subprocess.run(["iptables", "-t", table, *command], capture_output=True)
    if present:
        run(["iptables-restore"], check=False, input=rules)
    Path("/proc/sys/net/ipv4/ip_forward").write_text(forward)


def compose_plugin_works(env: dict) -> bool:
    """True when `docker compose` (Compose v2) runs with this environment."""
    return run(["docker", "compose", "version"], env=env, check=False, timeout=30).returncode == 0


def sid_root(folder: Path) -> Path:
    """A debootstrap (minbase) of the lab's Debian suite, from the mirror the root-filesystem lab uses."""
    root = folder / f"{rootfs.SUITE}-root"
    if (root / "usr/bin/apt-get").exists():
        return root
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    started = time.monotonic()
    debootstrap = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin")
    run([debootstrap, "--variant=minbase", rootfs.SUITE, str(partial), rootfs.debian_mirror()], timeout=900)
    # Like the real image: sources in deb822 form (the Dockerfiles' DEBIAN_MIRROR edits them), no debs kept.
    (partial / "etc/apt/sources.list").unlink(missing_ok=True)
    (partial / "etc/apt/sources.list.d/debian.sources").write_text(
        f"Types: deb\nURIs: {rootfs.debian_mirror()}\nSuites: {rootfs.SUITE}\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    for deb in (partial / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    (partial / "etc/apt/apt.conf.d/99vicifast-test-snapshot").write_text('Acquire::Check-Valid-Until "false";\n')
    (partial / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True, exist_ok=True)
    (partial / "etc/dpkg/dpkg.cfg.d/docker").write_text(SLIM_EXCLUDES)
    if HOST_CA.is_file():
        ca = partial / INSIDE_CA.lstrip("/")
        ca.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(HOST_CA, ca)
    partial.rename(root)
    log(f"debootstrap of Debian {rootfs.SUITE}: {time.monotonic() - started:.1f} s")
    return root


def make_base_image(env: dict, folder: Path) -> float | None:
    """Make the Dockerfiles' base image from a debootstrap unless the engine has it; seconds it took."""
    name = base_image()
    if run(["docker", "image", "inspect", name], env=env, check=False).returncode == 0:
        return None
    started = time.monotonic()
    try:
        pulled = run(["docker", "pull", name], env=env, check=False, timeout=300)
        if pulled.returncode == 0:
            log(f"base image {name} pulled: {time.monotonic() - started:.1f} s")
            return time.monotonic() - started
        log(f"no registry gives {name} here ({pulled.stderr.strip()[:120]}): making it locally")
    except subprocess.TimeoutExpired:
        log(f"pulling {name} took over 5 minutes: making it locally")
    root = sid_root(folder)
    changes = ['CMD ["bash"]']
    if (root / INSIDE_CA.lstrip("/")).is_file():
        changes += [f"ENV PIP_CERT={INSIDE_CA}", f"ENV SSL_CERT_FILE={INSIDE_CA}"]
    tar = subprocess.Popen(["tar", "-C", str(root), "--exclude=./var/lib/apt/lists/*", "--exclude=./etc/resolv.conf",
                            "-c", "."],
                           stdout=subprocess.PIPE)
    command = ["docker", "import", *[arg for change in changes for arg in ("--change", change)], "-", name]
    result = subprocess.run(command, stdin=tar.stdout, capture_output=True, text=True, env=env, timeout=600)
    tar.stdout.close()
    tar.wait()
    if result.returncode != 0:
        raise RuntimeError(f"docker import of the stand-in {name} failed: {result.stderr.strip()}")
    seconds = time.monotonic() - started
    log(f"base image {name} made locally (debootstrap + docker import): {seconds:.1f} s")
    return seconds


def install_compose_plugin(folder: Path) -> Path:
    """Compose v2 from Debian sid's docker-compose package, fetched in a sid chroot, into a private DOCKER_CONFIG."""
    config = folder / "docker-config"
    plugin = config / "cli-plugins" / "docker-compose"
    if plugin.exists():
        return config
    root = sid_root(folder)
    shutil.copy2("/etc/resolv.conf", root / "etc/resolv.conf")
    run(["chroot", str(root), "sh", "-c",
         "rm -f /tmp/*.deb && cd /tmp && apt-get update -qq && apt-get download docker-compose"], timeout=600)
    deb = next((root / "tmp").glob("docker-compose_*.deb"))
    plugin.parent.mkdir(parents=True, exist_ok=True)
    with open(plugin.with_suffix(".partial"), "wb") as out:
        unpack = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-O", "./usr/libexec/docker/cli-plugins/docker-compose"],
                       stdin=unpack.stdout, stdout=out, check=True)
        unpack.wait()
    plugin.with_suffix(".partial").chmod(0o755)
    plugin.with_suffix(".partial").rename(plugin)
    deb.unlink()
    shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
    (root / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    log(f"Compose v2 plugin from Debian {rootfs.SUITE}'s docker-compose package in {plugin}")
    return config


def objects(env: dict, project: str) -> dict[str, list[str]]:
    """The containers, networks and volumes of a compose project on the engine."""
    label = f"label=com.docker.compose.project={project}"
    found = {}
    for kind, command in (("containers", ["docker", "ps", "-a", "-q"]), ("networks", ["docker", "network", "ls", "-q"]),
                          ("volumes", ["docker", "volume", "ls", "-q"])):
        out = run([*command, "--filter", label], env=env).stdout.split()
        found[kind] = out
    return found
