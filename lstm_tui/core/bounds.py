"""How far two correct computations of a recorded layer may differ.

``numeric`` states the comparison rule and ``lstm.step_check`` applies it to
one LSTM step; this module applies it to the steps of a recorded layer
(read a block at a time from a memory-mapped trace): each step recomputed
from the recorded inputs and previous state, with the bound of every value,
and the bounds for comparing two recordings (``check``, ``diff``, the Keras
bridge's verification and the tests all use them).

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

import numpy as np

from .lstm import StepCheck, step_check
from .numeric import compute_roundoff, roundoff
from .trace import Layer

#: The vectors a step recomputes, in the order the cell computes them.
CHECKED = ("f", "i", "c_hat", "o", "c", "h")


def _layer_inputs(layer: Layer, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, h_{t-1} and c_{t-1} of steps a … b-1 as recorded, in float64."""
    x = np.asarray(layer.x[a:b], np.float64)
    if a == 0:
        h_prev = np.vstack([np.asarray(layer.h0, np.float64)[None], np.asarray(layer.h[: b - 1], np.float64)])
        c_prev = np.vstack([np.asarray(layer.c0, np.float64)[None], np.asarray(layer.c[: b - 1], np.float64)])
    else:
        h_prev = np.asarray(layer.h[a - 1 : b - 1], np.float64)
        c_prev = np.asarray(layer.c[a - 1 : b - 1], np.float64)
    return x, h_prev, c_prev


def recompute(layer: Layer, a: int = 0, b: int | None = None) -> StepCheck:
    """Steps ``a … b-1`` of ``layer`` recomputed from the recorded inputs and
    previous states, with the rounding bound of each value."""
    assert layer.cell is not None
    b = layer.steps if b is None else b
    x, h_prev, c_prev = _layer_inputs(layer, a, b)
    mask = None if layer.mask is None else np.asarray(layer.mask[a:b], bool)
    return step_check(layer.cell, x, h_prev, c_prev, mask=mask, stored=np.asarray(layer.h).dtype)


def rounding_bounds(layer: Layer, a: int = 0, b: int | None = None, *, free_running: bool = False,
                    depth: int = 0, start: int = 0, checked: StepCheck | None = None) -> dict[str, np.ndarray]:
    """How far two correct computations of steps ``a … b-1`` of ``layer``
    may differ, per value of every vector (``x`` and ``CHECKED``): twice
    the core's rounding bound (each lies within it of the exact value).

    With ``free_running`` the two are whole passes, not fed the same
    recorded states: rounding then carries from step to step, so the bound
    at step t (processing order) is (t + 1) times the step's own, and a
    layer ``depth`` layers from the input (whose x is itself such a pass)
    (depth + 1) times more; a recurrence that does not amplify its errors
    stays within it. A layer without weights is bounded by the size of its
    values instead of its terms.

    ``start``: ``layer`` is a chunk of a longer pass that begins at step
    ``start`` of it (a recording verified chunk by chunk), so its step t is
    step start + t of the pass: that is the count a free-running bound
    grows with. ``checked``: ``recompute(layer, a, b)`` when the caller has
    it already (both kinds of bound from one recomputation)."""
    b = layer.steps if b is None else b
    stored = np.asarray(layer.h).dtype
    u_s, u_c = roundoff(stored), compute_roundoff(stored)
    n = layer.input_dim + layer.units + 1
    if layer.cell is not None:
        local = dict((checked or recompute(layer, a, b)).tol)
    else:
        local = {v: (u_s + n * u_c) * np.maximum(np.abs(np.asarray(layer.vector(v)[a:b], np.float64)), 1.0)
                 for v in CHECKED}
    local["x"] = u_s * np.abs(np.asarray(layer.x[a:b], np.float64))
    scale: float | np.ndarray = 2.0
    if free_running and layer.mask is not None and layer.cell is not None:
        # A masked step carries the state over exactly, drift and all: give
        # it the largest bound of its unit in the block.
        skip = ~np.asarray(layer.mask[a:b], bool)
        for v in ("c", "h"):
            local[v] = local[v].copy()  # (``checked`` may serve another bound)
            local[v][skip] = local[v].max(axis=0)[None].repeat(int(skip.sum()), axis=0)
    if free_running:
        scale = 2.0 * (depth + 1) * np.arange(start + a + 1, start + b + 1, dtype=np.float64)[:, None]
    out = {}
    for v, tol in local.items():
        with np.errstate(over="ignore", invalid="ignore"):
            out[v] = np.nan_to_num(tol * scale, nan=0.0, posinf=np.inf)
    if free_running and depth:
        # x of a deeper layer is the h of the one before: it drifts like h.
        out["x"] = np.maximum(out["x"], (depth + 1) * n * u_c * np.arange(start + a + 1, start + b + 1)[:, None]
                              * np.maximum(np.abs(np.asarray(layer.x[a:b], np.float64)), 1.0))
    return out
