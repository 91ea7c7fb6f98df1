"""SVG snapshots of the screens a user sees (pytest-textual-snapshot).

Regenerate after an intended change with ``pytest tests/tui/test_snapshots.py
--snapshot-update`` and look at the SVGs before committing them.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

APPS = Path(__file__).parent / "snapshot_apps"


async def _no_blink(pilot) -> None:
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


def test_main_screen_80x24(snap_compare):
    assert snap_compare(APPS / "seed_app.py", press=["right", "down"], terminal_size=(80, 24))


def test_main_screen_120x40(snap_compare):
    assert snap_compare(APPS / "letters_app.py", press=["right", "right", "right", "down", "down"],
                        terminal_size=(120, 40))


def test_help_screen(snap_compare):
    assert snap_compare(APPS / "seed_app.py", press=["question_mark"], terminal_size=(100, 44))


def test_model_panel_with_results(snap_compare):
    async def type_def(pilot) -> None:
        await pilot.press("right", "right", "m")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("d", "e", "f")
        await _no_blink(pilot)

    assert snap_compare(APPS / "letters_app.py", run_before=type_def, terminal_size=(120, 40))


def test_narrow_model_overlay(snap_compare):
    async def show_panel(pilot) -> None:
        await pilot.press("m")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("a", "b")
        await _no_blink(pilot)

    assert snap_compare(APPS / "letters_app.py", run_before=show_panel, terminal_size=(80, 24))


def test_breakpoints_view(snap_compare):
    async def break_and_continue(pilot) -> None:
        await pilot.press("b")
        pilot.app.screen.query_one(Input).value = "h[2] > 0.2"
        await pilot.press("enter", "b")
        pilot.app.screen.query_one(Input).value = "f[0] < 0.45 and t > 4"
        await pilot.press("enter", "c", "c", "down", "down")
        await _no_blink(pilot)

    assert snap_compare(APPS / "debug_app.py", run_before=break_and_continue, terminal_size=(100, 30))


def test_diff_view(snap_compare):
    async def first_divergence(pilot) -> None:
        await pilot.press("D")
        await _no_blink(pilot)

    assert snap_compare(APPS / "diff_app.py", run_before=first_divergence, terminal_size=(100, 30))


def test_explain_zoomed_80x24(snap_compare):
    """At 80×24 the explain pane shows its first lines; E z shows them all."""
    assert snap_compare(APPS / "letters_app.py", press=["right", "right", "down", "E", "z"],
                        terminal_size=(80, 24))


def test_diff_explain_80x24(snap_compare):
    """B − A at the step where the runs part: A's line over B's, each term."""
    assert snap_compare(APPS / "diff_app.py", press=[*["right"] * 6, "down", "down", "down", "E", "z"],
                        terminal_size=(80, 24))


def test_portuguese_screen_80x24(snap_compare):
    """The notebook's words on the pane titles, the footer in Portuguese,
    and a refusal in the status line (already at the first step)."""
    assert snap_compare(APPS / "seed_app_pt.py", press=["down", "left"], terminal_size=(80, 24))


def test_portuguese_screen_120x40(snap_compare):
    assert snap_compare(APPS / "letters_app_pt.py", press=["right", "right", "right", "down", "down"],
                        terminal_size=(120, 40))
