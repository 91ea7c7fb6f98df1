"""Compare two recorded runs: where do they part, how far, and for how long?

Two traces are comparable when they have the same layers with the same
numbers of units and inputs. Their lengths may differ: the common first
steps are compared, and the report says so.

**The causal story.** A difference is looked for in the order the model
computes: the layer nearest the input first, then its steps in the order
that layer ran them, then the vectors in the cell's order (x, f, i, ĉ, c, o,
h). So when one input position changes, the first difference named is in
layer 0 at the step that read it, not a later layer whose step 0 happens to
read the end of the sequence (a reversed layer: its step t read input
position T-1-t, and both are shown). At that first step, of that vector, the
unit named is the one that differs most. Per layer the report gives the
largest difference (step, vector, unit, both values) and the last step still
beyond the tolerance: how long the change lives.

**The same weights?** The stored weights, biases and initial states are
compared too; runs whose gates agree but whose weights differ are not "the
same" (exit 1, naming the member).

**Tolerance.** By default a value differs when it is further apart than two
correct float computations of whole passes can put it (``check.
rounding_bounds``: the core's rule, scaled to the terms that produced the
value, growing along the sequence as rounding carries from step to step).
Two recordings of one model on one input on different machines are then
equal however large their numbers; a fixed ``tol`` replaces the rule.

NaN against NaN, and an infinity against the same infinity, count as equal
(two runs diverging the same way agree); NaN against a number is a
difference, reported as such.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..core import numeric
from ..core.bounds import rounding_bounds
from ..core.lstm import GATES, VECTORS
from ..core.numeric import abs_difference, beyond, blocks, distinct
from ..core.text import Message
from ..core.trace import Layer, Trace, release_pages
from ..errors import LstmTuiError

#: Rows per block times the units: bounds the temporaries a comparison makes
#: (``numeric.BLOCK_ELEMENTS`` unless set here, as tests do).
BLOCK_ELEMENTS: int | None = None


class Incomparable(LstmTuiError, ValueError):
    """The traces do not have the same shape of network; ``str()`` names the
    mismatch."""


class Difference(NamedTuple):
    """A value that differs: at ``step`` (processing order) of ``layer``, in
    ``vector[unit]``, ``a`` in the first trace and ``b`` in the second;
    ``position`` is the input position that step read (the step itself
    unless the layer runs backwards)."""

    step: int
    layer: int
    vector: str
    unit: int
    a: float
    b: float
    position: int = -1

    @property
    def nan_against_number(self) -> bool:
        return bool(np.isnan(self.a) != np.isnan(self.b))

    def where(self, reversed_layer: bool = False) -> str:
        at = f"step {self.step}"
        if reversed_layer:
            at += f" (input position {self.position}; the layer runs backwards)"
        return f"layer {self.layer}, {at}, {self.vector}[{self.unit}]"

    def values(self) -> str:
        a, b = distinct(self.a, self.b)
        if self.nan_against_number:
            return f"A {a}, B {b} (NaN against a number)"
        return f"A {a}, B {b}"


@dataclass
class LayerDiff:
    """How one layer's two runs differ."""

    #: the largest finite |B − A| of the layer, where it is
    largest: Difference | None = None
    #: the first and the last step (processing order) where some value is
    #: beyond the tolerance: how long the change lives in this layer
    first_step: int | None = None
    last_step: int | None = None
    #: how many steps have some value beyond the tolerance
    steps_beyond: int = 0
    #: how many values are NaN in one run and a number in the other
    nan_mismatches: int = 0
    reversed: bool = False


