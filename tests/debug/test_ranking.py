"""Ranking units: by |value| at a step, by |B − A|, by how often a vector is
saturated (checked against plain NumPy counts)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstm_tui.core.lstm import GATES, LSTMCell
from lstm_tui.core.trace import Layer, Trace
from lstm_tui.debug import ranking
from lstm_tui.debug.ranking import by_fraction, by_size, next_sort, pane_order, saturation


def _trace(T: int = 40, H: int = 6, D: int = 3, seed: int = 0, mask=None) -> Trace:
    rng = np.random.RandomState(seed)
    cell = LSTMCell(W={g: rng.uniform(-3, 3, (H, D)) for g in GATES},
                    U={g: rng.uniform(-2, 2, (H, H)) for g in GATES},
                    b={g: rng.uniform(-1, 1, H) for g in GATES})
    rec = cell.forward(rng.normal(size=(T, D)), mask=mask, dtype=np.float64)
    return Trace(layers=[Layer.from_recording(rec, name="lstm", cell=cell)], source="test: ranking")


def test_by_size_is_argsort_of_minus_abs_for_finite_rows():
    row = np.array([0.1, -0.9, 0.5, -0.2, 0.7, 0.0])
    assert by_size(row).tolist() == np.argsort(-np.abs(row), kind="stable").tolist() == [1, 4, 2, 3, 0, 5]


def test_by_size_puts_nan_first_then_inf_and_keeps_ties_in_unit_order():
    row = np.array([0.5, np.inf, -0.5, np.nan, -np.inf, 2.0])
    assert by_size(row).tolist() == [3, 1, 4, 5, 0, 2]


def test_by_fraction_most_saturated_first_ties_by_unit():
    assert by_fraction(np.array([0.2, 0.5, 0.2, 1.0])).tolist() == [3, 1, 0, 2]


def test_next_sort_skips_delta_without_a_second_run():
    assert [next_sort(m, False) for m in ranking.SORTS] == ["value", "saturation", "saturation", "index"]
    assert [next_sort(m, True) for m in ranking.SORTS] == ["value", "delta", "saturation", "index"]


def _independent_fractions(layer: Layer, vector: str) -> np.ndarray:
    """The rule written out by hand: gates near 0 or 1, ĉ and h near ±1, c
    where tanh(c) is near ±1; over the steps that happened."""
    v = np.asarray(layer.vector(vector), np.float64)
    if layer.mask is not None:
        v = v[np.asarray(layer.mask, bool)]
    if vector in ("f", "i", "o"):
        hit = (v < 0.05) | (v > 0.95)
    elif vector == "c":
        hit = np.abs(np.tanh(v)) > 0.95
    else:
        hit = np.abs(v) > 0.95
    return hit.sum(axis=0) / v.shape[0]


@pytest.mark.parametrize("vector", ranking.UNIT_VECTORS)
def test_saturation_fractions_equal_a_numpy_count(vector):
    layer = _trace().layers[0]
    got = saturation(layer, vector)
    want = _independent_fractions(layer, vector)
    assert got is not None
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    if vector != "h":  # h = o·tanh(c) rarely reaches ±0.95
        assert 0 < want.max() < 1  # the weights are large enough that some units saturate, not all
    order = pane_order("saturation", Trace(layers=[layer]), None, "a", 0, vector, 0)
    assert order.tolist() == np.argsort(-want, kind="stable").tolist()


def test_saturation_leaves_masked_steps_out():
    mask = np.ones(30, bool)
    mask[::3] = False
    layer = _trace(T=30, mask=mask).layers[0]
    np.testing.assert_allclose(saturation(layer, "f"), _independent_fractions(layer, "f"), atol=1e-12)


def test_the_cell_state_edge_is_where_tanh_saturates():
    assert math.isclose(math.tanh(ranking._C_EDGE), 0.95)


def test_a_long_layer_waits_for_the_scan(monkeypatch):
    layer = _trace().layers[0]
    monkeypatch.setattr(ranking, "EAGER_VALUES", 10)
    assert ranking.saturation_pending(layer)
    assert saturation(layer, "f") is None
    calls = []
    found = ranking.scan_saturation(layer, check=lambda: calls.append(1))
    assert len(calls) >= 1
    assert not ranking.saturation_pending(layer)
    np.testing.assert_allclose(saturation(layer, "f"), found["f"])


def test_a_cancelled_scan_publishes_nothing(monkeypatch):
    layer = _trace().layers[0]
    monkeypatch.setattr(ranking, "EAGER_VALUES", 10)

    class Stop(Exception):
        pass

    def stop() -> None:
        raise Stop

    with pytest.raises(Stop):
        ranking.scan_saturation(layer, check=stop)
    assert ranking.saturation_pending(layer)


def test_pane_order_by_value_and_by_difference():
    a, b = _trace(seed=1), _trace(seed=1)
    b.layers[0].f[5] += np.linspace(0, 0.3, 6)[::-1]
    row = a.layers[0].f[5]
    assert pane_order("value", a, None, "a", 0, "f", 5).tolist() == np.argsort(-np.abs(row), kind="stable").tolist()
    assert pane_order("delta", a, b, "a", 0, "f", 5).tolist() == [0, 1, 2, 3, 4, 5]
    assert pane_order("delta", a, None, "a", 0, "f", 5) is None  # no second run: unit order
    assert pane_order("value", a, None, "a", 0, "x", 5) is None  # x has no units
    assert pane_order("index", a, None, "a", 0, "f", 5) is None


def test_ranked_note_words():
    assert str(ranking.ranked_note(7, 1, 32, "f", 3)) == "unit 7: largest |f| at t = 3 (1 of 32)"
    assert str(ranking.ranked_note(2, 2, 32, "f", 3)) == "unit 2: next largest |f| at t = 3 (2 of 32)"
    assert str(ranking.ranked_note(9, 32, 32, "f", 3)) == "unit 9: smallest |f| at t = 3 (32 of 32)"
