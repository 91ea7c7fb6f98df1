"""Comparing two runs: the first differing step, the largest difference per
vector, lengths that differ, and runs that cannot be compared."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import random_cell, random_trace

import lstm_tui.debug.diff as diff_module
from lstm_tui.core.lstm import GATES, VECTORS, LSTMCell, Recording
from lstm_tui.core.trace import Layer, Trace, load, save
from lstm_tui.debug.diff import Difference, Incomparable, diff


def twin(tr: Trace) -> Trace:
    return copy.deepcopy(tr)


def test_identical_runs_are_equal():
    a = random_trace(T=6, layers=2, readout=True)
    r = diff(a, twin(a))
    assert r.equal and r.first is None
    assert (r.steps_compared, r.steps_a, r.steps_b) == (6, 6, 6)
    assert set(r.max_abs) == {(k, v) for k in (0, 1) for v in (*VECTORS, "h0", "c0")}
    assert all(v == 0.0 for v in r.max_abs.values())
    assert r.readout_max_abs == 0.0 and r.notes == []


def test_first_difference_in_model_order_and_largest_per_vector():
    a = random_trace(T=8, H=4, layers=2)
    b = twin(a)
    b.layers[1].i[3, 2] += 0.01
    b.layers[0].o[5, 1] -= 0.5
    b.layers[0].o[6, 3] += 0.25
    r = diff(a, b)
    assert not r.equal
    # Layer 0 runs (all its steps) before layer 1 reads its output.
    assert r.first == Difference(5, 0, "o", 1, float(a.layers[0].o[5, 1]), float(b.layers[0].o[5, 1]), 5)
    assert r.max_abs[(0, "o")] == pytest.approx(0.5)
    assert r.max_abs[(1, "i")] == pytest.approx(0.01)
    assert r.max_abs[(0, "h")] == 0.0
    assert isinstance(r.first, tuple) and r.first[:4] == (5, 0, "o", 1)
    # Per layer: the largest difference and how long the layer differs.
    l0, l1 = r.layers[0], r.layers[1]
    assert l0.largest[:4] == (5, 0, "o", 1) and (l0.steps_beyond, l0.last_step) == (2, 6)
    assert l1.largest[:4] == (3, 1, "i", 2) and (l1.steps_beyond, l1.last_step) == (1, 3)


def test_ties_go_to_the_first_layer_then_step_then_vector_order_then_the_largest_unit():
    a = random_trace(T=5, H=4, layers=2)
    b = twin(a)
    b.layers[1].f[1, 0] += 1
    b.layers[0].h[2, 3] += 1
    b.layers[0].c[2, 2] += 0.5
    b.layers[0].c[2, 1] += 2
    assert diff(a, b).first[:4] == (2, 0, "c", 1)


def test_tolerance_follows_float32_rounding():
    a = random_trace(T=4, dtype=np.float32)
    b = twin(a)
    # One unit in the last place of a float32 h: rounding, not a difference.
    b.layers[0].h[1, 1] = np.nextafter(a.layers[0].h[1, 1], np.float32(np.inf))
    assert diff(a, b).equal
    # 1% of a value is a difference, at any magnitude: recordings of a
    # linear-activation cell whose candidate weights scale c and h.
    rng = np.random.default_rng(2)
    cell = random_cell(rng, 4, 3, np.float32, activation="linear")
    x = rng.normal(size=(6, 3)).astype(np.float32)
    for scale in (1e-3, 1.0, 1e6):
        scaled = LSTMCell(W={**cell.W, "c": cell.W["c"] * np.float32(scale)}, U=cell.U,
                          b={**cell.b, "c": cell.b["c"] * np.float32(scale)}, activation="linear")
        run = Trace(layers=[Layer.from_recording(scaled.forward(x), name="l", cell=scaled)])
        assert 0.1 * scale < np.abs(run.layers[0].c).max() < 100 * scale
        other = twin(run)
        other.layers[0].c[2, 0] *= np.float32(1.01)
        r = diff(run, other)
        assert not r.equal and r.first[:4] == (2, 0, "c", 0), scale
    # A fixed tolerance replaces the rule.
    r = diff(a, b, tol=1e-12)
    assert not r.equal and r.first[:4] == (1, 0, "h", 1)
    assert diff(a, b, tol=1e-6).equal


def test_reruns_of_an_exploding_model_are_equal_and_a_real_change_is_not():
    """The same relu LSTM run in float32 and in float64 (then stored as
    float32) parts by 1e17 in c as its state explodes to 1e24: rounding,
    scaled to the terms. Changing one input is a difference."""
    rng = np.random.default_rng(0)
    H, D, T = 8, 5, 60
    cell = LSTMCell(W={g: rng.normal(size=(H, D)).astype(np.float32) for g in GATES},
                    U={g: (5 * rng.normal(size=(H, H))).astype(np.float32) for g in GATES},
                    b={g: rng.normal(size=H).astype(np.float32) for g in GATES}, activation="relu")
    x = rng.normal(size=(T, D)).astype(np.float32)
    a = cell.forward(x, dtype=np.float32)
    b64 = cell.forward(x, dtype=np.float64)
    b = Recording(**{v: np.asarray(getattr(b64, v), np.float32) for v in (*VECTORS, "h0", "c0")})
    ta = Trace(layers=[Layer.from_recording(a, name="l", cell=cell)])
    tb = Trace(layers=[Layer.from_recording(b, name="l", cell=cell)])
    assert np.abs(a.c).max() > 1e20 and diff(ta, tb).max_abs[(0, "c")] > 1e10
    assert diff(ta, tb).equal
    x2 = x.copy()
    x2[30, 1] += 0.01
    tc = Trace(layers=[Layer.from_recording(cell.forward(x2, dtype=np.float32), name="l", cell=cell)])
    r = diff(ta, tc)
    assert r.first[:4] == (30, 0, "x", 1)


def test_a_changed_input_is_traced_to_its_origin_through_reversed_layers():
    """An LSTM, a bidirectional LSTM (two layers, the second reversed) and a
    go_backwards LSTM: input position 7 changes. The origin is layer 0 at
    step 7, not the reversed layer whose step 0 reads the last position."""
    rng = np.random.default_rng(4)
    T, D, H = 12, 3, 4
    cells = [random_cell(rng, H, D), random_cell(rng, H, H), random_cell(rng, H, H), random_cell(rng, H, 2 * H)]

    def run(x):
        l0 = cells[0].forward(x)
        fwd = cells[1].forward(l0.h)
        bwd = cells[2].forward(l0.h[::-1])
        both = np.concatenate([fwd.h, bwd.h[::-1]], axis=1)
        back = cells[3].forward(both[::-1])
        layers = [Layer.from_recording(l0, name="lstm", cell=cells[0]),
                  Layer.from_recording(fwd, name="forward_lstm", cell=cells[1]),
                  Layer.from_recording(bwd, name="backward_lstm", cell=cells[2], reversed=True),
                  Layer.from_recording(back, name="back", cell=cells[3], reversed=True)]
        return Trace(layers=layers)

    x = rng.normal(size=(T, D))
    x2 = x.copy()
    x2[7] += 1.0
    r = diff(run(x), run(x2))
    assert r.first[:4] == (7, 0, "x", 0) and r.first.position == 7
    # Layer 0 and the forward half differ from position 7 on; the backward
    # half reads the end first, where layer 0 already differs: every step.
    assert (r.layers[0].steps_beyond, r.layers[1].steps_beyond) == (T - 7, T - 7)
    assert r.layers[2].reversed and r.layers[2].steps_beyond == T
    lines = r.lines()
    assert lines[1].startswith("first difference: layer 0, step 7, x[0]: A ")
    assert any(line.startswith("layer 2: max |B-A|") and "(position " in line for line in lines)
    # For a reversed layer, the step and the input position it read are both given.
    first_bwd = Difference(4, 2, "f", 0, 0.0, 1.0, 7)
    assert first_bwd.where(reversed_layer=True) == (
        "layer 2, step 4 (input position 7; the layer runs backwards), f[0]")


def test_checkpoints_name_the_unit_that_differs_most_and_the_weights():
    a = random_trace(T=6, H=4, seed=1)
    cell = a.layers[0].cell
    U_f = np.array(cell.U["f"])
    U_f[2, 1] += 0.8  # unit 2's forget gate reads h_{t-1} differently
    other = LSTMCell(W=cell.W, U={**cell.U, "f": U_f}, b=cell.b)
    b = Trace(layers=[Layer.from_recording(other.forward(a.layers[0].x), name="lstm_0", cell=other)],
              tokens=a.tokens)
    r = diff(a, b)
    # Step 0 reads h0 = 0: the change shows from step 1, in unit 2's f first.
    assert r.first[:4] == (1, 0, "f", 2)
    assert r.members == [f"layer 0 U_f (by up to {0.8:.3g})"]
    assert "differs: layer 0 U_f (by up to 0.8)" in r.lines()


def test_weights_that_differ_while_the_gates_agree_are_a_difference():
    a = random_trace(T=5)
    b = twin(a)
    b.layers[0].cell.b["o"][1] += 0.25  # the stored bias, not the recording
    r = diff(a, b)
    assert r.first is None and not r.equal
    assert r.members == ["layer 0 b_o (by up to 0.25)"]
    assert r.lines()[1] == "no step differs beyond the rounding bound, but stored members do"
    c = twin(a)
    c.layers[0].cell = None
    assert diff(a, c).members == ["layer 0 weights (only A stores them)"]


def test_nan_and_infinity():
    a = random_trace(T=6, H=3)
    a.layers[0].c[1, 0] = np.nan
    a.layers[0].c[2, 0] = np.inf
    b = twin(a)
    assert diff(a, b).equal  # NaN = NaN, inf = inf
    b.layers[0].c[2, 0] = -np.inf
    r = diff(a, b)
    assert r.first[:4] == (2, 0, "c", 0) and r.max_abs[(0, "c")] == np.inf
    b = twin(a)
    b.layers[0].c[1, 0] = 0.5  # NaN against a number
    r = diff(a, b)
    assert r.first[:4] == (1, 0, "c", 0) and np.isnan(r.first.a) and r.first.b == 0.5
    assert r.max_abs[(0, "c")] == np.inf


def test_different_lengths_compare_the_common_prefix():
    long = random_trace(T=9, H=3)
    short = twin(long)
    for v in VECTORS:
        setattr(short.layers[0], v, long.layers[0].vector(v)[:6].copy())
    short.tokens = long.tokens[:6]
    r = diff(long, short)
    assert (r.steps_compared, r.steps_a, r.steps_b) == (6, 9, 6)
    assert r.first is None and not r.equal  # one run is longer
    assert r.lines()[0] == "compared the first 6 steps, rounding bound (A has 9, B has 6)"
    short.layers[0].f[4, 1] = 2.0
    assert diff(long, short).first[:4] == (4, 0, "f", 1)


@pytest.mark.parametrize("change, message", [
    (lambda b: b.layers.append(b.layers[0]), "A has 1 layer(s), B has 2"),
    (lambda b: setattr(b, "layers", [random_trace(T=5, H=5).layers[0]]), "layer 0: A has 4 units, B has 5"),
    (lambda b: setattr(b, "layers", [random_trace(T=5, D=2).layers[0]]),
     "layer 0: A's input x has 3 values, B's has 2"),
])
def test_incomparable_runs(change, message):
    a = random_trace(T=5)
    b = twin(a)
    change(b)
    with pytest.raises(Incomparable) as e:
        diff(a, b)
    assert str(e.value) == message
    assert isinstance(e.value, ValueError)


def test_initial_state_readout_tokens_names_and_dtype_are_noted():
    a = random_trace(T=5, readout=True)
    b = twin(a)
    b.layers[0].h0 = b.layers[0].h0 + 0.5
    b.probs = b.probs.copy()
    b.probs[3, 1] += 0.2
    b.tokens = np.array(["w0", "w1", "zz", "w3", "w4"])
    b.layers[0].name = "other"
    r = diff(a, b)
    assert r.first is None and not r.equal
    assert r.max_abs[(0, "h0")] == pytest.approx(0.5)
    assert r.readout_max_abs == pytest.approx(0.2) and r.readout_differs
    assert r.members == ["layer 0 h0 (the state before step 0, by up to 0.5)"]
    assert r.notes == [
        "layer 0 is named 'lstm_0' in A, 'other' in B",
        "the tokens differ from position 2 ('w2' in A, 'zz' in B)",
    ]


def test_readout_in_one_run_only_is_noted_not_counted():
    a = random_trace(T=5, readout=True)
    b = twin(a)
    b.probs = b.vocab = None
    r = diff(a, b)
    assert r.equal and r.readout_max_abs is None
    assert r.notes == ["only A has a readout; not compared"]


def test_mixed_precision_is_noted():
    a = random_trace(T=4, dtype=np.float64)
    b = random_trace(T=4, dtype=np.float32)
    r = diff(a, b, tol=1e-5)
    assert "A is recorded in float64, B in float32" in r.notes
    assert r.equal  # the same weights and inputs, drawn then rounded


@pytest.mark.parametrize("seed", range(3))
def test_small_blocks_give_the_same_report(monkeypatch, seed):
    a = random_trace(seed=seed, T=20, H=5, layers=2, readout=True)
    b = twin(a)
    rng = np.random.default_rng(seed)
    for _ in range(4):
        k, v = int(rng.integers(2)), VECTORS[int(rng.integers(1, 7))]
        t, u = int(rng.integers(20)), int(rng.integers(5))
        b.layers[k].vector(v)[t, u] += rng.normal()
    whole = diff(a, b)
    monkeypatch.setattr(diff_module, "BLOCK_ELEMENTS", 3)
    assert diff(a, b) == whole


def test_report_lines():
    a = random_trace(T=5, H=3, layers=2, readout=True)
    b = twin(a)
    b.layers[1].c[2, 1] = np.nan
    b.layers[0].f[3, 0] += 0.125
    lines = diff(a, b).lines()
    f_a, f_b = a.layers[0].f[3, 0], b.layers[0].f[3, 0]
    assert lines == [
        "compared 5 steps, rounding bound",
        f"first difference: layer 0, step 3, f[0]: A {f_a:.6g}, B {f_b:.6g}",
        "layer 0: max |B-A| 0.125 at t=3 f[0]; 1 step beyond, last t=3",
        "layer 1: max |B-A| 0 at t=0 x[0]; 1 step beyond, last t=2; NaN vs number 1×",
        "largest |B - A| (* beyond the tolerance):",
        "layer       x        f        i    c_hat        c        o        h    h0 c0",
        "    0       0    0.125*       0        0        0        0        0        0",
        "    1       0        0        0        0      inf*       0        0        0",
        "readout p: 0",
    ]
    assert f_b - f_a == pytest.approx(0.125)
    assert max(len(line) for line in lines) <= 80
    assert diff(a, twin(a)).lines()[1] == "no difference beyond the rounding bound"
    assert diff(a, twin(a), tol=1e-6).lines()[:2] == ["compared 5 steps, tolerance 1e-06",
                                                      "no difference beyond the tolerance 1e-06"]


def test_nan_against_a_number_is_reported_as_such():
    a = random_trace(T=4, H=3)
    b = twin(a)
    b.layers[0].h[2, 1] = np.nan
    r = diff(a, b)
    assert r.first[:4] == (2, 0, "h", 1) and r.first.nan_against_number
    assert r.lines()[1] == f"first difference: layer 0, step 2, h[1]: A {a.layers[0].h[2, 1]:.6g}, B nan " \
                           "(NaN against a number)"
    assert r.layers[0].nan_mismatches == 1


def test_memory_mapped_traces(tmp_path):
    a = random_trace(T=7, H=3, dtype=np.float32)
    b = twin(a)
    b.layers[0].x[4, 2] = 9.0
    r = diff(load(save(a, tmp_path / "a.npz")), load(save(b, tmp_path / "b.npz")))
    assert r.first[:4] == (4, 0, "x", 2) and r.first.b == 9.0


def test_check_comparable_reads_shapes_only():
    a = random_trace(T=5, H=4)
    diff_module.check_comparable(a, random_trace(seed=3, T=9, H=4))  # other values, other length
    with pytest.raises(Incomparable, match="4 units"):
        diff_module.check_comparable(a, random_trace(T=5, H=5))


def test_signed_difference_and_its_nan_rules():
    a = np.array([1.0, 2.0, np.nan, np.inf, np.nan, 1.0, -np.inf])
    b = np.array([1.5, 1.0, np.nan, np.inf, 3.0, np.inf, np.inf])
    d = diff_module.difference(a, b)
    assert d[:4].tolist() == [0.5, -1.0, 0.0, 0.0]
    assert np.isnan(d[4]) and d[5] == np.inf and d[6] == np.inf


def test_max_finite_difference_skips_non_finite_and_uses_common_steps(monkeypatch):
    a = random_trace(T=6, H=3)
    b = twin(a)
    b.layers[0].c[2, 1] += 0.25
    b.layers[0].c[4, 0] = np.nan
    assert diff_module.max_finite_difference(a, b, 0, "c") == pytest.approx(0.25)
    assert diff_module.max_finite_difference(a, b, 0, "f") == 0.0
    monkeypatch.setattr(diff_module, "BLOCK_ELEMENTS", 3)  # one row a block
    assert diff_module.max_finite_difference(a, b, 0, "c") == pytest.approx(0.25)
    short = random_trace(T=3, H=3)
    short.layers[0].c[:] = a.layers[0].c[:3] - 2.0
    assert diff_module.max_finite_difference(a, short, 0, "c") == pytest.approx(2.0)


def test_diff_and_conditions_call_check_before_each_block(monkeypatch):
    from lstm_tui.debug.conditions import Condition

    a = random_trace(T=30, H=3)
    seen = []
    monkeypatch.setattr(diff_module, "BLOCK_ELEMENTS", 20)
    assert diff(a, twin(a), check=lambda: seen.append("d")).equal
    assert len(seen) >= 30 // 2
    seen.clear()
    hits = Condition.parse("h[0] > 0").evaluate(a, 0, check=lambda: seen.append("c"))
    assert len(seen) >= 1 and hits.tolist() == (a.layers[0].h[:, 0] > 0).tolist()
