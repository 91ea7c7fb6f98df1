"""The Keras bridge: every supported LSTM configuration recorded and compared
with Keras' own numbers, the refusals, safe loading, the shipped model and
trace, training and the NumPy predictor.

All models are small (a few units, T <= 6) and seeded; Keras is imported once
for the module. Reference values come from Keras itself (``model(x)`` or
``predict_on_batch``), independently of the bridge's own verification.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lstm_tui import keras as kb
from lstm_tui.core.bounds import rounding_bounds
from lstm_tui.core.codec import ALPHABET, encode, next_letter_dataset
from lstm_tui.core.lstm import ACTIVATIONS, GATES, readout_check
from lstm_tui.core.numeric import abs_difference, beyond, roundoff
from lstm_tui.core.trace import load as load_trace
from lstm_tui.keras import loading as kb_loading
from lstm_tui.keras import recording as kb_record

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def run(model, x):
    """Keras' own output for one sequence (eager call, batch of one)."""
    out = model(np.asarray(x)[None], training=False)
    if isinstance(out, (list, tuple)):
        return [np.asarray(o)[0] for o in out]
    return np.asarray(out)[0]


def inputs(T=6, D=4, seed=0):
    return np.random.RandomState(seed).randn(T, D).astype(np.float32)


def assert_verified(trace):
    """Every layer agreed with Keras within the core's rounding bound."""
    for layer in trace.layers:
        assert layer.info["verified_by"] in ("sequence", "step"), layer.name
        assert 0 <= layer.info["verified_bound_ratio"] <= 1, (layer.name, layer.info)
        assert layer.info["verified_max_abs_error"] >= 0


# Comparisons with Keras' own numbers follow float arithmetic: the bound of
# each value is the core's rounding bound, scaled to the terms that produced
# it (check.rounding_bounds), for two whole passes over the sequence.


def assert_within(actual, expected, bound, what=""):
    err = abs_difference(actual, expected)
    bound = np.broadcast_to(np.asarray(bound, np.float64), err.shape)
    bad = beyond(err, bound)
    assert not bad.any(), f"{what}: |difference| {err[bad][:4]} beyond its bound {bound[bad][:4]}"


def assert_steps_match_keras(layer, keras_layer):
    """Keras' own cell, fed each recorded x_t, h_{t-1} and c_{t-1}, gives the
    recorded h_t and c_t, within the bound of two computations of one step."""
    h_prev = np.vstack([layer.h0[None], layer.h[:-1]])
    c_prev = np.vstack([layer.c0[None], layer.c[:-1]])
    _, (h, c) = keras_layer.cell(layer.x, [h_prev, c_prev], training=False)
    bounds = rounding_bounds(layer)
    assert_within(layer.h, np.asarray(h), bounds["h"], f"{layer.name} h")
    assert_within(layer.c, np.asarray(c), bounds["c"], f"{layer.name} c")


def h_bound(layer, depth=0):
    """How far two correct float passes may put each h of ``layer`` apart."""
    return rounding_bounds(layer, free_running=True, depth=depth)["h"]


def assert_h(layer, expected, rows=slice(None), depth=0):
    """``layer``'s recorded h (at ``rows``) is Keras' own ``expected``."""
    assert_within(layer.h[rows], expected, h_bound(layer, depth)[rows], layer.name)


def assert_probs(trace, expected, dense, rows=slice(None), depth=0):
    """The trace's readout (at ``rows``) is what Keras' ``dense`` head gave:
    within the head's own rounding plus what the drift of h can move."""
    last = trace.layers[-1]
    w = dense.get_weights()
    K, b = w[0], (w[1] if len(w) > 1 else np.zeros(w[0].shape[1], w[0].dtype))
    p, tol = readout_check(last.h[rows], K, b, last.h.dtype)
    drift = h_bound(last, depth)[rows] @ np.abs(K)
    bound = 2 * tol + p * (drift + drift.max(axis=-1, keepdims=True))
    assert_within(trace.probs[rows], expected, bound, "readout")


# --------------------------------------------------------------------------
# Import hygiene and quiet start-up
# --------------------------------------------------------------------------


