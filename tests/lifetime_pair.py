"""Two runs of one network that part at a chosen step: run B is run A with
one unit's cell state changed at that step and every later step
recomputed by the core's forward pass (shared by the lifetime tests)."""

from __future__ import annotations

import numpy as np
from conftest import random_trace

from lstm_tui.core.trace import Layer, Trace


def edited_pair(T: int = 40, H: int = 4, at: int = 5, unit: int = 2, delta: float = 0.5,
                layers: int = 2, seed: int = 3) -> tuple[Trace, Trace]:
    """(A, B): B's c[at, unit] moved by ``delta``, h[at] and every later
    step of every layer recomputed from there."""
    a = random_trace(seed=seed, T=T, H=H, layers=layers, tokens=True)
    out = []
    x = None
    for k, la in enumerate(a.layers):
        cell = la.cell
        vec = {v: np.array(la.vector(v), copy=True) for v in ("x", "f", "i", "c_hat", "c", "o", "h")}
        if x is not None:
            vec["x"][at:] = x[at:]
        if k == 0:
            vec["c"][at, unit] += delta
            vec["h"][at] = vec["o"][at] * np.tanh(vec["c"][at])
            start, h0, c0 = at + 1, vec["h"][at], vec["c"][at]
        else:
            start = at
            h0 = vec["h"][at - 1] if at else la.h0
            c0 = vec["c"][at - 1] if at else la.c0
        rec = cell.forward(vec["x"][start:], h0=h0, c0=c0)
        for v in ("f", "i", "c_hat", "c", "o", "h"):
            vec[v][start:] = getattr(rec, v)
        out.append(Layer(**vec, h0=la.h0, c0=la.c0, name=la.name, cell=cell,
                         activation=la.activation, recurrent_activation=la.recurrent_activation))
        x = vec["h"]
    return a, Trace(layers=out, tokens=a.tokens, source="test: run B")
