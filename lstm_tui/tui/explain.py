"""The explain pane: the selected unit's arithmetic at step t, numbers filled in.

It reads like the seed notebook's loop body, in the same order — forget,
input, candidate, cell update, output, hidden — in the notebook's notation,
h_{t-1} and c_{t-1} for the state the step starts from::

    f_t = σ(W_f·x_t -1.0705 + U_f·h_{t-1} -0.0710 + b_f 0.0000) ≈ σ(-1.1414) = 0.2421
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ ĉ_t = 0.2421 × (-0.0355) + 0.8320 × 0.5297

then each gate's two sums term by term (every term when there are at most
``EVERY_TERM``, else the largest and the rest), and on request the
activations' formulas (``F``) and one gate's every product, weight × input
= product (``p``).

**The numbers add up.** Every number is the exact value rounded to 4
decimals, the same wherever it appears. Where the numbers as written do not
give the result as written (rounded terms can miss a rounded sum in the
last place), the step is written ≈ instead of =, and a note at the end says
why: a student following the arithmetic with a calculator meets no slip
(``core.shown`` decides, in decimal arithmetic on the written numbers).

The numbers come from ``Layer.explain`` (the core); this module only lays
them out. The cell update is split into what is *kept* (f·c_{t-1}) and what
is *written* (i·ĉ), the comparison the notebook is there to teach.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.css.scalar import Unit
from textual.reactive import reactive
from textual.widgets import Static

from ..core.lstm import GATES, Explanation, GateTerms, Products, formula, symbol
from ..core.shown import adds_up, maps_to, multiplies_to
from ..core.trace import Layer, Trace
from ..core.vocabulary import GATE_NAME, GATE_VECTOR
from ..core.vocabulary import symbol as vector_symbol
from ..debug.diff import difference
from ..debug.session import View
from . import draw, runs
from .catalogue import N_, language, tr
from .draw import fmt
from .refusals import Refusal, action_state
from .translated import Translated
from .view import ShowsView

WARN = "bold $error"
#: The most rows the pane asks for (title rule included); more scrolls.
MAX_HEIGHT = 17
DIM = "$text-muted"
#: The most products of one sum the expanded gate lists (its largest by
#: |product|, then the rest summed): a 512-unit layer would otherwise put a
#: thousand lines into the pane on every step.
EXPAND_CAP = 64
#: The order ``p`` expands the gates in (then none again).
EXPAND_ORDER: tuple[str | None, ...] = (*GATES, None)

_Part = tuple[str, str] | str


def gate_symbol(gate: str) -> str:
    """``f_t``, ``ĉ_t``: a gate's vector as the notebook writes it."""
    return f"{vector_symbol(GATE_VECTOR[gate])}_t"


def gate_name(gate: str) -> str:
    """"forget gate", "porta de esquecimento": the vocabulary's name."""
    return GATE_NAME[language()][gate]


def named(line: Content, name: str, width: int) -> Content:
    """``line`` followed by a dim name ("forget gate") when there is room for
    it on its last row: the equation comes first and the name is only a
    reminder, so it is the part that goes on a narrow screen. ``width`` ≤
    0: no names at all."""
    suffix = Content.styled(f"   {name}", DIM)
    if width > 0 and _last_row(line).cell_length + suffix.cell_length <= width:
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


def _num(v: float) -> _Part:
    """A number, in the warning style when it is not finite."""
    text = fmt(v)
    return text if draw.is_finite(v) else (text, WARN)


def _operand(v: float) -> _Part:
    """A number used as a factor or addend: negative ones in parentheses,
    so ``0.17 × (-0.21)`` never reads as ``0.17 × -0.21``."""
    text = fmt(v)
    if text.startswith("-"):
        text = f"({text})"
    return text if draw.is_finite(v) else (text, WARN)


def _result(v: float) -> _Part:
    return (fmt(v), "bold") if draw.is_finite(v) else (fmt(v), WARN)


def _eq(holds: bool) -> str:
    """The relation a step is written with: = when the written numbers
    give the written result exactly, ≈ when they miss it by rounding."""
    return " = " if holds else " ≈ "


