"""The core's hooks for what-if runs: ``Pass.seek``, ``Forced`` and
``softmax_head`` (debug/edit.py builds on them; tests/debug/test_edit.py
checks the edits themselves)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_cell

from lstm_tui.core.lstm import Forced, Pass, forward, projection_rows, softmax_head


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_pass_resumed_from_a_recorded_state_is_the_whole_pass_bit_for_bit(dtype):
    rng = np.random.default_rng(4)
    cell = random_cell(rng, 3, 2, dtype)
    T = projection_rows(4 * 3, dtype) + 300  # the resumed steps span two blocks of the projection
    x = rng.normal(size=(T, 2)).astype(dtype)
    whole = forward(cell, x, dtype=dtype)
    for start in (1, 17, T - 400, T - 1):
        run = Pass(cell, x, dtype=dtype)
        run.seek(start, whole.h[start - 1], whole.c[start - 1])
        rest = run.run()
        for v in ("f", "i", "c_hat", "o", "c", "h"):
            assert getattr(rest, v).tobytes() == getattr(whole, v)[start:].tobytes(), (start, v)


def test_forced_values_take_effect_where_the_cell_computes_them():
    rng = np.random.default_rng(5)
    cell = random_cell(rng, 3, 2)
    x = rng.normal(size=(6, 2))
    rec = Pass(cell, x, forced=[Forced("f", 0, 1.0, 2), Forced("c", 1, 0.0, 3, 4), Forced("h", 2, 0.5, 4, 5)]).run()
    assert (rec.f[2:, 0] == 1).all() and rec.f[1, 0] != 1
    assert rec.c[3, 1] == 0 and rec.h[3, 1] == 0  # h from the forced c: o·tanh(0)
    assert rec.c[4, 1] != 0  # set, not held
    assert rec.h[4, 2] == 0.5
    plain = forward(cell, x)
    assert np.array_equal(rec.f[:2], plain.f[:2]) and not np.array_equal(rec.h[5], plain.h[5])


def test_a_forced_value_on_a_masked_step_is_carried():
    rng = np.random.default_rng(6)
    cell = random_cell(rng, 2, 2)
    x = rng.normal(size=(4, 2))
    rec = Pass(cell, x, mask=np.array([True, False, False, True]), forced=[Forced("c", 0, 2.0, 1, 2)]).run()
    assert rec.c[1, 0] == 2 and rec.c[2, 0] == 2  # masked again: carried
    assert np.array_equal(rec.h[1], rec.h[0])  # nothing computed at a masked step


def test_forcing_what_a_layer_does_not_have_is_refused():
    cell = random_cell(np.random.default_rng(0), 2, 2)
    with pytest.raises(ValueError, match="cannot force x"):
        Pass(cell, np.zeros((3, 2)), forced=[Forced("x", 0, 1.0, 0)])
    with pytest.raises(ValueError, match=r"cannot force h\[2\]"):
        Pass(cell, np.zeros((3, 2)), forced=[Forced("h", 2, 1.0, 0)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_softmax_head_takes_rows_in_blocks_from_row_0(dtype):
    rng = np.random.default_rng(7)
    V, H = 5, 4
    W, b = rng.normal(size=(V, H)).astype(dtype), rng.normal(size=V).astype(dtype)
    rows = projection_rows(V, dtype)
    h = rng.normal(size=(rows + 10, H)).astype(dtype)
    p = softmax_head(h, W, b)
    assert p.dtype == dtype
    z = h.astype(np.float64) @ W.T.astype(np.float64) + b
    want = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(p, want / want.sum(1, keepdims=True), rtol=1e-5 if dtype == np.float32 else 1e-12)
    # A block's rows do not depend on the rows around it: the readout of a
    # run that changed only after a block starts is recomputed from there.
    assert softmax_head(h[rows:], W, b).tobytes() == p[rows:].tobytes()
