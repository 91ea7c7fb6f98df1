"""The NumPy reader of .keras files (``lstm_tui.keras.weights``): the
weights it reads are Keras' own, bit for bit, and the model it runs gives
Keras' numbers within the core's rounding rule; a damaged or crafted file
is refused in one line, a model it does not read names the layer; the
predictor reads the shipped model without Keras and falls back to Keras for
the rest.

Tests that build models with Keras are ``slow``; the refusals need no Keras.
"""

from __future__ import annotations

import json
import zipfile

import h5py
import numpy as np
import pytest
from test_keras import _lstm_config, _shipped_with, assert_h, assert_probs, assert_within, h_bound, inputs, run

from lstm_tui import keras as kb
from lstm_tui.core.codec import ALPHABET, encode
from lstm_tui.core.lstm import activation
from lstm_tui.core.numeric import activation_bound, compute_roundoff, dot_bound, roundoff
from lstm_tui.keras.weights import WEIGHTS_MEMBER


def assert_same_weights(read, model):
    """Every variable equal to Keras' ``get_weights()``: same count, order,
    shape, dtype and bits."""
    ours, theirs = read.get_weights(), model.get_weights()
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a.dtype == b.dtype and a.shape == b.shape, k
        assert np.array_equal(a, b, equal_nan=True), k


def assert_output(read, trace, model, x):
    """``read.output(x)`` is Keras' ``model(x)``: a softmax head within the
    readout's bound (``assert_probs``), any other head within its
    activation's spread over the logits' rounding plus what h's drift moves
    them, no head within h's bound."""
    expected = run(model, x)
    ours = read.output(x)
    last, depth = trace.layers[-1], len(trace.layers) - 1
    rows = slice(None) if read.lstms[-1].return_sequences else -1
    head = read.head
    if head is None:
        assert_h(last, expected, rows, depth)
        assert_within(ours, expected, h_bound(last, depth)[rows])
        return
    if head.softmax:
        assert_probs(trace, expected, model.layers[-1], rows, depth)
        assert_probs(trace, ours, model.layers[-1], rows, depth)
        return
    h = np.asarray(last.h[rows], np.float64)
    K, b = np.asarray(head.kernel, np.float64), np.asarray(head.bias, np.float64)
    u_s, u_c = roundoff(last.h.dtype), compute_roundoff(last.h.dtype)
    dz = dot_bound(np.abs(h) @ np.abs(K) + np.abs(b), K.shape[0] + 1, u_s, u_c) + h_bound(last, depth)[rows] @ np.abs(K)
    _, tol = activation_bound(activation(head.activation), h @ K + b, dz, u_c, u_s)
    assert_within(ours, expected, 2 * tol, "output")


def assert_layers(keras, read, trace, model, x):
    """Each LSTM layer's h is what Keras hands the next layer (a backwards
    layer's in the order it ran)."""
    lstms = [ly for ly in model.layers if type(ly).__name__ == "LSTM"]
    assert [ly.name for ly in lstms] == [ly.name for ly in trace.layers]
    for k, (layer, keras_layer, read_layer) in enumerate(zip(trace.layers, lstms, read.lstms)):
        assert layer.reversed == keras_layer.go_backwards
        sub = keras.Model(model.inputs[0], keras_layer.output)
        expected = np.asarray(sub(np.asarray(x)[None], training=False))[0]
        rows = slice(None) if read_layer.return_sequences else -1
        assert_h(layer, expected, rows, depth=k)


# --------------------------------------------------------------------------
# The shipped model
# --------------------------------------------------------------------------


@pytest.mark.slow
def test_the_shipped_models_weights_are_keras_own(keras):
    read = kb.read_model(kb.default_model_path())
    model = kb.load_model(kb.default_model_path())
    assert_same_weights(read, model)
    assert (read.name, read.input_dim, read.dtype, read.shape) == ("next_letter", 26, np.float32,
                                                                   "LSTM → Dense(softmax)")
    assert [ly.name for ly in read.lstms] == ["lstm"] and read.head is not None and read.head.name == "dense"
    for text in ["def", "a", "xyz", "hello", ALPHABET]:
        x = encode(text)
        trace = read.run(x, tokens=list(text), vocab=ALPHABET)
        assert_output(read, trace, model, x)
        assert_probs(trace, model.predict(x[None], verbose=0)[0], model.layers[-1], rows=-1)


