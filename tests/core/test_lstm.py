"""The NumPy cell against an independent loop written like the notebook's."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from conftest import random_cell

from lstm_tui.core import lstm
from lstm_tui.core.lstm import GATES, LSTMCell, explain, forward
from lstm_tui.core.vocabulary import GATE_VECTOR


def notebook_loop(cell: LSTMCell, X, h0=None, c0=None, mask=None, rec="sigmoid", act="tanh"):
    """The seed notebook's loop, one gate at a time, column vectors, float64."""
    A = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
         "hard_sigmoid": lambda z: np.clip(z / 6 + 0.5, 0, 1), "relu": lambda z: np.maximum(z, 0)}
    sig, tanh = A[rec], A[act]
    H = cell.units
    W = {g: np.asarray(cell.W[g], np.float64) for g in GATES}
    U = {g: np.asarray(cell.U[g], np.float64) for g in GATES}
    b = {g: np.asarray(cell.b[g], np.float64).reshape(H, 1) for g in GATES}
    h_prev = np.zeros((H, 1)) if h0 is None else np.asarray(h0, np.float64).reshape(H, 1)
    c_prev = np.zeros((H, 1)) if c0 is None else np.asarray(c0, np.float64).reshape(H, 1)
    rows = {k: [] for k in ("f", "i", "c_hat", "c", "o", "h")}
    for t in range(len(X)):
        x_t = np.asarray(X[t], np.float64).reshape(-1, 1)
        f_t = sig(W["f"] @ x_t + U["f"] @ h_prev + b["f"])
        i_t = sig(W["i"] @ x_t + U["i"] @ h_prev + b["i"])
        c_hat = tanh(W["c"] @ x_t + U["c"] @ h_prev + b["c"])
        c_t = f_t * c_prev + i_t * c_hat
        o_t = sig(W["o"] @ x_t + U["o"] @ h_prev + b["o"])
        h_t = o_t * tanh(c_t)
        if mask is not None and not mask[t]:
            c_t, h_t = c_prev, h_prev
        for k, v in zip(rows, (f_t, i_t, c_hat, c_t, o_t, h_t)):
            rows[k].append(v.ravel())
        h_prev, c_prev = h_t, c_t
    return {k: np.array(v) for k, v in rows.items()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("with_mask", [False, True])
@pytest.mark.parametrize("seed,T,D,H", [(0, 1, 1, 1), (1, 7, 5, 3), (2, 20, 26, 32)])
def test_forward_matches_notebook_loop(dtype, with_state, with_mask, seed, T, D, H):
    rng = np.random.default_rng(seed)
    cell = random_cell(rng, H, D)
    X = rng.normal(size=(T, D))
    h0 = rng.normal(size=H) if with_state else None
    c0 = rng.normal(size=H) if with_state else None
    mask = rng.random(T) > 0.3 if with_mask else None
    rec = forward(cell, X.astype(dtype), h0=h0, c0=c0, mask=mask, dtype=dtype)
    ref = notebook_loop(cell, X, h0, c0, mask)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for k, v in ref.items():
        got = getattr(rec, k)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, v, atol=tol, rtol=0, err_msg=k)
    np.testing.assert_array_equal(rec.x, X.astype(dtype))
    if mask is not None and not mask[0]:
        np.testing.assert_array_equal(rec.h[0], np.zeros(H) if h0 is None else h0.astype(dtype))


@pytest.mark.parametrize("rec_act", ["hard_sigmoid", "relu"])
def test_forward_other_activations(rec_act):
    rng = np.random.default_rng(5)
    cell = random_cell(rng, 3, 2, recurrent_activation=rec_act, activation="relu")
    X = rng.normal(size=(6, 2))
    got = cell.forward(X)
    ref = notebook_loop(cell, X, rec=rec_act, act="relu")
    np.testing.assert_allclose(got.h, ref["h"], atol=1e-12)
    np.testing.assert_allclose(got.f, ref["f"], atol=1e-12)


