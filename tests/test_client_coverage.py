"""Every operation the live server describes is reachable, with its parameters, as the issue promises."""

from __future__ import annotations

import inspect
import keyword
import re

import requests

import vicifast_kit as vk
from vicifast_kit import settings

from client_helpers import ari, lab  # noqa: F401  (fixtures)

# Which path parameters name the object of a handle (as in the issue: the id bound on the handle).
OBJECT_PATHS = {
    r"/channels/\{channelId\}": "Channel", r"/bridges/\{bridgeId\}": "Bridge",
    r"/playbacks/\{playbackId\}": "Playback", r"/recordings/live/\{recordingName\}": "LiveRecording",
    r"/recordings/stored/\{recordingName\}": "StoredRecording",
    r"/endpoints/\{tech\}/\{resource\}": "Endpoint", r"/deviceStates/\{deviceName\}": "DeviceState",
    r"/sounds/\{soundId\}": "Sound", r"/mailboxes/\{mailboxName\}": "Mailbox",
    r"/applications/\{applicationName\}": "Application", r"/asterisk/modules/\{moduleName\}": "Module",
    r"/asterisk/logging/\{logChannelName\}": "LogChannel",
}
HANDLE_IDS = {"Endpoint": ("PJSIP", "6001")}


def to_snake(name: str) -> str:
    out = ""
    for i, c in enumerate(name):
        if c.isupper() and i and (name[i - 1].islower() or name[i - 1].isdigit()
                                  or (i + 1 < len(name) and name[i + 1].islower())):
            out += "_"
        out += c.lower()
    out = out.replace("__", "_")
    return out + "_" if keyword.iskeyword(out) else out


def live_operations():
    cfg = settings.load()
    s = requests.Session()
    s.auth = (cfg.ari_user, cfg.ari_password)
    index = s.get(cfg.ari_url + "/ari/api-docs/resources.json", timeout=10).json()
    for entry in index["apis"]:
        stem = entry["path"].rsplit("/", 1)[-1].split(".")[0]
        doc = s.get(f"{cfg.ari_url}/ari/api-docs/{stem}.json", timeout=10).json()
        for api in doc["apis"]:
            for op in api["operations"]:
                yield stem, api["path"], op


def test_every_operation_is_covered(ari):
    gaps, count = [], 0
    for stem, path, op in live_operations():
        count += 1
        label = f"{op['httpMethod']} {path} ({op['nickname']})"
        group = getattr(ari, to_snake(stem).rstrip("_"), None)
        fn = getattr(group, to_snake(op["nickname"]), None)
        if fn is None:
            gaps.append(f"{label}: no ari.{to_snake(stem)}.{to_snake(op['nickname'])}")
            continue
        params = op.get("parameters", [])
        expected = {to_snake(p["name"]) for p in params}
        sig = inspect.signature(fn)
        if set(sig.parameters) != expected:
            gaps.append(f"{label}: signature {sig} vs {sorted(expected)}")
        required = {to_snake(p["name"]) for p in params if p.get("required") or p["paramType"] == "path"}
        if {n for n, p in sig.parameters.items() if p.default is p.empty} != required:
            gaps.append(f"{label}: required parameters differ")
        if not (fn.__doc__ or "").splitlines()[0].strip():
            gaps.append(f"{label}: no one-line description")
        for pattern, kind in OBJECT_PATHS.items():
            m = re.match(pattern + r"(/|$)", path)
            if not m:
                continue
            handle = ari.handle(kind, HANDLE_IDS.get(kind, "x"))
            bound = set(re.findall(r"\{(\w+)\}", pattern.replace("\\", "")))
            method = getattr(handle, to_snake(op["nickname"]), None)
            if method is None:
                gaps.append(f"{label}: no {kind}.{to_snake(op['nickname'])}")
            elif set(inspect.signature(method).parameters) != {to_snake(p["name"]) for p in params
                                                                if p["name"] not in bound}:
                gaps.append(f"{label}: {kind} method keeps a bound id")
    covered = count - len({g.split(':')[0] for g in gaps})
    print(f"covered {covered}/{count} operations")
    assert count >= 100 and not gaps, "\n".join(gaps)


def test_body_parameters_go_in_the_json_body(ari):
    name = f"Stasis:kit-body"
    # variables (a body parameter) reach the server: a bridge variable set through the body.
    br = ari.bridges.create(type="mixing")
    try:
        br.set_bridge_vars(variables={"K": "v"})
        assert br.get_bridge_var(variable="K").value == "v"
    finally:
        br.destroy()
