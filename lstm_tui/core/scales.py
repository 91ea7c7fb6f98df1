"""The fixed scales the screen draws values against, and the passes over
a recorded layer that find them.

A debugger draws every value against a scale that never moves: gates
against 0…1, ĉ and h against −1…1 when the activations fix them, x and the
cell state against a range taken once from the whole trace. Finding that
range is a pass over memory-mapped data, so it reads a block of rows at a
time and hands each block's pages back (``trace.release_pages``).

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .trace import Layer, release_pages

#: Activations whose output is known to lie in 0…1 or in −1…1; the scale of
#: a vector they produce is then fixed by the maths, not by the data.
UNIT_RANGE = {"sigmoid", "hard_sigmoid"}
SIGNED_UNIT_RANGE = {"tanh", "softsign", "hard_tanh"}



@dataclass(frozen=True)
class Scale:
    """A fixed range for bars: ``lo``…``hi``. Signed when it straddles zero:
    then the bar grows left or right from a centre line."""

    lo: float
    hi: float

    @property
    def signed(self) -> bool:
        return self.lo < 0 < self.hi

    def label(self) -> str:
        if self.signed and math.isclose(-self.lo, self.hi):
            return f"±{_short(self.hi)}"
        return f"{_short(self.lo)}…{_short(self.hi)}"


def _short(v: float) -> str:
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.3g}"


GATE_SCALE = Scale(0.0, 1.0)
SIGNED_SCALE = Scale(-1.0, 1.0)


def finite_max_abs(a: np.ndarray, chunk: int = 8192) -> float:
    """The largest finite |value| of ``a`` (0.0 if there is none), read a
    block of rows at a time so a memory-mapped trace is never copied whole
    (and each block's pages are handed back once read: ``release_pages``).
    Blocks stay in their own float type: max |.| needs no float64."""
    return max_abs_and_negative(a, chunk)[0]


def max_abs_and_negative(a: np.ndarray, chunk: int = 8192,
                         check: Callable[[], None] | None = None) -> tuple[float, bool]:
    """(largest finite |value|, whether any value is below zero), one pass;
    ``check`` is called before each block is read (raise from it to stop)."""
    a = np.asarray(a) if not hasattr(a, "shape") else a
    best = 0.0
    negative = False
    rows = a.shape[0] if a.ndim else 1
    if a.ndim > 1:
        chunk = max(1, min(chunk, (1 << 20) // max(1, int(np.prod(a.shape[1:])))))
    for start in range(0, rows, chunk):
        if check is not None:
            check()
        view = a[start : start + chunk] if a.ndim else a
        block = np.asarray(view)
        if block.dtype.kind != "f":
            block = block.astype(np.float64)
        finite = block[np.isfinite(block)]
        if finite.size:
            best = max(best, float(np.abs(finite).max()))
            negative = negative or bool((finite < 0).any())
        negative = negative or bool(np.isneginf(block).any())
        del block, finite
        release_pages(view)
    return best, negative


def fixed_scale(layer: Layer, name: str) -> Scale | None:
    """The scale the layer's activations fix for ``name``, or None when it
    depends on the data (x, c, or an activation without a bounded range)."""
    if name in ("f", "i", "o") and layer.recurrent_activation in UNIT_RANGE:
        return GATE_SCALE
    if name in ("c_hat", "h") and layer.activation in SIGNED_UNIT_RANGE:
        # h = o·act(c) with o in 0…1 stays inside act's range.
        return SIGNED_SCALE
    return None


def data_scale(m: float, has_negative: bool) -> Scale:
    """A scale taken from the data: symmetric ±m, or 0…m when the data
    never goes below zero (a one-hot input needs no left half)."""
    if m <= 0:
        return SIGNED_SCALE if has_negative else GATE_SCALE
    return Scale(-m, m) if has_negative else Scale(0.0, m)
