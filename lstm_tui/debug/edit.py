"""What-if runs: change one value of a recorded pass and re-run what follows.

``lstm-tui edit TRACE --at 3 --set 'c[7]=0'`` and the screen's ``e`` key
replace a value at step ``at`` of one layer and recompute, from the stored
weights and in NumPy, everything computed from it:

- ``c[u]=v`` at t: h at t is recomputed from it;
- a gate (``f i c_hat o``, ``ĉ`` too) at t: c and h at t;
- ``x[j]=v`` at t: the whole step t (x is the input of the layer edited;
  the other half of a Bidirectional reads its own copy, which stays);
- ``h[u]=v`` at t: what step t+1 reads;
- a weight (``W_f[3,5]=v``, ``U_o[0,1]=v``, ``b_i[2]=v``; gates f i c o):
  the layer runs with it from step t to the end (and the edited trace
  stores it).

``hold`` instead of ``set`` keeps a unit at its value from t to the end
(an ablation): a gate forced before c and h are computed from it, c before
h, h as it is stored and read by the next step (``lstm.Forced``). A weight
edit already lasts to the end, so it takes ``set`` only.

Every later step of the layer is re-run, and so is every later layer whose
input changed: the trace does not say how layers are wired, so it is read
from the recorded data (``sources``): a layer reads the h of an earlier
layer in input-position order (a reversed layer's step t read position
T-1-t), or the concatenation [forward h, backward h] of the two halves of a
Bidirectional (Keras' default ``merge_mode="concat"``), or the same input as
an earlier layer. Anything else (a Dense in between, a "sum" merge) is an
error naming the layer that cannot be re-run. A later layer re-runs from the
first step whose input changed; the steps before read the same input from
the same state and are kept bit for bit (recomputing them would only add
rounding against the recorded run). At a step the layer masks, its input is
the new h where Keras fed the previous output, and kept where it fed zeros.
The readout is recomputed from the last layer's new h when the trace stores
its head (``readout/W``, ``readout/b``).

The steps before ``at`` are copied unchanged, bit for bit; the steps after
are computed in the trace's precision (float32 for a Keras recording) with
the core's cell (``lstm.Pass``): no second copy of its equations.

Steps are numbered in processing order, as everywhere on the screen.

The edit text, one or more items separated by ``;``::

    edits := item (';' item)*
    item  := ('set' | 'hold')? NAME '[' INT (',' INT)? ']' '=' NUMBER
    NAME  := x | f | i | c_hat | ĉ | c | o | h | (W | U | b) '_' (f | i | c | o)
    INT   := '-'? digits                        (negative counts from the end)
    NUMBER:= ('+' | '-')? (decimal | nan | inf) (no expressions, no eval)

Errors are ``EditError``: about the text, with the column (from 1) of the
part that is wrong, as the condition parser reports them; about the trace
(missing weights, an unknown wiring), one line naming what is missing.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from ..core.lstm import GATES, VECTORS, Forced, LSTMCell, Pass, projection_rows, softmax_head
from ..core.numeric import abs_difference, beyond, blocks, roundoff
from ..core.text import Message
from ..core.trace import Layer, Trace
from ..errors import LstmTuiError
from .diff import diff

#: The vectors an edit names, and how it may spell them.
EDITABLE = VECTORS
ALIASES = {"ĉ": "c_hat"}
#: The weights an edit names: W_f U_f b_f ... (gates f i c o).
WEIGHTS = tuple(f"{kind}_{g}" for kind in "WUb" for g in GATES)
#: Every name, for "did you mean".
NAMES = (*EDITABLE, *ALIASES, *WEIGHTS)

# ASCII digits only, as in conditions: ١ is not 1.
_NAME = re.compile(r"[A-Za-z_ĉ][A-Za-z_0-9]*")
_INT = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf(?:inity)?)",
                     re.IGNORECASE)
_KINDS = ("set", "hold")

#: How the meta of the layers' and the readout's verification against Keras
#: is named (``keras.recording``): a re-run no longer is what was verified.
_VERIFIED = ("verified_", "step_", "sequence_")
_READOUT_VERIFIED = ("readout_verified_max_abs_error", "readout_verified_bound_ratio")


class EditError(LstmTuiError, ValueError):
    """An edit that does not parse, does not fit the trace, or cannot be
    re-run. ``column`` (from 1) and ``source`` when it is about the text
    (``str()`` is then ``column N: why``, as for a condition); None for
    what is about the trace ("layer 0 stores no weights ...")."""

    def __init__(self, message: str, source: str | None = None, column: int | None = None):
        self.message = message
        self.source = source
        self.column = column
        super().__init__(message if column is None else
                         Message("column {column}: {message}", column=column, message=message))


@dataclass(frozen=True)
class Assignment:
    """One ``name[index]=value`` of an edit text: ``kind`` "set" (at the
    step) or "hold" (from the step to the end); ``name`` canonical (``ĉ`` is
    ``c_hat``); ``index`` as written (negative counts from the end until
    ``bind``); where each part is in ``source`` (0-based offsets) for
    errors."""

    kind: str
    name: str
    index: tuple[int, ...]
    value: float
    value_text: str
    source: str
    start: int  # of the item (after set/hold)
    index_at: tuple[int, ...]
    value_at: int

    @property
    def weight(self) -> bool:
        return self.name in WEIGHTS

    @property
    def text(self) -> str:
        """``c[3]=0``: the item as the meta and the notes write it."""
        return f"{self.name}[{','.join(str(i) for i in self.index)}]={self.value_text}"

    def error(self, message: str, at: int | None = None) -> EditError:
        return EditError(message, self.source, (self.start if at is None else at) + 1)


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Scanner:
    """The edit text, read left to right (no tokens: the grammar is flat)."""

    def __init__(self, source: str):
        self.source = source
        self.pos = 0

    def skip(self) -> None:
        while self.pos < len(self.source) and self.source[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.source)

    def peek(self) -> str:
        self.skip()
        return self.source[self.pos] if self.pos < len(self.source) else ""

    def error(self, message: str, at: int | None = None) -> EditError:
        return EditError(message, self.source, (self.pos if at is None else at) + 1)

    def expect(self, ch: str, why: Message) -> None:
        if self.peek() != ch:
            found = self.peek()
            raise self.error(Message("{why}, found {found!r}", why=why, found=found) if found else
                             Message("{why}, found the end", why=why))
        self.pos += 1

    def match(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        self.skip()
        m = pattern.match(self.source, self.pos)
        if m is not None:
            self.pos = m.end()
        return m


def parse_edits(text: str, default: str = "set") -> list[Assignment]:
    """Every item of an edit text (see the module's grammar); an item with
    no ``set``/``hold`` is ``default``. Raises ``EditError`` with a column."""
    if default not in _KINDS:
        raise ValueError(f"default must be one of {_KINDS}")
    sc = _Scanner(text)
    out: list[Assignment] = []
    while True:
        if sc.peek() == ";":  # an empty item: nothing to do
            sc.pos += 1
            continue
        if sc.at_end():
            break
        out.append(_item(sc, default))
        if sc.at_end():
            break
        sc.expect(";", Message("expected ';' between two edits"))
    if not out:
        raise EditError(Message("no edit: write name[index]=value, such as c[3]=0 or hold h[7]=0"), text,
                        len(text) + 1)
    return out


def _item(sc: _Scanner, default: str) -> Assignment:
    sc.skip()
    word_at = sc.pos
    m = sc.match(_NAME)
    if m is None:
        found = sc.peek()
        raise sc.error(Message("expected a name such as c[3] or W_f[3,5], found {found!r}", found=found))
    kind = default
    if m.group() in _KINDS and sc.peek() != "[":
        kind = m.group()
        sc.skip()
        word_at = sc.pos
        m = sc.match(_NAME)
        if m is None:
            found = sc.peek()
            raise sc.error(Message("expected a name such as c[3] after {kind}, found {found!r}", kind=kind,
                                   found=found) if found else
                           Message("expected a name such as c[3] after {kind}, found the end", kind=kind))
    word = m.group()
    name = ALIASES.get(word, word)
    if name not in EDITABLE and name not in WEIGHTS:
        close = difflib.get_close_matches(word, NAMES, n=1)
        raise sc.error(Message("unknown name {name!r} (did you mean {close!r}?); edit one of x f i c_hat c o h "
                               "or a weight W_f U_f b_f (gates f i c o)" if close else
                               "unknown name {name!r}; edit one of x f i c_hat c o h or a weight W_f U_f b_f "
                               "(gates f i c o)", name=_clip(word), close=close[0] if close else ""), word_at)
    sc.expect("[", Message("expected '[' and an index after the name"))
    index: list[int] = []
    index_at: list[int] = []
    wants = 2 if name[0] in "WU" and name in WEIGHTS else 1
    while True:
        sc.skip()
        at = sc.pos
        number = sc.match(_INT)
        if number is None:
            found = sc.peek()
            raise sc.error(Message("expected a whole number (an index), found {found!r}", found=found) if found
                           else Message("expected a whole number (an index), found the end"))
        if sc.pos < len(sc.source) and (sc.source[sc.pos].isalnum() or sc.source[sc.pos] == "."):
            raise sc.error(Message("an index is a whole number written with the digits 0-9"), at)
        index.append(int(number.group()))
        index_at.append(at)
        if sc.peek() != ",":
            break
        sc.pos += 1
    if len(index) != wants:
        if wants == 2:
            raise sc.error(Message("{name} takes two indices, row and column: {name}[3,5]", name=name),
                           index_at[0])
        raise sc.error(Message("{name} takes one index: {name}[3]", name=name), index_at[1] if len(index) > 1
                       else index_at[0])
    sc.expect("]", Message("expected ']' after the index"))
    sc.expect("=", Message("expected '=' and a value"))
    sc.skip()
    value_at = sc.pos
    v = sc.match(_NUMBER)
    if v is None or (sc.pos < len(sc.source) and (sc.source[sc.pos].isalnum() or sc.source[sc.pos] in "._")):
        raise sc.error(Message("expected a number, such as 0, -1.5, 2e-3, nan or inf"), value_at)
    value = float(v.group())
    if kind == "hold" and name in WEIGHTS:
        raise sc.error(Message("a weight edit lasts from the step to the end already: write set, not hold"),
                       word_at)
    return Assignment(kind, name, tuple(index), value, v.group(), sc.source, word_at, tuple(index_at), value_at)


# --------------------------------------------------------------------------
# Fitting an edit to a trace
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class EditPlan:
    """An edit that fits its trace: at step ``at`` (processing order) of
    ``layer``, the ``assignments`` with their indices made non-negative.
    ``drop_readout``: a readout the trace cannot recompute (no head stored)
    is left out of the edited run instead of refused."""

    at: int
    layer: int
    assignments: tuple[Assignment, ...]
    drop_readout: bool = False

    @property
    def sets(self) -> tuple[Assignment, ...]:
        return tuple(a for a in self.assignments if a.kind == "set")

    @property
    def holds(self) -> tuple[Assignment, ...]:
        return tuple(a for a in self.assignments if a.kind == "hold")

    def what(self) -> str:
        """``set c[3]=0, x[1]=2.5; hold h[7]=0``: the edit, in its own syntax."""
        parts = []
        for kind, items in (("set", self.sets), ("hold", self.holds)):
            if items:
                parts.append(f"{kind} " + ", ".join(a.text for a in items))
        return "; ".join(parts)

    def describe(self) -> Message:
        """The edit in a line: ``set c[3]=0 at t = 1, layer 0``."""
        return Message("{edits} at t = {t}, layer {k}", edits=self.what(), t=self.at, k=self.layer)


def bind(trace: Trace, at: int, layer: int, assignments: Iterable[Assignment],
         drop_readout: bool = False) -> EditPlan:
    """Check ``assignments`` against ``trace`` at step ``at`` of ``layer``:
    the layer and step exist, each index is in range (an error points at
    its column), nothing is edited twice, and the layer stores the weights
    it must be re-run with. What only a re-run finds (how later layers are
    wired, a readout with no head) ``edit`` says."""
    L = len(trace.layers)
    if not 0 <= layer < L:
        raise EditError(Message("no layer {k} (the trace has {n})", k=layer, n=L))
    lay = trace.layers[layer]
    if not 0 <= at < lay.steps:
        raise EditError(Message("no step {t} (steps are 0…{last})", t=at, last=lay.steps - 1))
    H, D = lay.units, lay.input_dim
    bound: list[Assignment] = []
    seen: dict[tuple[str, tuple[int, ...]], Assignment] = {}
    for a in assignments:
        if a.weight:
            shape = (H, D) if a.name[0] == "W" else (H, H) if a.name[0] == "U" else (H,)
        else:
            shape = (D,) if a.name == "x" else (H,)
        index = []
        for axis, (i, col) in enumerate(zip(a.index, a.index_at)):
            n = shape[axis]
            if not -n <= i < n:
                values = dict(i=i, name=a.name, last=n - 1, k=layer)
                if len(shape) == 2:
                    raise a.error(Message("row {i} is outside {name} (rows 0…{last})", **values) if axis == 0
                                  else Message("column {i} is outside {name} (columns 0…{last})", **values), col)
                raise a.error(Message("input {i} is outside x (inputs 0…{last} on layer {k})", **values)
                              if a.name == "x" else
                              Message("unit {i} is outside {name} (units 0…{last} on layer {k})", **values), col)
            index.append(i % n)
        a = _with_index(a, tuple(index))
        key = (a.name, a.index)
        if key in seen:
            raise a.error(Message("{target} is edited twice", target=f"{a.name}[{','.join(map(str, a.index))}]"))
        seen[key] = a
        bound.append(a)
    if not bound:
        raise EditError(Message("no edit: write name[index]=value, such as c[3]=0 or hold h[7]=0"))
    if lay.cell is None:
        raise EditError(_no_weights(layer))
    return EditPlan(at, layer, tuple(bound), drop_readout)


def _with_index(a: Assignment, index: tuple[int, ...]) -> Assignment:
    return Assignment(a.kind, a.name, index, a.value, a.value_text, a.source, a.start, a.index_at, a.value_at)


def _no_weights(k: int) -> Message:
    return Message("layer {k} stores no weights (member {member!r} is missing), so it cannot be re-run",
                   k=k, member=f"layer{k}/W_f")


def plan(trace: Trace, at: int, layer: int, text: str, default: str = "set",
         drop_readout: bool = False) -> EditPlan:
    """``parse_edits`` then ``bind``: what the screen's dialog checks."""
    return bind(trace, at, layer, parse_edits(text, default), drop_readout)


def what_if(trace: Trace, at: int, layer: int = 0, sets: Iterable[str] = (), holds: Iterable[str] = (),
            drop_readout: bool = False, origin: str | None = None) -> Trace:
    """The edited run of ``trace`` for edit texts as the command line takes
    them (``sets``: ``"c[3]=0"``; ``holds``: ``"h[7]=0"``), in one call."""
    items = [a for text in sets for a in parse_edits(text, "set")]
    items += [a for text in holds for a in parse_edits(text, "hold")]
    return edit(trace, bind(trace, at, layer, items, drop_readout), origin)


# --------------------------------------------------------------------------
# How the layers are wired, read from the recording
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """What a layer reads: the h of ``layers`` (one, or the two halves of a
    Bidirectional, concatenated), in input-position order; ``()`` for an
    input the edit cannot reach (the model's own, or that of a layer before
    the one edited)."""

    layers: tuple[int, ...] = ()


def _positions(layer: Layer, a: np.ndarray, s: int, e: int) -> np.ndarray:
    """Rows of ``a`` (one of ``layer``'s (T, ·) arrays) for input positions
    s … e-1: a reversed layer's step t read position T-1-t."""
    if not layer.reversed:
        return np.asarray(a[s:e])
    T = layer.steps
    return np.asarray(a[T - e : T - s])[::-1]


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row, whether two recordings of one value agree: bit for bit
    (NaN matching NaN), or within the rounding of the coarser of the two
    precisions they were stored in (an h kept as float32 read as float16)."""
    if a.dtype == b.dtype:
        return np.asarray(((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1))
    coarse = max(roundoff(a.dtype), roundoff(b.dtype))
    err = abs_difference(a, b)
    allowed = coarse * np.maximum(np.abs(np.asarray(a, np.float64)), np.abs(np.asarray(b, np.float64)))
    return np.asarray(~beyond(err, allowed).any(axis=1))


def _candidate(trace: Trace, layers: tuple[int, ...], s: int, e: int, h: dict[int, np.ndarray] | None = None
               ) -> np.ndarray:
    """The h of ``layers`` at positions s … e-1, concatenated (from ``h``,
    new arrays by layer, where given)."""
    parts = []
    for m in layers:
        lay = trace.layers[m]
        parts.append(_positions(lay, (h or {}).get(m, lay.h), s, e))
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def _reads(trace: Trace, j: int, what: Callable[[int, int], np.ndarray], width: int) -> bool:
    """Whether layer ``j``'s input is ``what`` (position order) at every
    position it did not mask."""
    lay = trace.layers[j]
    if lay.input_dim != width:
        return False
    T = lay.steps
    for s, e in blocks(T, 2 * width):
        x = _positions(lay, lay.x, s, e)
        same = _same(x, what(s, e))
        if lay.mask is not None:
            same |= ~_positions(lay, lay.mask, s, e)  # masked: Keras fed zeros or the last output
        if not same.all():
            return False
    return True


def sources(trace: Trace, first: int) -> dict[int, Source]:
    """What each layer from ``first`` on reads, from the recorded data: the
    h of an earlier layer (the nearest first), the concatenated halves of a
    Bidirectional, or the same input as an earlier layer. Layers before
    ``first`` are not re-run; an input that comes only from them is
    ``Source(())``. Raises ``EditError`` naming a layer whose input is none
    of these."""
    out: dict[int, Source] = {}
    for j in range(max(first, 1), len(trace.layers)):
        found: Source | None = None
        for m in range(j - 1, -1, -1):
            if _reads(trace, j, partial(_candidate, trace, (m,)), trace.layers[m].units):
                found = Source((m,))
                break
        if found is None:
            for m in range(j - 2, -1, -1):
                pair = (m, m + 1)
                width = trace.layers[m].units + trace.layers[m + 1].units
                if _reads(trace, j, partial(_candidate, trace, pair), width):
                    found = Source(pair)
                    break
        if found is None:
            for m in range(j - 1, -1, -1):
                lay = trace.layers[m]
                if _reads(trace, j, partial(_positions, lay, lay.x), lay.input_dim):
                    found = out.get(m, Source())
                    break
        if found is None:
            raise EditError(Message("layer {j} reads something other than layer {m}'s h (or the concatenated "
                                    "halves of a Bidirectional); cannot re-run it", j=j, m=j - 1))
        out[j] = found
    return out


# --------------------------------------------------------------------------
# The re-run
# --------------------------------------------------------------------------


def _run_dtype(layer: Layer) -> np.dtype:
    """The precision a layer is re-run in: float64 for a float64 trace,
    else float32 (float16 values were computed in float32)."""
    return np.dtype(np.float64) if np.asarray(layer.h).dtype == np.float64 else np.dtype(np.float32)


def _edited_cell(cell: LSTMCell, weights: Sequence[Assignment]) -> LSTMCell:
    if not weights:
        return cell
    W = {g: np.array(cell.W[g]) for g in GATES}
    U = {g: np.array(cell.U[g]) for g in GATES}
    b = {g: np.array(cell.b[g]) for g in GATES}
    for a in weights:
        kind, g = a.name.split("_")
        {"W": W, "U": U, "b": b}[kind][g][a.index] = a.value
    return LSTMCell(W=W, U=U, b=b, activation=cell.activation, recurrent_activation=cell.recurrent_activation)


@dataclass
class _Run:
    """A layer's arrays in the edited run (copies, never views of the
    original's file) and the first step where they may differ (None:
    they do not)."""

    arrays: dict[str, np.ndarray]
    cell: LSTMCell | None
    first: int | None = None


def _copy(layer: Layer) -> _Run:
    return _Run({v: np.array(layer.vector(v)) for v in VECTORS}, layer.cell)


def _rerun(layer: Layer, x: np.ndarray, start: int, cell: LSTMCell, forced: Sequence[Forced] = ()) -> _Run:
    """``layer`` run again with ``cell`` on input ``x`` (processing order)
    from step ``start``, from the recorded state before it; the steps
    before are copied."""
    dt = _run_dtype(layer)
    run = Pass(cell, x, mask=layer.mask, dtype=dt, forced=forced)
    if start > 0:
        run.seek(start, layer.h[start - 1], layer.c[start - 1])
    else:
        run.seek(0, layer.h0, layer.c0)
    rec = run.run()
    arrays = {}
    for v in VECTORS:
        old = layer.vector(v)
        new = np.empty(old.shape, old.dtype)
        new[:start] = old[:start]
        new[start:] = x[start:] if v == "x" else getattr(rec, v)
        arrays[v] = new
    return _Run(arrays, cell, start)


def _first_changed(old: np.ndarray, new: np.ndarray) -> int | None:
    """The first row where ``new`` differs from ``old`` bit for bit (NaN
    equal to NaN), or None."""
    for s, e in blocks(old.shape[0], old.shape[1] if old.ndim == 2 else 1):
        a, b = np.asarray(old[s:e]), np.asarray(new[s:e])
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        rows = same.all(axis=1) if same.ndim == 2 else same
        if not rows.all():
            return s + int(np.argmin(rows))
    return None


def _clean_info(info: dict[str, Any]) -> dict[str, Any]:
    """A re-run layer's meta without its recording's verification against
    Keras (it no longer is what Keras computed)."""
    return {k: v for k, v in info.items() if not k.startswith(_VERIFIED)}


def edit(trace: Trace, plan_: EditPlan, origin: str | None = None) -> Trace:
    """The edited run of ``trace``: a new trace in memory (see the module's
    docstring), whose ``meta["edit"]`` says what was edited, at which step
    and layer, from which file (``origin``; by default the trace's file)."""
    at, K = plan_.at, plan_.layer
    layer = trace.layers[K]
    if layer.cell is None:
        raise EditError(_no_weights(K))
    wiring = sources(trace, K + 1)
    for j in range(K + 1, len(trace.layers)):
        if wiring[j].layers and trace.layers[j].cell is None:
            raise EditError(_no_weights(j))
    # The layer edited.
    dt = _run_dtype(layer)
    cell = _edited_cell(layer.cell, [a for a in plan_.assignments if a.weight])
    x = np.array(layer.x, dtype=dt)
    forced = []
    for a in plan_.assignments:
        stop = at + 1 if a.kind == "set" else None
        if a.name == "x":
            x[at:stop, a.index[0]] = a.value
        elif not a.weight:
            forced.append(Forced(a.name, a.index[0], a.value, at, stop))
    runs: dict[int, _Run] = {k: _copy(trace.layers[k]) for k in range(K)}
    runs[K] = _rerun(layer, x, at, cell, forced)
    # Later layers, from the first step whose input changed.
    for j in range(K + 1, len(trace.layers)):
        lay = trace.layers[j]
        src = wiring[j].layers
        if not src or all(runs[m].first is None for m in src):
            runs[j] = _copy(lay)
            continue
        x_new = _new_input(trace, j, src, runs)
        start = _first_changed(lay.x, x_new)
        if start is None:
            runs[j] = _copy(lay)
            continue
        assert lay.cell is not None
        runs[j] = _rerun(lay, np.asarray(x_new, _run_dtype(lay)), start, lay.cell)
    # Which layers really changed (a forced value equal to the recorded
    # one changes nothing).
    for k, run in runs.items():
        if run.first is not None:
            old = trace.layers[k]
            firsts = [_first_changed(old.vector(v), run.arrays[v]) for v in VECTORS]
            changed = [f for f in firsts if f is not None]
            run.first = min(changed) if changed else None
    layers = []
    for k, old in enumerate(trace.layers):
        run = runs[k]
        new = run.arrays
        layers.append(Layer(x=new["x"], f=new["f"], i=new["i"], c_hat=new["c_hat"], c=new["c"], o=new["o"],
                            h=new["h"],
                            h0=np.array(old.h0), c0=np.array(old.c0),
                            mask=None if old.mask is None else np.array(old.mask), name=old.name,
                            activation=old.activation, recurrent_activation=old.recurrent_activation,
                            reversed=old.reversed, cell=run.cell if k == K else old.cell,
                            info=_clean_info(old.info) if k >= K else dict(old.info)))
    meta = dict(trace.meta)
    last = len(layers) - 1
    probs, vocab, dropped = _readout(trace, layers[-1], runs[last].first is not None, plan_.drop_readout)
    if runs[last].first is not None and probs is not None:
        for key in _READOUT_VERIFIED:
            meta.pop(key, None)
    where = origin if origin is not None else (str(trace.path) if trace.path is not None else trace.source)
    record: dict[str, Any] = {"from": where, "at": at, "layer": K,
                              "set": [a.text for a in plan_.sets], "hold": [a.text for a in plan_.holds]}
    if dropped:
        record["readout"] = "dropped: the trace stores no readout/W to recompute it"
    if "edit" in meta:
        record["previous"] = meta["edit"]  # an edit of an edited run keeps the first edit's record
    meta["edit"] = record
    name = os.path.basename(where) or where
    return Trace(layers=layers, tokens=None if trace.tokens is None else np.array(trace.tokens),
                 probs=probs, vocab=vocab,
                 readout_W=None if dropped or trace.readout_W is None else np.array(trace.readout_W),
                 readout_b=None if dropped or trace.readout_b is None else np.array(trace.readout_b),
                 source=f"what-if on {name}: {plan_.describe()}", meta=meta)


def _new_input(trace: Trace, j: int, src: tuple[int, ...], runs: dict[int, _Run]) -> np.ndarray:
    """Layer ``j``'s input in the edited run, in its processing order: the
    new h of its sources. Where ``j`` masks a step, Keras fed it either the
    previous output (the carried h, which changes with the run) or zeros
    (``zero_output_for_mask``, a Bidirectional's): the recorded input is
    kept unless it was the source's h."""
    lay = trace.layers[j]
    T = lay.steps
    new_h = {m: runs[m].arrays["h"] for m in src}
    out = np.empty(np.shape(lay.x), np.asarray(lay.x).dtype)
    for s, e in blocks(T, lay.input_dim):
        pos = _candidate(trace, src, s, e, new_h)
        if lay.mask is not None:
            masked = ~_positions(lay, lay.mask, s, e)
            if masked.any():
                x_old = _positions(lay, lay.x, s, e)
                keep = masked & ~_same(x_old, _candidate(trace, src, s, e))
                pos = np.where(keep[:, None], x_old, pos)
        # Back to processing order.
        if lay.reversed:
            out[T - e : T - s] = pos[::-1]
        else:
            out[s:e] = pos
    return out


def _readout(trace: Trace, last: Layer, rerun: bool, drop: bool
             ) -> tuple[np.ndarray | None, np.ndarray | None, bool]:
    """(probs, vocab, dropped) of the edited run: the recorded readout at
    the steps where the last layer's h is unchanged (bit for bit), and
    recomputed with the stored head where it changed; without a head, an
    error (or, with ``drop``, no readout)."""
    if trace.probs is None:
        return None, None, False
    vocab = None if trace.vocab is None else np.array(trace.vocab)
    probs = np.array(trace.probs)
    old_h = trace.layers[-1].h
    changed = _first_changed(old_h, last.h) if rerun else None
    if changed is None:
        return probs, vocab, False
    if trace.readout_W is None:
        if drop:
            return None, None, True
        raise EditError(Message("the trace has a readout (readout/probs) but not the head that computed it "
                                "(member 'readout/W' is missing), so the edited run's readout cannot be "
                                "recomputed; record the trace again, or leave the readout out with "
                                "--drop-readout"))
    h = np.asarray(last.h)
    dt = h.dtype if h.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    rows = projection_rows(np.shape(trace.readout_W)[0], dt)
    start = changed - changed % rows  # whole blocks, counted from step 0, as recorded
    new = softmax_head(np.asarray(h[start:], dt), trace.readout_W, trace.readout_b)
    old = np.asarray(old_h[start:])
    moved = ~((old == h[start:]) | (np.isnan(old) & np.isnan(h[start:]))).all(axis=1)
    probs[start:][moved] = new[moved]
    return probs, vocab, False


# --------------------------------------------------------------------------
# What an edit changed
# --------------------------------------------------------------------------


@dataclass
class Reach:
    """How far an edit's change lived, by the diff's rule: per layer, the
    first and last step where the runs differ beyond the tolerance
    (None: nowhere)."""

    layers: dict[int, tuple[int, int] | None] = field(default_factory=dict)
    readout: bool = False
    readout_max_abs: float | None = None


def reach(original: Trace, edited: Trace, tol: float | None = None) -> Reach:
    """Compare the edited run with the original (``diff``'s comparison:
    the rounding bound by default) and say per layer where they part and
    where they meet again."""
    report = diff(original, edited, tol=tol)
    out = Reach(readout=report.readout_differs, readout_max_abs=report.readout_max_abs)
    for k in range(len(original.layers)):
        ld = report.layers.get(k)
        if ld is None or ld.first_step is None or ld.last_step is None:
            out.layers[k] = None
        else:
            out.layers[k] = (ld.first_step, ld.last_step)
    return out
