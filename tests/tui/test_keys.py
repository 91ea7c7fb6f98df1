"""Every key of DESIGN §4, driven through the real app with Pilot.

The seed trace's numbers are the notebook's: f_t at t=1 is
[0.24205837 0.72028517], so after → the f_t pane must show 0.2421.
"""

from __future__ import annotations

import re

import pytest
from textual.widgets import Input
from textual.widgets._footer import FooterKey
from tui_helpers import (
    letters_trace,
    long_trace,
    screen_text,
    two_layer_trace,
    widget_lines,
)

from lstm_tui.core.demo import seed_trace
from lstm_tui.tui.app import DebuggerScreen, make_app
from lstm_tui.tui.dialogs import GoToStepScreen
from lstm_tui.tui.explain import ExplainPane
from lstm_tui.tui.vector_pane import VectorPane

SIZE = (100, 30)


def pane(app, vector: str) -> VectorPane:
    return app.screen.query_one(f"#pane-{vector}", VectorPane)


def row(app, vector: str, unit: int) -> str:
    """The pane's row for ``unit`` (``▶ 7  0.8069 ███`` or `` 7  0.8069 ███``)."""
    for line in widget_lines(pane(app, vector)):
        match = re.match(r"^▶?\s*(\d+)\s", line)
        if match and int(match.group(1)) == unit:
            return line
    raise AssertionError(f"unit {unit} not on screen in {vector}: {widget_lines(pane(app, vector))}")


async def test_opens_at_first_step_with_seed_values():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "t = 0 of 0…2" in text
        assert "0.7083" in row(app, "f", 0)  # f_t[0] at t=0 in the notebook
        assert "0.5625" in row(app, "f", 1)
        assert "-0.0230" in row(app, "h", 0)


@pytest.mark.parametrize("key", ["right", "l"])
async def test_step_forward(key):
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
        assert app.debugger.t == 1
        text = screen_text(app)
        assert "t = 1 of 0…2" in text
        assert "0.2421" in row(app, "f", 0)
        assert "0.7203" in row(app, "f", 1)
        assert "0.4321" in row(app, "c", 0)


@pytest.mark.parametrize("key", ["left", "h"])
async def test_step_back(key):
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "right", key)
        assert app.debugger.t == 1
        assert "t = 1 of 0…2" in screen_text(app)


