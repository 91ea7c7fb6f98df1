"""A window of one vector over steps and units: what the overview reads.

The overview draws a vector of a layer as units × time, but only the part
on screen: a trace of a million steps is memory-mapped, and reading a whole
(T, H) member to draw forty columns of it would touch every page of the
file. So the screen asks here for the rectangle it shows, steps
``start`` … ``stop`` − 1 and units ``first`` … ``last`` − 1, of the run it
shows (A, B or B − A, as ``runs`` reads a step or a unit's series), and
nothing else is read. The pages of a mapped member are handed back once
read (``trace.release_pages``): scrolling across a long trace would
otherwise leave all of it resident.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.trace import Trace, release_pages
from .diff import difference


@dataclass(frozen=True)
class Window:
    """The rectangle read: ``values`` (steps × units, float64; NaN where run
    B has no such step) and ``missing`` (per step: run B is shorter)."""

    start: int
    first: int
    values: np.ndarray
    missing: np.ndarray


def _read(a: np.ndarray, start: int, stop: int, first: int, last: int) -> np.ndarray:
    """``a[start:stop, first:last]`` as float64, its pages handed back."""
    view = a[start:stop, first:last]
    out = np.array(view, np.float64)
    release_pages(view)
    return out


def window(trace: Trace, other: Trace | None, run: str, k: int, vector: str,
           start: int, stop: int, first: int, last: int) -> Window:
    """Steps ``start`` … ``stop`` − 1 and units (or, for x, inputs)
    ``first`` … ``last`` − 1 of ``vector`` of layer ``k`` as ``run`` shows it
    ("a", "b" or "delta": B − A). Bounds are clamped to the array."""
    a_all = trace.layers[k].vector(vector)
    steps, width = a_all.shape
    start, stop = max(0, min(start, steps)), max(0, min(stop, steps))
    first, last = max(0, min(first, width)), max(0, min(last, width))
    stop, last = max(start, stop), max(first, last)
    missing = np.zeros(stop - start, bool)
    if other is None or run == "a":
        return Window(start, first, _read(a_all, start, stop, first, last), missing)
    b_all = other.layers[k].vector(vector)
    have = max(min(stop, b_all.shape[0]) - start, 0)
    missing[have:] = True
    out = np.full((stop - start, last - first), np.nan)
    b = _read(b_all, start, start + have, first, last)
    if run == "b":
        out[:have] = b
    else:
        out[:have] = difference(_read(a_all, start, start + have, first, last), b)
    return Window(start, first, out, missing)
