"""What the panes, explain pane, timeline and status line show."""

from __future__ import annotations

import numpy as np
from tui_helpers import (
    bad_values_trace,
    letters_trace,
    long_trace,
    masked_trace,
    no_weights_trace,
    screen_text,
    two_layer_trace,
    wide_trace,
    widget_lines,
)

from lstm_tui.core.demo import seed_trace
from lstm_tui.tui import draw
from lstm_tui.tui.app import make_app
from lstm_tui.tui.explain import ExplainPane
from lstm_tui.tui.timeline import Timeline
from lstm_tui.tui.vector_pane import VectorPane

SIZE = (100, 30)


def pane(app, vector: str) -> VectorPane:
    return app.screen.query_one(f"#pane-{vector}", VectorPane)


def title(widget) -> str:
    """A border title as the user reads it (not as markup)."""
    return widget._border_title.plain if widget._border_title is not None else ""


def explain_text(app) -> str:
    return str(app.screen.query_one("#explain-body").content)


async def test_nan_and_inf_are_marked_in_text_and_colour():
    app = make_app(bad_values_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right")
        f_rows = widget_lines(pane(app, "f"))
        assert "NaN" in f_rows[0]
        assert draw.NAN_FILL * 3 in f_rows[0]  # the bar says it too
        c_rows = widget_lines(pane(app, "c"))
        assert "+Inf" in c_rows[1]
        assert "▶" in c_rows[1] or "█" in c_rows[1]
        # The warning style is on the value itself.
        strip = pane(app, "f").render_line(0)
        nan_segments = [seg for seg in strip if "NaN" in seg.text]
        warning = pane(app, "f").get_component_rich_style("vector-pane--warning", partial=True)
        assert nan_segments and nan_segments[0].style.color == warning.color
        await pilot.press("right")
        assert "-Inf" in widget_lines(pane(app, "h"))[0]
        assert "NaN" not in widget_lines(pane(app, "f"))[0]
        # The timeline marks them with their own glyphs (unit 0: f NaN at
        # t=1, h -Inf at t=2; unit 1: c +Inf at t=1).
        lines = widget_lines(app.screen.query_one(Timeline))
        assert lines[0][4] == draw.SPARK_NAN
        assert draw.SPARK_NEG_INF in lines[5]
        await pilot.press("down")
        lines = widget_lines(app.screen.query_one(Timeline))
        assert draw.SPARK_POS_INF in lines[3]


async def test_one_hot_input_titled_with_its_token():
    app = make_app(letters_trace("abcdefgh"), load_model=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right", "right", "right")
        assert "x_t 'd' (one-hot 3)" == title(pane(app, "x"))
        rows = widget_lines(pane(app, "x"))
        hot = [row for row in rows if row.startswith("▶")]
        assert hot and hot[0].split()[1] == "3" and "1.0000" in hot[0]


async def test_bars_use_fixed_scales():
    trace = seed_trace()
    app = make_app(trace, load_model=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        stats = draw.layer_stats(trace.layers[0])
        assert stats["f"].scale == draw.GATE_SCALE
        assert stats["h"].scale == draw.SIGNED_SCALE
        c_max = float(np.abs(trace.layers[0].c).max())
        assert stats["c"].scale.hi == c_max and stats["c"].scale.lo == -c_max
        # The same value draws the same bar at every step: the bar length is
        # a function of the value only.
        f_pane = pane(app, "f")
        width = f_pane.scrollable_content_region.width
        before = f_pane.render_line(0).text
        await pilot.press("right")
        after = f_pane.render_line(0).text
        bar_before = before.split()[-1]
        bar_after = after.split()[-1]
        assert len(bar_before.rstrip()) > len(bar_after.rstrip())  # 0.7083 vs 0.2421
        assert width == f_pane.scrollable_content_region.width


async def test_wide_layer_renders_and_scrolls():
    app = make_app(wide_trace(1024), load_model=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        f_pane = pane(app, "f")
        assert f_pane.virtual_size.height == 1024
        screen = app.debugger
        screen.go(unit=1000)
        await pilot.pause()
        rows = widget_lines(f_pane)
        assert any(row.startswith("▶1000") for row in rows)
        # Only the rows on screen were drawn, not 1024.
        assert len(f_pane._cache) <= 3 * f_pane.size.height
        await pilot.press("end", "down", "down")
        assert screen.unit == 1002
        assert any(row.startswith("▶1002") for row in widget_lines(f_pane))
        await pilot.press("up")
        assert screen.unit == 1001


async def test_explain_reads_like_the_notebook():
    """At t = 1, unit 0 of the seed trace a student following the arithmetic
    on screen finds the notebook's numbers (its printout: f_t 0.24205837,
    c_t 0.43208765, h_t 0.18238503; h_{t-1} and c_{t-1} from step 0)."""
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right")
        await pilot.pause()
        text = explain_text(app)
        lines = text.splitlines()
        order = [next(n for n, line in enumerate(lines) if line.startswith(p))
                 for p in ("f_t = σ(", "i_t = σ(", "ĉ_t = tanh(", "c_t = f_t ⊙ c_{t-1} + i_t ⊙ ĉ_t",
                           "o_t = σ(", "h_t = o_t ⊙ tanh(c_t)")]
        assert order == sorted(order)
        e = app.debugger.trace.layers[0].explain(1, 0)
        g = e.gates["f"]
        # -1.0705 + -0.0710 + 0.0000 is -1.1415, not -1.1414: written ≈.
        assert ("f_t = σ(W_f·x_t -1.0705 + U_f·h_{t-1} -0.0710 + b_f 0.0000) ≈ σ(-1.1414) = 0.2421"
                in text)
        assert f"{g.pre:.4f}" == "-1.1414"
        assert "U_f·h " not in text and "U_f·h_{t-1}" in text
        assert "c_t = f_t ⊙ c_{t-1} + i_t ⊙ ĉ_t = 0.2421 × (-0.0355) + 0.8320 × 0.5297" in text
        assert "= (-0.0086) kept + 0.4407 written = 0.4321" in text  # c at t=1, unit 0
        assert "h_t = o_t ⊙ tanh(c_t) = 0.4480 × tanh(0.4321) = 0.4480 × 0.4071 = 0.1824" in text
        # Every input term (D = 4 ≤ 8) and every recurrent one (H = 2): the
        # list adds up to W_f·x_t, unlike the old "largest input terms".
        assert "W_f·x_t = W·x[0] 0.0290 + W·x[1] -0.2714 + W·x[2] -0.6860 + W·x[3] -0.1420 ≈ -1.0705" in text
        assert "U_f·h_{t-1} = U·h[0] -0.0057 + U·h[1] -0.0653 = -0.0710" in text
        assert "≈ where the rounded numbers shown miss the exact result" in text
        assert "unit 0 · t = 1" in title(app.screen.query_one(ExplainPane))


async def test_explain_one_hot_contribution_names_the_token():
    app = make_app(letters_trace("abcdefgh"), load_model=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right", "right", "right")
        await pilot.pause()
        assert "W·x[3]='d' " in explain_text(app)


async def test_explain_without_weights_and_on_masked_steps():
    app = make_app(no_weights_trace(), load_model=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right")
        await pilot.pause()
        text = explain_text(app)
        assert "no weights in this trace" in text
        assert "f_t = 0.2421 (recorded)" in text
        assert "c_t = f_t ⊙ c_{t-1} + i_t ⊙ ĉ_t" in text and "= 0.4321" in text
        assert "h_t = o_t ⊙ tanh(c_t)" in text
    app = make_app(masked_trace(), load_model=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right")
        await pilot.pause()
        assert explain_text(app).startswith("masked step")
        assert "masked" in screen_text(app).splitlines()[0]
        assert "masked" in title(pane(app, "f"))


async def test_explain_fits_80_columns_without_wrapping_equations():
    app = make_app(letters_trace("abcdefgh", units=32), load_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("right", "right")
        await pilot.pause()
        explain = app.screen.query_one(ExplainPane)
        width = explain.scrollable_content_region.width
        for line in explain_text(app).splitlines():
            assert len(line) <= width, line


async def test_timeline_marks_t_and_follows_long_traces():
    app = make_app(long_trace(300), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        timeline = app.screen.query_one(Timeline)
        lines = widget_lines(timeline)
        assert [line[:1] for line in lines[:6]] == ["f", "i", "ĉ", "c", "o", "h"]
        assert lines[6].startswith("t  ▲")
        assert all(ch in draw.SPARKS for ch in lines[0][3:40])
        app.debugger.go(t=250)
        await pilot.pause()
        lines = widget_lines(timeline)
        col = lines[6].index("▲")
        assert timeline._x0 > 0 and timeline._x0 + col - 3 == 250
        assert "250" not in lines[6][col - 1: col + 2]  # the marker is not glued to a number
        assert "t = 250" in title(timeline)
        # The cell under the marker is drawn in reverse video.
        strip = timeline.render_line(0)
        offset = 0
        for seg in strip:
            if offset <= col < offset + seg.cell_length:
                assert seg.style.reverse
                break
            offset += seg.cell_length


async def test_timeline_click_picks_a_step_and_pane_click_picks_a_unit():
    app = make_app(letters_trace("abcdefgh"), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        timeline = app.screen.query_one(Timeline)
        await pilot.click(timeline, offset=(3 + 5, 2))
        assert app.debugger.t == 5
        await pilot.click(pane(app, "o"), offset=(3, 1 + 2))
        assert app.debugger.unit == 2


async def test_status_line_shows_source_layer_step_token_and_prediction():
    trace = letters_trace("abcdefgh")
    app = make_app(trace, load_model=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("right", "right")
        first = screen_text(app).splitlines()[0]
        k = int(np.argmax(trace.probs[2]))
        assert "test: letters 'abcdefgh'" in first
        assert "layer 0 (lstm, 8 units)" in first
        assert "t = 2 of 0…7" in first
        assert "token 'c'" in first
        assert f"next '{'abcdefghijklmnopqrstuvwxyz'[k]}' {trace.probs[2, k]:.4f}" in first


async def test_status_line_compacts_and_never_cuts_the_step():
    app = make_app(two_layer_trace(), load_model=False)
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.press("right_square_bracket", "right")
        first = screen_text(app).splitlines()[0]
        assert "L1 backward_lstm 4u rev · t = 1 of 0…4 · 'd'" in first
        await pilot.resize_terminal(30, 12)
        await pilot.pause()
        first = screen_text(app).splitlines()[0]
        assert first.strip() == "t = 1 of 0…4"


async def test_tokens_with_markup_characters_are_shown_verbatim():
    trace = letters_trace("abc")
    trace.tokens = np.array(["[b]", "[/]", "x[0]"])
    app = make_app(trace, load_model=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert "token '[b]'" in screen_text(app)
        await pilot.press("right")
        assert "token '[/]'" in screen_text(app)
        assert "'[/]'" in title(pane(app, "x"))


async def test_two_layer_panes_switch_with_the_layer():
    app = make_app(two_layer_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert pane(app, "f").virtual_size.height == 6
        assert pane(app, "x").virtual_size.height == 26
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert pane(app, "f").virtual_size.height == 4
        assert pane(app, "x").virtual_size.height == 6  # layer 1 reads layer 0's h
        layer = app.debugger.trace.layers[1]
        assert f"{layer.f[0, 0]:.4f}" in widget_lines(pane(app, "f"))[0]


async def test_no_color_still_shows_the_cursor_and_warnings(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(bad_values_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right")
        assert app.no_color
        text = screen_text(app)
        # The selected unit and the bad values are text, not only colour.
        assert "▶0" in text and "NaN" in text and "+Inf" in text
        # The timeline marker is reverse video, which NO_COLOR keeps.
        timeline = app.screen.query_one(Timeline)
        strip = timeline.render_line(0)
        assert any(seg.style is not None and seg.style.reverse for seg in strip)