def test_the_shipped_model_is_read_without_keras():
    """``read_model`` on the shipped file: its trace laid out as a Keras
    recording of it (the bundled trace), the same weights and, within the
    readout's rounding, the same readout."""
    from lstm_tui.core.lstm import GATES, readout_check
    from lstm_tui.core.trace import load

    read = kb.read_model(kb.default_model_path())
    trace = read.run(encode("def"), tokens="def", vocab=ALPHABET, source="live: def")
    bundled = load(kb.default_model_path().parents[1] / "traces" / "next_letter.npz")
    assert [ly.name for ly in trace.layers] == [ly.name for ly in bundled.layers] == ["lstm"]
    for g in GATES:
        for kind in ("W", "U", "b"):
            assert np.array_equal(getattr(trace.layers[0].cell, kind)[g], getattr(bundled.layers[0].cell, kind)[g])
    assert np.array_equal(trace.readout_W, bundled.readout_W) and np.array_equal(trace.readout_b, bundled.readout_b)
    assert list(trace.vocab) == list(bundled.vocab) and list(trace.tokens) == ["d", "e", "f"]
    assert trace.meta["readout"] == bundled.meta["readout"] == "dense"
    h = trace.layers[0].h
    assert_within(trace.probs, bundled.probs, 2 * readout_check(h, read.head.kernel, read.head.bias, h.dtype)[1]
                  + 2 * h_bound(trace.layers[0]) @ np.abs(read.head.kernel))


# --------------------------------------------------------------------------
# Models like it, built here
# --------------------------------------------------------------------------


def _models(keras, L):
    def seq(*layers, dtype="float32", D=4):
        return keras.Sequential([keras.Input((None, D), dtype=dtype), *layers])

    return {
        "stacked": lambda: seq(L.LSTM(5, return_sequences=True), L.LSTM(3), L.Dense(6, activation="softmax")),
        "three deep, every step": lambda: seq(L.LSTM(4, return_sequences=True), L.LSTM(3, return_sequences=True),
                                              L.LSTM(2, return_sequences=True), L.Dense(5, activation="softmax")),
        "go_backwards": lambda: seq(L.LSTM(4, go_backwards=True, return_sequences=True),
                                    L.Dense(5, activation="softmax")),
        "go_backwards stacked with dropout": lambda: seq(
            L.LSTM(3, go_backwards=True, return_sequences=True), L.Dropout(0.3),
            L.LSTM(2, go_backwards=True), L.Dropout(0.1), L.Dense(4, activation="softmax")),
        "forwards after backwards": lambda: seq(L.LSTM(3, go_backwards=True, return_sequences=True),
                                                L.LSTM(3), L.Dense(4, activation="softmax")),
        "other activations, no biases": lambda: seq(
            L.LSTM(4, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False),
            L.Dense(3, activation="softmax", use_bias=False)),
        "softsign and tanh head": lambda: seq(L.LSTM(4, activation="softsign", recurrent_activation="tanh"),
                                              L.Dense(3, activation="tanh")),
        "linear head over every step": lambda: seq(L.LSTM(3, return_sequences=True), L.Dense(2)),
        "no head": lambda: seq(L.LSTM(3, return_sequences=True, unit_forget_bias=False)),
        "float64": lambda: seq(L.LSTM(3, dtype="float64", return_sequences=True),
                               L.LSTM(2, dtype="float64"), L.Dense(3, activation="softmax", dtype="float64"),
                               dtype="float64"),
    }


