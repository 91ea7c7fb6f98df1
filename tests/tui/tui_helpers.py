"""Traces, a fake predictor and screen readers for the TUI tests.

Every trace here is built with the core (``LSTMCell.forward``) from fixed
seeds, so the numbers on screen are reproducible and small enough to reason
about; none needs TensorFlow.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from rich.console import Console
from textual.app import App

from lstm_tui.core.codec import ALPHABET, encode
from lstm_tui.core.demo import seed_trace
from lstm_tui.core.lstm import GATES, LSTMCell
from lstm_tui.core.trace import Layer, Trace

MODEL = Path(__file__).resolve().parents[2] / "lstm_tui" / "models" / "next_letter.keras"


def screen_text(app: App) -> str:
    """Everything on the terminal, as plain text (what a user reads)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    return console.export_text()


def widget_lines(widget) -> list[str]:
    """The rows a Line API widget shows right now."""
    return [widget.render_line(y).text for y in range(widget.scrollable_content_region.height)]


def _cell(rng: np.random.RandomState, units: int, inputs: int, scale: float = 0.6) -> LSTMCell:
    return LSTMCell(
        W={g: rng.uniform(-scale, scale, (units, inputs)) for g in GATES},
        U={g: rng.uniform(-scale, scale, (units, units)) for g in GATES},
        b={g: rng.uniform(-0.2, 0.2, units) for g in GATES},
    )


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def letters_trace(text: str = "abcdefgh", units: int = 8, seed: int = 1,
                  readout: bool = True, source: str | None = None) -> Trace:
    """A one-hot next-letter style trace: tokens, weights and (optionally) a
    readout over the alphabet."""
    rng = np.random.RandomState(seed)
    cell = _cell(rng, units, len(ALPHABET))
    rec = cell.forward(encode(text), dtype=np.float64)
    layer = Layer.from_recording(rec, name="lstm", cell=cell)
    probs = vocab = None
    if readout:
        V = rng.uniform(-3, 3, (units, len(ALPHABET)))
        probs = _softmax(rec.h @ V)
        vocab = np.array(list(ALPHABET))
    return Trace(layers=[layer], tokens=np.array(list(text)), probs=probs, vocab=vocab,
                 source=source or f"test: letters {text!r}")


def two_layer_trace() -> Trace:
    """Layer 0 forwards (6 units); layer 1 runs backwards (4 units, reads
    layer 0's outputs from the last position to the first)."""
    rng = np.random.RandomState(7)
    text = "abcde"
    cell0 = _cell(rng, 6, len(ALPHABET))
    rec0 = cell0.forward(encode(text), dtype=np.float64)
    cell1 = _cell(rng, 4, 6)
    rec1 = cell1.forward(rec0.h[::-1], dtype=np.float64)
    return Trace(
        layers=[
            Layer.from_recording(rec0, name="forward_lstm", cell=cell0),
            Layer.from_recording(rec1, name="backward_lstm", cell=cell1, reversed=True),
        ],
        tokens=np.array(list(text)),
        source="test: two layers",
    )


def bad_values_trace() -> Trace:
    """The seed trace with a NaN, a +Inf and a -Inf planted in it."""
    trace = seed_trace()
    layer = trace.layers[0]
    layer.f[1, 0] = np.nan
    layer.c[1, 1] = np.inf
    layer.h[2, 0] = -np.inf
    return trace


def masked_trace() -> Trace:
    """Three one-hot steps of which the middle one is masked."""
    rng = np.random.RandomState(3)
    cell = _cell(rng, 3, len(ALPHABET))
    rec = cell.forward(encode("abc"), mask=np.array([True, False, True]), dtype=np.float64)
    return Trace(layers=[Layer.from_recording(rec, name="masked", cell=cell)],
                 tokens=np.array(list("abc")), source="test: masked")


def no_weights_trace() -> Trace:
    """The seed trace without its weights (as a trace from elsewhere may be)."""
    trace = seed_trace()
    trace.layers[0].cell = None
    return trace


