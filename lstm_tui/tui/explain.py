"""The explain pane: the selected unit's arithmetic at step t, numbers filled in.

It reads like the seed notebook's loop body, in the same order — forget,
input, candidate, cell update, output, hidden — with every term of every
gate written out::

    forget     f = σ(W_f·x 0.3100 + U_f·h 0.1200 + b 1.0000) = σ(1.4300) = 0.8069

The numbers come from ``Layer.explain`` (the core); this module only lays
them out. The cell update is split into what is *kept* (f·c_{t-1}) and what
is *written* (i·ĉ), the comparison the notebook is there to teach.
"""

from __future__ import annotations

import math

import numpy as np
from textual.containers import VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from ..lstm import Explanation, GateTerms, symbol
from ..trace import Layer, Trace
from . import draw
from .bound import RedrawOnChange
from .draw import fmt

#: Gate letter → (name, symbol on screen, weight suffix).
GATE_ROWS = {
    "f": ("forget gate", "f", "f"),
    "i": ("input gate", "i", "i"),
    "c": ("candidate", "ĉ", "c"),
    "o": ("output gate", "o", "o"),
}
WARN = "bold $error"
#: The most rows the pane asks for (title rule included); more scrolls.
MAX_HEIGHT = 17
DIM = "$text-muted"


def named(line: Content, name: str, width: int) -> Content:
    """``line`` followed by a dim name ("forget gate") when there is room for
    it: the equation comes first and the name is only a reminder, so it is
    the part that goes on a narrow screen. ``width`` ≤ 0: no names at all."""
    suffix = Content.styled(f"   {name}", DIM)
    if width > 0 and line.cell_length + suffix.cell_length <= width:
        return line + suffix
    return line


def _differs(value: float, recorded: float) -> bool:
    """True when a recomputed value disagrees with the trace beyond float32
    rounding (a trace recorded in float32 is recomputed in float64)."""
    if math.isnan(value) and math.isnan(recorded):
        return False
    if not (math.isfinite(value) and math.isfinite(recorded)):
        return value != recorded
    return abs(value - recorded) > 1e-4 * max(1.0, abs(recorded))


def _num(v: float) -> tuple[str, str] | str:
    """A number, in the warning style when it is not finite."""
    text = fmt(v)
    return text if draw.is_finite(v) else (text, WARN)


def _operand(v: float) -> tuple[str, str] | str:
    """A number used as a factor or addend: negative ones in parentheses,
    so ``0.17·(-0.21)`` never reads as ``0.17·-0.21``."""
    text = fmt(v)
    if text.startswith("-"):
        text = f"({text})"
    return text if draw.is_finite(v) else (text, WARN)


def _result(v: float) -> tuple[str, str]:
    return (fmt(v), "bold") if draw.is_finite(v) else (fmt(v), WARN)


def gate_line(g: GateTerms, width: int = 1000, form: str = "long") -> Content:
    """``f = σ(W_f·x 0.3100 + U_f·h 0.1200 + b 1.0000) = σ(1.4300) = 0.8069``

    ``form`` "short" labels the terms ``Wx``, ``Uh`` (same numbers, same
    order); "split" keeps the full labels and puts the activation on a
    second line. Narrow panes use them rather than wrap mid-equation."""
    name, sym, w = GATE_ROWS[g.gate]
    act = symbol(g.act)
    wx, uh = ("Wx", "Uh") if form == "short" else (f"W_{w}·x", f"U_{w}·h")
    head: list[tuple[str, str] | str] = [
        (sym, "bold"), f" = {act}({wx} ", _num(g.wx), f" + {uh} ", _num(g.uh), " + b ", _num(g.b), ")",
    ]
    tail: list[tuple[str, str] | str] = [f" = {act}(", _num(g.pre), ") = ", _result(g.value)]
    if _differs(g.value, g.recorded):
        tail += ["  ", (f"≠ trace holds {fmt(g.recorded)}", WARN)]
    if form == "split":
        return Content.assemble(*head) + "\n" + named(Content.assemble("  ", *tail), name, width)
    return named(Content.assemble(*head, *tail), name, width)


def recorded_gate_line(gate: str, value: float, width: int = 1000) -> Content:
    """A gate without weights: only the value the trace recorded."""
    name, sym, _ = GATE_ROWS[gate]
    return named(Content.assemble((sym, "bold"), " = ", _result(value), (" (recorded)", DIM)),
                 name, width)


