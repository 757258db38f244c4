"""What the doctor read from the lab (captured by capture.py, passwords replaced), and an AMI that replays it.

``lab_observations()`` is the lab as the doctor saw it; tests change one output at a time to make a
server unsafe in one way. ``ReplayAMI`` is a real AMI server on a random port that answers Login,
Command and GetConfig from the captures, so ``vk.doctor.gather`` runs end to end without Asterisk.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
from pathlib import Path

from vicifast_kit.doctor import Observations, ami_accounts, ari_accounts, parse_getconfig

LAB = Path(__file__).resolve().parent / "lab"


def command_of(path: Path) -> str:
    """ "manager_show_user_vicifast.txt" -> "manager show user vicifast"."""
    return path.stem.replace("_", " ")


def lab_outputs() -> dict[str, str]:
    """Every captured CLI output, by command."""
    return {command_of(path): path.read_text().rstrip("\n") for path in sorted(LAB.glob("*.txt"))}


def lab_config(filename: str) -> dict:
    """The captured GetConfig reply of one file (passwords are placeholders)."""
    return json.loads((LAB / f"getconfig_{filename}.json").read_text())


def lab_info() -> dict:
    """ARI's GET /asterisk/info in the lab."""
    return json.loads((LAB / "asterisk_info.json").read_text())


def lab_modules() -> dict[str, str]:
    """ARI's GET /asterisk/modules in the lab, as name -> status."""
    return {m["name"]: m["status"] for m in json.loads((LAB / "asterisk_modules.json").read_text())}


def with_line(reply: dict, section: str, key: str, value: str | None) -> dict:
    """A GetConfig reply with key set to value in section (None: the key removed)."""
    reply = copy.deepcopy(reply)
    index = next(name.split("-")[1] for name, title in reply.items() if name.startswith("Category-") and title == section)
    lines = sorted(name for name in reply if name.startswith(f"Line-{index}-"))
    found = [name for name in lines if reply[name].split("=", 1)[0] == key]
    for name in found:
        del reply[name]
    if value is not None:
        reply[found[0] if found else f"Line-{index}-{len(lines):06d}"] = f"{key}={value}"
    return reply


def lab_observations(url: str = "http://127.0.0.1:8088", ami: str | None = "vicifast@127.0.0.1:5038",
                     outputs: dict[str, str] | None = None, configs: dict[str, dict] | None = None,
                     cors_echo: str | None = "") -> Observations:
    """The lab as the doctor read it, with any outputs or GetConfig replies replaced (ami=None: read without AMI)."""
    configs = {name: lab_config(name) for name in ("http.conf", "ari.conf", "manager.conf")} | (configs or {})
    if ami is None:
        return Observations(url, "vicifast", lab_info(), lab_modules(), cors_echo=cors_echo)
    return Observations(url, "vicifast", lab_info(), lab_modules(), cors_echo=cors_echo, ami=ami,
                        outputs=lab_outputs() | (outputs or {}),
                        http_conf=parse_getconfig(configs["http.conf"]),
                        ari_accounts=ari_accounts(parse_getconfig(configs["ari.conf"])),
                        ami_accounts=ami_accounts(parse_getconfig(configs["manager.conf"])))


class ReplayAMI:
    """An AMI server on 127.0.0.1 that logs anyone in and answers Command and GetConfig from the captures.

    ``denied`` holds actions answered "Permission denied"; ``outputs`` and ``configs`` replace captured answers.
    """

    def __init__(self, denied: tuple[str, ...] = (), outputs: dict[str, str] | None = None,
                 configs: dict[str, dict] | None = None) -> None:
        self.denied = denied
        self.outputs = lab_outputs() | (outputs or {})
        self.configs = {name: lab_config(name) for name in ("http.conf", "ari.conf", "manager.conf")} | (configs or {})
        self.actions: list[dict] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, name="test-replay-ami", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"Asterisk Call Manager/9.0.0\r\n")
            fields: dict[str, str] = {}
            for raw in lines:
                line = raw.decode().rstrip("\r\n")
                if line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                    continue
                if not fields:
                    continue
                self.actions.append(fields)
                if fields.get("Action") == "Logoff":
                    return
                conn.sendall(self._answer(fields).encode())
                fields = {}

    def _answer(self, fields: dict[str, str]) -> str:
        action, ident = fields.get("Action", ""), fields.get("ActionID", "")
        head = f"ActionID: {ident}\r\n"
        if action in self.denied:
            return f"Response: Error\r\n{head}Message: Permission denied\r\n\r\n"
        if action == "Login":
            return f"Response: Success\r\n{head}Message: Authentication accepted\r\n\r\n"
        if action == "Command" and fields.get("Command") in self.outputs:
            body = "".join(f"Output: {line}\r\n" for line in self.outputs[fields["Command"]].splitlines())
            return f"Response: Success\r\n{head}Message: Command output follows\r\n{body}\r\n"
        if action == "GetConfig" and fields.get("Filename") in self.configs:
            body = "".join(f"{k}: {v}\r\n" for k, v in self.configs[fields["Filename"]].items() if k != "Response")
            return f"Response: Success\r\n{head}{body}\r\n"
        missing = "Config file not found" if action == "GetConfig" else "No such command"
        return f"Response: Error\r\n{head}Message: {missing}\r\n\r\n"

    def close(self) -> None:
        """Stop listening and wait for the session to end."""
        self.listener.close()
        self.thread.join(5)