def wide_trace(units: int = 1024, steps: int = 4) -> Trace:
    """A wide layer of random gate values, no weights: a rendering load test."""
    rng = np.random.RandomState(11)
    gates = {k: rng.uniform(0, 1, (steps, units)) for k in ("f", "i", "o")}
    c_hat = rng.uniform(-1, 1, (steps, units))
    c = np.cumsum(gates["i"] * c_hat, axis=0)
    h = gates["o"] * np.tanh(c)
    layer = Layer(x=rng.normal(size=(steps, 16)), f=gates["f"], i=gates["i"], c_hat=c_hat, c=c,
                  o=gates["o"], h=h, h0=np.zeros(units), c0=np.zeros(units), name="wide")
    return Trace(layers=[layer], source="test: wide")


def long_trace(steps: int = 300) -> Trace:
    """A long sequence, to scroll the timeline."""
    rng = np.random.RandomState(5)
    cell = _cell(rng, 3, 4)
    rec = cell.forward(rng.normal(size=(steps, 4)), dtype=np.float64)
    return Trace(layers=[Layer.from_recording(rec, name="long", cell=cell)], source="test: long")


class FakePredictor:
    """Stands in for ``lstm_tui.keras.Predictor``: the next letter of the
    alphabet gets 0.9, the one after 0.05, the rest share what is left."""

    vocab = ALPHABET

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or Path("fake_model.keras")
        self.recorded: list[str] = []

    def probs(self, text: str) -> np.ndarray:
        p = np.full(len(ALPHABET), 0.05 / 24)
        k = ALPHABET.index(text[-1])
        p[(k + 1) % 26] = 0.9
        p[(k + 2) % 26] = 0.05
        return p

    def top(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        p = self.probs(text)
        order = np.argsort(-p, kind="stable")[:k]
        return [(ALPHABET[j], float(p[j])) for j in order]

    def record(self, text: str) -> Trace:
        self.recorded.append(text)
        trace = letters_trace(text, units=4, seed=2)
        trace.source = f"live: {text}"
        return trace


class CountingLoader:
    """A predictor loader that counts its calls (to prove laziness) and can
    fail like the bridge does."""

    def __init__(self, predictor: FakePredictor | None = None, error: Exception | None = None):
        self.predictor = predictor or FakePredictor()
        self.error = error
        self.calls: list[object] = []
        #: The vocabulary each call was given (a trace recorded from the model), or None.
        self.vocabs: list[str | None] = []

    def __call__(self, path: object, vocab: str | None = None) -> FakePredictor:
        self.calls.append(path)
        self.vocabs.append(vocab)
        if self.error is not None:
            raise self.error
        return self.predictor


def stops_trace() -> Trace:
    """Twelve word tokens and gates set by hand, so the breakpoint and
    search tests know their answers: f[1] < 0.05 at steps 2, 5 and 8;
    h[0] > 0.5 at steps 5 and 9; the token 'the' at 0, 4 and 7 ('then' at
    10). No weights (the explain pane shows recorded values)."""
    T, H = 12, 3
    f = np.full((T, H), 0.5)
    f[[2, 5, 8], 1] = 0.01
    h = np.full((T, H), 0.1)
    h[[5, 9], 0] = 0.9
    c = np.cumsum(np.full((T, H), 0.05), axis=0)
    layer = Layer(x=np.tile([1.0, 0.0], (T, 1)), f=f, i=np.full((T, H), 0.5), c_hat=np.full((T, H), 0.1),
                  c=c, o=np.full((T, H), 0.5), h=h, h0=np.zeros(H), c0=np.zeros(H), name="stops")
    words = ["the", "cat", "sat", "on", "the", "mat", "and", "the", "dog", "ran", "then", "."]
    return Trace(layers=[layer], tokens=np.array(words), source="test: stops")


def rerun_pair(text: str = "abcdefgh", units: int = 4, unit: int = 2, bump: float = 1.0) -> tuple[Trace, Trace]:
    """Two real runs of one network (a what-if): in B the forget gate's bias
    of ``unit`` is raised by ``bump``, and the pass is run again, so B's f
    of that unit is larger from step 0 on and every later step parts."""
    a = letters_trace(text, units=units, readout=False, source="test: run A")
    cell = a.layers[0].cell
    b_cell = LSTMCell(W=dict(cell.W), U=dict(cell.U), b={**cell.b, "f": cell.b["f"] + bump * np.eye(units)[unit]})
    rec = b_cell.forward(encode(text), dtype=np.float64)
    b = Trace(layers=[Layer.from_recording(rec, name="lstm", cell=b_cell)], tokens=np.array(list(text)),
              source="test: run B")
    return a, b
