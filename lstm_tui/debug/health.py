"""Health scan: what is wrong with a recorded forward pass, layer by layer.

Six findings, the ones people debugging a recurrent model look for first:

- ``nan`` (error): the first step where a vector holds NaN or ±Inf (which
  vector, which unit), and on how many steps that happens;
- ``exploding_c`` (warning): the cell state grows far beyond the layer's own
  typical scale (below);
- ``outlier_x`` (warning): an input value lies far outside the rest of its
  input feature (below);
- ``saturated`` (warning): units whose forget or input gate sits below
  ``saturation`` or above ``1 - saturation`` on most steps: a gate stuck shut
  or open no longer learns (its gradient is σ' ≈ 0);
- ``dead`` (warning): units whose hidden state stays below ``dead_tol`` in
  size at every step;
- ``max_c`` (info): the largest |c| and where.

**Exploding cell state.** The layer's typical scale is the median over steps
of the largest |c| at each step, and at least ``C_SCALE_FLOOR`` (1). A step
whose largest |c| exceeds ``explode`` (default 100) times that is reported:
the first such step and its unit, then the peak and on how many steps.
Why these numbers: with tanh as activation and gates in 0…1, c moves by at
most 1 a step (|c_t| ≤ |c_{t-1}| + |i·ĉ| ≤ |c_{t-1}| + 1), so such a layer
drifts linearly at worst and the median follows the drift; a blow-up (an
unbounded activation such as relu or linear, a gate outside 0…1) outruns
it by orders of magnitude. The floor of 1 is one step's largest write: a
layer whose c stays near 0 has a median near 0, and without the floor a
single |c| of 0.01 would be "100× typical". A tanh layer that starts from
c0 = 0 has |c_t| ≤ t + 1, so it cannot warn within its first ``explode``
steps. The median is the lower one (the value of an actual step), so two
steps are enough to see a jump (|c| 1 then 1e8); a one-step trace has
nothing to compare with and never warns. NaN and ±Inf are left to ``nan``.

**Input outliers.** Per input feature j, the centre is the median of
x[:, j] over steps and the spread is 1.4826 × its median absolute deviation
(the robust estimate of a standard deviation), and at least
``X_SPREAD_FLOOR`` (1). A value further than ``outlier`` (default 20)
spreads from its feature's median is an outlier. Why: 20 spreads is beyond
anything a Gaussian or a moderately heavy-tailed input produces (a value
1e6 among values near 1 is a million spreads away), and the floor keeps
one-hot, binary, count and constant features quiet: their median absolute
deviation is 0, and with the floor only a value more than 20 from the
feature's median is an outlier, never a 0/1. The findings are grouped, one
per feature: the first outlying step and its value, then on how many steps
and the largest. Every layer's x is scanned: layer 0's is the model's input
(both halves of a Bidirectional read it); a deeper layer's x is the h of the
layer below, bounded by 1 with tanh, so it only warns when the layer below
runs an unbounded activation, where it is the blow-up arriving. The median
and spread come from at most ``SAMPLE_STEPS`` steps (all of them in a
shorter trace): one step drawn at random, with a fixed seed, in each of
``SAMPLE_STEPS`` equal stretches of the trace, so a long trace is neither
read whole into memory nor aliased by a period in its data; the search for
outliers then covers every step.

Statistics count the steps that happened: a step masked out (``mask``
false) carried the state over and is left out; a NaN value counts neither as
saturated nor as alive, nor as an outlier or a cell state. Everything is
computed with NumPy over blocks of rows, so a memory-mapped trace is read
once (plus the sampled rows of x) and never copied whole; what is kept per
step is one number (the largest |c|) and one unit.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..core.lstm import VECTORS
from ..core.numeric import blocks
from ..core.text import Message
from ..core.trace import Layer, Trace, release_pages
from ..core.vocabulary import NAME

#: Rows per block times the values in a row: bounds the temporaries a scan makes.
BLOCK_ELEMENTS = 1 << 20

#: At most this many steps give each input feature's median and spread.
SAMPLE_STEPS = 4096

#: The smallest typical |c|: one step's largest write with tanh (|i·ĉ| ≤ 1).
C_SCALE_FLOOR = 1.0

#: The smallest spread of an input feature, so 0/1 and constant inputs
#: (median absolute deviation 0) do not make every other value an outlier.
X_SPREAD_FLOOR = 1.0

#: The median absolute deviation times this estimates a Gaussian's
#: standard deviation (1 / Φ⁻¹(3/4)).
MAD_TO_SD = 1.4826

#: The gates a saturation is looked for in, by their short names.
GATE_NAMES = {g: NAME["en"][g] for g in ("f", "i")}
#: The same gates as the findings name them: Messages, so that a screen in
#: another language translates the name with the finding.
GATE_WORDS = {"f": Message("forget gate"), "i": Message("input gate")}


@dataclass(frozen=True)
class Finding:
    """One thing the scan found. ``step``/``unit`` locate it (None when it
    has no single place; for ``outlier_x`` the unit is the input feature,
    an index into x); ``vector`` names the vector it is about; ``value`` is
    the number behind it (the fraction of steps saturated, the largest |c|,
    the |c| where the cell state first explodes, the outlying input value,
    the offending NaN/Inf)."""

    kind: str  # "nan" | "exploding_c" | "outlier_x" | "saturated" | "dead" | "max_c"
    layer: int
    step: int | None
    unit: int | None
    message: str
    severity: str  # "error" | "warning" | "info"
    vector: str | None = None
    value: float | None = None
    #: How many findings this one stands for: more than 1 for the line that
    #: sums up a group too long to list (see ``scan``'s ``limit``).
    count: int = 1


def _blocks(T: int, width: int, check: Callable[[], None] | None = None) -> Iterator[tuple[int, int]]:
    return blocks(T, width, BLOCK_ELEMENTS, check)


def nonfinite_rows(layer: Layer, start: int = 0, stop: int | None = None) -> np.ndarray:
    """(stop - start,) bool: the steps where any vector of ``layer`` holds a
    NaN or ±Inf (the ``nan`` of breakpoint conditions)."""
    stop = layer.steps if stop is None else stop
    out = np.zeros(stop - start, dtype=bool)
    for v in VECTORS:
        out |= ~np.isfinite(layer.vector(v)[start:stop]).all(axis=1)
    return out


def _what(value: float) -> str:
    return "NaN" if np.isnan(value) else ("+Inf" if value > 0 else "-Inf")


def _pct(fraction: float) -> str:
    # Floor, not round: "100%" must mean every step.
    return f"{int(fraction * 100 + 1e-9)}%"


def _num(value: float, digits: int = 4) -> str:
    return f"{value + 0.0:.{digits}g}"  # + 0.0: no "-0"


def _lower_median(a: np.ndarray) -> np.ndarray:
    """(w,) the lower median of each column of ``a`` (n, w), NaN left out;
    NaN for a column without a number. The lower median is a value that
    occurs, so of two values it is the smaller, not their mean."""
    n = (~np.isnan(a)).sum(axis=0)
    s = np.sort(a, axis=0)  # NaN sorts last
    out = s[np.maximum(n - 1, 0) // 2, np.arange(a.shape[1])] if len(a) else np.full(a.shape[1], np.nan)
    return np.where(n > 0, out, np.nan)


def _sample_steps(T: int, mask: np.ndarray | None) -> np.ndarray | None:
    """The steps whose x give the input statistics: every step that
    happened, or ``SAMPLE_STEPS`` of them, one drawn at random (fixed seed)
    from each of as many equal stretches. None means all T steps."""
    steps = None if mask is None else np.flatnonzero(mask)
    n = T if steps is None else len(steps)
    if n <= SAMPLE_STEPS:
        return steps
    # A stretch holds more than one step, so the picks are distinct and in
    # order (memory-mapped rows are read forwards).
    u = np.random.default_rng(0).random(SAMPLE_STEPS)
    pick = np.minimum(((np.arange(SAMPLE_STEPS) + u) * (n / SAMPLE_STEPS)).astype(np.int64), n - 1)
    return pick if steps is None else steps[pick]


def _input_stats(layer: Layer, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(D,) centre and (D,) spread of each input feature: the median over
    the sampled steps and 1.4826 × the median absolute deviation, at least
    ``X_SPREAD_FLOOR``; NaN for a feature with no finite value. Columns are
    taken a few at a time, so at most about ``BLOCK_ELEMENTS`` values (and
    never less than one column of the sample) are held at once."""
    T, D = layer.x.shape
    steps = _sample_steps(T, mask)
    n = T if steps is None else len(steps)
    centre = np.full(D, np.nan)
    spread = np.full(D, np.nan)
    width = max(1, BLOCK_ELEMENTS // max(1, n))
    with np.errstate(invalid="ignore"):
        for j0 in range(0, D, width):
            j1 = min(D, j0 + width)
            cols = layer.x[:, j0:j1] if steps is None else layer.x[steps, j0:j1]
            cols = np.array(cols, np.float64)
            cols[~np.isfinite(cols)] = np.nan  # ±Inf is reported as nan, not as data
            mid = _lower_median(cols)
            mad = _lower_median(np.abs(cols - mid))
            centre[j0:j1] = mid
            spread[j0:j1] = np.maximum(MAD_TO_SD * mad, X_SPREAD_FLOOR)  # NaN stays NaN
    return centre, spread


def _scan_layer(k: int, layer: Layer, saturation: float, most: float, dead_tol: float,
                explode: float, outlier: float, check: Callable[[], None] | None = None) -> list[Finding]:
    T, H, D = layer.steps, layer.units, layer.input_dim
    mask = None if layer.mask is None else np.asarray(layer.mask, bool)
    hi_edge = 1.0 - saturation

    first_bad: tuple[int, str, int, float] | None = None  # step, vector, unit, value
    bad_steps = 0
    # per gate: (low count, high count, finite count, first low, first high)
    stats = {g: [np.zeros(H, np.int64), np.zeros(H, np.int64), np.zeros(H, np.int64),
                 np.full(H, -1), np.full(H, -1)] for g in GATE_NAMES}
    h_max = np.full(H, -np.inf)  # largest finite |h| per unit, over steps that happened
    h_seen = np.zeros(H, bool)
    c_best = (-1.0, -1, -1)  # |c|, step, unit
    # Per step: the largest finite |c| (NaN for a step that did not happen
    # or has none) and its unit. One number a step, so the median is exact.
    c_step = np.full(T, np.nan)
    c_unit = np.zeros(T, np.int32)
    # Per input feature: the outliers' count, the first (step, value) and
    # the furthest from the median (distance, step, value).
    x_centre, x_spread = _input_stats(layer, mask)
    x_limit = outlier * x_spread
    x_n = np.zeros(D, np.int64)
    x_first, x_first_v = np.full(D, -1), np.zeros(D)
    x_worst, x_worst_t, x_worst_v = np.full(D, -1.0), np.full(D, -1), np.zeros(D)

    with np.errstate(invalid="ignore"):
        for a, b in _blocks(T, H * (len(VECTORS) - 1) + D, check):
            rows = np.ones(b - a, bool) if mask is None else mask[a:b]
            # NaN / Inf: the first in step order, then VECTORS order, then unit.
            bad = np.zeros(b - a, bool)
            for v in VECTORS:
                nf = ~np.isfinite(layer.vector(v)[a:b])
                row_bad = nf.any(axis=1)
                bad |= row_bad
                if row_bad.any():
                    r = int(np.argmax(row_bad))
                    u = int(np.argmax(nf[r]))
                    if first_bad is None or a + r < first_bad[0]:
                        first_bad = (a + r, v, u, float(layer.vector(v)[a + r, u]))
            bad_steps += int(bad.sum())

            for g, (low_n, high_n, fin_n, first_low, first_high) in stats.items():
                gate = np.asarray(layer.vector(g)[a:b], np.float64)
                live = rows[:, None]
                low = (gate < saturation) & live  # NaN compares false: not saturated
                high = (gate > hi_edge) & live
                low_n += low.sum(axis=0)
                high_n += high.sum(axis=0)
                fin_n += (np.isfinite(gate) & live).sum(axis=0)
                for first, hit in ((first_low, low), (first_high, high)):
                    new = (first < 0) & hit.any(axis=0)
                    first[new] = a + np.argmax(hit, axis=0)[new]

            h = np.abs(np.asarray(layer.h[a:b], np.float64))
            ok = np.isfinite(h) & rows[:, None]
            h_seen |= ok.any(axis=0)
            h_max = np.maximum(h_max, np.where(ok, h, -np.inf).max(axis=0))

            c = np.abs(np.asarray(layer.c[a:b], np.float64))
            c = np.where(np.isnan(c), -1.0, c)  # NaN is reported above, not as "largest"
            flat = int(np.argmax(c))
            r, u = divmod(flat, H)
            if c[r, u] > c_best[0]:
                c_best = (float(c[r, u]), a + r, u)
            c = np.where(np.isinf(c), -1.0, c)  # so is Inf: a scale is made of numbers
            units = np.argmax(c, axis=1)
            top = c[np.arange(b - a), units]
            c_step[a:b] = np.where((top >= 0) & rows, top, np.nan)
            c_unit[a:b] = units

            x = np.asarray(layer.x[a:b], np.float64)
            far = np.abs(x - x_centre)
            hit = (far > x_limit) & np.isfinite(x) & rows[:, None]  # NaN limit: never
            if hit.any():
                x_n += hit.sum(axis=0)
                r_first = np.argmax(hit, axis=0)
                new = (x_first < 0) & hit.any(axis=0)
                x_first[new] = a + r_first[new]
                x_first_v[new] = x[r_first[new], np.flatnonzero(new)]
                far = np.where(hit, far, -1.0)
                r_far = np.argmax(far, axis=0)
                cols = np.arange(D)
                more = far[r_far, cols] > x_worst
                x_worst[more] = far[r_far, cols][more]
                x_worst_t[more] = a + r_far[more]
                x_worst_v[more] = x[r_far[more], cols[more]]
            # Read once: a full scan must not leave the whole file resident.
            for v in VECTORS:
                release_pages(layer.vector(v)[a:b])

    found: list[Finding] = []
    for v, init in (("h0", layer.h0), ("c0", layer.c0)):
        nf = ~np.isfinite(np.asarray(init))
        if nf.any():
            u = int(np.argmax(nf))
            val = float(np.asarray(init)[u])
            found.append(Finding("nan", k, None, u, Message("layer {k}: the initial state {v}[{u}] is {what}", k=k,
                                                            v=v, u=u, what=_what(val)), "error", v, val))
    if first_bad is not None:
        t, v, u, val = first_bad
        found.append(Finding(
            "nan", k, t, u,
            Message("layer {k}: {what} at step {t} in {v}[{u}] (NaN or Inf at {n} of {T} steps)" if T != 1 else
                    "layer {k}: {what} at step {t} in {v}[{u}] (NaN or Inf at {n} of {T} step)",
                    k=k, what=_what(val), t=t, v=v, u=u, n=bad_steps, T=T),
            "error", v, val))

    found.extend(_exploding(k, c_step, c_unit, explode))

    for j in np.flatnonzero(x_n):
        t, val, n = int(x_first[j]), float(x_first_v[j]), int(x_n[j])
        values = {"k": k, "t": t, "j": int(j), "value": _num(val), "median": _num(x_centre[j]),
                  "spread": _num(x_spread[j], 3), "threshold": outlier}
        if n > 1:
            message = Message("layer {k}: input outliers from step {t}: x[{j}] = {value}, median {median}, typical "
                              "spread {spread} (threshold {threshold:g} spreads); on {n} steps, largest {largest} at "
                              "step {worst}", n=n, largest=_num(x_worst_v[j]), worst=int(x_worst_t[j]), **values)
        else:
            message = Message("layer {k}: input outlier at step {t}: x[{j}] = {value}, median {median}, typical "
                              "spread {spread} (threshold {threshold:g} spreads)", **values)
        found.append(Finding("outlier_x", k, t, int(j), message, "warning", "x", val))

    for u in range(H):
        for g, (low_n, high_n, fin_n, first_low, first_high) in stats.items():
            n = int(fin_n[u])
            if n == 0:
                continue
            lo, hi = low_n[u] / n, high_n[u] / n
            if lo >= most:
                side, frac, since = f"< {saturation:g}", lo, int(first_low[u])
            elif hi >= most:
                side, frac, since = f"> {hi_edge:g}", hi, int(first_high[u])
            elif lo + hi >= most:
                side, frac = Message("< {low:g} or > {high:g}", low=saturation, high=hi_edge), lo + hi
                since = min(x for x in (int(first_low[u]), int(first_high[u])) if x >= 0)
            else:
                continue
            found.append(Finding(
                "saturated", k, since, u,
                Message("layer {k}: unit {u} {gate} saturated ({side}) on {pct} of steps, from step {since}", k=k,
                        u=u, gate=GATE_WORDS[g], side=side, pct=_pct(frac), since=since),
                "warning", g, float(frac)))

    for dead in np.flatnonzero(h_seen & (h_max < dead_tol)):
        found.append(Finding("dead", k, None, int(dead),
                             Message("layer {k}: unit {u} is dead: |h| < {tol:g} at every step (largest {h:.3g})",
                                     k=k, u=int(dead), tol=dead_tol, h=float(h_max[dead])),
                             "warning", "h", float(h_max[dead])))

    if c_best[1] >= 0:
        value, t, u = c_best
        found.append(Finding("max_c", k, t, u, Message("layer {k}: largest |c| is {value:.4g} at step {t}, unit {u}",
                                                       k=k, value=value, t=t, u=u), "info", "c", value))
    return found


def _exploding(k: int, c_step: np.ndarray, c_unit: np.ndarray, explode: float) -> list[Finding]:
    """The ``exploding_c`` finding from the largest finite |c| of each step
    (NaN where the step did not happen) and its unit; see the module
    docstring for the typical scale and its floor."""
    tops = c_step[~np.isnan(c_step)]
    live = len(tops)
    if live == 0:
        return []
    middle = (live - 1) // 2  # the lower median: a partition, not a sort, of T numbers
    typical = max(float(np.partition(tops, middle)[middle]), C_SCALE_FLOOR)
    over = c_step > explode * typical  # NaN compares false
    if not over.any():
        return []
    t = int(np.argmax(over))
    u, value = int(c_unit[t]), float(c_step[t])
    pt = int(np.argmax(np.where(np.isnan(c_step), -1.0, c_step)))
    pu, peak = int(c_unit[pt]), float(c_step[pt])
    message = Message("layer {k}: exploding cell state from step {t}: |c[{u}]| = {value}, over {explode:g}× the "
                      "layer's typical |c| of {typical}", k=k, t=t, u=u, value=_num(value), explode=explode,
                      typical=_num(typical, 3))
    if (pt, pu) != (t, u):
        message = Message("{finding}; peak {peak} at step {t}, unit {u}", finding=message, peak=_num(peak), t=pt,
                          u=pu)
    n = int(over.sum())
    message = Message("{finding}; beyond on {n} of {live} steps" if live != 1 else
                      "{finding}; beyond on {n} of {live} step", finding=message, n=n, live=live)
    return [Finding("exploding_c", k, t, u, message, "warning", "c", value)]


#: Per layer, rule and vector, at most this many findings are listed by
#: default; the rest are summed up in one line. A wide layer whose every unit
#: is saturated would otherwise list 10⁵ lines (and a screen would freeze
#: building them).
LIMIT = 10

#: How a group is summed up, and which of its findings come first: the most
#: saturated gates, the deadest units (smallest largest |h|), the furthest
#: outliers.
_GROUPS: dict[str, tuple[Callable[[str], Message], Callable[[Finding], float], Message]] = {
    "saturated": (lambda gate: Message("units with the {gate} saturated", gate=gate), lambda f: -(f.value or 0.0),
                  Message("most saturated")),
    "dead": (lambda gate: Message("dead units"), lambda f: f.value or 0.0, Message("deadest")),
    "outlier_x": (lambda gate: Message("input features with outliers"), lambda f: -abs(f.value or 0.0),
                  Message("furthest")),
}


def _grouped(found: list[Finding], limit: int) -> list[Finding]:
    """``found`` with each group of more than ``limit`` findings of one
    layer, rule and vector replaced by a summary line (``count`` = the
    group's size) and the group's ``limit`` most severe findings."""
    groups: dict[tuple[int, str, str | None], list[Finding]] = {}
    for f in found:
        if f.kind in _GROUPS:
            groups.setdefault((f.layer, f.kind, f.vector), []).append(f)
    out: list[Finding] = []
    done: set[tuple[int, str, str | None]] = set()
    for f in found:
        key = (f.layer, f.kind, f.vector)
        group = groups.get(key)
        if group is None or len(group) <= limit:
            out.append(f)
            continue
        if key in done:
            continue
        done.add(key)
        what, severity_key, most = _GROUPS[f.kind]
        gate = GATE_WORDS.get(f.vector or "", f.vector or "")
        out.append(Finding(f.kind, f.layer, None, None,
                           Message("layer {k}: {n:,} {what}; the {limit} {most} follow "
                                   "(lstm-tui health --all lists every one)", k=f.layer, n=len(group),
                                   what=what(gate), limit=limit, most=most),
                           f.severity, f.vector, None, len(group)))
        out.extend(sorted(group, key=severity_key)[:limit])
    return out


def scan(trace: Trace, *, saturation: float = 0.01, most: float = 0.9, dead_tol: float = 1e-3,
         explode: float = 100.0, outlier: float = 20.0, limit: int | None = LIMIT,
         check: Callable[[], None] | None = None) -> list[Finding]:
    """Every finding of every layer, layer by layer: NaN/Inf first, then an
    exploding cell state, input outliers by feature, saturated gates and
    dead units by unit, then the largest |c|.

    ``explode``: warn where a step's largest |c| exceeds this many times the
    layer's typical |c|. ``outlier``: an input value further than this many
    typical spreads from its feature's median is an outlier. The module
    docstring says how both scales are measured and why the defaults.
    ``limit``: list at most this many findings of one rule for one layer
    and vector, the rest summed up in one line (None: list all). ``check``:
    called before each block of steps is read (``numeric.blocks``); raise
    from it to stop the scan."""
    out: list[Finding] = []
    for k, layer in enumerate(trace.layers):
        found = _scan_layer(k, layer, saturation, most, dead_tol, explode, outlier, check)
        out.extend(found if limit is None else _grouped(found, limit))
    return out
