"""What if (``e``) in the screen: the dialog, its errors, and the diff view
it opens (A = the trace shown, B = the edited run), driven through the real
app with Pilot."""

from __future__ import annotations

import numpy as np
from textual.widgets import Input, Label, Static
from tui_helpers import letters_trace, no_weights_trace, screen_text, two_layer_trace

import lstm_tui.tui.what_if as what_if_module
from lstm_tui.core.demo import seed_trace
from lstm_tui.debug.edit import what_if
from lstm_tui.tui import catalogue
from lstm_tui.tui.app import make_app
from lstm_tui.tui.what_if import WhatIfScreen

SIZE = (120, 40)


def status(app) -> str:
    return screen_text(app).splitlines()[0]


async def type_edit(pilot, text: str) -> None:
    await pilot.press("e")
    await pilot.pause()
    assert isinstance(pilot.app.screen, WhatIfScreen)
    pilot.app.screen.query_one(Input).value = ""
    await pilot.press(*text)
    await pilot.press("enter")
    await pilot.pause()


async def test_e_opens_the_diff_view_of_the_edited_run_where_the_screen_stood():
    trace = seed_trace()
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.press("right", "down")  # t = 1, unit 1
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, WhatIfScreen)
        hints = [str(label.content) for label in dialog.query(Label)]
        assert hints[0].startswith("change a value at t = 1 on layer 0 and re-run what follows")
        assert hints[1].startswith("e.g. c[1]=0   hold h[1]=0")  # the selected unit in the examples
        assert dialog.query_one(Input).placeholder == "c[1]=0"
        await pilot.press(*"c[0]=0", "enter")
        await pilot.pause()
        assert app.screen is screen
        view = screen.view
        assert view.trace is trace and view.other is not None
        assert (view.run, view.layer, view.t, view.unit) == ("delta", 0, 1, 1)
        b = view.other
        assert b.layers[0].c[1, 0] == 0
        assert np.array_equal(b.layers[0].h[0], trace.layers[0].h[0])
        assert b.meta["edit"]["set"] == ["c[0]=0"] and b.meta["edit"]["at"] == 1
        assert "what if: set c[0]=0 at t = 1, layer 0; B is the edited run" in status(app)
        # The c pane shows B − A: unit 0 lost all its c.
        assert f"{-trace.layers[0].c[1, 0]:+.4f}" in screen_text(app)
        assert screen.session.diff_report is not None and screen.session.diff_report.first.step == 1
        await pilot.press("right")  # the note goes; the header names B
        assert "diff vs what-if on" in status(app)
        await pilot.press("d", "d")  # B
        assert screen.run == "b"
        await pilot.press("left")
        assert "0.0000" in screen_text(app)


async def test_bad_syntax_stays_in_the_dialog_with_the_column():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await type_edit(pilot, "c[9]=0")
        dialog = app.screen
        assert isinstance(dialog, WhatIfScreen)
        error = str(dialog.query_one("#what-if-error", Static).content)
        assert error.splitlines() == ["column 3: unit 9 is outside c (units 0…1 on layer 0)", "c[9]=0", "  ^"]
        assert dialog.query_one(Input).cursor_position == 2
        dialog.query_one(Input).value = ""
        await pilot.press(*"hold cc[0]=1", "enter")
        await pilot.pause()
        error = str(dialog.query_one("#what-if-error", Static).content)
        assert error.startswith("column 6: unknown name 'cc' (did you mean 'c'?)")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.debugger and app.debugger.other is None


async def test_in_the_diff_view_e_edits_a_again_and_replaces_b():
    trace = seed_trace()
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await type_edit(pilot, "c[0]=0")
        first = screen.other
        await pilot.press("d")  # A: the run e edits
        await type_edit(pilot, "hold h[1]=0")
        assert screen.trace is trace and screen.other is not first
        assert screen.run == "a"  # the run shown stays
        assert (screen.other.layers[0].h[:, 1] == 0).all()
        assert screen.other.layers[0].c[0, 0] == trace.layers[0].c[0, 0]  # of A, not of the last B
        assert "hold h[1]=0 at t = 0, layer 0" in status(app)


async def test_a_layer_after_the_edit_and_a_readout_left_out():
    trace = two_layer_trace()  # layer 1 runs backwards over layer 0's h
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.press("right", "right")
        await type_edit(pilot, "x[3]=1")
        b = screen.other
        want = what_if(trace, 2, 0, sets=["x[3]=1"])
        for k in range(2):
            assert np.array_equal(b.layers[k].h, want.layers[k].h)
        assert not np.array_equal(b.layers[1].h[0], trace.layers[1].h[0])  # reversed: re-run in full
    letters = letters_trace()  # a readout, but no head stored
    app = make_app(letters, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await type_edit(pilot, "c[0]=0")
        assert app.debugger.other is not None and app.debugger.other.probs is None
        assert any("B has no readout" in n.message for n in app._notifications)


async def test_e_is_refused_without_weights():
    app = make_app(no_weights_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.debugger.check_action("what_if", ()) is None  # dimmed
        await pilot.press("e")
        await pilot.pause()
        assert app.screen is app.debugger
        assert "layer 0 stores no weights: a what-if re-runs it from them" in status(app)


async def test_a_long_trace_is_rerun_in_a_worker(monkeypatch):
    monkeypatch.setattr(what_if_module, "INLINE_LIMIT", 0)
    trace = seed_trace()
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await type_edit(pilot, "c[1]=0.5")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.debugger.other is not None and app.debugger.other.layers[0].c[0, 1] == 0.5
        assert "what if: set c[1]=0.5 at t = 0, layer 0" in status(app)


async def test_the_dialog_in_portuguese():
    app = make_app(seed_trace(), load_model=False, lang="pt")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        catalogue.MISSES.clear()  # from here on: the dialog, its error, the edit's note
        await type_edit(pilot, "c[0]=x")
        dialog = app.screen
        assert str(dialog.query(Label).first().content).startswith("mudar um valor em t = 0 na camada 0")
        assert str(dialog.query_one("#what-if-error", Static).content).startswith("coluna 6: esperado um número")
        app.screen.query_one(Input).value = ""
        await pilot.press(*"c[0]=0", "enter")
        await pilot.pause()
        assert "e se: set c[0]=0 em t = 0, camada 0; B é a execução editada" in status(app)
    assert not catalogue.MISSES
