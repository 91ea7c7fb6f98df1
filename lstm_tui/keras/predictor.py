"""The model panel's fast path: next-letter queries answered in NumPy from
the weights of a model loaded (and verified) once through Keras.

This module imports Keras and TensorFlow only inside functions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.codec import ALPHABET, decode, encode
from ..core.lstm import LSTMCell, Recording, forward, readout_check
from ..core.trace import (
    Layer,
    Trace,
)
from .errors import BridgeError
from .loading import default_model_path, load_model
from .quiet import _keras
from .recording import (
    _agreement,
    _encode,
    _first,
    _is_lstm_like,
    _record_model,
    _softmax,
    _walk,
)


@dataclass(eq=False)
class Predictor:
    """Next-letter queries answered in NumPy.

    ``load`` goes through Keras once: it loads the model, checks it is a
    single-input LSTM → Dense(softmax) model over the letters, records it on
    the alphabet (which verifies the NumPy recomputation against Keras), and
    keeps the weights. Every query after that is a NumPy forward pass, no
    Keras call: fast enough for every keystroke.

    Empty text raises ``BridgeError`` ("type at least one letter"): the model
    was trained on windows of letters and has nothing to say before the first.
    """

    cell: LSTMCell
    kernel: np.ndarray  # (H, V)
    bias: np.ndarray  # (V,)
    path: Path
    vocab: str = ALPHABET
    lstm_name: str = "lstm"
    dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float32))
    verified_max_abs_error: float | None = None

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> Predictor:
        path = default_model_path() if path is None else Path(path)
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
                raise BridgeError(f"{what}: not a next-letter model: its LSTM has {flag}=True")
        V = len(ALPHABET)
        D = lstm.get_weights()[0].shape[0]
        out = kinds[1].get_weights()[0].shape[1]
        if (D, out) != (V, V):
            raise BridgeError(f"{what}: not a next-letter model: it takes {D} features and predicts "
                              f"{out} classes; the letters a–z need {V} and {V}")
        trace, cap, head = _record_model(model, what, encode(ALPHABET), tokens=None, verify=True, tol=None,
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
        return cls(
            cell=layer.cell,
            kernel=np.asarray(head.kernel),
            bias=np.asarray(head.bias),
            path=path,
            lstm_name=layer.name,
            dtype=np.dtype(lstm.compute_dtype),
            verified_max_abs_error=max(layer.info.get("verified_max_abs_error", 0.0),
                                       trace.meta.get("readout_verified_max_abs_error", 0.0)),
        )

    def _forward(self, text: str) -> Recording:
        if not text:
            raise BridgeError("text: empty; type at least one letter")
        x = _encode(text, self.vocab)
        return forward(self.cell, x, dtype=self.dtype)

    def _head(self, h: np.ndarray) -> np.ndarray:
        return _softmax(h @ self.kernel.astype(h.dtype, copy=False) + self.bias.astype(h.dtype, copy=False))

    def probs(self, text: str) -> np.ndarray:
        """P(next letter) after ``text``, shape (V,)."""
        rec = self._forward(text)
        return self._head(rec.h[-1])

    def top(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most likely next letters, best first."""
        return decode(self.probs(text), self.vocab, top=k)

    def record(self, text: str) -> Trace:
        """A live forward pass over ``text`` as a trace, with the readout at
        every step (the NumPy path, as verified against Keras at load)."""
        rec = self._forward(text)
        layer = Layer.from_recording(rec, name=self.lstm_name, cell=self.cell)
        return Trace(
            layers=[layer],
            tokens=np.array(list(text), dtype=str),
            probs=self._head(rec.h),
            vocab=np.array(list(self.vocab), dtype=str),
            source=f"live: {text}",
            meta={"model": str(self.path)},
        )


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
