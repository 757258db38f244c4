"""A webhook that places calls: an outside system (a CRM, a dialer) asks over HTTP, hears the outcome later.

The Non-agent API pattern: ``POST /calls`` with a bearer token and a small JSON body
(``{"to": "5550142", "reference": "lead-42", "callback_url": "http://127.0.0.1:9000/done"}``) gets
``202 Accepted`` and a call id at once; the program originates the call, follows it with ARI events,
and POSTs the outcome (answered, confirmed with a key, no answer, failed ...) to the callback URL,
signed with HMAC-SHA256 so the receiver can tell it came from here.

What it guards, as a real one must: a token (compared in constant time), a rate limit per client
address, input validation (known fields only, a destination the lab can call, a callback only to
allowed hosts — never an address the caller makes up), a size limit on bodies. ``CallbackReceiver``
plays the outside system in the lab: it receives the callbacks and checks their signatures.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

import requests

from ..errors import ARIError, Error, NotFound, WaitTimeout
from ..wire import register_secret
from .listener import LOOPBACK

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient
    from ..handles import Channel

log = logging.getLogger("vicifast_kit.push.webhook")

MAX_BODY = 4096
FIELDS = {"to", "reference", "callback_url"}
#: What the lab can call: its phones (PJSIP 6001-6003) and simulated customers (555-0100 to 555-0199).
LAB_PHONES = re.compile(r"600[1-3]")
SIM_CUSTOMERS = re.compile(r"55501\d\d")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
SIGNATURE_HEADER = "X-VICIfast-Signature"
#: Hang-up causes as outcomes an outside system understands.
CAUSE_OUTCOMES = {16: "completed", 17: "busy", 18: "no-answer", 19: "no-answer", 21: "rejected",
                  20: "unavailable", 1: "invalid-number", 3: "invalid-number", 34: "congestion", 38: "failed"}


class WebhookError(Error, ValueError):
    """A request the webhook refuses: ``status`` (401, 413, 415, 422, 429 ...) and a message for the caller."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        self.status, self.message, self.retry_after = status, message, retry_after
        super().__init__(f"{status} {message}")


def normalise_number(text: str) -> str:
    """A dialled number without spaces, dashes, dots or brackets ("555-0142" -> "5550142")."""
    return re.sub(r"[\s\-.()]", "", text)


def validate_call_request(data: Any, callback_hosts: tuple[str, ...] = LOOPBACK) -> dict:
    """The checked request ({"to", "reference", "callback_url"}), or WebhookError(422) saying what is wrong."""
    if not isinstance(data, dict):
        raise WebhookError(422, "The body must be a JSON object")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise WebhookError(422, f"Unknown field(s): {', '.join(unknown)}; known: {', '.join(sorted(FIELDS))}")
    to = data.get("to")
    if not isinstance(to, str) or not to.strip():
        raise WebhookError(422, "'to' is required: the number to call, e.g. \"5550142\"")
    to = normalise_number(to)
    if not (LAB_PHONES.fullmatch(to) or SIM_CUSTOMERS.fullmatch(to)):
        raise WebhookError(422, f"'to' must be a number this lab can call: 6001-6003 (phones) or "
                                f"5550100-5550199 (simulated customers), not {to[:20]!r}")
    reference = data.get("reference", "")
    if not isinstance(reference, str) or (reference and not _REFERENCE.fullmatch(reference)):
        raise WebhookError(422, "'reference' must be up to 64 letters, digits and . _ : - (your id for this call)")
    url = data.get("callback_url")
    if not isinstance(url, str) or len(url) > 300:
        raise WebhookError(422, "'callback_url' is required: where the outcome is POSTed")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or parts.hostname not in callback_hosts or port == -1 \
            or parts.username or parts.password:
        raise WebhookError(422, f"'callback_url' must be an http(s) URL on an allowed host "
                                f"({', '.join(callback_hosts)}), without credentials")
    return {"to": to, "reference": reference, "callback_url": url}


