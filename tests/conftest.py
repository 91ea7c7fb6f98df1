"""Shared fixtures: small deterministic traces built with the core only."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_tui.core.lstm import GATES, LSTMCell
from lstm_tui.core.trace import Layer, Trace


def random_cell(rng: np.random.Generator, H: int, D: int, dtype=np.float64, **kw) -> LSTMCell:
    return LSTMCell(
        W={g: rng.normal(0, 0.6, (H, D)).astype(dtype) for g in GATES},
        U={g: rng.normal(0, 0.6, (H, H)).astype(dtype) for g in GATES},
        b={g: rng.normal(0, 0.2, H).astype(dtype) for g in GATES},
        **kw,
    )


def random_trace(seed: int = 0, T: int = 5, D: int = 3, H: int = 4, layers: int = 1,
                 dtype=np.float64, tokens: bool = True, readout: bool = False) -> Trace:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, D)).astype(dtype)
    out = []
    for k in range(layers):
        cell = random_cell(rng, H, x.shape[1], dtype)
        rec = cell.forward(x, dtype=dtype)
        out.append(Layer.from_recording(rec, name=f"lstm_{k}", cell=cell))
        x = rec.h
    probs = vocab = None
    if readout:
        logits = rng.normal(size=(T, 3))
        probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        vocab = np.array(["a", "b", "c"])
    return Trace(layers=out, tokens=np.array([f"w{t}" for t in range(T)]) if tokens else None,
                 probs=probs, vocab=vocab, source="test")


@pytest.fixture(autouse=True)
def english_screen():
    """The screen's language is the process's (``tui.catalogue``): a test
    that speaks Portuguese (a snapshot app built with ``lang="pt"``, a
    command run with ``--lang pt``) must not leave the next test in it."""
    yield
    from lstm_tui.tui import catalogue

    catalogue.set_language("en")


@pytest.fixture(scope="module")
def keras():
    """Keras, imported quietly (the tests under tests/keras); TensorFlow is
    imported only by the tests that ask for it."""
    from lstm_tui.keras import quiet

    _, keras = quiet._keras()
    return keras


@pytest.fixture(scope="module")
def L(keras):
    """keras.layers."""
    return keras.layers


@pytest.fixture
def small_trace() -> Trace:
    return random_trace()


#: Cases run per fuzz test, printed in the terminal summary.
FUZZ_CASES: dict[str, int] = {}


def pytest_terminal_summary(terminalreporter):
    if FUZZ_CASES:
        terminalreporter.section("trace fuzzing: cases run")
        for name, n in FUZZ_CASES.items():
            terminalreporter.write_line(f"{name}: {n}")