def cell_lines(e: Explanation, width: int = 1000) -> list[Content]:
    """c = f·c_{t-1} + i·ĉ, then the split into kept and written."""
    first = named(Content.assemble(
        ("c", "bold"), " = f·c_{t-1} + i·ĉ = ",
        _operand(e.f), "·", _operand(e.c_prev), " + ", _operand(e.i), "·", _operand(e.c_hat),
    ), "cell update", width)
    second: list[tuple[str, str] | str] = [
        "  = ", _operand(e.keep), (" kept", DIM), " + ", _operand(e.write), (" written", DIM),
        " = ", _result(e.c),
    ]
    if not e.masked and _differs(e.c, e.c_recorded):
        second += ["  ", (f"≠ trace holds {fmt(e.c_recorded)}", WARN)]
    line = Content.assemble(*second)
    if draw.is_finite(e.keep) and draw.is_finite(e.write) and abs(e.keep) != abs(e.write):
        more = "mostly remembered" if abs(e.keep) > abs(e.write) else "mostly new"
        line = named(line, more, width)
    return [first, line]


def hidden_line(e: Explanation, width: int = 1000) -> Content:
    act = symbol(e.activation)
    parts: list[tuple[str, str] | str] = [
        ("h", "bold"), f" = o·{act}(c) = ", _operand(e.o), f"·{act}(", _num(e.c), ") = ",
        _operand(e.o), "·", _operand(e.act_c), " = ", _result(e.h),
    ]
    if not e.masked and _differs(e.h, e.h_recorded):
        parts += ["  ", (f"≠ trace holds {fmt(e.h_recorded)}", WARN)]
    return named(Content.assemble(*parts), "hidden state", width)


def contribution_lines(e: Explanation, layer: Layer, trace: Trace, width: int = 1000) -> list[Content]:
    """The largest W·x terms of each gate: which inputs drive the unit."""
    if not e.contributions:
        return []
    x = np.asarray(layer.x[e.step])
    hot = draw.one_hot_index(x)
    token = trace.token(layer.position(e.step))
    lines = []
    for g, terms in e.contributions.items():
        shown = [(k, v) for k, v in terms if v != 0]
        if not shown:
            continue
        _, sym, w = GATE_ROWS[g]
        parts: list[tuple[str, str] | str] = [(f"W_{w}·x", "bold"), " "]
        for n, (k, v) in enumerate(shown):
            name = f"x[{k}]"
            if k == hot and token is not None:
                name += f"={draw.quote(token)}"
            if n:
                parts.append(", ")
            value = f"{v:+.4f}" if draw.is_finite(v) else fmt(v)
            parts += [name, " ", (value, "bold") if draw.is_finite(v) else (value, WARN)]
        line = Content.assemble(*parts)
        lines.append(named(line, "largest input terms", width) if not lines else line)
    return lines


def gate_form(e: Explanation, width: int) -> str:
    """How the four gate equations are written at ``width``: one form for all
    of them, so they still line up: the full one if it fits, else short
    labels, else the full one over two lines ("long", "short", "split")."""
    if e.gates is None:
        return "long"
    gates = e.gates
    return next((f for f in ("long", "short")
                 if all(gate_line(gates[g], 0, f).cell_length <= width for g in gates)), "split")


def explanation_lines(e: Explanation, layer: Layer, trace: Trace, width: int = 1000,
                      name_width: int | None = None, form: str | None = None) -> list[Content]:
    """All the lines of the pane for one explanation, fitted to ``width``
    where they can be; step names are added where they fit ``name_width``
    (default ``width``; 0 for none). ``form`` is ``gate_form(e, width)``
    unless given."""
    nw = width if name_width is None else name_width
    lines: list[Content] = []
    if e.masked:
        lines.append(Content.assemble(
            ("masked step: ", WARN),
            "the state is carried over, c_t = c_{t-1} = ", _num(e.c_recorded),
            " and h_t = h_{t-1} = ", _num(e.h_recorded),
            ("; the gates below were computed but not applied", DIM),
        ))
    if e.gates is None:
        lines.append(Content.styled(
            "no weights in this trace: W·x, U·h and b are unknown, the gates are as recorded", DIM
        ))
        gate_lines = {g: recorded_gate_line(g, v, nw) for g, v in
                      (("f", e.f), ("i", e.i), ("c", e.c_hat), ("o", e.o))}
    else:
        form = gate_form(e, width) if form is None else form
        gate_lines = {g: gate_line(e.gates[g], nw, form) for g in ("f", "i", "c", "o")}
    # The notebook's order: forget, input, candidate, cell update, output, hidden.
    lines += [gate_lines["f"], gate_lines["i"], gate_lines["c"]]
    lines += cell_lines(e, nw)
    lines += [gate_lines["o"], hidden_line(e, nw)]
    lines += contribution_lines(e, layer, trace, nw)
    return lines