def _terms(form: str, gate: str) -> tuple[str, str, str]:
    """The labels of a gate's three terms in ``form``."""
    if form in ("long", "split"):
        return f"W_{gate}·x_t", f"U_{gate}·h_{{t-1}}", f"b_{gate}"
    if form == "short":
        return "W·x_t", "U·h_{t-1}", "b"
    return "Wx", "Uh", "b"


#: The forms of a gate's equation, widest first ("split": the widest one
#: over two rows).
GATE_FORMS = ("long", "short", "tiny", "split")


def gate_line(g: GateTerms, width: int = 1000, form: str = "long") -> Content:
    """``f_t = σ(W_f·x_t 0.3100 + U_f·h_{t-1} 0.1200 + b_f 1.0000) = σ(1.4300) = 0.8069``

    ``form`` "short" labels the terms ``W·x_t``, ``U·h_{t-1}`` and "tiny"
    ``Wx``, ``Uh`` (same numbers, same order); "split" keeps the full labels
    and puts the activation on a second row. Narrow panes use them rather
    than wrap mid-equation."""
    act = symbol(g.act)
    wx, uh, b = _terms(form, g.gate)
    head: list[_Part] = [
        (gate_symbol(g.gate), "bold"), f" = {act}({wx} ", _num(g.wx), f" + {uh} ", _num(g.uh),
        f" + {b} ", _num(g.b), ")",
    ]
    summed = adds_up([fmt(g.wx), fmt(g.uh), fmt(g.b)], fmt(g.pre))
    mapped = maps_to(g.act, fmt(g.pre), fmt(g.value))
    tail: list[_Part] = [f"{_eq(summed)}{act}(", _num(g.pre), ")", _eq(mapped), _result(g.value)]
    if _differs(g.value, g.recorded):
        tail += ["  ", (tr("≠ trace holds {value}", value=fmt(g.recorded)), WARN)]
    name = gate_name(g.gate)
    if form == "split":
        return Content.assemble(*head) + "\n" + named(Content.assemble("   ", *tail), name, width)
    return named(Content.assemble(*head, *tail), name, width)


def recorded_gate_line(gate: str, value: float, width: int = 1000) -> Content:
    """A gate without weights: only the value the trace recorded."""
    return named(Content.assemble((gate_symbol(gate), "bold"), " = ", _result(value),
                                  (" " + tr("(recorded)"), DIM)), gate_name(gate), width)


def cell_lines(e: Explanation, width: int = 1000) -> list[Content]:
    """c_t = f_t ⊙ c_{t-1} + i_t ⊙ ĉ_t with the numbers, then the split
    into kept and written."""
    first = named(Content.assemble(
        ("c_t", "bold"), " = f_t ⊙ c_{t-1} + i_t ⊙ ĉ_t = ",
        _operand(e.f), " × ", _operand(e.c_prev), " + ", _operand(e.i), " × ", _operand(e.c_hat),
    ), tr("cell update"), width)
    multiplied = (multiplies_to(fmt(e.f), fmt(e.c_prev), fmt(e.keep))
                  and multiplies_to(fmt(e.i), fmt(e.c_hat), fmt(e.write)))
    summed = adds_up([fmt(e.keep), fmt(e.write)], fmt(e.c))
    second: list[_Part] = [
        "   ", _eq(multiplied).lstrip(), _operand(e.keep), (" " + tr("kept"), DIM), " + ", _operand(e.write),
        (" " + tr("written"), DIM), _eq(summed), _result(e.c),
    ]
    if not e.masked and _differs(e.c, e.c_recorded):
        second += ["  ", (tr("≠ trace holds {value}", value=fmt(e.c_recorded)), WARN)]
    line = Content.assemble(*second)
    if draw.is_finite(e.keep) and draw.is_finite(e.write) and abs(e.keep) != abs(e.write):
        more = tr("mostly remembered") if abs(e.keep) > abs(e.write) else tr("mostly new")
        line = named(line, more, width)
    return [first, line]


