"""Two runs of a two-layer network, B with c[5, 2] of layer 0 moved by 0.5
and every later step recomputed: the diff timeline (snapshot app)."""

import sys
from pathlib import Path

import _common  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/: the pair's builder

from lifetime_pair import edited_pair  # noqa: E402

from lstm_tui.tui.app import make_app  # noqa: E402

a, b = edited_pair(T=90, layers=2)
app = make_app(a, load_model=False, diff=b)
