"""The seed notebook's hand-made LSTM, in the notebook's Portuguese, model
panel off (snapshot app)."""

import _common  # noqa: F401

from lstm_tui.core.demo import seed_trace
from lstm_tui.tui.app import make_app

app = make_app(seed_trace(), load_model=False, lang="pt")
