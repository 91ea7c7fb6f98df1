"""Compare two recorded runs: where do they part, and by how much?

Two traces are comparable when they have the same layers with the same
numbers of units and inputs. Their lengths may differ: the common first
steps are compared, and the report says so. For every vector of every layer
it gives the largest |b − a|, and the first step where any of them differs
by more than ``tol`` (ties: the layer nearest the input, then the order x f
i c_hat c o h, then the lowest unit), which is where to start looking.

NaN against NaN, and an infinity against the same infinity, count as equal
(two runs diverging the same way agree); NaN against a number differs by an
infinite amount.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .lstm import VECTORS
from .trace import Trace

#: Rows per block times the units: bounds the temporaries a comparison makes.
BLOCK_ELEMENTS = 1 << 20


class Incomparable(ValueError):
    """The traces do not have the same shape of network; ``str()`` names the
    mismatch."""


class Difference(NamedTuple):
    """The first value that differs: at ``step``, in ``vector[unit]`` of
    ``layer``, ``a`` in the first trace and ``b`` in the second."""

    step: int
    layer: int
    vector: str
    unit: int
    a: float
    b: float


@dataclass
class DiffReport:
    steps_compared: int
    steps_a: int
    steps_b: int
    tol: float
    first: Difference | None = None
    #: (layer, vector) -> largest |b − a| over the compared steps; vector is
    #: one of x f i c_hat c o h, or h0 / c0 for the state before step 0
    max_abs: dict[tuple[int, str], float] = field(default_factory=dict)
    #: largest |b − a| of the readout probabilities, when both have one of
    #: the same size
    readout_max_abs: float | None = None
    #: what else differs or was not compared, one line each
    notes: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        """Same length, and nothing differs by more than ``tol``."""
        values = [*self.max_abs.values()]
        if self.readout_max_abs is not None:
            values.append(self.readout_max_abs)
        return (self.first is None and self.steps_a == self.steps_b
                and all(v <= self.tol for v in values))

    def lines(self) -> list[str]:
        """The report as text: the steps compared, notes, the first
        difference, and a table of the largest difference per vector."""
        out = []
        if self.steps_a == self.steps_b:
            out.append(f"compared {self.steps_compared} steps, tolerance {self.tol:g}")
        else:
            out.append(f"compared the first {self.steps_compared} steps, tolerance {self.tol:g} "
                       f"(A has {self.steps_a}, B has {self.steps_b})")
        out.extend(f"note: {n}" for n in self.notes)
        d = self.first
        if d is not None:
            out.append(f"first difference: step {d.step}, layer {d.layer}, {d.vector}[{d.unit}]: "
                       f"A {d.a:.6g}, B {d.b:.6g}")
        elif self.equal:
            out.append(f"no difference beyond {self.tol:g}")
        else:
            out.append(f"no step differs beyond {self.tol:g} in the compared steps")
        # One row per layer, one column per vector: fits 80 columns.
        out.append("largest |B - A| (* beyond the tolerance):")
        out.append(("layer" + "".join(f"{v:>8} " for v in (*VECTORS, "h0 c0"))).rstrip())
        layers = sorted({k for k, _ in self.max_abs})
        for k in layers:
            cells = [self.max_abs.get((k, v), 0.0) for v in VECTORS]
            cells.append(max(self.max_abs.get((k, "h0"), 0.0), self.max_abs.get((k, "c0"), 0.0)))
            out.append((f"{k:>5}" + "".join(self._cell(err) for err in cells)).rstrip())
        if self.readout_max_abs is not None:
            out.append(f"readout p: {self._cell(self.readout_max_abs).strip()}")
        return out

    def _cell(self, err: float) -> str:
        return f"{err:.3g}".rjust(8) + ("*" if err > self.tol else " ")


def _blocks(T: int, width: int) -> Iterator[tuple[int, int]]:
    rows = max(1, BLOCK_ELEMENTS // max(1, width))
    for a in range(0, T, rows):
        yield a, min(T, a + rows)


def _error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|b − a| in float64 with NaN = NaN and inf = inf counted equal, and
    NaN against anything else an infinite difference."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    with np.errstate(invalid="ignore"):
        err = np.abs(b - a)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    err[same] = 0.0
    err[np.isnan(err)] = np.inf
    return err


def check_comparable(a: Trace, b: Trace) -> None:
    """Raise ``Incomparable`` unless ``a`` and ``b`` have the same layers
    with the same numbers of units and inputs (what ``diff`` needs), without
    reading any values: a command can refuse a pair before opening a
    screen."""
    _check_shapes(a, b)


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """B − A elementwise, in float64, signed: what a screen shows for two
    runs side by side. As in ``diff``, NaN against NaN and an infinity
    against the same infinity are 0 (the runs agree); NaN against anything
    else stays NaN, so it is shown as such rather than as a number."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    with np.errstate(invalid="ignore"):
        out = b - a
    out[(a == b) | (np.isnan(a) & np.isnan(b))] = 0.0
    return out


