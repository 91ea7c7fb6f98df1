"""Two runs of the same letters network, B with a nudged cell state from
step 6: the diff view, B − A (snapshot app)."""

import copy

import _common  # noqa: F401

from lstm_tui.tui.app import make_app
from tui_helpers import letters_trace

a = letters_trace("abcdefghijkl", units=8)
b = copy.deepcopy(a)
b.source = "test: run B"
b.layers[0].c[6:, 3] += 0.125
b.layers[0].h[6:, 3] += 0.03125

app = make_app(a, load_model=False, diff=b)
