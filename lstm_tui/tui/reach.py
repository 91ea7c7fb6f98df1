"""Reaching the unit that matters, and picking up where one was.

The debugger screen's keys for both (``Reach``, mixed into it):

- ``u`` asks for a unit by number (``GoToUnitScreen``).
- ``L`` goes to the unit with the largest |value| of the focused pane at the
  step, and pressed again at the same place to the next largest, and so on,
  round to the largest again (the ranking is ``debug.ranking.by_size``, one
  row's sort per press).
- ``s`` cycles the unit panes' sort: unit order, |value| at t, |B − A| at t
  (only when two runs are compared), how often the vector is saturated
  (``debug.ranking``; a long layer's fractions are found in a worker). Every
  unit pane sorts by its own vector; x_t stays in input order. In a sorted
  pane ↑ ↓ move by row, to the unit shown above or below, as a sorted list
  in any program does; elsewhere they move by unit number.
- ``S`` saves the trace shown to a file (a live recording, an edited run,
  a trace from a file) — in a comparison run B, the new run, unless A is
  shown — through ``core.trace.save``: written whole or not at all, and an
  existing file is replaced only after a second Enter.
- ``ctrl+o`` goes back to the trace shown before the last one opened
  (``o``, a live pass, an edited run), where it stood: layer, step, unit
  and the comparison. Opening a trace remembers the view (``remember``).

Breakpoints and watches belong to the session and stay when another trace
opens (``DebugSession.forget_trace``): of the same network, all of them; of
another, the breakpoints still (a condition that does not fit the new
layers says why in its list) and the watches on units the new trace has.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message as TextualMessage

from ..core.text import Message
from ..core.trace import Trace, TraceError
from ..core.trace import save as save_trace
from ..core.vocabulary import symbol
from ..debug import ranking
from ..debug.session import Refusal, View
from .catalogue import tr
from .files import Placeholder, error_line
from .status import StatusNote, source_label
from .vector_pane import VectorPane

if TYPE_CHECKING:
    from ..core.trace import Layer

#: The actions of this module's keys (the screen's ``why_not`` asks ``Reach``).
ACTIONS = ("goto_unit", "largest", "sort", "save_trace", "back")
#: How many views ``ctrl+o`` can go back through (each holds its traces).
HISTORY = 16


@dataclass
class SaturationScanned(TextualMessage):
    """The saturation fractions of ``layer`` are known now (or its scan
    failed): the sorted panes sort again."""

    layer: Layer


class Reach:
    """The debugger screen's keys for reaching a unit, and for saving and
    going back (mixed into ``DebuggerScreen``; everything it reads — the
    view, the session, ``go``, ``note`` — is the screen's)."""

    if TYPE_CHECKING:  # the screen's, which this is mixed into
        note: StatusNote | None

    #: (trace, other, run, layer, t, vector) of the last ``L``, its rank
    #: (from 0) and the unit it went to; None before any.
    _ranked: tuple[tuple[Any, ...], int, int] | None = None

    @property
    def _saturation_scans(self) -> weakref.WeakSet[Layer]:
        """Layers whose saturation is being scanned for (one worker each)."""
        found = self.__dict__.get("_scanning_saturation")
        if found is None:
            found = self.__dict__["_scanning_saturation"] = weakref.WeakSet()
        return found

    @property
    def history(self) -> list[View]:
        """The views ``ctrl+o`` goes back to, the latest last."""
        found = self.__dict__.get("_history")
        if found is None:
            found = self.__dict__["_history"] = []
        return found

    # -- refusals --------------------------------------------------------------

    def sorted_pane(self) -> VectorPane | None:
        """The focused pane when it is a sorted unit pane (↑ ↓ then move by
        row), else None."""
        pane = self.focused  # type: ignore[attr-defined]
        if isinstance(pane, VectorPane) and pane.vector != "x" and pane.order() is not None:
            return pane
        return None

    def reach_why_not(self, action: str, parameters: tuple[object, ...]) -> Refusal | None:
        """Why one of this module's keys (or ↑ ↓ in a sorted pane) cannot act now."""
        view: View = self.view  # type: ignore[attr-defined]
        units = view.trace.layers[view.layer].units
        if action == "goto_unit":
            if units == 1:
                return Refusal(Message("this layer has one unit"))
        elif action == "largest":
            pane = self.focused  # type: ignore[attr-defined]
            if not isinstance(pane, VectorPane):
                return Refusal(Message("L ranks the focused pane's units: Tab to f, i, ĉ, c, o or h"))
            if pane.vector == "x":
                return Refusal(Message("x_t has no units: L ranks f, i, ĉ, c, o or h"))
            if pane.values().shape[0] == 0:
                return Refusal(Message("run B has no step {t}", t=view.t))
        elif action in ("save_trace", "sort") and isinstance(view.trace, Placeholder):
            return Refusal(Message("no trace on screen"))
        elif action == "back":
            if not self.history:
                return Refusal(Message("no trace to go back to: o opens another"))
        elif action == "unit":
            pane = self.sorted_pane()
            if pane is not None:
                delta = parameters[0] if parameters and isinstance(parameters[0], int) else 0
                row = pane.row_of(view.unit) + delta
                if row < 0:
                    return Refusal(Message("already at the top of the sorted pane"))
                if row >= units:
                    return Refusal(Message("already at the bottom of the sorted pane"))
        return None

    # -- u: go to a unit --------------------------------------------------------

    def action_goto_unit(self) -> None:
        view: View = self.view  # type: ignore[attr-defined]

        def go(unit: int | None) -> None:
            if unit is not None:
                self.go(unit=unit)  # type: ignore[attr-defined]

        from .reach_dialogs import GoToUnitScreen

        units = view.trace.layers[view.layer].units
        self.app.push_screen(GoToUnitScreen(units, view.unit), go)  # type: ignore[attr-defined]

    # -- ↑ ↓ in a sorted pane ------------------------------------------------------

    def unit_by_row(self, pane: VectorPane, delta: int) -> None:
        """Select the unit ``delta`` rows below the selected one in ``pane``'s order."""
        view: View = self.view  # type: ignore[attr-defined]
        row = max(0, min(pane.row_of(view.unit) + delta, pane.values().shape[0] - 1))
        self.go(unit=pane.unit_at(row))  # type: ignore[attr-defined]

    # -- L: the largest |value| ------------------------------------------------------

    def action_largest(self) -> None:
        pane = self.focused  # type: ignore[attr-defined]
        if not isinstance(pane, VectorPane) or pane.vector == "x":
            return
        view: View = self.view  # type: ignore[attr-defined]
        order = ranking.by_size(pane.values())
        if order.shape[0] == 0:
            return
        key = (view.trace, view.other, view.run, view.layer, view.t, pane.vector)
        last = self._ranked
        # Again at the same place, from the unit it went to: the next one.
        nth = (last[1] + 1) % order.shape[0] if last is not None and last[0] == key and last[2] == view.unit \
            else 0
        unit = int(order[nth])
        self._ranked = (key, nth, unit)
        self.go(unit=unit)  # type: ignore[attr-defined]
        shown = symbol(pane.vector)
        if view.other is not None and view.run == "delta":
            shown = "Δ" + shown
        self.note = StatusNote(ranking.ranked_note(unit, nth + 1, order.shape[0], shown, view.t),
                               t=view.t, layer=view.layer)

    # -- s: sort the panes -------------------------------------------------------------

    def action_sort(self) -> None:
        view: View = self.view  # type: ignore[attr-defined]
        self.sort = ranking.next_sort(self.sort, view.other is not None)  # type: ignore[has-type]

    def watch_sort(self, sort: str) -> None:
        view: View = self.view  # type: ignore[attr-defined]
        if sort == "saturation" and view is not None:
            self.want_saturation(view.layer)

    def on_vector_pane_saturation_wanted(self, message: VectorPane.SaturationWanted) -> None:
        message.stop()
        self.want_saturation(message.layer)

    def want_saturation(self, k: int) -> None:
        """Find the saturation fractions of layer ``k`` of the run shown in a
        worker, if they are not known and too costly to find at once; the
        panes sort when they arrive (``SaturationScanned``)."""
        view: View = self.view  # type: ignore[attr-defined]
        if k >= len(view.trace.layers):
            return
        from ..debug.runs import shown_layer

        layer = shown_layer(view.trace, view.other, view.run, k)
        if not ranking.saturation_pending(layer):
            return
        scans = self._saturation_scans
        if layer in scans:
            return
        scans.add(layer)
        self._scan_saturation(layer)

    @work(thread=True, exit_on_error=False, group="saturation", description="Counting saturated steps")
    def _scan_saturation(self, layer: Layer) -> None:
        """In a thread: the fractions of ``layer``, then a message to the screen."""
        try:
            ranking.scan_saturation(layer)
        finally:
            self.post_message(SaturationScanned(layer))  # type: ignore[attr-defined]

    def on_saturation_scanned(self, message: SaturationScanned) -> None:
        message.stop()
        self._saturation_scans.discard(message.layer)
        for pane in self.query(VectorPane):  # type: ignore[attr-defined]
            pane._invalidate()

    # -- S: save the trace shown ---------------------------------------------------------

    def trace_to_save(self) -> tuple[Trace, str]:
        """The trace ``S`` saves, and which run it is ("A" or "B"): in a
        comparison B (the new run: the edit, the ``--diff``) unless A is shown."""
        view: View = self.view  # type: ignore[attr-defined]
        if view.other is not None and view.run != "a":
            return view.other, "B"
        return view.trace, "A"

    def action_save_trace(self) -> None:
        trace, run = self.trace_to_save()
        view: View = self.view  # type: ignore[attr-defined]

        def chosen(answer: tuple[str, bool] | None) -> None:
            if answer is not None:
                self.write_trace(trace, *answer)

        from .reach_dialogs import SaveTraceScreen

        label = source_label(trace)
        what = tr("run {run}: {trace}", run=run, trace=label) if view.other is not None else label
        self.app.push_screen(SaveTraceScreen(what), chosen)  # type: ignore[attr-defined]

    @work(thread=True, exit_on_error=False, group="save-trace", description="Saving the trace")
    def write_trace(self, trace: Trace, path: str, overwrite: bool) -> None:
        """Write ``trace`` to ``path`` off the screen's thread (a long trace
        takes seconds), atomically; the outcome is a notice."""
        app = self.app  # type: ignore[attr-defined]
        try:
            written = save_trace(trace, path, overwrite=overwrite)
        except (TraceError, OSError) as e:
            app.call_from_thread(self.notify, error_line(e), title=tr("trace not saved"),  # type: ignore[attr-defined]
                                 severity="error", markup=False)
            return
        app.call_from_thread(self.notify, tr("written to {path}", path=written.absolute()),  # type: ignore[attr-defined]
                             title=tr("trace saved"), markup=False)

    # -- ctrl+o: back ------------------------------------------------------------------

    def on_mount(self) -> None:
        # Textual calls every class's own handler: the screen's runs too.
        self.watch(self, "view", self._edit_shown, init=False)  # type: ignore[attr-defined]

    def _edit_shown(self, old: View | None, new: View) -> None:
        """An edited run opens as run B of the trace shown (its meta says
        "edit"), not through a new trace: ``ctrl+o`` goes back to before it
        too. A run B loaded again after its file changed is no edit."""
        if old is not None and new.other is not None and new.other is not old.other \
                and "edit" in new.other.meta:
            self.remember(old)

    def remember(self, view: View | None = None) -> None:
        """Keep ``view`` (default: the view shown now) for ``ctrl+o``:
        called before another trace replaces it (``o``, a live pass) and
        when an edited run opens."""
        if view is None:
            view = self.view  # type: ignore[attr-defined]
        if view is None or isinstance(view.trace, Placeholder):
            return
        history = self.history
        history.append(view)
        del history[:-HISTORY]

    def action_back(self) -> None:
        history = self.history
        if not history:
            return
        view = history.pop()
        self._show(view)  # type: ignore[attr-defined]
        self.note = StatusNote(Message("back at t = {t}, unit {unit} of {trace}", t=view.t, unit=view.unit,
                                       trace=source_label(view.trace)), t=view.t, layer=view.layer)
