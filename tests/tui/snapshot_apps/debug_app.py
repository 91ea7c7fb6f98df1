"""A one-hot letters trace, model panel off: the breakpoints view (snapshot app)."""

import _common  # noqa: F401
from tui_helpers import letters_trace

from lstm_tui.tui.app import make_app

app = make_app(letters_trace("abcdefghijkl", units=8), load_model=False)
