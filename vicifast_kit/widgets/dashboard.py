"""Dashboard: channels, bridges, call control, the call flow, the event log and the wire together."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Iterable

import ipywidgets as W

from .base import LiveWidget, show_html
from .bridges import BridgesView
from .callflow import CallFlow
from .channels import ChannelsTable
from .control import CallControl
from .calls import calls, is_kit
from .eventlog import NOISY, EventLog
from .focus import FocusReturn
from .listen import Listen
from .model import LiveModel
from .style import CSS, esc, plural
from .wireview import Wire

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ARIClient


class Dashboard(LiveWidget):
    """Everything at once, sharing one model: the control and the call flow follow the same channel.

    One row per call (``legs=True``: each half of a Local call), the kit's own channels and bridges
    left out (``kit=True`` shows them), noisy event types folded in the event log (``fold``).
    """

    def __init__(self, ari: "ARIClient", *, poll: float | None = 2.0, legs: bool = False, kit: bool = False,
                 fold: Iterable[str] = NOISY) -> None:
        model = LiveModel(ari, poll=poll)
        self.header = W.HTML()
        self.header.add_class("vk-header")
        self.channels = ChannelsTable(ari, model=model, legs=legs, kit=kit)
        self.bridges = BridgesView(ari, model=model, kit=kit)
        self.channels.kit_button.observe(lambda c: setattr(self.bridges, "kit", c["new"]) or self.bridges.mark(), "value")
        self.control = CallControl(ari, model=model)
        self.events = EventLog(ari, fold=fold)
        self.callflow = CallFlow(ari)
        #: Every request and event as ARI carries it (a panel under the events, closed until opened).
        self.wire = Wire(ari)
        self.wire_panel = W.Accordion(children=[self.wire], selected_index=None, layout=W.Layout(width="100%"))
        self.wire_panel.set_title(0, "On the wire: requests and events as ARI carries them")
        self.wire.sending = False              # its rows go to the page while the panel is open
        self.wire_panel.observe(self._on_wire_panel, "selected_index")
        #: The Listen widget of the channel picked in the control (None until "Listen" is pressed).
        self.listen: Listen | None = None
        self.listen_button = W.Button(description="Listen", icon="headphones", tooltip=(
            "Hear the channel picked in Call control in this page (both sides, as a supervisor would)"),
            layout=W.Layout(width="auto"))
        self.listen_button.add_class("vk-listen-button")
        self.listen_button.on_click(lambda _b: self.toggle_listen())
        self.listen_slot = W.VBox(layout=W.Layout(margin="4px 0"))
        left = W.VBox([self.channels, self.bridges, self.callflow], layout=W.Layout(flex="1.7 1 0", min_width="0"))
        right = W.VBox([self.control, W.HBox([self.listen_button]), self.listen_slot, self.events, self.wire_panel],
                       layout=W.Layout(flex="1 1 0", min_width="0", margin="0 0 0 12px"))
        super().__init__(ari, model=model, name="dashboard", tick=1.0,
                         children=[self.header, W.HBox([left, right], layout=W.Layout(width="100%")), FocusReturn()],
                         layout=W.Layout(width="100%", padding="6px"))
        self._own_model = True
        self.add_class("vk-dashboard")
        self.control.observe(self._on_target, "channel_id")
        self._on_target({"new": self.control.channel_id})
        self.mark()

    def _on_wire_panel(self, change: dict) -> None:
        self.wire.sending = change["new"] == 0
        self.wire.mark()

    def _on_target(self, change: dict) -> None:
        cid = change["new"] or None
        self.callflow.follow(cid)
        self.channels.select(cid)

    def toggle_listen(self, channel: Any = None) -> "Listen | None":
        """Listen to `channel` (default: the one picked in Call control) in the page; again: stop listening."""
        with self._apply_lock:
            if self.listen is not None:
                old, self.listen = self.listen, None
                self.listen_slot.children = ()
                self.listen_button.description = "Listen"
                old.close()
                if channel is None:
                    return None
            target = channel or self.control.channel_id
            if not target:
                self.listen_button.tooltip = "Pick a channel in Call control first."
                return None
            self.listen = Listen(self.ari, target)
            self.listen_slot.children = (self.listen,)
            self.listen_button.description = "Stop listening"
            return self.listen

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        """The live widget for Jupyter, with a still of it (text/html) for views where no widget runs."""
        data = super()._repr_mimebundle_(**kwargs)
        if data is not None and not self.closed:
            data["text/html"] = self.still()
        return data

    def still(self) -> str:
        """The Dashboard as static HTML (for views where no widget runs): what it is, and what it counted then."""
        shown, _hidden = calls(self.model.channels(), self.model.bridges())
        ours = sum(c["in_app"] for c in shown)
        return ('<div style="font:13px system-ui,sans-serif;border:1px solid #cbd5e1;border-radius:6px;'
                'padding:8px 10px;max-width:760px"><div style="background:#0f172a;color:#fff;font-weight:700;'
                'padding:4px 8px;border-radius:4px">VICIfast · ARI live — app ' + esc(self.ari.app) + '</div>'
                '<p style="margin:6px 0 2px;color:#334155">Here, in JupyterLab, the live Dashboard: the calls '
                '(one row each), the bridges, Call control, the call flow, the events and the wire, updating by '
                'themselves. Run the notebook to see it.</p><p style="margin:2px 0;color:#64748b">When it was '
                f'shown: {plural(ours, "call")} in the app, {plural(len(shown), "call")} in the lab.</p></div>')

    @property
    def parts(self) -> list[LiveWidget]:
        """The widgets on the dashboard."""
        return [self.channels, self.bridges, self.control, self.events, self.callflow, self.wire]

    def snapshot(self) -> dict:
        """Every part's snapshot, by name (channels, bridges, control, events, callflow, wire)."""
        return {"app": self.ari.app, "connected": self.ari.connected, "channels": self.channels.snapshot(),
                "bridges": self.bridges.snapshot(), "control": self.control.snapshot(),
                "events": self.events.snapshot(), "callflow": self.callflow.snapshot(),
                "wire": self.wire.snapshot(),
                "listen": self.listen.snapshot() if self.listen is not None else None}

    def render(self) -> bool:
        up = self.ari.connected
        dot = "#16a34a" if up else "#dc2626"
        shown, _hidden = calls(self.model.channels(), self.model.bridges(), kit=self.channels.kit)
        bridges = [b for b in self.model.bridges() if self.channels.kit or not is_kit(b)]
        value = (CSS + '<div class="vk-card" style="display:flex;align-items:center;gap:14px;padding:6px 10px;'
                 'margin-bottom:8px;background:#0f172a;color:#e2e8f0;border-radius:6px">'
                 '<span style="font-weight:700;font-size:14px;color:#fff">VICIfast · ARI live</span>'
                 f'<span>app <b class="vk-mono" style="color:#fff">{esc(self.ari.app)}</b></span>'
                 f'<span><span style="color:{dot}">●</span> {"connected" if up else "reconnecting…"} to '
                 f'<span class="vk-mono">{esc(self.ari.url)}</span></span>'
                 f'<span style="margin-left:auto">{plural(len(shown), "call")} · '
                 f'{sum(c["in_app"] for c in shown)} in the app · {plural(len(bridges), "bridge")} · '
                 f'{time.strftime("%H:%M:%S")}</span></div>')
        return show_html(self.header, value)

    def close(self) -> None:
        """Close every part (and the Listen widget), then the shared model."""
        if self.listen is not None:
            self.listen.close()
            self.listen = None
        for part in self.parts:
            part.close()
        super().close()


def dashboard(ari: "ARIClient", **kwargs: Any) -> Dashboard:
    """The one-liner for notebooks: ``vk.widgets.dashboard(ari)`` (show it as a cell's last line)."""
    return Dashboard(ari, **kwargs)
