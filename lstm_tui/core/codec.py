"""The text codec of the next-letter model: letters one-hot, probabilities
back to letters, and the notebook's data set of three-letter windows.

Shared by the seed example, the Keras bridge (recording text, training) and
the NumPy predictor, none of which it depends on.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

import numpy as np

#: The next-letter model's alphabet and window (the notebook's data set).
ALPHABET = "abcdefghijklmnopqrstuvwxyz"
WINDOW = 3


def encode(text: str, alphabet: str = ALPHABET) -> np.ndarray:
    """One-hot (T, V) float32 of ``text``; raises ValueError naming the first
    character outside ``alphabet``."""
    index = {ch: k for k, ch in enumerate(alphabet)}
    out = np.zeros((len(text), len(alphabet)), np.float32)
    for t, ch in enumerate(text):
        if ch not in index:
            raise ValueError(f"{ch!r} (position {t + 1}) is not in the vocabulary {alphabet!r}")
        out[t, index[ch]] = 1.0
    return out


def decode(probs: np.ndarray, alphabet: str = ALPHABET, top: int = 1) -> list[tuple[str, float]]:
    """The ``top`` most likely letters of a probability vector, best first."""
    probs = np.asarray(probs, np.float64)
    order = np.argsort(-np.nan_to_num(probs, nan=-np.inf), kind="stable")[:top]
    return [(alphabet[k], float(probs[k])) for k in order]


def next_letter_dataset(alphabet: str = ALPHABET, window: int = WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """The notebook's data set: every window of ``window`` letters one-hot
    (N, window, V) and the next letter one-hot (N, V); N = 23 for a–z."""
    X, y = [], []
    for k in range(len(alphabet) - window):
        X.append(encode(alphabet[k : k + window], alphabet))
        y.append(encode(alphabet[k + window], alphabet)[0])
    return np.stack(X), np.stack(y)
