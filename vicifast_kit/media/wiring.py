"""What ARI needs for a program to hear and speak in a call, built and torn down as one.

``ch.media()``: an externalMedia channel (WebSocket, server side) that joins the call: the caller's
bridge when it is in one, else a new mixing bridge with the caller. ``ch.listen()``: a snoop on the
channel (both directions mixed) and an externalMedia channel, in a bridge of their own, so the call
itself is not touched. Everything built is marked as the kit's own, so its events never reach the
app's ``wait_for`` or handlers, and is removed when the stream closes, when the call ends or when
the media channel hangs up.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import uuid
import weakref
from typing import TYPE_CHECKING, Callable

from ..causes import cause_text
from ..errors import ARIError, ClientClosed, MediaUnavailable, NotFound, UnprocessableEntity, WaitTimeout
from .stream import DIRECTIONS, MediaStream, wire_format

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient
    from ..handles import Bridge, Channel

log = logging.getLogger("vicifast_kit.media")

_CALL_ENDS = ("ChannelHangupRequest", "StasisEnd", "ChannelDestroyed")

#: First release of each branch whose chan_websocket has the JSON control format (``f(json)``) and
#: MARK_MEDIA / MEDIA_MARK_PROCESSED, and the media direction option (``d()``, externalMedia's
#: ``direction``): the release tags of asterisk/asterisk whose channels/chan_websocket.c has them.
#: Branch 21 has neither.
JSON_CONTROL_SINCE = ((20, 18, 0), (22, 8, 0), (23, 2, 0))
DIRECTION_SINCE = ((20, 19, 0), (22, 9, 0), (23, 3, 0))

_server_features: "weakref.WeakKeyDictionary[ARIClient, tuple[str, bool, bool]]" = weakref.WeakKeyDictionary()


def _has(version: tuple[int, int, int] | None, since: tuple[tuple[int, int, int], ...]) -> bool:
    if version is None:
        return False
    if version[0] > max(v[0] for v in since):
        return True
    first = next((v for v in since if v[0] == version[0]), None)
    return first is not None and version >= first


def media_features(version_text: str) -> tuple[bool, bool]:
    """What a server's WebSocket media has, from its version (GET /asterisk/info system.version):
    (JSON control and marks, media direction). An unknown version (a development build) has neither."""
    match = re.match(r"\s*(\d+)\.(\d+)\.(\d+)", version_text or "")
    version = tuple(int(n) for n in match.groups()) if match else None
    return _has(version, JSON_CONTROL_SINCE), _has(version, DIRECTION_SINCE)


def _features(client: "ARIClient") -> tuple[str, bool, bool]:
    """(version, JSON control and marks, media direction) of the client's server; asked once per client."""
    known = _server_features.get(client)
    if known is None:
        try:
            version = ((client.request("GET", "/asterisk/info") or {}).get("system") or {}).get("version", "")
        except ARIError:
            version = ""
        known = (version, *media_features(version))
        _server_features[client] = known
    return known


def _new_id(what: str) -> str:
    return f"kit-{what}-{uuid.uuid4().hex[:12]}"


def _gone(channel: "Channel", error: ARIError) -> NotFound:
    return NotFound(404, f"This call has ended: channel {channel.id} is gone, so it has no audio to hear. "
                    "Start a new call (e.g. vk.lab.simulate_caller(ari)).", error.method, error.path)


def _check_alive(client: "ARIClient", channel: "Channel") -> dict:
    try:
        return client.request("GET", f"/channels/{channel.id}")
    except NotFound as e:
        raise _gone(channel, e) from None


def _media_channel(client: "ARIClient", fmt_name: str, timeout: float, json_control: bool = False,
                   direction: str = "both") -> tuple["Channel", str]:
    """An externalMedia WebSocket channel (server side) in the client's app: (its handle, connection id)."""
    media_id = _new_id("media")
    client.context.events.mark_internal(("channel", media_id))
    options = {}
    if json_control:        # the channel option f(json): control messages as JSON
        options["transport_data"] = "f(json)"
    if direction != "both":
        options["direction"] = direction
    try:
        ch = client.channels.external_media(app=client.app, channel_id=media_id, transport="websocket",
                                            encapsulation="none", connection_type="server", format=fmt_name,
                                            **options)
    except ARIError:
        if _websocket_media_missing(client):
            raise MediaUnavailable(
                "This Asterisk has no WebSocket media: the module chan_websocket is not loaded. The kit's lab "
                "loads it (restart an older lab with `vicifast-kit lab restart`); on another Asterisk 22 run "
                "`module load chan_websocket.so` and give it a chan_websocket.conf.") from None
        raise
    connection = (ch.raw.get("channelvars") or {}).get("MEDIA_WEBSOCKET_CONNECTION_ID")
    if not connection:
        with contextlib.suppress(ARIError):
            ch.hangup()
        raise MediaUnavailable("Asterisk made the media channel but gave no MEDIA_WEBSOCKET_CONNECTION_ID: "
                               "this Asterisk's externalMedia does not support transport=websocket.")
    return ch, connection