def test_import_is_lazy_and_tensorflow_is_quiet(tmp_path):
    """Importing the bridge imports no TensorFlow, nor does querying the
    shipped model (its weights are read from its file); recording through
    Keras does, and prints nothing on stderr (no C++ log lines, no progress
    bars)."""
    code = (
        "import sys\n"
        "import lstm_tui.keras as kb\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported at load'\n"
        "path = kb.default_model_path()\n"
        "assert 'tensorflow' not in sys.modules, 'default_model_path imported TF'\n"
        "p = kb.Predictor.load()\n"
        "assert 'tensorflow' not in sys.modules, 'the shipped model needs no TensorFlow'\n"
        "print(p.top('def', 1)[0][0])\n"
        "t = kb.record_text(path, 'def')\n"
        "assert 'tensorflow' in sys.modules\n"
        "print(t.vocab[t.probs[-1].argmax()])\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "g\ng\n"
    assert proc.stderr == ""


# --------------------------------------------------------------------------
# The shipped model and trace
# --------------------------------------------------------------------------


def test_default_model_path_is_package_data():
    path = kb.default_model_path()
    assert path.name == "next_letter.keras"
    assert path.parent.name == "models" and path.parent.parent.name == "lstm_tui"
    assert path.is_file()


def test_shipped_model_gets_every_window_right(keras):
    model = kb.load_model(kb.default_model_path())
    X, y = next_letter_dataset()
    assert X.shape == (23, 3, 26)
    p = model.predict_on_batch(X)
    assert (p.argmax(1) == y.argmax(1)).all()
    predictor = kb.Predictor.load()
    assert [predictor.top(ALPHABET[k : k + 3], 1)[0][0] for k in range(23)] == list(ALPHABET[3:])
    best, prob = predictor.top("def", 1)[0]
    assert best == "g" and prob > 0.5


def test_shipped_model_is_the_seed_notebooks(keras):
    model = kb.load_model(kb.default_model_path())
    kinds = [type(ly).__name__ for ly in model.layers]
    assert kinds == ["LSTM", "Dense"]
    lstm, dense = model.layers
    assert lstm.units == 32 and not lstm.return_sequences
    assert dense.units == 26 and keras.activations.serialize(dense.activation) == "softmax"


@pytest.mark.parametrize("where", ["lstm_tui/traces/next_letter.npz", "traces/next_letter.npz"])
def test_shipped_trace_is_a_fresh_recording(where):
    """The bundled trace is what ``make_default_trace`` records today: the
    same weights bit for bit, the same values within the rounding of two
    float32 passes (another machine's BLAS may round differently)."""
    shipped = load_trace(REPO / where)
    fresh = kb.make_default_trace()
    assert shipped.source == fresh.source == kb.DEFAULT_TRACE_SOURCE
    a, b = shipped.meta_dict(), fresh.meta_dict()
    a.pop("created"), b.pop("created")
    assert _meta_close(a, b), (a, b)
    assert list(shipped.tokens) == list(kb.DEFAULT_TRACE_TEXT) == ["d", "e", "f"]
    assert list(shipped.vocab) == list(ALPHABET)
    for s, f in zip(shipped.layers, fresh.layers, strict=True):
        bounds = rounding_bounds(f, free_running=True)
        for v in ("x", "f", "i", "c_hat", "c", "o", "h"):
            assert_within(s.vector(v), f.vector(v), bounds[v], v)
        np.testing.assert_array_equal(s.h0, f.h0)
        for g in GATES:
            np.testing.assert_array_equal(s.cell.W[g], f.cell.W[g])
            np.testing.assert_array_equal(s.cell.U[g], f.cell.U[g])
            np.testing.assert_array_equal(s.cell.b[g], f.cell.b[g])
    head = kb.load_model(kb.default_model_path()).layers[-1]
    assert_probs(shipped, fresh.probs, head)
    # 'def' is one of the windows the model was trained on: next is 'g'.
    assert shipped.vocab[shipped.probs[2].argmax()] == "g"


def _meta_close(a, b):
    """Equal JSON metadata; floats (the verification figures: differences
    of the order of float32 rounding) within 100 float32 roundoffs."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_meta_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_meta_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) <= 100 * roundoff(np.float32)
    return a == b


# --------------------------------------------------------------------------
# Recording: layouts of models
# --------------------------------------------------------------------------


def test_sequential_with_softmax_head(keras, L):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((None, 5)), L.LSTM(4, name="enc"),
                              L.Dense(26, activation="softmax", name="head")], name="seq")
    x = inputs(D=5)
    trace = kb.record(model, x)
    assert [ly.name for ly in trace.layers] == ["enc"]
    layer = trace.layers[0]
    np.testing.assert_array_equal(layer.x, x)
    assert layer.h.dtype == np.float32 and layer.h.shape == (6, 4)
    assert not layer.reversed and layer.mask is None
    np.testing.assert_array_equal(layer.h0, 0)
    assert_verified(trace)
    # The readout: the head applied to h at every step; its last row is the
    # model's output, compiled.
    assert trace.probs.shape == (6, 26)
    assert_probs(trace, model.predict_on_batch(x[None])[0], model.get_layer("head"), rows=-1)
    # Probabilities add up to 1, to the rounding of a float32 sum of 26.
    assert_within(trace.probs.sum(1), 1.0, 26 * roundoff(np.float32) * 2)
    assert list(trace.vocab) == list(ALPHABET)
    assert trace.meta["model"] == "seq" and trace.meta["readout"] == "head"
    assert trace.source == "keras: seq"
    assert layer.info["verified_by"] == "sequence"


def test_return_sequences_every_step_matches_keras(keras, L):
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((None, 4)), L.LSTM(3, return_sequences=True, name="l")])
    x = inputs()
    trace = kb.record(model, x, tokens=list("abcdef"), source="test source")
    assert_h(trace.layers[0], model.predict_on_batch(x[None])[0])
    assert list(trace.tokens) == list("abcdef")
    assert trace.source == "test source"
    assert trace.probs is None  # no head


def test_layers_run_as_graphs_kept_no_longer_than_the_layer(keras, L):
    """The capture runs each LSTM layer's call as a graph (eagerly, Keras'
    loop runs one operation at a time: seconds for a long text), traced once
    per layer and forgotten with it."""
    import gc
    import weakref

    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((None, 4)), L.LSTM(3, return_sequences=True, name="l")])
    layer = model.get_layer("l")
    first = kb.record(model, inputs(T=40))
    graph = kb_record._GRAPH_CALLS[layer]
    second = kb.record(model, inputs(T=40, seed=1))
    assert kb_record._GRAPH_CALLS[layer] is graph  # the same function, not a new trace
    assert_h(second.layers[0], model.predict_on_batch(inputs(T=40, seed=1)[None])[0])
    assert first.layers[0].h.shape == (40, 3)
    gone = weakref.ref(layer)
    del model, layer, graph, first, second
    gc.collect()
    assert gone() is None  # the cached graph did not keep the layer alive


def test_readout_with_return_sequences_and_other_vocab(keras, L):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((None, 4)), L.LSTM(3, return_sequences=True, name="l"),
                              L.Dropout(0.5), L.Dense(5, activation="softmax")])
    x = inputs()
    trace = kb.record(model, x)
    assert_probs(trace, run(model, x), model.layers[-1])
    assert list(trace.vocab) == ["0", "1", "2", "3", "4"]


def test_no_readout_when_the_head_is_not_softmax_or_not_direct(keras, L):
    keras.utils.set_random_seed(4)
    relu_head = keras.Sequential([keras.Input((None, 4)), L.LSTM(3), L.Dense(26, activation="relu")])
    assert kb.record(relu_head, inputs()).probs is None
    indirect = keras.Sequential([keras.Input((None, 4)), L.LSTM(3), L.Dense(8),
                                 L.Dense(26, activation="softmax")])
    assert kb.record(indirect, inputs()).probs is None


def test_functional_stacked(keras, L):
    keras.utils.set_random_seed(5)
    inp = keras.Input((None, 4))
    h = L.Dense(6, activation="tanh", name="proj")(inp)
    h = L.LSTM(5, return_sequences=True, name="first")(h)
    h = L.LSTM(3, name="second")(h)
    out = L.Dense(26, activation="softmax", name="head")(h)
    model = keras.Model(inp, out, name="func")
    x = inputs()
    trace = kb.record(model, x)
    first, second = trace.layers
    assert (first.name, second.name) == ("first", "second")
    # Layer 0's input is what the Dense before it computed, not the raw input.
    proj = model.get_layer("proj")
    # (the same Dense, run by Keras twice: the same numbers)
    np.testing.assert_array_equal(first.x, run(keras.Model(inp, proj.output), x))
    # Layer 1 is fed layer 0's h (as Keras computed it).
    assert_within(second.x, first.h, h_bound(first), "second.x")
    assert_probs(trace, run(model, x), model.get_layer("head"), rows=-1, depth=1)
    assert trace.meta["readout"] == "head"
    assert_verified(trace)


def test_nested_models(keras, L):
    keras.utils.set_random_seed(6)
    inner = keras.Sequential([keras.Input((None, 4)), L.LSTM(3, return_sequences=True, name="inner_lstm")],
                             name="inner")
    inp = keras.Input((None, 4))
    h = inner(inp)
    h = L.LSTM(2, name="outer_lstm")(h)
    out = L.Dense(26, activation="softmax", name="head")(h)
    model = keras.Model(inp, out)
    x = inputs()
    trace = kb.record(model, x)
    assert [ly.name for ly in trace.layers] == ["inner_lstm", "outer_lstm"]
    assert_h(trace.layers[0], run(inner, x))
    assert_probs(trace, run(model, x), model.get_layer("head"), rows=-1, depth=1)


def test_embedding_ids(keras, L):
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((None,), dtype="int32"), L.Embedding(10, 4, name="emb"),
                              L.LSTM(3, name="l")])
    ids = np.array([1, 4, 9, 2, 2])
    trace = kb.record(model, ids)
    table = model.get_layer("emb").get_weights()[0]
    np.testing.assert_array_equal(trace.layers[0].x, table[ids])
    assert_h(trace.layers[0], run(model, ids), rows=-1)
    # A batch of one is the same sequence.
    again = kb.record(model, ids[None])
    np.testing.assert_array_equal(again.layers[0].h, trace.layers[0].h)


def test_masking_layer_masked_steps_carry_the_state(keras, L):
    keras.utils.set_random_seed(8)
    model = keras.Sequential([keras.Input((None, 4)), L.Masking(0.0), L.LSTM(3, return_sequences=True, name="a"),
                              L.LSTM(2, name="b")])
    x = inputs()
    x[2] = 0
    x[5] = 0
    trace = kb.record(model, x)
    a, b = trace.layers
    expected = np.array([1, 1, 0, 1, 1, 0], bool)
    np.testing.assert_array_equal(a.mask, expected)
    np.testing.assert_array_equal(b.mask, expected)  # the mask flows on through return_sequences
    # Keras skips a masked step: h and c stay as they were.
    np.testing.assert_array_equal(a.h[2], a.h[1])
    np.testing.assert_array_equal(a.c[2], a.c[1])
    np.testing.assert_array_equal(b.h[5], b.h[4])
    # ...while the unmasked steps move.
    assert not np.allclose(a.h[3], a.h[2])
    assert_h(b, run(model, x), rows=-1, depth=1)
    # The final state of the first layer is Keras' too.
    probe = keras.Model(model.inputs[0], model.get_layer("a").output)
    seq = run(probe, x)
    assert_h(a, seq[expected], rows=expected)
    assert_verified(trace)


def test_mask_zero_leading_padding(keras, L):
    keras.utils.set_random_seed(9)
    model = keras.Sequential([keras.Input((None,), dtype="int32"), L.Embedding(10, 4, mask_zero=True),
                              L.LSTM(3, name="l")])
    ids = np.array([0, 0, 3, 5, 0, 7])
    trace = kb.record(model, ids)
    layer = trace.layers[0]
    np.testing.assert_array_equal(layer.mask, ids != 0)
    # Padded first steps leave the zero state untouched.
    np.testing.assert_array_equal(layer.h[:2], 0)
    np.testing.assert_array_equal(layer.c[:2], 0)
    assert_h(layer, run(model, ids), rows=-1)
    # The same ids without the padding give the same final state.
    plain = keras.Sequential([keras.Input((None,), dtype="int32"), model.layers[0], model.layers[1]])
    assert_h(layer, run(plain, ids[ids != 0]), rows=-1)


def test_go_backwards_is_stored_in_processing_order(keras, L):
    keras.utils.set_random_seed(10)
    model = keras.Sequential([keras.Input((None, 4)), L.LSTM(3, go_backwards=True, return_sequences=True,
                                                             name="back")])
    x = inputs()
    trace = kb.record(model, x, tokens=list("abcdef"))
    layer = trace.layers[0]
    assert layer.reversed
    assert trace.meta_dict()["layers"][0]["reversed"] is True
    np.testing.assert_array_equal(layer.x, x[::-1])
    assert layer.position(0) == 5 and trace.token(layer.position(0)) == "f"
    # Keras returns a backwards layer's outputs in processing order too.
    assert_h(layer, run(model, x))


def test_go_backwards_with_mask(keras, L):
    keras.utils.set_random_seed(11)
    model = keras.Sequential([keras.Input((None, 4)), L.Masking(), L.LSTM(3, go_backwards=True, name="back")])
    x = inputs()
    x[4:] = 0  # trailing padding: the first steps a backwards layer runs
    trace = kb.record(model, x)
    layer = trace.layers[0]
    np.testing.assert_array_equal(layer.mask, [0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(layer.h[:2], 0)
    assert_h(layer, run(model, x), rows=-1)


def test_bidirectional_halves(keras, L):
    keras.utils.set_random_seed(12)
    model = keras.Sequential([keras.Input((None, 4)), L.Bidirectional(L.LSTM(3, name="lstm"), name="bi"),
                              L.Dense(26, activation="softmax")])
    x = inputs()
    trace = kb.record(model, x)
    fwd, bwd = trace.layers
    assert (fwd.name, bwd.name) == ("forward_lstm", "backward_lstm")
    assert (fwd.reversed, bwd.reversed) == (False, True)
    # Both read the same input; the backward one in reverse.
    np.testing.assert_array_equal(fwd.x, x)
    np.testing.assert_array_equal(bwd.x, x[::-1])
    probe = keras.Model(model.inputs[0], model.get_layer("bi").output)
    out = run(probe, x)
    assert_h(fwd, out[:3], rows=-1)
    assert_h(bwd, out[3:], rows=-1)
    # The halves' step t are different positions: no single h feeds the head.
    assert trace.probs is None
    assert_verified(trace)


def test_bidirectional_sequences_masked(keras, L):
    keras.utils.set_random_seed(13)
    model = keras.Sequential([keras.Input((None, 4)), L.Masking(),
                              L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode="concat", name="bi")])
    x = inputs()
    x[0] = 0
    trace = kb.record(model, x)
    fwd, bwd = trace.layers
    np.testing.assert_array_equal(fwd.mask, [0, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(bwd.mask, [1, 1, 1, 1, 1, 0])
    out = run(model, x)  # (T, 4): forward h by position, backward h by position
    keep = fwd.mask
    assert_h(fwd, out[keep, :2], rows=keep)
    assert_h(bwd, out[::-1][keep[::-1], 2:], rows=keep[::-1])


def test_stateful_layer_records_its_state_and_keeps_it(keras, L):
    keras.utils.set_random_seed(14)
    model = keras.Sequential([keras.Input((6, 4), batch_size=1), L.LSTM(3, stateful=True, name="s")])
    x = inputs()
    model.predict_on_batch(inputs(seed=1)[None])  # move the state away from zero
    layer = model.get_layer("s")
    before = [v.numpy().copy() for v in layer.states]
    assert np.abs(before[0]).max() > 0
    trace = kb.record(model, x)
    rec = trace.layers[0]
    np.testing.assert_array_equal(rec.h0, before[0][0])
    np.testing.assert_array_equal(rec.c0, before[1][0])
    # Recording does not advance the model...
    for v, b in zip(layer.states, before):
        np.testing.assert_array_equal(v.numpy(), b)
    # ...and the model's next call is exactly what was recorded.
    assert_h(rec, model.predict_on_batch(x[None])[0], rows=-1)
    assert_verified(trace)


def test_explicit_initial_state_from_an_encoder(keras, L):
    keras.utils.set_random_seed(15)
    inp = keras.Input((None, 4))
    _, h, c = L.LSTM(3, return_state=True, name="enc")(inp)
    dec = L.LSTM(3, return_sequences=True, name="dec")(inp, initial_state=[h, c])
    model = keras.Model(inp, dec)
    x = inputs()
    enc, dec = kb.record(model, x).layers
    # The decoder starts from the encoder's final state, as Keras passed it.
    assert_within(dec.h0, enc.h[-1], h_bound(enc)[-1], "h0")
    assert_within(dec.c0, enc.c[-1], rounding_bounds(enc, free_running=True)["c"][-1], "c0")
    assert_h(dec, run(model, x), depth=1)


def test_use_bias_false_and_unit_forget_bias(keras, L):
    keras.utils.set_random_seed(16)
    model = keras.Sequential([keras.Input((None, 4)), L.LSTM(3, use_bias=False, name="nobias"),
                              L.RepeatVector(6), L.LSTM(2, unit_forget_bias=True, name="forget")])
    x = inputs()
    nobias, forget = kb.record(model, x).layers
    for g in GATES:
        np.testing.assert_array_equal(nobias.cell.b[g], 0)
    # unit_forget_bias starts the forget gate's bias at 1, the others at 0:
    # this pins the gate order of Keras' kernel (i, f, c, o).
    np.testing.assert_array_equal(forget.cell.b["f"], 1)
    for g in "ico":
        np.testing.assert_array_equal(forget.cell.b[g], 0)
    assert_h(forget, run(model, x), rows=-1, depth=1)
    # RepeatVector fed layer 1 the last h of layer 0 at every step.
    assert_within(forget.x, np.repeat(nobias.h[-1:], 6, axis=0), h_bound(nobias)[-1], "forget.x")


def test_rnn_of_lstmcell(keras, L):
    keras.utils.set_random_seed(17)
    model = keras.Sequential([keras.Input((None, 4)), L.RNN(L.LSTMCell(3), return_sequences=True, name="rnn")])
    x = inputs()
    trace = kb.record(model, x)
    assert trace.layers[0].name == "rnn"
    assert_h(trace.layers[0], run(model, x))
    assert_verified(trace)


def test_dropout_has_no_effect_at_inference(keras, L):
    keras.utils.set_random_seed(18)
    model = keras.Sequential([keras.Input((None, 4)), L.LSTM(3, dropout=0.5, recurrent_dropout=0.5, name="d")])
    x = inputs()
    trace = kb.record(model, x)
    assert_h(trace.layers[0], model.predict_on_batch(x[None])[0], rows=-1)
    assert_verified(trace)


def test_float64_model_records_in_float64(keras, L):
    keras.utils.set_random_seed(19)
    model = keras.Sequential([keras.Input((None, 4), dtype="float64"), L.LSTM(3, dtype="float64", name="d64")])
    x = inputs().astype(np.float64)
    trace = kb.record(model, x)
    layer = trace.layers[0]
    assert layer.h.dtype == np.float64
    assert_verified(trace)
    # float64's bound is float64's: about 1e-16 of the terms, not float32's 1e-7.
    assert h_bound(layer).max() < 1e-13
    assert_h(layer, run(model, x), rows=-1)


# Canonical Keras names (swish and hard_swish are aliases Keras writes as
# silu and hard_silu).
CANONICAL = sorted(set(ACTIVATIONS) - {"swish", "hard_swish"})


def test_every_builtin_activation(keras, L):
    """Each activation Keras 3 knows by name, as activation and as recurrent
    activation, recorded and verified against Keras, in one model of
    parallel branches (one Keras call for all of them)."""
    keras.utils.set_random_seed(20)
    inp = keras.Input((None, 4))
    outs = []
    n = len(CANONICAL)
    for k, act in enumerate(CANONICAL):
        rec = CANONICAL[(k + 7) % n]
        outs.append(L.LSTM(3, activation=act, recurrent_activation=rec, return_sequences=True,
                           name=f"lstm_{act}")(inp))
    model = keras.Model(inp, outs)
    x = inputs(T=5)
    trace = kb.record(model, x)
    layers = {ly.name: ly for ly in trace.layers}
    assert len(layers) == n
    assert_verified(trace)
    for k, act in enumerate(CANONICAL):
        layer = layers[f"lstm_{act}"]
        assert (layer.activation, layer.recurrent_activation) == (act, CANONICAL[(k + 7) % n])
        # Activations such as exponential amplify rounding along a free
        # pass, so each step is compared with Keras' cell fed the same state.
        assert_steps_match_keras(layer, model.get_layer(f"lstm_{act}"))


def test_unbounded_activation_verified_step_by_step(keras, L):
    """A linear LSTM with large recurrent weights grows to hundreds: float32
    rounding accumulates along the sequence, yet the recording is right, and
    the step check (Keras' cell fed the recorded state) accepts it."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((None, 4)), L.LSTM(
        4, activation="linear", recurrent_initializer=keras.initializers.RandomNormal(0, 2.0),
        return_sequences=True, name="r")])
    x = inputs(T=12, seed=1)
    trace = kb.record(model, x)
    layer = trace.layers[0]
    assert np.abs(layer.h).max() > 100
    assert_verified(trace)
    assert_steps_match_keras(layer, model.get_layer("r"))