CASES = ["stacked", "three deep, every step", "go_backwards", "go_backwards stacked with dropout",
         "forwards after backwards", "other activations, no biases", "softsign and tanh head",
         "linear head over every step", "no head", "float64"]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_a_model_is_read_as_keras_holds_it_and_runs_as_keras_runs_it(keras, L, tmp_path, case):
    keras.utils.set_random_seed(CASES.index(case) + 40)
    model = _models(keras, L)[case]()
    path = tmp_path / "m.keras"
    model.save(path)
    read = kb.read_model(path)
    assert_same_weights(read, model)
    x = inputs(T=6, D=4, seed=CASES.index(case)).astype(read.dtype)
    trace = read.run(x)
    assert trace.layers[0].h.dtype == read.dtype
    assert_layers(keras, read, trace, model, x)
    assert_output(read, trace, model, x)
    softmax = read.head is not None and read.head.softmax
    assert (trace.probs is not None) == softmax
    if softmax:
        assert np.array_equal(trace.readout_W, model.layers[-1].get_weights()[0].T)
    # A backwards layer's x is its input read from the last position.
    for k, layer in enumerate(trace.layers):
        if layer.reversed:
            fed = x if k == 0 else trace.layers[k - 1].h
            assert np.array_equal(layer.x, np.asarray(fed, read.dtype)[::-1])


@pytest.mark.slow
def test_the_predictor_reads_a_stacked_next_letter_model(keras, L, tmp_path):
    keras.utils.set_random_seed(51)
    model = keras.Sequential([keras.Input((None, 26)), L.LSTM(6, return_sequences=True), L.Dropout(0.2),
                              L.LSTM(5), L.Dense(26, activation="softmax")])
    path = tmp_path / "stacked.keras"
    model.save(path)
    predictor = kb.Predictor.load(path)
    assert predictor.read_by == "file" and predictor.verified_max_abs_error is None
    for text in ["def", "qwerty"]:
        trace = predictor.record(text)
        assert len(trace.layers) == 2 and trace.source == f"live: {text}"
        assert trace.meta["weights_read_by"] == "file"
        assert np.array_equal(trace.probs[-1], predictor.probs(text))
        assert_probs(trace, model.predict(encode(text)[None], verbose=0)[0], model.layers[-1], rows=-1, depth=1)


@pytest.mark.slow
def test_a_model_the_reader_does_not_read_goes_through_keras(keras, L, tmp_path):
    """A functional model: Keras loads it, the recording on the alphabet
    verifies it, and its answers are the reader's for the same weights."""
    keras.utils.set_random_seed(52)
    inp = keras.Input((None, 26))
    model = keras.Model(inp, L.Dense(26, activation="softmax")(L.LSTM(4)(inp)))
    path = tmp_path / "functional.keras"
    model.save(path)
    with pytest.raises(kb.Unreadable, match="a Functional model; only Sequential models are read"):
        kb.read_model(path)
    predictor = kb.Predictor.load(path)
    assert predictor.read_by == "keras"
    assert predictor.verified_max_abs_error < 100 * roundoff(np.float32)
    trace = predictor.record("def")
    assert trace.meta["weights_read_by"] == "keras"
    assert_probs(trace, model.predict(encode("def")[None], verbose=0)[0], model.layers[-1], rows=-1)


# --------------------------------------------------------------------------
# Refusals: one line naming the file, before anything is read that should not be
# --------------------------------------------------------------------------


def _rezipped(tmp_path, *, weights=None, drop=(), name="m.keras"):
    """The shipped model's archive with its weights file edited by
    ``weights(h5py.File)`` and members in ``drop`` left out."""
    src = zipfile.ZipFile(kb.default_model_path())
    h5 = tmp_path / "w.h5"
    h5.write_bytes(src.read(WEIGHTS_MEMBER))
    if weights is not None:
        with h5py.File(h5, "r+") as f:
            weights(f)
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = h5.read_bytes() if info.filename == WEIGHTS_MEMBER else src.read(info.filename)
            zf.writestr(info.filename, data)
    return path


def _replace(f, name, data):
    del f[name]
    f[name] = data


def _written(path, data):
    path.write_bytes(data)
    return path


def _edited(edit):
    return lambda tmp_path: _shipped_with(tmp_path, edit)


