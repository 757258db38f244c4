"""The lab's connection settings: docker/lab.env, the lab's generated secrets, and the environment."""

from __future__ import annotations

import os
import secrets as _random
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .errors import SettingsError, SettingsMissing

_PACKAGE = Path(__file__).resolve().parent
#: The lab's files in a checkout: the repository's docker/ folder, their one source of truth.
CHECKOUT_LAB_DIR = _PACKAGE.parent / "docker"
#: The same files inside an installed kit (wheel or sdist): setup.py copies docker/ there when it builds.
PACKAGED_LAB_DIR = _PACKAGE / "lab" / "files" / "docker"


def _lab_dir() -> Path:
    """VICIFAST_LAB_DIR if set, else the checkout's docker/ folder if there is one, else the packaged copy."""
    chosen = os.environ.get("VICIFAST_LAB_DIR")
    if chosen:
        return Path(chosen).expanduser()
    if (CHECKOUT_LAB_DIR / "lab.env").is_file():
        return CHECKOUT_LAB_DIR
    return PACKAGED_LAB_DIR


def lab_is_packaged() -> bool:
    """True when the lab's files are the copy shipped in the package (the kit runs without its repository)."""
    return LAB_DIR == PACKAGED_LAB_DIR


#: The folder of the lab (lab.env, asterisk/ config, start script, Dockerfile, compose.yaml): the checkout's
#: docker/, else the copy shipped in the package; VICIFAST_LAB_DIR moves it. The kit only reads it: what the
#: lab writes goes to secrets_file() and the cache folder (vicifast_kit.lab.rootfs.cache_dir()).
LAB_DIR = _lab_dir()

#: The lab's passwords: never in the repository, made at random the first time they are needed.
#: PUSH_PASSWORD is the one Asterisk presents when it connects to the kit (ARI outbound websockets);
#: ARI_VIEWER_PASSWORD is the read-only ARI user's (ARI_USER-viewer), its own so that it cannot write.
SECRET_NAMES = ("ARI_PASSWORD", "AMI_SECRET", "SIP_PASSWORD", "PUSH_PASSWORD", "ARI_VIEWER_PASSWORD")


def secrets_file() -> Path:
    """Where this user's lab secrets live (VICIFAST_SECRETS_FILE moves it), readable only by the user."""
    chosen = os.environ.get("VICIFAST_SECRETS_FILE")
    if chosen:
        return Path(chosen).expanduser()
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config_home / "vicifast-kit" / "lab-secrets.env"


def read_env_file(path: Path) -> dict[str, str]:
    """Read NAME=value lines (comments and blank lines skipped) from an env file."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip().strip("'\"")
    return values


def lab_secrets() -> dict[str, str]:
    """The lab's ARI, AMI and SIP passwords: read from secrets_file(), made on first use if missing."""
    if all(os.environ.get(name) for name in SECRET_NAMES):
        return {name: os.environ[name] for name in SECRET_NAMES}
    path = secrets_file()
    known = read_env_file(path) if path.is_file() else {}
    missing = [name for name in SECRET_NAMES if not known.get(name)]
    if missing:
        known.update({name: _random.token_urlsafe(18) for name in missing})
        try:
            _write_private(path, known)
        except OSError as error:
            raise SettingsError(
                f"Cannot keep the lab's generated passwords in {path} ({error.strerror or error}): set "
                "VICIFAST_SECRETS_FILE to a file you may write, or give them all in the environment "
                f"({', '.join(SECRET_NAMES)})") from None
    elif path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)            # someone loosened it: secrets stay readable by this user only
    return {name: os.environ.get(name) or known[name] for name in SECRET_NAMES}


def known_secrets() -> set[str]:
    """The lab's passwords as far as they exist already (environment, secrets file): read, never made."""
    found = {os.environ.get(name, "") for name in SECRET_NAMES}
    path = secrets_file()
    if path.is_file():
        try:
            found |= {value for name, value in read_env_file(path).items() if name in SECRET_NAMES}
        except OSError:         # unreadable: nothing known from it
            pass
    return {value for value in found if value}


