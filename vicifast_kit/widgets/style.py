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
.vk-table{border-collapse:collapse;width:100%;table-layout:fixed;font-size:12.5px}
.vk-table th{text-align:left;color:#6b7280;font-weight:500;border-bottom:1px solid #e5e7eb;padding:4px 8px;
 position:sticky;top:0;z-index:1;background:#f9fafb;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.vk-table td{padding:4px 8px;border-bottom:1px solid #f1f5f9;white-space:nowrap;overflow:hidden;
 text-overflow:ellipsis;vertical-align:middle}
.vk-table td.vk-wrap{white-space:normal;overflow-wrap:anywhere}
.vk-table.vk-tight th,.vk-table.vk-tight td{padding:4px 5px}
.vk-table tr.vk-sel td{background:#eff6ff}
.vk-mid{display:flex;min-width:0;max-width:100%;white-space:nowrap}
.vk-mid>.vk-head{overflow:hidden;text-overflow:ellipsis;min-width:0;flex:0 1 auto}
.vk-mid>.vk-tail{flex:0 0 auto}
.vk-badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:11.5px;font-weight:600;
 white-space:nowrap}
.vk-tag{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;margin-left:4px;
 background:#ede9fe;color:#5b21b6;white-space:nowrap}
.vk-muted{color:#9ca3af}
.vk-mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
.vk-scroll{max-height:320px;overflow:auto;border:1px solid #e5e7eb;border-radius:6px;background:#fff}
.vk-empty{color:#9ca3af;padding:14px;text-align:center}
.vk-msg-ok{color:#15803d}.vk-msg-err{color:#b91c1c}
.vk-widget{min-width:0;box-sizing:border-box}
.vk-widget .widget-html-content{line-height:1.35}
.vk-eventlog{container-type:inline-size}
.vk-eventlog col.vk-c-time{width:23%}.vk-eventlog col.vk-c-type{width:28%}
.vk-eventlog col.vk-c-about{width:23%}.vk-eventlog col.vk-c-detail{width:26%}
.vk-eventlog td.vk-time,.vk-eventlog td.vk-about{font-size:11px}
@container (max-width: 480px){
 .vk-eventlog .vk-ms{display:none}
 .vk-eventlog col.vk-c-time{width:17%}.vk-eventlog col.vk-c-type{width:28%}
 .vk-eventlog col.vk-c-about{width:26%}.vk-eventlog col.vk-c-detail{width:29%}
}
.vk-dashboard{container-type:inline-size}
@container (max-width: 980px){
 .vk-dashboard>.widget-hbox{flex-direction:column}
 .vk-dashboard>.widget-hbox>.widget-vbox{flex:0 0 auto!important;margin:0!important;width:100%}
 .vk-dashboard>.widget-hbox>.widget-vbox+.widget-vbox{margin-top:10px!important}
}
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


def split_tail(text: str) -> tuple[str, str]:
    """A long name as (head, tail): the tail is the part that tells names apart ("00000017;2" of a Local channel)."""
    n = len(text)
    if n <= 14:
        return text, ""
    for sep in "-/@ ":
        i = text.rfind(sep, n - 14)
        if i >= 0 and n - i - 1 >= 4:
            return text[:i + 1], text[i + 1:]
    return text[:-10], text[-10:]


def short(text: object, limit: int = 28) -> str:
    """Plain text no longer than limit, elided in the middle so its end stays ("Local/5551…00000017;2")."""
    text = str(text if text is not None else "")
    if len(text) <= limit:
        return text
    head, tail = split_tail(text)
    tail = tail[-(limit - 5):] if len(tail) > limit - 5 else tail
    return head[:max(1, limit - len(tail) - 1)] + "…" + tail


def mid(text: object, title: bool = True) -> str:
    """HTML for a name that the browser elides in the middle when it does not fit (its end always shows)."""
    text = str(text if text is not None else "")
    head, tail = split_tail(text)
    tip = f' title="{esc(text)}"' if title else ""
    return (f'<div class="vk-mid"{tip}><span class="vk-head">{esc(head)}</span>'
            f'<span class="vk-tail">{esc(tail)}</span></div>')


def colgroup(*widths: str) -> str:
    """The column widths of a fixed-layout table (so it never grows past its box); a width that is not a
    length ("vk-c-time") names a column class whose width the stylesheet sets."""
    return "<colgroup>" + "".join(f'<col style="width:{w}">' if w[:1].isdigit() else f'<col class="{w}">'
                                  for w in widths) + "</colgroup>"


def plural(n: int, one: str, many: str | None = None) -> str:
    """A count and its noun: 1 step, 2 steps."""
    return f"{n} {one if n == 1 else (many or one + 's')}"
