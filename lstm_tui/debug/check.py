"""Recompute a trace from its stored weights and say where, and why, it does
not follow from them.

The check is step by step ("teacher forced"): step t is recomputed from the
recorded x_t, h_{t-1} and c_{t-1}, not from a free-running pass. Rounding then
cannot pile up over a long float32 sequence, and a mismatch points at the
exact step where the recording stops obeying the weights.

Each value is compared within the bound ``lstm.step_check`` gives it: the
rounding a correct recording in the trace's precision can carry, scaled to
the terms that produced the value (``numeric``'s rule). So a correct
recording passes however large its numbers grow, and a 1% corruption fails
at any magnitude. ``tol`` replaces the bound by a fixed absolute tolerance,
for a recording made in a lower precision than it was stored in.

Beyond the first mismatch the report counts, per vector, the steps and
units that fail, and it recognises the most common porting mistake: the
gate blocks of the weights in another order (Keras stores i, f, c, o;
PyTorch i, f, g, o; a trace f, i, c, o). When the recorded values of one
gate are what the stored weights give for another, it says so.

The steps are read a block at a time, so a memory-mapped trace of any
length is checked in bounded memory.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.bounds import CHECKED, recompute
from ..core.lstm import GATE_VECTOR, GATES, StepCheck, activation
from ..core.numeric import (
    abs_difference,
    activation_bound,
    beyond,
    blocks,
    compute_roundoff,
    distinct,
    relative_error,
    roundoff,
)
from ..core.trace import Layer, Trace
from ..core.vocabulary import gate_label

#: How the report writes the gate a weight block belongs to.
_GATE_LABEL = {g: gate_label(g) for g in GATES}


@dataclass(frozen=True)
class Mismatch:
    """A recorded value that does not follow from the weights: ``recorded``
    against ``recomputed``, whose difference exceeds ``tol``."""

    layer: int
    step: int
    vector: str
    unit: int
    recorded: float
    recomputed: float
    tol: float = 0.0

    def line(self) -> str:
        a, b = distinct(self.recorded, self.recomputed)
        what = f"layer {self.layer}, step {self.step}, {self.vector}[{self.unit}]"
        if np.isnan(self.recorded) != np.isnan(self.recomputed):
            return f"mismatch: {what}: recorded {a}, recomputed {b} (NaN against a number)"
        rel = relative_error(self.recorded, self.recomputed)
        return (f"mismatch: {what}: recorded {a}, recomputed {b} "
                f"(relative error {rel:.2g}, allowed {self.tol:.2g})")


@dataclass
class VectorFailures:
    """How much of one vector of one layer fails: the steps and the units
    with at least one failing value."""

    steps: int = 0
    units: int = 0
    first: Mismatch | None = None


@dataclass
class CheckReport:
    """What ``check_trace`` found, per layer and over the whole trace."""

    #: layer -> largest |recorded − recomputed| (inf when a NaN meets a number)
    max_error: dict[int, float] = field(default_factory=dict)
    #: layer -> largest difference as a fraction of its allowed bound (≤ 1 passes)
    max_ratio: dict[int, float] = field(default_factory=dict)
    #: layer -> the fixed tolerance when one was given, else None (the bound)
    tol: dict[int, float | None] = field(default_factory=dict)
    #: (layer, vector) -> failures, for the vectors that fail
    failures: dict[tuple[int, str], VectorFailures] = field(default_factory=dict)
    #: the first mismatch: smallest step, then layer, then the cell's order
    mismatch: Mismatch | None = None
    #: one line per likely cause found (swapped gates)
    causes: list[str] = field(default_factory=list)
    unchecked: str | None = None  # why nothing could be checked
    skipped: list[int] = field(default_factory=list)  # layers without weights

    def lines(self) -> list[str]:
        out = []
        for k, err in self.max_error.items():
            allowed = (f"tolerance {self.tol[k]:g}" if self.tol.get(k) is not None
                       else f"{self.max_ratio[k]:.2g} of the rounding bound")
            out.append(f"layer {k}: largest difference {err:.3g} ({allowed})")
        for k in self.skipped:
            out.append(f"layer {k}: no weights stored, not checked")
        m = self.mismatch
        if m is None:
            out.append("ok: every step follows from the stored weights")
            return out
        out.append(m.line())
        out.extend(f"likely cause: {c}" for c in self.causes)
        out.append("failing, per vector:")
        for (k, v), fails in self.failures.items():
            out.append(f"  layer {k} {v:<5} {fails.steps} step{'s' if fails.steps != 1 else ''}, "
                       f"{fails.units} unit{'s' if fails.units != 1 else ''}")
        return out


def _swapped(k: int, layer: Layer, failing: set[str], a: int, chk: StepCheck) -> list[str]:
    """The gates whose recorded values are what the weights give for another
    gate: for each failing gate g and each other gate g', is the recorded g
    equal to act_g(z_g') at every step of the block ``chk`` (from step
    ``a``)?"""
    cell = layer.cell
    assert cell is not None
    stored = np.asarray(layer.h).dtype
    u_s, u_c = roundoff(stored), compute_roundoff(stored)
    matches: dict[str, str] = {}
    for g in GATES:
        v = GATE_VECTOR[g]
        if v not in failing:
            continue
        fn = activation(cell.activation if g == "c" else cell.recurrent_activation)
        recorded = np.asarray(layer.vector(v)[a : a + chk.pre[g].shape[0]], np.float64)
        for other in GATES:
            if other == g:
                continue
            value, tol = activation_bound(fn, chk.pre[other], chk.pre_tol[other], u_c, u_s)
            if not beyond(abs_difference(recorded, value), 2 * tol).any():
                matches[g] = other
                break
    out = []
    done: set[str] = set()
    for g, other in matches.items():
        if g in done:
            continue
        if matches.get(other) == g:
            out.append(f"layer {k}: gates {_GATE_LABEL[g]} and {_GATE_LABEL[other]} look "
                       f"swapped: each one's recorded values are what the stored weights give for the other "
                       f"(Keras stores gate blocks i, f, c, o; PyTorch i, f, g, o; a trace f, i, c, o)")
            done |= {g, other}
        else:
            out.append(f"layer {k}: the recorded {_GATE_LABEL[g]} values are what the stored "
                       f"weights give for {_GATE_LABEL[other]}: the weights' gate blocks look out of order "
                       f"(Keras stores i, f, c, o; PyTorch i, f, g, o; a trace f, i, c, o)")
            done.add(g)
    return out


def check_trace(trace: Trace, tol: float | None = None) -> CheckReport:
    """Recompute every step of every layer that holds weights; see the
    module's docstring. ``tol``: a fixed absolute tolerance instead of the
    rounding bound."""
    report = CheckReport()
    if all(layer.cell is None for layer in trace.layers):
        report.unchecked = "the trace holds no weights, so nothing can be recomputed"
        return report
    first: tuple[int, int, int] | None = None  # step, layer, order in CHECKED
    for k, layer in enumerate(trace.layers):
        if layer.cell is None:
            report.skipped.append(k)
            continue
        report.tol[k] = tol
        worst = ratio = 0.0
        T, H = layer.steps, layer.units
        bad_steps = {v: np.zeros(T, bool) for v in CHECKED}
        bad_units = {v: np.zeros(H, bool) for v in CHECKED}
        firsts: dict[str, Mismatch] = {}
        # The first block where a gate fails, kept for the diagnosis.
        diagnosis: tuple[int, StepCheck] | None = None
        for a, b in blocks(T, 4 * H + layer.input_dim):
            chk = recompute(layer, a, b)
            for vi, v in enumerate(CHECKED):
                recorded = np.asarray(layer.vector(v)[a:b], np.float64)
                value = chk.values[v]
                bound = np.full_like(value, tol) if tol is not None else chk.tol[v]
                err = abs_difference(recorded, value)
                with np.errstate(invalid="ignore", divide="ignore"):
                    r = np.where(err == 0, 0.0, err / bound)
                worst = max(worst, float(np.nanmax(np.where(np.isnan(err), np.inf, err)))) if err.size else worst
                ratio = max(ratio, float(np.nanmax(np.where(np.isnan(r), np.inf, r)))) if r.size else ratio
                over = beyond(err, bound)
                if not over.any():
                    continue
                rows = over.any(axis=1)
                bad_steps[v][a:b] |= rows
                bad_units[v] |= over.any(axis=0)
                if v not in firsts:
                    t = int(np.argmax(rows))
                    u = int(np.argmax(over[t]))
                    firsts[v] = Mismatch(k, a + t, v, u, float(recorded[t, u]), float(value[t, u]),
                                         float(bound[t, u]))
                    key = (a + t, k, vi)
                    if first is None or key < first:
                        first = key
                        report.mismatch = firsts[v]
            if diagnosis is None and any(v in firsts for v in ("f", "i", "c_hat", "o")):
                diagnosis = (a, chk)
        report.max_error[k] = worst
        report.max_ratio[k] = ratio
        for v in CHECKED:
            if bad_steps[v].any():
                report.failures[(k, v)] = VectorFailures(int(bad_steps[v].sum()), int(bad_units[v].sum()),
                                                         firsts[v])
        if diagnosis is not None:
            report.causes.extend(_swapped(k, layer, set(firsts), *diagnosis))
    return report