def _websocket_media_missing(client: "ARIClient") -> bool:
    try:
        module = client.request("GET", "/asterisk/modules/chan_websocket.so")
    except ARIError:
        return True
    return (module or {}).get("status") != "Running"


def _media_url(client: "ARIClient", connection: str) -> str:
    base = client.url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return f"{base}/media/{connection}"


def _hangup(client: "ARIClient", channel_id: str) -> Callable[[], None]:
    """Hang up one of the kit's channels and wait (briefly) until it has left the app."""
    def run() -> None:
        try:
            client.request("DELETE", f"/channels/{channel_id}")
        except (ARIError, ConnectionError):
            pass
        # A snoop hung up just before the app's websocket closes can stay in Asterisk for good
        # (measured in the lab): so the stream is only closed once its channels have left the app.
        with contextlib.suppress(WaitTimeout, ClientClosed):
            client.context.events.take("StasisEnd", timeout=2.0, key=("channel", channel_id),
                                what=f"{channel_id} to leave the app")
    return run


def _destroy(client: "ARIClient", bridge_id: str) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(ARIError, ConnectionError):
            client.request("DELETE", f"/bridges/{bridge_id}")
    return run


def _bridge_of(client: "ARIClient", channel: "Channel") -> dict | None:
    for bridge in client.request("GET", "/bridges") or []:
        if channel.id in bridge.get("channels", ()):
            return bridge
    return None


def _open(client: "ARIClient", channel: "Channel | None", format: str, buffer_seconds: float, timeout: float,
          listen: bool, into: "Bridge | None" = None, direction: str = "both", paced: bool = True) -> MediaStream:
    fmt = wire_format(format)
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(repr(d) for d in DIRECTIONS)} (as Asterisk names it "
                         f"from your side: 'in' = you only hear, 'out' = you only speak), not {direction!r}")
    if client.closed:
        raise ClientClosed("This ARI client is closed: make a new one with vk.connect()")
    version, json_control, has_direction = _features(client)
    if direction != "both" and not has_direction:
        raise MediaUnavailable(f"This Asterisk ({version or 'version unknown'}) has no media direction for WebSocket "
                               "media (it came in 20.19, 22.9 and 23.3): open the stream with direction='both' "
                               "and ignore what you do not need, or upgrade Asterisk.")
    if channel is not None:
        _check_alive(client, channel)
    else:
        try:
            client.request("GET", f"/bridges/{into.id}")
        except NotFound as e:
            raise NotFound(404, f"Bridge {into.id} is gone: there is no conversation to join.",
                           e.method, e.path) from None
    undo: list[Callable[[], None]] = []
    stream: MediaStream | None = None
    snoop_id = None
    try:
        media, connection = _media_channel(client, fmt.name, timeout, json_control, direction)
        undo.append(_hangup(client, media.id))
        stream = MediaStream(_media_url(client, connection), fmt, name=(channel or into).id, can_send=not listen,
                             buffer_seconds=buffer_seconds, control="json" if json_control else "plain-text",
                             marks=json_control, direction=direction)
        stream.channel = channel
        stream.media_channel = media
        stream.bridge = None
        try:    # the media channel enters Stasis once its websocket is open; only then can it be bridged
            client.context.events.take("StasisStart", timeout=timeout, key=media.key,
                                what=f"the media channel {media.id} to enter the app")
        except WaitTimeout:
            raise MediaUnavailable(f"The media channel did not enter the app within {timeout} s "
                                   "(is the app's event websocket connected? see ari.connected)") from None
        if listen:
            snoop_id = _new_id("snoop")
            client.context.events.mark_internal(("channel", snoop_id))
            try:
                client.channels.snoop_channel(channel.id, spy="both", app=client.app, snoop_id=snoop_id)
            except NotFound as e:
                raise _gone(channel, e) from None
            undo.append(_hangup(client, snoop_id))
            try:    # like the media channel, the snoop can be bridged only once it is in the app
                client.context.events.take("StasisStart", timeout=timeout, key=("channel", snoop_id),
                                    what=f"the snoop channel {snoop_id} to enter the app")
            except WaitTimeout:
                raise MediaUnavailable(f"The snoop channel on {channel.id} did not enter the app within "
                                       f"{timeout} s (is the app's event websocket connected?)") from None
            members = [snoop_id, media.id]
            bridge = None
        elif into is not None:
            bridge = {"id": into.id}
            members = [media.id]
        else:
            bridge = _bridge_of(client, channel)
            members = [media.id] if bridge else [channel.id, media.id]
        if bridge is None:
            bridge_id = _new_id("bridge")
            client.context.events.mark_internal(("bridge", bridge_id))
            # paced: softmix (which "video_sfu" selects even for two members) mixes every 20 ms, so the
            # stream gets a frame every 20 ms, silence included, like RTP from a phone, at the cost of its
            # mixing delay (a steady stream through the echo came back after 60 ms, p90 160). Not paced: a
            # plain two-party "mixing" bridge (simple_bridge) passes each frame on as it comes (13 ms, p90
            # 13), and frames come only when the other side sends some.
            bridge = client.request("POST", f"/bridges/{bridge_id}", type="mixing,video_sfu" if paced else "mixing",
                                    name=f"kit {'listen' if listen else 'media'} {channel.id}")
            undo.append(_destroy(client, bridge_id))
        try:
            client.request("POST", f"/bridges/{bridge['id']}/addChannel", channel=members)
        except NotFound as e:
            if channel is None:
                raise NotFound(404, f"Bridge {into.id} is gone: there is no conversation to join.",
                               e.method, e.path) from None
            raise _gone(channel, e) from None
        except UnprocessableEntity as e:
            raise UnprocessableEntity(
                422, f"{e.message}: ch.media() joins a call that is in your app (Stasis); to hear any channel "
                "without joining it, use ch.listen()", e.method, e.path) from None
        stream.bridge = client.handle("Bridge", bridge["id"])
        if not stream.wait_started(timeout):
            raise MediaUnavailable(f"No MEDIA_START from Asterisk within {timeout} s on the media websocket")
    except BaseException:
        if stream is not None:
            for fn in undo:
                stream.on_close(fn)
            stream.close()
        else:
            for fn in reversed(undo):
                fn()
        raise
    for fn in undo:
        stream.on_close(fn)
    _follow(client, stream, channel, media, snoop_id)
    return stream