class RateLimiter:
    """At most `rate` requests per `per` seconds for each key (a sliding window); allow() says yes or when."""

    def __init__(self, rate: int = 5, per: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        if rate < 1 or per <= 0:
            raise ValueError("rate must be at least 1 and per positive")
        self.rate, self.per, self._clock = rate, per, clock
        self._seen: dict[str, deque] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> tuple[bool, float]:
        """(True, 0) and count the request, or (False, seconds until one is allowed again)."""
        now = self._clock()
        with self._lock:
            times = self._seen.setdefault(key, deque())
            while times and now - times[0] >= self.per:
                times.popleft()
            if len(times) >= self.rate:
                return False, round(self.per - (now - times[0]), 3)
            times.append(now)
            if len(self._seen) > 10000:          # forget idle clients
                for k in [k for k, v in self._seen.items() if not v]:
                    del self._seen[k]
            return True, 0.0


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for body: "sha256=" + HMAC-SHA256(secret, body) in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """True when signature is body's signature with secret (constant-time comparison)."""
    return hmac.compare_digest(sign(secret, body), signature or "")


class _Server(ThreadingHTTPServer):
    """An HTTP server whose request threads are named and daemonic."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address, handler, name: str) -> None:
        self.name = name
        self._ids = itertools.count(1)
        self._requests: set[threading.Thread] = set()
        self._requests_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                                  name=f"vicifast-{self.name}-req#{next(self._ids)}", daemon=True)
        with self._requests_lock:
            self._requests = {t for t in self._requests if t.is_alive()}
            self._requests.add(thread)
        thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close the socket and wait for the requests under way."""
        self.shutdown()
        self.server_close()
        with self._requests_lock:
            running = list(self._requests)
        for thread in running:
            if thread is not threading.current_thread():
                thread.join(timeout)


def _start(name: str, handler: type, host: str, port: int) -> tuple[_Server, threading.Thread]:
    if host not in LOOPBACK:
        raise ValueError(f"The kit listens on this machine's loopback only (127.0.0.1), not {host!r}")
    server = _Server((host, port), handler, name)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name=f"vicifast-{name}[{server.server_address[1]}]", daemon=True)
    thread.start()
    return server, thread