def test_step_check_accepts_accumulated_drift_and_rejects_a_wrong_recording(keras, L, monkeypatch):
    keras.utils.set_random_seed(21)
    model = keras.Sequential([keras.Input((None, 4)), L.LSTM(3, name="l")])
    x = inputs()
    real = kb_record._Verifier._keras_sequence

    def drifted(self, a, b):  # what accumulated rounding looks like
        seq, h, c = real(self, a, b)
        return seq + 1e-3 * np.arange(a, b)[:, None], h + 5e-3, c
    monkeypatch.setattr(kb_record._Verifier, "_keras_sequence", drifted)
    layer = kb.record(model, x).layers[0]
    assert layer.info["verified_by"] == "step"
    assert layer.info["sequence_max_abs_error"] == pytest.approx(5e-3, rel=1e-2)
    assert layer.info["verified_max_abs_error"] < 1e-6
    monkeypatch.undo()

    # A wrong weight shows at a single step: rejected, unless verify=False.
    real_cell = kb_record._cell

    def wrong(keras, what, layer):
        cell = real_cell(keras, what, layer)
        cell.U["f"][0, 0] += 0.01
        return cell
    monkeypatch.setattr(kb_record, "_cell", wrong)
    with pytest.raises(kb.VerificationError, match=r"layer 'l': the recording differs from Keras"):
        kb.record(model, x)
    assert issubclass(kb.VerificationError, kb.BridgeError)
    assert (kb.VerificationError.code, kb.BridgeError.code) == (1, 2)  # the CLI's exit codes
    assert kb.record(model, x, verify=False).layers[0].info == {}


