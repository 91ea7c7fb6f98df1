"""Keys that cannot act say why in the status line, at 80×24.

One method of the screen (``why_not``) decides whether a key can act and
why not; the footer dims from it and a press of a dimmed (or hidden) key
puts its reason in the status line instead of doing nothing in silence.
"""

from __future__ import annotations

import copy

import pytest
from textual.actions import parse
from textual.widgets._footer import FooterKey
from tui_helpers import (
    letters_trace,
    long_trace,
    screen_text,
    stops_trace,
    two_layer_trace,
)

from lstm_tui.core.demo import seed_trace
from lstm_tui.tui.app import make_app
from lstm_tui.tui.refusals import action_state

SIZE = (80, 24)


def status(app) -> str:
    return screen_text(app).splitlines()[0]


def footer_keys(app) -> dict[str, FooterKey]:
    return {k.key: k for k in app.screen.query(FooterKey)}


async def press_and_read(pilot, *keys: str) -> str:
    await pilot.press(*keys)
    await pilot.pause()
    return status(pilot.app)


@pytest.mark.parametrize(("keys", "why"), [
    (("left",), "already at the first step (t = 0)"),
    (("h",), "already at the first step (t = 0)"),
    (("home",), "already at the first step (t = 0)"),
    (("pageup",), "already at the first step (t = 0)"),
    (("end", "right"), "already at the last step (t = 29)"),
    (("end", "l"), "already at the last step (t = 29)"),
    (("end", "end"), "already at the last step (t = 29)"),
    (("end", "pagedown"), "already at the last step (t = 29)"),
    (("up",), "already at the first unit (0)"),
    (("down", "down", "down"), "already at the last unit (2)"),
])
async def test_moving_past_an_end_says_so(keys, why):
    app = make_app(long_trace(30), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        for key in keys[:-1]:
            await pilot.press(key)
        before = (screen.t, screen.unit)
        text = await press_and_read(pilot, keys[-1])
        assert (screen.t, screen.unit) == before  # nothing moved
        assert why in text, text


async def test_the_reason_goes_with_the_next_key_that_acts():
    app = make_app(long_trace(30), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        assert "already at the first step" in await press_and_read(pilot, "left")
        assert "already at the first step" not in await press_and_read(pilot, "right")
        assert "already at the first unit (0)" in await press_and_read(pilot, "up")
        assert "already at the first unit" not in await press_and_read(pilot, "down")  # same step


async def test_a_refused_key_does_not_take_away_a_stop_note():
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        app.debugger.note = None
        from lstm_tui.tui.status import StatusNote

        app.debugger.note = StatusNote("stopped: f[1] < 0.05 (hit 1 of 3)", t=0, layer=0)
        assert "already at the first unit (0)" in await press_and_read(pilot, "up")
        app.debugger.note = StatusNote("stopped: f[1] < 0.05 (hit 1 of 3)", t=0, layer=0)
        assert "stopped: f[1] < 0.05" in await press_and_read(pilot, "down")  # only refusals go


async def test_layer_keys_on_one_layer_say_there_is_only_one():
    app = make_app(long_trace(30), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        assert "left_square_bracket" not in footer_keys(app)  # no room for a key that never acts
        assert "only one layer in this trace" in await press_and_read(pilot, "right_square_bracket")
        assert "only one layer in this trace" in await press_and_read(pilot, "right", "left_square_bracket")
        assert app.debugger.layer_index == 0


async def test_layer_keys_at_the_first_and_last_layer():
    app = make_app(two_layer_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        assert "already at the first layer (0)" in await press_and_read(pilot, "left_square_bracket")
        assert "already at the last layer (1)" in await press_and_read(
            pilot, "right_square_bracket", "right_square_bracket")
        assert app.debugger.layer_index == 1


@pytest.mark.parametrize("key", ["c", "C"])
async def test_continue_without_breakpoints_says_how_to_add_one(key):
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert footer_keys(app)["c"].has_class("-disabled")  # dimmed, and still says why
        assert "no breakpoints: press b to add one" in await press_and_read(pilot, key)
        assert app.debugger.t == 0


async def test_continue_with_only_disabled_breakpoints():
    from lstm_tui.debug.conditions import Condition
    from lstm_tui.tui.messages import BreakpointAction

    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        screen.add_breakpoint(Condition.parse("f[1] < 0.05"))
        screen.on_breakpoint_action(BreakpointAction("toggle", 0))
        assert [bp.enabled for bp in screen.session.breakpoints] == [False]
        await pilot.pause()
        assert "no breakpoint enabled (B lists them)" in await press_and_read(pilot, "c")


async def test_search_keys_without_tokens_or_without_a_search():
    trace = stops_trace()
    trace.tokens = None
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        assert "this trace has no tokens to search" in await press_and_read(pilot, "slash")
        assert app.screen is app.debugger  # no dialog opened
        assert "this trace has no tokens to search" in await press_and_read(pilot, "n")
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        assert "no search yet: / searches the tokens" in await press_and_read(pilot, "n")
        assert "no search yet: / searches the tokens" in await press_and_read(pilot, "N")


@pytest.mark.parametrize("key", ["d", "D"])
async def test_diff_keys_without_a_second_run(key):
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        assert key not in footer_keys(app)
        assert "no second run (lstm-tui view A --diff B)" in await press_and_read(pilot, key)


async def test_first_divergence_of_two_equal_runs():
    a = letters_trace(units=4)
    b = copy.deepcopy(a)
    app = make_app(a, load_model=False, diff=b)
    async with app.run_test(size=SIZE) as pilot:
        assert "no divergence between the two runs" in await press_and_read(pilot, "D")
        assert app.debugger.t == 0


async def test_go_to_step_on_a_one_step_trace():
    app = make_app(letters_trace("a", units=4), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        assert "only one step in this trace" in await press_and_read(pilot, "g")
        assert app.screen is app.debugger


async def test_zoom_with_nothing_to_zoom():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        app.screen.set_focus(None)
        assert "z zooms a pane: Tab to one first" in await press_and_read(pilot, "z")
        assert app.screen.maximized is None


@pytest.mark.parametrize("trace", [seed_trace, two_layer_trace, stops_trace], ids=lambda f: f.__name__)
async def test_footer_dimming_and_the_reasons_come_from_one_place(trace):
    """Every key of the screen, at both ends of the trace: the footer dims
    exactly the keys ``why_not`` refuses, and hides those it refuses for
    good."""
    app = make_app(trace(), load_model=False)
    async with app.run_test(size=(200, 24)) as pilot:
        screen = app.debugger
        for keys in ((), ("end", "down", "down", "down", "down", "down", "down", "right_square_bracket")):
            await pilot.press(*keys)
            await pilot.pause()
            shown = {k.action: k for k in app.screen.query(FooterKey)}
            for _key, binding in screen._bindings:
                _, name, params = parse(binding.action)
                refusal = screen.why_not(name, params)
                assert screen.check_action(name, params) == action_state(refusal)
                if binding.show and binding.action in shown:
                    assert shown[binding.action].has_class("-disabled") is (refusal is not None), binding
                elif binding.show:
                    assert refusal is not None and refusal.hidden, binding
