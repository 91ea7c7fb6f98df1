"""Reaching the unit that matters (u, L, s) and picking up where one was (S,
ctrl+o, breakpoints and watches across traces), through the real app."""

from __future__ import annotations

import re

import numpy as np
from textual.widgets import Input
from tui_helpers import letters_trace, rerun_pair, screen_text, two_layer_trace, widget_lines

from lstm_tui.core.trace import load as load_trace
from lstm_tui.debug.conditions import Condition
from lstm_tui.debug.session import View
from lstm_tui.tui.app import make_app
from lstm_tui.tui.dialogs import OpenTraceScreen
from lstm_tui.tui.explain import ExplainPane
from lstm_tui.tui.messages import TraceReady
from lstm_tui.tui.reach_dialogs import GoToUnitScreen, SaveTraceScreen
from lstm_tui.tui.vector_pane import VectorPane

#: Tall enough that every row of an 8-unit pane is on screen.
SIZE = (120, 72)


def pane(app, vector: str) -> VectorPane:
    return app.debugger.query_one(f"#pane-{vector}", VectorPane)


def rows(app, vector: str) -> list[tuple[bool, int, str]]:
    """(marked ▶, unit number, value text) of every row the pane shows, top down."""
    found = []
    for line in widget_lines(pane(app, vector)):
        match = re.match(r"^(▶?)\s*(\d+)\s+(\S+)", line)
        if match:
            found.append((match.group(1) == "▶", int(match.group(2)), match.group(3)))
    return found


def note(app) -> str:
    return screen_text(app).splitlines()[0]