def test_nan_weights_are_recorded_not_rejected(keras, L):
    keras.utils.set_random_seed(22)
    model = keras.Sequential([keras.Input((None, 4)), L.LSTM(3, name="n")])
    w = model.layers[0].get_weights()
    w[0][0, 1] = np.nan  # kernel column of unit 1's input gate
    model.layers[0].set_weights(w)
    layer = kb.record(model, inputs()).layers[0]
    assert np.isnan(layer.i[0, 1]) and not np.isnan(layer.i[0, 0])
    assert np.isnan(layer.h).all(axis=1)[1:].all()  # it spreads through U from step 1
    assert layer.info["verified_max_abs_error"] == 0.0 or layer.info["verified_max_abs_error"] < 1e-6


def test_input_shapes_and_tokens(keras, L):
    keras.utils.set_random_seed(23)
    model = keras.Sequential([keras.Input((None, 4)), L.LSTM(3, name="l")])
    x = inputs()
    a = kb.record(model, x, verify=False)
    b = kb.record(model, x[None], verify=False)
    np.testing.assert_array_equal(a.layers[0].h, b.layers[0].h)
    with pytest.raises(kb.BridgeError, match="a batch of 2 sequences"):
        kb.record(model, np.stack([x, x]))
    with pytest.raises(kb.BridgeError, match="has 5 features per step; the model takes 4"):
        kb.record(model, np.zeros((6, 5), np.float32))
    with pytest.raises(kb.BridgeError, match="empty"):
        kb.record(model, np.zeros((0, 4), np.float32))
    with pytest.raises(kb.BridgeError, match="2 tokens for 6 steps"):
        kb.record(model, x, tokens=["a", "b"])


