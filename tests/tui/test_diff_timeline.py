"""How long a change lives, on screen: the diff timeline's |B − A| rows
(the unit's c and h, each layer's largest), marked beyond the tolerance
where the core's rule says so, the status line's span of steps, and the
memory row (M) against np.prod; a snapshot of the diff timeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from lifetime_pair import edited_pair
from textual.content import Content
from tui_helpers import letters_trace, screen_text

import lstm_tui.debug.lifetime as lifetime
from lstm_tui.core.bounds import rounding_bounds
from lstm_tui.core.lstm import VECTORS
from lstm_tui.core.numeric import abs_difference, beyond
from lstm_tui.tui.app import make_app
from lstm_tui.tui.catalogue import set_language
from lstm_tui.tui.timeline import Timeline

APPS = Path(__file__).parent / "snapshot_apps"
SIZE = (120, 40)


def bounds(a, b, k):
    ba = rounding_bounds(a.layers[k], free_running=True, depth=k)
    bb = rounding_bounds(b.layers[k], free_running=True, depth=k)
    return {v: np.maximum(ba[v], bb[v]) for v in VECTORS}


def row_cells(timeline: Timeline, label: str) -> tuple[int, list[tuple[str, bool]]]:
    """(first step on screen, [(character, bold)] per step) of the row whose
    label starts with ``label``."""
    width = timeline._label_width
    for y in range(timeline.scrollable_content_region.height):
        strip = timeline.render_line(y)
        if strip.text[:width].rstrip() == label or (label == "Π" and strip.text.startswith("Π")):
            cells = []
            for seg in strip:
                for ch in seg.text:
                    cells.append((ch, bool(seg.style and seg.style.bold)))
            return timeline._x0, cells[width:]
    raise AssertionError(f"no row {label!r}")


def title(widget) -> str:
    return Content.from_markup(str(widget.border_title)).plain


async def test_difference_rows_mark_the_steps_numpy_finds_beyond_the_tolerance():
    a, b = edited_pair(T=90, layers=2)
    app = make_app(a, load_model=False, diff=b)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("down", "down", *["right"] * 40)  # unit 2, t = 40: the window shows the tail
        await pilot.pause()
        timeline = app.debugger.query_one(Timeline)
        la, lb = a.layers[0], b.layers[0]
        bnd = bounds(a, b, 0)
        err_c, err_h = abs_difference(la.c, lb.c)[:, 2], abs_difference(la.h, lb.h)[:, 2]
        over = beyond(abs_difference(la.c, lb.c), bnd["c"])[:, 2] | beyond(abs_difference(la.h, lb.h), bnd["h"])[:, 2]
        x0, cells = row_cells(timeline, "Δc,h")
        steps = range(x0, min(x0 + len(cells), 90))
        assert 40 in steps and len(steps) > 60
        for t, (ch, bold) in zip(steps, cells):
            assert (ch == "·") == (err_c[t] == 0 and err_h[t] == 0), t
            assert bold == bool(over[t]), t
        assert any(bold for _, bold in cells) and any(not bold and ch != "·" for ch, bold in cells)
        for k in (0, 1):
            lk = bounds(a, b, k)
            layer_over = np.any([beyond(abs_difference(a.layers[k].vector(v), b.layers[k].vector(v)), lk[v])
                                 .any(axis=1) for v in VECTORS], axis=0)
            x0, cells = row_cells(timeline, f"ΔL{k}")
            for t, (_, bold) in zip(steps, cells):
                assert bold == bool(layer_over[t]), (k, t)
            if k == 0:
                first, last = np.flatnonzero(layer_over)[[0, -1]]
        # The status line: where layer 0 (shown) differs beyond the tolerance.
        top = screen_text(app).splitlines()[0]
        assert f"differ t = {first}…{last} (L0)" in top
        assert first == 5 and last < 89
        # Back to the start: nothing differs before the edit.
        await pilot.press("home")
        _, cells = row_cells(timeline, "Δc,h")
        assert [ch for ch, _ in cells[:5]] == ["·"] * 5 and cells[5][1]
        assert "Δ log" in title(timeline)


async def test_the_status_line_speaks_portuguese_and_says_so_in_full_when_wide():
    a, b = edited_pair(T=30, layers=1)
    app = make_app(a, load_model=False, diff=b)
    async with app.run_test(size=(200, 30)) as pilot:
        await pilot.pause()
        last = app.debugger.session.diff_report.layers[0].last_step
        assert f"runs differ beyond tolerance from t = 5 to t = {last} (layer 0)" in screen_text(app).splitlines()[0]
    set_language("pt")
    app = make_app(a, load_model=False, diff=b)
    async with app.run_test(size=(200, 30)) as pilot:
        await pilot.pause()
        assert f"diferem além da tolerância de t = 5 a t = {last} (camada 0)" in screen_text(app).splitlines()[0]
        assert "ΔC0" in screen_text(app)


async def test_m_shows_the_product_of_f_and_toggles():
    trace = letters_trace("abcdefghijklmnop", units=6)
    f = np.asarray(trace.layers[0].f, np.float64)
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.debugger
        timeline = screen.query_one(Timeline)
        await pilot.press("down", "right", "right", "right", "M")  # unit 1, s = 3
        assert screen.memory_from is not None and screen.memory_from.s == 3
        assert "Π f from t = 3" in title(timeline)
        assert "memory row" in screen_text(app).splitlines()[0]
        await pilot.press(*["right"] * 6)  # t = 9
        x0, cells = row_cells(timeline, "Π")
        exact = np.prod(f[4:10, 1])
        shown = timeline._memory_values
        assert shown is not None
        value = shown[1][9 - shown[0]]
        assert abs(value - exact) <= lifetime.product_tolerance(6) * exact
        label = [line for line in screen_text(app).splitlines() if line.startswith("Π")][0]
        assert label.startswith(f"Π {exact:.2f}")
        assert [ch for ch, _ in cells[:3 - x0]] == [" "] * (3 - x0)  # nothing before s
        assert cells[3 - x0][0] == "█"  # 1 at s
        # Another unit: the same s, its own product.
        await pilot.press("down")
        label = [line for line in screen_text(app).splitlines() if line.startswith("Π")][0]
        assert label.startswith(f"Π {np.prod(f[4:10, 2]):.2f}")
        # M at another step moves s; at s again hides the row.
        await pilot.press("M")
        assert screen.memory_from.s == 9 and "Π f from t = 9" in title(timeline)
        assert [line for line in screen_text(app).splitlines() if line.startswith("Π")][0].startswith("Π 1.00")
        await pilot.press("M")
        assert screen.memory_from is None
        assert not [line for line in screen_text(app).splitlines() if line.startswith("Π")]
        assert "memory row hidden" in screen_text(app).splitlines()[0]


async def test_a_memory_far_from_s_is_read_in_a_worker(monkeypatch):
    monkeypatch.setattr(lifetime, "CHECKPOINT", 64)
    monkeypatch.setattr(lifetime, "INLINE_VALUES", 4 * 100)
    a, _ = edited_pair(T=3000, layers=1)
    f = np.asarray(a.layers[0].f, np.float64)
    app = make_app(a, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("M", "end")
        await app.workers.wait_for_complete()
        await pilot.pause()
        timeline = app.debugger.query_one(Timeline)
        shown = timeline._memory_values
        assert shown is not None and shown[0] <= 2999 < shown[0] + len(shown[1])
        value = shown[1][2999 - shown[0]]
        exact = np.prod(f[1:3000, 0])
        assert abs(value - exact) <= lifetime.product_tolerance(2999) * exact


async def test_the_diff_timeline_fits_80x24():
    a, b = edited_pair(T=90, layers=2)
    app = make_app(a, load_model=False, diff=b)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("right", "right", "M", "right", "right")
        lines = screen_text(app).splitlines()
        labels = [line.split()[0] for line in lines if line[:1] in "fiĉcohΔΠ" and len(line.split()) > 1]
        for row in ("Δc,h", "ΔL0", "ΔL1", "Π"):
            assert row in labels, row
        assert any(line.startswith("h ") for line in lines)
        assert "differ t = 5…" in lines[0]


def test_diff_timeline_120x40(snap_compare):
    assert snap_compare(APPS / "lifetime_app.py", press=["down", "down", *["right"] * 9, "M", *["right"] * 5],
                        terminal_size=(120, 40))


def test_diff_timeline_80x24(snap_compare):
    assert snap_compare(APPS / "lifetime_app.py", press=["right"] * 7, terminal_size=(80, 24))
