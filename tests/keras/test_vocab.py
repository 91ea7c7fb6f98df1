"""A vocabulary stored with a model (``metadata.json``'s "vocab") or given
by a trace recorded from it: queries read and answer in it. No TensorFlow:
the shipped model's weights are read in NumPy."""

from __future__ import annotations

import json
import shutil
import string
import zipfile

import numpy as np
import pytest

from lstm_tui import keras as kb
from lstm_tui.core.codec import ALPHABET
from lstm_tui.keras.weights import METADATA_MEMBER, read_model, store_vocab, stored_vocab

UPPER = string.ascii_uppercase


@pytest.fixture
def model_copy(tmp_path):
    path = tmp_path / "upper.keras"
    shutil.copy(kb.default_model_path(), path)
    return path


def test_the_shipped_model_stores_none_and_reads_a_to_z():
    p = kb.Predictor.load()
    assert (p.vocab, p.vocab_from) == (ALPHABET, "default")
    assert stored_vocab(kb.default_model_path()) is None


def test_a_stored_vocabulary_is_read_and_answers_in_its_letters(model_copy):
    store_vocab(model_copy, UPPER)
    with zipfile.ZipFile(model_copy) as zf:
        meta = json.loads(zf.read(METADATA_MEMBER))
    assert meta["vocab"] == UPPER and "keras_version" in meta  # Keras' own keys are kept
    assert read_model(model_copy).vocab == UPPER
    p = kb.Predictor.load(model_copy, vocab="ignored: the model's own comes first")
    assert (p.vocab, p.vocab_from) == (UPPER, "model")
    shipped = kb.Predictor.load()
    # The same weights: the same numbers, in the other letters.
    assert p.top("DEF", 3) == [(ch.upper(), q) for ch, q in shipped.top("def", 3)]
    trace = p.record("DEF")
    assert trace.vocab.tolist() == list(UPPER) and trace.tokens.tolist() == ["D", "E", "F"]
    with pytest.raises(kb.BridgeError, match="'d' .* is not in the vocabulary"):
        p.top("def")


def test_a_given_vocabulary_is_used_when_the_model_stores_none(model_copy):
    p = kb.Predictor.load(model_copy, vocab=UPPER)
    assert (p.vocab, p.vocab_from) == (UPPER, "given")
    assert p.top("XY", 1)[0][0] == "Z"


@pytest.mark.parametrize("vocab, why", [
    ("abc", "the vocabulary given abc need 3 and 3"),
])
def test_a_vocabulary_of_the_wrong_size_names_both(model_copy, vocab, why):
    with pytest.raises(kb.BridgeError) as e:
        kb.Predictor.load(model_copy, vocab=vocab)
    assert str(e.value) == f"{model_copy}: not a next-letter model: it takes 26 features and predicts 26 classes; {why}"


@pytest.mark.parametrize("stored, why", [
    (["ab", "c"], "'vocab' must name each class with one printable character"),
    ([1, 2], "'vocab' must be a string or a list of strings"),
    ("aab", "'vocab' names 'a' twice"),
    ("a\x1bb", "'vocab' must name each class with one printable character"),
])
def test_a_bad_stored_vocabulary_is_refused_in_one_line(model_copy, tmp_path, stored, why):
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(model_copy) as src, zipfile.ZipFile(bad, "w") as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == METADATA_MEMBER:
                data = json.dumps({**json.loads(data), "vocab": stored}).encode()
            out.writestr(info, data)
    with pytest.raises(kb.BridgeError) as e:
        kb.Predictor.load(bad)
    assert str(e.value).startswith(f"{bad}: {METADATA_MEMBER}: {why}")


def test_a_stored_vocabulary_of_the_wrong_size_is_refused(model_copy):
    store_vocab(model_copy, "xyz")
    with pytest.raises(kb.BridgeError, match="the vocabulary stored with it xyz need 3 and 3"):
        kb.Predictor.load(model_copy)


def test_store_vocab_refuses_repeated_letters_and_leaves_the_model(model_copy):
    before = model_copy.read_bytes()
    with pytest.raises(kb.BridgeError, match="names each class once"):
        store_vocab(model_copy, "aa")
    assert model_copy.read_bytes() == before
    assert not list(model_copy.parent.glob(".*vocab-tmp"))


def test_the_weights_are_the_same_after_storing(model_copy):
    before = read_model(model_copy).get_weights()
    store_vocab(model_copy, UPPER)
    after = read_model(model_copy).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
