"""The kit as a library: built as an sdist, then a wheel from that sdist, installed in a fresh virtualenv, run
from a folder outside the repository. It ships the lab's files, reads its settings from them, and nothing of
the repository; `vicifast-kit lab status` from that install reports on the running lab.

The new virtualenv takes the kit's dependencies from the repository's .venv through a .pth line (a plain path:
.venv's own .pth files, the editable kit's finder among them, are not run), so nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
import yaml

from vicifast_kit import settings
from vicifast_kit.lab import rootfs

REPO = Path(__file__).resolve().parent.parent
PACKAGED = Path("vicifast_kit", "lab", "files", "docker")
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "vicifast_kit", "docker", "jupyter-config")


def _builder() -> str:
    """A Python that can build the kit without a download: setuptools 64 or later, and wheel."""
    check = "import setuptools, wheel; assert int(setuptools.__version__.split('.')[0]) >= 64"
    for python in dict.fromkeys([sys.executable, "/usr/bin/python3", shutil.which("python3") or ""]):
        if python and subprocess.run([python, "-c", check], capture_output=True).returncode == 0:
            return python
    pytest.skip("no Python here has setuptools>=64 and wheel to build the kit offline "
                "(apt-get install python3-setuptools python3-wheel)")


def _build(python: str, hook: str, source: Path, out: Path) -> Path:
    """Run a PEP 517 hook of setuptools (build_sdist or build_wheel) in `source`; the file it made."""
    result = subprocess.run([python, "-c", f"from setuptools import build_meta; print(build_meta.{hook}({str(out)!r}))"],
                            cwd=source, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return out / result.stdout.strip().splitlines()[-1]


def _site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The kit built from a copy of its sources (sdist, then a wheel from it) and installed in a new virtualenv."""
    top = tmp_path_factory.mktemp("wheel")
    source = top / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    python = _builder()
    sdist = _build(python, "build_sdist", source, top / "dist")
    with tarfile.open(sdist) as archive:
        archive.extractall(top / "unpacked", **({"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}))
    wheel = _build(python, "build_wheel", next((top / "unpacked").iterdir()), top / "dist")

    venv = top / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "-q", str(wheel)], check=True, capture_output=True, timeout=300)
    deps = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()))
    (_site_packages(venv) / "repo_dependencies.pth").write_text(f"{deps}\n")   # a path only: its .pth files stay unread
    work = top / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VICIFAST_LAB_DIR", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    return {"venv": venv, "wheel": wheel, "sdist": sdist, "work": work, "env": env,
            "package": _site_packages(venv) / "vicifast_kit"}


def _run(installed, *command: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=installed["work"], env=installed["env"], capture_output=True, text=True,
                          timeout=timeout)


def _tree(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under a folder (no __pycache__): its mode and content, by its path inside."""
    return {str(p.relative_to(folder)): (p.stat().st_mode & 0o777, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def test_the_sdist_carries_docker_and_the_wheel_ships_the_same_files(installed):
    with tarfile.open(installed["sdist"]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"setup.py", "docker/lab.env", "docker/compose.yaml", "docker/start-asterisk.sh"} <= names
    shipped = _tree(installed["package"] / "lab/files/docker")
    repo = _tree(REPO / "docker")
    assert set(shipped) == set(repo), "the packaged lab's files are not those of docker/"
    for name, (mode, content) in repo.items():
        assert shipped[name][1] == content, f"{name} differs from docker/{name}"
    assert shipped["start-asterisk.sh"][0] & 0o111 and shipped["asterisk/tts.sh"][0] & 0o111     # still runnable
    # The Jupyter of the kit's environment loads vicifast_kit.notebook_server (kernel websockets without Nagle).
    enabled = installed["venv"] / "etc/jupyter/jupyter_server_config.d/vicifast_kit.json"
    assert enabled.read_bytes() == (REPO / "jupyter-config/jupyter_server_config.d/vicifast_kit.json").read_bytes()


def test_import_reads_nothing_of_the_repository_and_takes_the_packaged_settings(installed):
    probe = textwrap.dedent("""
        import json, sys
        repo, deps = sys.argv[1], sys.argv[2]          # the repository; its .venv, where the dependencies come from
        def of_repo(path):
            return path.startswith(repo) and not path.startswith(deps)
        touched = []
        sys.addaudithook(lambda event, args: touched.append((event, str(args[0]))) if event in (
            "open", "os.listdir", "os.scandir", "os.chdir") and args and of_repo(str(args[0])) else None)
        import vicifast_kit as vk
        from vicifast_kit import settings
        from vicifast_kit.lab import rootfs
        s = settings.load()
        status = vk.lab.status()
        print(json.dumps({
            "kit": vk.__file__, "lab_dir": str(settings.LAB_DIR), "packaged": str(settings.PACKAGED_LAB_DIR),
            "is_packaged": settings.lab_is_packaged(),
            "ari_url": s.ari_url, "up": status.up, "root": str(rootfs.root_dir()), "touched": touched,
            "modules": sorted(n for n, m in list(sys.modules.items()) if of_repo(str(getattr(m, "__file__", "") or ""))),
            "finder": [n for n in sys.modules if "__editable__" in n],
        }))
    """)
    result = _run(installed, str(installed["venv"] / "bin/python"), "-c", probe, str(REPO) + os.sep,
                  str(REPO / ".venv") + os.sep)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["kit"].startswith(str(installed["package"]))
    assert found["lab_dir"] == found["packaged"] == str(installed["package"] / "lab/files/docker")
    assert found["is_packaged"] is True
    assert found["touched"] == [] and found["modules"] == [] and found["finder"] == []
    assert found["ari_url"] == settings.lab_ari_url()           # the packaged lab.env's port
    assert found["root"] == str(rootfs.root_dir())             # the same packages: the same cached root filesystem
    assert found["up"] is True                                  # the shared lab, reached from the wheel


def test_lab_status_from_the_wheel_reports_the_running_lab_and_writes_nothing_in_site_packages(installed):
    before = _tree(installed["package"])
    result = _run(installed, str(installed["venv"] / "bin/vicifast-kit"), "lab", "status")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Lab:      up" in out and "ARI:      answers" in out and "AMI:      answers" in out
    assert f"Settings: {installed['package'] / 'lab/files/docker/lab.env'}" in out
    assert str(REPO) not in out
    assert _tree(installed["package"]) == before


def test_the_packaged_compose_file_builds_the_labs_image_from_the_packaged_files(installed):
    """The Docker lab's build context and every file its Dockerfile copies are inside the package."""
    lab = installed["package"] / "lab/files/docker"
    service = yaml.safe_load((lab / "compose.yaml").read_text())["services"]["asterisk"]["build"]
    context = (lab / service["context"]).resolve()
    dockerfile = context / service["dockerfile"]
    assert dockerfile.is_file()
    stage = dockerfile.read_text().split(f"AS {service['target']}", 1)[1].split("\nFROM ", 1)[0]
    copied = [line.split()[1] for line in stage.splitlines() if line.startswith("COPY ") and "--from" not in line]
    assert copied and all((context / path).exists() for path in copied), copied
