"""Help screen, command palette, opening trace files, and terminal sizes."""

from __future__ import annotations

import numpy as np
import pytest
from textual.command import CommandPalette
from textual.widgets import Input
from tui_helpers import letters_trace, screen_text, two_layer_trace

from lstm_tui.core.demo import seed_trace
from lstm_tui.tui.app import DebuggerScreen, make_app
from lstm_tui.tui.dialogs import GoToStepScreen, OpenTraceScreen
from lstm_tui.tui.help import HelpScreen
from lstm_tui.tui.model_panel import ModelPanel

SIZE = (100, 30)


async def test_help_lists_every_binding_with_its_keys():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-body").content)
        # A long description wraps under its own column: compare words.
        flat = " ".join(text.split())
        nodes = (app.debugger, app.debugger.model_panel, app)
        for node in nodes:
            for _key, binding in node._bindings:
                if binding.system or not binding.description:
                    continue
                # the long description when the binding has one (the
                # footer shows the short word)
                described = (binding.tooltip if binding.id else "") or binding.description
                assert " ".join(described.split()) in flat, binding
                assert app.get_key_display(binding) in text, binding
        for keys in ("← h", "→ l", "↑ k", "↓ j", "pgup", "pgdn", "home", "end", "[", "]",
                     "g", "m", "?", "^p", "tab", "shift+tab", "z", "o", "^t", "^s", "esc",
                     "b", "c", "C", "/", "n", "N", "w", "d", "D", "E", "B", "H", "W", "space"):
            assert f"  {keys}  " in text, keys
        quit_line = next(line for line in text.splitlines() if line.endswith("Quit"))
        assert quit_line.split() == ["^q", "q", "Quit"] or quit_line.split() == ["q", "^q", "Quit"]
        # The keys once reserved for breakpoints, search and watches now act.
        assert "Reserved" not in text
        for description in ("Add a breakpoint condition", "Continue to next hit", "Search tokens",
                            "Watch / unwatch unit", "Enable / disable breakpoint", "Go to the finding"):
            assert description in text, description
        # ...and the wrapped rows start under the descriptions' column.
        column = text.index("Step back") - text.rfind("\n", 0, text.index("Step back")) - 1
        wrapped = [line for line in text.splitlines() if line.strip() and line[:column].isspace()]
        assert wrapped, "some description is long enough to wrap at 72 columns"
        assert all(len(line) - len(line.lstrip()) == column for line in wrapped), wrapped
        assert max(len(line) for line in text.splitlines()) <= 72 - 6
        await pilot.press("escape")
        assert isinstance(app.screen, DebuggerScreen)
        await pilot.press("question_mark", "q")
        assert isinstance(app.screen, DebuggerScreen)
        assert not app._exit


async def test_help_follows_a_keymap():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=(100, 50)) as pilot:
        app.set_keymap({"goto": "G"})
        await pilot.pause()
        await pilot.press("question_mark")
        text = str(app.screen.query_one("#help-body").content)
        assert "G" in text.split("Go to step")[0].splitlines()[-1]
        await pilot.press("escape", "G")
        assert isinstance(app.screen, GoToStepScreen)


async def test_palette_commands_come_from_the_bindings():
    app = make_app(two_layer_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        names = {name: help_text for name, _, help_text in app.debugger.palette_commands()}
        for name in ("Step forward", "Go to step", "Next layer", "Open trace file",
                     "Toggle theme", "Save screenshot", "Help"):
            assert name in names, name
        assert "Step back" not in names  # cannot act at t = 0
        assert "Previous layer" not in names
        assert names["Go to step"] == "key g"
        assert "Switch to layer 1 (backward_lstm, 4 units, reversed)" in names


async def test_palette_runs_go_to_step_and_switch_layer():
    app = make_app(two_layer_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        app.screen.query_one(Input).value = "go to step"
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, GoToStepScreen)
        await pilot.press("3", "enter")
        assert app.debugger.t == 3
        await pilot.press("ctrl+p")
        app.screen.query_one(Input).value = "switch to layer 1"
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.debugger.layer_index == 1


async def test_open_trace_file(tmp_path):
    good = tmp_path / "other.npz"
    letters_trace("xyz", source="saved letters").save(good)
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "o")
        assert isinstance(app.screen, OpenTraceScreen)
        app.screen.query_one(Input).value = str(good)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.debugger
        assert screen.trace.path == good
        assert screen.t == 0 and screen.trace.steps == 3
        first = screen_text(app).splitlines()[0]
        assert "other.npz" in first and "t = 0 of 0…2" in first and "token 'x'" in first


@pytest.mark.parametrize("content", [None, b"not a zip", b""])
async def test_open_bad_trace_file_keeps_the_current_one(tmp_path, content):
    bad = tmp_path / "bad.npz"
    if content is not None:
        bad.write_bytes(content)
    trace = seed_trace()
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "o")
        app.screen.query_one(Input).value = str(bad)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.debugger.trace is trace
        assert app.debugger.t == 1
        notes = list(app._notifications)
        assert len(notes) == 1
        note = notes[0]
        assert note.severity == "error"
        assert "bad.npz" in note.message and "\n" not in note.message
        assert "t = 1 of 0…2" in screen_text(app)


async def test_any_terminal_size():
    """Resizing never crashes, keys keep working, and the step stays on screen."""
    app = make_app(letters_trace("abcdefghij", units=32), load_model=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("right", "down")
        expected = 1
        for size in [(80, 24), (10, 3), (250, 70), (40, 10), (120, 40), (1, 1), (80, 24)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.press("right", "down", "m", "escape", "question_mark", "escape")
            await pilot.pause()
            expected += 1
            assert (app.debugger.t, app.debugger.unit) == (expected, expected)
            assert isinstance(app.screen, DebuggerScreen)
            text = screen_text(app)
            if size[0] >= 40:
                assert f"t = {expected} of 0…9" in text, size


async def test_narrow_hides_the_model_panel_and_m_shows_it():
    app = make_app(letters_trace(), load_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(ModelPanel)
        assert not panel.display
        await pilot.press("m")
        assert panel.display and panel.region.width > 0
        assert app.focused.id == "model-input"
        await pilot.press("escape")
        assert not panel.display
        assert app.focused.id == "pane-f"
        await pilot.resize_terminal(120, 30)
        await pilot.pause()
        assert panel.display


async def test_nothing_cut_mid_number_at_80x24():
    trace = letters_trace("abcdefghij", units=32)
    app = make_app(trace, load_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("right", "right", "right")
        await pilot.pause()
        text = screen_text(app)
        layer = trace.layers[0]
        for vector in ("f", "i", "c_hat", "c", "o", "h"):
            value = f"{layer.vector(vector)[3, 0]:.4f}"
            assert value in text, (vector, value)
        # Every number on screen with a decimal point has its four decimals.
        import re
        for match in re.finditer(r"\d\.(\d*)", text):
            assert len(match.group(1)) in (0, 3, 4) or match.group(1).startswith(("0", "1")), match
        assert np.isfinite(layer.c).all()