def hidden_line(e: Explanation, width: int = 1000) -> Content:
    """h_t = o_t ⊙ act(c_t), the numbers filled in."""
    act = symbol(e.activation)
    mapped = maps_to(e.activation, fmt(e.c), fmt(e.act_c))
    multiplied = multiplies_to(fmt(e.o), fmt(e.act_c), fmt(e.h))
    parts: list[_Part] = [
        ("h_t", "bold"), f" = o_t ⊙ {act}(c_t) = ", _operand(e.o), f" × {act}(", _num(e.c), ")",
        _eq(mapped), _operand(e.o), " × ", _operand(e.act_c), _eq(multiplied), _result(e.h),
    ]
    if not e.masked and _differs(e.h, e.h_recorded):
        parts += ["  ", (tr("≠ trace holds {value}", value=fmt(e.h_recorded)), WARN)]
    return named(Content.assemble(*parts), tr("hidden state"), width)


def wrap(pieces: Sequence[Sequence[_Part]], width: int, indent: int) -> Content:
    """``pieces`` (each a few parts that stay together: a term and its
    sign) on as many rows as ``width`` needs, breaking only between pieces;
    rows after the first start with ``indent`` spaces (a continuation, as
    the lesson's emphasis reads it)."""
    rows: list[Content] = []
    row = Content("")
    for piece in pieces:
        part = Content.assemble(*piece)
        if row.cell_length and row.cell_length + part.cell_length > width:
            rows.append(row)
            row = Content(" " * indent) + _lstrip(part)
        else:
            row += part
    rows.append(row)
    return Content("\n").join(rows)


def _lstrip(part: Content) -> Content:
    """``part`` without its leading blanks (a term that starts a row)."""
    blanks = len(part.plain) - len(part.plain.lstrip(" "))
    return part[blanks:]


def sum_pieces(label: str, products: Products, index: str, top: int = 3,
               hot: int | None = None, token: str | None = None) -> list[list[_Part]]:
    """``W_f·x_t = W·x[0] 0.0289 + W·x[1] -0.2714 + … = -1.0705`` as pieces for
    ``wrap``: every term, or the ``top`` largest and the rest (core's
    ``Products.listed``), with = or ≈ before the total as the written
    numbers add up."""
    listed = products.listed(top)
    pieces: list[list[_Part]] = [[(label, "bold"), " ="]]
    written: list[str] = []
    for n, (j, v) in enumerate(listed.terms):
        # "W·x[2]", not "x[2]": the term is the weight times the input, and
        # a bare x[2] would read as the input's own value (shown in x_t).
        name = f"{'W' if index == 'x' else 'U'}·{index}[{j}]"
        if j == hot and token is not None:
            name += f"={draw.quote(token)}"
        pieces.append([" + " if n else " ", name, " ", _num(v)])
        written.append(fmt(v))
    if listed.rest is not None:
        pieces.append([" + " if listed.terms else " ", (tr("{n} more", n=listed.rest_count), DIM), " ",
                       _num(listed.rest)])
        written.append(fmt(listed.rest))
    pieces.append([_eq(adds_up(written, fmt(listed.total))).rstrip(), " ", _result(listed.total)])
    return pieces


def contribution_lines(e: Explanation, layer: Layer, trace: Trace, width: int = 1000,
                       name_width: int | None = None) -> list[Content]:
    """Each gate's two sums term by term: W_g·x_t over the inputs and
    U_g·h_{t-1} over the previous hidden state (which inputs and which
    units drive this one)."""
    if e.gates is None:
        return []
    nw = width if name_width is None else name_width
    x = np.asarray(layer.x[e.step])
    hot = draw.one_hot_index(x)
    token = trace.token(layer.position(e.step))
    lines: list[Content] = []
    for g in GATES:
        terms = e.gates[g]
        assert terms.x_terms is not None and terms.h_terms is not None
        wx, uh, _ = _terms("long", g)
        for label, products, index, name in ((wx, terms.x_terms, "x", tr("input terms")),
                                             (uh, terms.h_terms, "h", tr("recurrent terms"))):
            line = wrap(sum_pieces(label, products, index, hot=hot if index == "x" else None,
                                   token=token), width, 2)
            first = g == GATES[0]
            lines.append(named(line, name, nw) if first else line)
    return lines


