"""The lstm-tui application: the debugger screen, its keys, and ``make_app``.

The debugger screen shows one ``view`` (``debug.session.View``): which
``trace``, the second run and which run is shown, which layer
(``layer_index``: the name ``layer`` is taken, ``Widget.layer`` is the CSS
layer Textual composites by), the step ``t`` and the selected ``unit``, one
frozen value clamped by its constructor. Every pane receives it whole
through ``data_bind`` and redraws once per new view (``view``); panes never
change it but post messages (``messages``). The moves, breakpoints, search,
watches and the diff report live in a ``DebugSession`` outside Textual.

Every key is a ``Binding`` with a description and an id. The footer, the
help screen (``help``) and the command palette (``commands``) are all read
from these bindings. Whether a key can act, and if not why, is decided in
one place, ``why_not``: ``check_action`` dims from it the keys that cannot
act (stepping back at t = 0, ``[`` on the first layer, ``c`` with no
breakpoint), and pressing one anyway puts the reason in the status line
("already at the first step") instead of doing nothing (``refusals``).

Debugging: ``b`` adds a breakpoint condition, ``c``/``C`` continue to the
next/previous step where an enabled one holds, ``/`` ``n`` ``N`` search the
tokens, ``w`` pins a unit to the watch list. The session owns the
breakpoints and the watched units; after each change the screen publishes
what the lists show, one snapshot taken from the session (``pins``), and
where the enabled breakpoints hold (``hit_marks``, for the timeline). The
screen owns the findings of the health scan (run once per trace, in a
thread when the trace is large). Where a condition holds comes from
``breakpoints.HitCache``: evaluated once per condition and layer, never per
key press; on a long layer in a thread worker that says how far it got
while the keys go on working (``_scan_hits``; a ``c`` pressed meanwhile
waits for it). The breakpoints, health and watches panes share the slot of the
explain pane, one shown at a time (``E`` ``B`` ``H`` ``W``), so the layout
that fits 80×24 is unchanged. With a second run (``view A --diff B``) the panes show
A, B or B − A (``d``) and ``D`` goes to where the runs first part.

Nothing here imports TensorFlow or Keras: the model panel does that in a
thread worker, on first use only (see ``model_panel``).

The files under the screen may change while it runs. Before every key,
click and resize (``LstmTuiApp.on_event``), once a second, and before its
scans, the screen checks them (``DebuggerScreen.check_files``); a changed
trace is loaded again, and a memory-mapped one is let go of first, since
reading a truncated mapped file kills the process (``files`` says how).
Worker threads never hold up ``q`` (``threads``).
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.actions import parse as parse_action
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.containers import Grid, Horizontal, Vertical
from textual.driver import Driver
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState, get_current_worker

from ..core.trace import Trace, TraceError, write_atomically
from ..core.trace import load as load_trace
from ..debug.session import DebugSession, Edit, Move, Pins, View
from ..errors import LstmTuiError
from . import draw, runs
from .catalogue import say, set_language, tr
from .commands import DebuggerCommands, binding_command
from .explain import ExplainPane
from .files import (
    NO_LONGER_LOADS,
    Notice,
    Placeholder,
    error_line,
    file_state,
    in_memory,
    is_mapped,
    loading_again,
    placeholder,
    reload_notice,
)
from .footer import KeysFooter
from .lifetime import Compared, MemoryFrom
from .messages import (
    BreakpointAction,
    FindingPicked,
    HitsProgress,
    HitsScanned,
    ScanProgress,
    ScanReady,
    StepPicked,
    TraceReady,
    TraceReloaded,
    UnitPicked,
    WatchAction,
)
from .model_panel import ModelPanel, PredictorLoader
from .reach import ACTIONS as REACH_ACTIONS
from .reach import Reach
from .refusals import Refusal, action_state, refusal_for
from .status import StatusLine, StatusNote, layer_label, source_label
from .textual_private import CellDiffingDisplay
from .threads import DaemonExecutor
from .timeline import Marks, Timeline
from .too_small import TooSmall, too_small
from .translated import Translated
from .vector_pane import VectorPane
from .what_if import WhatIf

# What only breakpoints, searches, comparisons, dialogs and the lists need is
# imported where it is first used: start-up (the first frame) does without.
if TYPE_CHECKING:
    from ..debug.breakpoints import HitCache
    from ..debug.conditions import Condition
    from ..debug.health import Finding

#: The seven vectors, in the order the notebook prints them.
PANES = ("x", "f", "i", "c_hat", "c", "o", "h")

#: Below this width the model panel is hidden; ``m`` shows it as an overlay.
WIDE = 100
#: Heights at which the layout changes: panes in 4 columns (2 rows) below
#: TALL, and a shorter explain pane below SHORT.
SHORT = 28
TALL = 36

STEP = Binding.Group("step")
UNIT = Binding.Group("unit")
LAYER = Binding.Group("layer")
CONTINUE = Binding.Group("continue")
DIFF = Binding.Group("diff")

#: The panes that share the slot under the vector panes, by widget id.
VIEWS = ("explain", "breakpoints", "health", "watches")
#: Above this many values (steps × units, all layers) the health scan and
#: the diff report run in a thread worker instead of before the first frame.
BIG_TRACE = 1_000_000
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
#: How often the files of the traces on screen are checked while no key is
#: pressed, in seconds (each check is two ``stat`` calls per trace).
FILE_CHECK_SECONDS = 1.0


class _Stop(Exception):
    """Raised between the blocks of a scan whose trace's file changed, or
    which was cancelled: the scan ends without a result."""


def _scan_check(*runs: Trace | None) -> Callable[[], None]:
    """For a scan worker: a function to call before each block it reads,
    raising ``_Stop`` once the worker is cancelled or a file changed."""
    worker = get_current_worker()

    def check() -> None:
        if worker.is_cancelled or any(r is not None and r.changed_on_disk() is not None for r in runs):
            raise _Stop

    return check


@dataclass(frozen=True)
class _Waiting:
    """A continue (``c``, ``C``, or Enter on breakpoint ``index``) pressed
    while the hits it needs were still being scanned for: it runs when the
    scan ends, if the screen still stands where it was pressed."""

    trace: Trace
    layer: int
    t: int
    backwards: bool
    index: int | None


#: The longest piece of a condition the status line quotes while scanning.
BUSY_SOURCE = 32


def _busy(percent: int, source: str) -> str:
    """The status line's word for a scan for hits, ``percent`` done."""
    quoted = source if len(source) <= BUSY_SOURCE else source[: BUSY_SOURCE - 1] + "…"
    return tr("scanning {percent}% for {condition}", percent=percent, condition=quoted)


@dataclass
class _Detached:
    """Where the screen stood when it let go of a memory-mapped trace whose
    file changed (``old``), to stand there again if the file loads."""

    old: Trace
    layer: int
    t: int
    unit: int
    other: Trace | None
    run: str


def _size(trace: Trace) -> int:
    return sum(layer.steps * layer.units for layer in trace.layers)


def _diff_cost(trace: Trace) -> int:
    """What comparing two runs costs, in the values of ``_size``: the report
    recomputes every gate from the weights to scale its tolerance (a
    product of H + D terms per value), so a 60 000-step layer of 8 units
    is already too long to compare before the first frame."""
    return sum(layer.steps * layer.units * (layer.units + layer.input_dim) for layer in trace.layers)


def nan_alarm(findings: tuple[Finding, ...]) -> str:
    """"NaN", "Inf" or "NaN/Inf" for the header, from the scan's findings."""
    values = [f.value for f in findings if f.kind == "nan" and f.value is not None]
    if not values and not any(f.kind == "nan" for f in findings):
        return ""
    nan = any(v != v for v in values)
    inf = any(v == v for v in values)
    return "NaN/Inf" if nan and inf else ("Inf" if inf else "NaN")


def screenshot_name(title: str | None) -> str:
    """``lstm-tui 2025-01-31T12_00_00_123456.svg``: the app's title and the
    time to the microsecond, spelt as Textual spells its screenshots (no
    character a file system or a shell would trip on)."""
    stem = f"{title or 'lstm-tui'} {datetime.now().isoformat()}"
    for reserved in ' <>:"/\\|?*.':
        stem = stem.replace(reserved, "_")
    return stem + ".svg"


