"""Two runs side by side, as data: what a view shows of run A, run B or
their difference B − A at a step or over a window of steps.

``lstm-tui view A --diff B`` steps both traces together; the screen picks a
run and asks here for its values (``diff.difference``: NaN against NaN is
0, NaN against a number stays NaN). A run B shorter than A has no value at
A's later steps: those come back as None or marked missing, never as
numbers.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

import numpy as np

from ..core.trace import Layer, Trace
from .diff import difference


def shown_layer(trace: Trace, other: Trace | None, run: str, k: int) -> Layer:
    """The layer whose recorded values are shown (B's in run ``b``)."""
    if run == "b" and other is not None:
        return other.layers[k]
    return trace.layers[k]


def values(trace: Trace, other: Trace | None, run: str, k: int, vector: str, t: int) -> np.ndarray | None:
    """The vector at step ``t`` in ``run``, as float64; None when the run has
    no step ``t`` (B is shorter than A)."""
    a = trace.layers[k].vector(vector)
    if other is None or run == "a":
        return np.asarray(a[t], np.float64)
    b = other.layers[k].vector(vector)
    if t >= b.shape[0]:
        return None
    if run == "b":
        return np.asarray(b[t], np.float64)
    return difference(a[t], b[t])


def series(trace: Trace, other: Trace | None, run: str, k: int, vector: str, unit: int,
           start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """One unit's ``vector`` over the steps ``start`` … ``stop`` - 1 of A as
    ``run`` shows it (float64, for the timeline), and which of those steps
    the run does not have (B shorter than A: NaN there, not a value)."""
    a = np.asarray(trace.layers[k].vector(vector)[start:stop, unit], np.float64)
    missing = np.zeros(a.shape[0], bool)
    if other is None or run == "a":
        return a, missing
    b_all = other.layers[k].vector(vector)
    have = max(min(stop, b_all.shape[0]) - start, 0)
    missing[have:] = True
    out = np.full(a.shape[0], np.nan)
    b = np.asarray(b_all[start:start + have, unit], np.float64)
    out[:have] = b if run == "b" else difference(a[:have], b)
    return out, missing


def step_mask(trace: Trace, other: Trace | None, run: str, k: int, start: int, stop: int) -> np.ndarray | None:
    """Which of the steps ``start`` … ``stop`` - 1 are masked in what
    ``run`` shows: A's mask, B's, or for B − A a step masked in either;
    None when no step can be."""
    masks = []
    if other is None or run != "b":
        masks.append(trace.layers[k].mask)
    if other is not None and run != "a":
        masks.append(other.layers[k].mask)
    out = None
    for mask in masks:
        if mask is not None:
            part = np.zeros(stop - start, bool)
            got = ~np.asarray(mask[start:stop], bool)
            part[:got.shape[0]] = got
            out = part if out is None else out | part
    return out
