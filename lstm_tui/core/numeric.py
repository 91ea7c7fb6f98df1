"""The shared numeric rules: when two recorded numbers are "the same", and
how a scan walks a long trace.

**One comparison rule.** Two computations of the same LSTM step in float32
(Keras and NumPy, two machines, a recording and its check) do not agree bit
for bit: every product and every sum rounds. How far apart they may be
depends on the size of the *terms* that were added, not on the size of the
result: a gate whose pre-activation ``W·x + U·h + b`` is 0.1 after the
cancellation of terms of 1e6 carries an error of about 1e6 × 1e-7. A fixed
tolerance is therefore wrong both ways: too tight for large values (a false
alarm on a correct recording whose cell state grows to 1e12) and too loose
for small ones (a 1% corruption of a value of 1e-4 passes 1e-5).

The rule, applied to each value:

- the error bound of a sum of ``n`` terms is ``(u_store + n · u_compute) ·
  Σ|term|`` (the classic bound for a dot product in any order, with or
  without fused multiply-add), where ``u`` is half the machine epsilon of
  the precision the values were stored in and computed in;
- an activation turns the bound ``δ`` on its argument into the range of the
  activation over ``[z - δ, z + δ]``, plus a few units of rounding of its own
  (floored at the activation's output scale of 1: ``σ`` computed as
  ``½ + ½·tanh(z/2)`` is accurate to ``u`` absolutely, not relatively);
- NaN equals NaN at the same place and an infinity equals itself: a faithful
  recording of a diverging model is still faithful. NaN against a number is
  a difference, reported as such, never as a number.

``lstm.step_check`` applies the rule to an LSTM step; ``check``, ``diff``,
the Keras bridge's verification and the tests all use it.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

#: Rows per block times the width: bounds the temporaries a scan makes.
BLOCK_ELEMENTS = 1 << 20

#: Rounding of an activation's own evaluation, in units of roundoff.
ACTIVATION_ULPS = 4.0


def blocks(T: int, width: int, elements: int | None = None,
           check: Callable[[], None] | None = None) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` row ranges that cover ``0 … T-1`` with about
    ``elements`` values per block (``BLOCK_ELEMENTS`` by default): a scan of
    a memory-mapped trace reads it a block at a time and never copies it
    whole. ``check`` is called before each block is handed out: a caller
    stops a long scan by raising from it (the trace's file changed, the
    scan was cancelled)."""
    per = BLOCK_ELEMENTS if elements is None else elements
    rows = max(1, per // max(1, width))
    for a in range(0, T, rows):
        if check is not None:
            check()
        yield a, min(T, a + rows)


def roundoff(dtype: np.dtype | type | str) -> float:
    """The unit roundoff ``u`` (half the machine epsilon) of a float type;
    that of float64 for anything that is not a float."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        dt = np.dtype(np.float64)
    return float(np.finfo(dt).eps) / 2.0


def compute_roundoff(dtype: np.dtype | type | str) -> float:
    """The roundoff of the arithmetic behind values stored as ``dtype``:
    float16 values are computed in float32 by every framework, so their
    arithmetic rounds like float32's; float32 and float64 like themselves."""
    dt = np.dtype(dtype)
    if dt == np.float16:
        return roundoff(np.float32)
    return roundoff(dt)


def abs_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|b − a|`` in float64, elementwise, by the rule: 0 where the two are
    equal, NaN and NaN included, an infinity against the same infinity
    included; NaN where exactly one of them is NaN (a NaN against a number
    is not a number of difference); +inf where one is infinite and the other
    not, or the infinities differ in sign."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.abs(b - a)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    one_nan = np.isnan(a) != np.isnan(b)
    # +inf against +inf was caught by ``same``; what is NaN now is opposite
    # infinities, an infinite difference.
    out = np.where(np.isnan(out), np.inf, out)
    return np.where(same, 0.0, np.where(one_nan, np.nan, out))


def signed_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``b − a`` in float64, signed, by the same rule: 0 where they are
    equal (NaN and NaN, an infinity and itself), NaN where exactly one is
    NaN. What a screen shows for two runs side by side."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        out = b - a
    return np.where((a == b) | (np.isnan(a) & np.isnan(b)), 0.0, out)


def beyond(err: np.ndarray, tol: np.ndarray | float) -> np.ndarray:
    """Where a difference from ``abs_difference`` breaks its tolerance: more
    than ``tol``, or NaN against a number. A NaN tolerance (the terms
    themselves overflowed) accepts nothing but equality."""
    with np.errstate(invalid="ignore"):
        return np.isnan(err) | (err > np.nan_to_num(tol, nan=0.0))


def dot_bound(terms: np.ndarray, n: int, store: float, compute: float) -> np.ndarray:
    """The rounding bound of a sum of ``n`` products whose absolute values
    add up to ``terms``: ``(u_store + n·u_compute) · terms``. ``u_store``
    covers the operands having been rounded to the stored precision (a
    float16 trace was computed from float32 states), ``n·u_compute`` the
    sum itself, in any order."""
    return (store + n * compute) * terms


def activation_bound(
    act: Callable[[np.ndarray], np.ndarray],
    z: np.ndarray,
    dz: np.ndarray,
    compute: float,
    store: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``act(z)`` and the bound on its error when ``z`` is known to ``±dz``:
    the spread of ``act`` over ``z - dz, z, z + dz`` (exact for monotone
    activations, first-order for the rest), plus ``ACTIVATION_ULPS`` of
    rounding in the activation itself, at least on the scale of 1, plus the
    rounding of the stored result."""
    z = np.asarray(z, np.float64)
    dz = np.nan_to_num(np.asarray(dz, np.float64), nan=0.0, posinf=0.0)
    with np.errstate(all="ignore"):
        mid = act(z)
        lo = act(z - dz)
        hi = act(z + dz)
        spread = np.maximum(np.abs(hi - mid), np.abs(lo - mid))
        spread = np.where(np.isfinite(spread), spread, np.inf)
        spread = np.where(dz == 0, 0.0, spread)
        scale = np.maximum(np.abs(mid), 1.0)
        tol = spread + ACTIVATION_ULPS * compute * scale + store * np.abs(mid)
    return mid, tol


def relative_error(a: float, b: float) -> float:
    """``|a − b| / max(|a|, |b|)``: 0 for equal numbers, NaN when either is
    NaN."""
    if a == b:
        return 0.0
    big = max(abs(a), abs(b))
    return abs(a - b) / big if big else 0.0


def distinct(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` written with as few significant digits (at least 6)
    as make them look different, when they are: a mismatch line must never
    show two equal-looking numbers."""
    for p in range(6, 18):
        sa, sb = f"{a:.{p}g}", f"{b:.{p}g}"
        if sa != sb or a == b:
            return sa, sb
    return repr(a), repr(b)


def top_choice(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of a readout (rows, V): the index of its largest
    probability and that probability. NaN never wins over a number; a row
    with no number (all NaN, or V = 0) gives index -1 and NaN. Reads only the
    rows it is given: call it on a window of a memory-mapped readout."""
    p = np.asarray(probs, np.float64)
    rows = p.shape[0]
    if p.ndim != 2 or p.shape[1] == 0:
        return np.full(rows, -1), np.full(rows, np.nan)
    safe = np.where(np.isnan(p), -np.inf, p)
    best = safe.argmax(axis=1)
    value = p[np.arange(rows), best]
    none = np.isnan(p).all(axis=1)
    best[none] = -1
    value[none] = np.nan
    return best, value
