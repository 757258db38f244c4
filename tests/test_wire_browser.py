"""vk.widgets.Wire in a real browser (JupyterLab + Debian's Chromium): rows appear live during a call, a row opens."""

from __future__ import annotations

import json
import os
import shutil

import vicifast_kit as vk
from vicifast_kit.lab.simulate import simulate_caller

from browser_helpers import ROOT, jupyterlab, notebook, playwright_api, requires_chromium  # noqa: F401
from browser_helpers import ARGS, CHROMIUM, dismiss_news, open_and_run, report_failure
from client_helpers import cleanup, unique_app, wait_until

# The README's picture; refreshed only when asked (VICIFAST_UPDATE_SCREENSHOT=1), like the Dashboard's.
SCREENSHOT = ROOT / "docs" / "wire.png"
pytestmark = requires_chromium


def test_the_wire_widget_fills_live_and_a_row_opens_to_its_json(jupyterlab):
    base, token, tmp = jupyterlab
    app = unique_app("wire-browser")
    cells = [f"import vicifast_kit as vk\nari = vk.connect(app={app!r})\nwire = vk.widgets.Wire(ari)\nwire",
             "call = ari.wait_for('StasisStart', timeout=60).channel\ncall.answer()\n"
             "digits = call.collect_digits(max_digits=2, timeout=20)\nprint('digits', digits)",
             "wire.flush()\nprint('opened', [e['type'] for e in wire.opened])"]
    (tmp / "wire.ipynb").write_text(json.dumps(notebook(cells)))
    ari = vk.connect(app=unique_app("wire-browser-test"))       # the test's own client: it places the call
    caller = None
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        try:
            widget = page.locator(".vk-wire")
            open_and_run(page, base, token, "wire.ipynb", 2, widget, hide_files=True)
            wait_until(lambda: any(a.name == app for a in ari.applications.list()), timeout=20)
            caller = simulate_caller(ari, dtmf="42", app=app, delay=0.5, say=None, duration=60)
            # The second cell is blocked in wait_for / collect_digits while these rows arrive.
            page.wait_for_function(
                "() => [...document.querySelectorAll('.vk-wire-row summary')].some(s => s.innerText.includes('via collect_digits'))",
                timeout=20_000)
            texts = widget.locator(".vk-wire-row > summary").all_inner_texts()
            assert any("StasisStart" in t for t in texts) and any("POST /channels/{channelId}/answer" in t for t in texts)
            assert "ChannelDtmfReceived" in texts[0]                           # newest first
            start = widget.locator(".vk-wire-row", has_text="StasisStart").first
            start.locator("summary").click()                                   # open the row
            start.locator("pre").wait_for(state="visible", timeout=5_000)
            assert '"type": "StasisStart"' in start.locator("pre").inner_text() and '"args"' in start.locator("pre").inner_text()
            ari.channels.list()
            caller_leg = next(c for c in ari.channels.list() if c.name.startswith(caller.name.rsplit(";", 1)[0]))
            caller_leg.hangup()                                                # newer rows arrive above it...
            page.wait_for_function(
                "() => [...document.querySelectorAll('.vk-wire-row summary')].some(s => s.innerText.includes('StasisEnd'))",
                timeout=10_000)
            assert widget.locator(".vk-wire-row[open]", has_text="StasisStart").count() == 1   # ...and it stays open
            dismiss_news(page)
            shot = tmp / "wire.png"
            widget.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
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
            cleanup(ari)
            ari.close()