@dataclass
class DiffReport:
    steps_compared: int
    steps_a: int
    steps_b: int
    #: the fixed tolerance, or None for the rounding rule
    tol: float | None
    first: Difference | None = None
    #: (layer, vector) -> largest |b − a| over the compared steps; vector is
    #: one of x f i c_hat c o h, or h0 / c0 for the state before step 0
    #: (inf where a NaN meets a number or infinities differ)
    max_abs: dict[tuple[int, str], float] = field(default_factory=dict)
    #: per layer: the largest difference, the last step beyond, counts
    layers: dict[int, LayerDiff] = field(default_factory=dict)
    #: stored members that differ although they are not steps: weights,
    #: biases, initial states ("layer 0 U_f", "layer 1 h0")
    members: list[str] = field(default_factory=list)
    #: largest |b − a| of the readout probabilities, when both have one of
    #: the same size
    readout_max_abs: float | None = None
    readout_differs: bool = False
    #: what else differs or was not compared, one line each
    notes: list[str] = field(default_factory=list)
    #: (layer, vector) pairs with a value beyond the tolerance
    flagged: set[tuple[int, str]] = field(default_factory=set)

    @property
    def equal(self) -> bool:
        """Same length, no value beyond the tolerance, the same weights and
        initial states, the same readout."""
        return (self.first is None and self.steps_a == self.steps_b and not self.members
                and not self.readout_differs)

    def _tolerance(self) -> str:
        return "rounding bound" if self.tol is None else f"tolerance {self.tol:g}"

    def lines(self) -> list[str]:
        """The report as text: the steps compared, notes, the first
        difference, the differing members, each layer's story, and a table
        of the largest difference per vector."""
        out = []
        if self.steps_a == self.steps_b:
            out.append(f"compared {self.steps_compared} steps, {self._tolerance()}")
        else:
            out.append(f"compared the first {self.steps_compared} steps, {self._tolerance()} "
                       f"(A has {self.steps_a}, B has {self.steps_b})")
        out.extend(f"note: {n}" for n in self.notes)
        d = self.first
        if d is not None:
            rev = self.layers.get(d.layer, LayerDiff()).reversed
            out.append(f"first difference: {d.where(rev)}: {d.values()}")
        elif self.members:
            out.append(f"no step differs beyond the {self._tolerance()}, but stored members do")
        elif self.equal:
            out.append(f"no difference beyond the {self._tolerance()}")
        else:
            out.append(f"no step differs beyond the {self._tolerance()} in the compared steps")
        out.extend(f"differs: {m}" for m in self.members)
        for k, ld in self.layers.items():
            if ld.largest is None or ld.steps_beyond == 0:
                continue
            big = ld.largest
            at = f"t={big.step}" + (f" (position {big.position})" if ld.reversed else "")
            line = (f"layer {k}: max |B-A| {abs(big.b - big.a):.3g} at {at} {big.vector}[{big.unit}]; "
                    f"{ld.steps_beyond} step{'s' if ld.steps_beyond != 1 else ''} beyond, last t={ld.last_step}")
            if ld.nan_mismatches:
                line += f"; NaN vs number {ld.nan_mismatches}×"
            out.append(line)
        # One row per layer, one column per vector: fits 80 columns.
        out.append("largest |B - A| (* beyond the tolerance):")
        out.append(("layer" + "".join(f"{v:>8} " for v in (*VECTORS, "h0 c0"))).rstrip())
        for k in sorted({k for k, _ in self.max_abs}):
            flagged = {v for v in VECTORS if self._beyond(k, v)}
            cells = [(self.max_abs.get((k, v), 0.0), v in flagged) for v in VECTORS]
            init = max(self.max_abs.get((k, "h0"), 0.0), self.max_abs.get((k, "c0"), 0.0))
            cells.append((init, any(m in (f"layer {k} h0", f"layer {k} c0") for m in self.members)))
            out.append((f"{k:>5}" + "".join(self._cell(err, bad) for err, bad in cells)).rstrip())
        if self.readout_max_abs is not None:
            out.append(f"readout p: {self._cell(self.readout_max_abs, self.readout_differs).strip()}")
        return out

    def _beyond(self, k: int, v: str) -> bool:
        return (k, v) in self.flagged

    @staticmethod
    def _cell(err: float, bad: bool) -> str:
        return f"{err:.3g}".rjust(8) + ("*" if bad else " ")


def check_comparable(a: Trace, b: Trace) -> None:
    """Raise ``Incomparable`` unless ``a`` and ``b`` have the same layers
    with the same numbers of units and inputs (what ``diff`` needs), without
    reading any values: a command can refuse a pair before opening a
    screen."""
    if len(a.layers) != len(b.layers):
        raise Incomparable(Message("A has {a} layer(s), B has {b}", a=len(a.layers), b=len(b.layers)))
    for k, (la, lb) in enumerate(zip(a.layers, b.layers)):
        if la.units != lb.units:
            raise Incomparable(Message("layer {k}: A has {a} units, B has {b}", k=k, a=la.units, b=lb.units))
        if la.input_dim != lb.input_dim:
            raise Incomparable(Message("layer {k}: A's input x has {a} values, B's has {b}", k=k, a=la.input_dim,
                                       b=lb.input_dim))


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """B − A elementwise, in float64, signed: what a screen shows for two
    runs side by side (``numeric.signed_difference``: NaN against NaN and an
    infinity against the same infinity are 0; NaN against anything else
    stays NaN, so it is shown as such rather than as a number)."""
    return numeric.signed_difference(a, b)


def _blocks(T: int, width: int, check: Callable[[], None] | None = None) -> Iterator[tuple[int, int]]:
    return blocks(T, width, BLOCK_ELEMENTS, check)


