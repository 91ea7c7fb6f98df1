"""Training the seed notebook's next-letter model and saving it atomically.

This module imports Keras and TensorFlow only inside functions.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..core.codec import ALPHABET, next_letter_dataset
from ..core.trace import (
    TraceError,
    write_atomically,
)
from .errors import BridgeError
from .quiet import _keras


def train(
    out_path: str | os.PathLike,
    *,
    epochs: int = 300,
    seed: int = 0,
    progress: Callable[[int, int, dict[str, float]], None] | None = None,
    overwrite: bool = True,
) -> dict[str, Any]:
    """Train the seed notebook's next-letter model and save it to
    ``out_path`` (a ``.keras`` file), atomically.

    The model is the notebook's, LSTM(32) then Dense(26, softmax), adam,
    categorical cross-entropy, on its 23 windows of three letters; the one
    change is that it takes sequences of any length (``Input((None, 26))``),
    so the debugger can run it over a whole word. ``seed`` makes the run
    reproducible. ``progress(epoch, epochs, logs)`` is called after each
    epoch, epoch counting from 1. ``overwrite=False``: never replace an
    existing file (created exclusively, as traces are). Returns the
    accuracy and loss of the saved model on the data set, and the number of
    epochs.
    """
    target = Path(out_path)
    if target.suffix != ".keras":
        raise BridgeError(f"{out_path}: a model file must end in .keras")
    if not target.parent.is_dir():
        raise BridgeError(f"{out_path}: directory {str(target.parent)!r} does not exist")
    if not isinstance(epochs, int) or epochs < 1:
        raise BridgeError(f"epochs: {epochs!r} is not a positive whole number")
    tf, keras = _keras()
    X, y = next_letter_dataset()
    keras.utils.set_random_seed(seed)
    V = len(ALPHABET)
    model = keras.Sequential(
        [
            keras.Input((None, V), name="letters"),
            keras.layers.LSTM(32, name="lstm"),
            keras.layers.Dense(V, activation="softmax", name="dense"),
        ],
        name="next_letter",
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    callbacks = []
    if progress is not None:
        report = progress

        class _Progress(keras.callbacks.Callback):  # type: ignore[name-defined]  # Keras is Any here
            def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                report(epoch + 1, epochs, {k: float(v) for k, v in (logs or {}).items()})

        callbacks.append(_Progress())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y, epochs=epochs, verbose=0, callbacks=callbacks)
    p = np.asarray(model.predict_on_batch(X), np.float64)
    accuracy = float(np.mean(p.argmax(1) == y.argmax(1)))
    loss = float(-np.mean(np.sum(y * np.log(np.clip(p, 1e-7, 1.0)), axis=1)))
    try:
        write_atomically(target, lambda fp: _save_model_to(model, fp), overwrite, "the model")
    except TraceError as e:
        raise BridgeError(str(e)) from None
    return {"accuracy": accuracy, "loss": loss, "epochs": epochs}


def _save_model_to(model: Any, fp: Any) -> None:
    """Write ``model`` as a .keras archive into the open binary file ``fp``
    (``trace.write_atomically``'s: the model is put in place only once
    complete, a killed save leaves nothing, only a regular file is
    replaced). Keras 3's saving library writes to a file object; the public
    ``model.save`` takes only a path, so where that library is not found the
    model goes through a private temporary directory first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from keras.src.saving import saving_lib  # Keras 3: any binary file object
        except ImportError:
            saving_lib = None
        if saving_lib is not None:
            saving_lib.save_model(model, fp)
            return
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            model.save(path)
            with open(path, "rb") as src:
                shutil.copyfileobj(src, fp)
