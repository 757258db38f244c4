"""A small ARI description written for the offline tests, and a stand-in server that serves it.

The description is the kit's own, in the shape the server uses (resources.json and one file per
resource, Swagger 1.2 style): a few operations of channels, bridges, recordings and events, and
a few models. Nothing of Asterisk's text is copied: the summaries here are the tests' own words.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import vicifast_kit as vk


def _param(name, where="query", kind="string", required=False, multiple=False, allowed=None, default=None):
    p = {"name": name, "paramType": where, "dataType": kind, "required": required, "allowMultiple": multiple,
         "description": f"test parameter {name}"}
    if allowed:
        p["allowableValues"] = {"valueType": "LIST", "values": allowed}
    if default is not None:
        p["defaultValue"] = default
    return p


def _op(method, nickname, response="void", params=(), summary=""):
    return {"httpMethod": method, "nickname": nickname, "responseClass": response,
            "summary": summary or f"test operation {nickname}", "parameters": list(params)}


def _model(name, props, sub_types=None):
    model = {"id": name, "properties": {k: {"type": v} for k, v in props.items()}}
    if sub_types:
        model["subTypes"] = sub_types
    return model


CHANNEL_ID = _param("channelId", "path", required=True)
BRIDGE_ID = _param("bridgeId", "path", required=True)

DESCRIPTION: dict[str, dict] = {
    "channels": {
        "apiVersion": "0.0.1-test",
        "apis": [
            {"path": "/channels", "operations": [
                _op("GET", "list", "List[Channel]"),
                _op("POST", "originate", "Channel", [
                    _param("endpoint", required=True), _param("app"), _param("appArgs"), _param("timeout", kind="int"),
                    _param("channelId"), _param("otherChannelId"), _param("variables", "body", "containers")]),
            ]},
            {"path": "/channels/{channelId}", "operations": [
                _op("GET", "get", "Channel", [CHANNEL_ID]),
                _op("DELETE", "hangup", "void", [CHANNEL_ID, _param("reason", allowed=["normal", "busy"])]),
            ]},
            {"path": "/channels/{channelId}/answer", "operations": [_op("POST", "answer", "void", [CHANNEL_ID])]},
            {"path": "/channels/{channelId}/play", "operations": [
                _op("POST", "play", "Playback", [CHANNEL_ID, _param("media", required=True, multiple=True),
                                                 _param("lang"), _param("skipms", kind="int", default=3000),
                                                 _param("playbackId")])]},
            {"path": "/channels/{channelId}/variable", "operations": [
                _op("GET", "getChannelVar", "Variable", [CHANNEL_ID, _param("variable", required=True)])]},
            {"path": "/channels/{channelId}/dtmf", "operations": [
                _op("POST", "sendDTMF", "void", [CHANNEL_ID, _param("dtmf"), _param("between", kind="int")])]},
        ],
        "models": {
            "Channel": _model("Channel", {"id": "string", "name": "string", "state": "string",
                                          "caller": "CallerID", "creationtime": "Date"}),
            "CallerID": _model("CallerID", {"name": "string", "number": "string"}),
            "Variable": _model("Variable", {"value": "string"}),
        },
    },
    "bridges": {
        "apiVersion": "0.0.1-test",
        "apis": [
            {"path": "/bridges", "operations": [
                _op("POST", "create", "Bridge", [_param("type", multiple=True), _param("bridgeId"), _param("name")])]},
            {"path": "/bridges/{bridgeId}/addChannel", "operations": [
                _op("POST", "addChannel", "void", [BRIDGE_ID, _param("channel", required=True, multiple=True),
                                                   _param("absorbDTMF", kind="boolean")])]},
            {"path": "/bridges/{bridgeId}/record", "operations": [
                _op("POST", "record", "LiveRecording", [BRIDGE_ID, _param("name", required=True),
                                                        _param("format", required=True)])]},
        ],
        "models": {"Bridge": _model("Bridge", {"id": "string", "bridge_type": "string", "channels": "List[string]"})},
    },
    "recordings": {
        "apiVersion": "0.0.1-test",
        "apis": [
            {"path": "/recordings/stored/{recordingName}/copy", "operations": [
                _op("POST", "copyStored", "StoredRecording", [_param("recordingName", "path", required=True),
                                                              _param("destinationRecordingName", required=True)])]},
            {"path": "/recordings/stored/{recordingName}/file", "operations": [
                _op("GET", "getStoredFile", "binary", [_param("recordingName", "path", required=True)])]},
        ],
        "models": {"LiveRecording": _model("LiveRecording", {"name": "string", "state": "string"}),
                   "StoredRecording": _model("StoredRecording", {"name": "string", "format": "string"}),
                   "Playback": _model("Playback", {"id": "string", "state": "string", "target_uri": "string"})},
    },
    "events": {
        "apiVersion": "0.0.1-test",
        "apis": [{"path": "/events", "operations": [
            _op("GET", "eventWebsocket", "Message", [_param("app", required=True, multiple=True)])]}],
        "models": {
            "Message": _model("Message", {"type": "string"}, ["Event"]),
            "Event": _model("Event", {"application": "string", "timestamp": "Date"},
                            ["StasisStart", "StasisEnd", "ChannelDtmfReceived", "PlaybackStarted"]),
            "StasisStart": _model("StasisStart", {"channel": "Channel", "args": "List[string]",
                                                  "replace_channel": "Channel"}),
            "StasisEnd": _model("StasisEnd", {"channel": "Channel"}),
            "ChannelDtmfReceived": _model("ChannelDtmfReceived", {"channel": "Channel", "digit": "string"}),
            "PlaybackStarted": _model("PlaybackStarted", {"playback": "Playback"}),
        },
    },
}

INDEX = {"apiVersion": "0.0.1-test", "apis": [{"path": f"/api-docs/{stem}.{{format}}"} for stem in DESCRIPTION]}


class FakeARI:
    """A stand-in ARI server on a random 127.0.0.1 port: serves DESCRIPTION and answers as `answers` says.

    ``answers[(METHOD, path)]`` is (status, JSON body or raw bytes) or a callable(query, body) returning one;
    ``slow[(METHOD, path)]`` is seconds to wait before answering. ``requests`` records what came.
    """

    def __init__(self, password: str = "secret") -> None:
        self.password = password
        self.answers: dict[tuple[str, str], object] = {("GET", "/ari/bridges"): (200, [])}
        self.slow: dict[tuple[str, str], float] = {}
        self.requests: list[tuple[str, str, dict, object]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                import base64
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                size = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(size)) if size else None
                fake.requests.append((self.command, parts.path, query, body))
                token = base64.b64encode(f"vicifast:{fake.password}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {token}":
                    return self._send(401, {"message": "Authentication required"})
                time.sleep(fake.slow.get((self.command, parts.path), 0))   # a slow server, when a test asks for one
                if parts.path == "/ari/api-docs/resources.json":
                    return self._send(200, INDEX)
                if parts.path.startswith("/ari/api-docs/"):
                    stem = parts.path.rsplit("/", 1)[-1].split(".")[0]
                    return self._send(200, DESCRIPTION[stem]) if stem in DESCRIPTION else self._send(404, {})
                answer = fake.answers.get((self.command, parts.path), (404, {"message": "Nothing here"}))
                if callable(answer):
                    answer = answer(query, body)
                self._send(*answer)

            def _send(self, status, body):
                # bytes go as they are (a broken body); anything else as JSON
                data = b"" if status == 204 else body if isinstance(body, bytes) else json.dumps(body).encode()
                self.close_connection = True       # one request per connection: nothing lingers after a test
                try:
                    self.send_response(status)
                    self.send_header("Connection", "close")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:        # the client gave up (a read timeout)
                    pass

            do_GET = do_POST = do_DELETE = do_PUT = _serve

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = False        # server_close() waits for the requests under way
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), name="test-fake-ari",
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving and wait for the requests under way: no socket of this server closes later."""
        import gc
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
        gc.collect()


class QuietEvents:
    """An EventSource that never delivers (see vicifast_kit.contracts): offline tests put events into the hub themselves."""

    def __init__(self) -> None:
        self.state = "reconnecting"
        self.deliver = None
        self.on_state = None

    def start(self, deliver, on_state) -> None:
        self.deliver, self.on_state = deliver, on_state
        self.state = "connected"

    def close(self) -> None:
        self.state = "disconnected"


def offline_client(server: FakeARI, **kw) -> vk.ARIClient:
    """A real ARIClient of the stand-in server, composed with a quiet event source (no lab, no settings read)."""
    return vk.connect(kw.pop("app", "offline"), url=server.url, user="vicifast",
                      password=kw.pop("password", server.password), event_source=kw.pop("event_source", QuietEvents()),
                      **kw)