def test_a_trace_saves_and_loads(keras, L, tmp_path):
    keras.utils.set_random_seed(24)
    model = keras.Sequential([keras.Input((None, 26)), L.Masking(), L.LSTM(3, name="l"),
                              L.Dense(26, activation="softmax")])
    trace = kb.record_text(model, "hello")
    path = trace.save(tmp_path / "t.npz")
    back = load_trace(path)
    assert list(back.tokens) == list("hello")
    np.testing.assert_array_equal(back.layers[0].h, trace.layers[0].h)
    assert back.layers[0].info["verified_max_abs_error"] == trace.layers[0].info["verified_max_abs_error"]
    np.testing.assert_array_equal(back.probs, trace.probs)


# --------------------------------------------------------------------------
# What the bridge refuses
# --------------------------------------------------------------------------


def test_no_lstm_layer(keras, L):
    model = keras.Sequential([keras.Input((None, 4)), L.GRU(3), L.Dense(2)], name="gru_only")
    with pytest.raises(kb.BridgeError) as e:
        kb.record(model, inputs())
    assert str(e.value) == "model 'gru_only': has no LSTM layer to record (found: GRU, Dense)"


def test_mixed_precision_refused(keras, L):
    model = keras.Sequential([keras.Input((None, 4)), L.LSTM(3, dtype="mixed_float16", name="half")])
    with pytest.raises(kb.BridgeError, match=r"layer 'half' \(LSTM\) is not supported: mixed precision"):
        kb.record(model, inputs())


