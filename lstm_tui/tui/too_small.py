"""What the debugger shows in a terminal too small for its panes.

Below ``MIN_WIDTH`` × ``MIN_HEIGHT`` the seven panes, explain, timeline and
footer share so few cells that none of them can show a whole number: the
screen would be title rules, ellipses and half a footer. The debugger
screen then hides them (its ``-too-small`` class, see ``app.tcss``) and
shows two lines instead: the status line, which still says where the
debugger stands (``t = 3 of 0…25``), and this one-line marker saying how much
room the panes need. Keys keep working meanwhile; enlarging the terminal
brings everything back at the same step.
"""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget

from .catalogue import tr

#: The smallest terminal the panes are drawn in: at 40×10 every pane still
#: shows at least one value and the status line its layer and step.
MIN_WIDTH = 40
MIN_HEIGHT = 10


def too_small(size: Size) -> bool:
    """True when a terminal of ``size`` cannot show the panes."""
    return size.width < MIN_WIDTH or size.height < MIN_HEIGHT


class TooSmall(Widget):
    """``terminal too small: need at least 40×10``, or as much of it as fits."""

    DEFAULT_CSS = """
    TooSmall {
        height: 1fr;
        color: $warning;
        text-style: bold;
    }
    """

    def render(self) -> Content:
        need = f"{MIN_WIDTH}×{MIN_HEIGHT}"
        # One line, never cut mid-word: the longest spelling that fits.
        for text in (tr("terminal too small: need at least {need}", need=need),
                     tr("too small: need {need}", need=need), tr("need {need}", need=need), need):
            if len(text) <= self.size.width:
                return Content(text)
        return Content("")
