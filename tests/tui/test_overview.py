"""The overview (``O``): one vector as units × time, a heat map.

Through Pilot: ``O`` shows it for the focused pane's vector, in the place
of the panes; its cursor stands on the screen's (t, unit) and its cell is
drawn as the cursor; the overview's own keys move that cursor without
moving the screen, and Enter (or a click) takes the screen there; on a
long memory-mapped trace it reads the window on screen and nothing else;
NaN cells take the warning colour. Snapshots at 120×40 and 80×24.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import random_trace
from textual.content import Content
from tui_helpers import CountingLoader, letters_trace, screen_text, widget_lines

import lstm_tui.tui.files as files
from lstm_tui.core.trace import load, save
from lstm_tui.tui import runs
from lstm_tui.tui.app import make_app
from lstm_tui.tui.overview import CURSOR, HERE, UPPER, WARN, Overview, codes

APPS = Path(__file__).parent / "snapshot_apps"
SIZE = (100, 30)


def _app(trace=None):
    return make_app(trace if trace is not None else letters_trace("abcdefghijklmnop", units=8),
                    predictor_loader=CountingLoader())


def overview(app) -> Overview:
    return app.screen.query_one("#overview", Overview)


def cell(widget: Overview, t: int, unit: int):
    """(glyph, rich style) of the half cell of step ``t``, row ``unit``."""
    found = widget.cell_of(t, unit)
    assert found is not None, "not on screen"
    x, y = found
    strip = widget.render_line(y)
    pos = 0
    for segment in strip:
        if pos + len(segment.text) > x:
            return segment.text[x - pos], segment.style
        pos += len(segment.text)
    raise AssertionError("past the end of the line")


def title(widget: Overview) -> str:
    return Content.from_markup(str(widget.border_title)).plain


def half(widget: Overview, t: int, unit: int):
    """The colour of the half cell of (t, unit): the glyph's foreground for
    an even unit (upper half), its background for an odd one."""
    glyph, style = cell(widget, t, unit)
    assert glyph == UPPER
    return style.color if unit % 2 == 0 else style.bgcolor


def colour(widget: Overview, code: int):
    assert widget._palette is not None
    return widget._palette[code].color


def test_codes_on_fixed_scales():
    from lstm_tui.core.scales import GATE_SCALE, SIGNED_SCALE

    assert codes(np.array([0.0, 0.5, 1.0, 2.0, np.nan]), GATE_SCALE).tolist() == [0, 4, 8, 8, WARN]
    # Signed: below zero on the other side's levels; ±Inf are warnings too.
    assert codes(np.array([-1.0, -0.25, 0.0, 0.25, np.inf, -np.inf]), SIGNED_SCALE).tolist() == \
        [16, 10, 0, 2, WARN, WARN]


async def test_O_shows_the_focused_panes_vector_and_closes_again():
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#pane-c").focus()
        await pilot.press("O")
        await pilot.pause()
        widget = overview(app)
        assert widget.display and app.screen.focused is widget
        assert not app.screen.query_one("#panes").display and not app.screen.query_one("#explain").display
        assert title(widget).startswith("c_t overview")
        # c's symmetric scale, the panes' own, in the legend.
        scale = runs.stats(app.screen.trace, None, "a", 0, "c").scale
        assert scale.signed and f"{scale.lo:.3g} " in title(widget) and f" {scale.hi:.3g}  NaN" in title(widget)
        # Its rows are c's units, labelled two a row, under an axis of steps.
        lines = widget_lines(widget)
        assert lines[0].split() == ["▼", "10"]  # the cursor's mark over step 0; 16 steps
        assert [line.split()[0] for line in lines[1:5]] == ["0", "2", "4", "6"]
        await pilot.press("O")
        await pilot.pause()
        assert not widget.display and app.screen.query_one("#panes").display
        assert app.screen.focused is app.screen.query_one("#pane-c")
        assert app.screen.query_one("#explain").display


async def test_O_without_a_focused_pane_shows_the_last_one_or_f():
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("O")
        await pilot.pause()
        assert overview(app).vector == "f"
        assert title(overview(app)).startswith("f_t overview")


async def test_the_cursor_cell_is_the_screens_step_and_unit():
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "right", "right", "right", "right", "down", "down", "down", "O")
        await pilot.pause()
        widget = overview(app)
        assert (app.screen.t, app.screen.unit) == (5, 3)
        assert (widget.cursor_t, widget.cursor_unit) == (5, 3)
        assert half(widget, 5, 3) == colour(widget, CURSOR)
        # The other unit of that cell keeps its own colour: f of unit 2 at t = 5.
        f = app.screen.trace.layers[0].f[5, 2]
        assert half(widget, 5, 2) == colour(widget, int(codes(np.array([f]), widget._scale)[0]))
        # The axis marks the cursor's column, the gutter its row.
        x, y = widget.cell_of(5, 3)
        assert widget.render_line(0).text[x] == "▼"
        assert widget.render_line(y).text.split()[0] == "2"
        assert "t = 5 · unit 3: " + f"{app.screen.trace.layers[0].f[5, 3]:.4f}" in title(widget)


async def test_the_overviews_keys_move_its_cursor_and_enter_goes_there():
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "O")
        await pilot.pause()
        widget = overview(app)
        await pilot.press("right", "right", "l", "down", "j", "j", "k")
        await pilot.pause()
        # The screen has not moved: its cell is marked apart from the cursor's.
        assert (app.screen.t, app.screen.unit) == (1, 0)
        assert (widget.cursor_t, widget.cursor_unit) == (4, 2)
        assert half(widget, 4, 2) == colour(widget, CURSOR)
        assert half(widget, 1, 0) == colour(widget, HERE)
        assert "t = 4 · unit 2" in title(widget)
        await pilot.press("enter")
        await pilot.pause()
        assert (app.screen.t, app.screen.unit) == (4, 2)
        # Back to the panes, which show the place.
        assert not widget.display and app.screen.query_one("#panes").display
        assert "t = 4" in screen_text(app).splitlines()[0]


async def test_a_click_goes_there_and_stays():
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("O")
        await pilot.pause()
        widget = overview(app)
        x, y = widget.cell_of(6, 4)
        region = widget.content_region
        await pilot.click(offset=(region.x + x, region.y + y))
        await pilot.pause()
        assert (app.screen.t, app.screen.unit) == (6, 4)
        assert (widget.cursor_t, widget.cursor_unit) == (6, 4)
        assert widget.display


async def test_a_key_that_cannot_move_the_cursor_says_why():
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("O", "left")
        await pilot.pause()
        assert "overview: already at the first step" in screen_text(app).splitlines()[0]
        await pilot.press("up")
        await pilot.pause()
        assert "overview: already at the first row" in screen_text(app).splitlines()[0]
        assert (overview(app).cursor_t, app.screen.t) == (0, 0)


async def test_escape_closes_it_and_a_list_key_takes_the_slot_back():
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("O", "escape")
        await pilot.pause()
        assert not overview(app).display and app.screen.query_one("#panes").display
        await pilot.press("O", "W")
        await pilot.pause()
        assert not overview(app).display and app.screen.query_one("#watches").display


async def test_nan_and_inf_cells_take_the_warning_colour():
    trace = letters_trace("abcdefghijklmnop", units=8)
    trace.layers[0].h[3, 2] = np.nan
    trace.layers[0].h[7, 5] = -np.inf
    app = _app(trace)
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#pane-h").focus()
        await pilot.press("O")
        await pilot.pause()
        widget = overview(app)
        assert half(widget, 3, 2) == colour(widget, WARN)
        assert half(widget, 7, 5) == colour(widget, WARN)
        assert half(widget, 3, 3) != colour(widget, WARN)
        await pilot.press(*["right"] * 3, "down", "down")
        await pilot.pause()
        assert "t = 3 · unit 2: NaN" in title(widget)


class Reads:
    """A trace member that records how it is indexed (and passes the
    reads on to the memory-mapped array under it)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.keys: list[object] = []
        self.shape, self.dtype, self.ndim, self.size = array.shape, array.dtype, array.ndim, array.size

    def __getitem__(self, key):
        self.keys.append(key)
        return self.array[key]

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("the whole member was read")


