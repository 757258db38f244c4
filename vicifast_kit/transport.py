"""ARI over plain HTTP: the client's default Transport (see vicifast_kit.contracts)."""

from __future__ import annotations

import base64
import re
from typing import Any

import requests

from .contracts import Reply
from .errors import LabUnreachable, ProtocolError, RequestTimeout, TransportError

#: The most HTTP connections one client opens to ARI at once (Asterisk's http.conf allows 100 in all).
MAX_CONNECTIONS = 32


def readable_body(body: str) -> str:
    """A short readable message from an error body (Asterisk's HTTP errors are small HTML pages)."""
    if "<" in body:
        found = re.findall(r"<(?:title|p)>(.*?)</(?:title|p)>", body, re.S | re.I)
        body = ": ".join(dict.fromkeys(t.strip() for t in found if t.strip())) or re.sub(r"<[^>]+>", " ", body)
    return " ".join(body.split())[:300]


class HTTPTransport:
    """Requests to ``{url}/ari`` over HTTP(S) with basic auth, on a bounded pool of kept-open connections."""

    def __init__(self, url: str, user: str, password: str, *, timeout: float = 10.0,
                 max_connections: int = MAX_CONNECTIONS, unreachable: str = "") -> None:
        self.where = url.rstrip("/")
        #: What LabUnreachable says when nothing answers (by default: start the lab).
        self.unreachable = unreachable
        self.user = user
        self.timeout = timeout
        self._password = password
        self._base = self.where + "/ari"
        self._session = requests.Session()
        self._session.auth = (user, password)
        self._session.headers["Accept"] = "application/json"
        # ARI is reached directly: proxy variables must not reroute it (and reading them on every
        # request costs more than the request itself on localhost).
        self._session.trust_env = False
        # At most max_connections, kept open; more threads at once wait for one. Unbounded, 200
        # threads opened 200+ connections, past Asterisk's HTTP sessionlimit (100 by default): it
        # closed the extra ones unanswered and a 1,000-call burst fell from ~300 to ~15 calls/s.
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max_connections, pool_block=True)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def authorization(self) -> str:
        """The Authorization header's value for this user (for the websockets that share the credentials)."""
        return "Basic " + base64.b64encode(f"{self.user}:{self._password}".encode()).decode()

    def send(self, method: str, path: str, params: dict | None = None, body: Any = None,
             binary: bool = False) -> Reply:
        """Send one request (path relative to /ari) and return ARI's answer, errors included."""
        __tracebackhide__ = True
        try:
            r = self._session.request(method, self._base + path, params=params or None, json=body,
                                      timeout=self.timeout)
        except requests.ReadTimeout:
            raise RequestTimeout(self.where, f"{method} {path}", self.timeout) from None
        except (requests.ConnectionError, requests.Timeout) as e:     # refused, or no connection in time
            if isinstance(e, requests.exceptions.SSLError):
                raise TransportError(f"TLS failed with {self.where}: {e}. Check the certificate, or the URL's "
                                     "scheme (http:// for a server without TLS).") from None
            raise LabUnreachable(self.where, type(e).__name__, self.unreachable) from None
        except requests.RequestException as e:
            raise TransportError(f"{method} {path} to {self.where} failed on the way: "
                                 f"{type(e).__name__}: {e}") from None
        if r.status_code >= 400:
            try:
                message = r.json().get("message") or r.reason
            except (ValueError, AttributeError):
                message = readable_body(r.text) or r.reason
            return Reply(r.status_code, None, str(message))
        if r.status_code == 204 or not r.content:
            return Reply(r.status_code)
        if binary or "json" not in r.headers.get("Content-Type", ""):
            return Reply(r.status_code, r.content)
        try:
            return Reply(r.status_code, r.json())
        except ValueError:
            raise ProtocolError(f"{method} {path}: {self.where} answered {r.status_code} with a body that is not "
                                f"JSON ({len(r.content)} bytes): is this an Asterisk's ARI?") from None

    def close(self) -> None:
        """Close the kept-open connections."""
        self._session.close()

    def __repr__(self) -> str:
        return f"<HTTPTransport {self._base} user={self.user!r}>"
