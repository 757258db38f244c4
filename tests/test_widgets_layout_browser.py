"""The Dashboard's layout in a real browser: JupyterLab + Debian's Chromium (Playwright), two live calls.

Shown at 1280 px (the notebook's full width) and in a narrow panel (~700 px), the page's DOM must
have no clipped control: every button, dropdown, input and table header inside a widget shows its
whole text and lies inside its widget's box; the channels table does not scroll sideways; one row per
call by default (a Local call's ``;2``, its ``;1`` on demand), and a channel's ``;1``/``;2`` ending
stays visible (the middle of a long name is what gets elided).

Screenshots go to the test's tmp dir; with VICIFAST_UPDATE_SCREENSHOT=1 they also refresh
docs/dashboard-1280.png and docs/dashboard-narrow.png.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import vicifast_kit as vk
from vicifast_kit.lab.simulate import simulate_caller

from browser_helpers import ROOT, jupyterlab, notebook, requires_chromium  # noqa: F401
from browser_helpers import (chromium_page, dismiss_news, end_calls, open_and_run, our_half, wait_for_app,
                             wait_for_clock_tick)
from client_helpers import cleanup, unique_app

pytestmark = requires_chromium
SCREENSHOTS = {"1280": ROOT / "docs" / "dashboard-1280.png", "narrow": ROOT / "docs" / "dashboard-narrow.png"}

LAYOUT_PROBLEMS = r"""
() => {
  const out = [];
  const label = el => (el.innerText || el.value || el.getAttribute('title') || el.tagName).trim().slice(0, 40);
  const font = el => { const s = getComputedStyle(el); return `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`; };
  const ctx = document.createElement('canvas').getContext('2d');
  const widgets = [...document.querySelectorAll('.vk-widget')];
  if (!widgets.length) return ['no .vk-widget in the page'];
  for (const w of widgets) {
    const box = w.getBoundingClientRect();
    for (const el of w.querySelectorAll('button, select, input, th')) {
      if (!el.getClientRects().length) continue;                  // not displayed
      const r = el.getBoundingClientRect();
      if (el.scrollWidth > el.clientWidth + 1)
        out.push(`${el.tagName} "${label(el)}" is clipped: ${el.scrollWidth} px of text in ${el.clientWidth} px`);
      if (el.tagName === 'SELECT' && el.selectedIndex >= 0) {      // a select clips its text without saying so
        ctx.font = font(el);
        const s = getComputedStyle(el);
        const room = el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
        const need = ctx.measureText(el.options[el.selectedIndex].text).width;
        if (need > room + 1) out.push(`select "${label(el)}" is clipped: ${need | 0} px of text in ${room | 0} px`);
      }
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        out.push(`${el.tagName} "${label(el)}" lies outside its widget (${w.className.match(/vk-[\w-]+/g)})`);
    }
    for (const s of w.querySelectorAll('.vk-scroll'))
      if (s.scrollWidth > s.clientWidth + 1)
        out.push(`a table in ${w.className.match(/vk-[\w-]+/g)} scrolls sideways: ${s.scrollWidth} > ${s.clientWidth}`);
  }
  return out;
}
"""

#: The endings of the channel names as the eye sees them: the text of each name cell's visible end.
VISIBLE_ENDINGS = r"""
() => [...document.querySelectorAll('.vk-channels tr[data-channel] td:nth-child(2)')].map(td => {
  const tail = td.querySelector('.vk-tail') || td;
  const t = tail.getBoundingClientRect(), c = td.getBoundingClientRect();
  const shown = t.right <= c.right + 1 && t.left >= c.left - 1 && tail.scrollWidth <= tail.clientWidth + 1;
  return {text: td.innerText.trim(), tail: tail.innerText.trim(), shown, title: td.getAttribute('title')};
})
"""


def check_layout(page, dash, tmp: Path, name: str, endings: set[str]) -> dict:
    """Screenshot the dashboard (tmp dir; docs/ when asked) and assert that nothing in it is clipped."""
    wait_for_clock_tick(page)                         # a render after everything before it
    width = dash.evaluate("el => el.getBoundingClientRect().width")
    shot = tmp / f"dashboard-{name}.png"
    dash.screenshot(path=str(shot))
    print(f"{name}: the dashboard is {width:.0f} px wide; screenshot {shot}")
    if os.environ.get("VICIFAST_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOTS[name])
    problems = page.evaluate(LAYOUT_PROBLEMS)
    assert problems == [], f"at {name} ({width:.0f} px):\n" + "\n".join(problems)
    names = page.evaluate(VISIBLE_ENDINGS)
    hidden = [n for n in names if not n["shown"]]
    assert not hidden, f"at {name}: the end of these channel names is cut: {hidden}"
    assert {n["tail"][-2:] for n in names} >= endings, f"at {name}: {names}"
    assert all(n["title"] and n["title"].split("\n")[0].endswith(n["tail"]) for n in names), names   # full name on hover
    return {"width": width, "shot": shot}


def test_dashboard_reads_well_at_1280_px_and_in_a_narrow_panel(jupyterlab):
    base, token, tmp = jupyterlab
    app = unique_app("layout")
    (tmp / "layout.ipynb").write_text(json.dumps(notebook([f"import vicifast_kit as vk\nari = vk.connect(app={app!r})\nari.dashboard()"])))
    ari = vk.connect(app=unique_app("layout-test"))        # the test's own client: places and ends the calls
    callers, bridge = [], None
    try:
        with chromium_page(tmp, {"width": 1280, "height": 1500}) as page:
            dash = page.locator(".vk-dashboard")
            open_and_run(page, base, token, "layout.ipynb", 1, dash, hide_files=True)
            wait_for_app(ari, app)
            # Two callers, one after the other; the newer one (the one the control follows) answered and in a bridge.
            ours = []
            for _ in range(2):
                callers.append(simulate_caller(ari, app=app, duration=60))
                ours.append(our_half(ari, callers[-1]))
            newest = ours[-1]
            ari.channels.answer(newest.id)
            bridge = ari.bridges.create(type="mixing", name="layout-room")
            bridge.add_channel(channel=newest.id)
            for c in ours:                                      # one row per call: the half in the app
                dash.locator(f"tr[data-channel='{c.id}']").wait_for(timeout=6_000)
            for c in callers:                                   # the other half (;1) is not a row of its own
                assert dash.locator(f"tr[data-channel='{c.id}']").count() == 0
            page.wait_for_function(
                "id => { const r = document.querySelector(`tr[data-channel='${id}']`); "
                "return r && r.innerText.includes('Up') && r.innerText.includes('bridge'); }",
                arg=newest.id, timeout=6_000)
            dash.locator(".vk-bridges tbody tr").first.wait_for(timeout=6_000)
            dash.locator(".vk-callflow svg text", has_text="ChannelEnteredBridge").first.wait_for(timeout=6_000)
            dismiss_news(page)
            wide = check_layout(page, dash, tmp, "1280", {";2"})
            assert wide["width"] > 1000
            # The two columns side by side at this width: the control is right of the channels.
            ch_box = dash.locator(".vk-channels").bounding_box()
            ctl_box = dash.locator(".vk-control").bounding_box()
            assert ctl_box["x"] >= ch_box["x"] + ch_box["width"] - 1

            # Both halves on demand (the button), then a narrow panel: the notebook at ~700 px (the page made
            # narrower; the panel follows).
            dash.locator(".vk-channels button", has_text="Both halves").click()
            for c in callers:
                dash.locator(f"tr[data-channel='{c.id}']").wait_for(timeout=6_000)
            page.set_viewport_size({"width": 880, "height": 2600})
            page.wait_for_function("() => document.querySelector('.vk-dashboard').getBoundingClientRect().width < 760")
            narrow = check_layout(page, dash, tmp, "narrow", {";1", ";2"})
            assert 600 <= narrow["width"] <= 760, narrow
    finally:
        end_calls(ari, callers)
        if bridge is not None:
            with contextlib.suppress(vk.ARIError):
                bridge.destroy()
        cleanup(ari)
        ari.close()
