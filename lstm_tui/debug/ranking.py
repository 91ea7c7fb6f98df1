"""Which unit matters: units ranked by the size of their value at a step,
by how far two runs part there, or by how often a vector is saturated.

The screen's ``L`` walks a vector's units from the largest |value| at the
current step down (``by_size``), and its sort modes (``SORTS``) order the
rows of every unit pane. The ranking of one row is O(H log H), cheap enough
for every key press; the saturation fractions are a pass over the whole
layer, done once per layer and remembered (``saturation``), and for a long
layer only when a screen asks for them in a worker (``saturation_pending``,
``scan_saturation``), like the health scan.

A NaN ranks above every number, Inf included: in a debugger a NaN is what
one is looking for. Ties keep unit order.

This module imports only the standard library, NumPy and the core.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable

import numpy as np

from ..core.numeric import blocks
from ..core.text import Message
from ..core.trace import Layer, Trace
from .runs import shown_layer, values

#: The panes' sort modes, in the order ``s`` cycles through them: unit
#: number, |value| at t, |B − A| at t (only when two runs are compared),
#: and the fraction of steps at which the vector is saturated.
SORTS = ("index", "value", "delta", "saturation")

#: A gate (0…1) is saturated within this of 0 or of 1; a tanh output (ĉ, h)
#: within this of −1 or 1, and the cell state where tanh(c), which h reads,
#: is (|c| > atanh(1 − SATURATION)): there a change of the value barely
#: moves what comes after it, and its gradient vanishes.
SATURATION = 0.05
#: The vectors a sort orders (x_t is indexed by input, not by unit).
UNIT_VECTORS = ("f", "i", "c_hat", "c", "o", "h")
_GATES = ("f", "i", "o")
_C_EDGE = math.atanh(1.0 - SATURATION)
#: Above this many values (steps × units × the six vectors), the fractions
#: are not computed on the caller's thread: ``saturation`` answers None
#: until ``scan_saturation`` has run.
EAGER_VALUES = 4_000_000

_FRACTIONS: weakref.WeakKeyDictionary[Layer, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()


def by_size(row: np.ndarray) -> np.ndarray:
    """The indices of ``row`` from the largest |value| to the smallest: NaN
    first, then ±Inf, then the numbers; equal sizes in index order."""
    a = np.abs(np.asarray(row, np.float64))
    nan = np.isnan(a)
    # lexsort: the last key is the primary one, and the sort is stable.
    return np.lexsort((-np.where(nan, 0.0, a), ~nan))


def by_fraction(fractions: np.ndarray) -> np.ndarray:
    """Units from the most often saturated to the least; ties in unit order."""
    return np.argsort(-np.asarray(fractions, np.float64), kind="stable")


def next_sort(mode: str, compared: bool) -> str:
    """The sort mode after ``mode``: ``SORTS`` in order, leaving out
    |B − A| when there is no second run."""
    at = SORTS.index(mode) if mode in SORTS else 0
    while True:
        at = (at + 1) % len(SORTS)
        if SORTS[at] != "delta" or compared:
            return SORTS[at]


def saturated(vector: str, block: np.ndarray) -> np.ndarray:
    """Which values of a block of ``vector`` are saturated (NaN is not)."""
    with np.errstate(invalid="ignore"):
        if vector in _GATES:
            return (block < SATURATION) | (block > 1.0 - SATURATION)
        edge = _C_EDGE if vector == "c" else 1.0 - SATURATION
        return np.abs(block) > edge


def saturation_pending(layer: Layer) -> bool:
    """True while ``saturation(layer, ...)`` would answer None: the
    fractions are not known and too costly to find on the caller's thread."""
    return layer not in _FRACTIONS and layer.steps * layer.units * len(UNIT_VECTORS) > EAGER_VALUES


def saturation(layer: Layer, vector: str) -> np.ndarray | None:
    """(H,) per unit, the fraction of the steps that happened (masked steps
    carry the state over and are left out) at which ``vector`` is saturated;
    zeros when no step happened. Computed once per layer; None for a long
    layer until ``scan_saturation`` has run."""
    found = _FRACTIONS.get(layer)
    if found is None:
        if saturation_pending(layer):
            return None
        found = scan_saturation(layer)
    return found[vector]


def scan_saturation(layer: Layer, check: Callable[[], None] | None = None) -> dict[str, np.ndarray]:
    """The fractions of every unit vector of ``layer``, a block of steps at
    a time (safe from a thread: it reads the trace and publishes the result
    whole at the end). ``check`` is called before each block and may raise
    to stop the pass; nothing is published then."""
    found = _FRACTIONS.get(layer)
    if found is not None:
        return found
    T, H = layer.steps, layer.units
    mask = None if layer.mask is None else np.asarray(layer.mask, bool)
    counts = {v: np.zeros(H, np.int64) for v in UNIT_VECTORS}
    happened = 0
    for a, b in blocks(T, H * len(UNIT_VECTORS), check=check):
        rows = slice(a, b) if mask is None else np.flatnonzero(mask[a:b]) + a
        for v in UNIT_VECTORS:
            counts[v] += saturated(v, np.asarray(layer.vector(v)[rows], np.float64)).sum(axis=0)
        happened += (b - a) if mask is None else int(mask[a:b].sum())
    found = {v: counts[v] / happened if happened else np.zeros(H) for v in UNIT_VECTORS}
    _FRACTIONS[layer] = found
    return found


def pane_order(mode: str, trace: Trace, other: Trace | None, run: str, k: int, vector: str,
               t: int) -> np.ndarray | None:
    """The units of ``vector`` in the order a pane sorted by ``mode`` lists
    them at step ``t`` (of the run shown); None for unit order: ``mode``
    "index", a vector without units, |B − A| without a second run or past
    the end of B, or saturation still being scanned."""
    if mode == "index" or vector not in UNIT_VECTORS:
        return None
    if mode == "value":
        row = values(trace, other, run, k, vector, t)
        return None if row is None else by_size(row)
    if mode == "delta":
        if other is None:
            return None
        row = values(trace, other, "delta", k, vector, t)
        return None if row is None else by_size(row)
    if mode == "saturation":
        fractions = saturation(shown_layer(trace, other, run, k), vector)
        return None if fractions is None else by_fraction(fractions)
    raise ValueError(f"unknown sort {mode!r}")


def ranked_note(unit: int, nth: int, total: int, symbol: str, t: int) -> Message:
    """What the status line says after ``L`` went to ``unit``, the ``nth``
    (from 1) of ``total`` by |``symbol``| at step ``t``."""
    values_ = dict(unit=unit, vector=symbol, t=t, n=nth, total=total)
    if nth == 1:
        return Message("unit {unit}: largest |{vector}| at t = {t} ({n} of {total})", **values_)
    if nth == total:
        return Message("unit {unit}: smallest |{vector}| at t = {t} ({n} of {total})", **values_)
    return Message("unit {unit}: next largest |{vector}| at t = {t} ({n} of {total})", **values_)