T = 5000


@pytest.fixture
def long_path(tmp_path):
    path = tmp_path / "long.npz"
    save(random_trace(seed=3, T=T, D=3, H=12, dtype=np.float32), path)
    return path


async def test_a_long_memory_mapped_trace_reads_only_the_window_on_screen(long_path, monkeypatch):
    monkeypatch.setattr(files, "IN_MEMORY_BELOW", 0)  # keep it mapped
    trace = load(long_path)
    assert trace.mapped
    app = _app(trace)
    async with app.run_test(size=SIZE) as pilot:
        assert files.is_mapped(app.screen.trace)
        app.screen.go(t=4000, unit=9)
        await pilot.pause()
        layer = app.screen.trace.layers[0]
        reads = Reads(layer.f)
        layer.f = reads  # what the overview reads from now on
        await pilot.press("O")
        await pilot.pause()
        widget = overview(app)
        span = widget.scrollable_content_region.width - 3  # the gutter: "10 "
        x0 = round(widget.scroll_offset.x)
        # The window is around t, and its axis says where it starts.
        assert x0 <= 4000 < x0 + span and x0 > 3900
        assert widget_lines(widget)[0].split()[0] == str(x0)
        assert cell(widget, 4000, 9)[0] == UPPER
        # Scroll on both ways with the keys: home, then across the first page.
        await pilot.press("home", "pagedown", "down", "down")
        await pilot.pause()
        assert widget_lines(widget)[0].split()[0] == str(round(widget.scroll_offset.x))
        assert round(widget.scroll_offset.x) < span
        await pilot.press("end")
        await pilot.pause()
        assert widget_lines(widget)[0].split()[0] == str(T - span)
        # Only windows were read: two slices, never more steps than fit, and
        # each window once per frame (not once per row).
        assert reads.keys
        for key in reads.keys:
            assert isinstance(key, tuple) and all(isinstance(k, slice) for k in key), key
            assert key[0].stop - key[0].start <= span
        # The first window read was already the one around t.
        assert widget.windows_read[0][0] <= 4000 < widget.windows_read[0][1]
        # Each window read once (not once per row); the other reads are the
        # one value under the cursor, for the title.
        windows = [(k[0].start, k[0].stop, k[1].start, k[1].stop) for k in reads.keys if k[0].stop - k[0].start > 1]
        assert windows == widget.windows_read and len(set(windows)) == len(windows)
        assert len(windows) + sum(k[0].stop - k[0].start == 1 for k in reads.keys) == len(reads.keys)
        assert (app.screen.t, app.screen.unit) == (4000, 9)  # the keys moved the overview alone


