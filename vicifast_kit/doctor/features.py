"""What a server offers the kit: each feature's versions and modules, judged against one Asterisk.

The versions are the first release tags of asterisk/asterisk whose tree holds the feature (its
source file, or for transfer handling PJSIP_TRANSFER_HANDLING in chan_pjsip.c; REST over the
websocket: RESTRequest in res/ari), one per supported branch. They match the ChangeLogs; for
StasisBroadcast the tags say 20.20.0 / 22.10.0 / 23.4.0, although its own documentation's
``<since>`` names 20.17.0 / 22.7.0 / 23.1.0, releases whose trees do not have it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from .parse import parse_version
from .report import Feature

Version = tuple[int, int, int]


@dataclass(frozen=True)
class Requirement:
    """A kit feature: which releases have it (the first of each branch) and which modules it needs loaded."""

    name: str
    used_by: str
    modules: tuple[str, ...]
    since: tuple[Version, ...] = ()         # first release of each branch that has it; () = every ARI version
    load: str = ""                          # how to load its modules, when they are missing

    def needs(self) -> str:
        """Versions and modules, as the table shows them."""
        versions = "any version" if not self.since else ", ".join(
            f"{v[0]}+" if v == max(self.since) and v[1] == 0 else f"{v[0]}.{v[1]}+" for v in self.since)
        return f"{versions}; {', '.join(self.modules)}"

    def version_ok(self, version: Version | None) -> bool | None:
        """True when this release has the feature, False when not, None when the version is unknown."""
        if not self.since:
            return True
        if version is None:
            return None
        newest_branch = max(v[0] for v in self.since)
        if version[0] > newest_branch:
            return True
        first = next((v for v in self.since if v[0] == version[0]), None)
        return first is not None and version >= first


#: The kit's features, in the order of the notebooks. "used by" names the kit's calls and notebooks.
REQUIREMENTS = (
    Requirement("ARI calls and events", "vk.connect, answer, hangup, DTMF, bridges; every notebook",
                ("res_ari.so", "app_stasis.so", "res_ari_channels.so", "res_ari_bridges.so")),
    Requirement("Playback", "ch.play(); notebooks 00-10", ("res_stasis_playback.so", "res_ari_playbacks.so"),
                load="module load res_stasis_playback.so, then module load res_ari_playbacks.so"),
    Requirement("Recording", "ch.record(); notebooks 07, 08", ("res_stasis_recording.so", "res_ari_recordings.so"),
                load="module load res_stasis_recording.so, then module load res_ari_recordings.so"),
    Requirement("Mixing bridges", "conferences, ch.media(), the widgets' Phone; notebooks 05, 07, 09",
                ("bridge_softmix.so",), load="module load bridge_softmix.so"),
    Requirement("ConfBridge", "the dialplan's conferences; notebooks 05, 07", ("app_confbridge.so",),
                load="module load app_confbridge.so (its rooms and menus come from confbridge.conf)"),
    Requirement("Snoop", "ch.listen(), supervisor listen and whisper; notebooks 05, 07", ("res_stasis_snoop.so",),
                load="module load res_stasis_snoop.so"),
    Requirement("WebSocket media", "ch.media(), ch.listen(), the Listen and Phone widgets; notebooks 00, 03-09 "
                "(their cells that play what the caller heard), 08, 09", ("chan_websocket.so",),
                since=((20, 16, 0), (21, 11, 0), (22, 6, 0), (23, 0, 0)),
                load="give it a chan_websocket.conf (Debian ships one in /etc/asterisk), then module load "
                     "chan_websocket.so, and add `load = chan_websocket.so` to modules.conf to keep it"),
    Requirement("Talk detection", "vk.voice's turn-taking (TALK_DETECT); notebook 09", ("func_talkdetect.so",),
                load="module load func_talkdetect.so"),
    Requirement("REST over the websocket", "vk.push: requests travel on Asterisk's own websocket; notebook 10",
                ("res_ari.so",), since=((20, 14, 0), (21, 9, 0), (22, 4, 0), (23, 0, 0))),
    Requirement("Outbound websockets", "vk.push: Asterisk connects to your program; notebook 10",
                ("res_websocket_client.so",), since=((20, 15, 0), (21, 10, 0), (22, 5, 0), (23, 0, 0)),
                load="module load res_websocket_client.so, then add a `type = outbound_websocket` section to "
                     "ari.conf and its connection to websocket_client.conf (notebook 10 shows both)"),
    Requirement("StasisBroadcast", "your dialplan: StasisBroadcast() offers a call to several app instances "
                "(no kit call needs it)", ("app_stasis_broadcast.so", "res_stasis_broadcast.so"),
                since=((20, 20, 0), (22, 10, 0), (23, 4, 0)),
                load="module load res_stasis_broadcast.so, then module load app_stasis_broadcast.so"),
    Requirement("ARI transfer handling", "your app: PJSIP_TRANSFER_HANDLING(ari-only) turns a SIP REFER into an "
                "ARI event (no kit call needs it)", ("chan_pjsip.so", "res_pjsip_refer.so"),
                since=((20, 13, 0), (21, 8, 0), (22, 3, 0), (23, 0, 0)), load="module load res_pjsip_refer.so"),
)


def judge(requirement: Requirement, version: Version | None, version_text: str,
          modules: dict[str, str] | None) -> Feature:
    """One requirement against a server: its version and its loaded modules (name -> status; None if unknown)."""
    feature = partial(Feature, requirement.name, requirement.used_by, requirement.needs())
    evidence = _evidence(requirement, version_text, modules)
    in_release = requirement.version_ok(version)
    if in_release is False:
        first = " / ".join(f"{v[0]}.{v[1]}" for v in requirement.since)
        return feature(False, evidence, f"upgrade Asterisk: {version_text} has no {requirement.name}; it came in {first}")
    if modules is None:
        return feature(None, evidence, "the doctor could not read the loaded modules (ARI GET /asterisk/modules)")
    missing = [m for m in requirement.modules if modules.get(m) != "Running"]
    if missing:
        return feature(False, evidence, requirement.load or f"module load {missing[0]}")
    if in_release is None:
        return feature(None, evidence, f"its modules are loaded; check that {version_text!r} is a release with it")
    return feature(True, evidence, "")


def _evidence(requirement: Requirement, version_text: str, modules: dict[str, str] | None) -> str:
    """What decided a feature: the version (when it matters), the modules loaded and not loaded."""
    parts = [f"version {version_text or 'unknown'}"] if requirement.since else []
    if modules is not None:
        loaded = [m for m in requirement.modules if modules.get(m) == "Running"]
        missing = [m for m in requirement.modules if m not in loaded]
        parts += [f"loaded: {', '.join(loaded)}"] if loaded else []
        parts += [f"not loaded: {', '.join(missing)}"] if missing else []
    return "; ".join(parts)


def features(version_text: str, modules: dict[str, str] | None, ami: bool | None) -> list[Feature]:
    """Every kit feature judged for one server, then AMI (vk.ami, notebook 01): True logged in, None not given."""
    version = parse_version(version_text)
    found = [judge(r, version, version_text, modules) for r in REQUIREMENTS]
    found.append(Feature("AMI", "vk.ami, vk.lab.cli; notebook 01", "an AMI user (manager.conf)", ami,
                         "the doctor logged in" if ami else "no AMI was given to the doctor",
                         "" if ami else "give the doctor an AMI user (--ami-user, --ami-secret) to check it"))
    return found
