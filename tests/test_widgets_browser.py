"""The Dashboard in a real browser: JupyterLab + Debian's Chromium driven by Playwright, against the lab.

Proves what the headless tests cannot: updates made by the widgets' pump threads (not by a cell)
reach the page with the pinned ipykernel, and a click in the page acts on the real call.
"""

from __future__ import annotations

import json
import os
import shutil

import vicifast_kit as vk
from vicifast_kit.lab.simulate import simulate_caller

from browser_helpers import ROOT, jupyterlab, notebook, playwright_api, requires_chromium  # noqa: F401
from browser_helpers import ARGS, CHROMIUM, dismiss_news, open_and_run, report_failure
from client_helpers import cleanup, unique_app, wait_until

# The README's picture; refreshed only when asked (VICIFAST_UPDATE_SCREENSHOT=1 scripts/test ...),
# so a test run leaves the work tree as it found it.
SCREENSHOT = ROOT / "docs" / "dashboard.png"
pytestmark = requires_chromium


def dashboard_notebook(app: str) -> dict:
    return notebook([f"import vicifast_kit as vk\nari = vk.connect(app={app!r})\nari.dashboard()"])


def test_dashboard_in_jupyterlab_shows_a_live_call_and_answers_it(jupyterlab):
    base, token, tmp = jupyterlab
    app = unique_app("browser")
    (tmp / "dashboard.ipynb").write_text(json.dumps(dashboard_notebook(app)))
    ari = vk.connect(app=unique_app("browser-test"))      # the test's own client (places the call)
    caller, moved = None, []
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1700, "height": 1300})
            dash = page.locator(".vk-dashboard")
            open_and_run(page, base, token, "dashboard.ipynb", 1, dash, hide_files=True)
            wait_until(lambda: app in ari.applications.list().__repr__() or any(
                a.name == app for a in ari.applications.list()), timeout=20)
            # The kernel is idle now: whatever changes in the page comes from the pump threads.
            clock = dash.locator("text=/\\d\\d:\\d\\d:\\d\\d$/").first
            first = clock.inner_text()
            wait_until(lambda: clock.inner_text() != first, timeout=5)
            caller = simulate_caller(ari, dtmf="42", app=app, delay=0.8, duration=60)
            ours = wait_until(lambda: next((c for c in ari.channels.list()
                                            if c.name == caller.name[:-1] + "2"), None), timeout=5)
            row = dash.locator(f"tr[data-channel='{ours.id}']")
            row.wait_for(timeout=5_000)
            assert "Ring" in row.inner_text()
            dash.locator("button", has_text="Answer").click()
            wait_until(lambda: ari.channels.get(ours.id).state == "Up", timeout=5)
            page.wait_for_function(
                "id => { const r = document.querySelector(`tr[data-channel='${id}']`); "
                "return r && r.innerText.includes('Up'); }", arg=ours.id, timeout=5_000)
            dash.locator("text=DTMF 2").first.wait_for(timeout=5_000)         # the caller pressed 4, 2
            dash.locator("button", has_text="Move to bridge").click()
            dash.locator("text=Moved into bridge").wait_for(timeout=5_000)
            moved += [b.id for b in ari.bridges.list() if ours.id in b.channels]
            assert moved
            dash.locator("svg text", has_text="addChannel").first.wait_for(timeout=5_000)
            dash.locator(".vk-listen-button").click()             # hear the call in the page
            dash.locator(".vk-listen .vk-audio-state", has_text="live").wait_for(timeout=10_000)
            page.wait_for_function("() => Number(document.querySelector('.vk-listen').dataset.frames || 0) > 50",
                                   timeout=10_000)
            dismiss_news(page)
            page.wait_for_timeout(1200)                    # let the clocks and the bridge poll settle
            shot = tmp / "dashboard.png"
            dash.screenshot(path=str(shot))
            assert shot.stat().st_size > 20_000
            if os.environ.get("VICIFAST_UPDATE_SCREENSHOT") == "1":
                shutil.copyfile(shot, SCREENSHOT)
        except BaseException:
            report_failure(page, tmp)
            raise
        finally:
            browser.close()
            if caller is not None:
                for c in ari.channels.list():
                    if c.name.startswith(caller.name.rsplit(";", 1)[0]):
                        try:
                            c.hangup()
                        except vk.ARIError:
                            pass
            for b in ari.bridges.list():          # the bridge "Move to bridge" made for our call
                if b.id in moved:
                    try:
                        b.destroy()
                    except vk.ARIError:
                        pass
            cleanup(ari)
            ari.close()
