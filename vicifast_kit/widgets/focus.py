"""FocusReturn: a widget with nothing to show that gives the keyboard back to the notebook after a click
on one of the kit's buttons (so Shift+Enter runs the next cell at once, see focus.js)."""

from __future__ import annotations

from pathlib import Path

import anywidget

#: The page's code (a plain function; the audio widgets' module includes it too).
FOCUS_JS = (Path(__file__).parent / "focus.js").read_text(encoding="utf-8")


class FocusReturn(anywidget.AnyWidget):
    """Invisible; once in the page, clicks on the kit's widget buttons give the focus back to the notebook."""

    _esm = FOCUS_JS + "\nexport default { render() { installFocusReturn(); } };\n"

    def __init__(self) -> None:
        """An invisible widget (no room taken in the layout)."""
        import ipywidgets as W
        super().__init__(layout=W.Layout(width="0px", height="0px", margin="0px", overflow="hidden", flex="0 0 0px"))