REFUSALS = {
    "not a zip": (lambda tmp_path: _written(tmp_path / "m.keras", b"hello"),
                  kb.BridgeError, "not a Keras model file (not a .keras zip archive)"),
    "truncated": (lambda tmp_path: _written(tmp_path / "m.keras", kb.default_model_path().read_bytes()[:60000]),
                  kb.BridgeError, "not a .keras zip archive"),
    "no weights file": (lambda tmp_path: _rezipped(tmp_path, drop=(WEIGHTS_MEMBER,)),
                        kb.BridgeError, "the archive has no model.weights.h5 (a model without weights)"),
    "weights not HDF5": (lambda tmp_path: _rezipped_bytes(tmp_path),
                         kb.BridgeError, "model.weights.h5 is not a readable weights file"),
    "wrong shape": (lambda tmp_path: _rezipped(tmp_path, weights=lambda f: _replace(
                        f, "layers/lstm/cell/vars/1", np.zeros((32, 100), np.float32))),
                    kb.BridgeError, "variable 1 of layer 'lstm' (LSTM) has shape (32, 100); its config implies "
                                    "(32, 128)"),
    "wrong type": (lambda tmp_path: _rezipped(tmp_path, weights=lambda f: _replace(
                       f, "layers/dense/vars/0", np.zeros((32, 26), np.float16))),
                   kb.BridgeError, "variable 0 of layer 'dense' (Dense) is float16; the layer computes in float32"),
    "a variable missing": (lambda tmp_path: _rezipped(tmp_path, weights=lambda f: f.__delitem__(
                               "layers/lstm/cell/vars/2")),
                           kb.BridgeError, "holds 2 variables for layer 'lstm' (LSTM); its config implies 3"),
    "a layer's weights missing": (lambda tmp_path: _rezipped(tmp_path, weights=lambda f: f.__delitem__(
                                      "layers/dense")),
                                  kb.BridgeError, "has no weights for layer 'dense' (Dense) "
                                                  "(no 'layers/dense/vars')"),
    "another layer's weights": (lambda tmp_path: _rezipped(tmp_path, weights=lambda f: f[
                                    "layers/dense/vars"].attrs.__setitem__("name", "other")),
                                kb.BridgeError, "holds the weights of 'other' where layer 'dense' (Dense)'s should be"),
    "an external link": (lambda tmp_path: _rezipped(tmp_path, weights=lambda f: (
                             f.__delitem__("layers/lstm/cell/vars/0"),
                             f.__setitem__("layers/lstm/cell/vars/0", h5py.ExternalLink("/etc/passwd", "/x")))),
                         kb.BridgeError, "reaches variable 0 of layer 'lstm' (LSTM) through a link (ExternalLink)"),
    "a soft link": (lambda tmp_path: _rezipped(tmp_path, weights=lambda f: (
                        f.__delitem__("layers/dense"), f.__setitem__("layers/dense", h5py.SoftLink("/layers/lstm")))),
                    kb.BridgeError, "reaches layer 'dense' (Dense)'s weights through a link (SoftLink)"),
    "an unknown layer": (_edited(lambda c: _lstm_config(c).update(class_name="GRU")),
                         kb.Unreadable, "layer 'lstm' (GRU) is not read without TensorFlow (the reader takes "
                                        "LSTM, Dropout and one last Dense layer)"),
    "a functional model": (_edited(lambda c: c.update(class_name="Functional")),
                           kb.Unreadable, "a Functional model; only Sequential models are read without TensorFlow"),
    "a stateful LSTM": (_edited(lambda c: _lstm_config(c)["config"].update(stateful=True)),
                        kb.Unreadable, "layer 'lstm' (LSTM) has stateful=True; not read without TensorFlow"),
    "mixed precision": (_edited(lambda c: _lstm_config(c)["config"]["dtype"]["config"].update(
                            name="mixed_float16")),
                        kb.Unreadable, "layer 'lstm' (LSTM) computes in 'mixed_float16'"),
    "an unknown activation": (_edited(lambda c: _lstm_config(c)["config"].update(activation="wobble")),
                              kb.Unreadable, "layer 'lstm' (LSTM) has activation 'wobble', not one of the built-in"),
    "units not a number": (_edited(lambda c: _lstm_config(c)["config"].update(units="32")),
                           kb.BridgeError, "layer 'lstm' (LSTM) has units='32'; expected a positive whole number"),
    "a lambda": (_edited(lambda c: c["config"]["layers"].insert(1, {"module": "keras.layers", "class_name": "Lambda",
                                                                    "config": {"name": "sneaky"}})),
                 kb.BridgeError, "layer 'sneaky' (Lambda) is not supported: it holds Python code"),
    "more weights declared than held": (_edited(lambda c: _lstm_config(c)["config"].update(units=20000)),
                                        kb.BridgeError, "but the file holds 121,428 bytes of weights"),
    "a zip bomb": (lambda tmp_path: _shipped_with(tmp_path, extra={"assets/padding.bin": b"\0" * (128 << 20)}),
                   kb.BridgeError, "(a zip bomb?)"),
    "a member twice": (lambda tmp_path: _twice(tmp_path),
                       kb.BridgeError, "the archive holds 'config.json' twice"),
    "a legacy .h5": (lambda tmp_path: _written(tmp_path / "m.h5", b"x"),
                     kb.Unreadable, "a legacy .h5 model; only .keras files are read without TensorFlow"),
}


