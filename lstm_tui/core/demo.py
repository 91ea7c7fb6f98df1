"""The teaching example the project grew from, and the next-letter data set.

``seed_cell`` and ``seed_inputs`` redraw the notebook's hand-made LSTM exactly:
NumPy's legacy generator seeded with 42, glorot-uniform weights drawn in the
notebook's order (W_f, U_f, W_i, U_i, W_c, U_c, W_o, U_o; the biases are
zeros), then a (3, 4) standard-normal input. ``print_steps`` prints a trace
the way the notebook does, in English or in its own Portuguese.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .codec import decode
from .lstm import GATES, LSTMCell
from .numeric import top_choice
from .trace import Layer, Trace
from .vocabulary import NOTEBOOK

SEED = 42
SEQ_LEN = 3
INPUT_DIM = 4
HIDDEN_DIM = 2



def _glorot(rng: np.random.RandomState, shape: tuple[int, int]) -> np.ndarray:
    limit = np.sqrt(6 / sum(shape))
    return rng.uniform(-limit, limit, shape)


def seed_cell_and_inputs() -> tuple[LSTMCell, np.ndarray]:
    """The notebook's weights and its input X (3, 4), drawn in its order."""
    rng = np.random.RandomState(SEED)  # == np.random.seed(42) + np.random.*
    W, U, b = {}, {}, {}
    for g in GATES:  # f, i, c, o: the notebook's order
        W[g] = _glorot(rng, (HIDDEN_DIM, INPUT_DIM))
        U[g] = _glorot(rng, (HIDDEN_DIM, HIDDEN_DIM))
        b[g] = np.zeros(HIDDEN_DIM)
    X = rng.randn(SEQ_LEN, INPUT_DIM, 1)[:, :, 0]
    return LSTMCell(W=W, U=U, b=b), X


def seed_trace() -> Trace:
    """The notebook's hand-made LSTM as a trace, computed in float64."""
    cell, X = seed_cell_and_inputs()
    rec = cell.forward(X, dtype=np.float64)
    layer = Layer.from_recording(rec, name="seed_lstm", cell=cell)
    return Trace(
        layers=[layer],
        tokens=np.array([f"x{t}" for t in range(SEQ_LEN)]),
        source="demo: seed notebook hand-made LSTM (seed 42)",
        meta={"seed": SEED},
    )


# --------------------------------------------------------------------------
# Printing a trace as the notebook does
# --------------------------------------------------------------------------

LABELS = {
    "en": {
        "start": "=== Start of the simulation ===",
        "step": "Step t={t}",
        "layer": "--- layer {k}: {name} ({units} units{rev}) ---",
        "reversed": ", reversed",
        "token": "token: {token!r}",
        **{v: f"{label}:" + ("\n" if v == "x" else "") for v, label in NOTEBOOK["en"].items()},
        "masked": "(masked: state carried over)",
        "predict": "next: {pred}",
    },
    "pt": {
        "start": "=== Começo da simulação ===",
        "step": "Passo t={t}",
        "layer": "--- camada {k}: {name} ({units} unidades{rev}) ---",
        "reversed": ", invertida",
        "token": "token: {token!r}",
        **{v: f"{label}:" + ("\n" if v == "x" else "") for v, label in NOTEBOOK["pt"].items()},
        "masked": "(mascarado: estado mantido)",
        "predict": "próxima: {pred}",
    },
}


def print_steps(
    trace: Trace,
    out: Callable[..., None] = print,
    layers: Iterable[int] | None = None,
    steps: Iterable[int] | None = None,
    lang: str = "en",
) -> None:
    """Print the steps of ``trace`` in the notebook's layout, using ``out``
    as ``print``. With the seed trace and ``lang="pt"`` the output is the
    notebook's, line for line. Extra lines (layer headings, tokens,
    predictions) appear only where the trace has more than the notebook did."""
    L = LABELS[lang]
    layer_ids = list(range(len(trace.layers))) if layers is None else list(layers)
    step_ids = list(range(trace.steps)) if steps is None else list(steps)
    plain = trace.source.startswith("demo:")
    out(L["start"])
    last_h = None
    for k in layer_ids:
        layer = trace.layers[k]
        if len(trace.layers) > 1 or not plain:
            rev = L["reversed"] if layer.reversed else ""
            out(L["layer"].format(k=k, name=layer.name, units=layer.units, rev=rev))
        for t in step_ids:
            out(f"\n{L['step'].format(t=t)}")
            if not plain:
                token = trace.token(layer.position(t))
                if token is not None:
                    out(L["token"].format(token=token))
                if layer.mask is not None and not layer.mask[t]:
                    out(L["masked"])
            out(L["x"], np.asarray(layer.x[t]))
            for v in ("f", "i", "c_hat", "c", "o", "h"):
                out(L[v], np.asarray(layer.vector(v)[t]))
            if not plain and trace.probs is not None and k == len(trace.layers) - 1:
                vocab = "".join(trace.vocab) if trace.vocab is not None else None
                if vocab is not None and len(vocab) == trace.probs.shape[1]:
                    best = decode(trace.probs[t], vocab, top=3)
                    pred = "  ".join(f"{ch!r} {p:.4f}" for ch, p in best)
                else:
                    best_k, best_p = top_choice(np.asarray(trace.probs[t : t + 1]))
                    pred = f"argmax {int(best_k[0])} {best_p[0]:.4f}" if best_k[0] >= 0 else "argmax: no number"
                out(L["predict"].format(pred=pred))
            last_h = np.asarray(layer.h[t])
    if last_h is not None and plain:
        out("\n", last_h.reshape(-1, 1))
