"""Capture what the doctor reads from the running lab into lab/, for the offline tests (run it by hand: the lab must be up).

    .venv/bin/python tests/offline/doctor_captures/capture.py

Writes each AMI command's output as text, ARI's /asterisk/info and /asterisk/modules as JSON, and
each GetConfig reply as JSON with every password and secret replaced by a placeholder: a user's
password becomes a long one of its own, and users that share one keep sharing one. No real password
is written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent.parent))

import vicifast_kit as vk  # noqa: E402
from vicifast_kit.doctor.command import NoEvents  # noqa: E402
from vicifast_kit.doctor.gather import COMMANDS, CONFIGS  # noqa: E402

SECRET_KEYS = ("password", "secret")


def file_name(command: str) -> str:
    """ "manager show user vicifast" -> "manager_show_user_vicifast.txt"."""
    return command.replace(" ", "_") + ".txt"


def placeholders(reply: dict) -> dict:
    """A GetConfig reply with each distinct password replaced by placeholder-password-N (long, shared where it was)."""
    seen: dict[str, str] = {}
    out = {}
    for name, value in reply.items():
        if name.startswith("Line-") and "=" in value and value.split("=", 1)[0].strip().lower() in SECRET_KEYS:
            key, secret = value.split("=", 1)
            value = f"{key}={seen.setdefault(secret, f'placeholder-password-{len(seen) + 1}')}"
        if name not in ("ActionID",):
            out[name] = value
    return out


def main() -> None:
    """Write lab/ from the running lab."""
    target = HERE / "lab"
    target.mkdir(exist_ok=True)
    ari = vk.connect("vicifast-doctor", event_source=NoEvents())
    ami = vk.ami.connect()
    try:
        (target / "asterisk_info.json").write_text(json.dumps(ari.request("GET", "/asterisk/info"), indent=1) + "\n")
        modules = ari.request("GET", "/asterisk/modules")
        (target / "asterisk_modules.json").write_text("[\n" + ",\n".join(json.dumps(m) for m in modules) + "\n]\n")
        users = ["manager show user " + name for name in
                 vk.doctor.parse_manager_users(ami.command("manager show users"))]
        for command in COMMANDS + tuple(users):
            (target / file_name(command)).write_text(ami.command(command) + "\n")
        for filename in CONFIGS:
            reply = placeholders(dict(ami.action("GetConfig", filename=filename)))
            (target / f"getconfig_{filename}.json").write_text(json.dumps(reply, indent=1) + "\n")
    finally:
        ami.close()
        ari.close()


if __name__ == "__main__":
    main()
