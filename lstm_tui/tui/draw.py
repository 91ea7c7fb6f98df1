"""Numbers, fixed scales and block-character bars, shared by every pane.

Why not Textual's ``Sparkline`` or ``ProgressBar``: both rescale to the data
they are given, so a forget gate of 0.3 would look full at one step and empty
at the next. A debugger has to draw every value against a scale that never
moves: gates against 0…1, ĉ and h against −1…1, the cell state against a
symmetric range taken once from the whole trace. Everything here is a pure
function of a value and a scale, so the bars are testable without a screen.

Non-finite values never raise and never look like numbers: they are written
``NaN``, ``+Inf`` and ``-Inf`` (text, so a terminal without colour still
shows them) and drawn with their own glyphs.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style

from ..core.numeric import blocks
from ..core.scales import (  # noqa: F401  (the scales bars are drawn against)
    GATE_SCALE,
    SIGNED_SCALE,
    SIGNED_UNIT_RANGE,
    UNIT_RANGE,
    Scale,
    data_scale,
    finite_max_abs,
    fixed_scale,
    max_abs_and_negative,
)
from ..core.trace import Layer, release_pages

#: Left-aligned eighth blocks: ``EIGHTHS[k]`` fills k/8 of a cell from the left.
EIGHTHS = " ▏▎▍▌▋▊▉█"
#: Bottom-aligned eighth blocks for one-cell-per-step series (timeline).
SPARKS = "▁▂▃▄▅▆▇█"
#: The centre line of a signed bar: zero.
AXIS = "│"
#: What a bar shows in place of a number that is not one.
NAN_FILL = "░"
SPARK_NAN = "×"
SPARK_POS_INF = "↑"
SPARK_NEG_INF = "↓"

def fmt(value: float) -> str:
    """A value as the panes print it: 4 decimals, or scientific notation when
    it would not fit a column; ``NaN``/``+Inf``/``-Inf`` spelled out."""
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if abs(v) < 1e5:
        return f"{v:.4f}"
    return f"{v:.3e}"


def is_finite(value: float) -> bool:
    return math.isfinite(float(value))


@dataclass(frozen=True)
class VectorStats:
    """What a pane needs to draw one vector of one layer the same way at
    every step: its scale and the width of its value column."""

    scale: Scale
    value_width: int


def _value_width(max_abs: float) -> int:
    # Room for a minus sign, and for "+Inf", whatever the data holds.
    return max(len(fmt(-max_abs)), len("+Inf"))


_STATS: weakref.WeakKeyDictionary[Layer, dict[str, VectorStats]] = weakref.WeakKeyDictionary()
_PROVISIONAL: weakref.WeakKeyDictionary[Layer, dict[str, VectorStats]] = weakref.WeakKeyDictionary()

#: Above this many values to scan (the vectors whose scale the activation
#: does not fix), ``layer_stats`` answers with provisional scales taken from
#: a sample of steps, and ``scan_layer_stats`` (run in a thread after the
#: first frame) computes the real ones: a full pass over a gigabyte trace
#: takes seconds.
EAGER_VALUES = 4_000_000
#: Steps sampled, evenly spaced, for a provisional scale.
SAMPLE_STEPS = 64
VECTOR_NAMES = ("x", "f", "i", "c_hat", "c", "o", "h")


def _scanned(layer: Layer) -> list[str]:
    return [name for name in VECTOR_NAMES if fixed_scale(layer, name) is None]


def stats_pending(layer: Layer) -> bool:
    """True while ``layer_stats(layer)`` gives provisional scales."""
    return layer not in _STATS and sum(layer.vector(n).size for n in _scanned(layer)) > EAGER_VALUES


def layer_stats(layer: Layer) -> dict[str, VectorStats]:
    """Scales and column widths for every vector of ``layer``, computed once
    per layer and then remembered for as long as the layer lives, so
    stepping never rescans the trace.

    Gates and tanh outputs need no pass over the data: their activation
    fixes the scale (and bounds the values, so the column width). The others
    (x, c) take a pass, done here for a small layer; for a large one
    (``stats_pending``) this returns provisional scales from a sample of
    steps until ``scan_layer_stats`` has run."""
    found = _STATS.get(layer)
    if found is not None:
        return found
    if not stats_pending(layer):
        return scan_layer_stats(layer)
    found = _PROVISIONAL.get(layer)
    if found is None:
        steps = np.unique(np.linspace(0, max(layer.steps - 1, 0), SAMPLE_STEPS).astype(np.intp))
        found = _PROVISIONAL[layer] = _layer_stats(layer, lambda a: _sample(a, steps))
    return found


def _sample(a: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The rows ``steps`` of ``a``, read one at a time and their pages
    handed back (each read of a mapped file may map megabytes around it)."""
    if a.ndim < 2:
        return np.asarray(a)
    rows = []
    for step in steps.tolist():
        rows.append(np.array(a[step]))
        release_pages(a[step])
    return np.stack(rows)


