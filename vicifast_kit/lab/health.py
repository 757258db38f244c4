"""Is the lab up? What `vicifast-kit lab status` reports: backend, Asterisk's version, ARI, AMI, channels."""

from __future__ import annotations

from dataclasses import dataclass

from .. import settings
from . import probes
from .backends import BACKENDS, check_backend, running_backend
from .errors import START_HINT


@dataclass
class LabStatus:
    """What `vicifast-kit lab status` reports."""

    backend: str | None
    ari: str
    ami: str
    version: str | None = None
    channels: int | None = None
    ari_url: str = ""
    ami_address: str = ""
    note: str = ""          # e.g. why a backend asked for is not the one that runs

    @property
    def up(self) -> bool:
        """True when ARI answers with the lab's credentials."""
        return self.ari == "ok"

    def __str__(self) -> str:
        if self.note:
            return self.note
        where = f"Settings: {settings.LAB_DIR / 'lab.env'}; passwords in {settings.secrets_file()}"
        if not self.up and self.backend is None:
            return f"The lab is down: nothing answers at {self.ari_url}. {START_HINT}\n{where}"
        backend = self.backend or "not started by this kit on this machine"
        lines = [
            f"Lab:      {'up' if self.up else 'not answering'} (backend: {backend})",
            f"Asterisk: {self.version or 'unknown'}",
            f"ARI:      {_describe(self.ari)} at {self.ari_url}/ari",
            f"AMI:      {_describe(self.ami)} at {self.ami_address}",
            f"Channels: {'unknown' if self.channels is None else self.channels} up",
            where,
        ]
        return "\n".join(lines)


def _describe(state: str) -> str:
    """A probe's answer ('ok', 'refused', 'unreachable') in words."""
    return {"ok": "answers", "refused": "answers but refuses the lab's credentials", "unreachable": "does not answer"}[state]


def ari_state(s: settings.Settings) -> tuple[str, dict | None]:
    """('ok', Asterisk's info), ('refused', None) for wrong credentials, or ('unreachable', None)."""
    info = probes.ari_get(s, "/asterisk/info")
    if info is None:
        return "unreachable", None
    if "http_status" in info:
        return ("refused" if info["http_status"] in (401, 403) else "unreachable"), None
    return "ok", info


def status(backend: str | None = None) -> LabStatus:
    """Which backend runs the lab, Asterisk's version, whether ARI and AMI answer, channels up.

    With `backend`, the lab of that backend only: when it does not run, the status says so (not up).
    """
    check_backend(backend)
    s = settings.load()
    current = running_backend()
    if backend and current != backend and not BACKENDS[backend].running():
        runs = f" (it runs with the {current} backend)" if current else ""
        return LabStatus(
            backend=None, ari="unreachable", ami="unreachable", ari_url=s.ari_url, ami_address=f"{s.ami_host}:{s.ami_port}",
            note=f"The lab is not running with the {backend} backend{runs}. "
                 f"Start it with `vicifast-kit lab up --backend {backend}`.",
        )
    ari, info = ari_state(s)
    result = LabStatus(
        backend=backend or current, ari=ari, ami=probes.ami_login(s) if ari != "unreachable" else "unreachable",
        ari_url=s.ari_url, ami_address=f"{s.ami_host}:{s.ami_port}",
    )
    if info:
        result.version = info.get("system", {}).get("version")
        channels = probes.ari_get(s, "/channels")
        result.channels = len(channels) if isinstance(channels, list) else None
    return result
