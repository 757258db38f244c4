"""The lab's connection settings: docker/lab.env, overridden by environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: The folder of the lab (config, start script, Dockerfile); VICIFAST_LAB_DIR moves it.
LAB_DIR = Path(os.environ.get("VICIFAST_LAB_DIR") or Path(__file__).resolve().parent.parent / "docker")


def read_env_file(path: Path) -> dict[str, str]:
    """Read NAME=value lines (comments and blank lines skipped) from an env file."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip().strip("'\"")
    return values


def lab_values() -> dict[str, str]:
    """Every setting of lab.env, each overridden by an environment variable of the same name."""
    env_file = LAB_DIR / "lab.env"
    if not env_file.is_file():
        raise FileNotFoundError(
            f"The lab's settings file {env_file} is missing: run the kit from its repository "
            "(pip install -e .) or point VICIFAST_LAB_DIR at the kit's docker/ folder."
        )
    values = read_env_file(env_file)
    return {name: os.environ.get(name) or value for name, value in values.items()}


@dataclass(frozen=True)
class Settings:
    """Where the kit finds the lab's ARI and AMI, and the credentials it uses."""

    ari_url: str
    ari_user: str
    ari_password: str = field(repr=False)
    ami_host: str
    ami_port: int
    ami_user: str
    ami_secret: str = field(repr=False)


def load() -> Settings:
    """The kit's connection defaults: ARI_URL, ARI_USER, ... from the environment, else lab.env."""
    values = lab_values()
    return Settings(
        ari_url=(os.environ.get("ARI_URL") or f"http://127.0.0.1:{values['ARI_PORT']}").rstrip("/"),
        ari_user=values["ARI_USER"],
        ari_password=values["ARI_PASSWORD"],
        ami_host=os.environ.get("AMI_HOST") or "127.0.0.1",
        ami_port=int(values["AMI_PORT"]),
        ami_user=values["AMI_USER"],
        ami_secret=values["AMI_SECRET"],
    )
