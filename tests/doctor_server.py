"""A deliberately unsafe Asterisk beside the lab, for the doctor's tests: Debian's stock configuration with the
careless ARI and AMI settings a first set-up often has, in namespaces of its own, so nothing outside can reach it.

It runs the lab's cached root filesystem through an overlay (the cache is never written; what Asterisk writes goes
to a temporary folder), in private mount, pid and network namespaces: it binds every address (0.0.0.0) of a
network namespace that has only its own loopback, so "beyond loopback" is real for the doctor and unreachable for
anyone else, and no port of the lab or of this machine is taken. Killing the one `unshare` process ends it all:
its pid namespace's processes die with it and its mounts vanish with its mount namespace (the machinery, shared
with tests/test_foreign_asterisk.py's safe server: tests/foreign_asterisk.py).
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from foreign_asterisk import ForeignAsterisk, can_run, foreign_asterisk  # noqa: F401  (can_run: for the tests)

ARI_USER, ARI_PASSWORD = "admin", "mysecret"            # the password of Asterisk's manager.conf.sample
AMI_USER, AMI_SECRET = "admin", "1234"                  # the secret of Asterisk's users.conf.sample
WATCHER, WATCHER_SECRET = "watcher", "a-long-secret-of-the-watcher"   # may neither run commands nor read files
VICIFAST_KIT = Path(sys.executable).with_name("vicifast-kit")

#: The unsafe files, over Debian's stock /etc/asterisk (everything else stays stock).
CONFIG = {
    "http.conf": "[general]\nenabled = yes\nbindaddr = 0.0.0.0\nbindport = 8088\n",
    "ari.conf": ("[general]\nenabled = yes\nallowed_origins = *\n\n"
                 f"[{ARI_USER}]\ntype = user\nread_only = no\npassword = {ARI_PASSWORD}\n\n"
                 "[dashboard]\ntype = user\nread_only = no\npassword = dash1\n\n"
                 "[reports]\ntype = user\nread_only = no\npassword = dash1\n"),
    "manager.conf": ("[general]\nenabled = yes\nport = 5038\nbindaddr = 0.0.0.0\nwebenabled = yes\n\n"
                     f"[{AMI_USER}]\nsecret = {AMI_SECRET}\nread = all\nwrite = all\n\n"
                     f"[{WATCHER}]\nsecret = {WATCHER_SECRET}\nread = call\nwrite = originate\n"),
}

class UnsafeAsterisk(ForeignAsterisk):
    """The running unsafe Asterisk: run commands in its network namespace, see what it left behind."""

    def doctor(self, *options: str) -> subprocess.CompletedProcess:
        """`vicifast-kit doctor OPTIONS` run in the server's network, as its admin would."""
        return self.in_its_network(str(VICIFAST_KIT), "doctor", "--url", "http://127.0.0.1:8088", "--user",
                                   ARI_USER, "--password", ARI_PASSWORD, *options)


@contextmanager
def unsafe_asterisk(timeout: float = 90) -> Iterator[UnsafeAsterisk]:
    """Start the unsafe Asterisk; on the way out end every process and mount it made and delete its folder."""
    with foreign_asterisk(CONFIG, name="unsafe", timeout=timeout, kind=UnsafeAsterisk) as server:
        yield server