def test_overview_snapshot_120x40(snap_compare):
    async def open_c(pilot) -> None:
        await pilot.pause()
        pilot.app.screen.query_one("#pane-c").focus()
        await pilot.press("O", "end", "down", "down", "down", "down", "down")
        pilot.app.clear_notifications()  # the health scan's NaN notice
        await pilot.pause()

    assert snap_compare(APPS / "overview_app.py", run_before=open_c, terminal_size=(120, 40))


def test_overview_snapshot_80x24(snap_compare):
    async def open_f(pilot) -> None:
        await pilot.press(*["right"] * 6, "down", "down", "O", "right", "right", "down")
        pilot.app.clear_notifications()  # the health scan's NaN notice
        await pilot.pause()

    assert snap_compare(APPS / "overview_app.py", run_before=open_f, terminal_size=(80, 24))


async def test_the_overview_of_x_has_a_row_per_input_and_enter_picks_a_step_only():
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down")
        app.screen.query_one("#pane-x").focus()
        await pilot.press("O")
        await pilot.pause()
        widget = overview(app)
        assert title(widget).startswith("x_t overview")
        assert widget.virtual_size.height == 26 // 2 + 1  # one-hot over a–z, and the axis
        await pilot.press("right", "right", "down", "down", "down")
        assert "t = 2 · row 4: " in title(widget)
        await pilot.press("enter")
        await pilot.pause()
        assert (app.screen.t, app.screen.unit) == (2, 1)  # x's rows are inputs, not units


async def test_the_overview_and_zoom_never_leave_the_screen_blank():
    """z then O, O z then E, O z then O: the layout is restored before the
    overview comes or goes, so a zoomed widget it hides (or the zoomed
    overview, once gone) cannot leave only the background on screen."""
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.press("z", "O")  # the f pane zoomed, then the overview
        await pilot.pause()
        assert screen.maximized is None and "f_t overview" in screen_text(app)
        await pilot.press("z")  # the overview zoomed...
        await pilot.pause()
        assert screen.maximized is overview(app)
        await pilot.press("E")  # ...and the explain pane asked for
        await pilot.pause()
        assert screen.maximized is None and not screen.has_class("-overview")
        assert "explain" in screen_text(app) and "f_t" in screen_text(app)
        await pilot.press("O", "z", "O")  # zoomed overview closed with O
        await pilot.pause()
        assert screen.maximized is None and "x_t" in screen_text(app)
