"""A STAND-IN for VICIdial's non_agent_api.php, and DID calls into the lab's VICIdial-shaped dialplan (notebook 11).

Neither is VICIdial. The lab has no VICIdial; these let a notebook and the tests show, with real calls and
real HTTP, what an ARI program does around one:

- ``NonAgentAPIStandIn``: a small HTTP server on this machine's loopback that takes the parameter names of
  VICIdial's Non-Agent API (``source``, ``user``, ``pass``, ``function`` and each function's own) for the
  functions ``version``, ``add_lead`` and ``update_lead``, checks them as VICIdial's script does, keeps its
  leads in memory, and answers in VICIdial's text format (``SUCCESS: ...``, ``ERROR: ...``, ``NOTICE: ...``
  lines). The formats and checks follow VICIdial's own non_agent_api.php (version 2.14-202, build
  250720-1841) and its docs/NON-AGENT_API.txt. Every answer ends with a line
  ``NOTICE: STAND-IN ...`` and carries the header ``X-Stand-In``, so nobody takes it for VICIdial.
  It records every request it received (the password masked) for the notebook to show.
- ``call_did(ari, did)``: a simulated caller (the lab's ``sim-caller``) on a DID of the lab's
  ``trunkinbound`` context (docker/asterisk/extensions_vicidial.conf, itself a stand-in shaped like
  VICIdial's inbound dialplan).
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ..media.stream import CALL_FORMATS
from ..wire import via
from .errors import LabError
from .simulate import CONTEXT as SIM_CONTEXT
from .simulate import check_lab_dialplan, random_caller_id, say_items

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient
    from ..handles import Channel

#: The lab's VICIdial-shaped inbound context and its DIDs (docker/asterisk/extensions_vicidial.conf).
DID_CONTEXT = "trunkinbound"
PREMENU_DID = "8885550100"       # goes to the ARI pre-menu first; VICIdial's routing: in-group SALESLINE
SUPPORT_DID = "8885550101"       # straight to VICIdial's routing: in-group SUPPORT
INGROUP_CONTEXT = "standin-ingroup"
ROUTE_CONTEXT = "standin-did-route"
LABEL = "vicidial"               # the label of PREMENU_DID where VICIdial's routing starts

PATH = "/vicidial/non_agent_api.php"
STANDIN_LINE = "NOTICE: STAND-IN - a vicifast-kit lab stand-in for VICIdial's non_agent_api.php, not VICIdial"
MASK = "********"

#: The Non-Agent API version the formats were checked against (VICIdial's non_agent_api.php).
CHECKED_AGAINST = "2.14-202 (build 250720-1841)"

#: Fields of a lead (VICIdial's vicidial_list columns that add_lead and update_lead take by these names).
LEAD_FIELDS = ("vendor_lead_code", "source_id", "gmt_offset_now", "title", "first_name", "middle_initial",
               "last_name", "address1", "address2", "address3", "city", "state", "province", "postal_code",
               "country_code", "gender", "date_of_birth", "alt_phone", "email", "security_phrase", "comments",
               "rank", "owner")
COMMON = ("source", "user", "pass", "function", "format")
#: Parameters VICIdial's add_lead takes that the stand-in accepts but does not act on (it says so).
ADD_LEAD_NOT_ACTED_ON = ("dnc_check", "campaign_dnc_check", "campaign_id", "add_to_hopper", "hopper_priority",
                         "hopper_local_call_time_check", "duplicate_check", "usacan_prefix_check",
                         "usacan_areacode_check", "nanpa_ac_prefix_check", "custom_fields", "tz_method",
                         "callback", "callback_status", "callback_datetime", "callback_type", "callback_user",
                         "callback_comments", "lookup_state", "list_exists_check", "entry_list_id",
                         "multi_alt_phones")
UPDATE_LEAD_NOT_ACTED_ON = ("search_location", "insert_if_not_found", "records", "custom_fields", "delete_lead",
                            "reset_lead", "callback", "callback_status", "callback_datetime", "callback_type",
                            "callback_user", "callback_comments", "add_to_hopper", "remove_from_hopper",
                            "list_exists_check", "force_entry_list_id", "update_phone_number", "campaign_id")
PARAMETERS = {
    "version": COMMON,
    "add_lead": COMMON + ("phone_number", "phone_code", "list_id") + LEAD_FIELDS + ADD_LEAD_NOT_ACTED_ON,
    "update_lead": COMMON + ("lead_id", "phone_number", "phone_code", "list_id", "search_method", "no_update",
                             "status", "user_field", "list_id_field", "called_count") + LEAD_FIELDS
                   + UPDATE_LEAD_NOT_ACTED_ON,
}


def _keep(pattern: str, value: str) -> str:
    """What VICIdial's script keeps of a value: it deletes every character its filter does not allow."""
    return re.sub(pattern, "", value)


