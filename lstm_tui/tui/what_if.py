"""What if (``e``): change a value at the step shown and see what follows.

``e`` asks for an edit in ``lstm-tui edit``'s syntax (``c[7]=0``, ``hold
h[7]=0``, ``W_f[3,5]=0``; several separated by ``;``), at the step, on the
layer shown; the selected unit fills the examples. The dialog checks the
text against the trace as it is submitted (``debug.edit.plan``): a mistake
keeps it open, with the column and a caret, as the breakpoint dialog does.

The edited run is computed by ``debug.edit`` (NumPy, from the stored
weights): at once for a trace the size of the screen's scans before their
first frame, else in a thread worker (a new edit or a new trace makes an
unfinished one's result moot: it is dropped). It opens as the diff view: A
is the trace shown, B the edited run, at the same step, unit and layer, and
the status line says what was edited. In a diff view ``e`` edits A again and
its run replaces B. A readout the trace cannot recompute (no ``readout/W``
stored) is left out of B, and a notice says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.widgets import Input, Label, Static
from textual.worker import get_current_worker

from ..core.trace import Trace
from ..debug.edit import EditError, EditPlan, plan
from ..debug.session import View
from ..errors import LstmTuiError
from .catalogue import say, tr
from .dialogs import _Dialog
from .files import Placeholder, error_line
from .status import StatusNote

if TYPE_CHECKING:
    from textual.worker import Worker

    from ..debug.session import DebugSession

#: Above this many values (steps × units, all layers) an edit re-runs in a
#: thread worker (the screen's ``BIG_TRACE``, for its scans, too).
INLINE_LIMIT = 1_000_000
#: The longest edit text the dialog takes.
MAX_LENGTH = 2000


class WhatIfScreen(_Dialog):
    """Ask for an edit at the step shown; dismiss with its ``EditPlan`` once
    it fits the trace (``check`` raises ``EditError`` otherwise, and the
    dialog shows where)."""

    def __init__(self, check: Callable[[str], EditPlan], t: int, layer: int, unit: int) -> None:
        super().__init__()
        self.check = check
        # Not ``layer``: a widget's CSS layer goes by that name.
        self.step, self.layer_index, self.selected = t, layer, unit

    def compose(self) -> ComposeResult:
        u = self.selected
        with Vertical() as box:
            box.border_title = tr("what if")
            yield Label(Content(tr("change a value at t = {t} on layer {k} and re-run what follows; Enter to "
                                   "run, Esc to cancel", t=self.step, k=self.layer_index)), classes="-hint")
            # The selected unit in the examples: the edit most people want.
            yield Label(Content(tr("e.g. c[{u}]=0   hold h[{u}]=0   x[0]=1   W_f[{u},0]=0   several: a; b", u=u)),
                        classes="-hint")
            yield Input(placeholder=f"c[{u}]=0", max_length=MAX_LENGTH, id="what-if-input")
            yield Static("", id="what-if-error", classes="-error")

    @on(Input.Submitted, "#what-if-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        if not text.strip():
            self.dismiss(None)
            return
        try:
            planned = self.check(text)
        except EditError as e:
            if e.column is None or e.source is None:
                self.query_one("#what-if-error", Static).update(Content(say(e.message)))
            else:
                self.show_error_at("what-if", e.message, e.column, e.source)
            return
        self.dismiss(planned)


@dataclass
class EditDone(TextualMessage):
    """An edit re-run in a worker ended: ``edited`` is B (None when it
    failed, and ``error`` says why) of ``trace`` edited by ``plan``."""

    trace: Trace
    plan: EditPlan
    edited: Trace | None
    error: str | None = None


class WhatIf:
    """The debugger screen's ``e`` (mixed into ``DebuggerScreen``:
    everything it reads — the view, the session, ``_show``, ``note``,
    ``_start_scans`` — is the screen's)."""

    if TYPE_CHECKING:  # the screen's, which this is mixed into
        view: View
        note: StatusNote | None
        app: Any
        session: DebugSession

        def _show(self, view: View) -> None: ...
        def _start_scans(self, health: bool = True) -> None: ...
        def _refresh_keys(self) -> None: ...
        def notify(self, *args: Any, **kwargs: Any) -> None: ...
        def run_worker(self, *args: Any, **kwargs: Any) -> Worker[Any]: ...

    def action_what_if(self) -> None:
        """Ask for an edit at the step shown (``WhatIfScreen``) and run it."""
        view = self.view
        trace, t, k = view.trace, view.t, view.layer
        if isinstance(trace, Placeholder):
            return

        def chosen(planned: EditPlan | None) -> None:
            if planned is not None and self.view.trace is trace:
                self.run_edit(trace, planned)

        # The screen cannot stop to ask whether to drop a readout it cannot
        # recompute: it leaves it out, and says so when B opens.
        check = partial(plan, trace, t, k, drop_readout=True)
        self.app.push_screen(WhatIfScreen(check, t, k, view.unit), chosen)

    def run_edit(self, trace: Trace, planned: EditPlan) -> None:
        """Re-run ``trace`` with ``planned``: at once when small, else in a
        thread worker (one at a time: a new edit cancels the last)."""
        size = sum(layer.steps * layer.units for layer in trace.layers)
        if size <= INLINE_LIMIT:
            self._edit_done(*_edit(trace, planned))
            return
        self.note = StatusNote(tr("what if: re-running from t = {t}…", t=planned.at), t=self.view.t,
                               layer=self.view.layer)
        self.run_worker(partial(self._edit_work, trace, planned), name="run_edit", group="edit",
                        description="Re-running an edited trace", thread=True, exclusive=True,
                        exit_on_error=False)

    def _edit_work(self, trace: Trace, planned: EditPlan) -> None:
        result = _edit(trace, planned)
        if not get_current_worker().is_cancelled:
            self.post_message(EditDone(*result))  # type: ignore[attr-defined]

    def on_edit_done(self, message: EditDone) -> None:
        message.stop()
        self._edit_done(message.trace, message.plan, message.edited, message.error)

    def _edit_done(self, trace: Trace, planned: EditPlan, edited: Trace | None, error: str | None) -> None:
        view = self.view
        if view.trace is not trace:
            return  # another trace is shown now: the edit was of the last one
        if edited is None:
            self.notify(error or tr("unknown error"), title=tr("what if failed"), severity="error", markup=False)
            self.note = StatusNote(tr("what if failed: {why}", why=error or tr("unknown error")), "error",
                                   t=view.t, layer=view.layer)
            return
        self.session.diff_report = None
        run = view.run if view.other is not None else "delta"
        self._show(View(trace, edited, run, planned.layer, planned.at, view.unit))
        self._start_scans(health=False)  # the diff report and the B − A scales, for the new B
        self._refresh_keys()
        self.note = StatusNote(tr("what if: {edit}; B is the edited run (d: A, B, B − A)",
                                  edit=say(planned.describe())), t=planned.at, layer=planned.layer)
        if "readout" in edited.meta.get("edit", {}):
            self.notify(tr("B has no readout: the trace stores no readout/W to recompute it"),
                        title=tr("what if"), severity="warning", markup=False)


def _edit(trace: Trace, planned: EditPlan) -> tuple[Trace, EditPlan, Trace | None, str | None]:
    """(trace, plan, the edited run or None, why not): what the screen
    needs of a re-run, which never raises (one line for any failure)."""
    from ..debug.edit import edit

    try:
        return trace, planned, edit(trace, planned), None
    except LstmTuiError as e:
        return trace, planned, None, say(e)
    except Exception as e:  # noqa: BLE001 - whatever went wrong, said in one line, the screen goes on
        return trace, planned, None, error_line(e)