def test_custom_cells_and_subclasses_refused(keras, L):
    class MyCell(L.LSTMCell):
        pass

    class MyLSTM(L.LSTM):
        pass

    class Minimal(L.Layer):
        state_size = 3

        def call(self, x, states):
            return x[:, :3], [x[:, :3]]

    cases = [
        (L.RNN(MyCell(3), name="mine"), r"layer 'mine' \(RNN\) is not supported: custom cell MyCell"),
        (MyLSTM(3, name="sub"), r"layer 'sub' \(MyLSTM\) is not supported: a custom subclass of LSTM"),
        (L.RNN(Minimal(), name="min"), r"layer 'min' \(RNN\) is not supported: custom cell Minimal"),
    ]
    for layer, message in cases:
        model = keras.Sequential([keras.Input((None, 4)), layer])
        with pytest.raises(kb.BridgeError, match=message):
            kb.record(model, inputs())


def test_convlstm_refused(keras, L):
    model = keras.Sequential([keras.Input((None, 5, 2)), L.ConvLSTM1D(2, 3, name="conv")])
    with pytest.raises(kb.BridgeError, match=r"layer 'conv' \(ConvLSTM1D\) is not supported: convolutional"):
        kb.record(model, np.zeros((4, 5, 2), np.float32))


def test_shared_layer_refused(keras, L):
    lstm = L.LSTM(3, name="shared")
    inp = keras.Input((None, 4))
    model = keras.Model(inp, L.Concatenate()([lstm(inp), lstm(inp)]))
    with pytest.raises(kb.BridgeError, match="called 2 times"):
        kb.record(model, inputs())


