"""A one-hot next-letter trace with a readout and a fake model, in
Portuguese (snapshot app)."""

import _common  # noqa: F401
from tui_helpers import CountingLoader, letters_trace

from lstm_tui.tui.app import make_app

app = make_app(letters_trace("abcdefghijkl", units=16), predictor_loader=CountingLoader(), lang="pt")
