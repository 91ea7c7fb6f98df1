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
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.css.scalar import Unit
from textual.reactive import reactive
from textual.widgets import Static

from ..core.lstm import Explanation, GateTerms, symbol
from ..core.trace import Layer, Trace
from ..core.vocabulary import GATE_NAME, GATE_VECTOR
from ..core.vocabulary import symbol as vector_symbol
from ..debug.diff import difference
from ..debug.session import View
from . import draw, runs
from .draw import fmt
from .refusals import Refusal, action_state
from .view import ShowsView

#: Gate letter → (name, symbol on screen, weight suffix).
GATE_ROWS = {g: (GATE_NAME["en"][g], vector_symbol(GATE_VECTOR[g]), g) for g in GATE_VECTOR}
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
    lines: list[Content] = []
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


#: A term of run B that differs from run A's (underlined: survives NO_COLOR).
DIFFERS = "bold underline"

#: One quantity of the comparison: its symbol, then literal text and
#: (A, B) pairs of numbers, the last pair being the result.
_Item = str | tuple[float, float]
_Row = tuple[str, list[_Item], tuple[float, float]]


def _compare_rows(a: Explanation, b: Explanation, form: str) -> list[_Row]:
    """The quantities in the notebook's order (f, i, ĉ, c, o, h), as
    ``compare_lines`` writes them in ``form``: "long" (W_f·x), "short"
    (Wx), or "values" (the results alone). The third item of a row is the
    pair of values B − A is taken of: the recorded ones, as the panes show
    them."""
    terms = a.gates is not None and b.gates is not None and form != "values"

    def gate(g: str, recorded: tuple[float, float]) -> _Row:
        _, sym, w = GATE_ROWS[g]
        if not terms:
            return sym, [recorded], recorded
        assert a.gates is not None and b.gates is not None
        ga, gb = a.gates[g], b.gates[g]
        wx, uh = ("Wx", "Uh") if form == "short" else (f"W_{w}·x", f"U_{w}·h")
        return sym, [f"{symbol(ga.act)}({wx} ", (ga.wx, gb.wx), f" + {uh} ", (ga.uh, gb.uh),
                     " + b ", (ga.b, gb.b), ") = ", (ga.value, gb.value)], recorded

    c_rec, h_rec = (a.c_recorded, b.c_recorded), (a.h_recorded, b.h_recorded)
    if form == "values":
        cell: _Row = ("c", [c_rec], c_rec)
        hidden: _Row = ("h", [h_rec], h_rec)
    else:
        cell = ("c", ["f·c_{t-1} ", (a.keep, b.keep), " + i·ĉ ", (a.write, b.write), " = ", (a.c, b.c)], c_rec)
        hidden = ("h", ["o ", (a.o, b.o), f" · {symbol(a.activation)}(c) ", (a.act_c, b.act_c), " = ",
                        (a.h, b.h)], h_rec)
    return [gate("f", (a.f, b.f)), gate("i", (a.i, b.i)), gate("c", (a.c_hat, b.c_hat)), cell,
            gate("o", (a.o, b.o)), hidden]


def _same(x: float, y: float) -> bool:
    return fmt(x) == fmt(y)


def _compare_row(sym: str, items: list[_Item], recorded: tuple[float, float],
                 check: tuple[bool, bool] = (False, False)) -> tuple[Content, Content]:
    """Run A's line and run B's line of one quantity, numbers right-aligned
    in shared columns; B's terms that differ from A's are marked, and B's
    line ends with B − A. Where ``check`` asks for it, a recomputed result
    that the recorded value contradicts (an edited what-if run, a trace
    whose weights do not give its own values) says so, as in the single-run
    lines."""
    lines: list[list[tuple[str, str] | str]] = [[(sym, "bold"), " A "], [" " * len(sym), " B "]]
    last = len(items) - 1
    for n, item in enumerate(items):
        if isinstance(item, str):
            for parts in lines:
                parts.append(item)
            continue
        width = max(len(fmt(item[0])), len(fmt(item[1])))
        for run, parts in enumerate(lines):
            v = item[run]
            style = "bold" if n == last else ""
            if run == 1 and not _same(item[0], v):
                style = DIFFERS
            parts.append((fmt(v).rjust(width), style if draw.is_finite(v) else WARN))
            if n == last and check[run] and _differs(v, recorded[run]):
                parts += ["  ", (f"≠ trace holds {fmt(recorded[run])}", WARN)]
    delta = float(difference(np.array([recorded[0]]), np.array([recorded[1]]))[0])
    lines[1] += ["  ", ("B−A ", DIM),
                 (runs.fmt_delta(delta), WARN if not draw.is_finite(delta) else ("bold" if delta != 0 else DIM))]
    a_line, b_line = lines
    return Content.assemble(*a_line), Content.assemble(*b_line)