@dataclass
class Received:
    """One request the stand-in received: its function, its parameters (the password masked) and its answer."""

    function: str
    params: dict[str, str]
    answer: str
    at: float = field(default_factory=time.time)

    def first_line(self) -> str:
        """The answer's first line (VICIdial's result: SUCCESS, ERROR or NOTICE, and why)."""
        return self.answer.splitlines()[0] if self.answer else ""


class NonAgentAPIStandIn:
    """A STAND-IN for VICIdial's non_agent_api.php (version, add_lead, update_lead) on 127.0.0.1; not VICIdial.

    ``api_user``/``api_pass`` are the only login it takes (the password made at random unless given);
    ``url`` is where to send requests, GET or POST, with VICIdial's parameter names. ``received`` lists what
    came in, ``leads`` what it keeps. ``close()`` stops it (also ``with NonAgentAPIStandIn() as api:``).
    """

    def __init__(self, *, api_user: str = "6666", api_pass: str | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise LabError(f"The VICIdial stand-in listens on this machine's loopback only (127.0.0.1), not {host!r}.")
        self.api_user = api_user
        self.api_pass = api_pass or secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
        self.received: list[Received] = []
        self.leads: dict[int, dict[str, str]] = {}
        self._next_lead = 1001
        self._lock = threading.Lock()
        try:
            self._server = HTTPServer((host, port), self._handler_class())
        except OSError as error:
            raise LabError(f"The VICIdial stand-in could not listen on {host}:{port} ({error.strerror}): "
                           "give another port, or port=0 for any free one.") from None
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}{PATH}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"vicifast-vicidial-standin[{self.port}]", daemon=True)
        self._thread.start()
        self._closed = False

    # --- HTTP ----------------------------------------------------------------------------------------
    def _handler_class(self) -> type:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args: Any) -> None:   # no request log on stderr
                pass

            def _serve(self, body: bytes) -> None:
                path, _, query = self.path.partition("?")
                if path != PATH:
                    self._send(404, f"Not found: the stand-in answers at {PATH} only.\n{STANDIN_LINE}\n")
                    return
                params = dict(parse_qsl(query, keep_blank_values=True))
                params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
                              if body else [])
                self._send(200, standin.answer(params))

            def _send(self, status: int, text: str) -> None:
                data = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Stand-In", "vicifast-kit lab stand-in for VICIdial's non_agent_api.php; not VICIdial")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(self.rfile.read(min(length, 65536)))

        return Handler

    # --- the API ---------------------------------------------------------------------------------------
    def answer(self, params: dict[str, str]) -> str:
        """The stand-in's answer to one request's parameters (VICIdial's text lines, then the STAND-IN line)."""
        function = params.get("function", "")
        lines = self._lines(function, params)
        unknown = sorted(set(params) - set(PARAMETERS.get(function, COMMON)))
        if function in PARAMETERS and unknown:
            lines.append(f"NOTICE: STAND-IN - parameters VICIdial's {function} does not take (VICIdial would ignore "
                         f"them): {', '.join(unknown)}")
        ignored = [p for p in params if p in ADD_LEAD_NOT_ACTED_ON + UPDATE_LEAD_NOT_ACTED_ON
                   and p in PARAMETERS.get(function, ()) and p not in LEAD_FIELDS]
        if ignored:
            lines.append(f"NOTICE: STAND-IN - accepted but not acted on by the stand-in: {', '.join(sorted(ignored))}")
        text = "\n".join(lines + [STANDIN_LINE]) + "\n"
        shown = {k: (MASK if k == "pass" else v) for k, v in params.items()}
        with self._lock:
            self.received.append(Received(function, shown, text))
        return text

    def _lines(self, function: str, params: dict[str, str]) -> list[str]:
        """VICIdial's lines for one request, in the order its script checks things."""
        if function == "version":       # VICIdial answers version before any login
            now = time.localtime()
            return [f"VERSION: stand-in|BUILD: vicifast-kit|DATE: {time.strftime('%Y-%m-%d %H:%M:%S', now)}"
                    f"|EPOCH: {int(time.time())}|DST: {max(now.tm_isdst, 0)}|TZ: 0|TZNOW: 0|"]
        user = _keep(r"[^-_0-9a-zA-Z]", params.get("user", ""))
        password = _keep(r"[^-_0-9a-zA-Z]", params.get("pass", ""))
        if not (secrets.compare_digest(user, self.api_user) and secrets.compare_digest(password, self.api_pass)):
            # VICIdial's own answer repeats the password it was sent; the stand-in masks it.
            return [f"ERROR: Login incorrect, please try again: |{user}|{MASK}|BAD|"]
        if function == "add_lead":
            return self._add_lead(user, params)
        if function == "update_lead":
            return self._update_lead(user, params)
        return ["ERROR: NO FUNCTION SPECIFIED"]

    @staticmethod
    def _source(params: dict[str, str]) -> tuple[str, list[str]]:
        """The source as VICIdial keeps it (letters and digits), and its error lines when under 2 characters."""
        source = _keep(r"[^0-9a-zA-Z]", params.get("source", ""))
        if len(source) < 2:
            return source, [f"ERROR: Invalid Source - {source}", f"ERROR: Invalid Source: |{source}|"]
        return source, []

    def _add_lead(self, user: str, params: dict[str, str]) -> list[str]:
        """add_lead: a phone number of 6 to 16 digits into a list (999 by default); the new lead's id."""
        _, error = self._source(params)
        if error:
            return error
        phone = _keep(r"[^,0-9]", params.get("phone_number", ""))
        list_id = _keep(r"[^0-9]", params.get("list_id", ""))
        list_id = list_id if len(list_id) >= 3 else "999"
        phone_code = _keep(r"[^0-9]", params.get("phone_code", "")) or "1"
        if not 6 <= len(phone) <= 16:
            return [f"ERROR: add_lead INVALID PHONE NUMBER LENGTH - {phone}|{user}"]
        gmt = params.get("gmt_offset_now") or "0.00"      # VICIdial looks the time zone up; the stand-in does not
        with self._lock:
            lead_id = self._next_lead
            self._next_lead += 1
            lead = {name: params[name] for name in LEAD_FIELDS if params.get(name)}
            lead.update(lead_id=str(lead_id), phone_number=phone, phone_code=phone_code, list_id=list_id,
                        status="NEW", user=user, gmt_offset_now=gmt, called_count="0")
            self.leads[lead_id] = lead
        return [f"SUCCESS: add_lead LEAD HAS BEEN ADDED - {phone}|{list_id}|{lead_id}|{gmt}|{user}"]

    def _update_lead(self, user: str, params: dict[str, str]) -> list[str]:
        """update_lead: find a lead by lead_id, vendor_lead_code or phone_number (search_method) and change its fields."""
        _, error = self._source(params)
        if error:
            return error
        lead_id = _keep(r"[^0-9]", params.get("lead_id", ""))
        vendor = params.get("vendor_lead_code", "")
        phone = _keep(r"[^,0-9]", params.get("phone_number", ""))
        method = params.get("search_method", "")
        method = method if len(method) >= 6 else "LEAD_ID"
        by = {}
        if "LEAD_ID" in method and lead_id:
            by["lead_id"] = lead_id
        if "VENDOR_LEAD_CODE" in method and vendor:
            by["vendor_lead_code"] = vendor
        if "PHONE_NUMBER" in method and 5 < len(phone) < 19:
            by["phone_number"] = phone
        if not by:
            return [f"ERROR: update_lead NO VALID SEARCH METHOD - {user}|{method}|{lead_id}|{vendor}|{phone}"]
        with self._lock:
            found = [lead for lead in self.leads.values() if any(lead.get(k) == v for k, v in by.items())]
            if not found:
                return [f"ERROR: update_lead NO MATCHES FOUND IN THE SYSTEM: |{user}|{lead_id}|{vendor}|{phone}"]
            lead = max(found, key=lambda item: int(item["lead_id"]))     # the most recently loaded one
            if params.get("no_update") == "Y":
                return [f"NOTICE: update_lead LEADS FOUND IN THE SYSTEM: |{user}|{lead['lead_id']}|{vendor}|{phone}"
                        f"|{lead['list_id']}|{lead['list_id']}"]
            changes = {name: params[name] for name in LEAD_FIELDS + ("status", "called_count")
                       if params.get(name) and not (name == "vendor_lead_code" and "VENDOR_LEAD_CODE" in method)}
            if params.get("user_field"):
                changes["user"] = params["user_field"]
            if params.get("list_id_field"):
                changes["list_id"] = params["list_id_field"]
            if "status" in changes:
                changes["status"] = _keep(r"[^-_0-9a-zA-Z]", changes["status"])
            if not changes:
                return [f"NOTICE: STAND-IN - update_lead found lead {lead['lead_id']} but was given no field to "
                        "change (VICIdial prints no result line then)"]
            lead.update({k: ("" if v == "--BLANK--" else v) for k, v in changes.items()})
        return [f"SUCCESS: update_lead LEAD HAS BEEN UPDATED - {user}|{lead['lead_id']}|1|0|0|"]

    # --- life ------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the stand-in: its socket closes and its thread ends."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    @property
    def closed(self) -> bool:
        """True once close() ran."""
        return self._closed

    def __enter__(self) -> "NonAgentAPIStandIn":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"at {self.url}"
        return (f"<NonAgentAPIStandIn: a vicifast-kit STAND-IN for VICIdial's non_agent_api.php, not VICIdial; "
                f"{state}; {len(self.received)} requests, {len(self.leads)} leads>")


