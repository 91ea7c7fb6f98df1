"""The lesson on the seed notebook's example, as ``lstm-tui lesson`` opens
it, model panel off (snapshot app). The language is the test's."""

import _common  # noqa: F401

from lstm_tui.core.demo import seed_trace
from lstm_tui.tui.app import make_app
from lstm_tui.tui.lesson import LESSON_STEP

app = make_app(seed_trace(), load_model=False, step=LESSON_STEP, lesson_stage=1)
