"""What is left in the lab: count it (`leftovers`), and remove what the kit's own dead clients left (`cleanup`)."""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..errors import NotFound
from . import probes

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient

log = logging.getLogger(__name__)

#: How the ids of the kit's own channels and bridges begin (media, snoop, phone, bridge).
KIT_PREFIX = "kit-"
#: The ids the kit gives its own media, snoop and phone channels and bridges (kit-KIND-12 hex digits). A
#: program's own "kit-..." name (an example app's "kit-ivr-...-operator-queue") is not the kit's to sweep.
KIT_OWN = re.compile(r"kit-[a-z]+-[0-9a-f]{12}")


def leftovers(ari: "ARIClient | None" = None, timeout: float = 5.0) -> dict[str, int]:
    """Channels, bridges and stored recordings left in the lab (only ari's own, given a client), waiting up to timeout for none.

    With a client, only what that client made (an originate, a bridge, a recording, the other half
    of its Local calls) or saw enter its app counts: other people's calls in the shared lab do
    not. Without one, everything on the server the settings name counts (the lab's, unless ARI_URL
    says another). A refused or failed answer raises (an ARIError, LabUnreachable): it is never
    counted as a leftover. It only reads, so it works against any Asterisk, the lab or not.
    """
    __tracebackhide__ = True
    if isinstance(ari, (int, float)) and not isinstance(ari, bool):     # leftovers(10): the old signature
        ari, timeout = None, float(ari)
    get = probes.lab_getter() if ari is None else (lambda path: ari.request("GET", path))
    deadline = time.monotonic() + timeout
    while True:
        found = probes.count_leftovers(get, None if ari is None else ari.owns)
        if not any(found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def cleanup(ari: "ARIClient", *, app: str | None = None, min_age: float = 30.0) -> dict[str, int]:
    """Remove what a killed kernel left: the kit's empty bridges and (with `app`) its channels in `app`; what it removed.

    Only objects whose id starts with "kit-" (the kit's media, snoop and phone channels, its bridges),
    older than `min_age` seconds and not made by `ari` itself, are touched: a bridge when it is empty
    (or holds only channels removed here), a channel only when `app` is given and the channel sits in
    that Stasis app. Nobody else's calls, bridges or apps are changed; a live client of the same app
    in another kernel loses its media, so name an app only when its kernel is gone. Since it touches
    only the kit's own "kit-" objects, it works on whatever server `ari` is connected to, the lab or not.
    """
    now = datetime.now(timezone.utc)
    removed: dict[str, int] = {"channels": 0, "bridges": 0}
    gone: set[str] = set()
    if app is not None:
        for channel in ari.request("GET", "/channels"):
            ident = channel["id"]
            if (_leftover(ari, "channel", channel, now, min_age) and _stasis_app(channel) == app
                    and _delete(ari, f"/channels/{ident}")):
                gone.add(ident)
                removed["channels"] += 1
    for bridge in ari.request("GET", "/bridges"):
        if (_leftover(ari, "bridge", bridge, now, min_age) and set(bridge.get("channels") or ()) <= gone
                and _delete(ari, f"/bridges/{bridge['id']}")):
            removed["bridges"] += 1
    if any(removed.values()):
        log.info("cleanup removed %(channels)d channel(s) and %(bridges)d bridge(s) of the kit's", removed)
    return removed


def _leftover(ari: "ARIClient", kind: str, item: dict, now: datetime, min_age: float) -> bool:
    """True for the kit's own object (id kit-...), at least `min_age` s old, that `ari` did not make."""
    ident = str(item.get("id", ""))
    if not KIT_OWN.fullmatch(ident) or ari.owns(kind, ident):
        return False
    try:
        created = datetime.strptime(item.get("creationtime", ""), "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:         # no (or an unknown) creation time: its age cannot be told, so it is spared
        return False
    return (now - created).total_seconds() >= min_age


def _stasis_app(channel: dict) -> str | None:
    """The Stasis app a channel is in (its dialplan runs Stasis(app,args...)), else None."""
    dialplan = channel.get("dialplan") or {}
    if dialplan.get("app_name") != "Stasis":
        return None
    return str(dialplan.get("app_data", "")).split(",", 1)[0]


def _delete(ari: "ARIClient", path: str) -> bool:
    """DELETE an object; False if it was already gone (it ended by itself meanwhile)."""
    try:
        ari.request("DELETE", path)
    except NotFound:
        return False
    return True
