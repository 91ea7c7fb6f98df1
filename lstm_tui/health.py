"""Health scan: what is wrong with a recorded forward pass, layer by layer.

Four findings, the ones people debugging a recurrent model look for first:

- ``nan``: the first step where a vector holds NaN or ±Inf (which vector,
  which unit), and on how many steps that happens;
- ``saturated``: units whose forget or input gate sits below ``saturation``
  or above ``1 - saturation`` on most steps: a gate stuck shut or open no
  longer learns (its gradient is σ' ≈ 0);
- ``dead``: units whose hidden state stays below ``dead_tol`` in size at
  every step;
- ``max_c``: the largest |c| and where: an exploding cell state shows here.

Statistics count the steps that happened: a step masked out (``mask`` false)
carried the state over and is left out; a NaN value counts neither as
saturated nor as alive. Everything is computed with NumPy over blocks of
rows, so a memory-mapped trace is read once and never copied whole.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .lstm import VECTORS
from .trace import Layer, Trace, release_pages

#: Rows per block times the units: bounds the temporaries a scan makes.
BLOCK_ELEMENTS = 1 << 20

GATE_NAMES = {"f": "forget", "i": "input"}


@dataclass(frozen=True)
class Finding:
    """One thing the scan found. ``step``/``unit`` locate it (None when it
    has no single place); ``vector`` names the vector it is about;
    ``value`` is the number behind it (the fraction of steps saturated, the
    largest |c|, the offending NaN/Inf)."""

    kind: str  # "nan" | "saturated" | "dead" | "max_c"
    layer: int
    step: int | None
    unit: int | None
    message: str
    severity: str  # "error" | "warning" | "info"
    vector: str | None = None
    value: float | None = None


def _blocks(T: int, width: int) -> Iterator[tuple[int, int]]:
    rows = max(1, BLOCK_ELEMENTS // max(1, width))
    for a in range(0, T, rows):
        yield a, min(T, a + rows)


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


def _scan_layer(k: int, layer: Layer, saturation: float, most: float, dead_tol: float) -> list[Finding]:
    T, H = layer.steps, layer.units
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

    with np.errstate(invalid="ignore"):
        for a, b in _blocks(T, H * len(VECTORS)):
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
            # Read once: a full scan must not leave the whole file resident.
            for v in VECTORS:
                release_pages(layer.vector(v)[a:b])

    found: list[Finding] = []
    for v, init in (("h0", layer.h0), ("c0", layer.c0)):
        nf = ~np.isfinite(np.asarray(init))
        if nf.any():
            u = int(np.argmax(nf))
            val = float(np.asarray(init)[u])
            found.append(Finding("nan", k, None, u, f"layer {k}: the initial state {v}[{u}] is {_what(val)}",
                                 "error", v, val))
    if first_bad is not None:
        t, v, u, val = first_bad
        found.append(Finding(
            "nan", k, t, u,
            f"layer {k}: {_what(val)} at step {t} in {v}[{u}] "
            f"(NaN or Inf at {bad_steps} of {T} step{'s' if T != 1 else ''})",
            "error", v, val))

    for u in range(H):
        for g, (low_n, high_n, fin_n, first_low, first_high) in stats.items():
            n = int(fin_n[u])
            if n == 0:
                continue
            lo, hi = low_n[u] / n, high_n[u] / n
            if lo >= most:
                side, frac, first = f"< {saturation:g}", lo, int(first_low[u])
            elif hi >= most:
                side, frac, first = f"> {hi_edge:g}", hi, int(first_high[u])
            elif lo + hi >= most:
                side, frac = f"< {saturation:g} or > {hi_edge:g}", lo + hi
                first = min(x for x in (int(first_low[u]), int(first_high[u])) if x >= 0)
            else:
                continue
            found.append(Finding(
                "saturated", k, first, u,
                f"layer {k}: unit {u} {GATE_NAMES[g]} gate saturated ({side}) on {_pct(frac)} of steps, "
                f"from step {first}",
                "warning", g, float(frac)))

    for u in np.flatnonzero(h_seen & (h_max < dead_tol)):
        found.append(Finding("dead", k, None, int(u),
                             f"layer {k}: unit {u} is dead: |h| < {dead_tol:g} at every step "
                             f"(largest {h_max[u]:.3g})", "warning", "h", float(h_max[u])))

    if c_best[1] >= 0:
        value, t, u = c_best
        found.append(Finding("max_c", k, t, u, f"layer {k}: largest |c| is {value:.4g} at step {t}, unit {u}",
                             "info", "c", value))
    return found


def scan(trace: Trace, *, saturation: float = 0.01, most: float = 0.9, dead_tol: float = 1e-3) -> list[Finding]:
    """Every finding of every layer, layer by layer: NaN/Inf first, then
    saturated gates and dead units by unit, then the largest |c|."""
    out: list[Finding] = []
    for k, layer in enumerate(trace.layers):
        out.extend(_scan_layer(k, layer, saturation, most, dead_tol))
    return out
