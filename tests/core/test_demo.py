"""The seed notebook's hand-made LSTM, reproduced number for number."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from lstm_tui.core import codec, demo
from lstm_tui.core.bounds import rounding_bounds
from lstm_tui.core.numeric import abs_difference, beyond
from lstm_tui.core.trace import load
from lstm_tui.debug.check import check_trace

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = (Path(__file__).parent / "data" / "seed_output_pt.txt").read_text(encoding="utf-8")


def notebook_numbers(label: str) -> list[list[float]]:
    """Every vector the notebook prints after ``label``, per step."""
    out = []
    for m in re.finditer(re.escape(label) + r"\s*\[([^\]]*)\]", NOTEBOOK):
        out.append([float(v) for v in m.group(1).split()])
    return out


@pytest.mark.parametrize("label,vector", [
    ("x_t:", "x"), ("f_t (esquece):", "f"), ("i_t (entrada):", "i"), ("ĉ_t (candidato):", "c_hat"),
    ("c_t (memória):", "c"), ("o_t (saída gate):", "o"), ("h_t (saída bloco):", "h"),
])
def test_every_printed_number_matches(label, vector):
    expected = notebook_numbers(label)
    assert len(expected) == 3
    got = demo.seed_trace().layers[0].vector(vector)
    # printed with 8 decimals: equal to all printed decimals
    np.testing.assert_array_equal(np.round(got, 8), np.array(expected))


def test_known_values_spelled_out():
    layer = demo.seed_trace().layers[0]
    assert f"{layer.f[0, 0]:.8f}" == "0.70830745"
    assert f"{layer.c[1, 0]:.8f}" == "0.43208765"
    assert f"{layer.h[2, 1]:.8f}" == "0.04849028"


def test_print_pt_is_the_notebook_line_for_line():
    lines: list[str] = []
    demo.print_steps(demo.seed_trace(), out=lambda *a: lines.append(" ".join(str(v) for v in a)), lang="pt")
    assert "\n".join(lines) + "\n" == NOTEBOOK


def test_print_en_labels():
    lines: list[str] = []
    demo.print_steps(demo.seed_trace(), out=lambda *a: lines.append(" ".join(str(v) for v in a)),
                     steps=[1])
    text = "\n".join(lines)
    assert "Step t=1" in text and "f_t (forget): [0.24205837 0.72028517]" in text
    assert "Step t=0" not in text


def test_seed_trace_stores_weights_and_checks():
    tr = demo.seed_trace()
    cell = tr.layers[0].cell
    assert cell is not None and cell.units == 2 and cell.input_dim == 4
    assert f"{cell.W['f'][0, 0]:.8f}" == "-0.25091976"  # the first glorot draw for seed 42
    assert all(np.all(cell.b[g] == 0) for g in "fico")
    report = check_trace(tr)
    assert report.mismatch is None and report.max_ratio[0] <= 1 and report.max_error[0] < 1e-12


def test_shipped_seed_demo_equals_a_fresh_recording():
    shipped = load(ROOT / "traces" / "seed_demo.npz")
    fresh = demo.seed_trace()
    assert shipped.source == fresh.source and list(shipped.tokens) == list(fresh.tokens)
    assert shipped.meta == fresh.meta
    for v in ("x", "f", "i", "c_hat", "c", "o", "h", "h0", "c0"):
        np.testing.assert_array_equal(getattr(shipped.layers[0], v), getattr(fresh.layers[0], v))
    for g in "fico":
        np.testing.assert_array_equal(shipped.layers[0].cell.W[g], fresh.layers[0].cell.W[g])
        np.testing.assert_array_equal(shipped.layers[0].cell.U[g], fresh.layers[0].cell.U[g])


def test_next_letter_dataset_and_encoding():
    X, y = codec.next_letter_dataset()
    assert X.shape == (23, 3, 26) and y.shape == (23, 26)
    assert X[3].argmax(1).tolist() == [3, 4, 5]  # 'def'
    assert y[3].argmax() == 6  # 'g'
    np.testing.assert_array_equal(codec.encode("ab"), np.eye(26, dtype=np.float32)[:2])
    with pytest.raises(ValueError, match=r"'1' \(position 2\) is not in the vocabulary"):
        codec.encode("a1")
    p = np.zeros(26)
    p[6], p[7] = 0.9, 0.1
    assert codec.decode(p, top=2) == [("g", 0.9), ("h", 0.1)]


# --------------------------------------------------------------------------
# The bundled default trace: the shipped model on one of its training windows
# --------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["lstm_tui/traces/next_letter.npz", "traces/next_letter.npz"])
def test_bundled_trace_is_a_training_window_with_right_guesses(where):
    """What a new user sees first: the model reading 'def', its top guess
    the next letter at every step, and only t = 2 (a whole window, as in
    training) marked as a step it was trained for."""
    tr = load(ROOT / where)
    assert tr.source == "keras: next_letter.keras on 'def'"
    assert list(tr.tokens) == ["d", "e", "f"] and tr.steps == 3
    best = [str(tr.vocab[k]) for k in tr.probs.argmax(axis=1)]
    assert best == ["e", "f", "g"]
    np.testing.assert_allclose(tr.probs.max(axis=1), [0.1043, 0.3394, 0.9055], atol=5e-5)
    assert tr.meta["trained_steps"] == [2]
    assert tr.meta["description"] == "Trained on 3-letter windows (abc→d … wxy→z); here it reads 'def'."
    assert tr.meta["model"] == "lstm_tui/models/next_letter.keras"
    assert check_trace(tr).mismatch is None


def test_both_copies_of_the_bundled_trace_are_the_same_file():
    assert (ROOT / "traces" / "next_letter.npz").read_bytes() == \
        (ROOT / "lstm_tui" / "traces" / "next_letter.npz").read_bytes()


def test_trained_on_and_trained_steps():
    from lstm_tui import keras as kb

    assert kb.trained_on() == "3-letter windows (abc→d … wxy→z)"
    assert kb.trained_on("abcde", 2) == "2-letter windows (ab→c … cd→e)"
    assert kb.trained_steps("def") == [2]
    assert kb.trained_steps("abc") == kb.trained_steps("wxy") == [2]
    assert kb.trained_steps("defgh") == [2]  # the first window; after it the state runs on
    assert kb.trained_steps("de") == []  # never a whole window
    assert kb.trained_steps("xyz") == []  # no letter after z to learn
    assert kb.trained_steps("dfe") == []  # not a window of the alphabet


@pytest.mark.slow
def test_make_default_trace_matches_the_bundled_files():
    pytest.importorskip("keras")
    from lstm_tui import keras as kb

    fresh = kb.make_default_trace()
    for where in ("lstm_tui/traces/next_letter.npz", "traces/next_letter.npz"):
        shipped = load(ROOT / where)
        assert shipped.source == fresh.source == kb.DEFAULT_TRACE_SOURCE
        assert list(shipped.tokens) == list(fresh.tokens) == list(kb.DEFAULT_TRACE_TEXT)
        assert shipped.meta["description"] == fresh.meta["description"]
        assert shipped.meta["trained_steps"] == fresh.meta["trained_steps"]
        # The same values within the rounding of two float32 passes (the
        # values themselves: tests/test_keras_bridge.py).
        bounds = rounding_bounds(fresh.layers[0], free_running=True)
        for v in ("x", "f", "i", "c_hat", "c", "o", "h"):
            err = abs_difference(shipped.layers[0].vector(v), fresh.layers[0].vector(v))
            assert not beyond(err, bounds[v]).any(), v
        assert shipped.vocab[shipped.probs[-1].argmax()] == fresh.vocab[fresh.probs[-1].argmax()] == "g"
