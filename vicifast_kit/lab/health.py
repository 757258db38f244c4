"""Is the lab up? What `vicifast-kit lab status` reports: backend, Asterisk's version, ARI, AMI, channels."""

from __future__ import annotations

from dataclasses import dataclass

from .. import settings
from . import probes
from .backends import BACKENDS, check_backend, running_backend
from ..errors import unreachable_text
from .errors import START_HINT, refuse_elsewhere


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
    #: Where the settings point when that is not the kit's lab ("" for the lab): settings.elsewhere().
    server: str = ""

    @property
    def up(self) -> bool:
        """True when ARI answers with the lab's credentials."""
        return self.ari == "ok"

    def __str__(self) -> str:
        if self.note:
            return self.note
        if self.server:
            return self._other_server()
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


    def _other_server(self) -> str:
        """The report on an Asterisk that is not the kit's lab (the settings point at it)."""
        if not self.up and self.ari == "unreachable":
            return unreachable_text(self.ari_url, "environment")
        lines = [
            f"Server:   {self.server}: not the kit's lab ({'up' if self.up else 'not answering'})",
            f"Asterisk: {self.version or 'unknown'}",
            f"ARI:      {_describe(self.ari, 'your')} at {self.ari_url}/ari",
            f"AMI:      {_describe(self.ami, 'your')} at {self.ami_address}",
            f"Channels: {'unknown' if self.channels is None else self.channels} up",
            "Settings: your environment (ARI_URL, ARI_USER, ARI_PASSWORD, AMI_*); unset ARI_URL and AMI_HOST for the lab",
        ]
        return "\n".join(lines)


def _describe(state: str, whose: str = "the lab's") -> str:
    """A probe's answer ('ok', 'refused', 'unreachable') in words."""
    return {"ok": "answers", "refused": f"answers but refuses {whose} credentials", "unreachable": "does not answer",
            "unset": "not checked (AMI_USER and AMI_SECRET are not set)"}[state]


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
    When your settings point at another Asterisk (ARI_URL, AMI_HOST), the same report is about that
    server, labelled as not the kit's lab (`server`), with no backend.
    """
    check_backend(backend)
    s = settings.load()
    server = settings.elsewhere()
    if server:
        if backend:
            refuse_elsewhere(f"`vicifast-kit lab status --backend {backend}` reports on the kit's lab",
                             "run `vicifast-kit lab status` without --backend")
        return _status_of(s, None, server)
    current = running_backend()
    if backend and current != backend and not BACKENDS[backend].running():
        runs = f" (it runs with the {current} backend)" if current else ""
        return LabStatus(
            backend=None, ari="unreachable", ami="unreachable", ari_url=s.ari_url, ami_address=f"{s.ami_host}:{s.ami_port}",
            note=f"The lab is not running with the {backend} backend{runs}. "
                 f"Start it with `vicifast-kit lab up --backend {backend}`.",
        )
    return _status_of(s, backend or current)


def _status_of(s: settings.Settings, backend: str | None, server: str = "") -> LabStatus:
    """Probe ARI (and AMI, when ARI answers) at the settings' addresses."""
    ari, info = ari_state(s)
    ami = "unreachable"
    if ari != "unreachable":
        ami = probes.ami_login(s) if s.ami_user and s.ami_secret else "unset"
    result = LabStatus(backend=backend, ari=ari, ami=ami, ari_url=s.ari_url, ami_address=f"{s.ami_host}:{s.ami_port}",
                       server=server)
    if info:
        result.version = info.get("system", {}).get("version")
        channels = probes.ari_get(s, "/channels")
        result.channels = len(channels) if isinstance(channels, list) else None
    return result
