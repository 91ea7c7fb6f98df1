"""Which run the panes show when two are compared: A, B, or B − A.

``lstm-tui view A --diff B`` steps both traces together. The panes and the
watch list show one of three *runs* at the current step: the trace on
screen (A), the other one (B), or their difference B − A, computed by the
core (``diff.difference``: NaN against NaN is 0, NaN against a number stays
NaN). Without a second trace there is only A.

Bars of B − A are drawn on a symmetric scale taken once per vector from the
largest finite |B − A| over all the steps both runs have, so a bar means the
same at every step, like every other bar on screen. Differences are often
tiny (1e-7 after a change of precision), so they are written with a sign
and in scientific notation below 1e-3 rather than as a row of zeros.
"""

from __future__ import annotations

import math
import weakref

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


def stats(trace: Trace, other: Trace | None, run: str, k: int, vector: str) -> draw.VectorStats:
    """Scale and value column width for a vector in ``run``: the recorded
    layer's own (``draw.layer_stats``), or for B − A a symmetric scale from
    the largest finite |B − A| of the vector, computed once per pair."""
    if other is None or run != "delta":
        return draw.layer_stats(shown_layer(trace, other, run, k))[vector]
    per_b = _DELTA_STATS.setdefault(trace.layers[k], weakref.WeakKeyDictionary())
    per_vector = per_b.setdefault(other.layers[k], {})
    found = per_vector.get(vector)
    if found is None:
        m = max_finite_difference(trace, other, k, vector)
        scale = draw.Scale(-m, m) if m > 0 else draw.SIGNED_SCALE
        found = draw.VectorStats(scale, DELTA_WIDTH)
        per_vector[vector] = found
    return found


def fmt(run: str, other: Trace | None, value: float) -> str:
    """A value as the run shows it."""
    return fmt_delta(value) if other is not None and run == "delta" else draw.fmt(value)
