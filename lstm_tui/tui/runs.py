"""Which run the panes show when two are compared: A, B, or B − A.

``lstm-tui view A --diff B`` steps both traces together. The panes and the
watch list show one of three *runs* at the current step: the trace on
screen (A), the other one (B), or their difference B − A, computed by the
core (``diff.difference``: NaN against NaN is 0, NaN against a number stays
NaN). Without a second trace there is only A.

Bars of B − A are drawn on a symmetric scale taken once per vector from the
largest finite |B − A| over all the steps both runs have, so a bar means the
same at every step, like every other bar on screen. For a long pair that is
a pass over both files, so until the screen's scales worker has made it
(``scan_delta_stats``) the scale comes from a sample of steps, as for the
recorded vectors (``draw.layer_stats``). Differences are often
tiny (1e-7 after a change of precision), so they are written with a sign
and in scientific notation below 1e-3 rather than as a row of zeros.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable

from ..core.trace import Layer, Trace
from ..debug.diff import max_finite_difference
from ..debug.runs import series, shown_layer, step_mask, values  # noqa: F401  (what the panes read)
from . import draw

#: The order ``d`` cycles through, starting with the difference.
RUNS = ("delta", "a", "b")
LABELS = {"a": "A", "b": "B", "delta": "B−A"}

#: "-1.23e-06": the widest a difference is written.
DELTA_WIDTH = 9


def fmt_delta(value: float) -> str:
    """A difference: ``0`` when the runs agree exactly, else signed, with 4
    decimals, or in scientific notation when that would show only zeros."""
    v = float(value)
    if math.isnan(v) or math.isinf(v):
        return draw.fmt(v)
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e5:
        return f"{v:+.4f}"
    return f"{v:+.2e}"


#: A's layer -> B's layer -> vector -> stats; forgotten with either layer.
_DELTA_STATS: weakref.WeakKeyDictionary[Layer, weakref.WeakKeyDictionary[Layer, dict[str, draw.VectorStats]]] = \
    weakref.WeakKeyDictionary()
#: The same, from a sample of steps, until the pass has been made.
_DELTA_PROVISIONAL: weakref.WeakKeyDictionary[Layer, weakref.WeakKeyDictionary[Layer, dict[str, draw.VectorStats]]] = \
    weakref.WeakKeyDictionary()


def _delta_large(a: Layer, b: Layer, vector: str) -> bool:
    """Whether the pass for the B − A scale of ``vector`` is too long to make
    on the screen's thread (the size ``draw`` scans eagerly)."""
    va = a.vector(vector)
    return min(va.shape[0], b.vector(vector).shape[0]) * max(va.shape[1], 1) > draw.EAGER_VALUES


def _delta_stats(m: float) -> draw.VectorStats:
    return draw.VectorStats(draw.Scale(-m, m) if m > 0 else draw.SIGNED_SCALE, DELTA_WIDTH)


def delta_pending(trace: Trace, other: Trace | None) -> bool:
    """Whether some B − A scale of this pair is still provisional (the
    screen then runs ``scan_delta_stats`` in its scales worker)."""
    if other is None:
        return False
    for la, lb in zip(trace.layers, other.layers):
        per_b = _DELTA_STATS.get(la)
        done = per_b.get(lb) if per_b is not None else None
        if any((done is None or v not in done) and _delta_large(la, lb, v) for v in draw.VECTOR_NAMES):
            return True
    return False


def scan_delta_stats(trace: Trace, other: Trace, check: Callable[[], None] | None = None) -> None:
    """Every B − A scale of the pair from a full pass (for a thread: each
    is published whole when its pass ends). ``check`` is called before each
    block and may raise to stop."""
    for k, (la, lb) in enumerate(zip(trace.layers, other.layers)):
        for vector in draw.VECTOR_NAMES:
            per_vector = _DELTA_STATS.setdefault(la, weakref.WeakKeyDictionary()).setdefault(lb, {})
            if vector not in per_vector:
                per_vector[vector] = _delta_stats(max_finite_difference(trace, other, k, vector, check))


def stats(trace: Trace, other: Trace | None, run: str, k: int, vector: str) -> draw.VectorStats:
    """Scale and value column width for a vector in ``run``: the recorded
    layer's own (``draw.layer_stats``), or for B − A a symmetric scale from
    the largest finite |B − A| of the vector, computed once per pair."""
    if other is None or run != "delta":
        return draw.layer_stats(shown_layer(trace, other, run, k))[vector]
    la, lb = trace.layers[k], other.layers[k]
    per_vector = _DELTA_STATS.setdefault(la, weakref.WeakKeyDictionary()).setdefault(lb, {})
    found = per_vector.get(vector)
    if found is not None:
        return found
    if not _delta_large(la, lb, vector):
        found = per_vector[vector] = _delta_stats(max_finite_difference(trace, other, k, vector))
        return found
    # A pass over a long pair would stall the screen: a sample of steps
    # until ``scan_delta_stats`` has run.
    sampled = _DELTA_PROVISIONAL.setdefault(la, weakref.WeakKeyDictionary()).setdefault(lb, {})
    found = sampled.get(vector)
    if found is None:
        m = max_finite_difference(trace, other, k, vector, sample=draw.SAMPLE_STEPS)
        found = sampled[vector] = _delta_stats(m)
    return found


def fmt(run: str, other: Trace | None, value: float) -> str:
    """A value as the run shows it."""
    return fmt_delta(value) if other is not None and run == "delta" else draw.fmt(value)
