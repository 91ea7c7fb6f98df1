"""The model panel's fast path: next-letter queries answered in NumPy.

The weights come from the model file itself (``weights.read_model``: no
TensorFlow, so the light install answers queries too). A model that reader
does not read (an Embedding, a Bidirectional, a functional model, ...) is
loaded through Keras instead when TensorFlow is installed, checked, recorded
once on the alphabet to verify the NumPy recomputation against Keras, and
its weights kept. Either way every query is a NumPy forward pass.

This module imports Keras and TensorFlow only inside functions, and only
for models the reader does not read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.codec import ALPHABET, decode, encode
from ..core.lstm import Recording, readout_check
from ..core.trace import Trace
from .errors import BridgeError, NeedsTensorFlow
from .loading import default_model_path, load_model
from .quiet import INSTALL_KERAS, _keras, tensorflow_available
from .recording import (
    _agreement,
    _encode,
    _first,
    _is_lstm_like,
    _record_model,
    _walk,
)
from .weights import ModelWeights, ReadDense, ReadLSTM, Unreadable, read_model, stored_vocab


@dataclass(eq=False)
class Predictor:
    """Next-letter queries answered in NumPy.

    ``load`` reads the model's weights from its file, or (for a model the
    reader does not read, with TensorFlow installed) loads it through Keras
    once and verifies the NumPy recomputation against it. The model must be
    LSTM layers running forwards then a Dense softmax head, over the
    letters. Every query is a NumPy forward pass, no Keras call: fast enough
    for every keystroke.

    Empty text raises ``BridgeError`` ("type at least one letter"): the model
    was trained on windows of letters and has nothing to say before the first.

    The vocabulary (one character per class, read and predicted) is the one
    stored with the model (``weights.store_vocab``), else the one ``load``
    is given (the side panel gives the vocabulary of a trace recorded from
    this model), else a–z.
    """

    model: ModelWeights
    path: Path
    vocab: str = ALPHABET
    #: Where ``vocab`` came from: "model" (stored with it), "given" (the
    #: caller's, e.g. a trace's) or "default" (a–z).
    vocab_from: str = "default"
    #: How the weights were had: "file" (read without TensorFlow) or
    #: "keras" (loaded through Keras and verified against it).
    read_by: str = "file"
    verified_max_abs_error: float | None = None

    @property
    def head(self) -> ReadDense:
        assert self.model.head is not None  # ``load`` checks there is one
        return self.model.head

    @property
    def kernel(self) -> np.ndarray:
        """The head's kernel (H, V), Keras' layout."""
        return self.head.kernel

    @property
    def bias(self) -> np.ndarray:
        return self.head.bias

    @property
    def dtype(self) -> np.dtype:
        return self.model.dtype

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, vocab: str | None = None) -> Predictor:
        """The model at ``path`` (the shipped one when None). ``vocab`` is
        used when the model stores no vocabulary."""
        path = default_model_path() if path is None else Path(path)
        what = str(path)
        try:
            model = read_model(path)
        except Unreadable as e:
            if not tensorflow_available():
                raise NeedsTensorFlow(str(e), INSTALL_KERAS) from None
            return cls._through_keras(path, vocab)
        chosen, source = _vocabulary(model.vocab, vocab)
        lstms, head = model.lstms, model.head
        if head is None or not head.softmax:
            raise BridgeError(f"{what}: not a next-letter model: expected LSTM → Dense(softmax), "
                              f"found {model.shape}")
        backwards = next((ly for ly in lstms if ly.go_backwards), None)
        if backwards is not None:
            raise BridgeError(f"{what}: not a next-letter model: its LSTM {backwards.name!r} has go_backwards=True")
        _check_width(what, model.input_dim, head.kernel.shape[1], chosen, source)
        return cls(model=model, path=path, vocab=chosen, vocab_from=source)

    @classmethod
    def _through_keras(cls, path: Path, vocab: str | None = None) -> Predictor:
        """Load a model the reader does not read through Keras: check it is
        LSTM → Dense(softmax) over the letters, record it on the alphabet
        (which verifies the NumPy recomputation against Keras) and keep the
        weights."""
        what = str(path)
        _, keras = _keras()
        model = load_model(path)
        found = [ly for ly in _walk(model, set()) if not isinstance(ly, keras.layers.InputLayer)]
        shape = " → ".join(_describe(keras, ly) for ly in found) or "no layers"
        kinds = [ly for ly in found if not isinstance(ly, keras.layers.Dropout)]
        if not (len(kinds) == 2 and _is_lstm_like(keras, what, kinds[0])
                and isinstance(kinds[1], keras.layers.Dense) and _describe(keras, kinds[1]) == "Dense(softmax)"):
            raise BridgeError(f"{what}: not a next-letter model: expected LSTM → Dense(softmax), found {shape}")
        lstm = kinds[0]
        for flag in ("go_backwards", "stateful"):
            if getattr(lstm, flag, False):
                raise BridgeError(f"{what}: not a next-letter model: its LSTM {lstm.name!r} has {flag}=True")
        chosen, source = _vocabulary(stored_vocab(path), vocab)
        _check_width(what, lstm.get_weights()[0].shape[0], kinds[1].get_weights()[0].shape[1], chosen, source)
        trace, cap, head = _record_model(model, what, encode(chosen, chosen), tokens=None, verify=True, tol=None,
                                         source="", meta={})
        if head is None or len(trace.layers) != 1:
            raise BridgeError(f"{what}: not a next-letter model: its LSTM does not feed the "
                              "Dense softmax layer directly")
        # The head must be the model's output, or the NumPy path computes
        # something else than the model.
        final = _first(cap.output)
        same = np.shape(final) == np.shape(head.keras_output) and _agreement(iter([(
            final, head.keras_output, readout_check(trace.layers[0].h[-1], head.kernel, head.bias,
                                                    trace.layers[0].h.dtype)[1])]))[1] <= 1
        if not same:
            raise BridgeError(f"{what}: not a next-letter model: its output is not the Dense softmax layer's")
        layer = trace.layers[0]
        assert layer.cell is not None  # a recording stores its weights
        kernel, bias = np.asarray(head.kernel), np.asarray(head.bias)
        weights = ModelWeights(
            path=path, name=str(model.name), input_dim=layer.input_dim, dtype=np.dtype(lstm.compute_dtype),
            lstms=(ReadLSTM(layer.name, layer.cell, False, False, tuple(lstm.get_weights())),),
            head=ReadDense(str(head.layer.name), kernel, bias, "softmax", tuple(head.layer.get_weights())),
            shape=shape, vocab=chosen if source == "model" else None,
        )
        return cls(model=weights, path=path, vocab=chosen, vocab_from=source, read_by="keras",
                   verified_max_abs_error=max(layer.info.get("verified_max_abs_error", 0.0),
                                              trace.meta.get("readout_verified_max_abs_error", 0.0)))

    def _forward(self, text: str) -> list[Recording]:
        if not text:
            raise BridgeError("text: empty; type at least one letter")
        return self.model.passes(_encode(text, self.vocab))

    def probs(self, text: str) -> np.ndarray:
        """P(next letter) after ``text``, shape (V,)."""
        return self.head.apply(self._forward(text)[-1].h[-1])

    def top(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most likely next letters, best first."""
        return decode(self.probs(text), self.vocab, top=k)

    def record(self, text: str) -> Trace:
        """A live forward pass over ``text`` as a trace, laid out as
        ``record_text`` lays out a Keras recording: every LSTM layer with its
        weights, the readout at every step and the head's weights. Computed
        in NumPy from the weights ``load`` had (read from the file, or
        verified against Keras when it went through Keras)."""
        if not text:
            raise BridgeError("text: empty; type at least one letter")
        x = _encode(text, self.vocab)
        return self.model.run(x, tokens=list(text), vocab=self.vocab, source=f"live: {text}",
                              meta={"model": str(self.path), "weights_read_by": self.read_by})


