"""Debugging in the screen: breakpoints (b c C, the breakpoints pane), the
health pane, comparing two runs (--diff, d D), token search (/ n N) and
watches (w), driven through the real app with Pilot.

``stops_trace`` has its answers built in: f[1] < 0.05 at steps 2, 5, 8;
h[0] > 0.5 at 5 and 9; the token 'the' at 0, 4, 7 ('then' at 10).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from textual.content import Content
from textual.widgets import Input, Static
from tui_helpers import (
    letters_trace,
    rerun_pair,
    screen_text,
    stops_trace,
    two_layer_trace,
    widget_lines,
)

import lstm_tui.tui.app as app_module
from lstm_tui.cli import main
from lstm_tui.core.trace import save
from lstm_tui.debug.conditions import Condition
from lstm_tui.debug.diff import Incomparable, difference
from lstm_tui.tui import draw, runs
from lstm_tui.tui.app import DebuggerScreen, make_app
from lstm_tui.tui.debug_lists import BreakpointList, HealthList, WatchList
from lstm_tui.tui.dialogs import AddBreakpointScreen, SearchScreen
from lstm_tui.tui.timeline import Timeline

SIZE = (100, 30)


def title(widget) -> str:
    """A widget's border title as the user reads it (no markup)."""
    return Content.from_markup(str(widget.border_title)).plain


def status(app) -> str:
    return screen_text(app).splitlines()[0]


def options(widget) -> list[str]:
    return [str(widget.get_option_at_index(k).prompt) for k in range(widget.option_count)]


def hit_row(app) -> str:
    """The timeline's breakpoint row, as on screen."""
    rows = [line for line in widget_lines(app.screen.query_one(Timeline)) if line.startswith("b ")]
    assert len(rows) == 1, widget_lines(app.screen.query_one(Timeline))
    return rows[0]


async def add(pilot, text: str) -> None:
    await pilot.press("b")
    assert isinstance(pilot.app.screen, AddBreakpointScreen)
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


# -- breakpoints -----------------------------------------------------------------


async def test_add_a_breakpoint_by_typing_it():
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        await pilot.press(*"f[1]", "space", "<", "space", *"0.05", "enter")
        await pilot.pause()
        assert isinstance(app.screen, DebuggerScreen)
        screen = app.debugger
        assert [bp.source for bp in screen.session.breakpoints] == ["f[1] < 0.05"]
        # the pane shows it with its hit count, the timeline marks the hits
        pane = screen.query_one(BreakpointList)
        assert screen.bottom == "breakpoints" and pane.display
        assert options(pane) == ["● f[1] < 0.05  3 hits"]
        assert hit_row(app) == "b  ··●··●··●···" + " " * (len(hit_row(app)) - 15)
        assert "breakpoint f[1] < 0.05: 3 hits on layer 0" in status(app)
        assert screen.t == 0  # adding does not move


async def test_parse_error_is_shown_in_the_dialog_under_its_column():
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        field = app.screen.query_one(Input)
        field.value = "f[1 < 0.05"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AddBreakpointScreen)  # still open
        error = str(app.screen.query_one("#breakpoint-error", Static).content)
        first, source, caret = error.splitlines()
        assert first.startswith("column 4: ") and "']'" in first
        assert source == "f[1 < 0.05"
        assert caret == "   ^"  # under column 4
        assert field.cursor_position == 3  # the input cursor too
        assert "   ^" in screen_text(app)
        field.value = "f[1] < 0.05"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DebuggerScreen)
        assert len(app.debugger.session.breakpoints) == 1


async def test_bind_error_index_out_of_range_is_shown_and_escape_cancels():
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        app.screen.query_one(Input).value = "f[7] < 0.05"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AddBreakpointScreen)
        error = str(app.screen.query_one("#breakpoint-error", Static).content)
        assert error.startswith("column 3: ") and "7" in error and "3" in error
        await pilot.press("escape")
        assert isinstance(app.screen, DebuggerScreen)
        assert app.debugger.session.breakpoints == ()


