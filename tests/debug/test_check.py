"""``check``: every correct recording passes however large its numbers, a 1%
corruption fails at any magnitude, and the report says where, how much and
the likely cause (gate blocks in another order)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import random_cell

import lstm_tui.core.numeric as numeric
from lstm_tui.core.bounds import rounding_bounds
from lstm_tui.core.lstm import GATES, LSTMCell
from lstm_tui.core.trace import Layer, Trace, load, save
from lstm_tui.debug.check import Mismatch, check_trace


def recorded(cell: LSTMCell, x: np.ndarray, dtype=np.float32, **kw) -> Trace:
    return Trace(layers=[Layer.from_recording(cell.forward(x, dtype=dtype, **kw), name="l", cell=cell)])


def exploding(seed: int = 0, T: int = 40) -> Trace:
    """A relu LSTM whose recurrent kernel is scaled ×5: |c| grows past 1e15."""
    rng = np.random.default_rng(seed)
    H, D = 8, 5
    cell = LSTMCell(W={g: rng.normal(size=(H, D)).astype(np.float32) for g in GATES},
                    U={g: (5 * rng.normal(size=(H, H))).astype(np.float32) for g in GATES},
                    b={g: rng.normal(size=H).astype(np.float32) for g in GATES}, activation="relu")
    return recorded(cell, rng.normal(size=(T, D)).astype(np.float32))


def scaled_linear(scale: float, seed: int = 2) -> Trace:
    """A linear-activation cell whose candidate weights put c and h at
    about ``scale``."""
    rng = np.random.default_rng(seed)
    cell = random_cell(rng, 6, 4, np.float32, activation="linear")
    s = np.float32(scale)
    cell = LSTMCell(W={**cell.W, "c": cell.W["c"] * s}, U=cell.U, b={**cell.b, "c": cell.b["c"] * s},
                    activation="linear")
    return recorded(cell, rng.normal(size=(12, 4)).astype(np.float32))


def test_a_correct_recording_passes_however_large_its_values():
    tr = exploding()
    assert np.abs(tr.layers[0].c).max() > 1e15
    r = check_trace(tr)
    assert r.mismatch is None and r.failures == {}
    assert 0 < r.max_ratio[0] <= 1 and r.max_error[0] > 1e3  # large in absolute terms, yet rounding
    assert r.lines()[-1] == "ok: every step follows from the stored weights"


@pytest.mark.parametrize("scale", [1e-4, 1.0, 1e8])
@pytest.mark.parametrize("vector", ["f", "c_hat", "c", "h"])
def test_a_one_percent_corruption_fails_at_any_magnitude(scale, vector):
    tr = scaled_linear(scale)
    assert check_trace(tr).mismatch is None
    layer = tr.layers[0]
    values = layer.vector(vector)
    u = int(np.argmax(np.abs(values[5])))
    values[5, u] *= np.float32(1.01)
    r = check_trace(tr)
    m = r.mismatch
    assert m is not None and (m.layer, m.step, m.vector, m.unit) == (0, 5, vector, u)
    assert m.tol < abs(m.recorded - m.recomputed)


def test_the_mismatch_line_shows_digits_that_differ_and_the_relative_error():
    tr = exploding()
    layer = tr.layers[0]
    t, u = 19, int(np.argmax(np.abs(layer.c_hat[19])))
    value = float(layer.c_hat[t, u])
    layer.c_hat[t, u] = np.nextafter(np.float32(value * (1 + 3e-5)), np.float32(np.inf))
    m = check_trace(tr).mismatch
    assert (m.step, m.vector, m.unit) == (t, "c_hat", u)
    line = m.line()
    rec, comp = line.split("recorded ")[1].split(", recomputed ")
    comp = comp.split(" (")[0]
    assert rec != comp and float(rec) == pytest.approx(m.recorded, rel=1e-5)
    assert f"(relative error {numeric.relative_error(m.recorded, m.recomputed):.2g}, allowed " in line


def test_distinct_adds_digits_until_the_numbers_differ():
    assert numeric.distinct(119.80612, 119.80614) == ("119.80612", "119.80614")
    assert numeric.distinct(1.5, 2.5) == ("1.5", "2.5")
    assert numeric.distinct(0.1, 0.1) == ("0.1", "0.1")
    a, b = numeric.distinct(1.0, float(np.nextafter(1.0, 2.0)))
    assert a != b


def swapped(tr: Trace, one: str, other: str) -> Trace:
    """The same recording, its stored weights with two gate blocks swapped:
    the classic porting mistake."""
    out = copy.deepcopy(tr)
    c = tr.layers[0].cell

    def swap(m):
        return {**m, one: m[other], other: m[one]}
    out.layers[0].cell = LSTMCell(W=swap(c.W), U=swap(c.U), b=swap(c.b), activation=c.activation,
                                  recurrent_activation=c.recurrent_activation)
    return out


def good(seed=3) -> Trace:
    rng = np.random.default_rng(seed)
    return recorded(random_cell(rng, 5, 3, np.float32), rng.normal(size=(10, 3)).astype(np.float32))


def test_swapped_forget_and_input_weights_are_named():
    r = check_trace(swapped(good(), "f", "i"))
    assert r.mismatch is not None and r.mismatch.vector in ("f", "i")
    assert r.causes == [
        "layer 0: gates f (forget gate) and i (input gate) look swapped: each one's recorded values are what the "
        "stored weights give for the other (Keras stores gate blocks i, f, c, o; PyTorch i, f, g, o; "
        "a trace f, i, c, o)"]
    lines = r.lines()
    assert any(line.startswith("likely cause: layer 0: gates f (forget gate) and i (input gate) look swapped")
               for line in lines)


def test_swapped_blocks_of_different_activations_are_named_too():
    # f is σ(z_f) and ĉ is tanh(z_c): with the blocks swapped, the recorded
    # f is σ of what the stored weights give for the candidate.
    r = check_trace(swapped(good(), "f", "c"))
    assert r.causes and "f (forget gate) and ĉ (candidate) look swapped" in r.causes[0]


def test_a_corruption_is_not_mistaken_for_swapped_gates():
    tr = good()
    tr.layers[0].f[4, 1] += 0.2
    r = check_trace(tr)
    assert r.mismatch is not None and r.causes == []


def test_the_summary_counts_failing_steps_and_units_per_vector():
    tr = good()
    layer = tr.layers[0]
    layer.o[2, 0] += 0.3
    layer.o[7, 0] += 0.3
    layer.o[7, 3] += 0.3
    r = check_trace(tr)
    assert set(r.failures) == {(0, "o")}
    fo = r.failures[(0, "o")]
    assert (fo.steps, fo.units) == (2, 2)
    assert fo.first == r.mismatch and (r.mismatch.step, r.mismatch.unit) == (2, 0)
    assert "  layer 0 o     2 steps, 2 units" in r.lines()
    # A corrupted c is read back by the next step too: two steps fail.
    tr = good()
    tr.layers[0].c[3, 1] += 0.5
    r = check_trace(tr)
    assert (r.failures[(0, "c")].steps, r.failures[(0, "c")].units) == (2, 1)


def test_nan_equals_nan_and_a_nan_against_a_number_is_said():
    rng = np.random.default_rng(5)
    cell = random_cell(rng, 3, 2, np.float32)
    cell.W["i"][1, 0] = np.nan
    tr = recorded(cell, rng.normal(size=(6, 2)).astype(np.float32))
    assert np.isnan(tr.layers[0].h).any()
    assert check_trace(tr).mismatch is None  # a faithful recording of a broken model
    tr.layers[0].i[3, 1] = 0.5
    m = check_trace(tr).mismatch
    assert (m.step, m.vector, m.unit) == (3, "i", 1)
    assert m.line().endswith("(NaN against a number)")


def test_float16_and_float64_recordings_pass():
    rng = np.random.default_rng(6)
    cell = random_cell(rng, 6, 4)
    x = rng.normal(size=(30, 4))
    rec32 = cell.forward(x.astype(np.float32), dtype=np.float32)
    half = Trace(layers=[Layer.from_recording(
        type(rec32)(**{k: (None if getattr(rec32, k) is None else np.asarray(getattr(rec32, k), np.float16))
                       for k in ("x", "f", "i", "c_hat", "c", "o", "h", "h0", "c0", "mask")}), name="l", cell=cell)])
    assert check_trace(half).mismatch is None
    tr64 = recorded(cell, x, dtype=np.float64)
    assert check_trace(tr64).mismatch is None
    tr64.layers[0].h[4, 2] += 1e-9  # far beyond float64 rounding
    assert check_trace(tr64).mismatch.vector == "h"


def test_a_fixed_tolerance_replaces_the_bound():
    tr = good()
    tr.layers[0].o[2, 0] += 1e-4
    assert check_trace(tr).mismatch is not None
    r = check_trace(tr, tol=1e-3)
    assert r.mismatch is None and r.tol[0] == 1e-3
    assert r.lines()[0].startswith("layer 0: largest difference 0.0001 (tolerance 0.001)")


def test_small_blocks_give_the_same_report(monkeypatch, tmp_path):
    tr = exploding(T=25)
    tr.layers[0].c[11, 2] *= np.float32(1.01)
    tr.layers[0].o[17, 5] += np.float32(0.1)
    whole = check_trace(tr)
    mapped = check_trace(load(save(tr, tmp_path / "t.npz")))
    monkeypatch.setattr(numeric, "BLOCK_ELEMENTS", 40)  # a step or two a block
    small = check_trace(tr)
    for r in (mapped, small):
        assert r.mismatch == whole.mismatch and r.failures == whole.failures
    assert isinstance(whole.mismatch, Mismatch) and whole.mismatch.step == 11


def test_rounding_bounds_grow_along_a_free_running_pass():
    tr = good()
    local = rounding_bounds(tr.layers[0])
    free = rounding_bounds(tr.layers[0], free_running=True)
    steps = np.arange(1, 11)[:, None]
    np.testing.assert_array_equal(free["h"], local["h"] * steps)
    deeper = rounding_bounds(tr.layers[0], free_running=True, depth=1)
    np.testing.assert_array_equal(deeper["h"], 2 * free["h"])