def _rezipped_bytes(tmp_path):
    path = tmp_path / "m.keras"
    src = zipfile.ZipFile(kb.default_model_path())
    with zipfile.ZipFile(path, "w") as zf:
        for info in src.infolist():
            zf.writestr(info.filename, b"not hdf5" if info.filename == WEIGHTS_MEMBER else src.read(info.filename))
    return path


def _twice(tmp_path):
    path = _shipped_with(tmp_path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    config["config"]["layers"][1]["config"]["units"] = 7
    import warnings

    with warnings.catch_warnings(), zipfile.ZipFile(path, "a") as zf:
        warnings.simplefilter("ignore")  # "Duplicate name": the point of the test
        zf.writestr("config.json", json.dumps(config))
    return path


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_damaged_or_unread_file_is_refused_in_one_line(tmp_path, case):
    make, kind, message = REFUSALS[case]
    path = make(tmp_path)
    with pytest.raises(kb.BridgeError) as e:
        kb.read_model(path)
    text = str(e.value)
    assert type(e.value) is kind, (case, text)
    assert "\n" not in text and text.startswith(f"{path}: "), text
    assert message in text, (case, text)


@pytest.mark.parametrize("kind", ["fifo", "device", "directory", "missing"])
def test_what_is_not_a_regular_file_is_refused_without_reading_it(tmp_path, kind):
    import os

    path = tmp_path / "m.keras"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "directory":
        path.mkdir()
    with pytest.raises(kb.BridgeError) as e:
        kb.read_model(path)
    expected = {"fifo": "not a regular file (a FIFO)", "device": "not a regular file (a character device)",
                "directory": "is a directory", "missing": "no such file"}[kind]
    assert str(e.value).startswith(f"{path}: {expected}")


def test_the_predictor_refuses_what_is_not_a_next_letter_model_without_keras(tmp_path):
    """Read from the file, so no Keras: a head that is not softmax, a
    backwards LSTM, another width."""
    cases = {
        "relu": (lambda c: c["config"]["layers"][2]["config"].update(activation="relu"),
                 "expected LSTM → Dense(softmax), found LSTM → Dense(relu)"),
        "backwards": (lambda c: _lstm_config(c)["config"].update(go_backwards=True),
                      "its LSTM 'lstm' has go_backwards=True"),
    }
    for name, (edit, message) in cases.items():
        path = _shipped_with(tmp_path, edit, name=f"{name}.keras")
        with pytest.raises(kb.BridgeError) as e:
            kb.Predictor.load(path)
        assert str(e.value) == f"{path}: not a next-letter model: {message}"