def test_errors_are_one_line(keras, L, tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_text("not a zip\nat all\n")
    with pytest.raises(kb.BridgeError) as e:
        kb.record(bad, inputs())
    assert "\n" not in str(e.value)
    assert str(e.value) == f"{bad}: not a Keras model file (not a .keras zip archive)"


# --------------------------------------------------------------------------
# Safe loading
# --------------------------------------------------------------------------


def _lambda_model(keras, L, sentinel: Path):
    def touch(t, _path=str(sentinel)):
        open(_path, "w").close()  # the code a malicious file would run
        return t

    inp = keras.Input((3, 4))
    out = L.LSTM(2)(L.Lambda(lambda t: touch(t), name="lambda")(inp))
    return keras.Model(inp, out)


def test_lambda_layer_refused_and_nothing_runs(keras, L, tmp_path):
    sentinel = tmp_path / "ran"
    model = _lambda_model(keras, L, sentinel)
    path = tmp_path / "model.keras"
    model.save(path)
    sentinel.unlink(missing_ok=True)  # building the model ran it once, here
    with pytest.raises(kb.BridgeError) as e:
        kb.load_model(path)
    assert str(e.value).startswith(f"{path}: layer 'lambda' (Lambda) is not supported: it holds Python code")
    with pytest.raises(kb.BridgeError, match="Lambda"):
        kb.record(path, inputs(T=3))
    assert not sentinel.exists()


def test_custom_object_refused(keras, L, tmp_path):
    @keras.saving.register_keras_serializable(package="lstmtuitest")
    class Scale(L.Layer):
        def call(self, x):
            return 2 * x

    inp = keras.Input((3, 4))
    model = keras.Model(inp, L.LSTM(2)(Scale(name="scale")(inp)))
    path = tmp_path / "custom.keras"
    model.save(path)
    with pytest.raises(kb.BridgeError, match=r"layer 'scale' \(Scale\) is a custom object"):
        kb.load_model(path)


@pytest.mark.parametrize("case", ["missing", "directory", "text", "zip_without_config", "bad_json",
                                  "wrong_suffix", "truncated"])
def test_broken_files_give_one_line_errors(keras, tmp_path, case):
    path = tmp_path / "m.keras"
    if case == "directory":
        path.mkdir()
    elif case == "text":
        path.write_text("hello")
    elif case == "zip_without_config":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("other.txt", "x")
    elif case == "bad_json":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("config.json", "{not json")
    elif case == "wrong_suffix":
        path = tmp_path / "m.txt"
        path.write_text("x")
    elif case == "truncated":
        data = kb.default_model_path().read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(kb.BridgeError) as e:
        kb.load_model(path)
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    expected = {
        "missing": "no such file",
        "directory": "is a directory",
        "text": "not a .keras zip archive",
        "zip_without_config": "no config.json",
        "bad_json": "not valid JSON",
        "wrong_suffix": "not a Keras model file",
        "truncated": "not a .keras zip archive",
    }[case]
    assert expected in message


def _shipped_with(tmp_path, edit=None, name="m.keras", extra=None):
    """The shipped model's archive, its config changed by ``edit`` and
    ``extra`` members added: a small crafted model file."""
    src = zipfile.ZipFile(kb.default_model_path())
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "config.json" and edit is not None:
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            zf.writestr(info.filename, data)
        for member, data in (extra or {}).items():
            zf.writestr(member, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    return path


def _lstm_config(config):
    return next(ly for ly in config["config"]["layers"] if ly["class_name"] == "LSTM")


def test_a_config_that_declares_more_weights_than_the_file_holds_is_refused(tmp_path):
    """A 120 KB file whose config says LSTM(20000) made Keras allocate 12 GB;
    it is refused before Keras (or TensorFlow) is involved."""
    path = _shipped_with(tmp_path, lambda c: _lstm_config(c)["config"].update(units=20000))
    assert path.stat().st_size < 200_000
    with pytest.raises(kb.BridgeError) as e:
        kb.load_model(path)
    declared = 4 * 20000 * (26 + 20000 + 1) + 26 * (32 + 1)  # the LSTM, then the Dense head
    assert str(e.value) == (f"{path}: its layers declare {declared:,} weights (at least {2 * declared:,} bytes), "
                            "but the file holds 121,428 bytes of weights")
    # The shipped model's own declaration is exact: 4·32·(26+32+1) + 26·33.
    config = json.loads(zipfile.ZipFile(kb.default_model_path()).read("config.json"))
    assert kb_loading._declared_weights(config) == 8410


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    zeros = b"\0" * (128 << 20)  # deflates to about 130 KB
    path = _shipped_with(tmp_path, extra={"assets/padding.bin": zeros})
    del zeros
    assert path.stat().st_size < 1 << 20
    with pytest.raises(kb.BridgeError, match=r"its members would inflate to \d+ bytes from a file of \d+ "
                                             r"\(a zip bomb\?\)"):
        kb.load_model(path)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_special_files_are_refused_without_reading_them(tmp_path, kind):
    """A FIFO would block the first read forever; /dev/zero never ends."""
    path = tmp_path / "m.keras"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    with pytest.raises(kb.BridgeError) as e:
        kb.load_model(path)
    kind = "a FIFO" if kind == "fifo" else "a character device"
    assert str(e.value) == f"{path}: not a regular file ({kind}), so not a Keras model file"


@pytest.mark.parametrize("spelling", ["Lambda", "layers.Lambda", "keras.layers.Lambda"])
def test_every_spelling_of_the_lambda_class_is_refused(tmp_path, spelling):
    def add_lambda(config):
        config["config"]["layers"].insert(1, {"module": "keras.layers", "class_name": spelling,
                                              "config": {"name": "sneaky"}})
    path = _shipped_with(tmp_path, add_lambda)
    with pytest.raises(kb.BridgeError) as e:
        kb.load_model(path)
    assert str(e.value).startswith(f"{path}: layer 'sneaky' ({spelling}) is not supported: it holds Python code")


def test_a_valid_file_loads_uncompiled(keras, L, tmp_path):
    keras.utils.set_random_seed(25)
    model = keras.Sequential([keras.Input((None, 4)), L.LSTM(3, name="l")])
    model.compile(optimizer="adam", loss="mse")
    path = tmp_path / "ok.keras"
    model.save(path)
    loaded = kb.load_model(path)
    assert not loaded.compiled
    trace = kb.record(str(path), inputs())
    assert trace.source == "keras: ok.keras" and trace.meta["model"] == str(path)
    np.testing.assert_allclose(trace.layers[0].h[-1], run(model, inputs()), atol=1e-6)


# --------------------------------------------------------------------------
# record_text, training
# --------------------------------------------------------------------------


def test_record_text(keras):
    trace = kb.record_text(kb.default_model_path(), "def")
    assert list(trace.tokens) == ["d", "e", "f"]
    np.testing.assert_array_equal(trace.layers[0].x, encode("def"))
    assert trace.vocab[trace.probs[-1].argmax()] == "g"
    assert trace.source == "keras: next_letter.keras"
    with pytest.raises(kb.BridgeError, match=r"text 'de1': '1' \(position 3\) is not in the vocabulary"):
        kb.record_text(kb.default_model_path(), "de1")


def test_record_text_with_a_vocabulary(keras, L):
    keras.utils.set_random_seed(26)
    model = keras.Sequential([keras.Input((None, 3)), L.LSTM(2), L.Dense(3, activation="softmax")])
    trace = kb.record_text(model, "acab", vocab="abc")
    assert list(trace.vocab) == ["a", "b", "c"]
    np.testing.assert_array_equal(trace.layers[0].x, encode("acab", "abc"))


def test_train_writes_a_loadable_model(keras, tmp_path):
    seen = []
    out = tmp_path / "m.keras"
    result = kb.train(out, epochs=2, seed=3, progress=lambda e, n, logs: seen.append((e, n, sorted(logs))))
    assert set(result) == {"accuracy", "loss", "epochs"} and result["epochs"] == 2
    assert 0 <= result["accuracy"] <= 1 and result["loss"] > 0
    assert seen == [(1, 2, ["accuracy", "loss"]), (2, 2, ["accuracy", "loss"])]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]  # no temporary file left
    model = kb.load_model(out)
    assert [type(ly).__name__ for ly in model.layers] == ["LSTM", "Dense"]
    # Its loss is the cross-entropy of the saved model on the data set.
    X, y = next_letter_dataset()
    p = model.predict_on_batch(X)
    assert result["loss"] == pytest.approx(float(-np.mean(np.log(p[y.astype(bool)]))), rel=1e-4)
    assert result["accuracy"] == pytest.approx(float(np.mean(p.argmax(1) == y.argmax(1))))
    # The same seed gives the same model.
    again = tmp_path / "again.keras"
    kb.train(again, epochs=2, seed=3)
    for a, b in zip(model.get_weights(), kb.load_model(again).get_weights()):
        np.testing.assert_array_equal(a, b)


def test_train_writes_like_a_trace_is_written(keras, tmp_path):
    """Only a regular file is ever replaced, and without overwrite an
    existing file never is; nothing is left behind either way."""
    fifo = tmp_path / "fifo.keras"
    os.mkfifo(fifo)
    with pytest.raises(kb.BridgeError, match=r"fifo\.keras: exists and is a FIFO, not a regular file"):
        kb.train(fifo, epochs=1)
    taken = tmp_path / "taken.keras"
    taken.write_bytes(b"someone else's model")
    with pytest.raises(kb.BridgeError, match=r"taken\.keras: exists already"):
        kb.train(taken, epochs=1, overwrite=False)
    assert taken.read_bytes() == b"someone else's model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.keras", "taken.keras"]


