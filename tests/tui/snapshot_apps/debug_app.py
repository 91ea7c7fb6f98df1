"""A one-hot letters trace, model panel off: the breakpoints view (snapshot app)."""

import _common  # noqa: F401

from lstm_tui.tui.app import make_app
from tui_helpers import letters_trace

app = make_app(letters_trace("abcdefghijkl", units=8), load_model=False)
