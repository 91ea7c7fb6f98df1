"""The one view value: the screen hands every widget the whole position at
once, so opening another trace (a file, a live pass) redraws each widget
once, and no widget ever draws one trace with another trace's step."""

from __future__ import annotations

import pytest
from tui_helpers import letters_trace

from lstm_tui.debug.session import View
from lstm_tui.tui.app import make_app
from lstm_tui.tui.debug_lists import WatchList
from lstm_tui.tui.explain import ExplainPane
from lstm_tui.tui.messages import TraceReady
from lstm_tui.tui.model_panel import ModelPanel
from lstm_tui.tui.status import StatusLine
from lstm_tui.tui.timeline import Timeline
from lstm_tui.tui.vector_pane import VectorPane

SIZE = (100, 30)

#: The method each widget redraws its position with.
REDRAWS = [(VectorPane, "_invalidate"), (ExplainPane, "update_explanation"), (Timeline, "_moved"),
           (WatchList, "_refresh_rows"), (ModelPanel, "_update_pnext")]


@pytest.fixture
def redraws(monkeypatch):
    """Every redraw of a widget showing the position: (widget, its trace,
    its step, the layer's steps), in order."""
    seen: list[tuple[object, object, int, int]] = []
    for cls, name in REDRAWS:
        original = getattr(cls, name)

        def spy(self, *args, _original=original, **kwargs):
            view = self.view
            if view is not None:
                seen.append((self, view.trace, view.t, view.trace.layers[view.layer].steps))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, spy)
    return seen


def shown_views(app) -> list[View]:
    screen = app.debugger
    widgets = [*screen.query(VectorPane), screen.query_one(ExplainPane), screen.query_one(Timeline),
               screen.query_one(WatchList), screen.query_one(ModelPanel), screen.query_one(StatusLine)]
    return [w.view for w in widgets]


@pytest.mark.parametrize("origin", ["traces/other.npz", "live: hello"])
async def test_opening_a_trace_redraws_each_widget_once(redraws, origin):
    first = letters_trace("abcdefghijkl", units=6, seed=1)
    second = letters_trace("hello", units=6, seed=2)
    app = make_app(first, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "w", "right", "right", "right")
        await pilot.pause()
        screen = app.debugger
        assert (screen.t, screen.unit) == (3, 1)
        redraws.clear()
        screen.post_message(TraceReady(second, origin))
        await pilot.pause()
        await pilot.pause()
        # One redraw per widget: seven panes, explain, timeline, the watch
        # list and the model panel's P(next) line.
        widgets = [w for w, *_ in redraws]
        assert len(widgets) == len(set(widgets)) == 11
        # Each drew the new trace at its first step, never the old trace or
        # the old step.
        assert {(trace is second, t) for _, trace, t, _ in redraws} == {(True, 0)}
        # And every widget holds the screen's very view.
        assert all(v is screen.view for v in shown_views(app))
        assert (screen.view.trace, screen.t, screen.unit) == (second, 0, 0)


async def test_a_step_redraws_each_widget_once_and_all_agree(redraws):
    app = make_app(letters_trace("abcdefgh", units=6), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        await pilot.pause()
        for _ in range(3):
            redraws.clear()
            await pilot.press("right")
            await pilot.pause()
            widgets = [w for w, *_ in redraws]
            assert len(widgets) == len(set(widgets)) == 11
            assert len({t for _, _, t, _ in redraws}) == 1
            assert all(v is app.debugger.view for v in shown_views(app))
        # Every step drawn lies within the trace drawn.
        assert app.debugger.t == 3
