"""The lab's files (docker/) go into the package when it is built: the one extra step pyproject.toml cannot say.

docker/ stays their one source of truth in the repository; a wheel (or a wheel built from the sdist,
which carries docker/ through MANIFEST.in) gets a copy in vicifast_kit/lab/files/docker, where
vicifast_kit.settings looks when there is no checkout. An editable install reads docker/ itself.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LAB_FILES = Path(__file__).resolve().parent / "docker"
PACKAGED = Path("vicifast_kit", "lab", "files", "docker")


class build_py_with_lab(build_py):
    """build_py, then a copy of docker/ (symlinks as the files they name, modes kept) into the built package."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        if not (LAB_FILES / "lab.env").is_file():
            raise SystemExit(f"The lab's files are missing ({LAB_FILES}): build from the repository or its sdist.")
        target = Path(self.build_lib) / PACKAGED
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(LAB_FILES, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": build_py_with_lab})
