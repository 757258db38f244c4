"""Colours, small HTML helpers and the shared stylesheet of the widgets (no raw JSON anywhere)."""

from __future__ import annotations

import html
import time

STATE_COLOURS = {
    "Up": "#15803d", "Ring": "#b45309", "Ringing": "#b45309", "Dialing": "#1d4ed8", "Dialing Offhook": "#1d4ed8",
    "Pre-ring": "#b45309", "Down": "#6b7280", "Rsrvd": "#6b7280", "OffHook": "#6b7280", "Busy": "#b91c1c",
    "Mute": "#6b7280", "Unknown": "#6b7280",
}

CSS = """<style>
.vk-card{font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827}
.vk-title{font-weight:600;font-size:13px;color:#111827;margin:2px 0 6px}
.vk-title .vk-count{color:#6b7280;font-weight:400;margin-left:6px}
.vk-table{border-collapse:collapse;width:100%;font-size:12.5px}
.vk-table th{text-align:left;color:#6b7280;font-weight:500;border-bottom:1px solid #e5e7eb;padding:4px 8px;
 position:sticky;top:0;background:#f9fafb}
.vk-table td{padding:4px 8px;border-bottom:1px solid #f1f5f9;white-space:nowrap;overflow:hidden;
 text-overflow:ellipsis;max-width:220px}
.vk-table tr.vk-sel td{background:#eff6ff}
.vk-badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:11.5px;font-weight:600}
.vk-tag{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;margin-left:4px;
 background:#ede9fe;color:#5b21b6}
.vk-muted{color:#9ca3af}
.vk-mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
.vk-scroll{max-height:320px;overflow:auto;border:1px solid #e5e7eb;border-radius:6px;background:#fff}
.vk-empty{color:#9ca3af;padding:14px;text-align:center}
.vk-msg-ok{color:#15803d}.vk-msg-err{color:#b91c1c}
</style>"""


def esc(value: object) -> str:
    """HTML-escaped text."""
    return html.escape(str(value if value is not None else ""))


def badge(state: str, colour: str | None = None) -> str:
    """A coloured pill for a channel state."""
    colour = colour or STATE_COLOURS.get(state, "#6b7280")
    return f'<span class="vk-badge" style="background:{colour}">{esc(state or "?")}</span>'


def duration(since: float, now: float | None = None) -> str:
    """Seconds since `since` as m:ss (h:mm:ss past an hour)."""
    s = max(0, int((now or time.time()) - since))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def clock(t: float) -> str:
    """Local wall-clock time with milliseconds."""
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int((t % 1) * 1000):03d}"
