"""A one-hot next-letter trace with a readout and a fake model (snapshot app)."""

import _common  # noqa: F401

from lstm_tui.tui.app import make_app
from tui_helpers import CountingLoader, letters_trace

app = make_app(letters_trace("abcdefghijkl", units=16), predictor_loader=CountingLoader())
