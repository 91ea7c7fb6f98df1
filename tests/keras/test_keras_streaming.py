"""Recordings streamed to a file a chunk of steps at a time hold the same
numbers as recordings built in memory; progress and the verification
report of ``lstm-tui record``."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest

from lstm_tui import keras as kb
from lstm_tui.cli import main
from lstm_tui.core import lstm
from lstm_tui.core.trace import load

pytestmark = pytest.mark.slow


def inputs(T=30, D=4, seed=0):
    return np.random.RandomState(seed).randn(T, D).astype(np.float32)


def single(keras):
    L = keras.layers
    return keras.Sequential([keras.Input((None, 4)), L.LSTM(5, return_sequences=True, name="l"),
                             L.Dense(3, activation="softmax", name="head")])


def stacked(keras):
    L = keras.layers
    i = keras.Input((None, 4))
    a = L.LSTM(6, return_sequences=True, name="a")(i)
    b = L.LSTM(3, return_sequences=True, name="b")(a)
    return keras.Model(i, L.Dense(4, activation="softmax", name="head")(b))


def bidirectional(keras):
    L = keras.layers
    return keras.Sequential([keras.Input((None, 4)), L.Bidirectional(L.LSTM(4, return_sequences=True), name="bi"),
                             L.LSTM(3, name="top")])


def masked(keras):
    L = keras.layers
    return keras.Sequential([keras.Input((None, 4)), L.Masking(0.0), L.LSTM(5, return_sequences=True, name="m"),
                             L.Dense(3, activation="softmax", name="head")])


def backwards(keras):
    L = keras.layers
    return keras.Sequential([keras.Input((None, 4)), L.LSTM(5, go_backwards=True, return_sequences=True,
                                                           name="back")])


MODELS = [single, stacked, bidirectional, masked, backwards]


def masked_inputs(T=30):
    x = inputs(T)
    x[[3, 4, 11, 12, 13, 29]] = 0.0  # masked steps, among them the last
    return x


def assert_same_files(a, b):
    """Every member of two trace files equal bit for bit (``meta``: the
    same but for the verification figures, computed by blocks)."""
    with np.load(a, allow_pickle=False) as za, np.load(b, allow_pickle=False) as zb:
        assert sorted(za.files) == sorted(zb.files)
        for name in za.files:
            if name != "meta":
                assert za[name].dtype == zb[name].dtype, name
                np.testing.assert_array_equal(za[name], zb[name], err_msg=name)
        ma, mb = json.loads(str(za["meta"])), json.loads(str(zb["meta"]))
        assert [la["verified_by"] for la in ma["layers"]] == [lb["verified_by"] for lb in mb["layers"]]
        assert [la["name"] for la in ma["layers"]] == [lb["name"] for lb in mb["layers"]]


@pytest.mark.parametrize("make", MODELS, ids=[m.__name__ for m in MODELS])
@pytest.mark.parametrize("chunk", [1, 4, 7])
def test_a_streamed_recording_is_the_in_memory_one_bit_for_bit(keras, tmp_path, make, chunk):
    keras.utils.set_random_seed(3)
    model = make(keras)
    x = masked_inputs() if make is masked else inputs()
    whole = kb.record(model, x)
    streamed = kb.record(model, x, out=tmp_path / "s.npz", chunk=chunk)
    assert streamed.mapped and streamed.path == tmp_path / "s.npz"
    for layer in streamed.layers:
        assert layer.info["verified_by"] in ("sequence", "step")
        assert 0 <= layer.info["verified_bound_ratio"] <= 1
    assert_same_files(whole.save(tmp_path / "w.npz"), tmp_path / "s.npz")
    if make in (single, stacked, masked):
        # The head's weights are stored with its output.
        head = model.get_layer("head").get_weights()
        np.testing.assert_array_equal(streamed.readout_W, head[0].T)
        np.testing.assert_array_equal(streamed.readout_b, head[1])
        assert streamed.meta["readout"] == "head"
        assert 0 <= streamed.meta["readout_verified_bound_ratio"] <= 1


def test_blocks_of_the_projection_shorter_than_the_sequence(keras, tmp_path, monkeypatch):
    """With blocks of 64 rows (the least) over 150 steps and chunks that
    cut across them, the stream still equals the whole."""
    keras.utils.set_random_seed(4)
    model = stacked(keras)
    monkeypatch.setattr(lstm, "PROJECTION_BYTES", 1)
    x = inputs(T=150)
    whole = kb.record(model, x)
    kb.record(model, x, out=tmp_path / "s.npz", chunk=50)
    assert_same_files(whole.save(tmp_path / "w.npz"), tmp_path / "s.npz")


def test_record_text_streams_too(keras, tmp_path):
    whole = kb.record_text(kb.default_model_path(), "abcdefgh")
    streamed = kb.record_text(kb.default_model_path(), "abcdefgh", out=tmp_path / "t.npz", chunk=3)
    assert list(streamed.tokens) == list("abcdefgh")
    assert_same_files(whole.save(tmp_path / "w.npz"), tmp_path / "t.npz")


def test_progress_counts_every_step_of_every_layer(keras, tmp_path):
    keras.utils.set_random_seed(5)
    model = bidirectional(keras)
    seen = []
    kb.record(model, inputs(T=23), out=tmp_path / "p.npz", chunk=5, progress=seen.append)
    assert seen[0].stage == "capture" and seen[0].total == 23
    record = [p for p in seen if p.stage == "record"]
    names = [p.name for p in record if p.done == 0]
    assert names == [layer.name for layer in load(tmp_path / "p.npz").layers]
    for k in range(3):
        steps = [p.done for p in record if p.layer == k]
        assert steps == [0, 5, 10, 15, 20, 23]
        assert {p.layers for p in record} == {3}


def test_a_failed_recording_leaves_the_old_file(keras, tmp_path, monkeypatch):
    keras.utils.set_random_seed(6)
    model = single(keras)
    target = tmp_path / "r.npz"
    first = kb.record(model, inputs(), out=target)
    before = target.read_bytes()
    real = kb.recording._cell

    def wrong(keras, what, layer):
        cell = real(keras, what, layer)
        cell.U["f"][0, 0] += 0.05
        return cell
    monkeypatch.setattr(kb.recording, "_cell", wrong)
    with pytest.raises(kb.VerificationError, match="layer 'l': the recording differs from Keras"):
        kb.record(model, inputs(), out=target, chunk=4)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.npz"]
    assert first.steps == 30


# ------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def model_file(keras, tmp_path_factory):
    keras.utils.set_random_seed(7)
    path = tmp_path_factory.mktemp("model") / "m.keras"
    stacked(keras).save(path)
    return path


def run(capsys, *args):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return e.value.code, out, err


def test_record_says_what_was_verified(capsys, tmp_path, model_file):
    np.save(tmp_path / "x.npy", inputs(T=40))
    code, out, err = run(capsys, "record", "--model", model_file, "--input", tmp_path / "x.npy",
                         "-o", tmp_path / "r.npz")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3
    trace = load(tmp_path / "r.npz")
    for k, (line, layer) in enumerate(zip(lines, trace.layers)):
        assert line.startswith(f"layer {k} {layer.name} ({layer.units} units): verified as a sequence, "
                               "largest difference ")
        figures = re.findall(r"largest difference (\S+) \((\S+) of the rounding bound\)", line)
        # the sequence check's figures, then the step check's (run on every chunk too)
        assert len(figures) == 2 and "; step by step, largest difference " in line
        for (err_text, ratio_text), (err_key, ratio_key) in zip(
                figures, [("verified_max_abs_error", "verified_bound_ratio"),
                          ("step_max_abs_error", "step_bound_ratio")]):
            assert float(err_text) == pytest.approx(layer.info[err_key], rel=0.05, abs=1e-12)
            assert float(ratio_text) == pytest.approx(layer.info[ratio_key], rel=0.05, abs=1e-12)
            assert layer.info[ratio_key] <= 1
    assert lines[2].startswith("readout head: verified, largest difference ")
    assert "\r" not in err and "\x1b" not in err  # stderr is no terminal: no bar
    assert err == f"wrote {tmp_path / 'r.npz'}: 2 layer(s), 40 steps\n"


def test_record_json(capsys, tmp_path, model_file):
    np.save(tmp_path / "x.npy", inputs(T=12))
    code, out, _ = run(capsys, "record", "--model", model_file, "--input", tmp_path / "x.npy",
                       "-o", tmp_path / "r.npz", "--json")
    assert code == 0
    report = json.loads(out)
    trace = load(tmp_path / "r.npz")
    assert report["output"] == str(tmp_path / "r.npz") and report["steps"] == 12
    assert [e["name"] for e in report["layers"]] == ["a", "b"]
    for e, layer in zip(report["layers"], trace.layers):
        assert e["verified_by"] == layer.info["verified_by"] == "sequence"
        assert e["max_abs_error"] == layer.info["verified_max_abs_error"]
        assert 0 <= e["bound_ratio"] == layer.info["verified_bound_ratio"] <= 1
        assert e["units"] == layer.units and e["reversed"] is False
    assert report["readout"]["name"] == "head" and report["readout"]["verified"] is True
    assert report["readout"]["max_abs_error"] == trace.meta["readout_verified_max_abs_error"]


def test_the_bar_shows_on_a_terminal_unless_quiet(capsys, tmp_path, model_file, monkeypatch):
    np.save(tmp_path / "x.npy", inputs(T=12))
    monkeypatch.setattr(type(sys.stderr), "isatty", lambda self: True, raising=False)
    code, _, err = run(capsys, "record", "--model", model_file, "--input", tmp_path / "x.npy",
                       "-o", tmp_path / "r.npz")
    assert code == 0
    assert "\rlayer 2/2 b [" in err and "12/12 steps" in err
    assert err.endswith(f"\r\x1b[Kwrote {tmp_path / 'r.npz'}: 2 layer(s), 12 steps\n")  # cleared first
    code, _, err = run(capsys, "record", "--model", model_file, "--input", tmp_path / "x.npy",
                       "-o", tmp_path / "r.npz", "--force", "--quiet")
    assert code == 0
    assert err == f"wrote {tmp_path / 'r.npz'}: 2 layer(s), 12 steps\n"
