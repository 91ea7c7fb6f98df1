"""How long a change lives and how long the cell remembers (debug.lifetime):
a window of the comparison against NumPy and the core's rounding rule, the
report's first and last step beyond the tolerance, and the product of f
from a step against np.prod, near and far from that step, masked steps
included."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_trace
from lifetime_pair import edited_pair

import lstm_tui.debug.lifetime as lifetime
from lstm_tui.core.bounds import rounding_bounds
from lstm_tui.core.lstm import VECTORS
from lstm_tui.core.numeric import abs_difference, beyond
from lstm_tui.core.trace import Layer, Trace
from lstm_tui.debug.diff import diff
from lstm_tui.debug.lifetime import Memory, beyond_span, diff_window, product_tolerance


def beyond_steps(a: Trace, b: Trace, k: int, tol: float | None = None) -> np.ndarray:
    """Per step of layer k, whether any value is beyond the tolerance: the
    core's rule over the whole layer at once."""
    la, lb = a.layers[k], b.layers[k]
    if tol is None:
        ba = rounding_bounds(la, free_running=True, depth=k)
        bb = rounding_bounds(lb, free_running=True, depth=k)
        bounds = {v: np.maximum(ba[v], bb[v]) for v in VECTORS}
    else:
        bounds = {v: tol for v in VECTORS}
    return np.any([beyond(abs_difference(la.vector(v), lb.vector(v)), bounds[v]).any(axis=1) for v in VECTORS],
                  axis=0)


@pytest.mark.parametrize("tol", [None, 1e-6])
def test_a_window_marks_the_steps_numpy_finds_beyond_the_tolerance(tol):
    a, b = edited_pair(T=90, layers=2)
    for k in (0, 1):
        expected = beyond_steps(a, b, k, tol)
        assert expected[5] and not expected[:5].any()  # the edit at t = 5 is where it starts
        whole = diff_window(a, b, k, 0, 90, tol)
        np.testing.assert_array_equal(whole.layer_beyond, expected)
        # A window reads the same marks as the whole (the bound is per step).
        part = diff_window(a, b, k, 20, 47, tol)
        assert part.start == 20 and part.steps == 27
        np.testing.assert_array_equal(part.layer_beyond, expected[20:47])
        largest = np.max([np.abs(b.layers[k].vector(v)[20:47] - a.layers[k].vector(v)[20:47]).max(axis=1)
                          for v in VECTORS], axis=0)
        np.testing.assert_array_equal(part.layer, largest)
    # The unit's row: c and h only, the larger of the two.
    la, lb = a.layers[0], b.layers[0]
    w = diff_window(a, b, 0, 0, 90, 1e-6)
    values, over = w.unit(2)
    state = np.maximum(np.abs(lb.c[:, 2] - la.c[:, 2]), np.abs(lb.h[:, 2] - la.h[:, 2]))
    np.testing.assert_array_equal(values, state)
    np.testing.assert_array_equal(over, state > 1e-6)
    assert over[5] and not over[:5].any() and not over[-1]  # it dies out within 90 steps


def test_the_report_says_the_first_and_last_step_beyond_per_layer():
    a, b = edited_pair(T=90, layers=2)
    report = diff(a, b)
    for k in (0, 1):
        steps = np.flatnonzero(beyond_steps(a, b, k))
        assert (report.layers[k].first_step, report.layers[k].last_step) == (steps[0], steps[-1])
    assert beyond_span(report, 1) == (1, report.layers[1].first_step, report.layers[1].last_step)
    assert beyond_span(report) == (0, 5, report.layers[0].last_step)
    same = diff(a, a)
    assert beyond_span(same) is None and same.layers[0].first_step is None


def test_a_window_past_the_end_of_run_b_holds_only_common_steps():
    a, b = edited_pair(T=30, layers=1)
    short = Trace(layers=[Layer(**{v: b.layers[0].vector(v)[:20] for v in VECTORS}, h0=b.layers[0].h0,
                                c0=b.layers[0].c0, cell=b.layers[0].cell, name="lstm_0")])
    w = diff_window(a, short, 0, 15, 30)
    assert w.steps == 5 and w.state.shape == (5, 4)


def test_nan_against_a_number_is_beyond_and_shown_as_nan():
    a = random_trace(T=8, H=3)
    la = a.layers[0]
    b = Trace(layers=[Layer(**{v: np.array(la.vector(v)) for v in VECTORS}, h0=la.h0, c0=la.c0, cell=la.cell,
                            name="lstm_0")])
    b.layers[0].h[4, 1] = np.nan
    w = diff_window(a, b, 0, 0, 8)
    values, over = w.unit(1)
    assert np.isnan(values[4]) and over[4] and not over[:4].any()
    assert w.layer[4] == np.inf and w.layer_beyond[4]


def test_memory_is_the_product_of_f_from_the_step_after_s():
    a = random_trace(T=60, H=3)
    f = a.layers[0].f
    m = Memory(a.layers[0], 1, 7)
    values = m.window(0, 60)
    assert np.isnan(values[:7]).all() and values[7] == 1.0
    for t in range(8, 60):
        exact = np.prod(f[8:t + 1, 1])
        assert abs(values[t] - exact) <= product_tolerance(t - 7) * abs(exact), t
    assert m.at(30) == values[30]


def test_a_window_far_from_s_starts_from_a_checkpoint(monkeypatch):
    monkeypatch.setattr(lifetime, "CHECKPOINT", 16)
    monkeypatch.setattr(lifetime, "INLINE_VALUES", 3 * 20)  # 20 steps of 3 units
    a = random_trace(T=200, H=3)
    f = a.layers[0].f
    m = Memory(a.layers[0], 0, 3)
    assert m.ready(20) and not m.ready(150)
    m.extend(150)
    assert m.ready(150) and len(m._checkpoints) == 1 + (150 - 3) // 16
    values = m.window(150, 170)
    for j, t in enumerate(range(150, 170)):
        exact = np.prod(f[4:t + 1, 0])
        assert abs(values[j] - exact) <= product_tolerance(t - 3) * abs(exact)
    # A cancelled extension keeps what it did.
    calls = []

    def stop() -> None:
        calls.append(1)
        if len(calls) > 2:
            raise KeyboardInterrupt

    m2 = Memory(a.layers[0], 1, 0)
    with pytest.raises(KeyboardInterrupt):
        m2.extend(190, stop)
    assert len(m2._checkpoints) == 3
    assert lifetime.memory(a.layers[0], 0, 3) is lifetime.memory(a.layers[0], 0, 3)


def test_a_masked_step_keeps_the_memory_whole():
    a = random_trace(T=12, H=2)
    la = a.layers[0]
    mask = np.ones(12, bool)
    mask[[4, 6]] = False
    layer = Layer(**{v: la.vector(v) for v in VECTORS}, h0=la.h0, c0=la.c0, mask=mask, cell=la.cell,
                  name="lstm_0")
    values = Memory(layer, 0, 2).window(2, 12)
    f = np.where(mask, la.f[:, 0], 1.0)
    np.testing.assert_allclose(values, [np.prod(f[3:t + 1]) for t in range(2, 12)], rtol=product_tolerance(10))