async def settle(app, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


# -- u: go to a unit ---------------------------------------------------------------------


async def test_u_goes_to_a_unit_and_the_explain_pane_says_so():
    app = make_app(letters_trace(units=8), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("u")
        assert isinstance(app.screen, GoToUnitScreen)
        assert "unit 0…7 (now 0)" in screen_text(app)
        await pilot.press("5", "enter")
        await pilot.pause()
        assert app.debugger.unit == 5
        assert "unit 5" in str(app.debugger.query_one(ExplainPane).border_title)
        assert rows(app, "f")[5][:2] == (True, 5)


async def test_u_refuses_a_unit_out_of_range_in_the_dialog():
    app = make_app(letters_trace(units=8), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("u", "8", "enter")
        assert isinstance(app.screen, GoToUnitScreen)
        assert str(app.screen.query_one("#unit-error").content) == "a unit between 0 and 7"
        app.screen.query_one(Input).value = "-1"
        await pilot.press("enter")
        assert str(app.screen.query_one("#unit-error").content) == "a unit between 0 and 7"
        app.screen.query_one(Input).value = "3"
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, GoToUnitScreen) and app.debugger.unit == 3


# -- L: the largest |value| ------------------------------------------------------------------


async def test_L_walks_the_focused_pane_from_the_largest_value_down():
    trace = letters_trace(units=8)
    app = make_app(trace, load_model=False, step=3)
    async with app.run_test(size=SIZE) as pilot:
        want = np.argsort(-np.abs(trace.layers[0].f[3]), kind="stable").tolist()
        got = []
        for _ in range(8):
            await pilot.press("L")
            got.append(app.debugger.unit)
        assert got == want
        await pilot.press("L")  # round to the largest again
        assert app.debugger.unit == want[0]
        assert f"unit {want[0]}: largest |f| at t = 3 (1 of 8)" in note(app)
        await pilot.press("L")
        assert f"unit {want[1]}: next largest |f| at t = 3 (2 of 8)" in note(app)
        # Another pane, another ranking: h's, from its largest.
        app.debugger.set_focus(pane(app, "h"))
        await pilot.press("L")
        assert app.debugger.unit == int(np.argsort(-np.abs(trace.layers[0].h[3]), kind="stable")[0])
        # A step starts again from the largest at the new step.
        await pilot.press("right", "L")
        assert app.debugger.unit == int(np.argsort(-np.abs(trace.layers[0].h[4]), kind="stable")[0])
        assert "(1 of 8)" in note(app)


async def test_L_says_why_on_x():
    app = make_app(letters_trace(units=8), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        app.debugger.set_focus(pane(app, "x"))
        await pilot.press("L")
        assert "x_t has no units: L ranks f, i, ĉ, c, o or h" in note(app)
        assert app.debugger.unit == 0


# -- s: sorting the panes ----------------------------------------------------------------------


async def test_s_sorts_by_value_then_saturation_then_unit_and_keeps_the_selected_unit_marked():
    trace = letters_trace(units=8)
    layer = trace.layers[0]
    app = make_app(trace, load_model=False, step=2, unit=4)
    async with app.run_test(size=SIZE) as pilot:
        assert [u for _, u, _ in rows(app, "f")] == list(range(8))
        await pilot.press("s")
        await pilot.pause()
        assert "by |value|" in str(pane(app, "f").border_title)
        assert "by" not in str(pane(app, "x").border_title)  # x keeps input order
        for v in ("f", "c"):
            shown = rows(app, v)
            want = np.argsort(-np.abs(layer.vector(v)[2]), kind="stable").tolist()
            assert [u for _, u, _ in shown] == want
            assert [text for _, _, text in shown] == [f"{layer.vector(v)[2, u]:.4f}" for u in want]
            assert [u for marked, u, _ in shown if marked] == [4]  # the selected unit, wherever its row went
        # A step sorts again by the new step's values.
        await pilot.press("right")
        await pilot.pause()
        assert [u for _, u, _ in rows(app, "f")] == np.argsort(-np.abs(layer.f[3]), kind="stable").tolist()
        # Without a second run, |B−A| is skipped: saturation comes next.
        await pilot.press("s")
        await pilot.pause()
        assert "by saturation" in str(pane(app, "f").border_title)
        for v in ("f", "i", "o"):
            g = layer.vector(v)
            count = ((g < 0.05) | (g > 0.95)).sum(axis=0)
            assert [u for _, u, _ in rows(app, v)] == np.argsort(-count, kind="stable").tolist()
        c_count = (np.abs(np.tanh(layer.c)) > 0.95).sum(axis=0)
        assert [u for _, u, _ in rows(app, "c")] == np.argsort(-c_count, kind="stable").tolist()
        await pilot.press("s")
        await pilot.pause()
        assert [u for _, u, _ in rows(app, "f")] == list(range(8))
        assert "by" not in str(pane(app, "f").border_title)


async def test_up_and_down_move_by_row_in_a_sorted_pane():
    trace = letters_trace(units=8)
    app = make_app(trace, load_model=False, step=2)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        order = np.argsort(-np.abs(trace.layers[0].f[2]), kind="stable").tolist()
        await pilot.press("u", *str(order[0]), "enter")
        await pilot.pause()
        await pilot.press("up")
        assert "already at the top of the sorted pane" in note(app)
        await pilot.press("down")
        assert app.debugger.unit == order[1]
        await pilot.press("down", "down")
        assert app.debugger.unit == order[3]
        await pilot.press("up")
        assert app.debugger.unit == order[2]


async def test_s_sorts_by_the_difference_when_two_runs_are_compared():
    a, b = rerun_pair(units=4, unit=2)
    app = make_app(a, diff=b, load_model=False, step=3)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")  # run A shown: |value| is A's, |B−A| the difference's
        assert app.debugger.run == "a"
        await pilot.press("s", "s")
        await pilot.pause()
        assert "by |B−A|" in str(pane(app, "c").border_title)
        delta = np.abs(b.layers[0].c[3] - a.layers[0].c[3])
        shown = rows(app, "c")
        assert [u for _, u, _ in shown] == np.argsort(-delta, kind="stable").tolist()
        assert shown[0][1] == 2  # the unit whose bias was changed parts most
        assert [text for _, u, text in shown] == [f"{a.layers[0].c[3, u]:.4f}" for _, u, _ in shown]


async def test_saturation_of_a_long_layer_is_counted_in_a_worker(monkeypatch):
    from lstm_tui.debug import ranking

    monkeypatch.setattr(ranking, "EAGER_VALUES", 10)
    trace = letters_trace(units=8)
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "s")
        await settle(app, pilot)
        g = trace.layers[0].o
        count = ((g < 0.05) | (g > 0.95)).sum(axis=0)
        assert [u for _, u, _ in rows(app, "o")] == np.argsort(-count, kind="stable").tolist()


# -- S: saving the trace shown -------------------------------------------------------------------


def _members(trace) -> dict[str, np.ndarray]:
    return dict(trace.members())


async def test_S_saves_a_live_recording_that_loads_back_equal_and_asks_before_replacing(tmp_path):
    live = letters_trace("defg", units=4, seed=2, source="live: defg")
    app = make_app(letters_trace(), load_model=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.debugger.post_message(TraceReady(live, "live: defg"))
        await pilot.pause()
        assert app.debugger.trace is live
        target = tmp_path / "live.npz"
        await pilot.press("S")
        assert isinstance(app.screen, SaveTraceScreen)
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await settle(app, pilot)
        loaded = load_trace(target)
        want, got = _members(live), _members(loaded)
        assert list(got) == list(want)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
        assert any("written to" in str(n.message) for n in app._notifications)
        # Again to the same file: the dialog asks first, and nothing is written meanwhile.
        before = target.stat().st_mtime_ns, target.stat().st_ino
        await pilot.press("S")
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        assert isinstance(app.screen, SaveTraceScreen)
        assert str(app.screen.query_one("#save-error").content) == f"{target} exists: Enter again to replace it"
        await pilot.press("escape")
        await settle(app, pilot)
        assert (target.stat().st_mtime_ns, target.stat().st_ino) == before
        # Confirmed with a second Enter: replaced (a new file put in place).
        await pilot.press("S")
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter", "enter")
        await settle(app, pilot)
        assert target.stat().st_ino != before[1]
        np.testing.assert_array_equal(load_trace(target).layers[0].h, live.layers[0].h)


async def test_S_in_a_comparison_saves_run_B(tmp_path):
    a, b = rerun_pair(units=4, unit=2)
    app = make_app(a, diff=b, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("S")
        assert "run B" in screen_text(app)
        app.screen.query_one(Input).value = str(tmp_path / "b.npz")
        await pilot.press("enter")
        await settle(app, pilot)
    np.testing.assert_array_equal(load_trace(tmp_path / "b.npz").layers[0].c, b.layers[0].c)


# -- ctrl+o: back --------------------------------------------------------------------------------


async def _open(app, pilot, path) -> None:
    await pilot.press("o")
    assert isinstance(app.screen, OpenTraceScreen)
    app.screen.query_one(Input).value = str(path)
    await pilot.press("enter")
    await settle(app, pilot)


async def test_ctrl_o_goes_back_to_the_previous_trace_where_it_stood(tmp_path):
    first, second = tmp_path / "first.npz", tmp_path / "second.npz"
    two_layer_trace().save(first)
    letters_trace(units=8).save(second)
    app = make_app(load_trace(first), load_model=False, layer=1, step=2, unit=3)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.press("ctrl+o")
        assert "no trace to go back to: o opens another" in note(app)
        await _open(app, pilot, second)
        assert screen.trace.path == second and (screen.layer_index, screen.t, screen.unit) == (0, 0, 0)
        await pilot.press("right", "down")
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert screen.trace.path == first
        assert (screen.layer_index, screen.t, screen.unit) == (1, 2, 3)
        assert "back at t = 2, unit 3 of" in note(app)
        await pilot.press("ctrl+o")
        assert "no trace to go back to" in note(app)


async def test_ctrl_o_goes_back_from_a_live_recording_to_the_comparison():
    a, b = rerun_pair(units=4, unit=2)
    app = make_app(a, diff=b, load_model=False, step=4, unit=1)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        screen.post_message(TraceReady(letters_trace("xy", units=3), "live: xy"))
        await pilot.pause()
        assert screen.other is None  # the live pass does not match B
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert screen.trace is a and screen.other is b and (screen.t, screen.unit) == (4, 1)


async def test_ctrl_o_goes_back_from_an_edited_run_to_where_the_edit_was_made():
    trace = letters_trace(units=4)
    edited = letters_trace(units=4)
    edited.layers[0].c[3:] += 0.5
    edited.meta["edit"] = {"from": None, "at": 3, "layer": 0, "set": ["c[1]=0"]}
    app = make_app(trace, load_model=False, step=5, unit=2)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        screen._show(View(trace, edited, "delta", 0, 3, 2))  # as the what-if shows its result
        await pilot.pause()
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert screen.trace is trace and screen.other is None and (screen.t, screen.unit) == (5, 2)
        await pilot.press("ctrl+o")
        assert "no trace to go back to" in note(app)


# -- breakpoints and watches across traces ------------------------------------------------------------


async def test_breakpoints_and_watches_stay_for_another_trace_of_the_same_network(tmp_path):
    other = tmp_path / "other.npz"
    letters_trace("hgfedcba", units=8).save(other)  # the same weights, another input
    trace = letters_trace(units=8)
    condition = Condition.parse("f[3] > 0.5")
    condition.check(trace, 0)
    app = make_app(trace, load_model=False, breakpoints=[condition])
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.press("down", "down", "w")
        await _open(app, pilot, other)
        assert screen.trace.path == other
        assert [bp.source for bp in screen.session.breakpoints] == ["f[3] > 0.5"]
        assert screen.session.watches == ((0, 2),)
        opened = screen.trace.layers[0].f[:, 3]
        assert screen.pins.breakpoints[0].hits == int((opened > 0.5).sum())
        await pilot.press("c")
        assert screen.t == int(np.flatnonzero(opened > 0.5)[np.flatnonzero(opened > 0.5) > 0][0])


async def test_another_network_keeps_the_breakpoints_and_the_watches_it_has_units_for(tmp_path):
    smaller = tmp_path / "smaller.npz"
    letters_trace(units=3, seed=4).save(smaller)
    trace = letters_trace(units=8)
    fits = Condition.parse("f[1] > 0.5")
    too_far = Condition.parse("f[6] > 0.5")
    for c in (fits, too_far):
        c.check(trace, 0)
    app = make_app(trace, load_model=False, breakpoints=[fits, too_far])
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.press("down", "w")  # unit 1: the new trace has it
        for _ in range(5):
            await pilot.press("down")
        await pilot.press("w")  # unit 6: it does not
        assert screen.session.watches == ((0, 1), (0, 6))
        await _open(app, pilot, smaller)
        assert screen.session.watches == ((0, 1),)
        statuses = screen.pins.breakpoints
        assert [s.source for s in statuses] == ["f[1] > 0.5", "f[6] > 0.5"]
        assert statuses[0].hits == int((screen.trace.layers[0].f[:, 1] > 0.5).sum())
        assert statuses[1].hits is None and statuses[1].error  # says why it does not fit


async def test_the_palette_saves_the_trace_as_well():
    app = make_app(letters_trace(units=4), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        commands = {name: run for name, run, _ in app.debugger.palette_commands()}
        name = "Save trace as… (the trace shown: a live recording, an edited run)"
        assert name in commands
        assert not any("trace shown before" in n for n in commands)  # nothing to go back to
        await commands[name]()
        await pilot.pause()
        assert isinstance(app.screen, SaveTraceScreen)