def _follow(client: "ARIClient", stream: MediaStream, channel: "Channel | None", media: "Channel",
            snoop_id: str | None) -> None:
    """End the stream when the call or the media channel ends; close it with the client."""
    once = threading.Lock()

    def end_soon(why: str) -> None:
        # Tearing down waits on Asterisk: done on a short thread of its own, never on the event dispatcher.
        if not stream.closed and once.acquire(blocking=False):     # the first reason is the one kept
            threading.Thread(target=stream.end, args=(why,), daemon=True,
                             name=f"vicifast-media-closer[{stream.name}]").start()

    def call_ended(ev) -> None:
        if ev.type == "StasisEnd" and ev.raw.get("channel", {}).get("id") == channel.id:
            end_soon(f"the call left the app (channel {channel.id})")
        else:
            end_soon(f"the call ended (hang-up cause {cause_text(ev.raw.get('cause'))})")

    def media_ended(ev) -> None:
        if ev.type == "ChannelLeftBridge":
            end_soon("the media channel left the bridge (it was destroyed, or someone removed it)")
        else:
            end_soon(f"the media channel hung up (hang-up cause {cause_text(ev.raw.get('cause'))})")

    events = client.context.events
    subs = [events.subscribe(("ChannelHangupRequest", "StasisEnd", "ChannelLeftBridge") if channel is None
                             else ("ChannelHangupRequest", "StasisEnd"), media_ended, key=media.key)]
    if channel is not None:
        subs.append(events.subscribe(("ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"), call_ended,
                                     key=channel.key))
    if snoop_id:    # a listened-to channel may be outside the app: its snoop ends with it
        subs.append(events.subscribe(("ChannelHangupRequest", "StasisEnd"), call_ended, key=("channel", snoop_id)))
    cancel = client.on_close(stream.close)      # the client's close (and a kernel restart) ends the stream

    def forget() -> None:
        for sub in subs:
            sub.unsubscribe()
        cancel()
    stream.on_close(forget)


def open_media(client: "ARIClient", channel: "Channel", format: str = "slin16", *, buffer_seconds: float = 10.0,
               timeout: float = 10.0, direction: str = "both", paced: bool = True) -> MediaStream:
    """Join `channel`'s call as a party over WebSocket media (see Channel.media)."""
    return _open(client, channel, format, buffer_seconds, timeout, listen=False, direction=direction, paced=paced)


def open_listen(client: "ARIClient", channel: "Channel", format: str = "slin16", *, buffer_seconds: float = 10.0,
                timeout: float = 10.0, paced: bool = True) -> MediaStream:
    """Listen to `channel` (both directions mixed) without touching its call (see Channel.listen)."""
    return _open(client, channel, format, buffer_seconds, timeout, listen=True, paced=paced)


def open_bridge(client: "ARIClient", bridge: "Bridge", format: str = "slin16", *, buffer_seconds: float = 10.0,
                timeout: float = 10.0, direction: str = "both") -> MediaStream:
    """Join a bridge's conversation as one more party (see Bridge.media)."""
    return _open(client, None, format, buffer_seconds, timeout, listen=False, into=bridge, direction=direction)
