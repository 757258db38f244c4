"""A picture of a turn: the audio's level over time, with a lane for each kind of span."""

from __future__ import annotations

import html

import numpy as np

from .. import audio


class LevelPlot:
    """The level of audio over time as an SVG plot, with a lane for each kind of span (talk detected, prompt playing)."""

    def __init__(self, pcm: bytes, rate: int = 16000, spans: dict[str, list[tuple[float, float]]] | None = None,
                 *, title: str = "", window: float = 0.05, width: int = 640, height: int = 160) -> None:
        self.levels = [20 * float(np.log10(max(v, 1.0) / 32768)) for v in audio.levels(pcm, rate, window)]
        self.seconds = len(pcm) / 2 / rate
        self.spans = spans or {}
        self.title, self.window, self.width, self.height = title, window, width, height

    def _repr_svg_(self) -> str:
        """The plot as SVG (drawn by Jupyter and by a static view of the notebook): the level, then a lane per span kind."""
        lane, left = 14, 120
        w = self.width
        top, plot_h = 20, self.height - 40
        lanes_top = top + plot_h + 6
        h = lanes_top + lane * len(self.spans) + 18
        plot_w = w - left - 10
        seconds = max(self.seconds, 0.1)

        def x(t: float) -> float:
            return left + plot_w * max(0.0, min(t, seconds)) / seconds

        def y(db: float) -> float:
            return top + plot_h * (min(0.0, max(-80.0, db)) / -80.0)

        colours = ["#f4a261", "#e76f51", "#2a9d8f", "#8ab17d"]
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
                 f'font-size="10"><rect width="{w}" height="{h}" fill="white"/>',
                 f'<text x="{left}" y="12" font-size="11">{html.escape(self.title)}</text>']
        for db in (0, -20, -40, -60, -80):
            parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(db):.1f}" y2="{y(db):.1f}" '
                         f'stroke="#ddd"/><text x="{left - 36}" y="{y(db) + 3:.1f}">{db} dB</text>')
        for i, (name, spans) in enumerate(self.spans.items()):
            colour, y0 = colours[i % len(colours)], lanes_top + i * lane
            parts.append(f'<text x="4" y="{y0 + 10}">{html.escape(name)}</text>')
            for a, b in spans:
                parts.append(f'<rect x="{x(a):.1f}" y="{y0 + 2}" width="{max(1.0, x(b) - x(a)):.1f}" '
                             f'height="{lane - 4}" fill="{colour}"/>')
        step = 1 if seconds <= 12 else 2 if seconds <= 30 else 5
        for t in range(0, int(seconds) + 1, step):
            parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{h - 16}" stroke="#eee"/>'
                         f'<text x="{x(t) - 3:.1f}" y="{h - 4}">{t} s</text>')
        points = " ".join(f"{x((i + 0.5) * self.window):.1f},{y(db):.1f}" for i, db in enumerate(self.levels))
        parts.append(f'<polyline points="{points}" fill="none" stroke="#264653" stroke-width="1.2"/></svg>')
        return "".join(parts)

    def __repr__(self) -> str:
        return f"<LevelPlot {self.seconds:.1f} s {self.title!r}>"