def max_finite_difference(a: Trace, b: Trace, layer: int, vector: str,
                          check: Callable[[], None] | None = None, sample: int | None = None) -> float:
    """The largest finite |B − A| of one vector of one layer over the steps
    both runs have (0.0 when there is none): the scale of a bar of B − A,
    the same at every step. Read a block of rows at a time, ``check``
    called before each (raise from it to stop). ``sample``: only that many
    steps, evenly spaced, for a provisional scale that costs no pass over
    a long trace."""
    va, vb = a.layers[layer].vector(vector), b.layers[layer].vector(vector)
    n = min(va.shape[0], vb.shape[0])
    if sample is not None and n > sample:
        steps = np.unique(np.linspace(0, n - 1, sample).astype(np.intp))
        d = np.abs(difference(va[steps], vb[steps]))
        d = d[np.isfinite(d)]
        return float(d.max()) if d.size else 0.0
    best = 0.0
    for s, e in _blocks(n, va.shape[1], check):
        d = np.abs(difference(va[s:e], vb[s:e]))
        d = d[np.isfinite(d)]
        if d.size:
            best = max(best, float(d.max()))
        del d
        release_pages(va[s:e])
        release_pages(vb[s:e])
    return best


def _members(k: int, la: Layer, lb: Layer, tol: float | None) -> list[str]:
    """The stored weights, biases and initial states of layer ``k`` that
    differ: bit for bit for weights (both were stored, not computed), by
    the tolerance for a fixed one."""
    out = []
    ca, cb = la.cell, lb.cell
    if (ca is None) != (cb is None):
        out.append(f"layer {k} weights (only {'A' if ca is not None else 'B'} stores them)")
    elif ca is not None and cb is not None:
        for kind, ma, mb in (("W", ca.W, cb.W), ("U", ca.U, cb.U), ("b", ca.b, cb.b)):
            for g in GATES:
                err = abs_difference(ma[g], mb[g])
                if beyond(err, 0.0 if tol is None else tol).any():
                    worst = float(np.nan_to_num(err, nan=np.inf).max())
                    out.append(f"layer {k} {kind}_{g} (by up to {worst:.3g})")
        if ca.activation != cb.activation or ca.recurrent_activation != cb.recurrent_activation:
            out.append(f"layer {k} activations ({ca.activation}/{ca.recurrent_activation} in A, "
                       f"{cb.activation}/{cb.recurrent_activation} in B)")
    for v in ("h0", "c0"):
        err = abs_difference(getattr(la, v), getattr(lb, v))
        if beyond(err, 0.0 if tol is None else tol).any():
            worst = float(np.nan_to_num(err, nan=np.inf).max())
            out.append(f"layer {k} {v} (the state before step 0, by up to {worst:.3g})")
    return out


def _bounds(la: Layer, lb: Layer, s: int, e: int, k: int, tol: float | None) -> dict[str, np.ndarray | float]:
    if tol is not None:
        return {v: tol for v in VECTORS}
    ba = rounding_bounds(la, s, e, free_running=True, depth=k)
    bb = rounding_bounds(lb, s, e, free_running=True, depth=k)
    return {v: np.maximum(ba[v], bb[v]) for v in VECTORS}