def _aligned(rows: list[list[str]]) -> list[list[str]]:
    """Columns of text right-aligned to their widest entry."""
    if not rows:
        return rows
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return [[cell.rjust(w) for cell, w in zip(r, widths)] for r in rows]


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def product_lines(products: Products, weight: str, operand: str, label: str, unit: int,
                  hot: int | None = None, token: str | None = None, cap: int = EXPAND_CAP) -> list[Content]:
    """One of a gate's sums product by product, weight × input = product::

         W_f[0,j] × x_t[j]
         j=0   0.2514 × (-0.1156) = -0.0291
         …
         Σ W_f·x_t = -1.0705

    In index order; beyond ``cap`` products, the ``cap`` largest by
    |product| and the rest summed (how many, and their sum), so the list
    still adds up."""
    n = len(products)
    indent = "    "
    head = f"{indent}{weight}[{unit},j] × {operand}[j]"
    split = products.split(cap) if n > cap else None
    if split is not None:
        shown = [j for j, _ in split.terms]
        head += "   " + tr("the {cap} largest of {n} by |product|", cap=cap, n=n)
    else:
        shown = list(range(n))
    lines = [Content.styled(head, DIM)]
    cells = []
    for j in shown:
        w, x, p = (fmt(products.weights[j]), fmt(products.operands[j]), fmt(products.products[j]))
        cells.append([f"j={j}", w, _paren(x), p, "=" if multiplies_to(w, x, p) else "≈"])
    for (j_text, w, x, p, eq), j in zip(_aligned(cells), shown):
        value = float(products.products[j])
        row: list[_Part] = [indent, j_text, "  ", _maybe_warn(w), " × ", _maybe_warn(x), f" {eq.strip()} ",
                            (p, "bold") if draw.is_finite(value) else (p, WARN)]
        if j == hot and token is not None:
            row.append((f"  {draw.quote(token)}", DIM))
        lines.append(Content.assemble(*row))
    written = [fmt(products.products[j]) for j in shown]
    if split is not None and split.rest is not None:
        lines.append(Content.assemble(indent, (tr("+ {n} more", n=split.rest_count), DIM), "  ",
                                      _num(split.rest)))
        written.append(fmt(split.rest))
    eq = _eq(adds_up(written, fmt(products.total)))
    lines.append(Content.assemble(indent, f"Σ {label}{eq}", _result(products.total)))
    return lines


def _maybe_warn(text: str) -> _Part:
    return text if text not in ("NaN", "+Inf", "-Inf", "(-Inf)") else (text, WARN)


def expanded_lines(g: GateTerms, e: Explanation, layer: Layer, trace: Trace) -> list[Content]:
    """A gate's every product W_g[u,j] × x_t[j] and U_g[u,j] × h_{t-1}[j],
    with the weights, then its bias: the sums of its equation, opened."""
    assert g.x_terms is not None and g.h_terms is not None
    x = np.asarray(layer.x[e.step])
    hot = draw.one_hot_index(x)
    token = trace.token(layer.position(e.step))
    wx, uh, b = _terms("long", g.gate)
    lines = product_lines(g.x_terms, f"W_{g.gate}", "x_t", wx, e.unit, hot=hot, token=token)
    lines += product_lines(g.h_terms, f"U_{g.gate}", "h_{t-1}", uh, e.unit)
    lines.append(Content.assemble("    ", f"{b} = ", _result(g.b)))
    return lines