class DebuggerScreen(Translated, Reach, WhatIf, Screen[None]):
    """The main screen: the seven panes, explain, timeline and model panel."""

    AUTO_FOCUS = "#pane-f"
    # A zoomed pane keeps the status line: where the debugger stands (the
    # step) must stay on screen while stepping in it.
    ALLOW_IN_MAXIMIZED_VIEW = "StatusLine, Footer"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-tiny"), (SHORT, "-short"), (TALL, "-tall")]

    #: The screen's keys in the help screen's sections (``help``), each
    #: section in the order its keys are listed; ``BINDINGS`` is all of them.
    BINDING_SECTIONS: dict[str, list[Binding]] = {
        "Stepping": [
            Binding("left,h", "step(-1)", "Step back", id="step_back", group=STEP),
            Binding("right,l", "step(1)", "Step forward", id="step_forward", group=STEP),
            Binding("home", "first_step", "First step", id="first_step", show=False),
            Binding("end", "last_step", "Last step", id="last_step", show=False),
            Binding("pageup", "step(-10)", "Back 10 steps", id="page_back", show=False),
            Binding("pagedown", "step(10)", "Forward 10 steps", id="page_forward", show=False),
            Binding("g", "goto", "Go to step", id="goto", show=False),
        ],
        "Units and layers": [
            Binding("up,k", "unit(-1)", "Previous unit", id="unit_up", group=UNIT),
            Binding("down,j", "unit(1)", "Next unit", id="unit_down", group=UNIT),
            Binding("left_square_bracket", "layer(-1)", "Previous layer", id="layer_prev", group=LAYER),
            Binding("right_square_bracket", "layer(1)", "Next layer", id="layer_next", group=LAYER),
            Binding("u", "goto_unit", "Go to unit", id="goto_unit", show=False),
            Binding("L", "largest", "Largest |value|", id="largest", show=False,
                    tooltip="Go to the unit with the largest |value| in the focused pane at t; again: the next"),
            Binding("s", "sort", "Sort panes", id="sort", show=False,
                    tooltip="Sort the unit panes: by unit, by |value| at t, by |B−A| at t, by saturation"),
        ],
        "Debugging": [
            # Footer words are short, as in DESIGN §4 ("b break  c continue"), so
            # that every key of the debugger fits 80 columns; the tooltip is the
            # long description, which help and the palette show.
            Binding("b", "add_breakpoint", "Break", id="add_breakpoint", tooltip="Add a breakpoint condition"),
            Binding("c", "resume(False)", "Continue to next hit", id="continue", group=CONTINUE),
            Binding("C", "resume(True)", "Continue back to previous hit", id="continue_back", group=CONTINUE),
            Binding("d", "cycle_run", "Show A, B or B−A", id="cycle_run", group=DIFF),
            Binding("D", "first_divergence", "Go to first divergence", id="first_divergence", group=DIFF),
            Binding("e", "what_if", "What if", id="what_if", show=False,
                    tooltip="What if: change a value at this step (c[7]=0, hold h[7]=0) and re-run what follows"),
            Binding("M", "memory", "Memory row", id="memory", show=False,
                    tooltip="Show how much of the selected unit's c at this step is left at each later step "
                            "(Π f) on the timeline; again at the same step: hide it"),
            Binding("slash", "search", "Search tokens", id="search", show=False),
            Binding("n", "search_step(False)", "Next match", id="search_next", show=False),
            Binding("N", "search_step(True)", "Previous match", id="search_previous", show=False),
            Binding("w", "watch", "Watch / unwatch unit", id="watch", show=False),
        ],
        "Panes": [
            Binding("E", "show('explain')", "Show explain pane", id="show_explain", show=False),
            Binding("B", "show('breakpoints')", "Show breakpoints", id="show_breakpoints", show=False),
            Binding("H", "show('health')", "Show health findings", id="show_health", show=False),
            Binding("W", "show('watches')", "Show watches", id="show_watches", show=False),
            Binding("O", "overview", "Overview", id="overview", show=False,
                    tooltip="Show or hide the heat map of the focused vector"),
            Binding("tab", "app.focus_next", "Next pane", id="next_pane", show=False),
            Binding("shift+tab", "app.focus_previous", "Previous pane", id="previous_pane", show=False),
            Binding("z", "zoom", "Zoom pane", id="zoom", show=False,
                    tooltip="Zoom the focused pane, or back (Esc too)"),
        ],
        # Screen keys (not the explain pane's own, which need its focus): the
        # arithmetic is read while stepping from the vector panes.
        "Explain pane": [
            Binding("p", "expand_gate", "Expand gate", id="expand_gate", show=False,
                    tooltip="Expand a gate into its products W·x_t and U·h_{t-1}, weights shown: "
                            "f, then i, ĉ, o, then none"),
            Binding("F", "formulas", "Formulas", id="formulas", show=False,
                    tooltip="Show or hide the activations' formulas (σ, tanh)"),
        ],
        "Model panel": [
            Binding("m", "focus_model", "Model panel", id="focus_model", show=False),
        ],
        "App": [
            Binding("o", "open_trace", "Open trace file", id="open_trace", show=False),
            Binding("S", "save_trace", "Save trace as…", id="save_trace", show=False,
                    tooltip="Save trace as… (the trace shown: a live recording, an edited run)"),
            Binding("ctrl+o", "back", "Back to previous trace", id="back", show=False,
                    tooltip="Go back to the trace shown before, where it stood"),
            Binding("ctrl+t", "toggle_theme", "Toggle theme", id="toggle_theme", show=False),
            Binding("ctrl+l", "redraw", "Redraw screen", id="redraw", show=False,
                    tooltip="Write the whole screen again (after another program wrote over it)"),
            Binding("ctrl+s", "save_screenshot", "Save screenshot", id="save_screenshot", show=False),
            Binding("question_mark", "help", "Help", id="help"),
        ],
    }
    BINDINGS = [binding for section in BINDING_SECTIONS.values() for binding in section]

    # Not reactive(bindings=True): that would rebuild the footer on every
    # step. ``_refresh_keys`` does it only when a key becomes (un)available.
    # repaint=False on the view the widgets receive with data_bind: each
    # refreshes itself when its view changes, and a repaint of the screen
    # would redraw every widget on every key press.

    #: What is shown: the trace (replaced by opening a file or a live pass),
    #: the second run of a comparison (``view A --diff B``) or None, which
    #: run the panes show ("a", "b" or "delta": B − A), the layer, the step
    #: and the selected unit. One frozen value, clamped by its constructor
    #: and set in one place (``_show``); every widget that shows the
    #: position is bound to it, and gets each new view whole.
    view: reactive[View] = reactive(None, repaint=False)  # type: ignore[arg-type]
    #: What the breakpoints and watches lists show: a snapshot taken from
    #: the session (which owns them) after each change, set only in
    #: ``_publish``; the lists are bound to it.
    pins: reactive[Pins] = reactive(Pins())
    #: Steps where an enabled breakpoint holds (None: none enabled), from
    #: the session, set only in ``_publish``; the timeline is bound to it.
    hit_marks: reactive[Marks | None] = reactive(None)
    #: The health scan's findings, errors first; None while it runs.
    findings: reactive[tuple[Finding, ...] | None] = reactive(None)
    #: "NaN", "Inf" or "NaN/Inf" when the scan found one (the header's ⚠).
    alarm: reactive[str] = reactive("")
    #: Why the debugger stands at this step (status line), or None.
    note: reactive[StatusNote | None] = reactive(None)
    #: Which pane has the slot under the vector panes (one of VIEWS).
    bottom: reactive[str] = reactive("explain")
    #: How far the scan for breakpoint hits got, for the status line ("" when
    #: none runs): long traces are scanned in a worker (``_scan_hits``).
    busy: reactive[str] = reactive("")
    #: Where the timeline's memory row starts (``M``), or None: no row.
    memory_from: reactive[MemoryFrom | None] = reactive(None)
    #: The diff report with the pair it compares, once made (the status
    #: line's span of steps where the runs differ; ``lifetime``).
    compared: reactive[Compared | None] = reactive(None)
    #: How the unit panes order their rows (``debug.ranking.SORTS``: ``s``);
    #: the panes are bound to it (``reach``).
    sort: reactive[str] = reactive("index")

    def __init__(
        self,
        trace: Trace,
        *,
        model_path: str | os.PathLike[str] | None = None,
        load_model: bool = True,
        predictor_loader: PredictorLoader | None = None,
        model_autoload: float | None = None,
        other: Trace | None = None,
        layer: int = 0,
        t: int = 0,
        unit: int = 0,
        breakpoints: Sequence[Condition] = (),
    ) -> None:
        super().__init__()
        #: Breakpoints, watches, search, the diff report and the moves
        #: (``debug.session``): their one owner.
        self.session = DebugSession.start(trace, other)
        # A breakpoint over a long layer is evaluated in a worker, never on
        # the screen's thread (``_scan_hits``).
        self.session.scan_inline_limit = BIG_TRACE
        # Where to open (``view --step --unit --layer``), clamped by View;
        # the breakpoints of ``view --break``, published on mount.
        self.session.view = self.session.view.moved(layer=layer, t=t, unit=unit)
        for condition in breakpoints:
            self.session.add_breakpoint(condition)
        self.set_reactive(DebuggerScreen.view, self.session.view)
        self.model_path = model_path
        self.load_model = load_model
        self.predictor_loader = predictor_loader
        self.model_autoload = model_autoload
        self._last_pane: Widget | None = None
        self._key_state: tuple[bool | None, ...] | None = None
        self._parsed_actions: tuple[tuple[str, tuple[object, ...]], ...] | None = None
        #: The note saying why the last key did nothing, while it is shown.
        self._refusal_note: StatusNote | None = None
        #: Per trace, the state of its file (``files.file_state``) when a
        #: change of it was last handled: each change is handled once.
        self._handled: weakref.WeakKeyDictionary[Trace, tuple[int, int, int, int] | None] = \
            weakref.WeakKeyDictionary()
        #: The run A or B let go of because its file changed, while it loads again.
        self._detached: _Detached | None = None
        self._detached_b: _Detached | None = None
        #: The number of the latest scan for hits (its messages carry it),
        #: what it scans (trace, layer, conditions) and its worker.
        self._hits_scan = 0
        self._hits_key: tuple[Trace, int, tuple[Condition, ...]] | None = None
        self._hits_worker: Worker[None] | None = None
        #: A continue waiting for that scan, or None.
        self._waiting: _Waiting | None = None
        #: What each background scan that reports progress says in the
        #: status line ("hits", "diff"), joined into ``busy``; and the
        #: number of the latest scan of each kind, which its progress
        #: messages carry (a cancelled scan's late ones are dropped).
        self._busy_parts: dict[str, str] = {}
        self._scan_numbers: dict[str, int] = {}

    def _set_busy(self, kind: str, text: str) -> None:
        """Say ``text`` for the scan ``kind`` in the status line ("": it ended)."""
        if text:
            self._busy_parts[kind] = text
        else:
            self._busy_parts.pop(kind, None)
        self.busy = " · ".join(self._busy_parts[k] for k in ("hits", "diff") if k in self._busy_parts)

    # -- layout ----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        view = DebuggerScreen.view
        yield StatusLine(id="status").data_bind(view, DebuggerScreen.note, DebuggerScreen.alarm,
                                                DebuggerScreen.busy, DebuggerScreen.compared)
        yield TooSmall(id="too-small")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                with Grid(id="panes"):
                    for vector in PANES:
                        yield VectorPane(vector).data_bind(view, DebuggerScreen.sort)
                yield ExplainPane(id="explain").data_bind(view)
                # The breakpoints, health and watches lists join here when
                # first shown (``_view``).
                yield Timeline(id="timeline").data_bind(view, hits=DebuggerScreen.hit_marks,
                                                        memory=DebuggerScreen.memory_from)
            yield ModelPanel(
                model_path=self.model_path,
                loader=self.predictor_loader,
                enabled=self.load_model,
                id="model",
            ).data_bind(view)
        yield KeysFooter()

    def _view(self, name: str) -> Widget:
        """The widget of the slot view ``name``. The three lists are mounted
        the first time they are needed: most sessions never open them, and
        each would cost start-up time (a table's CSS, its columns) for
        nothing."""
        found = self.query(f"#{name}")
        if found:
            return found.first()
        from .debug_lists import BreakpointList, HealthList, WatchList

        widget: Widget
        with self._context():  # data_bind binds to the active message pump: this screen
            if name == "breakpoints":
                widget = BreakpointList(id=name).data_bind(DebuggerScreen.view, DebuggerScreen.pins)
            elif name == "health":
                widget = HealthList(id=name).data_bind(DebuggerScreen.findings)
                # Drawn on mount, before the binding lands: with the findings.
                widget.set_reactive(HealthList.findings, self.findings)
            elif name == "watches":
                widget = WatchList(id=name).data_bind(DebuggerScreen.view, DebuggerScreen.pins)
            else:
                raise ValueError(f"no view {name!r}")
        self.query_one("#main").mount(widget, before=self.query_one("#timeline"))
        return widget

    def on_mount(self) -> None:
        self.fit_panes()
        self.watch_bottom()
        self._publish()
        self._start_scans()
        if self.load_model and self.model_autoload is not None:
            self.set_timer(self.model_autoload, self.model_panel.ensure_model)

    @property
    def model_panel(self) -> ModelPanel:
        return self.query_one("#model", ModelPanel)

    # -- state -----------------------------------------------------------------

    @property
    def trace(self) -> Trace:
        """The trace shown (run A)."""
        return self.view.trace

    @property
    def other(self) -> Trace | None:
        """The second run of a comparison, or None."""
        return self.view.other

    @property
    def run(self) -> str:
        """Which run the panes show: "a", "b" or "delta" (B − A)."""
        return self.view.run

    @property
    def layer_index(self) -> int:
        """Index of the layer shown (the name ``layer`` is taken:
        ``Widget.layer`` is the CSS layer Textual composites by)."""
        return self.view.layer

    @property
    def t(self) -> int:
        """The current step, 0 … T-1."""
        return self.view.t

    @property
    def unit(self) -> int:
        """The selected unit of the layer shown."""
        return self.view.unit

    def _show(self, view: View) -> None:
        """Show ``view``: the one place the position changes."""
        self.session.view = view
        self.view = view

    def go(self, **changes: Any) -> None:
        """Show the current view with ``changes`` (clamped)."""
        self._show(self.view.moved(**changes))

    def watch_view(self, old: View | None, new: View) -> None:
        if old is None:
            return
        waiting = self._waiting
        if waiting is not None and (waiting.trace, waiting.layer, waiting.t) != (new.trace, new.layer, new.t):
            self._waiting = None  # the user moved on: the continue is no longer wanted
        if old.trace is not new.trace:
            self._trace_changed(new.trace)
        elif old.layer != new.layer:
            self.fit_panes()
            self._drop_note()
            self._publish()
        elif old.t != new.t:
            self._drop_note()
            self._refresh_keys()
        elif old.unit != new.unit:
            self._refresh_keys()

    def _trace_changed(self, trace: Trace) -> None:
        # Units pinned on layers this trace does not have go with the search.
        self.session.forget_trace()
        self.note = None
        self.fit_panes()
        self._publish()
        if self.is_mounted:
            self._start_scans()
        self._refresh_keys()

    def _compared_with(self, trace: Trace, other: Trace | None, title: str) -> Trace | None:
        """``other`` if ``trace`` can be compared with it, else None (and a
        notice titled ``title`` that says why the comparison closed)."""
        if other is None:
            return None
        from ..debug.diff import Incomparable, check_comparable

        try:
            check_comparable(trace, other)
        except Incomparable as e:
            self.notify(say(e), title=title, severity="warning", markup=False)
            return None
        return other

    def _drop_note(self) -> None:
        """A note is about one step of one layer: moving elsewhere drops it."""
        note = self.note
        if note is not None and (note.t != self.t or note.layer not in (None, self.layer_index)):
            self.note = None

    def watch_bottom(self) -> None:
        if not self.is_mounted:
            return
        for view in VIEWS:
            # The overview (O) has the slot while it is open.
            shown = view == self.bottom and not self.has_class("-overview")
            if shown or self.query(f"#{view}"):
                self._view(view).display = shown
        focused = self.focused
        if focused is not None and focused.id in VIEWS and focused.id != self.bottom:
            self.focus_panes()

    def watch_maximized(self) -> None:
        # Zoomed, the explain pane shows its whole text (not its usual cap).
        if self.is_mounted:
            self.query_one(ExplainPane).fit_height()

    def _refresh_keys(self) -> None:
        """Re-check which keys can act (footer dimming), and rebuild the
        footer's view of them only when one of them changed: at the first or
        last step, unit or layer, a breakpoint added, a search made."""
        state = tuple(self.check_action(name, params) for name, params in self._key_actions())
        if state != self._key_state:
            self._key_state = state
            self.refresh_bindings()

    def _key_actions(self) -> tuple[tuple[str, tuple[object, ...]], ...]:
        """(action, parameters) of every binding of the screen, parsed once."""
        if self._parsed_actions is None:
            seen: dict[str, tuple[str, tuple[object, ...]]] = {}
            for binding in self.BINDINGS:
                assert isinstance(binding, Binding)
                destination, name, params = parse_action(binding.action)
                if not destination:
                    seen.setdefault(binding.action, (name, params))
            self._parsed_actions = tuple(seen.values())
        return self._parsed_actions

    def on_resize(self, event: events.Resize) -> None:
        # The breakpoint classes (and so the pane grid) may just have changed.
        self.call_after_refresh(self.fit_panes)
        # A narrow footer leaves out the palette key (help lists it) so the
        # debugger's own keys fit in 80 columns.
        self.query_one(Footer).show_command_palette = event.size.width >= WIDE
        # Panes cut to rules and ellipses help no one: the step and a marker.
        small = too_small(event.size)
        self.set_class(small, "-too-small")
        if small and self.maximized is not None:
            self.minimize()  # a zoomed pane would show through the marker
        if not small and self.focused is None:
            # Hiding the panes took the focus with them: give it back.
            self.call_after_refresh(self.focus_panes)

    def fit_panes(self) -> None:
        """Cap the pane grid at what its rows can show: a small layer leaves
        the rest of the height to the explain pane instead of blank rows."""
        if not self.is_mounted or self.trace is None:
            return
        layer = self.trace.layers[self.layer_index]
        # Rows of the grid (+1 for each pane's title rule): the first holds
        # x_t, whose length is the input's, the others only units.
        first = max(layer.units, layer.input_dim) + 1
        other = layer.units + 1
        needs = [first, other, other] if self.has_class("-tall") else [first, other]
        panes = self.query_one("#panes")
        # Shared in proportion to need, and never more than needed in all.
        panes.styles.grid_rows = " ".join(f"{n}fr" for n in needs)
        panes.styles.max_height = sum(needs)
        self.query_one(Timeline).fit_height()  # its rows of differences lose the axis when tiny

    def set_trace(self, trace: Trace) -> None:
        """Debug ``trace`` from its first step, first layer, first unit (still
        compared with the second run if the two match)."""
        other = self._compared_with(trace, self.other, tr("comparison closed: the new trace does not match B"))
        self.remember()  # for ctrl+o (``reach``)
        self._show(View(trace, other, self.run))

    # -- keys ------------------------------------------------------------------

    def why_not(self, action: str, parameters: tuple[object, ...]) -> Refusal | None:
        """Why the key bound to ``action`` cannot act now, or None when it
        can: the one place that decides it, for the footer (dimmed keys,
        ``check_action``) and for the status line (the reason, when such a
        key is pressed anyway; see ``refusals``). The session answers for
        every move; only zooming, which is about focus, is the screen's."""
        if self.trace is None:
            return None
        if action == "zoom":
            focused = self.focused
            if self.maximized is None and (focused is None or isinstance(focused, Input)
                                           or not focused.allow_maximize):
                return Refusal(tr("z zooms a pane: Tab to one first"))
            return None
        if action == "expand_gate":
            return self.query_one(ExplainPane).why_not_expand()
        if action in REACH_ACTIONS or (action == "unit" and self.sorted_pane() is not None):
            return self.reach_why_not(action, parameters)
        return self.session.why_not(action, parameters)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """None (shown dimmed) for keys that cannot act now, False (not in
        the footer) for those that never can on this trace: ``why_not``."""
        return action_state(self.why_not(action, parameters))

    def refuse(self, refusal: Refusal) -> None:
        """Say in the status line why a key did nothing."""
        self.note = self._refusal_note = StatusNote(refusal.reason, "warning", t=self.t,
                                                    layer=self.layer_index)

    def forget_refusal(self) -> None:
        """Take the reason a key did nothing off the status line (another
        key acts); notes of other kinds stay."""
        if self.note is not None and self.note is self._refusal_note:
            self.note = None
        self._refusal_note = None

    def _apply(self, move: Move) -> None:
        """Stand where a move of the session went, and say what it says."""
        self._show(move.view)
        if move.note is not None:
            self.note = move.note

    def action_step(self, delta: int) -> None:
        self._apply(self.session.step(delta))

    def action_first_step(self) -> None:
        self._apply(self.session.first_step())

    def action_last_step(self) -> None:
        self._apply(self.session.last_step())

    def action_unit(self, delta: int) -> None:
        pane = self.sorted_pane()
        if pane is not None:
            self.unit_by_row(pane, delta)  # by row in the pane's order (``reach``)
            return
        self._apply(self.session.unit(delta))

    def action_layer(self, delta: int) -> None:
        self._apply(self.session.layer(delta))

    def switch_layer(self, k: int) -> None:
        self._apply(self.session.switch_layer(k))

    def action_goto(self) -> None:
        def go(step: int | None) -> None:
            if step is not None:
                self._apply(self.session.goto(step))

        from .dialogs import GoToStepScreen

        self.app.push_screen(GoToStepScreen(self.trace.steps, self.t), go)

    # -- breakpoints -------------------------------------------------------------

    def _publish(self, hits: bool = True) -> None:
        """Show what the session holds now: the lists' snapshot, and (unless
        ``hits`` is False: the watches changed, not the breakpoints) the
        timeline's marks, both for the layer shown (each condition is
        evaluated once per layer, by the session's cache)."""
        session = self.session
        self.pins = session.pins()
        if hits:
            steps = session.hit_steps()
            pending = bool(session.unscanned([bp.condition for bp in session.breakpoints if bp.enabled]))
            self.hit_marks = None if steps is None else Marks(steps, pending)
            self._scan_hits()
        self._refresh_keys()

    def _scan_hits(self) -> None:
        """Find where the breakpoints hold on the layer shown, when the
        session cannot do it at once (a long layer: ``unscanned``), in an
        exclusive thread worker, a block of steps at a time, saying how far
        it got in the status line (``busy``). A scan of the same conditions
        already running goes on; any other is cancelled (another trace,
        another layer, nothing left to scan)."""
        todo = self.session.unscanned()
        if not todo:
            if self._hits_key is not None:
                self._cancel_scans("hits")
                self._hits_key = None
            return
        key = (self.trace, self.layer_index, todo)
        if key == self._hits_key and self._hits_worker is not None and not self._hits_worker.is_finished:
            return
        self._hits_key = key
        self._hits_scan += 1
        self._set_busy("hits", _busy(0, todo[0].source))
        self._hits_worker = self.run_worker(
            partial(self._hits_work, self._hits_scan, self.session.hits, self.layer_index, todo),
            name="run_hits", group="scan-hits", description="Finding where the breakpoints hold",
            thread=True, exclusive=True, exit_on_error=False)

    def _hits_work(self, scan: int, cache: HitCache, layer: int, conditions: tuple[Condition, ...]) -> None:
        """In the worker thread: evaluate ``conditions`` into ``cache`` (the
        session's, for its trace), posting the progress; stops between
        blocks once cancelled or the trace's file changed."""
        check = _scan_check(cache.trace)
        last = -1
        for n, condition in enumerate(conditions):
            def progress(done: int, total: int, n: int = n, source: str = condition.source) -> None:
                nonlocal last
                percent = (100 * n + 100 * done // max(total, 1)) // len(conditions)
                if percent != last:  # a message per percent, not per block
                    last = percent
                    self.post_message(HitsProgress(scan, percent, source))

            try:
                check()
                cache.compute(condition, layer, check=check, progress=progress)
            except _Stop:
                return
        self.post_message(HitsScanned(scan, cache.trace))

    def on_hits_progress(self, message: HitsProgress) -> None:
        message.stop()
        if message.scan == self._hits_scan and self._hits_key is not None:
            self._set_busy("hits", _busy(message.percent, message.condition))

    def on_hits_scanned(self, message: HitsScanned) -> None:
        message.stop()
        if message.scan != self._hits_scan or message.trace is not self.trace:
            return  # a scan since replaced
        self._hits_key = None
        self._set_busy("hits", "")
        self._publish()  # the counts and the timeline's marks
        waiting, self._waiting = self._waiting, None
        if waiting is not None and (waiting.trace, waiting.layer, waiting.t) == (self.trace, self.layer_index,
                                                                                self.t):
            self._resume(waiting.backwards, waiting.index)

    def _edited(self, edit: Edit, hits: bool = True) -> None:
        """After an edit of the session's breakpoints or watches: publish
        what changed, and say what the edit says."""
        if edit.changed is not None:
            self._publish(hits)
        if edit.note is not None:
            self.note = edit.note

    def check_condition(self, text: str) -> Condition:
        """Parse ``text`` and fit it to the layer on screen; raises
        ``ConditionError`` (with its column) when either fails."""
        return self.session.check_condition(text)

    def add_breakpoint(self, condition: Condition) -> None:
        edit = self.session.add_breakpoint(condition)
        self._edited(edit)
        if edit.changed == "added":
            self.bottom = "breakpoints"

    def action_add_breakpoint(self) -> None:
        def added(condition: Condition | None) -> None:
            if condition is not None:
                self.add_breakpoint(condition)

        from .dialogs import AddBreakpointScreen

        self.app.push_screen(AddBreakpointScreen(self.check_condition, tr("layer {k}", k=self.layer_index)),
                             added)

    def action_resume(self, backwards: bool = False) -> None:
        """Go to the next (previous) stop of the enabled breakpoints and say
        why, or say that there is none that way (no wrap-around)."""
        self._resume(backwards)

    def _resume(self, backwards: bool = False, index: int | None = None) -> None:
        """Continue (to the next hit of breakpoint ``index`` alone, when
        given); while the hits it needs are still being scanned for, wait
        for the scan and say so (pressed again: say that it still waits)."""
        session = self.session
        bps = session.breakpoints
        if index is None:
            needed = [bp.condition for bp in bps if bp.enabled]
        elif 0 <= index < len(bps):
            needed = [bps[index].condition]
        else:
            return
        if session.unscanned(needed):
            again = self._waiting is not None
            self._waiting = _Waiting(self.trace, self.layer_index, self.t, backwards, index)
            self._scan_hits()
            text = tr("still scanning: continuing when the scan ends") if again \
                else tr("continuing when the scan ends")
            self.note = StatusNote(text, t=self.t, layer=self.layer_index)
            return
        self._apply(session.resume(backwards) if index is None else session.next_hit_of(index))

    def on_breakpoint_action(self, message: BreakpointAction) -> None:
        message.stop()
        if message.action == "toggle":
            self._edited(self.session.toggle_breakpoint(message.index))
        elif message.action == "delete":
            self._edited(self.session.delete_breakpoint(message.index))
        elif message.action == "goto":
            # This breakpoint alone, enabled or not.
            self._resume(index=message.index)

    # -- health and diff scans -----------------------------------------------------

    def _start_scans(self, health: bool = True) -> None:
        """The health scan, and with a second run the diff report: before
        the first frame for a small trace, in thread workers for a large one
        (a full pass over every value). ``health=False``: the diff report
        only (the second run changed, the first did not)."""
        trace = self.trace
        # The last trace's scans, still running, are of no use now.
        self._cancel_scans(*(("health", "diff") if health else ("diff",)))
        if health:
            self.findings = None
            self.alarm = ""  # the last trace's; this one's comes with its scan
        if isinstance(trace, Placeholder):
            self._set_findings([])  # nothing there: every value is NaN by design
            return
        big = _size(trace) > BIG_TRACE
        # The workers start once the first frame is out: they would compete
        # with it for the interpreter and the disk.
        if runs.delta_pending(trace, self.other) or any(
                draw.stats_pending(layer) for t in (trace, self.other) if t is not None for layer in t.layers):
            self.call_after_refresh(self.run_scales, trace, self.other)
        if health and big:
            self.call_after_refresh(self.run_scan, "health", trace, self.other)
        elif health:
            from ..debug.health import scan as health_scan

            self._set_findings(health_scan(trace))
        if self.other is not None:
            if max(_diff_cost(trace), _diff_cost(self.other)) > BIG_TRACE:
                self.call_after_refresh(self.run_scan, "diff", trace, self.other)
            else:
                from ..debug.diff import diff as diff_traces

                self.session.diff_report = diff_traces(trace, self.other)
                self.compared = Compared(trace, self.other, self.session.diff_report)
                self._refresh_keys()

    def run_scan(self, kind: str, trace: Trace, other: Trace | None) -> Worker[None]:
        """The health scan (``kind`` "health") or the diff report ("diff") of
        a large trace, in a thread worker. One of each kind at a time (a new
        one cancels the last: exclusive in its group), cancelled when another
        trace opens (``_cancel_scans``); a cancelled scan, or one whose file
        changed, stops at its next block without a result."""
        number = self._scan_numbers[kind] = self._scan_numbers.get(kind, 0) + 1
        if kind == "diff":
            self._set_busy("diff", tr("comparing the runs {percent}%", percent=0))
        return self.run_worker(partial(self._scan, kind, trace, other, number), name="run_scan",
                               group=f"scan-{kind}", description="Scanning the trace", thread=True,
                               exclusive=True, exit_on_error=False)

    def _scan(self, kind: str, trace: Trace, other: Trace | None, number: int = 0) -> None:
        from ..debug.diff import diff as diff_traces
        from ..debug.health import scan as health_scan

        # A trace whose file changed is not read (the screen is letting go
        # of it); the scans look again between their blocks.
        check = _scan_check(trace, other)
        last = -1

        def progress(done: int, total: int) -> None:
            nonlocal last
            percent = 100 * done // max(total, 1)
            if percent != last:  # a message per percent, not per block
                last = percent
                self.post_message(ScanProgress(kind, number, percent))

        try:
            check()
            if kind == "health":
                result: object = health_scan(trace, check=check)
            else:
                assert other is not None
                result = diff_traces(trace, other, check=check, progress=progress)
        except _Stop:
            return
        self.post_message(ScanReady(kind, trace, result))

    def on_scan_progress(self, message: ScanProgress) -> None:
        message.stop()
        if message.kind == "diff" and message.scan == self._scan_numbers.get("diff"):
            self._set_busy("diff", tr("comparing the runs {percent}%", percent=message.percent))

    def _cancel_scans(self, *kinds: str) -> None:
        """Cancel the scan workers of ``kinds`` (their results are for a
        trace no longer shown)."""
        for kind in kinds:
            # Progress still on its way from a cancelled scan is dropped.
            self._scan_numbers[kind] = self._scan_numbers.get(kind, 0) + 1
            self._set_busy(kind, "")
        groups = {f"scan-{kind}" for kind in kinds}
        for worker in list(self.workers):
            if worker.node is self and worker.group in groups:
                worker.cancel()

    @work(thread=True, exit_on_error=False, group="scales", description="Sizing the bars")
    def run_scales(self, trace: Trace, other: Trace | None) -> None:
        """The bar scales of x and c (a pass over each), for a trace too
        large to scan before the first frame; until then the panes use
        scales from a sample of steps (``draw.layer_stats``). Stops between
        blocks when a file changes or the worker is cancelled."""
        check = _scan_check(trace, other)
        try:
            for run in (trace, other):
                for layer in run.layers if run is not None else ():
                    draw.scan_layer_stats(layer, check)
            if other is not None:
                runs.scan_delta_stats(trace, other, check)  # the B − A bars' scales
        except _Stop:
            return
        self.post_message(ScanReady("scales", trace, None))

    def on_scan_ready(self, message: ScanReady) -> None:
        message.stop()
        # What follows redraws the panes: not from a file that changed
        # while the scan ran.
        self.check_files()
        if message.trace is not self.trace:
            return  # a scan of a trace no longer on screen
        if message.kind == "scales":
            # Redraw what was drawn on the provisional scales.
            for pane in self.query(VectorPane):
                pane._invalidate()
            self.query_one(Timeline)._invalidate_rows()
            for overview in self.query("#overview"):
                overview.refresh_scale()  # type: ignore[attr-defined]
        elif message.kind == "health":
            self._set_findings(message.result)  # type: ignore[arg-type]
        else:
            self._set_busy("diff", "")
            self.session.diff_report = message.result  # type: ignore[assignment]
            if self.other is not None:
                self.compared = Compared(self.trace, self.other, message.result)  # type: ignore[arg-type]
            self._refresh_keys()

    def _set_findings(self, findings: list[Finding]) -> None:
        ordered = tuple(sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 3)))
        self.findings = ordered
        self.alarm = nan_alarm(ordered)
        if self.alarm:
            first = next(f for f in ordered if f.kind == "nan")
            self.notify(tr("{finding}; H lists the findings", finding=say(first.message)),
                        title=tr("health: {alarm}", alarm=self.alarm), severity="warning", markup=False)

    def on_finding_picked(self, message: FindingPicked) -> None:
        message.stop()
        changes: dict[str, int] = {"layer": message.layer}
        if message.step is not None:
            changes["t"] = message.step
        if message.unit is not None:
            changes["unit"] = message.unit
        self.go(**changes)

    # -- search and watches -----------------------------------------------------------

    def search(self, query: str) -> None:
        """Search the tokens for ``query`` and go to the first match at or
        after the current step."""
        move = self.session.search_tokens(query)
        self._refresh_keys()
        self._apply(move)

    def action_search(self) -> None:
        def searched(query: str | None) -> None:
            if query:
                self.search(query)

        from .dialogs import SearchScreen

        self.app.push_screen(SearchScreen(self.session.search or ""), searched)

    def action_search_step(self, backwards: bool = False) -> None:
        self._apply(self.session.search_step(backwards))

    def action_watch(self) -> None:
        edit = self.session.watch()
        self._edited(edit, hits=False)
        if edit.changed == "added" and self.bottom == "explain":
            self.bottom = "watches"

    def on_watch_action(self, message: WatchAction) -> None:
        message.stop()
        if message.action == "remove":
            self._edited(self.session.unwatch(message.layer, message.unit), hits=False)
        elif message.action == "goto":
            self.go(layer=message.layer, unit=message.unit)

    # -- comparing two runs -----------------------------------------------------------

    def action_cycle_run(self) -> None:
        self._apply(self.session.cycle_run())

    def action_first_divergence(self) -> None:
        self._apply(self.session.first_divergence())

    def action_memory(self) -> None:
        """Start the timeline's memory row at t (``lifetime``), or hide it
        when it starts here already."""
        memory = self.memory_from
        if memory is not None and memory.trace is self.trace and memory.s == self.t:
            self.memory_from = None
            self.note = StatusNote(tr("memory row hidden"), t=self.t, layer=self.layer_index)
            return
        self.memory_from = MemoryFrom(self.trace, self.t)
        self.note = StatusNote(tr("memory row: how much of c at t = {t} is left later (Π f)", t=self.t),
                               t=self.t, layer=self.layer_index)

    def action_expand_gate(self) -> None:
        """Open the next gate of the explain pane into its products (f, i,
        ĉ, o, then none), bringing the pane back if another list had its slot."""
        self.bottom = "explain"
        self.query_one(ExplainPane).cycle_expanded()

    def action_formulas(self) -> None:
        """Show or hide the activations' formulas at the explain pane's top."""
        self.bottom = "explain"
        self.query_one(ExplainPane).toggle_formulas()

    def action_show(self, view: str) -> None:
        """Give the slot under the panes to ``view`` and focus it."""
        if view not in VIEWS:
            return
        if self.has_class("-overview"):
            self._unzoom()
            self.remove_class("-overview")  # the list asked for takes the slot back
            self.watch_bottom()
        self.bottom = view
        widget = self._view(view)
        if widget.is_mounted:
            # At once, not after the keys already typed: "E ↓" scrolls the
            # explain pane even when both keys arrive together (a paste, a
            # slow link).
            self.set_focus(widget)
        else:
            widget.focus()  # mounted just now: focused once it is

    # -- overview (O) --------------------------------------------------------------

    def action_overview(self) -> None:
        """Show the focused vector pane's vector (the last focused one's, or
        f) over every step as a heat map (``overview``) in the place of the
        panes and the slot under them, or close it."""
        if self.has_class("-overview"):
            self.close_overview()
            return
        self._unzoom()
        from .overview import Overview

        focused = self.focused
        pane = focused if isinstance(focused, VectorPane) else self._last_pane
        vector = pane.vector if isinstance(pane, VectorPane) else "f"
        found = self.query("#overview")
        if found:
            overview = found.first(Overview)
            overview.show_vector(vector)
        else:
            with self._context():  # data_bind binds to the active message pump: this screen
                overview = Overview(id="overview").data_bind(DebuggerScreen.view)
            overview.set_reactive(Overview.vector, vector)
            self.query_one("#main").mount(overview, before=self.query_one("#timeline"))
        self.add_class("-overview")
        self.watch_bottom()
        overview.focus()

    def _unzoom(self) -> None:
        """Restore the layout before the overview comes or goes: a zoomed
        widget it hides (or the zoomed overview itself, once gone) would
        leave the screen blank."""
        if self.maximized is not None:
            self.minimize()

    def close_overview(self) -> None:
        """Back from the overview to the panes."""
        self._unzoom()
        self.remove_class("-overview")
        self.watch_bottom()
        self.focus_panes()

    def on_overview_picked(self, message: Any) -> None:
        """Enter or a click in the overview: go to its cursor's step (and
        unit: not for x, whose rows are inputs); Enter also closes it."""
        message.stop()
        changes = {"t": message.t} if message.unit is None else {"t": message.t, "unit": message.unit}
        self.go(**changes)
        if message.close:
            self.close_overview()

    def on_overview_closed(self, message: Any) -> None:
        message.stop()
        self.close_overview()

    def action_zoom(self) -> None:
        """Maximize the focused pane, or restore the layout (like tmux's zoom)."""
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None and not isinstance(self.focused, Input):
            self.maximize(self.focused)

    def action_focus_model(self) -> None:
        panel = self.model_panel
        panel.add_class("-shown")  # matters only when narrow: shows the overlay
        panel.query_one("#model-input", Input).focus()

    def on_model_panel_leave(self, message: ModelPanel.Leave) -> None:
        message.stop()
        self.model_panel.remove_class("-shown")
        self.focus_panes()

    def focus_panes(self) -> None:
        target = self._last_pane if self._last_pane is not None and self._last_pane.is_mounted \
            else self.query_one("#pane-f")
        self.set_focus(target)  # at once: a focus asked for later (``action_show``) must win

    def on_descendant_focus(self, event: Any) -> None:
        widget = event.widget if hasattr(event, "widget") else None
        if isinstance(widget, (VectorPane, ExplainPane, Timeline)):
            self._last_pane = widget
        if widget is not None and widget.id in VIEWS and widget.id != self.bottom:
            # Reached by Tab or a click: a hidden pane is never focused, but
            # keep the slot and the focus in agreement all the same.
            self.bottom = widget.id

    def action_help(self) -> None:
        # The lists' own keys (instances, mounted or not, carry their bindings).
        from .debug_lists import BreakpointList, HealthList, WatchList
        from .help import HelpScreen, key_rows
        from .overview import Overview

        lists = [BreakpointList(), HealthList(), WatchList()]
        rows = key_rows([self, self.query_one(ExplainPane), Overview(), *lists, self.model_panel, self.app])
        notes = [tr("← → step wherever the focus is, except in the model panel's input (Esc leaves "
                    "it). ↑ ↓ select a unit, except in the explain pane, which they scroll, and in "
                    "the lists, where they move. A key that cannot act says why in the status line.")]
        self.app.push_screen(HelpScreen(rows, notes))

    def action_open_trace(self) -> None:
        def opened(path: str | None) -> None:
            if path:
                self.open_trace(path)

        from .dialogs import OpenTraceScreen

        self.app.push_screen(OpenTraceScreen(), opened)

    @work(thread=True, exclusive=True, exit_on_error=False, group="trace",
          description="Opening a trace file")
    def open_trace(self, path: str) -> None:
        """Load a trace file off the UI thread (a compressed trace is read
        whole, a small one copied into memory: ``files.in_memory``); the
        result arrives as a ``TraceReady`` message. The core refuses what is
        not a regular file (a FIFO, a device) before opening it."""
        trace = in_memory(load_trace(os.path.expanduser(path)))
        if not get_current_worker().is_cancelled:  # a later ``o`` replaced this one
            self.post_message(TraceReady(trace, str(path)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place the screen's worker failures land, each as one
        line (``files.error_line``), never as markup: the text comes from
        file names and file contents."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if event.worker.name == "run_scan":
            self.notify(error_line(error), title=tr("scan failed"), severity="error", markup=False)
            if event.worker.group == "scan-diff":
                self._set_busy("diff", "")
            if self.findings is None:
                self.findings = ()
        elif event.worker.group == "trace":
            # The trace on screen stays.
            self.notify(error_line(error), title=tr("could not open the trace"), severity="error",
                        markup=False)
        elif event.worker.name == "run_hits":
            self.notify(error_line(error), title=tr("could not find the breakpoints' hits"), severity="error",
                        markup=False)
            self._hits_key = None
            self._waiting = None
            self._set_busy("hits", "")
        elif event.worker.name == "run_scales":
            self.notify(error_line(error), title=tr("could not size the bars"), severity="error",
                        markup=False)

    def action_redraw(self) -> None:
        """ctrl+l, as in a shell or an editor: only changed cells are sent to
        the terminal, so whatever wrote over it (a wall message, a stray
        background job) would stay until those cells change."""
        self.app.redraw()

    def action_toggle_theme(self) -> None:
        self.app.theme = "textual-light" if self.app.current_theme.dark else "textual-dark"

    def action_save_screenshot(self) -> None:
        """Save the screen as SVG in the working directory, under a new name
        (never over another file), written whole or not at all; a directory
        that cannot be written to is said in a notice, and the app goes on.
        In a browser (``lstm-tui serve``) the working directory is the
        server's, which the person at the browser may not even reach: the
        SVG is sent to the browser as a download instead."""
        svg = self.app.export_screenshot()
        if self.app.is_web:
            name = screenshot_name(self.app.title)
            # No delivery ``name``: Textual answers a "screenshot" with a
            # notice of its own, in English, beside this one.
            self.app.deliver_text(io.StringIO(svg), save_filename=name, open_method="download",
                                  mime_type="image/svg+xml")
            self.notify(tr("sent {name} to the browser", name=name), title=tr("screenshot"), markup=False)
            return
        try:
            path = Path(screenshot_name(self.app.title)).absolute()  # (named in full in the notices)
            write_atomically(path, lambda fp: fp.write(svg.encode("utf-8")), overwrite=False,
                             what="the screenshot")
        except (LstmTuiError, OSError) as e:
            self.notify(error_line(e), title=tr("screenshot not saved"), severity="error", markup=False)
            return
        self.notify(tr("saved {path}", path=path), title=tr("screenshot"), markup=False)

    # -- the trace's file changes underneath ---------------------------------------

    def _runs_on_screen(self) -> Iterator[tuple[str, Trace]]:
        for run, trace in (("a", self.trace), ("b", self.other)):
            if trace is not None and trace.path is not None:
                yield run, trace

    def check_files(self) -> bool:
        """Look whether the file of the trace on screen (or of the second
        run) changed since it was loaded, before anything new is read from
        it: the app calls this before every key, click and resize it
        handles, and once a second.

        A change is handled once: a memory-mapped trace is let go of at once
        (the screen shows a ``files.placeholder`` meanwhile: reading a page of
        a truncated file kills the process), and the file is loaded again in
        a worker (``TraceReloaded``). A trace held in memory stays on screen
        until then. True when a trace was let go of: the key that found the
        change is then not applied."""
        dropped = False
        for run, trace in list(self._runs_on_screen()):
            why = trace.changed_on_disk()
            if why is None:
                continue
            state = file_state(trace.path)
            if trace in self._handled and self._handled[trace] == state:
                continue  # handled already: a trace kept in memory whose file did not load
            self._handled[trace] = state
            if is_mapped(trace):
                self._let_go(run, trace, why)
                dropped = True
            self._reload(run, trace, why)
        return dropped

    def _let_go(self, run: str, trace: Trace, why: str) -> None:
        """Stop reading the mapped ``trace`` (run A or B) at once."""
        for worker in list(self.workers):
            if worker.node is self and worker.name in ("run_scan", "run_scales", "run_hits"):
                worker.cancel()  # the scales pass stops at its next block
        if run == "b":
            self._detached_b = _Detached(trace, self.layer_index, self.t, self.unit, None, self.run)
            self.go(other=None)
            self.session.diff_report = None
            self._refresh_keys()
            return
        self._detached = _Detached(trace, self.layer_index, self.t, self.unit, self.other, self.run)
        self._detached_b = None
        # The trace first: every pane redraws on the change of any of its
        # inputs, and none may read the old arrays again.
        self._show(View(placeholder(trace)))  # compared again if A loads and B is unchanged
        self.note = StatusNote(loading_again(source_label(trace), say(why)), "warning")

    def _reload(self, run: str, old: Trace, why: str) -> None:
        self.run_worker(partial(self._reload_work, run, old, why), name="reload", group=f"reload-{run}",
                        description="Loading a changed trace file again", thread=True, exclusive=True,
                        exit_on_error=False)

    def _reload_work(self, run: str, old: Trace, why: str) -> None:
        assert old.path is not None
        trace: Trace | None = None
        error: str | None = None
        try:
            trace = in_memory(load_trace(old.path))
        except TraceError as e:
            error = e.why  # the path is said once, by the message
        except Exception as e:  # noqa: BLE001 - whatever the file holds now, said in one line
            error = error_line(e)
        if not get_current_worker().is_cancelled:
            self.post_message(TraceReloaded(run, old, why, trace, error))

    def on_trace_reloaded(self, message: TraceReloaded) -> None:
        message.stop()
        old = message.old
        name = source_label(old)
        if message.run == "a":
            detached = self._detached if self._detached is not None and self._detached.old is old else None
            if self.trace is not old and not (detached is not None and isinstance(self.trace, Placeholder)):
                return  # another trace was opened meanwhile
            notice = reload_notice("a", name, say(message.why), message.error, let_go=detached is not None)
            if message.trace is not None:
                self._take_reloaded(message.trace, detached)
                self._say(notice)
                return
            if detached is None:
                self._say(notice)  # in memory: what was loaded is intact, and stays
                return
            self._detached = None
            self.note = StatusNote(tr(NO_LONGER_LOADS), "error")
            from .dialogs import FileChangedScreen

            def chosen(choice: str | None) -> None:
                if choice == "open":
                    self.action_open_trace()

            self.app.push_screen(FileChangedScreen(notice.text), chosen)
            return
        detached = self._detached_b if self._detached_b is not None and self._detached_b.old is old else None
        if self.other is not old and detached is None:
            return  # the comparison was closed or changed meanwhile
        self._detached_b = None
        if message.trace is None:
            self._say(reload_notice("b", name, say(message.why), message.error, let_go=detached is not None))
            return
        from ..debug.diff import Incomparable, check_comparable

        try:
            check_comparable(self.trace, message.trace)
        except Incomparable as e:
            self.go(other=None)
            self.session.diff_report = None
            self._refresh_keys()
            self._say(reload_notice("b", name, say(message.why), incomparable=say(e)))
            return
        run = detached.run if detached is not None else self.run
        self.go(other=message.trace, run=run)
        self.session.diff_report = None
        self._start_scans(health=False)
        self._refresh_keys()
        self._say(reload_notice("b", name, say(message.why)))

    def _say(self, notice: Notice) -> None:
        """Notify ``notice`` (its text comes from file names and file
        contents: never markup)."""
        self.notify(notice.text, title=notice.title, severity=notice.severity,
                    timeout=notice.timeout, markup=False)

    def _take_reloaded(self, trace: Trace, detached: _Detached | None) -> None:
        """Show the reloaded ``trace`` where the screen stood (clamped into
        it), and compare it again with B if the screen had let go of both
        and B's file is unchanged."""
        layer, t, unit = (detached.layer, detached.t, detached.unit) if detached is not None \
            else (self.layer_index, self.t, self.unit)
        self._detached = None
        self.note = None
        # A comparison still open goes on if B matches the reloaded trace.
        other = self._compared_with(trace, self.other, tr("comparison closed: the new trace does not match B"))
        run = self.run
        resumed = detached.other if detached is not None else None
        if resumed is not None and not (is_mapped(resumed) and resumed.changed_on_disk() is not None):
            # The screen let go of both: B comes back if its file is
            # unchanged and it matches (B changed too: it is not read again).
            other = self._compared_with(trace, resumed,
                                        tr("comparison closed: the reloaded trace does not match B"))
            run = detached.run if detached is not None else "a"
        self._show(View(trace, other, run, layer, t, unit))

    # -- messages from the panes -------------------------------------------------

    def on_unit_picked(self, message: UnitPicked) -> None:
        self.go(unit=message.unit)

    def on_step_picked(self, message: StepPicked) -> None:
        self.go(t=message.t)

    def on_trace_ready(self, message: TraceReady) -> None:
        message.stop()
        self.set_trace(message.trace)
        origin = message.origin
        if origin.startswith("live:"):
            origin = tr("live: {text}", text=origin[len("live:"):].lstrip())
        self.notify(origin, title=tr("trace opened"), markup=False)  # a path, not markup
        if message.origin.startswith("live:"):
            self.model_panel.remove_class("-shown")
            self.focus_panes()

    # -- command palette -----------------------------------------------------------

    def palette_commands(self) -> Iterator[tuple[str, Callable[[], Any], str]]:
        """(name, callback, help) for the palette: the bindings that can act
        now, then one entry per layer."""
        from .help import key_rows

        for row in key_rows([self]):
            _, name, params = parse_action(row.binding.action)
            if not self.check_action(name, params):
                continue
            yield (row.description, binding_command(self, row.binding.action),
                   tr("key {keys}", keys=" ".join(row.keys)))
        for k, layer in enumerate(self.trace.layers):
            yield (tr("Switch to {layer}", layer=layer_label(k, layer)), partial(self.switch_layer, k),
                   tr("show layer {k} (current)", k=k) if k == self.layer_index else tr("show layer {k}", k=k))


class LstmTuiApp(Translated, CellDiffingDisplay, App[None]):
    """A terminal step-through debugger for LSTM forward passes."""

    CSS_PATH = "app.tcss"
    TITLE = "lstm-tui"
    #: The help screen's section of the app's keys (``help``).
    BINDING_GROUP_TITLE = "App"
    COMMANDS = App.COMMANDS | {DebuggerCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+p", "command_palette", "Command palette", id="command_palette",
                show=False, priority=True),
    ]

    def __init__(
        self,
        trace: Trace,
        *,
        model_path: str | os.PathLike[str] | None = None,
        title: str | None = None,
        load_model: bool = True,
        predictor_loader: PredictorLoader | None = None,
        model_autoload: float | None = None,
        diff: Trace | None = None,
        layer: int = 0,
        step: int = 0,
        unit: int = 0,
        breakpoints: Sequence[Condition] = (),
        lesson_stage: int | None = None,
    ) -> None:
        super().__init__()
        self._initial_trace = trace
        #: None: the debugger; a stage (1…7): the guided lesson (``lesson``).
        self._lesson_stage = lesson_stage
        #: The loop's default executor while the app runs (``threads``).
        self._executor: DaemonExecutor | None = None
        self._screen_options = dict(
            model_path=model_path,
            load_model=load_model,
            predictor_loader=predictor_loader,
            model_autoload=model_autoload,
            other=diff,
            layer=layer,
            t=step,
            unit=unit,
            breakpoints=tuple(breakpoints),
        )
        if title:
            self.title = title

    def on_load(self) -> None:
        # Thread workers run in daemon threads that nothing waits for: a
        # worker stuck in a read cannot keep ``q`` from ending the app
        # (``threads`` says why, and ``run`` how the process then ends).
        self._executor = DaemonExecutor()
        asyncio.get_running_loop().set_default_executor(self._executor)

    def on_mount(self) -> None:
        # For a file that changes while no key is pressed.
        self.set_interval(FILE_CHECK_SECONDS, self._check_files)

    def _check_files(self) -> bool:
        stack = self.screen_stack
        screen = stack[0] if stack else None
        if not isinstance(screen, DebuggerScreen) or not screen.is_mounted or self._exit:
            return False
        return screen.check_files()

    async def on_event(self, event: events.Event) -> None:
        """Before the app handles a key, a click, a wheel turn, a paste or a
        resize, the debugger looks whether the files of its traces changed
        (``DebuggerScreen.check_files``): any of these may read steps not
        read yet, and a read past the end of a truncated mapped file ends
        the process. A key that finds such a change is not applied: the
        trace it was meant for is gone."""
        if isinstance(event, (events.InputEvent, events.Paste, events.Resize)) \
                and not getattr(event, "is_forwarded", False):
            if self._check_files() and isinstance(event, events.Key):
                return
        await super().on_event(event)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """``App.run``; and when a worker thread is still running once the
        app has closed (a load stuck on a file that never answers), end the
        process here with the app's exit code: the terminal is restored and
        Textual's report printed by now, and waiting for the thread, or an
        interpreter exit that tears modules down under it, could hang or
        crash (see ``threads``)."""
        result = super().run(*args, **kwargs)
        if self._executor is not None and self._executor.busy():
            for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
                try:
                    if stream is not None:
                        stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(self.return_code or 0)
        return result

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        # Only Textual's own Linux/macOS driver: not Windows, and not a driver
        # chosen with TEXTUAL_DRIVER.
        if driver.__module__ == "textual.drivers.linux_driver" and driver.__name__ == "LinuxDriver":
            from .driver import OwnDescriptorDriver

            return OwnDescriptorDriver
        # In a browser (textual-serve chooses it through TEXTUAL_DRIVER): see web_driver.
        if driver.__module__ == "textual.drivers.web_driver" and driver.__name__ == "WebDriver":
            from .web_driver import SerialWebDriver

            return SerialWebDriver
        return driver

    async def run_action(self, action: Any, default_namespace: Any = None,
                         namespaces: Any = None) -> bool:
        """Run an action (a key's, a palette command's), unless the node it
        is bound to refuses it now: then the status line says why, where a
        dimmed key would have done nothing (``refusals``)."""
        screen = default_namespace if isinstance(default_namespace, Screen) \
            else getattr(default_namespace, "screen", None)
        refusal = refusal_for(action, default_namespace)
        if refusal is not None:
            # Handled: the key does not fall through to another binding.
            if isinstance(screen, DebuggerScreen):
                screen.refuse(refusal)
            else:
                self.notify(say(refusal.reason), severity="warning", markup=False)
            return True
        if isinstance(screen, DebuggerScreen):
            screen.forget_refusal()  # this key acts: the reason for the last one is old news
        return await super().run_action(action, default_namespace, namespaces)

    def get_default_screen(self) -> Screen[Any]:
        if self._lesson_stage is not None:
            from .lesson import LessonScreen

            return LessonScreen(self._initial_trace, stage=self._lesson_stage, **self._screen_options)
        return DebuggerScreen(self._initial_trace, **self._screen_options)  # type: ignore[arg-type]

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own palette commands (theme, quit, keys, screenshot), their
        titles and help in the screen's language: they sit in the same list
        as the debugger's."""
        for command in super().get_system_commands(screen):
            yield command._replace(title=tr(command.title), help=tr(command.help))

    def action_command_palette(self) -> None:
        """Textual's palette, with its prompt in the screen's language."""
        # App[None] is an App[object] for is_open's purpose (it only reads the screen stack).
        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(CommandPalette(id="--command-palette", placeholder=tr("Search for commands…")))

    @property
    def debugger(self) -> DebuggerScreen:
        """The debugger screen (the bottom of the screen stack)."""
        screen = self.screen_stack[0]
        assert isinstance(screen, DebuggerScreen)
        return screen


def make_app(
    trace: Trace,
    *,
    model_path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    load_model: bool = True,
    predictor_loader: PredictorLoader | None = None,
    model_autoload: float | None = None,
    diff: Trace | None = None,
    lang: str | None = None,
    layer: int = 0,
    step: int = 0,
    unit: int = 0,
    breakpoints: Sequence[Condition] = (),
    lesson_stage: int | None = None,
) -> LstmTuiApp:
    """Build the debugger for ``trace``.

    ``model_path`` is the Keras model the side panel queries (None: the
    bundled next-letter model). ``load_model=False`` never loads it (no
    TensorFlow at all); by default it loads the first time the panel is
    used, or ``model_autoload`` seconds after start when that is set.
    ``predictor_loader`` replaces the Keras bridge (tests use a fake).
    ``diff`` is a second run of the same network to step through with it
    (B − A in the panes); ``Incomparable`` if its layers do not match.
    ``layer``, ``step`` and ``unit`` say where to open (clamped into the
    trace), ``breakpoints`` are conditions already fitted to the trace
    (``Condition.check``), and ``lesson_stage`` (1…7) opens the guided
    lesson (``lesson.LessonScreen``) at that stage instead of the debugger.
    Traces from files smaller than ``files.IN_MEMORY_BELOW`` are copied into
    memory, so that the file changing underneath cannot hurt them.
    ``lang`` ("en" or "pt") sets the screen's language, which is the
    process's (``catalogue.set_language``); None leaves it as it is
    (English unless set).
    """
    if lang is not None:
        set_language(lang)
    if diff is not None:
        from ..debug.diff import check_comparable

        check_comparable(trace, diff)
        diff = in_memory(diff)
    return LstmTuiApp(
        in_memory(trace),
        model_path=Path(model_path) if model_path is not None else None,
        title=title,
        load_model=load_model,
        predictor_loader=predictor_loader,
        model_autoload=model_autoload,
        diff=diff,
        layer=layer,
        step=step,
        unit=unit,
        breakpoints=breakpoints,
        lesson_stage=lesson_stage,
    )