def diff(a: Trace, b: Trace, tol: float | None = None, check: Callable[[], None] | None = None,
         progress: Callable[[int, int], None] | None = None) -> DiffReport:
    """Compare ``b`` against ``a`` over their common steps; raises
    ``Incomparable`` (a ``ValueError``) when the layers or their sizes
    differ. ``tol``: a fixed absolute tolerance instead of the rounding
    rule. ``check`` is called before each block of steps (raise from it to
    stop); ``progress`` after each with (steps compared so far, over all
    layers; the steps to compare in all), for a screen that compares long
    runs in a thread."""
    check_comparable(a, b)
    n = min(a.steps, b.steps)
    report = DiffReport(steps_compared=n, steps_a=a.steps, steps_b=b.steps, tol=tol)
    for k, (la, lb) in enumerate(zip(a.layers, b.layers)):
        if la.name != lb.name:
            report.notes.append(f"layer {k} is named {la.name!r} in A, {lb.name!r} in B")
        if la.reversed != lb.reversed:
            report.notes.append(f"layer {k} runs backwards in {'A' if la.reversed else 'B'} only")
        ld = LayerDiff(reversed=la.reversed)
        report.layers[k] = ld
        worst = {v: 0.0 for v in VECTORS}
        biggest = -1.0
        beyond_rows = np.zeros(n, bool)
        width = 6 * la.units + la.input_dim
        for s, e in _blocks(n, width, check):
            bounds = _bounds(la, lb, s, e, k, tol)
            for v in VECTORS:
                va, vb = la.vector(v)[s:e], lb.vector(v)[s:e]
                err = abs_difference(va, vb)
                if err.size == 0:
                    continue
                nan_vs = np.isnan(err)
                ld.nan_mismatches += int(nan_vs.sum())
                worst[v] = max(worst[v], float(np.where(nan_vs, np.inf, err).max()))
                finite = np.where(np.isfinite(err), err, -1.0)
                flat = int(np.argmax(finite))
                r, u = divmod(flat, err.shape[1])
                if finite[r, u] > biggest:
                    biggest = float(finite[r, u])
                    ld.largest = Difference(s + r, k, v, u, float(va[r, u]), float(vb[r, u]), la.position(s + r))
                over = beyond(err, bounds[v])
                rows = over.any(axis=1)
                if not rows.any():
                    continue
                report.flagged.add((k, v))
                beyond_rows[s:e] |= rows
                r = int(np.argmax(rows))
                vi = VECTORS.index(v)
                key = (k, s + r, vi)
                if report.first is None or key < (report.first.layer, report.first.step,
                                                   VECTORS.index(report.first.vector)):
                    # At that step, the unit that differs most (NaN against a
                    # number counts as the most).
                    u = int(np.argmax(np.where(over[r], np.nan_to_num(err[r], nan=np.inf), -1.0)))
                    report.first = Difference(s + r, k, v, u, float(va[r, u]), float(vb[r, u]),
                                              la.position(s + r))
            for v in VECTORS:
                release_pages(la.vector(v)[s:e])
                release_pages(lb.vector(v)[s:e])
            if progress is not None:
                progress(k * n + e, len(a.layers) * n)
        for v in VECTORS:
            report.max_abs[(k, v)] = worst[v]
        for v in ("h0", "c0"):
            err = abs_difference(getattr(la, v), getattr(lb, v))
            report.max_abs[(k, v)] = float(np.nan_to_num(err, nan=np.inf).max()) if err.size else 0.0
        if beyond_rows.any():
            ld.steps_beyond = int(beyond_rows.sum())
            ld.first_step = int(np.flatnonzero(beyond_rows)[0])
            ld.last_step = int(np.flatnonzero(beyond_rows)[-1])
        report.members.extend(_members(k, la, lb, tol))

    da, db = np.asarray(a.layers[0].h).dtype, np.asarray(b.layers[0].h).dtype
    if da != db:
        report.notes.append(f"A is recorded in {da}, B in {db}")

    _compare_readout(a, b, n, tol, report, check)

    if a.tokens is not None and b.tokens is not None:
        ta, tb = np.asarray(a.tokens[:n]), np.asarray(b.tokens[:n])
        differ = np.flatnonzero(ta != tb)
        if len(differ):
            t = int(differ[0])
            report.notes.append(f"the tokens differ from position {t} ({str(ta[t])!r} in A, {str(tb[t])!r} in B)")
    return report


def _compare_readout(a: Trace, b: Trace, n: int, tol: float | None, report: DiffReport,
                     check: Callable[[], None] | None = None) -> None:
    if a.probs is None or b.probs is None:
        if (a.probs is None) != (b.probs is None):
            report.notes.append(f"only {'A' if a.probs is not None else 'B'} has a readout; not compared")
        return
    pa, pb = np.shape(a.probs), np.shape(b.probs)
    if pa[1] != pb[1]:
        report.notes.append(f"the readouts differ in size (A {pa[1]}, B {pb[1]}); not compared")
        return
    last = a.layers[-1]
    stored = np.result_type(np.asarray(a.probs).dtype, np.asarray(b.probs).dtype)
    u_s, u_c = numeric.roundoff(stored), numeric.compute_roundoff(stored)
    worst = 0.0
    for s, e in _blocks(n, pa[1], check):
        qa, qb = a.probs[s:e], b.probs[s:e]
        err = abs_difference(qa, qb)
        if err.size == 0:
            continue
        worst = max(worst, float(np.nan_to_num(err, nan=np.inf).max()))
        if tol is not None:
            bound: np.ndarray | float = tol
        else:
            # The head's own rounding over H + 1 terms, carried along the
            # sequence like the last layer's h.
            steps = np.arange(s + 1, e + 1, dtype=np.float64)[:, None]
            size = np.maximum(np.abs(np.asarray(qa, np.float64)), np.abs(np.asarray(qb, np.float64)))
            bound = 2 * len(a.layers) * steps * (u_s + (last.units + 1) * u_c) * np.maximum(size, 1e-3)
        if beyond(err, bound).any():
            report.readout_differs = True
    report.readout_max_abs = worst