def fitted_lines(e: Explanation, layer: Layer, trace: Trace, width: int) -> list[Content]:
    """``explanation_lines`` with the step names on every line that has one,
    or on none: names on some lines only would read as if the others had
    none."""
    form = gate_form(e, width)
    plain = explanation_lines(e, layer, trace, width, name_width=0, form=form)
    everywhere = explanation_lines(e, layer, trace, width, name_width=1 << 30, form=form)
    # A line takes its name at ``width`` exactly when the named line (its
    # last row, for an equation split over two) fits.
    named = [a if a.cell_length == b.cell_length or _last_row(b).cell_length > width else b
             for a, b in zip(plain, everywhere)]
    has_name = sum(a.cell_length != b.cell_length for a, b in zip(plain, everywhere))
    fitting = sum(a.cell_length != b.cell_length for a, b in zip(plain, named))
    return named if fitting == has_name else plain


def _last_row(line: Content) -> Content:
    return line.split("\n")[-1] if "\n" in line.plain else line


class ExplainPane(RedrawOnChange, VerticalScroll, can_focus=True, inherit_bindings=False):
    """The arithmetic of the selected unit at the current step.

    A scroll container without key bindings: arrow keys keep stepping and
    selecting units wherever focus is; a short terminal scrolls it with the
    mouse, or zooms it (``z``).
    """

    DEFAULT_CSS = """
    ExplainPane {
        scrollbar-size-vertical: 1;
        & > Static { width: 1fr; }
    }
    """

    trace: reactive[Trace | None] = reactive(None, repaint=False)
    layer_index: reactive[int] = reactive(0, repaint=False)
    t: reactive[int] = reactive(0, repaint=False)
    unit: reactive[int] = reactive(0, repaint=False)
    #: The second run when two are compared: the arithmetic is always run
    #: A's (the trace's own weights), and the title says so.
    other: reactive[Trace | None] = reactive(None, repaint=False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows = -1

    def compose(self):
        yield Static(id="explain-body")

    def watch_trace(self) -> None:
        self._state_changed()

    def watch_layer_index(self) -> None:
        self._state_changed()

    def watch_t(self) -> None:
        self._state_changed()

    def watch_unit(self) -> None:
        self._state_changed()

    def watch_other(self) -> None:
        self._state_changed()

    def _redraw_state(self) -> None:
        self.update_explanation()

    def update_explanation(self) -> None:
        if self.trace is None or not self.is_mounted:
            return
        layers = self.trace.layers
        layer = layers[min(max(self.layer_index, 0), len(layers) - 1)]
        t = min(max(self.t, 0), layer.steps - 1)
        unit = min(max(self.unit, 0), layer.units - 1)
        e = layer.explain(t, unit)
        token = self.trace.token(layer.position(t))
        title = [("explain", "bold"), f"  unit {unit} · t = {t}"]
        if token is not None:
            title.append(f" · token {draw.quote(token)}")
        if self.other is not None:
            title.append((" · run A", "bold"))
        self.border_title = Content.assemble(*title)
        body = self.query_one("#explain-body", Static)
        width = self.scrollable_content_region.width or 1000
        text = Content("\n").join(fitted_lines(e, layer, self.trace, width))
        # Ask for no more height than the text takes (wrapped lines counted),
        # so a tall terminal gives the rest to the panes, not to blank rows.
        rows = sum(max(1, -(-line.cell_length // max(width, 1))) for line in text.split("\n"))
        # A new layout of the whole screen only when the text's height
        # changed; stepping usually keeps it, and then a repaint is enough.
        body.update(text, layout=rows != self._rows)
        self._rows = rows
        height = min(rows + 1, MAX_HEIGHT)
        if self.styles.max_height is None or self.styles.max_height.value != height:
            self.styles.max_height = height

    def on_resize(self) -> None:
        self._state_changed()