def max_finite_difference(a: Trace, b: Trace, layer: int, vector: str) -> float:
    """The largest finite |B − A| of one vector of one layer over the steps
    both runs have (0.0 when there is none): the scale of a bar of B − A,
    the same at every step. Read a block of rows at a time."""
    va, vb = a.layers[layer].vector(vector), b.layers[layer].vector(vector)
    n = min(va.shape[0], vb.shape[0])
    best = 0.0
    for s, e in _blocks(n, va.shape[1]):
        d = np.abs(difference(va[s:e], vb[s:e]))
        d = d[np.isfinite(d)]
        if d.size:
            best = max(best, float(d.max()))
    return best


def _check_shapes(a: Trace, b: Trace) -> None:
    if len(a.layers) != len(b.layers):
        raise Incomparable(f"A has {len(a.layers)} layer(s), B has {len(b.layers)}")
    for k, (la, lb) in enumerate(zip(a.layers, b.layers)):
        if la.units != lb.units:
            raise Incomparable(f"layer {k}: A has {la.units} units, B has {lb.units}")
        if la.input_dim != lb.input_dim:
            raise Incomparable(f"layer {k}: A's input x has {la.input_dim} values, B's has {lb.input_dim}")


def diff(a: Trace, b: Trace, tol: float = 1e-6) -> DiffReport:
    """Compare ``b`` against ``a`` over their common steps; raises
    ``Incomparable`` (a ``ValueError``) when the layers or their sizes
    differ."""
    _check_shapes(a, b)
    n = min(a.steps, b.steps)
    report = DiffReport(steps_compared=n, steps_a=a.steps, steps_b=b.steps, tol=tol)
    # (step, layer, vector order) of the first difference found so far
    best: tuple[int, int, int] | None = None
    for k, (la, lb) in enumerate(zip(a.layers, b.layers)):
        if la.name != lb.name:
            report.notes.append(f"layer {k} is named {la.name!r} in A, {lb.name!r} in B")
        if la.reversed != lb.reversed:
            report.notes.append(f"layer {k} runs backwards in {'A' if la.reversed else 'B'} only")
        for vi, v in enumerate(VECTORS):
            va, vb = la.vector(v), lb.vector(v)
            worst = 0.0
            for s, e in _blocks(n, va.shape[1]):
                err = _error(va[s:e], vb[s:e])
                if err.size:
                    worst = max(worst, float(err.max()))
                over = err > tol
                rows = over.any(axis=1)
                if rows.any():
                    r = int(np.argmax(rows))
                    key = (s + r, k, vi)
                    if best is None or key < best:
                        best = key
                        u = int(np.argmax(over[r]))
                        report.first = Difference(s + r, k, v, u, float(va[s + r, u]), float(vb[s + r, u]))
            report.max_abs[(k, v)] = worst
        for v in ("h0", "c0"):
            err = _error(getattr(la, v), getattr(lb, v))
            report.max_abs[(k, v)] = float(err.max()) if err.size else 0.0
            if report.max_abs[(k, v)] > tol:
                report.notes.append(f"layer {k}: the initial state {v} differs "
                                    f"(by up to {report.max_abs[(k, v)]:.3g})")

    da, db = np.asarray(a.layers[0].h).dtype, np.asarray(b.layers[0].h).dtype
    if da != db:
        report.notes.append(f"A is recorded in {da}, B in {db}")

    if a.probs is not None and b.probs is not None:
        pa, pb = np.shape(a.probs), np.shape(b.probs)
        if pa[1] != pb[1]:
            report.notes.append(f"the readouts differ in size (A {pa[1]}, B {pb[1]}); not compared")
        else:
            worst = 0.0
            for s, e in _blocks(n, pa[1]):
                err = _error(a.probs[s:e], b.probs[s:e])
                if err.size:
                    worst = max(worst, float(err.max()))
            report.readout_max_abs = worst
    elif (a.probs is None) != (b.probs is None):
        report.notes.append(f"only {'A' if a.probs is not None else 'B'} has a readout; not compared")

    if a.tokens is not None and b.tokens is not None:
        ta, tb = np.asarray(a.tokens[:n]), np.asarray(b.tokens[:n])
        differ = np.flatnonzero(ta != tb)
        if len(differ):
            t = int(differ[0])
            report.notes.append(f"the tokens differ from position {t} ({str(ta[t])!r} in A, {str(tb[t])!r} in B)")
    return report