def formula_lines(e: Explanation) -> list[Content]:
    """The activations' definitions: σ(z) = 1/(1 + e^(−z)) for the gates,
    tanh for the candidate and h (or whatever the layer uses)."""
    gates = "f_t, i_t, o_t"
    rest = "ĉ_t, h_t"
    pairs = ([(e.recurrent_activation, gates), (e.activation, rest)]
             if e.recurrent_activation != e.activation else [(e.activation, f"{gates}, {rest}")])
    lines = []
    for name, used in pairs:
        sym = symbol(name)
        what = tr("{name} for {used}", name=name, used=used) if sym != name else tr("for {used}", used=used)
        lines.append(Content.assemble((f"{sym}(z)", "bold"), f" = {formula(name)}", (f"   {what}", DIM)))
    return lines


def gate_form(e: Explanation, width: int) -> str:
    """How the four gate equations are written at ``width``: one form for all
    of them, so they still line up: the full one if it fits, else shorter
    labels, else the full one over two rows."""
    if e.gates is None:
        return "long"
    gates = e.gates
    return next((f for f in GATE_FORMS[:-1]
                 if all(gate_line(gates[g], 0, f).cell_length <= width for g in gates)), "split")


def explanation_lines(e: Explanation, layer: Layer, trace: Trace, width: int = 1000,
                      name_width: int | None = None, form: str | None = None,
                      expanded: str | None = None, formulas: bool = False) -> list[Content]:
    """All the lines of the pane for one explanation, fitted to ``width``
    where they can be; step names are added where they fit ``name_width``
    (default ``width``; 0 for none). ``form`` is ``gate_form(e, width)``
    unless given. ``expanded`` (a gate) opens that gate's products under its
    line; ``formulas`` puts the activations' definitions first."""
    nw = width if name_width is None else name_width
    lines: list[Content] = formula_lines(e) if formulas else []
    if e.masked:
        lines.append(Content.assemble(
            (tr("masked step: "), WARN),
            tr("the state is carried over, c_t = c_{t-1} = "), _num(e.c_recorded),
            tr(" and h_t = h_{t-1} = "), _num(e.h_recorded),
            (tr("; the gates below were computed but not applied"), DIM),
        ))
    gate_lines: dict[str, list[Content]]
    if e.gates is None:
        lines.append(Content.styled(
            tr("no weights in this trace: W·x_t, U·h_{t-1} and b are unknown, the gates are as recorded"), DIM
        ))
        gate_lines = {g: [recorded_gate_line(g, v, nw)] for g, v in
                      (("f", e.f), ("i", e.i), ("c", e.c_hat), ("o", e.o))}
    else:
        form = gate_form(e, width) if form is None else form
        gate_lines = {g: [gate_line(e.gates[g], nw, form)] for g in GATES}
        if expanded is not None:
            gate_lines[expanded] += expanded_lines(e.gates[expanded], e, layer, trace)
    # The notebook's order: forget, input, candidate, cell update, output, hidden.
    lines += gate_lines["f"] + gate_lines["i"] + gate_lines["c"]
    lines += cell_lines(e, nw)
    lines += gate_lines["o"] + [hidden_line(e, nw)]
    lines += contribution_lines(e, layer, trace, width, nw)
    if any("≈" in line.plain for line in lines):
        lines.append(Content.styled(
            tr("≈ where the rounded numbers shown miss the exact result in the last decimal"), DIM))
    return lines


def fitted_lines(e: Explanation, layer: Layer, trace: Trace, width: int,
                 expanded: str | None = None, formulas: bool = False) -> list[Content]:
    """``explanation_lines`` with the step names on every line that has one,
    or on none: names on some lines only would read as if the others had
    none."""
    form = gate_form(e, width)
    plain = explanation_lines(e, layer, trace, width, name_width=0, form=form,
                              expanded=expanded, formulas=formulas)
    everywhere = explanation_lines(e, layer, trace, width, name_width=1 << 30, form=form,
                                   expanded=expanded, formulas=formulas)
    # A line takes its name at ``width`` exactly when the named line (its
    # last row, for an equation split over two) fits. The equations and the
    # term lists (``W_f·x_t = …``) are two groups, each named whole or not
    # at all: the lists' names say what their terms are even where the
    # longer equations leave no room for "forget gate".
    named = [a if a.cell_length == b.cell_length or _last_row(b).cell_length > width else b
             for a, b in zip(plain, everywhere)]
    out = list(plain)
    for group in (False, True):
        members = [n for n, line in enumerate(plain) if _is_term_list(line) == group]
        has_name = sum(plain[n].cell_length != everywhere[n].cell_length for n in members)
        fitting = sum(plain[n].cell_length != named[n].cell_length for n in members)
        if fitting == has_name:
            for n in members:
                out[n] = named[n]
    return out