def test_activations_keras3_definitions():
    z = np.array([-7.0, -3.0, -1.0, 0.0, 0.5, 3.0, 7.0])
    a = lstm.ACTIVATIONS
    # Keras 3 hard_sigmoid: clip(x/6 + 1/2, 0, 1), not Keras 2's 0.2x + 0.5
    np.testing.assert_allclose(a["hard_sigmoid"](z), [0, 0, 1 / 3, 0.5, 0.5 + 0.5 / 6, 1, 1])
    np.testing.assert_allclose(a["sigmoid"](z), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(a["softsign"](z), z / (1 + abs(z)))
    np.testing.assert_allclose(a["relu"](z), np.maximum(z, 0))
    np.testing.assert_allclose(a["linear"](z), z)
    np.testing.assert_allclose(a["elu"](z), np.where(z > 0, z, np.exp(z) - 1))
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    np.testing.assert_allclose(a["selu"](z), scale * np.where(z > 0, z, alpha * (np.exp(z) - 1)))
    np.testing.assert_allclose(a["gelu"](z), [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in z])
    np.testing.assert_allclose(a["swish"](z), z / (1 + np.exp(-z)))
    assert a["sigmoid"](np.array([-1000.0]))[0] == 0.0  # no overflow warning turned error
    with pytest.raises(ValueError, match="unknown activation 'nope'"):
        lstm.activation("nope")


def test_keras_and_torch_layouts():
    rng = np.random.default_rng(3)
    H, D = 3, 2
    kernel = rng.normal(size=(D, 4 * H))
    recurrent = rng.normal(size=(H, 4 * H))
    bias = rng.normal(size=4 * H)
    cell = LSTMCell.from_keras(kernel, recurrent, bias)
    # Keras blocks are i, f, c, o and transposed
    np.testing.assert_array_equal(cell.W["i"], kernel[:, 0:H].T)
    np.testing.assert_array_equal(cell.W["f"], kernel[:, H:2 * H].T)
    np.testing.assert_array_equal(cell.U["c"], recurrent[:, 2 * H:3 * H].T)
    np.testing.assert_array_equal(cell.b["o"], bias[3 * H:])
    # PyTorch: (4H, D) blocks i, f, g, o, two biases added
    w_ih, w_hh = rng.normal(size=(4 * H, D)), rng.normal(size=(4 * H, H))
    b_ih, b_hh = rng.normal(size=4 * H), rng.normal(size=4 * H)
    tcell = LSTMCell.from_torch(w_ih, w_hh, b_ih, b_hh)
    np.testing.assert_array_equal(tcell.W["f"], w_ih[H:2 * H])
    np.testing.assert_array_equal(tcell.U["c"], w_hh[2 * H:3 * H])
    np.testing.assert_allclose(tcell.b["i"], b_ih[:H] + b_hh[:H])
    # no bias: zeros
    np.testing.assert_array_equal(LSTMCell.from_keras(kernel, recurrent).b["f"], np.zeros(H))
    with pytest.raises(ValueError, match="expected"):
        LSTMCell.from_keras(kernel[:, :5], recurrent)



def test_explain_matches_recording():
    rng = np.random.default_rng(11)
    cell = random_cell(rng, 4, 3)
    X = rng.normal(size=(6, 3))
    rec = cell.forward(X, h0=rng.normal(size=4), c0=rng.normal(size=4))
    for t in range(6):
        for u in range(4):
            e = explain(rec, t, u, cell=cell)
            h_prev = rec.h[t - 1] if t else rec.h0
            c_prev = rec.c[t - 1] if t else rec.c0
            for g, v in (("f", "f"), ("i", "i"), ("c", "c_hat"), ("o", "o")):
                terms = e.gates[g]
                assert terms.wx == pytest.approx(cell.W[g][u] @ X[t])
                assert terms.uh == pytest.approx(cell.U[g][u] @ h_prev)
                assert terms.b == cell.b[g][u]
                assert terms.pre == pytest.approx(terms.wx + terms.uh + terms.b)
                assert terms.value == pytest.approx(getattr(rec, v)[t, u], abs=1e-12)
                assert terms.recorded == getattr(rec, v)[t, u]
            assert e.c_prev == c_prev[u]
            assert e.keep == pytest.approx(rec.f[t, u] * c_prev[u])
            assert e.write == pytest.approx(rec.i[t, u] * rec.c_hat[t, u])
            assert e.c == pytest.approx(rec.c[t, u], abs=1e-12)
            assert e.h == pytest.approx(rec.h[t, u], abs=1e-12)
            assert e.act_c == pytest.approx(np.tanh(rec.c[t, u]))
            # D = 3 ≤ EVERY_TERM: every input term, in index order.
            listed = e.gates["f"].x_terms.listed()
            assert [j for j, _ in listed.terms] == [0, 1, 2] and listed.rest is None


def test_explain_without_weights_and_bounds():
    rng = np.random.default_rng(1)
    cell = random_cell(rng, 2, 2)
    rec = cell.forward(rng.normal(size=(3, 2)), mask=np.array([True, False, True]))
    e = explain(rec, 1, 0)
    assert e.gates is None and e.masked
    assert e.c_recorded == rec.c[0, 0]  # masked step carried c over
    with pytest.raises(IndexError):
        explain(rec, 3, 0)
    with pytest.raises(IndexError):
        explain(rec, 0, 2)


def test_nan_propagates_without_error():
    rng = np.random.default_rng(2)
    cell = random_cell(rng, 2, 2)
    X = rng.normal(size=(4, 2))
    X[1, 0] = np.nan
    rec = cell.forward(X)
    assert not np.isnan(rec.h[0]).any()
    assert np.isnan(rec.h[1:]).all()
    e = explain(rec, 2, 1, cell=cell)
    assert math.isnan(e.h)


# -- explain's products, sums and splits ------------------------------------------


def _ulp_sum(*values: float) -> float:
    return sum(math.ulp(v) for v in values)


@pytest.mark.parametrize("H,D,dtype", [(2, 4, np.float64), (10, 12, np.float32), (40, 30, np.float32)])
def test_explain_products_are_the_forward_pass_term_by_term(H, D, dtype):
    """Every product W_g[u,j]·x_t[j] and U_g[u,j]·h_{t-1}[j] against plain
    NumPy; the sums of all products give the pre-activation within the
    core's rounding bound (step_check), and the gate the trace recorded."""
    from lstm_tui.core.lstm import step_check

    rng = np.random.default_rng(H * D)
    cell = random_cell(rng, H, D, dtype)
    X = rng.normal(size=(4, D)).astype(dtype)
    rec = cell.forward(X, dtype=dtype)
    h_prev = np.vstack([rec.h0[None], rec.h[:-1]])
    c_prev = np.vstack([rec.c0[None], rec.c[:-1]])
    check = step_check(cell, X, h_prev, c_prev, stored=dtype)
    for t in range(4):
        for u in range(H):
            e = explain(rec, t, u, cell=cell)
            for g in GATES:
                terms = e.gates[g]
                W = np.asarray(cell.W[g][u], np.float64)
                U = np.asarray(cell.U[g][u], np.float64)
                np.testing.assert_array_equal(terms.x_terms.weights, W)
                np.testing.assert_array_equal(terms.x_terms.operands, np.asarray(X[t], np.float64))
                np.testing.assert_array_equal(terms.x_terms.products, W * np.asarray(X[t], np.float64))
                np.testing.assert_array_equal(terms.h_terms.products, U * np.asarray(h_prev[t], np.float64))
                # The totals are the exact sums of the listed products.
                assert terms.wx == terms.x_terms.total == math.fsum(terms.x_terms.products)
                assert terms.uh == terms.h_terms.total == math.fsum(terms.h_terms.products)
                assert terms.pre == math.fsum([terms.wx, terms.uh, terms.b])
                assert abs(terms.pre - check.pre[g][t, u]) <= check.pre_tol[g][t, u]
                vector = GATE_VECTOR[g]
                assert abs(terms.value - getattr(rec, vector)[t, u]) <= check.tol[vector][t, u]


@pytest.mark.parametrize("n", [1, 8, 9, 33])
@pytest.mark.parametrize("top", [1, 3, 5])
def test_listed_terms_add_up_to_the_total(n, top):
    """At most EVERY_TERM products: all of them, in index order; more: the
    ``top`` largest by |product| and the rest, whose sum is exactly that
    of the products left out, so the list adds up to the total (exact up
    to the last rounding of each sum)."""
    from fractions import Fraction

    from lstm_tui.core.lstm import EVERY_TERM, Products

    rng = np.random.default_rng(n * 10 + top)
    p = Products.of(rng.normal(size=n), rng.normal(size=n) * 10.0 ** rng.integers(-3, 3, n))
    listed = p.listed(top)
    assert listed.total == p.total == math.fsum(p.products)
    if n <= EVERY_TERM:
        assert [j for j, _ in listed.terms] == list(range(n)) and listed.rest is None
        assert listed.rest_count == 0
        return
    shown = [j for j, _ in listed.terms]
    assert len(shown) == top and listed.rest_count == n - top
    sizes = np.abs(p.products)
    assert sizes[shown].min() >= np.delete(sizes, shown).max()
    assert [v for _, v in listed.terms] == [p.products[j] for j in shown]
    others = np.delete(p.products, shown)
    assert listed.rest == math.fsum(others)
    exact = sum(Fraction(v) for _, v in listed.terms) + Fraction(listed.rest)
    assert abs(exact - Fraction(listed.total)) <= Fraction(_ulp_sum(listed.rest, listed.total)) / 2


def test_products_with_nan_and_overflow():
    from lstm_tui.core.lstm import Products, exact_sum

    p = Products.of(np.array([1.0, 2.0, 3.0]), np.array([1.0, np.nan, 1.0]))
    assert math.isnan(p.total) and p.by_size()[0] == 1  # NaN is listed first
    assert exact_sum([1e308, 1e308]) == np.inf
    assert math.isnan(exact_sum([np.inf, -np.inf]))


def test_explain_gate_wide_activation_uses_the_whole_gate():
    """softmax acts along a gate's units: one unit's value needs them all."""
    rng = np.random.default_rng(5)
    cell = random_cell(rng, 3, 2, recurrent_activation="softmax")
    rec = cell.forward(rng.normal(size=(2, 2)))
    e = explain(rec, 1, 2, cell=cell)
    assert e.gates["f"].value == pytest.approx(rec.f[1, 2], abs=1e-12)
    assert e.recurrent_activation == "softmax"


def test_shown_arithmetic():
    from lstm_tui.core.shown import adds_up, last_place, maps_to, multiplies_to

    assert not adds_up(["-1.0705", "-0.0710", "0.0000"], "-1.1414")
    assert adds_up(["-1.0705", "-0.0710", "0.0000"], "-1.1415")
    assert adds_up(["NaN", "1.0000"], "NaN")
    assert multiplies_to("0.2421", "-0.0355", "-0.0086")
    assert not multiplies_to("0.6424", "0.2776", "0.1784")
    assert maps_to("sigmoid", "-1.1414", "0.2421")
    assert not maps_to("sigmoid", "-1.1414", "0.2420")
    assert maps_to("hard_sigmoid", "0.6000", "0.6000")
    assert last_place("1.235e+05") == 100 and last_place("-1.0705") == Decimal("0.0001")


def test_formulas_cover_every_activation():
    from lstm_tui.core.lstm import ACTIVATIONS, FORMULAS, formula

    assert set(FORMULAS) == set(ACTIVATIONS)
    assert formula("sigmoid") == "1/(1 + e^(−z))"
    assert formula("hard_sigmoid") == "clip(z/6 + 1/2, 0, 1)"
