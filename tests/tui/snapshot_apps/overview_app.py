"""A long one-hot trace of 32 units whose cell state turns NaN near the end,
for the overview (snapshot app)."""

import _common  # noqa: F401
import numpy as np
from tui_helpers import CountingLoader, letters_trace

from lstm_tui.tui.app import make_app

trace = letters_trace("thequickbrownfoxjumpsoverthelazydog" * 4, units=32, seed=5)
layer = trace.layers[0]
layer.c[120:, 5] = np.nan  # a unit that blows up, and stays blown up
layer.c[131, 20] = np.inf
app = make_app(trace, predictor_loader=CountingLoader())