async def test_continue_forwards_and_backwards_stops_at_the_ends():
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await add(pilot, "f[1] < 0.05")
        seen = []
        for _ in range(3):
            await pilot.press("c")
            seen.append((screen.t, status(app).split("  ")[0].strip()))
        assert seen == [(2, "stopped: f[1] < 0.05 (hit 1 of 3)"),
                        (5, "stopped: f[1] < 0.05 (hit 2 of 3)"),
                        (8, "stopped: f[1] < 0.05 (hit 3 of 3)")]
        await pilot.press("c")
        assert screen.t == 8  # no wrap-around
        assert "no later hit: this is the last" in status(app)
        await pilot.press("end", "c")
        assert screen.t == 11 and "no later hit: the last is at t = 8" in status(app)
        await pilot.press("C")
        assert screen.t == 8 and "stopped: f[1] < 0.05 (hit 3 of 3)" in status(app)
        await pilot.press("C", "C")
        assert screen.t == 2
        await pilot.press("C")
        assert screen.t == 2 and "no earlier hit: this is the first" in status(app)
        await pilot.press("right")  # moving on drops the note
        assert "no earlier hit" not in status(app) and "test: stops" in status(app)


async def test_two_breakpoints_name_the_one_that_stopped():
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await add(pilot, "f[1] < 0.05")
        await add(pilot, "h[0] > 0.5")
        assert options(screen.query_one(BreakpointList)) == ["● f[1] < 0.05  3 hits",
                                                             "● h[0] > 0.5  2 hits"]
        assert hit_row(app).startswith("b  ··●··●··●●··")
        stops = []
        for _ in range(4):
            await pilot.press("c")
            stops.append((screen.t, status(app).split("   ")[0].strip()))
        assert stops == [(2, "stopped: f[1] < 0.05 (hit 1 of 3)"),
                         (5, "stopped: f[1] < 0.05 (hit 2 of 3) · 1 more hold here"),
                         (8, "stopped: f[1] < 0.05 (hit 3 of 3)"),
                         (9, "stopped: h[0] > 0.5 (hit 2 of 2)")]


async def test_continue_is_dimmed_without_an_enabled_breakpoint():
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.pause()
        footer = {k.key: k for k in screen.query("FooterKey")}
        assert footer["c"].has_class("-disabled")
        assert screen.check_action("resume", (False,)) is None
        await pilot.press("c")
        assert screen.t == 0
        await add(pilot, "f[1] < 0.05")
        footer = {k.key: k for k in screen.query("FooterKey")}
        assert not footer["c"].has_class("-disabled")
        assert screen.check_action("resume", (True,)) is True


async def test_enable_disable_and_delete_with_the_keyboard():
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await add(pilot, "f[1] < 0.05")
        await add(pilot, "h[0] > 0.5")
        await pilot.press("E")
        assert screen.bottom == "explain"
        await pilot.press("B")
        pane = screen.query_one(BreakpointList)
        assert app.focused is pane and screen.bottom == "breakpoints"
        await pilot.press("space")  # the first is highlighted
        assert [bp.enabled for bp in screen.session.breakpoints] == [False, True]
        assert screen.pins == screen.session.pins()  # what the list shows is the session's, published
        assert options(pane)[0] == "○ f[1] < 0.05  3 hits  off"
        assert hit_row(app).startswith("b  ·····●···●··")
        await pilot.press("c")
        assert screen.t == 5  # the disabled one does not stop
        await pilot.press("down", "space")
        assert not any(bp.enabled for bp in screen.session.breakpoints)
        assert screen.hit_marks is None  # no row of hits with nothing enabled
        assert screen.check_action("resume", (False,)) is None
        await pilot.press("up", "space", "x")
        assert [bp.source for bp in screen.session.breakpoints] == ["h[0] > 0.5"]
        await pilot.press("delete")
        assert screen.session.breakpoints == ()
        assert options(pane)[0].startswith("no breakpoints")
        # ← → still step with the list focused
        await pilot.press("left")
        assert screen.t == 4


async def test_enter_in_the_list_goes_to_that_breakpoints_next_hit():
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await add(pilot, "f[1] < 0.05")
        await add(pilot, "h[0] > 0.5")
        await pilot.press("B", "down", "enter")
        assert app.debugger.t == 5
        assert "stopped: h[0] > 0.5 (hit 1 of 2)" in status(app)