def scan_layer_stats(layer: Layer, check: Callable[[], None] | None = None) -> dict[str, VectorStats]:
    """``layer_stats`` from a full pass over the data (safe to call from a
    thread: it only reads the trace, and publishes the result at the end).
    ``check`` is called before each block of rows is read and may raise to
    stop the pass; nothing is published then."""
    found = _STATS.get(layer)
    if found is None:
        found = _STATS[layer] = _layer_stats(layer, lambda a: a, check)
        _PROVISIONAL.pop(layer, None)
    return found


def _layer_stats(layer: Layer, rows, check: Callable[[], None] | None = None) -> dict[str, VectorStats]:
    stats: dict[str, VectorStats] = {}
    for name in VECTOR_NAMES:
        scale = fixed_scale(layer, name)
        if scale is not None:
            # The activation bounds the values too: |v| ≤ 1.
            stats[name] = VectorStats(scale, _value_width(1.0))
            continue
        values = rows(layer.vector(name))
        m, negative = max_abs_and_negative(values) if check is None else _checked_pass(values, check)
        stats[name] = VectorStats(data_scale(m, negative), _value_width(m))
    return stats


def _checked_pass(a: np.ndarray, check: Callable[[], None]) -> tuple[float, bool]:
    """``max_abs_and_negative`` a block of rows at a time, ``check()``
    before each block (it raises to stop the pass)."""
    if a.ndim < 2:
        check()
        return max_abs_and_negative(a)
    best, negative = 0.0, False
    for start, stop in blocks(a.shape[0], int(np.prod(a.shape[1:]))):
        check()
        m, neg = max_abs_and_negative(a[start:stop])
        best, negative = max(best, m), negative or neg
    return best, negative


def one_hot_index(row: np.ndarray) -> int | None:
    """k when ``row`` is exactly the one-hot vector e_k, else None."""
    row = np.asarray(row)
    if row.ndim != 1 or row.size == 0:
        return None
    nz = np.flatnonzero(row)
    if nz.size == 1 and row[nz[0]] == 1:
        return int(nz[0])
    return None


@dataclass(frozen=True)
class BarStyles:
    """Rich styles for the parts of a bar; ``base`` is the row's own style
    (its background matters for the right-filled partial cells)."""

    base: Style
    positive: Style
    negative: Style
    axis: Style
    warning: Style


def bar(value: float, scale: Scale, width: int, styles: BarStyles) -> list[Segment]:
    """A bar ``width`` cells wide for ``value`` on ``scale``.

    Unsigned: filled from the left in eighths of a cell. Signed: a centre line
    at zero, positive values grow right (left-aligned eighths), negative ones
    grow left. A negative partial cell has to be filled from its right edge,
    which no block character does at eighth resolution; drawing the
    complementary left block in reverse video does, and reverse video
    survives NO_COLOR. Values beyond the scale are clipped to it.
    """
    if width <= 0:
        return []
    v = float(value)
    if math.isnan(v):
        return [Segment(NAN_FILL * width, styles.base + styles.warning)]
    if scale.signed:
        return _signed_bar(v, scale, width, styles)
    return _unsigned_bar(v, scale, width, styles)


def _fill(frac: float, cells: int) -> tuple[int, int]:
    """(full cells, eighths of the partial cell) for a fraction of ``cells``."""
    eighths = int(round(min(max(frac, 0.0), 1.0) * cells * 8))
    return divmod(eighths, 8)


def _unsigned_bar(v: float, scale: Scale, width: int, styles: BarStyles) -> list[Segment]:
    pos = styles.base + styles.positive
    if math.isinf(v):
        warn = styles.base + styles.warning
        if v > 0:
            return [Segment("█" * (width - 1) + "▶", warn)]
        return [Segment("◀" + " " * (width - 1), warn)]
    span = scale.hi - scale.lo
    frac = (v - scale.lo) / span if span > 0 else 0.0
    full, part = _fill(frac, width)
    text = "█" * full + (EIGHTHS[part] if part else "")
    return [Segment(text, pos), Segment(" " * (width - len(text)), styles.base)]