def compare_lines(a: Explanation, b: Explanation, width: int = 1000) -> list[Content]:
    """Run A's and run B's arithmetic at the same step and unit, one line
    above the other for each of f, i, ĉ, c, o and h, so the terms line up
    and the one where the runs part stands out; B's line ends with B − A
    of the recorded value (what the B − A panes show)::

        f A σ(W_f·x 0.3100 + U_f·h 0.1200 + b 1.0000) = 0.8069
          B σ(W_f·x 0.3100 + U_f·h 0.1350 + b 1.0000) = 0.8094  B−A +0.0025

    The widest form that fits ``width`` for every line is used: full term
    labels, short ones (Wx, Uh), or the values alone."""
    lines: list[Content] = []
    masked = [name for name, e in (("A", a), ("B", b)) if e.masked]
    if masked:
        which = " and ".join(masked)
        lines.append(Content.assemble((f"masked step in {which}: ", WARN),
                                      ("the state is carried over there", DIM)))
    # The form is chosen without the "≠ trace holds" notes: a run edited at
    # this step has one, and it may wrap rather than cost every line its terms.
    for form in ("long", "short", "values"):
        rows = _compare_rows(a, b, form)
        if form == "values" or all(line.cell_length <= width for row in rows for line in _compare_row(*row)):
            break
    # Values alone are the recorded ones: nothing to check them against.
    check = (False, False) if form == "values" else (not a.masked, not b.masked)
    pairs = [_compare_row(*row, check=check) for row in rows]
    return lines + [line for pair in pairs for line in pair]


SCROLL = Binding.Group("scroll")