async def test_hits_are_evaluated_once_per_condition_and_layer(monkeypatch):
    calls: list[tuple[str, int]] = []
    real = Condition.evaluate

    def counting(self, trace, layer=0, **kwargs):
        calls.append((self.source, layer))
        return real(self, trace, layer, **kwargs)

    monkeypatch.setattr(Condition, "evaluate", counting)
    app = make_app(two_layer_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await add(pilot, "h[0] > 0")
        await pilot.press("c", "c", "right", "left", "C", "down", "end", "home")
        await pilot.press("right_square_bracket", "c", "right", "left_square_bracket", "c",
                          "right_square_bracket")
        assert sorted(calls) == [("h[0] > 0", 0), ("h[0] > 0", 1)]


async def test_breakpoints_are_re_evaluated_for_the_layer_and_the_trace():
    trace = two_layer_trace()
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await add(pilot, "h[5] > -2")  # layer 0 has 6 units, layer 1 only 4
        pane = screen.query_one(BreakpointList)
        assert options(pane) == ["● h[5] > -2  5 hits"]
        await pilot.press("right_square_bracket")
        [line] = options(pane)
        assert "✗ column 3:" in line and "layer 1" in title(pane)
        assert hit_row(app).startswith("b  ·····")  # fits no layer-1 step
        await pilot.press("c")
        assert screen.t == 0 and "no enabled breakpoint holds on layer 1" in status(app)
        await pilot.press("left_square_bracket")
        screen.set_trace(stops_trace())  # 3 units: h[5] does not fit
        await pilot.pause()
        assert "✗" in options(pane)[0]
        screen.set_trace(trace)
        await pilot.pause()
        assert options(pane) == ["● h[5] > -2  5 hits"]


# -- health -----------------------------------------------------------------------


def nan_trace():
    trace = letters_trace("abcdefgh", units=4)
    trace.layers[0].h[4, 2] = np.nan
    return trace


async def test_health_pane_lists_the_nan_first_and_enter_goes_there():
    app = make_app(nan_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.pause()
        assert "⚠ NaN" in status(app)
        assert screen.alarm == "NaN"
        await pilot.press("H")
        pane = screen.query_one(HealthList)
        assert app.focused is pane and pane.display
        lines = options(pane)
        assert lines[0].startswith("error  layer 0: NaN at step 4 in h[2]")
        assert [f.severity for f in screen.findings][0] == "error"
        assert any(line.startswith("info") for line in lines[1:])
        await pilot.press("enter")
        assert (screen.t, screen.unit) == (4, 2)
        assert "NaN" in screen_text(app)
        # another finding: the largest |c|, at its step and unit
        k = next(i for i, f in enumerate(screen.findings) if f.kind == "max_c")
        for _ in range(k):
            await pilot.press("down")
        await pilot.press("enter")
        found = screen.findings[k]
        assert (screen.t, screen.unit) == (found.step, found.unit)


async def test_a_large_trace_is_scanned_in_a_worker(monkeypatch):
    monkeypatch.setattr(app_module, "BIG_TRACE", 0)
    app = make_app(nan_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.debugger.findings and app.debugger.findings[0].kind == "nan"
        assert "⚠ NaN" in status(app)


async def test_a_new_trace_cancels_the_health_scan_of_the_last(monkeypatch):
    """The health scan of a large trace runs in an exclusive worker that
    opening another trace cancels: the old scan stops at its next block,
    and only the new trace's findings arrive."""
    import threading

    import lstm_tui.debug.health as health

    monkeypatch.setattr(app_module, "BIG_TRACE", 0)
    first, second = stops_trace(), nan_trace()
    started, stopped, never = threading.Event(), threading.Event(), threading.Event()
    real_scan = health.scan

    def slow_scan(trace, check=None, **kwargs):
        if trace is first:
            started.set()
            try:
                for _ in range(1000):  # a scan of many blocks: ``check`` between them
                    check()
                    never.wait(0.005)
            except BaseException:
                stopped.set()
                raise
            return []  # never cancelled: the test fails below
        return real_scan(trace, check=check, **kwargs)

    monkeypatch.setattr(health, "scan", slow_scan)
    app = make_app(first, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert started.wait(5)
        scans = [w for w in app.workers if w.name == "run_scan"]
        assert [w.group for w in scans] == ["scan-health"]
        app.debugger.set_trace(second)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert stopped.is_set()
        assert scans[0].is_cancelled
        assert app.debugger.findings and app.debugger.findings[0].kind == "nan"
        assert "⚠ NaN" in status(app)


async def test_a_healthy_trace_has_no_alarm():
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "⚠" not in status(app) and app.debugger.alarm == ""


# -- comparing two runs -------------------------------------------------------------


def pair():
    a = letters_trace("abcdefgh", units=4)
    b = copy.deepcopy(a)
    b.source = "test: run B"
    b.layers[0].c[3, 2] += 0.25
    b.layers[0].h[5, 1] -= 0.5
    return a, b


def pane_row(app, vector: str, unit: int) -> str:
    pane = app.screen.query_one(f"#pane-{vector}")
    return next(line for line in widget_lines(pane) if line.lstrip("▶ ").startswith(f"{unit} "))


async def test_diff_view_shows_b_minus_a_and_d_switches_runs():
    a, b = pair()
    app = make_app(a, load_model=False, diff=b)
    # 32 lines: the timeline's two |B−A| rows take two of the panes' lines.
    async with app.run_test(size=(100, 32)) as pilot:
        screen = app.debugger
        await pilot.pause()
        assert screen.run == "delta"
        assert "diff vs test: run B" in status(app)
        c_pane = screen.query_one("#pane-c")
        await pilot.press("right", "right", "right", "down", "down")  # t = 3, unit 2
        assert title(c_pane).startswith("c_t B−A") and "±0.25" in title(c_pane)
        assert "+0.2500" in pane_row(app, "c", 2)
        assert pane_row(app, "c", 2).rstrip().endswith("█")  # the full bar: the largest difference
        assert pane_row(app, "c", 1).lstrip("▶ ").split()[1] == "0"
        # explain and the timeline follow the run shown, and say which
        assert "B−A" in title(screen.query_one("#explain"))
        assert "B−A" in title(screen.query_one("#timeline"))
        await pilot.press("d")
        assert screen.run == "a" and title(c_pane).startswith("c_t A ")
        assert f"{a.layers[0].c[3, 2]:.4f}" in pane_row(app, "c", 2)
        await pilot.press("d")
        assert screen.run == "b" and title(c_pane).startswith("c_t B ")
        assert f"{b.layers[0].c[3, 2]:.4f}" in pane_row(app, "c", 2)
        await pilot.press("d")
        assert screen.run == "delta"


def explain_body(app) -> str:
    return str(app.screen.query_one("#explain-body", Static).content)


async def test_diff_view_explain_and_timeline_follow_the_run_shown():
    a, b = rerun_pair()  # B: unit 2's forget bias raised by 1, the pass run again
    app = make_app(a, load_model=False, diff=b)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.debugger
        explain, timeline = screen.query_one("#explain"), screen.query_one(Timeline)
        await pilot.press("d")  # A
        await pilot.press("right", "right", "down", "down")  # t = 2, unit 2
        await pilot.pause()
        assert screen.run == "a" and "run A" in title(explain) and "run A" in title(timeline)
        fa, fb = a.layers[0].f[2, 2], b.layers[0].f[2, 2]
        assert f"{fa:.4f}" != f"{fb:.4f}"
        assert f") = {fa:.4f}" in explain_body(app) and f"{fb:.4f}" not in explain_body(app)
        series_a = next(line for line in widget_lines(timeline) if line.startswith("f "))
        await pilot.press("d")  # B
        await pilot.pause()
        assert screen.run == "b" and "run B" in title(explain) and "run B" in title(timeline)
        # B's own arithmetic, with B's weights: its raised bias, its f
        assert f"b {b.layers[0].cell.b['f'][2]:.4f}) = σ(" in explain_body(app)
        assert f") = {fb:.4f}" in explain_body(app) and f"{fa:.4f}" not in explain_body(app)
        series_b = next(line for line in widget_lines(timeline) if line.startswith("f "))
        assert series_b != series_a
        assert series_b[5:5 + a.steps] == "".join(draw.sparks(b.layers[0].f[:, 2], draw.GATE_SCALE))
        await pilot.press("d")  # B − A: both runs, one over the other, and the difference
        await pilot.pause()
        assert screen.run == "delta" and "B−A" in title(explain) and "B−A" in title(timeline)
        lines = explain_body(app).splitlines()
        f_a = next(line for line in lines if line.startswith("f A "))
        f_b = lines[lines.index(f_a) + 1]
        assert f_a.endswith(f"= {fa:.4f}") and f"= {fb:.4f}" in f_b
        assert f_b.endswith(f"B−A {fb - fa:+.4f}")
        assert all(line.cell_length <= 79 for line in
                   app.screen.query_one("#explain-body", Static).content.split("\n"))
        series_d = next(line for line in widget_lines(timeline) if line.startswith("f "))
        delta = difference(a.layers[0].f[:, 2], b.layers[0].f[:, 2])
        scale = runs.stats(a, b, "delta", 0, "f").scale
        assert series_d[5:5 + a.steps] == "".join(draw.sparks(delta, scale))
        assert f"c {runs.stats(a, b, 'delta', 0, 'c').scale.label()}" in title(timeline)


async def test_diff_view_with_a_shorter_b_says_so_and_leaves_its_steps_blank():
    a = letters_trace("abcdefgh", units=4)
    b = letters_trace("abcde", units=4, source="test: run B")
    app = make_app(a, load_model=False, diff=b)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        timeline = screen.query_one(Timeline)
        await pilot.press("end")  # t = 7: B has steps 0…4 only
        await pilot.pause()
        assert "run B has 5 steps: no step t = 7 to compare" in explain_body(app)
        f_row = next(line for line in widget_lines(timeline) if line.startswith("f "))
        assert f_row[5:10] == "".join(draw.sparks(np.zeros(5), runs.stats(a, b, "delta", 0, "f").scale))
        assert f_row[10:13] == "   "  # B's missing steps: blank, not a NaN alarm
        await pilot.press("d", "d")  # run B
        await pilot.pause()
        assert "run B has 5 steps: no step t = 7 to show" in explain_body(app)
        f_row = next(line for line in widget_lines(timeline) if line.startswith("f "))
        assert f_row[5:10] == "".join(draw.sparks(b.layers[0].f[:, 0], draw.GATE_SCALE))
        assert f_row[10:13] == "   "


async def test_diff_view_header_shows_b_token_and_prediction_in_run_b():
    a, b = pair()
    b.tokens = np.array(list("ABCDEFGH"))
    app = make_app(a, load_model=False, diff=b)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.press("right")
        # (compact: the status line also says where the runs differ)
        assert "· 'b' ·" in status(app)
        await pilot.press("d", "d")
        assert screen.run == "b" and "· 'B' ·" in status(app)
        assert "token A 'b' B 'B'" not in title(screen.query_one("#explain"))
        await pilot.press("d")
        assert "token A 'b' B 'B'" in title(screen.query_one("#explain"))


async def test_capital_d_goes_to_the_first_divergence():
    a, b = pair()
    app = make_app(a, load_model=False, diff=b)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.press("d", "down", "D")
        assert (screen.t, screen.unit, screen.run) == (3, 2, "delta")
        assert "first divergence: c[2]" in status(app)


async def test_diff_keys_are_absent_without_a_second_run():
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.debugger.check_action("cycle_run", ()) is False
        assert app.debugger.check_action("first_divergence", ()) is False
        assert "d" not in {k.key for k in app.screen.query("FooterKey")}


def test_make_app_refuses_an_incomparable_second_run():
    with pytest.raises(Incomparable, match="units"):
        make_app(stops_trace(), load_model=False, diff=letters_trace(units=4))


def test_view_diff_incomparable_exits_2_with_one_line(capsys, tmp_path):
    a = save(stops_trace(), tmp_path / "a.npz")
    b = save(letters_trace(units=4), tmp_path / "b.npz")
    with pytest.raises(SystemExit) as e:
        main(["view", str(a), "--diff", str(b), "--no-model"])
    out, err = capsys.readouterr()
    assert e.value.code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"lstm-tui: error: {a} and {b} cannot be compared: layer 0:")


def test_view_diff_hands_the_second_run_to_the_app(tmp_path, monkeypatch):
    a, b = pair()
    pa, pb = save(a, tmp_path / "a.npz"), save(b, tmp_path / "b.npz")
    built = []
    monkeypatch.setattr(app_module.LstmTuiApp, "run", lambda self: built.append(self))
    with pytest.raises(SystemExit) as e:
        main(["view", str(pa), "--diff", str(pb), "--no-model"])
    assert e.value.code == 0
    assert built[0]._screen_options["other"].path == pb


# -- search and watches -------------------------------------------------------------


async def test_search_and_n_N():
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        assert screen.check_action("search_step", (False,)) is None  # no search yet
        await pilot.press("right", "slash")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"the", "enter")
        assert screen.t == 4  # the first match at or after t = 1
        assert "search 'the': match 2 of 4, token 'the'" in status(app)
        await pilot.press("n")
        assert screen.t == 7
        await pilot.press("n")
        assert screen.t == 10  # 'then' contains 'the'
        await pilot.press("n")
        assert screen.t == 10 and "no later match" in status(app)
        await pilot.press("N", "N", "N")
        assert screen.t == 0
        await pilot.press("N")
        assert screen.t == 0 and "no earlier match" in status(app)
        # quoted: the whole token only; the dialog offers the last query
        await pilot.press("slash")
        assert app.screen.query_one(Input).value == "the"
        app.screen.query_one(Input).value = "'the'"
        await pilot.press("enter")
        assert screen.t == 0  # a match at t itself counts
        await pilot.press("n", "n", "n")
        assert screen.t == 7 and "no later match" in status(app)  # not 10 ('then')
        await pilot.press("slash")
        app.screen.query_one(Input).value = "zebra"
        await pilot.press("enter")
        assert screen.t == 7 and "no token matches" in status(app)
        assert screen.check_action("search_step", (False,)) is None


async def test_search_is_case_sensitive_and_needs_tokens():
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        app.debugger.search("THE")
        assert "no token matches" in status(app)
    trace = stops_trace()
    trace.tokens = None
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.debugger.check_action("search", ()) is None
        await pilot.press("slash")
        assert isinstance(app.screen, DebuggerScreen)


async def test_w_pins_and_unpins_a_unit_and_the_watches_follow_the_step():
    trace = letters_trace("abcdefgh", units=4)
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        assert not screen.query(WatchList)  # mounted the first time it is shown
        await pilot.press("down", "down", "w")
        table = screen.query_one(WatchList)
        assert screen.session.watches == ((0, 2),)
        assert screen.bottom == "watches" and table.display
        await pilot.pause()
        layer = trace.layers[0]

        def row() -> list[str]:
            return [str(cell) for cell in table.get_row_at(0)]

        assert row() == ["▶2", *(f"{layer.vector(v)[0, 2]:.4f}" for v in ("f", "i", "c_hat", "c", "o", "h"))]
        await pilot.press("right", "right")
        await pilot.pause()
        assert row()[1:] == [f"{layer.vector(v)[2, 2]:.4f}" for v in ("f", "i", "c_hat", "c", "o", "h")]
        assert f"{layer.h[2, 2]:.4f}" in screen_text(app)
        await pilot.press("up", "w")  # a second unit
        assert screen.session.watches == ((0, 2), (0, 1))
        assert screen.pins.watches == screen.session.watches
        await pilot.pause()
        assert table.row_count == 2 and str(table.get_row_at(0)[0]) == " 2"
        await pilot.press("w")  # on a watched unit: unpins it
        assert screen.session.watches == ((0, 2),)
        await pilot.press("W", "enter")  # Enter selects the watched unit
        assert screen.unit == 2
        await pilot.press("x")
        assert screen.session.watches == ()


# -- layout -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (250, 70)])
async def test_extra_panes_fit_without_overlap(size):
    app = make_app(stops_trace(), load_model=False)
    async with app.run_test(size=size) as pilot:
        screen = app.debugger
        await add(pilot, "f[1] < 0.05")
        await pilot.press("down", "w")  # unit 1 pinned
        assert screen.session.watches == ((0, 1),)
        width, height = size
        for view in ("breakpoints", "health", "watches", "explain"):
            await pilot.press(view[0].upper())
            await pilot.pause()
            assert app.focused is screen.query_one(f"#{view}")
            regions = [screen.query_one(sel).region for sel in
                       ("#status", "#panes", f"#{view}", "#timeline", "Footer")]
            for r in regions:
                assert r.height > 0 and r.right <= width and r.bottom <= height, (view, r, size)
            for k, r in enumerate(regions):
                for other in regions[k + 1:]:
                    assert not r.overlaps(other), (view, r, other)
            assert screen.query_one(f"#{view}").region.height >= 2  # its title and a row at least
            assert "b  ··●" in screen_text(app)  # the row of hits is on screen


async def test_a_new_trace_is_scanned_again():
    app = make_app(nan_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.pause()
        assert screen.alarm == "NaN"
        screen.set_trace(stops_trace())
        await pilot.pause()
        assert screen.alarm == "" and "⚠" not in status(app)
        assert all(f.kind != "nan" for f in screen.findings)