async def test_home_end_and_pages():
    app = make_app(long_trace(30), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.press("pagedown")
        assert screen.t == 10
        await pilot.press("pagedown", "pagedown")
        assert screen.t == 29  # clamped, not 30
        assert "t = 29 of 0…29" in screen_text(app)
        await pilot.press("pageup")
        assert screen.t == 19
        await pilot.press("home")
        assert screen.t == 0
        await pilot.press("end")
        assert screen.t == 29
        await pilot.press("pageup", "pageup", "pageup", "pageup")
        assert screen.t == 0


async def test_header_at_the_last_step_does_not_read_as_one_short():
    app = make_app(letters_trace("abcdefghijklmnopqrstuvwxyz", units=32), load_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        first = screen_text(app).splitlines()[0]
        assert "t = 0 of 0…25" in first
        await pilot.press("end")
        first = screen_text(app).splitlines()[0]
        assert "t = 25 of 0…25 · 'z'" in first and "/ 26" not in first


@pytest.mark.parametrize(("down", "up"), [("down", "up"), ("j", "k")])
async def test_unit_selection(down, up):
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(down)
        assert app.debugger.unit == 1
        assert row(app, "f", 1).startswith("▶")
        assert not row(app, "f", 0).startswith("▶")
        explain = app.screen.query_one(ExplainPane)
        await pilot.pause()
        assert "unit 1" in str(explain.border_title)
        await pilot.press(down)
        assert app.debugger.unit == 1  # the seed has two units
        await pilot.press(up)
        assert app.debugger.unit == 0


async def test_layer_keys_on_two_layers():
    app = make_app(two_layer_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.press("down", "down", "down", "down", "down")  # unit 5 of 6
        assert screen.unit == 5
        assert "layer 0 (forward_lstm, 6 units)" in screen_text(app)
        assert "token 'a'" in screen_text(app)
        await pilot.press("right_square_bracket")
        assert screen.layer_index == 1
        assert screen.unit == 3  # re-clamped into the 4-unit layer
        text = screen_text(app)
        assert "layer 1 (backward_lstm, 4 units, reversed)" in text
        # A reversed layer's step 0 read the last input position.
        assert "token 'e'" in text
        await pilot.press("right")
        assert "token 'd'" in screen_text(app)
        await pilot.press("right_square_bracket")
        assert screen.layer_index == 1
        await pilot.press("left_square_bracket")
        assert screen.layer_index == 0
        assert "token 'b'" in screen_text(app)


async def test_go_to_step_dialog():
    app = make_app(long_trace(30), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        assert isinstance(app.screen, GoToStepScreen)
        assert "0…29" in screen_text(app)
        await pilot.press("1", "7", "enter")
        assert isinstance(app.screen, DebuggerScreen)
        assert app.debugger.t == 17
        assert "t = 17 of 0…29" in screen_text(app)


async def test_go_to_step_rejects_out_of_range_and_cancels():
    app = make_app(long_trace(30), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g", "4", "2", "enter")
        assert isinstance(app.screen, GoToStepScreen)
        assert "a step between 0 and 29" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, DebuggerScreen)
        assert app.debugger.t == 0


async def test_the_view_clamps_state():
    app = make_app(two_layer_trace(), load_model=False)
    async with app.run_test(size=SIZE):
        screen = app.debugger
        screen.go(t=99)
        assert screen.t == 4
        screen.go(t=-3)
        assert screen.t == 0
        screen.go(unit=100)
        assert screen.unit == 5
        screen.go(layer=7)
        assert screen.layer_index == 1
        assert screen.unit == 3
        screen.go(layer=-1)
        assert screen.layer_index == 0


def footer_key(app, key: str) -> FooterKey:
    return next(k for k in app.screen.query(FooterKey) if k.key == key)


async def test_keys_that_cannot_act_are_dimmed():
    app = make_app(two_layer_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.pause()
        assert screen.check_action("step", (-1,)) is None
        assert screen.check_action("step", (1,)) is True
        assert screen.check_action("first_step", ()) is None
        assert screen.check_action("unit", (-1,)) is None
        assert screen.check_action("layer", (-1,)) is None
        assert screen.check_action("layer", (1,)) is True
        assert footer_key(app, "left").has_class("-disabled")
        assert not footer_key(app, "right").has_class("-disabled")
        assert footer_key(app, "left_square_bracket").has_class("-disabled")
        assert not footer_key(app, "right_square_bracket").has_class("-disabled")
        await pilot.press("left")  # a dimmed key does nothing
        assert screen.t == 0
        await pilot.press("end", "right_square_bracket")
        await pilot.pause()
        assert screen.check_action("step", (1,)) is None
        assert screen.check_action("last_step", ()) is None
        assert footer_key(app, "right").has_class("-disabled")
        assert not footer_key(app, "left").has_class("-disabled")
        assert footer_key(app, "right_square_bracket").has_class("-disabled")
        assert not footer_key(app, "left_square_bracket").has_class("-disabled")


async def test_tab_moves_between_panes_and_z_zooms():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.focused is pane(app, "f")
        await pilot.press("tab")
        assert app.focused is pane(app, "i")
        await pilot.press("shift+tab", "shift+tab")
        assert app.focused is pane(app, "x")
        await pilot.press("z")
        assert app.screen.maximized is pane(app, "x")
        await pilot.press("right")  # keys still step while zoomed
        assert app.debugger.t == 1
        await pilot.press("z")
        assert app.screen.maximized is None


async def test_arrows_step_with_explain_or_timeline_focused():
    """← → step wherever the focus is; ↑ ↓ select a unit, except in the
    explain pane, which they scroll."""
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#explain").focus()
        await pilot.press("right", "down")
        assert (app.debugger.t, app.debugger.unit) == (1, 0)
        app.screen.query_one("#timeline").focus()
        await pilot.press("down", "left")
        assert (app.debugger.t, app.debugger.unit) == (0, 1)
        await pilot.press("up")
        assert app.debugger.unit == 0


# -- the explain pane at 80×24 --------------------------------------------------


def explain_text(app) -> str:
    """The explain pane's rows as on screen (between its rule and the timeline's)."""
    lines = screen_text(app).splitlines()
    top = next(n for n, line in enumerate(lines) if "explain" in line)
    end = next((n for n, line in enumerate(lines) if n > top and "timeline" in line), len(lines) - 1)
    return "\n".join(lines[top:end])


def h_line(app) -> str:
    """The h line of the explain pane's text for the current unit and step."""
    screen = app.debugger
    e = screen.trace.layers[0].explain(screen.t, screen.unit)
    return f"h_t = o_t ⊙ tanh(c_t) = {e.o:.4f} × tanh("


async def test_explain_h_line_is_cut_at_80x24_and_z_zooms_to_it():
    app = make_app(letters_trace(units=8), load_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("right", "right")
        await pilot.pause()
        assert h_line(app) not in explain_text(app)  # the pane shows the first lines only
        assert re.search(r"explain .* · \d+ more: E then ↓ or z", screen_text(app))
        await pilot.press("E")
        assert app.focused is app.screen.query_one(ExplainPane)
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.maximized is app.screen.query_one(ExplainPane)
        text = explain_text(app)
        for start in ("f_t = σ(", "i_t = σ(", "ĉ_t = tanh(", "c_t = f_t ⊙ c_{t-1}", "o_t = σ(", h_line(app)):
            assert start in text, (start, text)
        e = app.debugger.trace.layers[0].explain(2, 0)
        assert f"= {e.h:.4f}" in text or f"≈ {e.h:.4f}" in text  # the h line whole, with its result
        await pilot.press("right")  # still steps while zoomed: the next step's arithmetic
        await pilot.pause()
        assert app.debugger.t == 3 and h_line(app) in explain_text(app)
        await pilot.press("z")
        assert app.screen.maximized is None


async def test_explain_scrolls_with_arrows_and_jk_when_focused_at_80x24():
    app = make_app(letters_trace(units=8), load_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("E")
        await pilot.pause()
        assert h_line(app) not in explain_text(app)
        presses = 0
        while h_line(app) not in explain_text(app):
            await pilot.press("down" if presses % 2 else "j")
            await pilot.pause()
            presses += 1
            assert presses < 20, explain_text(app)
        assert app.debugger.unit == 0  # scrolling, not selecting units
        assert "↑ ↓ scroll" in screen_text(app).splitlines()[-1]  # the footer says what they do
        await pilot.press("k", "up")
        assert app.screen.query_one(ExplainPane).scroll_y == presses - 2
        assert app.debugger.unit == 0


async def test_explain_scroll_keys_say_when_there_is_nothing_more():
    app = make_app(letters_trace(units=8), load_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("E", "up")
        await pilot.pause()
        assert "explain: already at the first line" in screen_text(app).splitlines()[0]
        assert footer_key(app, "up").has_class("-disabled")
        assert not footer_key(app, "down").has_class("-disabled")
        explain = app.screen.query_one(ExplainPane)
        while explain.scroll_y < explain.max_scroll_y:
            await pilot.press("down")
        await pilot.pause()
        rows = explain_text(app).splitlines()
        body = str(explain.query_one("#explain-body").content).splitlines()
        assert rows[-1].rstrip() == body[-1]  # the last line of the text, no blank rows after it
        await pilot.press("j")
        await pilot.pause()
        assert "explain: already at the last line" in screen_text(app).splitlines()[0]
        assert footer_key(app, "down").has_class("-disabled")
        await pilot.press("z", "down")  # zoomed, every line fits
        await pilot.pause()
        assert "explain: every line is on screen" in screen_text(app).splitlines()[0]
        assert footer_key(app, "down").has_class("-disabled")


async def test_debugging_keys_are_bound_where_help_once_reserved_them():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE):
        actions = {key: binding.action for key, binding in app.debugger._bindings}
        assert actions["b"] == "add_breakpoint"
        assert actions["c"] == "resume(False)" and actions["C"] == "resume(True)"
        assert actions["slash"] == "search"
        assert actions["n"] == "search_step(False)" and actions["N"] == "search_step(True)"
        assert actions["w"] == "watch"


async def test_every_binding_has_a_description_and_an_id():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE):
        for node in (app.debugger, app.debugger.query_one(ExplainPane), app.debugger.model_panel):
            for _key, binding in node._bindings:
                if binding.action.startswith("app.focus_") or binding.id:
                    assert binding.description, binding
                    assert binding.id, binding
        ids = [b.id for _, b in app._bindings if b.id]
        assert {"quit", "command_palette"} <= set(ids)


async def test_q_quits():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert app._exit


async def test_q_typed_in_the_model_input_does_not_quit():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m", "q")
        assert not app._exit
        assert app.screen.query_one("#model-input", Input).value == "q"


async def test_ctrl_t_toggles_theme():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        dark = app.current_theme.dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark is not dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark is dark
        # Caches are dropped on a theme change: the pane still shows its numbers.
        assert "0.7083" in row(app, "f", 0)


async def test_ctrl_s_saves_a_screenshot(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
    shots = list(tmp_path.glob("*.svg"))
    assert len(shots) == 1
    assert "f_t" in shots[0].read_text(encoding="utf-8")


async def test_unit_follows_in_a_narrow_pane():
    app = make_app(letters_trace(units=32), load_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(20):
            await pilot.press("down")
        await pilot.pause()
        for vector in ("f", "i", "c_hat", "c", "o", "h"):
            assert row(app, vector, 20)
