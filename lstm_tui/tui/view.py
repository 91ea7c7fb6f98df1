"""Widgets that show the debugger's one view value.

The debugger screen holds what is shown as one frozen value, a
``debug.session.View`` (trace, other run, which run, layer, step, unit),
clamped once by its constructor, and hands it to every widget that shows
it with ``data_bind``: a widget gets the whole position in one assignment,
so it can never hold one trace with another trace's step, and never needs
to clamp again. Each such widget declares one reactive::

    view: reactive[View | None] = reactive(None, repaint=False)

and mixes in ``ShowsView``, which reads the fields of the view as
attributes (``trace``, ``layer_index``, ``t``, ``unit``, ``other``,
``run``) and redraws once per new view (``_view_changed``).

The first view arrives when the binding is made, before the widget is
mounted: that first redraw waits for the next turn of the widget's message
queue. Every later view is drawn at once, in the frame it belongs to, so a
key press costs one frame.
"""

from __future__ import annotations

from ..core.trace import Layer, Trace
from ..debug.session import View


def step_only(old: View | None, new: View | None) -> bool:
    """Whether ``new`` differs from ``old`` in its step alone (or not at all)."""
    return (old is not None and new is not None and old.trace is new.trace and old.other is new.other
            and old.run == new.run and old.layer == new.layer and old.unit == new.unit)


class ShowsView:
    """Mixin for a Textual widget with a ``view`` reactive bound to the
    debugger screen's: the view's fields as read-only attributes, and one
    redraw per view. A widget defines ``_redraw_view(old, new)`` (``old``
    None: draw everything) and calls ``_view_changed`` from ``watch_view``
    and wherever else it must draw again (a resize)."""

    _view_drawn = False
    _view_pending = False

    @property
    def _shown(self) -> View | None:
        return self.view  # type: ignore[attr-defined]

    @property
    def trace(self) -> Trace | None:
        view = self._shown
        return None if view is None else view.trace

    @property
    def other(self) -> Trace | None:
        view = self._shown
        return None if view is None else view.other

    @property
    def run(self) -> str:
        view = self._shown
        return "a" if view is None else view.run

    @property
    def layer_index(self) -> int:
        view = self._shown
        return 0 if view is None else view.layer

    @property
    def t(self) -> int:
        view = self._shown
        return 0 if view is None else view.t

    @property
    def unit(self) -> int:
        view = self._shown
        return 0 if view is None else view.unit

    def _layer(self) -> Layer | None:
        """The layer shown (None before the first view)."""
        view = self._shown
        return None if view is None else view.trace.layers[view.layer]

    def _redraw_view(self, old: View | None = None, new: View | None = None) -> None:
        raise NotImplementedError

    def _view_changed(self, old: View | None = None, new: View | None = None) -> None:
        if self._view_drawn and self.is_mounted:  # type: ignore[attr-defined]
            self._redraw_view(old, new)
        elif not self._view_pending:
            self._view_pending = True
            self.call_later(self._first_draw)  # type: ignore[attr-defined]

    def _first_draw(self) -> None:
        self._view_pending = False
        self._view_drawn = True
        self._redraw_view()
