"""How long a change lives, on screen: the timeline's difference and memory
rows, and the status line's span of steps where two runs differ.

The numbers come from ``debug.lifetime`` (a window of steps at a time);
this module only says how they are drawn and worded.

**Difference rows** (the diff view, ``view A --diff B``): ``Δc,h`` is the
selected unit's |B − A| of its state, the larger of c and h at each step (a
gate differs only because the state or the input did, and the gates' own
B − A are the series rows when ``d`` shows B − A); ``ΔL0``, ``ΔL1``… the
largest |B − A| of any value of that layer. Differences span many orders
of magnitude (1e-7 after a change of precision, 0.5 after an edit), so the
blocks are on a log scale, the same on every row and every step: from
``LOG_DECADES`` decades below the largest finite |B − A| of the pair to
it. A step beyond the comparison's tolerance is drawn in the error
colour, one within it dim; ``·`` is no difference at all, ``×`` NaN in one
run against a number in the other.

**Memory row** (``M``, on any trace): ``Π`` with the value at t in its
label, the product of f of the selected unit from the step s where ``M``
was pressed to each later step, drawn on the gates' 0…1 scale: how much of
``c_s`` is still in ``c_t``. It reads the run the panes show (A for B − A).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.scales import Scale
from ..core.trace import Trace
from ..debug.diff import DiffReport
from ..debug.lifetime import beyond_span
from . import draw
from .catalogue import tr

#: How many decades below the largest |B − A| the difference rows reach.
LOG_DECADES = 6
#: A step with no difference at all, and NaN against a number.
SAME = "·"
NAN = "×"


@dataclass(frozen=True)
class MemoryFrom:
    """Where the memory row starts: step ``s`` of ``trace`` (the row is
    shown only while that trace is)."""

    trace: Trace
    s: int


@dataclass(frozen=True)
class Compared:
    """A diff report and the pair it compares, for the status line (shown
    only while that pair is on screen)."""

    trace: Trace
    other: Trace
    report: DiffReport


def log_scale(largest: float) -> Scale:
    """The difference rows' scale, in log10: ``LOG_DECADES`` decades up to
    the largest finite |B − A| (1 when the runs agree everywhere)."""
    top = math.log10(largest) if largest > 0 and math.isfinite(largest) else 0.0
    return Scale(top - LOG_DECADES, top)


def difference_cells(values: np.ndarray, scale: Scale) -> np.ndarray:
    """One character per |B − A|: a block on the log ``scale``, ``·`` for
    0, ``×`` for NaN against a number, ``↑`` for an infinite difference."""
    v = np.asarray(values, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), scale.lo)
    out = draw.sparks(logs, scale)
    out[v == 0] = SAME
    out[np.isnan(v)] = NAN
    out[v == np.inf] = draw.SPARK_POS_INF
    return out


def scale_label(scale: Scale) -> str:
    """``1e-06…0.5``: the range the difference rows' blocks span."""
    return f"{10 ** scale.lo:.0e}…{10 ** scale.hi:.2g}".replace("e-0", "e-").replace("e+0", "e")


def memory_label(value: float | None) -> str:
    """The memory row's label: ``Π`` and the value at t (``Π ·`` before s)."""
    if value is None:
        return "Π ·"
    if math.isnan(value):
        return "Π NaN"
    if value == 0 or 0.01 <= abs(value) < 10:
        return f"Π {value:.2f}"
    return "Π " + f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")


def span_texts(compared: Compared | None, trace: Trace | None, other: Trace | None,
               layer: int) -> tuple[str, str] | None:
    """(long, short) words for the status line about where the runs differ
    beyond the tolerance, or None while the comparison of this pair is not
    ready."""
    if compared is None or compared.trace is not trace or compared.other is not other:
        return None
    span = beyond_span(compared.report, layer)
    if span is None:
        return tr("runs agree within tolerance"), tr("agree")
    k, a, b = span
    return (tr("runs differ beyond tolerance from t = {a} to t = {b} (layer {k})", a=a, b=b, k=k),
            tr("differ t = {a}…{b} (L{k})", a=a, b=b, k=k))