def _signed_bar(v: float, scale: Scale, width: int, styles: BarStyles) -> list[Segment]:
    half = (width - 1) // 2
    extra = width - (2 * half + 1)  # an even width leaves one spare cell on the right
    axis = Segment(AXIS, styles.base + styles.axis)
    base = styles.base
    if math.isinf(v):
        warn = base + styles.warning
        if v > 0:
            right = "█" * (half - 1) + "▶" if half else ""
            return [Segment(" " * half, base), axis, Segment(right, warn), Segment(" " * extra, base)]
        left = "◀" + "█" * (half - 1) if half else ""
        return [Segment(left, warn), axis, Segment(" " * (half + extra), base)]
    m = scale.hi if v >= 0 else -scale.lo
    full, part = _fill(abs(v) / m if m > 0 else 0.0, half)
    if v >= 0:
        text = "█" * full + (EIGHTHS[part] if part else "")
        return [
            Segment(" " * half, base),
            axis,
            Segment(text, base + styles.positive),
            Segment(" " * (half - len(text) + extra), base),
        ]
    neg = base + styles.negative
    pad = half - full - (1 if part else 0)
    segments = [Segment(" " * pad, base)]
    if part:
        segments.append(Segment(EIGHTHS[8 - part], neg + Style(reverse=True)))
    segments += [Segment("█" * full, neg), axis, Segment(" " * (half + extra), base)]
    return segments


def spark(value: float, scale: Scale) -> str:
    """One cell for one step of a series on a fixed scale (timeline)."""
    v = float(value)
    if math.isnan(v):
        return SPARK_NAN
    if math.isinf(v):
        return SPARK_POS_INF if v > 0 else SPARK_NEG_INF
    span = scale.hi - scale.lo
    frac = (v - scale.lo) / span if span > 0 else 0.0
    frac = min(max(frac, 0.0), 1.0)
    return SPARKS[int(round(frac * (len(SPARKS) - 1)))]


_SPARK_CHARS = np.array(list(SPARKS))


def sparks(values: np.ndarray, scale: Scale) -> np.ndarray:
    """``spark`` of every value of a 1-D array at once (an array of
    one-character strings): the timeline draws hundreds of cells a frame."""
    v = np.asarray(values, np.float64)
    span = scale.hi - scale.lo
    with np.errstate(invalid="ignore"):
        frac = (v - scale.lo) / span if span > 0 else np.zeros_like(v)
        frac = np.clip(np.nan_to_num(frac, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    # np.rint rounds half to even, as round() does in spark().
    out = _SPARK_CHARS[np.rint(frac * (len(SPARKS) - 1)).astype(np.intp)]
    out[np.isnan(v)] = SPARK_NAN
    out[v == np.inf] = SPARK_POS_INF
    out[v == -np.inf] = SPARK_NEG_INF
    return out


def component_style(widget, name: str) -> Style:
    """A component class's own style (bold, reverse…, no background unless
    the CSS sets one) with its colour resolved against the widget's
    background.

    The partial style alone leaves colours such as ``$text-muted`` (an
    ``auto`` colour with alpha) unresolved — white on a light theme — and
    the full style would repaint the row's background, hiding the cursor."""
    full = widget.get_component_rich_style(name)
    own = widget.get_component_rich_style(name, partial=True)
    return own + Style(color=full.color) if full.color is not None else own


def quote(token: str | None) -> str:
    """A token as the screen shows it: repr-quoted so blanks and odd
    characters are visible (``' '``, ``'\\n'``)."""
    return "" if token is None else repr(str(token))


def printable(text: str) -> str:
    """``text`` with every character that a terminal would act on instead of
    showing (ESC, newline, tab, NUL, bidi overrides, zero-width joiners)
    written as its escape, as ``quote`` writes it. Layer names and sources
    come from trace files: an ESC from a file must never reach the terminal,
    and a newline would push the rest of a one-line status out of sight."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def one_cell(label: str) -> str:
    """The first character of ``label`` where a row of one cell per step has
    room for it: blank for an empty label, ``·`` for a character that is not
    exactly one cell wide (CJK, emoji) or not printable, which would shift
    every cell after it."""
    ch = label[:1]
    if not ch:
        return " "
    return ch if ch.isprintable() and cell_len(ch) == 1 else "·"