class ExplainPane(ShowsView, VerticalScroll, can_focus=True, inherit_bindings=False):
    """The arithmetic of the selected unit at the current step.

    Focused, it is read like pudb's panes: ↑ ↓ (k j) scroll it, line by
    line, instead of selecting a unit; ← → still step, so the arithmetic of
    the next step comes into the same place. ``z`` zooms it to the whole
    screen (a scroll container is not maximizable by default in Textual:
    this one is), which at 80×24 shows every line at once.

    When two runs are compared it follows the run the panes show: A's or
    B's arithmetic (each with its own weights), or for B − A both, one line
    above the other per quantity, with B − A at the end (``compare_lines``).
    """

    ALLOW_MAXIMIZE = True
    BINDING_GROUP_TITLE = "Explain pane"

    BINDINGS = [
        Binding("up,k", "scroll_lines(-1)", "Scroll explain up", id="explain_up", group=SCROLL),
        Binding("down,j", "scroll_lines(1)", "Scroll explain down", id="explain_down", group=SCROLL),
    ]

    DEFAULT_CSS = """
    ExplainPane {
        scrollbar-size-vertical: 1;
        & > Static { width: 1fr; }
    }
    """

    #: What is shown (bound to the debugger screen's ``view``).
    view: reactive[View | None] = reactive(None, repaint=False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        #: Rows of the text, and the width it was laid out for.
        self._rows = -1
        self._width = -1
        #: The title without the hint of lines below it.
        self._head: Content | None = None
        #: (at the top, at the bottom) when the scroll keys were last checked.
        self._edges: tuple[bool, bool] | None = None

    def compose(self):
        yield Static(id="explain-body")

    def watch_view(self, old: View | None, new: View | None) -> None:
        self._view_changed(old, new)

    def _redraw_view(self, old: View | None = None, new: View | None = None) -> None:
        self.update_explanation()

    def _compared(self) -> bool:
        return self.other is not None and self.run in ("b", "delta")

    def update_explanation(self) -> None:
        if self.trace is None or not self.is_mounted:
            return
        k, t, unit = self.layer_index, self.t, self.unit
        layer = self.trace.layers[k]
        width = self.scrollable_content_region.width or 1000
        other = self.other if self._compared() else None
        b_layer = other.layers[k] if other is not None else None
        title: list[tuple[str, str] | str] = [("explain", "bold"), f"  unit {unit} · t = {t}"]
        token = self.trace.token(layer.position(t))
        b_token = other.token(b_layer.position(t)) if other is not None and b_layer is not None \
            and t < b_layer.steps else None
        if self.run == "b" and other is not None:
            token = b_token
        if self.run == "delta" and None not in (token, b_token) and token != b_token:
            title.append(f" · token A {draw.quote(str(token))} B {draw.quote(str(b_token))}")
        elif token is not None:
            title.append(f" · token {draw.quote(token)}")
        if self.other is not None:
            title.append((f" · {'run ' if self.run != 'delta' else ''}{runs.LABELS[self.run]}", "bold"))
        self._head = Content.assemble(*title)
        if other is None or b_layer is None:
            lines = fitted_lines(layer.explain(t, unit), layer, self.trace, width)
        elif t >= b_layer.steps:
            lines = [Content.styled(f"run B has {b_layer.steps} steps: no step t = {t} to "
                                    f"{'show' if self.run == 'b' else 'compare'}", "italic")]
        elif self.run == "b":
            lines = fitted_lines(b_layer.explain(t, unit), b_layer, other, width)
        else:
            lines = compare_lines(layer.explain(t, unit), b_layer.explain(t, unit), width)
        text = Content("\n").join(lines)
        body = self.query_one("#explain-body", Static)
        # Ask for no more height than the text takes (wrapped lines counted),
        # so a tall terminal gives the rest to the panes, not to blank rows.
        rows = sum(max(1, -(-line.cell_length // max(width, 1))) for line in text.split("\n"))
        # A new layout of the whole screen only when the text's height or the
        # width it was wrapped at changed (a text first fitted to no width
        # wraps at the real one); stepping usually keeps both, and then a
        # repaint is enough.
        body.update(text, layout=(rows, width) != (self._rows, self._width))
        self._rows, self._width = rows, width
        self.fit_height()
        self._update_title()

    def fit_height(self) -> None:
        """No more rows than the text needs, and at most MAX_HEIGHT of them
        in the layout; zoomed, the whole screen."""
        if self._rows < 0:
            return
        if self.is_maximized:
            self.styles.max_height = "100%"
            return
        height = min(self._rows + 1, MAX_HEIGHT)
        current = self.styles.max_height
        if current is None or current.unit != Unit.CELLS or current.value != height:
            self.styles.max_height = height

    def _hidden_below(self) -> int:
        """How many lines of the text are below the visible ones."""
        shown = self.scrollable_content_region.height
        if shown <= 0 or self._rows < 0:
            return 0
        return max(0, self._rows - round(self.scroll_y) - shown)

    def _update_title(self) -> None:
        """The title, and when lines are cut off below, how to reach them:
        a short terminal shows only the first few."""
        if self._head is None:
            return
        below = self._hidden_below()
        if below:
            keys = "↓ or z" if self.has_focus else "E then ↓ or z"
            self.border_title = self._head + Content.styled(f" · {below} more: {keys}", DIM)
        else:
            self.border_title = self._head

    # -- keys ----------------------------------------------------------------

    def why_not(self, action: str, parameters: tuple[object, ...]) -> Refusal | None:
        """Why a scroll key cannot act (see ``refusals``): nothing hidden
        that way."""
        if action != "scroll_lines":
            return None
        delta = parameters[0] if parameters and isinstance(parameters[0], int) else 0
        if self.max_scroll_y <= 0:
            return Refusal("explain: every line is on screen")
        if delta < 0 and self.scroll_y <= 0:
            return Refusal("explain: already at the first line")
        if delta > 0 and self.scroll_y >= self.max_scroll_y:
            return Refusal("explain: already at the last line")
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action_state(self.why_not(action, parameters))

    def action_scroll_lines(self, delta: int) -> None:
        self.scroll_to(y=self.scroll_y + delta, animate=False, immediate=True)

    def _sync_keys(self) -> None:
        """Dim or light the scroll keys in the footer when an end is reached
        or left (and the title's count of lines below)."""
        edges = (self.scroll_y <= 0, self.scroll_y >= self.max_scroll_y)
        if edges != self._edges:
            self._edges = edges
            self.refresh_bindings()
        self._update_title()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._sync_keys()

    def on_resize(self) -> None:
        self._view_changed()
        self.call_after_refresh(self._sync_keys)

    def on_focus(self) -> None:
        self._update_title()

    def on_blur(self) -> None:
        self._update_title()
