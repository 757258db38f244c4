"""REST over the websocket (Asterisk 22): the RESTRequest a program sends, the RESTResponse it gets.

Pure functions, no I/O: what goes on the wire and what comes back, so they can be tested offline.
A request names its operation like a URL below /ari ("channels/ID/answer"), query parameters in
``query_strings`` and a JSON body as a string in ``message_body``; Asterisk answers with the same
``request_id`` and the HTTP status it would have sent.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
from typing import Any
from urllib.parse import quote

#: Message types that answer a request; everything else on the socket is an event.
RESPONSE_TYPE = "RESTResponse"

_counter = itertools.count(1)
_prefix = base64.b32encode(os.urandom(5)).decode().lower()


def new_request_id() -> str:
    """A request id unique in this process (and unlikely to collide with another's)."""
    return f"{_prefix}-{next(_counter)}"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    return str(value)


def rest_request(method: str, path: str, params: dict | None = None, body: Any = None,
                 request_id: str | None = None, transaction_id: str | None = None) -> dict:
    """The RESTRequest message for one ARI call: ``rest_request("POST", "/channels/1/answer")``."""
    method = method.upper()
    if method not in ("GET", "POST", "PUT", "DELETE"):
        raise ValueError(f"ARI has no {method!r} requests; use GET, POST, PUT or DELETE")
    uri = path.lstrip("/")
    if uri.startswith("ari/"):
        uri = uri[len("ari/"):]
    if not uri:
        raise ValueError("A REST request needs a resource, e.g. 'channels' or 'asterisk/info'")
    uri = quote(uri, safe="/:@!$&'()*+,;=-._~%")
    request_id = request_id or new_request_id()
    message: dict[str, Any] = {"type": "RESTRequest", "request_id": request_id,
                               "transaction_id": transaction_id or request_id, "method": method, "uri": uri}
    query = [{"name": k, "value": _text(v)} for k, v in (params or {}).items() if v is not None]
    if query:
        message["query_strings"] = query
    if body is not None:
        message["content_type"] = "application/json"
        message["message_body"] = json.dumps(body)
    return message


def is_response(message: dict) -> bool:
    """True for a RESTResponse (the answer to a request), False for an event."""
    return message.get("type") == RESPONSE_TYPE


def read_response(message: dict) -> tuple[int, str, Any]:
    """(status, reason, result) of a RESTResponse; result is the decoded JSON body, or None when empty."""
    if not is_response(message):
        raise ValueError(f"Not a RESTResponse: a {message.get('type')!r} message")
    status = int(message.get("status_code", 0))
    reason = str(message.get("reason_phrase") or "")
    text = message.get("message_body")
    if not text:
        return status, reason, None
    if "json" in str(message.get("content_type") or "application/json"):
        try:
            return status, reason, json.loads(text)
        except ValueError:
            return status, reason, text
    return status, reason, text


def error_message(result: Any, reason: str) -> str:
    """The readable message of an error response (ARI puts it in {"message": ...})."""
    if isinstance(result, dict) and result.get("message"):
        return str(result["message"])
    if isinstance(result, str) and result.strip():
        return result.strip()[:300]
    return reason or "error"


def basic_auth(user: str, password: str) -> str:
    """The value of an HTTP Basic Authorization header for user and password."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
