"""Two runs of the same letters network, B reading 'x' where A reads 'g'
(step 6): the diff view, B − A (snapshot app)."""

import _common  # noqa: F401
from tui_helpers import letters_trace

from lstm_tui.tui.app import make_app

a = letters_trace("abcdefghijkl", units=8)
b = letters_trace("abcdefxhijkl", units=8, source="test: run B")

app = make_app(a, load_model=False, diff=b)
