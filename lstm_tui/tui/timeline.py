"""The timeline: the selected unit's f, i, ĉ, c, o and h across all steps.

One cell per step, ``▁▂▃▄▅▆▇█`` on the same fixed scales as the panes, and a
marker at t: the cell at t in reverse video on every row and ``▲`` on the
axis below. A trace longer than the pane scrolls horizontally so the marker
stays in view; the row labels stay put.

When breakpoints are set, a row ``b`` under the series marks with ``●``
every step where an enabled one holds (the screen hands down the steps,
evaluated once per condition and layer by the core), so the next stop is
in sight before ``c`` is pressed.

When two runs are compared it shows the run the panes show: A, B, or B − A
(on the symmetric scale of the B − A panes, ``runs``), and under the series
how long the change lives: the selected unit's |B − A| (``Δc,h``) and each
layer's largest (``ΔL0``…), on a log scale, beyond the tolerance in the
error colour. ``M`` adds a memory row (``Π``): how much of c at a chosen
step is left at each later step (``lifetime`` says how each is drawn).

Line API again, and nothing is O(T): a series row is built only for a
chunk of steps around the window on screen (twice its width, aligned so that
following t rebuilds it once a screenful), with the cells computed by NumPy,
and cached by (row, unit, chunk); moving t inside the chunk only crops the
cached strip and restyles one cell. Reading a unit's whole column of a
memory-mapped trace would touch every page of six arrays (a gigabyte for a
long trace); a chunk touches a few hundred pages.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.content import Content
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from ..core.trace import Layer
from ..core.vocabulary import VECTORS, symbol
from ..debug import lifetime as life
from ..debug.session import View
from . import draw, runs
from .catalogue import tr
from .lifetime import MemoryFrom, difference_cells, log_scale, memory_label, scale_label
from .messages import StepPicked
from .view import ShowsView, step_only

#: (vector, label) per row, in the notebook's order of the cell update.
SERIES = tuple((v, symbol(v)) for v in VECTORS if v != "x")
LABEL_WIDTH = 3
ROWS = len(SERIES) + 1  # + the axis
#: A step where a breakpoint holds, and one where none does.
HIT = "●"
NO_HIT = "·"


#: The key of the breakpoint row's chunk in the row cache.
HITS_ROW = -1
#: The keys of the difference rows (the unit's; layer k's is LAYER_ROW - k)
#: and of the memory row.
UNIT_ROW = -2
MEMORY_ROW = -3
LAYER_ROW = -10
#: The label column with difference rows ("ΔL10 ") and with the memory row
#: ("Π 0.37 ").
DIFF_LABEL_WIDTH = 5
MEMORY_LABEL_WIDTH = 7
#: Difference windows kept (a layer's per chunk: the bounds cost a
#: recomputation of the window's steps, not redone for another unit).
WINDOWS_KEPT = 16


class _Cancelled(Exception):
    """Raised in the memory worker once it is cancelled."""


def _runs(chars: np.ndarray, kind: np.ndarray, styles: tuple[Style, ...]) -> Strip:
    """One cell per character of ``chars``, styled ``styles[kind]``; runs of
    one style become one segment."""
    text = "".join(chars.tolist())
    edges = [0, *(np.flatnonzero(np.diff(kind)) + 1).tolist(), len(kind)]
    segments = [Segment(text[a:b], styles[int(kind[a])]) for a, b in zip(edges, edges[1:]) if b > a]
    return Strip(segments, len(text))


class Marks:
    """The steps to mark on the breakpoint row: a (T,) bool array. Held by
    a reactive, so it compares by identity (not element by element): a new
    ``Marks`` is a new set of hits. ``pending``: some enabled breakpoint's
    hits are still being scanned for (the row's label says so: ``b…``)."""

    __slots__ = ("steps", "pending")

    def __init__(self, steps: np.ndarray, pending: bool = False) -> None:
        self.steps = steps
        self.pending = pending


class Timeline(ShowsView, ScrollView, can_focus=True, inherit_bindings=False):
    """Every step of the selected unit at a glance, with a marker at t."""

    COMPONENT_CLASSES = {
        "timeline--label",
        "timeline--series",
        "timeline--marker",
        "timeline--axis",
        "timeline--warning",
        "timeline--masked",
        "timeline--hit",
        "timeline--no-hit",
        "timeline--beyond",
        "timeline--within",
        "timeline--memory",
    }

    DEFAULT_CSS = """
    Timeline {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        & > .timeline--label { color: $text-muted; text-style: bold; }
        & > .timeline--series { color: $primary; }
        /* reverse, not a background: it still shows under NO_COLOR */
        & > .timeline--marker { text-style: reverse bold; }
        & > .timeline--axis { color: $text-muted; }
        & > .timeline--warning { color: $error; text-style: bold; }
        & > .timeline--masked { color: $text-disabled; }
        & > .timeline--hit { color: $error; text-style: bold; }
        & > .timeline--no-hit { color: $text-disabled; }
        & > .timeline--beyond { color: $error; text-style: bold; }
        & > .timeline--within { color: $text-muted; }
        & > .timeline--memory { color: $secondary; }
    }
    """

    #: What is shown (bound to the debugger screen's ``view``); the series
    #: show the run the panes show ("a", "b" or "delta"), and the title says which.
    view: reactive[View | None] = reactive(None, repaint=False)
    #: Steps where an enabled breakpoint holds on this layer; None: no
    #: breakpoint is enabled, and the row is not shown.
    hits: reactive[Marks | None] = reactive(None, repaint=False)
    #: Where the memory row starts (``M``); None: no memory row.
    memory: reactive[MemoryFrom | None] = reactive(None, repaint=False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        #: row -> (first step of the chunk, its strip); -1 is the hits row.
        self._rows: dict[int, tuple[int, Strip]] = {}
        #: How many chunks were built (tests count them).
        self.chunks_built = 0
        self._x0 = 0  # first step on screen
        self._styles: dict[str, Style] | None = None
        #: ``_line_state``'s key and value.
        self._frame_key: tuple[object, ...] | None = None
        self._frame: tuple[tuple[Layer, int, int] | None, int, int] = (None, 0, 1)
        #: One more for every new view: the key of ``_line_state``'s cache.
        self._generation = 0
        #: (A, B) -> (layer, start, stop) -> the difference of that window.
        self._windows: dict[tuple[int, int, int], life.DiffWindow] = {}
        self._windows_of: tuple[object, object] | None = None
        #: (first step, values) of the memory row's chunk, for its label.
        self._memory_values: tuple[int, np.ndarray] | None = None
        #: The memory whose checkpoints a worker is extending, and to where.
        self._memory_pending: tuple[life.Memory, int] | None = None

    def _state(self) -> tuple[Layer, int, int] | None:
        layer = self._layer()
        if layer is None:
            return None
        return layer, self.t, self.unit

    def _invalidate_rows(self) -> None:
        self._rows.clear()
        self._frame_key = None
        self._moved()

    def _memory_from(self) -> int | None:
        """The memory row's first step, when it is shown for this trace."""
        memory = self.memory
        if memory is None or memory.trace is not self.trace:
            return None
        return memory.s

    def _layout(self) -> tuple[int, ...]:
        """The rows, top to bottom, by their keys in the row cache: the
        series (0…5), the difference rows, the memory row, the hits; the
        axis is under them all."""
        rows = list(range(len(SERIES)))
        trace, other = self.trace, self.other
        if trace is not None and other is not None:
            rows += [UNIT_ROW, *(LAYER_ROW - k for k in range(len(trace.layers)))]
        if self._memory_from() is not None:
            rows.append(MEMORY_ROW)
        if self.hits is not None:
            rows.append(HITS_ROW)
        return tuple(rows)

    @property
    def _row_count(self) -> int:
        return len(self._layout()) + 1

    @property
    def _label_width(self) -> int:
        if self._memory_from() is not None:
            return MEMORY_LABEL_WIDTH
        return DIFF_LABEL_WIDTH if self.other is not None else LABEL_WIDTH

    def fit_height(self) -> None:
        """Room for the difference and memory rows: the height of every
        row (the axis too, unless the screen is tiny: then it goes, as
        without them); without them, the stylesheet's height."""
        extra = self.other is not None or self._memory_from() is not None
        if not extra:
            self.styles.clear_rule("height")
            return
        tiny = self.is_attached and self.screen.has_class("-tiny")
        self.styles.height = self._row_count + 1 - tiny

    def _moved(self) -> None:
        state = self._state()
        self.virtual_size = Size(1, self._row_count)
        if state is not None:
            layer, t, unit = state
            assert self.trace is not None
            title: list[str | tuple[str, str]] = [(tr("timeline"), "bold"), "  " + tr("unit {unit}", unit=unit)
                                                  + f" · t = {t}"]
            run = self.run
            scale = runs.stats(self.trace, self.other, run, self.layer_index, "c").scale
            title.append((f"  c {scale.label()}", "dim"))
            if self.other is not None:
                title.append(("  " + (tr("run {run}", run=runs.LABELS[run]) if run != "delta" else runs.LABELS[run]),
                              "bold"))
                title.append((f"  Δ log {scale_label(self._difference_scale())}", "dim"))
            s = self._memory_from()
            if s is not None:
                title.append(("  " + tr("Π f from t = {s}", s=s), "dim"))
            self.border_title = Content.assemble(*title)
        self.fit_height()
        self._follow()
        self.refresh()

    def watch_view(self, old: View | None, new: View | None) -> None:
        self._generation += 1
        if step_only(old, new):
            # The series do not depend on t: only the window and the marker move.
            self._moved()
        else:
            self._invalidate_rows()

    def watch_memory(self) -> None:
        self._rows.pop(MEMORY_ROW, None)
        self._memory_values = None
        self._frame_key = None
        self._moved()

    def watch_hits(self) -> None:
        self._rows.pop(HITS_ROW, None)
        # One more row while there are breakpoints (the CSS gives it room).
        self.set_class(self.hits is not None, "-hits")
        self._moved()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rows.clear()
        self._styles = None

    def _line_styles(self) -> dict[str, Style]:
        """The styles of the labels, the axis and the marker, looked up once
        per theme rather than on every line of every frame."""
        if self._styles is None:
            base = self.rich_style
            self._styles = {
                "label": base + draw.component_style(self, "timeline--label"),
                "axis": base + draw.component_style(self, "timeline--axis"),
                "marker": self.get_component_rich_style("timeline--marker", partial=True),
            }
        return self._styles

    def on_resize(self, event: events.Resize) -> None:
        self._follow()

    @property
    def _span(self) -> int:
        """How many steps fit beside the labels."""
        return max(self.scrollable_content_region.width - self._label_width, 1)

    def _follow(self) -> None:
        """Scroll horizontally so the step t is on screen, with a few steps
        of context ahead of it when the trace goes on."""
        state = self._state()
        if state is None:
            return
        layer, t, _ = state
        span = self._span
        margin = min(4, span // 4)
        if t < self._x0 + margin:
            self._x0 = t - margin
        elif t >= self._x0 + span - margin:
            self._x0 = t - span + margin + 1
        self._x0 = max(0, min(self._x0, max(layer.steps - span, 0)))

    def _chunk(self, steps: int) -> tuple[int, int]:
        """(first step, length) of the chunk of steps that holds the window:
        twice the span, starting on a multiple of the span."""
        span = self._span
        start = self._x0 // span * span
        return start, max(0, min(start + 2 * span, steps) - start)

    def _cached(self, row: int, steps: int, build) -> tuple[int, Strip]:
        start, length = self._chunk(steps)
        found = self._rows.get(row)
        if found is not None and found[0] == start and found[1].cell_length == length:
            return found
        found = self._rows[row] = (start, build(start, start + length))
        self.chunks_built += 1
        return found

    def _series_strip(self, row: int, layer: Layer, unit: int) -> tuple[int, Strip]:
        """(first step, strip) of the chunk of series ``row`` around the window."""
        vector, _ = SERIES[row]

        def build(a: int, b: int) -> Strip:
            assert self.trace is not None
            k, run = self.layer_index, self.run
            scale = runs.stats(self.trace, self.other, run, k, vector).scale
            values, missing = runs.series(self.trace, self.other, run, k, vector, unit, a, b)
            base = self.rich_style
            styles = (base + draw.component_style(self, "timeline--series"),
                      base + draw.component_style(self, "timeline--masked"),
                      base + draw.component_style(self, "timeline--warning"))
            kind = np.zeros(b - a, np.int8)
            masked = runs.step_mask(self.trace, self.other, run, k, a, b)
            if masked is not None:
                kind[masked] = 1
            kind[~np.isfinite(values)] = 2
            chars = draw.sparks(values, scale)
            # Steps run B does not have: blank, not a NaN alarm.
            chars[missing] = " "
            kind[missing] = 1
            return _runs(chars, kind, styles)

        return self._cached(row, layer.steps, build)

    def _hits_strip(self, steps: int) -> tuple[int, Strip]:
        """``●`` at every hit, a faint ``·`` elsewhere, for the chunk around
        the window."""

        def build(a: int, b: int) -> Strip:
            on = np.zeros(b - a, bool) if self.hits is None else np.asarray(self.hits.steps[a:b], bool)
            base = self.rich_style
            styles = (base + draw.component_style(self, "timeline--no-hit"),
                      base + draw.component_style(self, "timeline--hit"))
            return _runs(np.where(on, HIT, NO_HIT), on.astype(np.int8), styles)

        return self._cached(HITS_ROW, steps, build)

    def _difference_scale(self):
        """The difference rows' log scale: up to the largest finite |B − A|
        of any vector of any layer (the B − A panes' scales, each taken
        once per pair), so a block means the same on every row."""
        assert self.trace is not None
        largest = 0.0
        for k in range(len(self.trace.layers)):
            for v in draw.VECTOR_NAMES:
                scale = runs.stats(self.trace, self.other, "delta", k, v).scale
                # The panes draw a vector with no difference at all on ±1
                # (that very object): no difference is 0 here, not 1.
                if scale is not draw.SIGNED_SCALE:
                    largest = max(largest, scale.hi)
        return log_scale(largest)

    def _window(self, k: int, a: int, b: int) -> life.DiffWindow:
        """How far the runs are apart in layer ``k`` over steps a … b-1
        (``debug.lifetime``), kept for the pair: another unit reads it again."""
        pair = (self.trace, self.other)
        if self._windows_of is None or self._windows_of[0] is not pair[0] or self._windows_of[1] is not pair[1]:
            self._windows.clear()
            self._windows_of = pair
        found = self._windows.get((k, a, b))
        if found is None:
            assert self.trace is not None and self.other is not None
            if len(self._windows) >= WINDOWS_KEPT:
                self._windows.pop(next(iter(self._windows)))
            found = self._windows[(k, a, b)] = life.diff_window(self.trace, self.other, k, a, b)
        return found

    def _difference_strip(self, row: int, layer: Layer, unit: int) -> tuple[int, Strip]:
        """The unit's (``UNIT_ROW``) or a layer's difference row, for the
        chunk around the window: blocks on the log scale, beyond the
        tolerance in the error colour."""

        def build(a: int, b: int) -> Strip:
            k = self.layer_index if row == UNIT_ROW else LAYER_ROW - row
            window = self._window(k, a, b)
            values, over = window.unit(unit) if row == UNIT_ROW else (window.layer, window.layer_beyond)
            base = self.rich_style
            styles = (base + draw.component_style(self, "timeline--within"),
                      base + draw.component_style(self, "timeline--beyond"))
            chars = np.full(b - a, " ")
            kind = np.zeros(b - a, np.int8)
            n = window.steps  # steps run B does not have stay blank
            chars[:n] = difference_cells(values, self._difference_scale())
            kind[:n] = over
            return _runs(chars, kind, styles)

        return self._cached(row, layer.steps, build)

    def _memory_strip(self, layer: Layer, unit: int, s: int) -> tuple[int, Strip] | None:
        """The memory row's chunk, or None while a worker reads the product
        up to it (a chunk far from s on a long trace)."""
        assert self.trace is not None
        shown = runs.shown_layer(self.trace, self.other, self.run, self.layer_index)
        memory = life.memory(shown, unit, s)
        start, _ = self._chunk(layer.steps)
        if not memory.ready(start):
            self._extend_memory(memory, start)
            return None

        def build(a: int, b: int) -> Strip:
            values = memory.window(a, b)
            self._memory_values = (a, values)
            base = self.rich_style
            styles = (base + draw.component_style(self, "timeline--memory"),
                      base + draw.component_style(self, "timeline--warning"), base)
            chars = draw.sparks(values, draw.GATE_SCALE)
            kind = (~np.isfinite(values)).astype(np.int8)
            before = np.arange(a, b) < s
            chars[before] = " "
            kind[before] = 2  # a segment of its own: blanks, not the row's start
            return _runs(chars, kind, styles)

        found = self._cached(MEMORY_ROW, layer.steps, build)
        if self._memory_values is None or self._memory_values[0] != found[0]:
            self._rows.pop(MEMORY_ROW, None)
            found = self._cached(MEMORY_ROW, layer.steps, build)
        return found

    def _extend_memory(self, memory: life.Memory, to: int) -> None:
        """Read the product up to step ``to`` in a thread worker (a column
        of f across a long trace), then draw the row."""
        if self._memory_pending == (memory, to):
            return
        self._memory_pending = (memory, to)

        def work() -> None:
            worker = get_current_worker()

            def check() -> None:
                if worker.is_cancelled:
                    raise _Cancelled

            try:
                memory.extend(to, check)
            except _Cancelled:
                return
            self.app.call_from_thread(self._memory_extended, memory, to)

        self.run_worker(work, name="memory", group="memory", description="Multiplying f from the memory's step",
                        thread=True, exclusive=True, exit_on_error=False)

    def _memory_extended(self, memory: life.Memory, to: int) -> None:
        if self._memory_pending == (memory, to):
            self._memory_pending = None
        self._rows.pop(MEMORY_ROW, None)
        self.refresh()

    def _memory_label(self, t: int, s: int) -> str:
        """``Π`` and the value at t (``Π …`` while it is being read)."""
        found = self._memory_values
        if t < s:
            return memory_label(None)
        if found is None or not 0 <= t - found[0] < found[1].shape[0]:
            return "Π …"
        return memory_label(float(found[1][t - found[0]]))

    def _axis(self, layer: Layer, t: int, span: int) -> str:
        """Tick numbers every 10 steps and ▲ under t, for the visible window."""
        cells = [" "] * span
        x0 = self._x0
        first = (x0 + 9) // 10 * 10
        for step in range(first, min(x0 + span, layer.steps), 10):
            label = str(step)
            col = step - x0
            if col + len(label) <= span and all(c == " " for c in cells[col : col + len(label)]):
                cells[col : col + len(label)] = list(label)
        col = t - x0
        if 0 <= col < span:
            cells[col] = "▲"
            # Keep a blank beside the marker so it never reads as part of a number.
            for side in (col - 1, col + 1):
                if 0 <= side < span and cells[side] != " ":
                    cells[side] = " "
        return "".join(cells)

    def _line_state(self) -> tuple[tuple[Layer, int, int] | None, int, int]:
        """(state, width, span) for the lines of this frame, worked out once
        per frame rather than once per line."""
        width = self.scrollable_content_region.width
        key = (self._generation, width)
        if self._frame_key != key:
            # The window is placed for the width drawn at: a step taken while
            # the timeline was hidden (terminal too small) placed it for no width.
            self._follow()
            self._frame_key = key
            self._frame = (self._state(), width, max(width - self._label_width, 1))
        return self._frame

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        state, width, span = self._line_state()
        row = y + round(self.scroll_offset.y)
        if state is None or width <= 0 or row >= self._row_count:
            return Strip.blank(max(width, 0), base)
        layer, t, unit = state
        styles = self._line_styles()
        label_style = styles["label"]
        label_width = self._label_width
        layout = self._layout()
        if row == len(layout):
            axis_style = styles["axis"]
            label = Strip([Segment("t".ljust(label_width), label_style)])
            body = Strip([Segment(self._axis(layer, t, span), axis_style)])
            return Strip.join([label, body]).crop_extend(0, width, base)
        key = layout[row]
        found: tuple[int, Strip] | None
        if key == HITS_ROW:
            pending = self.hits is not None and self.hits.pending
            name, found = "b…" if pending else "b", self._hits_strip(layer.steps)
        elif key == UNIT_ROW:
            name, found = "Δc,h", self._difference_strip(key, layer, unit)
        elif key == MEMORY_ROW:
            s = self._memory_from()
            assert s is not None
            found = self._memory_strip(layer, unit, s)
            name = self._memory_label(t, s)
        elif key <= LAYER_ROW:
            name, found = tr("ΔL{k}", k=LAYER_ROW - key), self._difference_strip(key, layer, unit)
        else:
            name, found = SERIES[key][1], self._series_strip(key, layer, unit)
        label = Strip([Segment(name.ljust(label_width), label_style)])
        if found is None:
            return label.crop_extend(0, width, base)
        start, chunk = found
        x0 = self._x0
        window = chunk.crop(x0 - start, x0 - start + span)
        col = t - x0
        if 0 <= col < window.cell_length:
            marker = styles["marker"]
            before, cell, after = window.divide([col, col + 1, window.cell_length])
            # Over the cell's own style (Strip.apply_style would go under it).
            cell = Strip([Segment(seg.text, (seg.style or base) + marker) for seg in cell])
            window = Strip.join([before, cell, after])
        return Strip.join([label, window]).crop_extend(0, width, base)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        layer = self._layer()
        if offset is None or layer is None or offset.x < self._label_width:
            return
        step = self._x0 + offset.x - self._label_width
        if 0 <= step < layer.steps:
            self.post_message(StepPicked(step))
