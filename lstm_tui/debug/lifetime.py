"""How long a change lives, and how long the cell remembers: the numbers
behind the timeline's difference and memory rows, a window of steps at a time.

**A change.** When two runs part (an edited value, another input), the
difference does not stop where it started: it rides along in c and h until
the forget gates wash it out, or for ever. ``diff_window`` gives, for the
steps of a window, how far the runs are apart in one layer: per unit the
larger of |B − A| of c and of h (the state a unit carries to the next step:
a gate differs only because the state or the input did), per step the
largest |B − A| of any value of the layer, and whether each is beyond the
tolerance. The tolerance is the comparison's own (``diff._bounds``: the
core's rounding rule, or a fixed one), applied step by step to the window
only, so the marks agree with the report's steps beyond and cost
O(window), never O(T). ``beyond_span`` reads the first and last step beyond
the tolerance from the report (``diff.diff``, which a screen computes in a
worker for long runs).

**A memory.** ``c_t = f_t ⊙ c_{t-1} + i_t ⊙ ĉ_t``: what the cell held at
step s is still in it at t ≥ s scaled by ``Π_{τ=s+1..t} f_τ`` (the rest of
c_t was written since). ``Memory`` computes that product for one unit from
one step s, for the steps of a window. The window's values are a running
product in float64 (``np.cumprod``), not a sum of logarithms: a product of
n factors so computed is within n units of roundoff of the exact one
(``product_tolerance``), an f of exactly 0 gives exactly 0, and a product
that falls below the smallest float64 reads 0, which is what it is for a
row drawn 0…1. The product up to the window's first step is kept at
checkpoints every ``CHECKPOINT`` steps from s, so a window far from s costs
the steps from the last checkpoint, not from s; reaching a checkpoint far
away reads a column of f across the trace, so a screen does that in a worker
(``ready``, ``extend``) when it is more than ``INLINE_VALUES`` values away.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core import numeric
from ..core.lstm import VECTORS
from ..core.numeric import abs_difference, beyond
from ..core.trace import Layer, Trace
from .diff import DiffReport, _bounds

#: The vectors a unit's difference row is taken from: its state.
STATE = ("c", "h")


@dataclass(frozen=True)
class DiffWindow:
    """How far two runs are apart in one layer over steps ``start`` …
    ``start + steps - 1`` (only steps both runs have)."""

    start: int
    #: (steps, H): per value, the larger of |B − A| of c and h; NaN where
    #: one run has NaN and the other a number.
    state: np.ndarray
    #: (steps, H): whether c or h of the unit is beyond the tolerance there.
    state_beyond: np.ndarray
    #: (steps,): the largest |B − A| of any value of the layer at each step
    #: (inf where a NaN meets a number).
    layer: np.ndarray
    #: (steps,): whether any value of the layer is beyond the tolerance.
    layer_beyond: np.ndarray

    @property
    def steps(self) -> int:
        return int(self.layer.shape[0])

    def unit(self, u: int) -> tuple[np.ndarray, np.ndarray]:
        """(|B − A| of the unit's state, beyond the tolerance) per step."""
        return self.state[:, u], self.state_beyond[:, u]


def diff_window(a: Trace, b: Trace, k: int, start: int, stop: int, tol: float | None = None) -> DiffWindow:
    """``DiffWindow`` of layer ``k`` over steps ``start`` … ``stop`` - 1,
    cut to the steps both runs have; ``tol`` as for ``diff.diff`` (None:
    the rounding rule). Reads only those steps."""
    la, lb = a.layers[k], b.layers[k]
    n = min(la.steps, lb.steps)
    stop = max(min(stop, n), 0)
    start = max(min(start, stop), 0)
    H = la.units
    state = np.zeros((stop - start, H))
    state_beyond = np.zeros((stop - start, H), bool)
    layer = np.zeros(stop - start)
    layer_beyond = np.zeros(stop - start, bool)
    if stop > start:
        bounds = _bounds(la, lb, start, stop, k, tol)
        for v in VECTORS:
            err = abs_difference(la.vector(v)[start:stop], lb.vector(v)[start:stop])
            if err.shape[1] == 0:
                continue
            over = beyond(err, bounds[v])
            layer = np.maximum(layer, np.nan_to_num(err, nan=np.inf).max(axis=1))
            layer_beyond |= over.any(axis=1)
            if v in STATE:
                # NaN against a number wins over any number (np.fmax would hide it).
                state = np.where(np.isnan(err) | (err > state), err, state)
                state_beyond |= over
    return DiffWindow(start, state, state_beyond, layer, layer_beyond)


def beyond_span(report: DiffReport, layer: int | None = None) -> tuple[int, int, int] | None:
    """(layer, first step, last step) beyond the tolerance: of ``layer``
    when it has such steps, else of the first layer that has; None when no
    step of any layer is beyond the tolerance."""
    order = sorted(report.layers)
    if layer in report.layers:
        order = [layer, *(k for k in order if k != layer)]
    for k in order:
        ld = report.layers[k]
        if ld.first_step is not None and ld.last_step is not None:
            return k, ld.first_step, ld.last_step
    return None


# -- memory ------------------------------------------------------------------------

#: Steps between the checkpoints of a memory's running product.
CHECKPOINT = 4096
#: Above this many values between the last checkpoint and a window (steps
#: × the layer's units: a column read touches every row's page), a screen
#: extends the checkpoints in a worker rather than on a key press.
INLINE_VALUES = 1 << 20


def product_tolerance(n: int) -> float:
    """The relative error of a product of ``n`` float64 factors multiplied
    one after another: n units of roundoff (each multiplication rounds
    once)."""
    return max(n, 1) * numeric.roundoff(np.float64)


class Memory:
    """``Π_{τ=s+1..t} f_τ[unit]`` of one layer for t ≥ s: how much of
    ``c_s[unit]`` is still in ``c_t[unit]``. 1 at t = s; undefined (NaN,
    and ``before`` true) at t < s."""

    def __init__(self, layer: Layer, unit: int, s: int) -> None:
        self.layer = layer
        self.unit = unit
        self.s = s
        #: checkpoints[j]: the product up to step s + j·CHECKPOINT.
        self._checkpoints = [1.0]

    def _column(self, a: int, b: int) -> np.ndarray:
        f = np.asarray(self.layer.f[a:b, self.unit], np.float64)
        mask = self.layer.mask
        if mask is not None:
            # A masked step carries the state over as it is: no forgetting.
            f = np.where(np.asarray(mask[a:b], bool), f, 1.0)
        return f

    def _prefix_from(self, t: int) -> tuple[int, float]:
        """(step, product up to it) of the last checkpoint at or before t."""
        j = min((t - self.s) // CHECKPOINT, len(self._checkpoints) - 1)
        return self.s + j * CHECKPOINT, self._checkpoints[j]

    def ready(self, t: int) -> bool:
        """Whether the product up to ``t`` costs at most ``INLINE_VALUES``
        values to read from the checkpoints kept so far."""
        if t <= self.s:
            return True
        step, _ = self._prefix_from(t)
        return (t - step) * max(self.layer.units, 1) <= INLINE_VALUES

    def extend(self, t: int, check: Callable[[], None] | None = None) -> None:
        """Keep checkpoints up to ``t`` (for a worker: ``check`` is called
        before each block of steps and may raise to stop; what was done
        until then is kept)."""
        last = min(t, self.layer.steps - 1)
        while self.s + len(self._checkpoints) * CHECKPOINT <= last:
            if check is not None:
                check()
            a = self.s + (len(self._checkpoints) - 1) * CHECKPOINT
            block = self._column(a + 1, a + CHECKPOINT + 1)
            self._checkpoints.append(self._checkpoints[-1] * float(np.prod(block)))

    def at(self, t: int) -> float:
        """The product up to step ``t`` (NaN before s)."""
        return float(self.window(t, t + 1)[0])

    def window(self, start: int, stop: int) -> np.ndarray:
        """The product up to each step of ``start`` … ``stop`` - 1 (NaN
        before s); reads from the last checkpoint before the window (call
        ``extend`` first when ``ready(start)`` is false)."""
        out = np.full(max(stop - start, 0), np.nan)
        first = max(start, self.s)
        if stop <= first:
            return out
        self.extend(first)
        step, prefix = self._prefix_from(first)
        # f of steps step+1 … stop-1: the product at step+1 … stop-1.
        # f outside 0…1 (a poisoned trace, an unusual activation) may
        # overflow or meet NaN: the row shows that, no warning is due.
        with np.errstate(over="ignore", invalid="ignore"):
            running = prefix * np.cumprod(self._column(step + 1, stop))
        values = np.concatenate([[prefix], running])  # steps step … stop-1
        out[first - start:] = values[first - step:]
        return out


#: Memories kept per layer: (unit, s) -> Memory, forgotten with the layer.
_MEMORIES: weakref.WeakKeyDictionary[Layer, dict[tuple[int, int], Memory]] = weakref.WeakKeyDictionary()


def memory(layer: Layer, unit: int, s: int) -> Memory:
    """The ``Memory`` of (layer, unit, s), kept with the layer so its
    checkpoints are computed once."""
    per = _MEMORIES.setdefault(layer, {})
    found = per.get((unit, s))
    if found is None:
        found = per[(unit, s)] = Memory(layer, unit, s)
    return found
