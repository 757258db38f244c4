"""Simulated callers: realistic inbound calls into the lab, for a lab with no phone.

The caller's half of the call runs the lab's ``sim-caller`` dialplan (docker/asterisk/extensions.conf):
once answered it waits, presses digits, speaks (text to speech made inside the lab by espeak-ng,
or lab prompts), then stays on the line with quiet room noise until it hangs up.
"""

from __future__ import annotations

import base64
import math
import random
import re
import threading
import urllib.error
import urllib.request
import weakref
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from .. import settings
from .errors import LabError, NotTheLab
from ..errors import WaitTimeout
from ..wire import via
from ..media.stream import CALL_FORMATS

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient
    from ..handles import Channel

CONTEXT = "sim-caller"
DEFAULT_SAY = "Hello, I'm calling about my order."
MAX_TEXT = 500   # characters of one text item: a sentence or a short paragraph

FIRST_NAMES = ["Ada", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jamal",
               "Keiko", "Liam", "Maria", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq"]
LAST_NAMES = ["Adams", "Brown", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jones",
              "Khan", "Lopez", "Martin", "Nguyen", "Okafor", "Patel", "Rossi", "Smith", "Tanaka", "Weber"]

_SOUND_NAME = re.compile(r"[A-Za-z0-9_/-]+")
_random = random.Random()
_last_caller: tuple[str, str] = ("", "")
_id_lock = threading.Lock()


def random_caller_id() -> str:
    """A realistic caller id, '"First Last" <55501xx>': another name and number than the previous caller's."""
    global _last_caller
    with _id_lock:
        while True:
            name = f"{_random.choice(FIRST_NAMES)} {_random.choice(LAST_NAMES)}"
            number = f"55501{_random.randrange(100):02d}"
            if name != _last_caller[0] and number != _last_caller[1]:
                _last_caller = (name, number)
                return f'"{name}" <{number}>'


def say_items(say: str | list[str] | tuple[str, ...] | None) -> str:
    """SIM_SAY for the dialplan: each item as "text:BASE64" or "sound:NAME", joined by '&'."""
    if not say:
        return ""
    items = [say] if isinstance(say, str) else list(say)
    encoded = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"say: each item must be a str (text, or 'sound:NAME'), not {type(item).__name__}")
        if item.startswith("sound:"):
            name = item[len("sound:"):]
            if not _SOUND_NAME.fullmatch(name):
                raise ValueError(f"say: {item!r} is not a lab prompt name (letters, digits, _ - /), "
                                 "e.g. 'sound:hello-world'")
            encoded.append(item)
        elif item.strip():
            if len(item) > MAX_TEXT:
                raise ValueError(f"say: a text item has at most {MAX_TEXT} characters (this one has {len(item)}); "
                                 "split it into several items")
            encoded.append("text:" + base64.b64encode(item.encode("utf-8")).decode("ascii"))
    return "&".join(encoded)


def simulate_caller(ari: "ARIClient", dtmf: str = "", *, say: str | list[str] | None = DEFAULT_SAY,
                    app: str | None = None, delay: float = 1.0, patience: float = 300.0, duration: float = 600.0,
                    caller_id: str | None = None, number: str = "5551000", talk: str | None = None) -> "Channel":
    """Kit helper (lab): POST /channels to Local/NUMBER@inbound, whose far end acts like a person; returns the caller's side.

    The call goes through the lab's ``inbound`` dialplan (StasisStart with args
    ["inbound", number], state Ring) with its own caller id (a realistic name and 555-01xx number,
    new for each caller, unless `caller_id` is given). If nobody answers within `patience` s the
    caller gives up (hang-up cause 19, no answer). Once the app answers, the caller waits `delay` s,
    presses `dtmf`, says each item of `say` (text, spoken by the lab's text to speech, or
    "sound:NAME" for a lab prompt; None says nothing), plays `talk` (a sound, repeated, optional),
    and otherwise stays on the line with quiet room noise, hanging up `duration` s after the
    answer (cause 16, normal clearing). A call for the client's own app waits (up to 10 s) while
    its event websocket reconnects, e.g. just after a lab restart: placed before, it would reach
    no app and fail.

    It needs the kit's lab (or an Asterisk with the lab's dialplan): the first call on a client asks,
    once, whether the server has it (GET /asterisk/variable?variable=SIM_NOISE, a global the lab's
    dialplan sets beside its ``sim-caller`` context; not shown on the wire); on another server it
    raises NotTheLab, saying what is missing and how to place a call there instead.
    """
    if (app is None or app in ari.apps) and not ari.connected:
        try:
            ari.wait_connected(timeout=10)
        except WaitTimeout:
            raise WaitTimeout(f"the event websocket of app {app or ari.app!r} to reconnect (a call placed "
                              "now would reach no app; is the lab up? `vicifast-kit lab status`)", 10) from None
    check_lab_dialplan(ari)
    with via("simulate_caller"):
        return ari.channels.originate(
            endpoint=f"Local/{number}@inbound/n", context=CONTEXT, extension="s", priority=1,
            caller_id=caller_id or random_caller_id(), timeout=max(1, math.ceil(patience)),
            # As a phone would: without formats ARI gives the Local pair slin192, which costs a resample
            # of every frame and (measured) halves every level on the way through.
            formats=CALL_FORMATS,
            variables={"VICIFAST_APP": app or ari.app, "SIM_DELAY": str(delay), "SIM_DTMF": dtmf,
                       "SIM_SAY": say_items(say), "SIM_DURATION": str(duration), "SIM_TALK": talk or ""})


