"""Comparing two runs: the first differing step, the largest difference per
vector, lengths that differ, and runs that cannot be compared."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import lstm_tui.diff as diff_module
from conftest import random_trace
from lstm_tui.diff import Difference, Incomparable, diff
from lstm_tui.lstm import VECTORS
from lstm_tui.trace import Trace, load, save


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


def test_first_difference_and_largest_per_vector():
    a = random_trace(T=8, H=4, layers=2)
    b = twin(a)
    b.layers[1].i[3, 2] += 0.01
    b.layers[0].o[5, 1] -= 0.5
    b.layers[0].o[6, 3] += 0.25
    r = diff(a, b)
    assert not r.equal
    assert r.first == Difference(3, 1, "i", 2, float(a.layers[1].i[3, 2]), float(b.layers[1].i[3, 2]))
    assert r.max_abs[(0, "o")] == pytest.approx(0.5)
    assert r.max_abs[(1, "i")] == pytest.approx(0.01)
    assert r.max_abs[(0, "h")] == 0.0
    assert isinstance(r.first, tuple) and r.first[:4] == (3, 1, "i", 2)


def test_ties_go_to_the_first_layer_then_vector_order_then_unit():
    a = random_trace(T=5, H=4, layers=2)
    b = twin(a)
    b.layers[1].f[2, 0] += 1
    b.layers[0].h[2, 3] += 1
    b.layers[0].c[2, 2] += 1
    b.layers[0].c[2, 1] += 1
    assert diff(a, b).first[:4] == (2, 0, "c", 1)


def test_tolerance():
    a = random_trace(T=4)
    b = twin(a)
    b.layers[0].h[1, 1] += 1e-7
    assert diff(a, b).equal
    r = diff(a, b, tol=1e-8)
    assert not r.equal and r.first[:4] == (1, 0, "h", 1)
    assert r.max_abs[(0, "h")] == pytest.approx(1e-7)


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
    assert r.lines()[0] == "compared the first 6 steps, tolerance 1e-06 (A has 9, B has 6)"
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
    assert r.readout_max_abs == pytest.approx(0.2)
    assert r.notes == [
        "layer 0 is named 'lstm_0' in A, 'other' in B",
        "layer 0: the initial state h0 differs (by up to 0.5)",
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
    c_a = a.layers[1].c[2, 1]
    assert lines == [
        "compared 5 steps, tolerance 1e-06",
        f"first difference: step 2, layer 1, c[1]: A {c_a:.6g}, B nan",
        "largest |B - A| (* beyond the tolerance):",
        "layer       x        f        i    c_hat        c        o        h    h0 c0",
        "    0       0    0.125*       0        0        0        0        0        0",
        "    1       0        0        0        0      inf*       0        0        0",
        "readout p: 0",
    ]
    assert f_b - f_a == pytest.approx(0.125)
    assert max(len(line) for line in lines) <= 80
    assert diff(a, twin(a)).lines()[1] == "no difference beyond 1e-06"


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