class Webhook:
    """``POST /calls`` places a real call and reports its outcome to the request's callback URL.

    ``Webhook(ari, token=...)`` listens on 127.0.0.1 (``port=0``: any free port; ``.url``). The
    call is placed into ``ari``'s app; ``on_answer(channel, request)`` decides what happens once
    answered (default: play a prompt, wait for a key, hang up) and returns fields for the outcome.
    """

    def __init__(self, ari: "ARIClient", *, token: str | None = None, port: int = 0, host: str = "127.0.0.1",
                 rate: int = 5, per: float = 10.0, secret: str | None = None,
                 callback_hosts: tuple[str, ...] = LOOPBACK, ring_timeout: int = 20,
                 on_answer: Callable[["Channel", dict], dict] | None = None,
                 prompt: str = "sound:hello-world", caller_id: str = '"VICIfast" <5550100>') -> None:
        self.ari = ari
        self.token = token or secrets.token_urlsafe(24)
        self.secret = secret or secrets.token_urlsafe(24)
        register_secret(self.token)                 # never shown on the wire or in logs made from it
        register_secret(self.secret)
        self.limiter = RateLimiter(rate, per)
        self.callback_hosts = callback_hosts
        self.ring_timeout = ring_timeout
        self.prompt, self.caller_id = prompt, caller_id
        self.on_answer = on_answer or self.play_and_confirm
        self.calls: dict[str, dict] = {}
        self.refused: dict[int, int] = {}
        self._lock = threading.Lock()
        self._workers: set[threading.Thread] = set()
        self._channels: set[str] = set()
        self._closed = False
        self._session = requests.Session()
        self._session.trust_env = False
        self._server, self._thread = _start("webhook", self._handler_class(), host, port)
        self.url = f"http://{host}:{self._server.server_address[1]}"

    # --- HTTP ------------------------------------------------------------------------------
    def _handler_class(self) -> type:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "vicifast-webhook"
            sys_version = ""

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("%s " + fmt, self.client_address[0], *args)

            def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                try:
                    status, body = hook._accept(self.path, self.headers, self.client_address[0], self.rfile)
                    self._reply(status, body)
                except WebhookError as e:
                    with hook._lock:
                        hook.refused[e.status] = hook.refused.get(e.status, 0) + 1
                    headers = {"Retry-After": str(max(1, int(e.retry_after + 0.999)))} if e.retry_after else {}
                    if e.status == 401:
                        headers["WWW-Authenticate"] = "Bearer"
                    self._reply(e.status, {"error": e.message}, headers)

            def do_GET(self) -> None:
                self._reply(405, {"error": "Use POST /calls"}, {"Allow": "POST"})

            do_PUT = do_DELETE = do_GET

        return Handler

    def _accept(self, path: str, headers: Any, address: str, body_file: Any) -> tuple[int, dict]:
        """Check one request in the order a real endpoint must; (202, {"call_id": ...}) or WebhookError."""
        if path.split("?", 1)[0] != "/calls":
            raise WebhookError(404, "Unknown path; use POST /calls")
        allowed, retry = self.limiter.allow(address)
        if not allowed:
            raise WebhookError(429, f"Too many requests: at most {self.limiter.rate} in {self.limiter.per:g} s",
                               retry_after=retry)
        given = headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            raise WebhookError(401, "A valid token is required: Authorization: Bearer <token>")
        if "application/json" not in headers.get("Content-Type", ""):
            raise WebhookError(415, "Send JSON (Content-Type: application/json)")
        try:
            length = int(headers.get("Content-Length", ""))
        except ValueError:
            raise WebhookError(411, "Content-Length is required") from None
        if length > MAX_BODY or length < 0:
            raise WebhookError(413, f"The body may have at most {MAX_BODY} bytes")
        try:
            data = json.loads(body_file.read(length) or b"null")
        except ValueError:
            raise WebhookError(400, "The body is not valid JSON") from None
        request = validate_call_request(data, self.callback_hosts)
        return 202, self.place(request)

    # --- calls -----------------------------------------------------------------------------
    def place(self, request: dict) -> dict:
        """Place the checked request's call on a worker thread; returns {"call_id", "status": "queued"}."""
        call_id = "webhook-" + uuid.uuid4().hex[:12]
        record = {"call_id": call_id, "reference": request["reference"], "to": request["to"],
                  "status": "queued", "outcome": None, "accepted": time.time()}
        worker = threading.Thread(target=self._run_call, args=(call_id, request), daemon=True,
                                  name=f"vicifast-webhook-call[{call_id}]")
        with self._lock:
            if self._closed:
                raise WebhookError(503, "The webhook is closing")
            self.calls[call_id] = record
            self._workers = {t for t in self._workers if t.is_alive()}
            self._workers.add(worker)
        worker.start()
        return {"call_id": call_id, "status": "queued"}

    def _originate(self, call_id: str, to: str) -> "Channel":
        common = dict(app=self.ari.app, app_args=f"webhook,{call_id}", channel_id=call_id,
                      caller_id=self.caller_id, timeout=self.ring_timeout)
        if SIM_CUSTOMERS.fullmatch(to):
            # A simulated customer: answers, waits a second, presses 1, then stays on the line.
            from ..media.stream import CALL_FORMATS
            return self.ari.channels.originate(
                endpoint="Local/s@sim-caller/n", formats=CALL_FORMATS,
                variables={"SIM_DELAY": "1", "SIM_DTMF": "1", "SIM_SAY": "", "SIM_DURATION": "30"}, **common)
        return self.ari.channels.originate(endpoint=f"PJSIP/{to}", **common)

    def _run_call(self, call_id: str, request: dict) -> None:
        started = time.time()
        outcome: dict[str, Any]
        try:
            outcome = self._follow(call_id, request)
        except Exception as e:       # the outside system hears of every failure
            log.exception("Webhook call %s failed", call_id)
            outcome = {"outcome": "failed", "reason": f"{type(e).__name__}: {e}"[:200]}
        finally:
            with self._lock:
                self._channels.discard(call_id)
        outcome = {"call_id": call_id, "reference": request["reference"], "to": request["to"],
                   **outcome, "seconds": round(time.time() - started, 1)}
        with self._lock:
            self.calls[call_id].update(status="done", outcome=outcome)
        self.calls[call_id]["callback"] = self.send_callback(request["callback_url"], outcome)

    def _follow(self, call_id: str, request: dict) -> dict:
        with self._lock:
            self.calls[call_id]["status"] = "ringing"
            self._channels.add(call_id)
        try:
            channel = self._originate(call_id, request["to"])
        except ARIError as e:
            reason = "the phone is not registered" if e.status == 500 and LAB_PHONES.fullmatch(request["to"]) \
                else e.message
            return {"outcome": "failed", "reason": reason}
        ev = channel.wait_for(["StasisStart", "ChannelDestroyed"], timeout=self.ring_timeout + 5)
        if ev.type == "ChannelDestroyed":
            cause = int(ev.raw.get("cause", 0))
            return {"outcome": CAUSE_OUTCOMES.get(cause, "failed"), "cause": cause,
                    "cause_text": ev.raw.get("cause_txt", "")}
        with self._lock:
            self.calls[call_id]["status"] = "answered"
        try:
            extra = self.on_answer(channel, request) or {}
        finally:
            try:
                channel.hangup()
            except ARIError:
                pass                     # the customer hung up first
        return {"outcome": "answered", **extra}

    def play_and_confirm(self, channel: "Channel", request: dict) -> dict:
        """The default call: play the prompt, wait up to 8 s for a key; {"confirmed": key == "1", "key": key}."""
        channel.play(media=self.prompt)
        try:
            key = channel.wait_for("ChannelDtmfReceived", timeout=8).digit
        except WaitTimeout:
            key = ""
        return {"confirmed": key == "1", "key": key}

    def send_callback(self, url: str, outcome: dict, tries: int = 3) -> dict:
        """POST outcome to url, signed; retried with backoff; returns {"status", "tries"} of the delivery."""
        body = json.dumps(outcome, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, body),
                   "X-VICIfast-Call-Id": outcome.get("call_id", "")}
        status = 0
        for attempt in range(1, tries + 1):
            try:
                status = self._session.post(url, data=body, headers=headers, timeout=5).status_code
                if status < 500:
                    return {"status": status, "tries": attempt}
            except requests.RequestException as e:
                log.warning("Callback to %s failed (%s), try %d of %d", url, type(e).__name__, attempt, tries)
            if attempt < tries and not self._closed:
                time.sleep(0.5 * 2 ** (attempt - 1))
        return {"status": status, "tries": tries}

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until every accepted call has ended and its callback was sent (raises WaitTimeout)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                busy = [t for t in self._workers if t.is_alive()]
            if not busy:
                return
            if time.monotonic() > deadline:
                raise WaitTimeout(f"{len(busy)} webhook call(s) to end", timeout)
            busy[0].join(0.1)

    # --- lifetime --------------------------------------------------------------------------
    def close(self, timeout: float = 10.0) -> None:
        """Stop accepting, hang up the calls still going, wait for their callbacks, stop the server."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            channels = list(self._channels)
        self._server.stop()
        for call_id in channels:
            try:
                self.ari.channels.hangup(call_id)
            except NotFound:        # it ended by itself meanwhile
                pass
            except Error as e:      # the lab is gone or the client closed: the call ends with it
                log.debug("Could not hang up webhook call %s at close: %s", call_id, e)
        try:
            self.wait_idle(timeout)
        except WaitTimeout:
            log.warning("Webhook calls still running at close")
        self._thread.join(timeout)
        self._session.close()

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    def __enter__(self) -> "Webhook":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Webhook {self.url}/calls calls={len(self.calls)}{' closed' if self._closed else ''}>"


class CallbackReceiver:
    """The outside system's end, for the lab: receives the webhook's callbacks and checks their signatures."""

    def __init__(self, secret: str | None = None, *, port: int = 0, host: str = "127.0.0.1") -> None:
        self.secret = secret
        self.received: list[dict] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("callback " + fmt, *args)

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), 65536)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                signed = receiver.secret is not None and verify(receiver.secret, raw,
                                                                self.headers.get(SIGNATURE_HEADER, ""))
                with receiver._cond:
                    receiver.received.append({"path": self.path, "body": body, "signature_ok": signed})
                    receiver._cond.notify_all()
                self.send_response(204)
                self.end_headers()

        self._server, self._thread = _start("callbacks", Handler, host, port)
        self.url = f"http://{host}:{self._server.server_address[1]}"

    def wait(self, timeout: float = 30.0, where: Callable[[dict], bool] | None = None) -> dict:
        """The first callback received (matching where), waiting up to timeout s (WaitTimeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for item in self.received:
                    if where is None or where(item):
                        return item
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout("callback", timeout)
                self._cond.wait(remaining)

    def close(self) -> None:
        """Stop the server and its threads."""
        self._server.stop()
        self._thread.join(5)

    def __enter__(self) -> "CallbackReceiver":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<CallbackReceiver {self.url} received={len(self.received)}>"