#: A global of the lab's dialplan, set beside its sim-caller context (docker/asterisk/extensions.conf [globals]).
LAB_MARKER = "SIM_NOISE"
#: Clients whose server was found to have the lab's dialplan (only a hit is kept: a server may load it later).
_has_lab_dialplan: "weakref.WeakKeyDictionary[ARIClient, bool]" = weakref.WeakKeyDictionary()


def check_lab_dialplan(ari: "ARIClient") -> None:
    """NotTheLab unless ari's Asterisk has the lab's simulated-caller dialplan (asked once per client, off the wire).

    ARI cannot evaluate a dialplan function without a channel (GET /asterisk/variable reads globals
    only), so the check reads the global LAB_MARKER that the lab's dialplan defines. An answer that
    is not 200 tells nothing: the originate that follows raises its own error then.
    """
    if _has_lab_dialplan.get(ari):
        return
    reply = ari.transport.send("GET", "/asterisk/variable", {"variable": LAB_MARKER})
    if reply.status != 200:
        return
    if (reply.data or {}).get("value"):
        _has_lab_dialplan[ari] = True
        return
    raise NotTheLab(
        f"vk.lab.simulate_caller needs the kit's lab, and the Asterisk at {ari.url} lacks what it uses: the lab's "
        "dialplan, i.e. the `sim-caller` context (the simulated person, with the lab's room noise and text to "
        f"speech) and the `inbound` context that sends a number into your app (its global {LAB_MARKER} is not set "
        "there). Use the lab (`vicifast-kit lab up`, then vk.connect() without ARI_URL), or place a call into "
        "your own dialplan: ari.channels.originate(endpoint=\"PJSIP/1001\" or \"Local/NUMBER@your-context\", "
        f"app=ari.app). To give that server the lab's callers, load the lab's extensions.conf from "
        f"{settings.LAB_DIR / 'asterisk'} and the sounds its start-asterisk.sh makes.")


_transcripts: dict[str, dict[str, str]] = {}
_transcripts_lock = threading.Lock()


def transcript(sound: str, ari: "ARIClient | None" = None) -> str | None:
    """The words a lab prompt says ("hello-world" or "sound:hello-world" -> "Hello world."), None if unknown.

    The words come from the transcript the kit's lab serves (/static/vicifast/core-sounds-en.txt) at
    ari's address (else the settings'): another Asterisk has none, and NotTheLab says so.
    """
    url = _base_url(ari.url if ari is not None else settings.load().ari_url)
    with _transcripts_lock:
        words = _transcripts.get(url)
        if words is None:
            words = _transcripts[url] = _fetch_transcript(url)
    name = sound[len("sound:"):] if sound.startswith("sound:") else sound
    return words.get(name)


def _base_url(url: str) -> str:
    """The lab's HTTP address from an ARI URL: no credentials, no trailing /ari."""
    parts = urlsplit(url.rstrip("/"))
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    path = parts.path[:-4] if parts.path.endswith("/ari") else parts.path
    return urlunsplit((parts.scheme, netloc, path, "", "")).rstrip("/")


def _fetch_transcript(url: str) -> dict[str, str]:
    """The lab's prompt transcript (/static/vicifast/core-sounds-en.txt) as {name: words}."""
    address = f"{url}/static/vicifast/core-sounds-en.txt"
    try:
        with urllib.request.urlopen(address, timeout=10) as reply:
            text = reply.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        if settings.is_lab_address(url):
            raise LabError(f"The lab at {url} has no transcript of its prompts ({address}: HTTP {error.code}); "
                           "a lab started by an older kit lacks it: restart it with `vicifast-kit lab restart`.") from None
        raise NotTheLab(
            f"The Asterisk at {url} does not serve the lab's transcript of its prompts ({address}: HTTP {error.code}): "
            "vk.lab.transcript knows the words of the kit's lab's prompts only. Use the lab, or read the words in "
            "the transcript of your server's sound package (Debian's asterisk-core-sounds-en: "
            "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz). If that server is the kit's lab (e.g. in "
            "Docker), it was started by an older kit: `vicifast-kit lab restart` on its host.") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        if settings.is_lab_address(url):
            raise LabError(f"The lab does not answer at {url} ({reason}). "
                           "Start it with `vicifast-kit lab up` (or vicifast_kit.lab.up() in Python).") from None
        raise LabError(f"The Asterisk you connected to does not answer at {url} ({reason}): is it running there, "
                       "with its HTTP server on (http.conf: enabled = yes)? For the kit's lab, unset ARI_URL and run "
                       "`vicifast-kit lab up`.") from None
    words = {}
    for line in text.splitlines():
        name, sep, said = line.partition(":")
        if sep and name.strip() and not name.startswith((";", "#")) and " " not in name.strip():
            words.setdefault(name.strip(), said.strip())
    return words
