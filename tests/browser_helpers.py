"""What the real-browser tests share: Debian's Chromium driven by Playwright, and a private JupyterLab.

Imported by tests/test_*browser.py. Chromium is Debian's (/usr/bin/chromium; `playwright install`
cannot download a browser here); JupyterLab runs on a free port with its own token and folders, and
is stopped after the test with its kernels shut down first (so they close their calls, as a user's
restart would), then its whole process group.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import vicifast_kit as vk

from client_helpers import wait_until

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent

playwright_api = pytest.importorskip("playwright.sync_api")
requires_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium is not installed (scripts/setup)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notebook(cells: list[str]) -> dict:
    """A notebook of code cells (nbformat 4) for the Python 3 kernel."""
    return {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": c}
                      for c in cells],
            "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                        "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def open_and_run(page, base: str, token: str, name: str, cells: int, shown, hide_files: bool = False) -> None:
    """Open notebook `name` in JupyterLab, wait for its kernel, run its first `cells` cells until `shown` appears.

    A run pressed while the session still connects is lost, so it is tried up to three times.
    """
    page.goto(f"{base}/lab/tree/{name}?token={token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"\| Idle$")).first.wait_for(timeout=30_000)     # the kernel is ready
    if hide_files:
        page.keyboard.press("Control+b")          # the file browser closed: room for the widgets
    for attempt in range(3):
        page.locator(".jp-Notebook .jp-Cell").first.click()
        for _ in range(cells):
            page.keyboard.press("Shift+Enter")
        try:
            shown.wait_for(timeout=20_000)
            return
        except playwright_api.TimeoutError:
            if attempt == 2:
                raise


def report_failure(page, tmp: Path) -> None:
    """Save a screenshot of the page and print its text (for a failed browser test)."""
    page.screenshot(path=str(tmp / "failure.png"))
    print("page text:", page.locator("body").inner_text()[-3000:])
    print("saved", tmp / "failure.png")


@contextlib.contextmanager
def chromium_page(tmp: Path, viewport: dict, args: list[str] = ARGS):
    """A page of headless Chromium (closed after); on a failure its screenshot and text are kept (report_failure)."""
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        page = browser.new_page(viewport=viewport)
        try:
            yield page
        except BaseException:
            report_failure(page, tmp)
            raise
        finally:
            browser.close()


def our_half(ari: vk.ARIClient, caller) -> vk.Channel:
    """The app's half of a simulated caller (its Local channel's ;2), once it is in Stasis (answerable, not 409)."""
    def in_stasis():          # the app subscribes to a channel after its control exists: answerable from then on
        half = next((c for c in ari.channels.list() if c.name == caller.name[:-1] + "2"), None)
        apps = [a for a in ari.applications.list() if half is not None and half.id in a.channel_ids]
        return half if apps else None
    return wait_until(in_stasis, timeout=10)


def wait_for_app(ari: vk.ARIClient, app: str) -> None:
    """Wait until the notebook's kernel has connected its client (its Stasis app is registered)."""
    wait_until(lambda: any(a.name == app for a in ari.applications.list()), timeout=20)


def end_calls(ari: vk.ARIClient, callers) -> None:
    """Hang up both halves of these simulated callers, wherever they are now (best effort: some are gone)."""
    prefixes = [c.name.rsplit(";", 1)[0] for c in callers]
    for c in ari.channels.list():
        if any(c.name.startswith(p) for p in prefixes):
            with contextlib.suppress(vk.ARIError):
                c.hangup()


def dismiss_news(page) -> None:
    """Close JupyterLab's "news?" toast if it shows (it covers the bottom right corner)."""
    no_news = page.get_by_role("button", name="No")
    if no_news.count():
        no_news.first.click()


def _answers(base: str, token: str) -> bool:
    try:
        return requests.get(f"{base}/api/status", params={"token": token}, timeout=1).ok
    except requests.ConnectionError:
        return False


CLOCK = "() => (document.querySelector('.vk-dashboard .vk-header').innerText.match(/(\\d\\d:\\d\\d:\\d\\d)\\s*$/) || [])[1]"


def wait_for_clock_tick(page, timeout: float = 5.0) -> str:
    """Wait until the Dashboard's header clock shows a new second: a render that came after everything before it."""
    shown = page.evaluate(CLOCK)
    page.wait_for_function(f"old => ({CLOCK})() !== old", arg=shown, timeout=timeout * 1000)
    return page.evaluate(CLOCK)


@pytest.fixture
def jupyterlab(tmp_path):
    """JupyterLab on a free port with a token, in its own session: yields (base URL, token, its root folder)."""
    with running_jupyterlab(tmp_path) as lab:
        yield lab


@contextlib.contextmanager
def running_jupyterlab(tmp_path: Path, extra_args: tuple[str, ...] = ()):
    """JupyterLab in tmp_path on a free port with a token, stopped after (its kernels first): (base URL, token, folder)."""
    port, token = free_port(), secrets.token_hex(16)
    for d in ("config", "runtime", "settings", "workspaces"):
        (tmp_path / d).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTER_PLATFORM_DIRS="1")
    log = open(tmp_path / "jupyterlab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={tmp_path}", f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
         f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", *extra_args],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(base, token):
            try:
                proc.wait(0.2)             # returns before the 0.2 s only if JupyterLab exited
            except subprocess.TimeoutExpired:
                if time.monotonic() < deadline:
                    continue
            raise RuntimeError("JupyterLab did not start:\n" + (tmp_path / "jupyterlab.log").read_text()[-3000:])
        yield base, token, tmp_path
    finally:
        try:        # kernels first, gracefully: they close their clients (and calls) at exit
            for kernel in requests.get(f"{base}/api/kernels", params={"token": token}, timeout=5).json():
                requests.delete(f"{base}/api/kernels/{kernel['id']}", params={"token": token}, timeout=30)
        except (requests.RequestException, ValueError):
            pass
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()
