"""Recompute a trace from its stored weights and find the first step that
does not follow from the one before.

The check is step by step ("teacher forced"): step t is recomputed from the
recorded x_t, h_{t-1} and c_{t-1}, not from a free-running pass. Rounding then
cannot pile up over a long float32 sequence, and a mismatch points at the
exact step where the recording stops obeying the weights. All steps are
computed at once (one matrix product per layer).

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .lstm import GATE_VECTOR, GATES, activation, step_preactivations
from .trace import Layer, Trace

#: Default tolerance by the recording's precision: a float16 trace can only
#: agree to about 3 decimals, float32 to about 6.
TOLERANCE = {np.dtype(np.float16): 2e-3, np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-9}


@dataclass(frozen=True)
class Mismatch:
    layer: int
    step: int
    vector: str
    unit: int
    recorded: float
    recomputed: float


@dataclass
class CheckReport:
    """What ``check_trace`` found: per layer the largest difference, and the
    first mismatch (smallest step, then layer) if any."""

    max_error: dict[int, float] = field(default_factory=dict)
    tol: dict[int, float] = field(default_factory=dict)
    mismatch: Mismatch | None = None
    unchecked: str | None = None  # why nothing could be checked

    def lines(self) -> list[str]:
        out = [f"layer {k}: largest difference {err:.3g} (tolerance {self.tol[k]:.0e})"
               for k, err in self.max_error.items()]
        m = self.mismatch
        if m is None:
            out.append("ok: every step follows from the stored weights")
        else:
            out.append(
                f"mismatch: layer {m.layer}, step {m.step}, {m.vector}[{m.unit}]: "
                f"recorded {m.recorded:.6g}, recomputed {m.recomputed:.6g}")
        return out


def recompute(layer: Layer) -> dict[str, np.ndarray]:
    """Each vector of every step recomputed from the recorded inputs and the
    recorded previous state, in float64."""
    assert layer.cell is not None
    cell = layer.cell
    x = np.asarray(layer.x, np.float64)
    h = np.asarray(layer.h, np.float64)
    c = np.asarray(layer.c, np.float64)
    h_prev = np.vstack([np.asarray(layer.h0, np.float64)[None], h[:-1]])
    c_prev = np.vstack([np.asarray(layer.c0, np.float64)[None], c[:-1]])
    z = step_preactivations(cell, x, h_prev)
    act, rec_act = activation(cell.activation), activation(cell.recurrent_activation)
    with np.errstate(all="ignore"):
        out = {GATE_VECTOR[g]: (act if g == "c" else rec_act)(z[g]) for g in GATES}
        out["c"] = out["f"] * c_prev + out["i"] * out["c_hat"]
        out["h"] = out["o"] * act(out["c"])
    if layer.mask is not None:
        skip = ~np.asarray(layer.mask, bool)
        out["c"][skip] = c_prev[skip]
        out["h"][skip] = h_prev[skip]
    return out


def check_trace(trace: Trace, tol: float | None = None) -> CheckReport:
    report = CheckReport()
    if all(layer.cell is None for layer in trace.layers):
        report.unchecked = "the trace holds no weights, so nothing can be recomputed"
        return report
    first: Mismatch | None = None
    for k, layer in enumerate(trace.layers):
        if layer.cell is None:
            continue
        layer_tol = tol if tol is not None else TOLERANCE.get(np.asarray(layer.h).dtype, 1e-5)
        report.tol[k] = layer_tol
        worst = 0.0
        for name, value in recompute(layer).items():
            recorded = np.asarray(layer.vector(name), np.float64)
            # NaN where both are NaN (or the same infinity) counts as equal: a
            # recording of a diverging model is still a faithful recording.
            same = (recorded == value) | (np.isnan(recorded) & np.isnan(value))
            with np.errstate(invalid="ignore"):
                err = np.where(same, 0.0, np.abs(recorded - value))
            err = np.where(np.isnan(err), np.inf, err)
            worst = max(worst, float(err.max()))
            bad = np.argwhere(err > layer_tol)
            if len(bad):
                t, u = (int(v) for v in bad[0])
                if first is None or (t, k) < (first.step, first.layer):
                    first = Mismatch(k, t, name, u, float(recorded[t, u]), float(value[t, u]))
        report.max_error[k] = worst
    report.mismatch = first
    return report