def test_train_refuses_bad_targets(tmp_path):
    with pytest.raises(kb.BridgeError, match=r"must end in \.keras"):
        kb.train(tmp_path / "m.h5", epochs=1)
    with pytest.raises(kb.BridgeError, match="does not exist"):
        kb.train(tmp_path / "nope" / "m.keras", epochs=1)
    with pytest.raises(kb.BridgeError, match="not a positive whole number"):
        kb.train(tmp_path / "m.keras", epochs=0)


# --------------------------------------------------------------------------
# The predictor
# --------------------------------------------------------------------------


def assert_same_readout(predictor, trace, p):
    """``p``, the predictor's answer, is the last row of the readout of the
    trace it records (one product for a row, another for a matrix: equal to
    the head's rounding)."""
    h = trace.layers[0].h[-1]
    assert_within(trace.probs[-1], p, 2 * readout_check(h, predictor.kernel, predictor.bias, h.dtype)[1])


@pytest.fixture(scope="module")
def predictor():
    return kb.Predictor.load()


def test_predictor_equals_keras_predict(keras, predictor):
    model = kb.load_model(kb.default_model_path())
    texts = ["def", "a", "xyz", "hello", "qq", ALPHABET]
    for text in texts:
        ref = model.predict(encode(text)[None], verbose=0)[0]
        live = predictor.record(text)
        assert_same_readout(predictor, live, predictor.probs(text))
        assert_probs(live, ref, model.layers[-1], rows=-1)
    assert predictor.vocab == ALPHABET
    assert predictor.path == kb.default_model_path()
    # The shipped model's weights are read from its file, not through Keras
    # (tests/keras/test_weights.py: the same numbers as Keras').
    assert predictor.read_by == "file" and predictor.verified_max_abs_error is None


def test_predictor_top_and_record(predictor):
    top = predictor.top("def", k=3)
    assert [ch for ch, _ in top][0] == "g"
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and len(top) == 3
    p = predictor.probs("def")
    assert p.shape == (26,)
    assert_within(p.sum(), 1.0, 26 * roundoff(np.float32) * 2)
    trace = predictor.record("def")
    assert trace.source == "live: def"
    assert list(trace.tokens) == ["d", "e", "f"]
    assert_same_readout(predictor, trace, p)
    np.testing.assert_array_equal(trace.layers[0].x, encode("def"))
    # The live trace agrees with the recorded one from Keras.
    keras_trace = kb.record_text(kb.default_model_path(), "def")
    assert_h(keras_trace.layers[0], trace.layers[0].h)


def test_predictor_refuses_unknown_characters_and_empty_text(predictor):
    with pytest.raises(kb.BridgeError, match=r"'1' \(position 3\) is not in the vocabulary"):
        predictor.probs("ab1")
    with pytest.raises(kb.BridgeError, match="type at least one letter"):
        predictor.top("")


def test_predictor_refuses_other_shapes(keras, L, tmp_path):
    keras.utils.set_random_seed(27)
    cases = {
        "embedding": (keras.Sequential([keras.Input((None,), dtype="int32"), L.Embedding(26, 4), L.LSTM(3),
                                        L.Dense(26, activation="softmax")]),
                      "expected LSTM → Dense(softmax), found Embedding → LSTM → Dense(softmax)"),
        "relu": (keras.Sequential([keras.Input((None, 26)), L.LSTM(3), L.Dense(26, activation="relu")]),
                 "found LSTM → Dense(relu)"),
        "width": (keras.Sequential([keras.Input((None, 5)), L.LSTM(3), L.Dense(5, activation="softmax")]),
                  "it takes 5 features and predicts 5 classes"),
        "backwards": (keras.Sequential([keras.Input((None, 26)), L.LSTM(3, go_backwards=True),
                                        L.Dense(26, activation="softmax")]),
                      "has go_backwards=True"),
    }
    for name, (model, message) in cases.items():
        path = tmp_path / f"{name}.keras"
        model.save(path)
        with pytest.raises(kb.BridgeError) as e:
            kb.Predictor.load(path)
        assert str(e.value).startswith(f"{path}: not a next-letter model")
        assert message in str(e.value), (name, str(e.value))