def _write_private(path: Path, values: dict[str, str]) -> None:
    """Write NAME=value lines to path, readable and writable by this user only (like Jupyter's token)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = "# The VICIfast lab's passwords, made at random on first use. Delete this file and run\n" \
           "# `vicifast-kit lab restart` to make new ones.\n" + "".join(f"{k}={v}\n" for k, v in values.items())
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(partial, path)


#: What reaches ARI without the lab's settings file.
ARI_NAMES = ("ARI_URL", "ARI_USER", "ARI_PASSWORD")


def lab_values() -> dict[str, str]:
    """Every lab setting: lab.env plus the generated secrets, each overridden by an environment variable."""
    env_file = LAB_DIR / "lab.env"
    if not env_file.is_file():
        raise SettingsMissing(
            f"The lab's settings file {env_file} is missing, so the kit does not know where your Asterisk is. "
            "Connect with vk.connect(url=\"http://HOST:8088\", user=..., password=...), or set the environment "
            "variables ARI_URL, ARI_USER and ARI_PASSWORD (AMI_HOST, AMI_PORT, AMI_USER, AMI_SECRET for AMI); "
            "or, for the lab, point VICIFAST_LAB_DIR at a folder with the lab's files (the docker/ folder of the "
            "kit's repository; an installed kit ships them in vicifast_kit/lab/files/docker), or reinstall the kit."
        )
    values = read_env_file(env_file)
    values = {name: os.environ.get(name) or value for name, value in values.items()}
    values.update(lab_secrets())
    return values


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
    push_password: str = field(repr=False, default="")
    #: The lab's read-only ARI user (ARI_USER-viewer) has a password of its own ("" for a server of your own).
    ari_viewer_password: str = field(repr=False, default="")


def port(values: dict[str, str], name: str) -> int:
    """The setting `name` (e.g. "AMI_PORT") as a port number; SettingsError if it is missing or not one."""
    text = setting(values, name).strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SettingsError(f"{name} must be a port number from 1 to 65535, not {text!r}: {_where(name)}")
    return int(text)


def setting(values: dict[str, str], name: str) -> str:
    """The setting `name` of `values`; SettingsError saying where to set it if it is not there."""
    if not values.get(name):
        raise SettingsError(f"{name} is not set: {_where(name)}")
    return values[name]


def _where(name: str) -> str:
    """Where a setting comes from, and so where to fix it."""
    if os.environ.get(name):
        return f"fix the environment variable {name} (it overrides {LAB_DIR / 'lab.env'})"
    return f"fix it in {LAB_DIR / 'lab.env'}, or set the environment variable {name}"


#: Host names that are this machine (where the kit's lab listens).
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def lab_hosts() -> tuple[str, ...]:
    """The host names the lab answers at from here: this machine's, plus VICIFAST_LAB_HOST (the Docker
    JupyterLab sets it to `asterisk`, the lab's name on the compose network)."""
    named = os.environ.get("VICIFAST_LAB_HOST", "").strip()
    return LOCAL_HOSTS + ((named,) if named else ())


def lab_ari_url() -> str | None:
    """The ARI address of the kit's lab on this machine (http://127.0.0.1:ARI_PORT); None without lab.env."""
    env_file = LAB_DIR / "lab.env"
    if not env_file.is_file():
        return None
    text = (os.environ.get("ARI_PORT") or read_env_file(env_file).get("ARI_PORT", "")).strip()
    return f"http://127.0.0.1:{text}" if text.isdigit() else None


def is_lab_address(url: str) -> bool:
    """True when an ARI address is the kit's lab on this machine (127.0.0.1, localhost or ::1, the lab's ARI_PORT)."""
    lab = lab_ari_url()
    if lab is None:
        return False
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in lab_hosts() and port == urlsplit(lab).port


def uses_lab() -> bool:
    """True when load() reads the lab's settings; False for an Asterisk of your own given by ARI_URL, ARI_USER
    and ARI_PASSWORD (ARI_URL not the lab's address, or no lab settings at all)."""
    if not all(os.environ.get(name) for name in ARI_NAMES):
        return True
    return (LAB_DIR / "lab.env").is_file() and is_lab_address(os.environ["ARI_URL"])


def elsewhere() -> str:
    """Where the settings point when that is not the kit's lab on this machine ("" when it is), for messages.

    ARI_URL that is not the lab's address, or AMI_HOST that is not this machine, point elsewhere.
    """
    url = os.environ.get("ARI_URL", "").strip()
    if url and not is_lab_address(url):
        parts = urlsplit(url)
        shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl().rstrip("/")   # never a password
        return f"{shown} (ARI_URL from your environment)"
    host = os.environ.get("AMI_HOST", "").strip()
    if host and host not in lab_hosts():
        return f"{host} (AMI_HOST from your environment)"
    return ""


def load() -> Settings:
    """The kit's connection defaults: ARI_URL, ARI_USER, ... from the environment, else the lab's settings.

    ARI_URL, ARI_USER and ARI_PASSWORD all set, for another server than the lab: those alone (and AMI_*),
    nothing of the lab read or written; otherwise the lab's settings, each overridden by its variable.
    """
    if not uses_lab():
        return _from_environment()           # an Asterisk of your own: the lab's settings are not for it
    values = lab_values()
    return Settings(
        ari_url=(os.environ.get("ARI_URL") or f"http://127.0.0.1:{port(values, 'ARI_PORT')}").rstrip("/"),
        ari_user=setting(values, "ARI_USER"),
        ari_password=setting(values, "ARI_PASSWORD"),
        ami_host=os.environ.get("AMI_HOST") or "127.0.0.1",
        ami_port=port(values, "AMI_PORT"),
        ami_user=setting(values, "AMI_USER"),
        ami_secret=setting(values, "AMI_SECRET"),
        push_password=values.get("PUSH_PASSWORD", ""),
        ari_viewer_password=values.get("ARI_VIEWER_PASSWORD", ""),
    )


def _from_environment() -> Settings:
    """Settings from ARI_URL, ARI_USER, ARI_PASSWORD (and AMI_*, PUSH_PASSWORD if set) alone; no file read or written.

    AMI's host defaults to ARI's (the same Asterisk), its port to Asterisk's own 5038; AMI_USER and
    AMI_SECRET have no default (vicifast_kit.ami.connect says to set them).
    """
    env = os.environ
    return Settings(
        ari_url=env["ARI_URL"].rstrip("/"), ari_user=env["ARI_USER"], ari_password=env["ARI_PASSWORD"],
        ami_host=env.get("AMI_HOST") or urlsplit(env["ARI_URL"].strip()).hostname or "127.0.0.1",
        ami_port=port(env, "AMI_PORT") if env.get("AMI_PORT") else 5038,     # Asterisk's own default
        ami_user=env.get("AMI_USER", ""), ami_secret=env.get("AMI_SECRET", ""),
        push_password=env.get("PUSH_PASSWORD", ""),
    )