def call_did(ari: "ARIClient", did: str = PREMENU_DID, dtmf: str = "", *, app: str | None = None,
             say: str | list[str] | None = None, delay: float = 1.0, patience: float = 300.0,
             duration: float = 600.0, caller_id: str | None = None) -> "Channel":
    """Kit helper (lab): POST /channels to Local/DID@trunkinbound, a simulated caller on a DID; returns the caller's side.

    The call runs the lab's VICIdial-shaped ``trunkinbound`` context (a stand-in, not VICIdial):
    DID 8885550100 enters Stasis(app, "did", DID) where `app` (default: the client's app) is set as the
    call's VICIFAST_APP; any other DID goes to the stand-in in-groups. The caller behaves as
    ``vk.lab.simulate_caller``'s does (delay, dtmf, say, patience, duration), and like it raises
    vk.lab.NotTheLab on an Asterisk without the lab's dialplan.
    """
    check_lab_dialplan(ari)
    with via("call_did"):
        return ari.channels.originate(
            endpoint=f"Local/{did}@{DID_CONTEXT}/n", context=SIM_CONTEXT, extension="s", priority=1,
            caller_id=caller_id or random_caller_id(), timeout=max(1, math.ceil(patience)), formats=CALL_FORMATS,
            variables={"VICIFAST_APP": app or ari.app, "SIM_DELAY": str(delay), "SIM_DTMF": dtmf,
                       "SIM_SAY": say_items(say), "SIM_DURATION": str(duration), "SIM_TALK": ""})


def far_half_name(caller: "Channel") -> str:
    """The name of the ;2 half of a DID caller's Local pair: the channel that runs the trunkinbound dialplan."""
    return caller.name.rsplit(";", 1)[0] + ";2"


def arrives(ari: "ARIClient", caller: "Channel", timeout: float = 10.0) -> Any:
    """Kit helper: the StasisStart of this DID caller's call in ari's app (its ;2 half, which runs trunkinbound)."""
    half = far_half_name(caller)
    return ari.wait_for("StasisStart", timeout=timeout, where=lambda event: event.channel.name == half)


def far_half(ari: "ARIClient", caller: "Channel", timeout: float = 5.0) -> "Channel":
    """The ;2 half of a DID caller's Local pair, once it is in the lab (GET /channels until it shows)."""
    name, deadline = far_half_name(caller), time.monotonic() + timeout
    while True:
        found = [c for c in ari.channels.list() if c.name == name]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise LookupError(f"{name} is not in the lab (did the caller hang up?)")
        time.sleep(0.1)
