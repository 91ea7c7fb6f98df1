"""Redrawing a widget whose state arrives through several bound reactives.

A widget bound to the debugger screen's ``trace``, ``layer_index``, ``t``,
``unit``… gets its first values one reactive at a time, and a new trace
resets several of them together: redrawing on each would do the work once
per reactive. A key press, though, changes one reactive, and a redraw
deferred to later lands a frame late: every → would cost two frames.

So: until the first redraw has run, changes are coalesced into one deferred
redraw; after it, each change redraws at once, in the frame it belongs to.
"""

from __future__ import annotations

from typing import Any


class RedrawOnChange:
    """Mixin for a Textual widget: call ``_state_changed(*args)`` from its
    watchers, and define ``_redraw_state(*args)`` (its defaults must mean a
    full redraw: the coalesced first one passes none)."""

    _redrawn_once = False
    _redraw_pending = False

    def _redraw_state(self, *args: Any) -> None:
        raise NotImplementedError

    def _state_changed(self, *args: Any) -> None:
        if self._redrawn_once and self.is_mounted:  # type: ignore[attr-defined]
            self._redraw_state(*args)
        elif not self._redraw_pending:
            self._redraw_pending = True
            self.call_later(self._first_redraw)  # type: ignore[attr-defined]

    def _first_redraw(self) -> None:
        self._redraw_pending = False
        self._redrawn_once = True
        self._redraw_state()
