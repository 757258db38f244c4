"""A minimal SIP phone for the tests: REGISTER over UDP with digest authentication (RFC 3261/2617)."""

import hashlib
import re
import socket
import uuid


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class SipPhone:
    """Registers one account (user, password) at a SIP server on 127.0.0.1."""

    def __init__(self, user: str, password: str, port: int) -> None:
        self.user, self.password, self.port = user, password, port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.local = self.sock.getsockname()[1]
        self.call_id = uuid.uuid4().hex
        self.tag = uuid.uuid4().hex[:8]
        self.cseq = 0

    def _request(self, expires: int, authorization: str = "") -> str:
        self.cseq += 1
        uri = f"sip:127.0.0.1:{self.port}"
        lines = [
            f"REGISTER {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.local};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport",
            "Max-Forwards: 70",
            f"From: <sip:{self.user}@127.0.0.1>;tag={self.tag}",
            f"To: <sip:{self.user}@127.0.0.1>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} REGISTER",
            f"Contact: <sip:{self.user}@127.0.0.1:{self.local}>",
            f"Expires: {expires}",
        ]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        self.sock.sendto(("\r\n".join(lines + ["Content-Length: 0", "", ""])).encode(), ("127.0.0.1", self.port))
        while True:
            reply = self.sock.recv(65535).decode(errors="replace")
            if not reply.startswith("SIP/2.0 1"):        # skip provisional replies
                return reply

    def register(self, expires: int = 60) -> int:
        """REGISTER (answering the digest challenge); the final status code."""
        reply = self._request(expires)
        if not reply.startswith("SIP/2.0 401"):
            return int(reply.split()[1])
        challenge = next(line for line in reply.split("\r\n")
                         if line.startswith("WWW-Authenticate: Digest") and "MD5" in line.upper())
        fields = dict(re.findall(r'(\w+)="?([^",]+)"?', challenge.split("Digest", 1)[1]))
        uri = f"sip:127.0.0.1:{self.port}"
        ha1 = _md5(f"{self.user}:{fields['realm']}:{self.password}")
        ha2 = _md5(f"REGISTER:{uri}")
        cnonce, nc = uuid.uuid4().hex[:16], "00000001"
        if "auth" in fields.get("qop", ""):
            response = _md5(f"{ha1}:{fields['nonce']}:{nc}:{cnonce}:auth:{ha2}")
            extra = f', qop=auth, nc={nc}, cnonce="{cnonce}"'
        else:
            response, extra = _md5(f"{ha1}:{fields['nonce']}:{ha2}"), ""
        authorization = (f'Digest username="{self.user}", realm="{fields["realm"]}", nonce="{fields["nonce"]}", '
                         f'uri="{uri}", response="{response}", algorithm=MD5'
                         + (f', opaque="{fields["opaque"]}"' if "opaque" in fields else "") + extra)
        reply = self._request(expires, authorization)
        return int(reply.split()[1])

    def close(self) -> None:
        self.sock.close()