def _is_term_list(line: Content) -> bool:
    return line.plain.startswith(("W_", "U_"))


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
    ``compare_lines`` writes them in ``form``: "long" (W_f·x_t), "short"
    (Wx), or "values" (the results alone). The third item of a row is the
    pair of values B − A is taken of: the recorded ones, as the panes show
    them."""
    terms = a.gates is not None and b.gates is not None and form != "values"

    def gate(g: str, recorded: tuple[float, float]) -> _Row:
        sym = vector_symbol(GATE_VECTOR[g])
        if not terms:
            return sym, [recorded], recorded
        assert a.gates is not None and b.gates is not None
        ga, gb = a.gates[g], b.gates[g]
        wx, uh, bias = _terms("long" if form == "long" else "tiny", g)
        return sym, [f"{symbol(ga.act)}({wx} ", (ga.wx, gb.wx), f" + {uh} ", (ga.uh, gb.uh),
                     f" + {bias} ", (ga.b, gb.b), ") = ", (ga.value, gb.value)], recorded

    c_rec, h_rec = (a.c_recorded, b.c_recorded), (a.h_recorded, b.h_recorded)
    if form == "values":
        cell: _Row = ("c", [c_rec], c_rec)
        hidden: _Row = ("h", [h_rec], h_rec)
    else:
        cell = ("c", ["f_t ⊙ c_{t-1} ", (a.keep, b.keep), " + i_t ⊙ ĉ_t ", (a.write, b.write), " = ",
                      (a.c, b.c)], c_rec)
        hidden = ("h", ["o_t ", (a.o, b.o), f" × {symbol(a.activation)}(c_t) ", (a.act_c, b.act_c), " = ",
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
    lines: list[list[_Part]] = [[(sym, "bold"), " A "], [" " * len(sym), " B "]]
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
                parts += ["  ", (tr("≠ trace holds {value}", value=fmt(recorded[run])), WARN)]
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

        f A σ(W_f·x_t 0.3100 + U_f·h_{t-1} 0.1200 + b_f 1.0000) = 0.8069
          B σ(W_f·x_t 0.3100 + U_f·h_{t-1} 0.1350 + b_f 1.0000) = 0.8094  B−A +0.0025

    The widest form that fits ``width`` for every line is used: full term
    labels, short ones (Wx, Uh), or the values alone."""
    lines: list[Content] = []
    masked = [name for name, e in (("A", a), ("B", b)) if e.masked]
    if masked:
        which = tr(" and ").join(masked)
        lines.append(Content.assemble((tr("masked step in {which}: ", which=which), WARN),
                                      (tr("the state is carried over there"), DIM)))
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


#: How emphasised lines stand out (``ExplainPane.emphasis``): a background,
#: which keeps every number's own style (bold results, warnings).
EMPHASIS = "on $success 25%"
#: The symbol a quantity's line starts with ("ĉ" for c_hat); a line that
#: starts with whitespace continues the quantity above it.
_LEADS = {vector_symbol(v): v for v in ("f", "i", "c_hat", "c", "o", "h")}


def emphasised(lines: list[Content], vectors: frozenset[str]) -> tuple[list[Content], int | None]:
    """``lines`` with those of ``vectors`` (vector names: "f", "c_hat", ...)
    styled ``EMPHASIS``, and the index of the first of them (None: none).

    A quantity's lines are recognised by the symbol they start with
    (``f = σ(…)``, ``ĉ_t = …``, ``c A …`` in a comparison) and the indented
    lines under it; anything else (term lists, notes) belongs to none. This
    reads the lines rather than their builders so that the wording of the
    equations can change without touching it."""
    out: list[Content] = []
    first = None
    current: str | None = None
    for line in lines:
        plain = line.plain
        head = plain.split(" ", 1)[0].split("=", 1)[0]
        head = head[:-2] if head.endswith("_t") else head
        if plain[:1].isspace():
            pass  # continues the quantity above
        else:
            current = _LEADS.get(head)
        if current is not None and current in vectors:
            line = line.stylize(EMPHASIS)
            first = len(out) if first is None else first
        out.append(line)
    return out, first