def _vocabulary(stored: str | None, given: str | None) -> tuple[str, str]:
    """The vocabulary queries use, and where it came from."""
    if stored is not None:
        return stored, "model"
    if given:
        return given, "given"
    return ALPHABET, "default"


def _check_width(what: str, features: int, classes: int, vocab: str = ALPHABET, source: str = "default") -> None:
    V = len(vocab)
    if (features, classes) != (V, V):
        words = {"model": "the vocabulary stored with it", "given": "the vocabulary given"}.get(source, "the letters")
        shown = "a–z" if source == "default" else (vocab if V <= 30 else vocab[:29] + "…")
        hint = ("; a model over other letters stores them in its metadata.json ('vocab')"
                if source == "default" else "")
        raise BridgeError(f"{what}: not a next-letter model: it takes {features} features and predicts "
                          f"{classes} classes; {words} {shown} need {V} and {V}{hint}")


def _describe(keras: Any, layer: Any) -> str:
    name = type(layer).__name__
    if isinstance(layer, keras.layers.Dense):
        try:
            act = keras.activations.serialize(layer.activation)
        except Exception:
            act = "custom"
        return f"Dense({act})" if isinstance(act, str) else "Dense(custom)"
    if isinstance(layer, keras.layers.RNN) and type(layer) is keras.layers.RNN:
        return f"RNN({type(layer.cell).__name__})"
    return name
