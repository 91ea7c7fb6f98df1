"""The bar and number drawing helpers: fixed scales, eighths, non-finite values."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from rich.style import Style
from tui_helpers import masked_trace, wide_trace

from lstm_tui.tui import draw

STYLES = draw.BarStyles(base=Style(), positive=Style(color="blue"), negative=Style(color="red"),
                        axis=Style(dim=True), warning=Style(color="yellow", bold=True))


def text(segments) -> str:
    return "".join(seg.text for seg in segments)


def test_fmt_four_decimals_and_non_finite_words():
    assert draw.fmt(0.24205837) == "0.2421"
    assert draw.fmt(-0.0355) == "-0.0355"
    assert draw.fmt(12345.678) == "12345.6780"
    assert draw.fmt(1.5e7) == "1.500e+07"
    assert draw.fmt(float("nan")) == "NaN"
    assert draw.fmt(float("inf")) == "+Inf"
    assert draw.fmt(float("-inf")) == "-Inf"


def test_unsigned_bar_in_eighths():
    assert text(draw.bar(1.0, draw.GATE_SCALE, 4, STYLES)) == "████"
    assert text(draw.bar(0.0, draw.GATE_SCALE, 4, STYLES)) == "    "
    assert text(draw.bar(0.5, draw.GATE_SCALE, 4, STYLES)) == "██  "
    assert text(draw.bar(1 / 32, draw.GATE_SCALE, 4, STYLES)) == "▏   "
    assert text(draw.bar(0.7083, draw.GATE_SCALE, 8, STYLES)) == "█████▋  "


def test_signed_bar_grows_from_the_centre_line():
    assert text(draw.bar(0.0, draw.SIGNED_SCALE, 9, STYLES)) == "    │    "
    assert text(draw.bar(1.0, draw.SIGNED_SCALE, 9, STYLES)) == "    │████"
    assert text(draw.bar(-1.0, draw.SIGNED_SCALE, 9, STYLES)) == "████│    "
    segments = draw.bar(-0.5 - 1 / 32, draw.SIGNED_SCALE, 9, STYLES)
    # Two full cells and 1/8 of a cell filled from its right edge: the
    # complementary 7/8 left block in reverse video.
    assert text(segments) == " ▉██│    "
    partial = next(seg for seg in segments if seg.text == "▉")
    assert partial.style.reverse


def test_values_beyond_the_scale_are_clipped():
    assert text(draw.bar(3.0, draw.GATE_SCALE, 4, STYLES)) == "████"
    assert text(draw.bar(-3.0, draw.SIGNED_SCALE, 5, STYLES)) == "██│  "


def test_non_finite_bars_are_marked():
    nan = draw.bar(float("nan"), draw.GATE_SCALE, 6, STYLES)
    assert text(nan) == draw.NAN_FILL * 6 and nan[0].style.color.name == "yellow"
    assert text(draw.bar(float("inf"), draw.GATE_SCALE, 4, STYLES)) == "███▶"
    assert text(draw.bar(float("inf"), draw.SIGNED_SCALE, 7, STYLES)) == "   │██▶"
    assert text(draw.bar(float("-inf"), draw.SIGNED_SCALE, 7, STYLES)) == "◀██│   "


@given(
    value=st.floats(allow_nan=True, allow_infinity=True, width=32),
    width=st.integers(min_value=0, max_value=60),
    signed=st.booleans(),
)
def test_bars_always_have_the_width_asked_for(value, width, signed):
    scale = draw.SIGNED_SCALE if signed else draw.GATE_SCALE
    drawn = text(draw.bar(value, scale, width, STYLES))
    assert len(drawn) == width


@given(a=st.floats(0, 1), b=st.floats(0, 1))
def test_bars_are_monotone_on_a_fixed_scale(a, b):
    lo, hi = sorted((a, b))
    fill = lambda v: text(draw.bar(v, draw.GATE_SCALE, 10, STYLES)).rstrip()  # noqa: E731
    rank = lambda s: (len(s), draw.EIGHTHS.index(s[-1]) if s else 0)  # noqa: E731
    assert rank(fill(lo)) <= rank(fill(hi))


def test_spark_levels_and_markers():
    assert draw.spark(0.0, draw.GATE_SCALE) == "▁"
    assert draw.spark(1.0, draw.GATE_SCALE) == "█"
    assert draw.spark(0.0, draw.SIGNED_SCALE) in "▄▅"
    assert draw.spark(float("nan"), draw.GATE_SCALE) == draw.SPARK_NAN
    assert draw.spark(float("inf"), draw.GATE_SCALE) == draw.SPARK_POS_INF
    assert draw.spark(float("-inf"), draw.GATE_SCALE) == draw.SPARK_NEG_INF


def test_layer_stats_are_computed_once_per_layer():
    layer = wide_trace(64).layers[0]
    first = draw.layer_stats(layer)
    assert draw.layer_stats(layer) is first
    assert first["f"].scale == draw.GATE_SCALE
    assert first["h"].scale == draw.SIGNED_SCALE
    m = float(np.abs(layer.c).max())
    assert math.isclose(first["c"].scale.hi, m)
    # Non-negative data gets a one-sided scale (a one-hot input has no left half).
    x = masked_trace().layers[0]
    assert draw.layer_stats(x)["x"].scale == draw.Scale(0.0, 1.0)


def test_layer_stats_ignore_non_finite_values():
    layer = wide_trace(8).layers[0]
    layer.c[0, 0] = np.inf
    layer.c[1, 1] = np.nan
    stats = draw.layer_stats(layer)
    finite = np.abs(layer.c[np.isfinite(layer.c)]).max()
    assert math.isclose(stats["c"].scale.hi, finite)


def test_one_hot_index():
    assert draw.one_hot_index(np.array([0, 0, 1.0, 0])) == 2
    assert draw.one_hot_index(np.array([0, 0.5, 0])) is None
    assert draw.one_hot_index(np.array([1.0, 1.0])) is None
    assert draw.one_hot_index(np.zeros(3)) is None