def _rows_of(line: Content, width: int) -> int:
    """Rows ``line`` takes wrapped at ``width``."""
    return sum(max(1, -(-row.cell_length // max(width, 1))) for row in line.split("\n"))


SCROLL = Binding.Group(N_("scroll"))


class ExplainPane(Translated, ShowsView, VerticalScroll, can_focus=True, inherit_bindings=False):
    """The arithmetic of the selected unit at the current step.

    Focused, it is read like pudb's panes: ↑ ↓ (k j) scroll it, line by
    line, instead of selecting a unit; ← → still step, so the arithmetic of
    the next step comes into the same place. ``z`` zooms it to the whole
    screen (a scroll container is not maximizable by default in Textual:
    this one is), which at 80×24 shows every line at once.

    When two runs are compared it follows the run the panes show: A's or
    B's arithmetic (each with its own weights), or for B − A both, one line
    above the other per quantity, with B − A at the end (``compare_lines``).

    Two display choices are its own (the screen's ``p`` and ``F`` set them,
    wherever the focus is): which gate, if any, is opened into its products
    (``expanded``), and whether the activations' formulas are shown
    (``formulas``). Both stay as the view moves, so stepping shows the same
    gate's products at the next step.
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
    #: Vectors whose lines stand out ("f", "c_hat", ...; empty: none): the
    #: lesson (``lesson``) points at the line of the stage it is at, and the
    #: pane scrolls to show it.
    emphasis: reactive[frozenset[str]] = reactive(frozenset(), init=False)
    #: The gate opened into its every product ("f", "i", "c", "o"), or None.
    expanded: reactive[str | None] = reactive(None, init=False)
    #: Whether the activations' formulas head the pane.
    formulas: reactive[bool] = reactive(False, init=False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        #: Rows of the text, and the width it was laid out for.
        self._rows = -1
        self._width = -1
        #: The title without the hint of lines below it.
        self._head: Content | None = None
        #: (at the top, at the bottom) when the scroll keys were last checked.
        self._edges: tuple[bool, bool] | None = None
        #: A gate just expanded: the next redraw scrolls to its line.
        self._reveal: str | None = None

    def compose(self):
        yield Static(id="explain-body")

    def watch_view(self, old: View | None, new: View | None) -> None:
        self._view_changed(old, new)

    def watch_emphasis(self) -> None:
        self._view_changed()

    def watch_expanded(self, old: str | None, new: str | None) -> None:
        self._reveal = new
        self._view_changed()

    def watch_formulas(self) -> None:
        self._view_changed()

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
        title: list[tuple[str, str] | str] = [(tr("explain"), "bold"), "  " + tr("unit {unit} · t = {t}",
                                                                                  unit=unit, t=t)]
        token = self.trace.token(layer.position(t))
        b_token = other.token(b_layer.position(t)) if other is not None and b_layer is not None \
            and t < b_layer.steps else None
        if self.run == "b" and other is not None:
            token = b_token
        if self.run == "delta" and None not in (token, b_token) and token != b_token:
            title.append(" · " + tr("token A {a} B {b}", a=draw.quote(str(token)), b=draw.quote(str(b_token))))
        elif token is not None:
            title.append(" · " + tr("token {token}", token=draw.quote(token)))
        if self.other is not None:
            label = runs.LABELS[self.run]
            title.append((" · " + (tr("run {label}", label=label) if self.run != "delta" else label), "bold"))
        self._head = Content.assemble(*title)
        expanded, formulas = self.expanded, self.formulas
        reveal: int | None = None
        if other is None or b_layer is None:
            e = layer.explain(t, unit)
            lines = fitted_lines(e, layer, self.trace, width, expanded=expanded, formulas=formulas)
        elif t >= b_layer.steps:
            lines = [Content.styled(tr("run B has {n} steps: no step t = {t} to show", n=b_layer.steps, t=t)
                                    if self.run == "b" else
                                    tr("run B has {n} steps: no step t = {t} to compare", n=b_layer.steps, t=t),
                                    "italic")]
        elif self.run == "b":
            e = b_layer.explain(t, unit)
            lines = fitted_lines(e, b_layer, other, width, expanded=expanded, formulas=formulas)
        else:
            e = layer.explain(t, unit)
            lines = compare_lines(e, b_layer.explain(t, unit), width)
            if formulas:
                lines = formula_lines(e) + lines
        if self._reveal is not None:
            # The line of the gate just expanded: shown at the pane's top.
            lead = gate_symbol(self._reveal) + " "
            reveal = next((n for n, line in enumerate(lines) if line.plain.startswith(lead)), None)
            self._reveal = None
        emphasis_at = None
        if self.emphasis:
            lines, emphasis_at = emphasised(lines, self.emphasis)
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
        if emphasis_at is not None:
            top = sum(_rows_of(line, width) for line in lines[:emphasis_at])
            self.call_after_refresh(self._show_rows, top, _rows_of(lines[emphasis_at], width))
        elif reveal is not None:
            top = sum(_rows_of(line, width) for line in lines[:reveal])
            self.call_after_refresh(self.scroll_to, y=top, animate=False, immediate=True)

    def _show_rows(self, top: int, count: int) -> None:
        """Scroll just enough that rows ``top`` … ``top + count - 1`` of the
        text are on screen (an emphasised line below a short pane's edge)."""
        shown = self.scrollable_content_region.height
        if top < self.scroll_y:
            y = top
        elif top + count > self.scroll_y + shown:
            y = min(top, top + count - shown)
        else:
            return
        self.scroll_to(y=y, animate=False, immediate=True)

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
            keys = tr("↓ or z") if self.has_focus else tr("E then ↓ or z")
            self.border_title = self._head + Content.styled(" · " + tr("{n} more: {keys}", n=below, keys=keys),
                                                            DIM)
        else:
            self.border_title = self._head

    # -- keys ----------------------------------------------------------------

    def why_not(self, action: str, parameters: tuple[object, ...]) -> Refusal | None:
        """Why a key of the pane cannot act (see ``refusals``): nothing
        hidden that way to scroll to; no weights, or two runs side by side,
        to expand a gate of."""
        if action == "expand_gate":
            return self.why_not_expand()
        if action != "scroll_lines":
            return None
        delta = parameters[0] if parameters and isinstance(parameters[0], int) else 0
        if self.max_scroll_y <= 0:
            return Refusal(tr("explain: every line is on screen"))
        if delta < 0 and self.scroll_y <= 0:
            return Refusal(tr("explain: already at the first line"))
        if delta > 0 and self.scroll_y >= self.max_scroll_y:
            return Refusal(tr("explain: already at the last line"))
        return None

    def why_not_expand(self) -> Refusal | None:
        """Why ``p`` cannot open a gate into its products now (and a gate
        that is open can always be closed)."""
        if self.trace is None or self.expanded is not None:
            return None
        shown = self.other if self._compared() and self.run == "b" else self.trace
        if self.run == "delta" and self._compared():
            return Refusal(tr("explain: products are shown for one run; d shows A or B"))
        layer = shown.layers[self.layer_index] if shown is not None else None
        if layer is None or layer.cell is None:
            return Refusal(tr("explain: no weights in this trace to expand"), hidden=True)
        return None

    def cycle_expanded(self) -> None:
        """Open the next gate into its products: f → i → ĉ → o → none."""
        self.expanded = EXPAND_ORDER[(EXPAND_ORDER.index(self.expanded) + 1) % len(EXPAND_ORDER)]

    def toggle_formulas(self) -> None:
        self.formulas = not self.formulas

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
