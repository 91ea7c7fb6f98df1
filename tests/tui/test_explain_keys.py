"""The explain pane's keys: ``p`` opens a gate into its every product, ``F``
shows the activations' formulas (issue 15 item 2, issue 13 item 7)."""

from __future__ import annotations

import re

import numpy as np
from conftest import random_cell, random_trace
from tui_helpers import no_weights_trace, screen_text

from lstm_tui.core.demo import seed_trace
from lstm_tui.core.trace import Layer, Trace
from lstm_tui.tui.app import make_app
from lstm_tui.tui.explain import EXPAND_CAP, ExplainPane


def explain_text(app) -> str:
    return str(app.screen.query_one("#explain-body").content)


def squeezed(text: str) -> str:
    """Columns aligned with runs of blanks, read with single ones."""
    return re.sub(r" {2,}", " ", text)


async def test_p_expands_f_then_i_c_o_then_none_with_the_notebook_numbers():
    """At t = 1, unit 0 of the seed trace: W_f[0,j] × x_t[j] for j = 0…3,
    U_f[0,j] × h_{t-1}[j] for j = 0, 1 (h_{t-1} is the notebook's h at
    t = 0: -0.0230, -0.1281), then the bias."""
    trace = seed_trace()
    app = make_app(trace, load_model=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right", "p")
        await pilot.pause()
        pane = app.screen.query_one(ExplainPane)
        assert pane.expanded == "f"
        text = squeezed(explain_text(app))
        cell = trace.layers[0].cell
        x, h_prev = trace.layers[0].x[1], trace.layers[0].h[0]
        assert "W_f[0,j] × x_t[j]" in text and "U_f[0,j] × h_{t-1}[j]" in text
        for j in range(4):
            w, p = cell.W["f"][0, j], cell.W["f"][0, j] * x[j]
            assert f"j={j} {w:.4f} × ({x[j]:.4f}) = {p:.4f}" in text
        assert "j=2 0.4640 × (-1.4785) = -0.6860" in text
        assert "Σ W_f·x_t ≈ -1.0705" in text  # 0.0290 - 0.2714 - 0.6860 - 0.1420 = -1.0704
        assert f"{h_prev[0]:.4f}" == "-0.0230" and f"{h_prev[1]:.4f}" == "-0.1281"
        assert "j=0 0.2477 × (-0.0230) = -0.0057" in text
        assert "j=1 0.5097 × (-0.1281) = -0.0653" in text
        assert "Σ U_f·h_{t-1} = -0.0710" in text and "b_f = 0.0000" in text
        # The products sit under f's line, before i's.
        lines = explain_text(app).splitlines()
        f_at = next(n for n, line in enumerate(lines) if line.startswith("f_t = "))
        i_at = next(n for n, line in enumerate(lines) if line.startswith("i_t = "))
        assert f_at < next(n for n, line in enumerate(lines) if "W_f[0,j]" in line) < i_at
        # Stepping keeps the gate open, with the next step's numbers.
        await pilot.press("right")
        await pilot.pause()
        assert f"j=0 {cell.W['f'][0, 0]:.4f} × ({trace.layers[0].x[2][0]:.4f})" in squeezed(explain_text(app))
        for gate in ("i", "c", "o"):
            await pilot.press("p")
            await pilot.pause()
            assert pane.expanded == gate
            assert f"W_{gate}[0,j] × x_t[j]" in explain_text(app)
            assert "W_f[0,j]" not in explain_text(app)
        await pilot.press("p")
        await pilot.pause()
        assert pane.expanded is None and "j=0" not in explain_text(app)


async def test_F_toggles_the_formulas():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=(120, 40)) as pilot:
        assert "e^(−z)" not in explain_text(app)
        await pilot.press("F")
        await pilot.pause()
        lines = explain_text(app).splitlines()
        assert lines[0].startswith("σ(z) = 1/(1 + e^(−z))") and "f_t, i_t, o_t" in lines[0]
        assert lines[1].startswith("tanh(z) = (e^z − e^(−z))/(e^z + e^(−z))") and "ĉ_t, h_t" in lines[1]
        await pilot.press("F")
        await pilot.pause()
        assert "e^(−z)" not in explain_text(app)


async def test_formulas_of_other_activations():
    rng = np.random.default_rng(3)
    cell = random_cell(rng, 2, 3, recurrent_activation="hard_sigmoid", activation="relu")
    rec = cell.forward(rng.normal(size=(3, 3)))
    trace = Trace(layers=[Layer.from_recording(rec, name="l", cell=cell)], source="test")
    app = make_app(trace, load_model=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("F")
        await pilot.pause()
        text = explain_text(app)
        assert "hσ(z) = clip(z/6 + 1/2, 0, 1)   hard_sigmoid for f_t, i_t, o_t" in text
        assert "relu(z) = max(z, 0)   for ĉ_t, h_t" in text


async def test_p_without_weights_says_why_and_F_still_works():
    app = make_app(no_weights_trace(), load_model=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right", "p")
        await pilot.pause()
        assert app.screen.query_one(ExplainPane).expanded is None
        assert "explain: no weights in this trace to expand" in screen_text(app).splitlines()[0]
        await pilot.press("F")
        await pilot.pause()
        assert "σ(z) = 1/(1 + e^(−z))" in explain_text(app)


async def test_p_brings_the_explain_pane_back():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("B")
        await pilot.pause()
        assert app.debugger.bottom == "breakpoints"
        await pilot.press("escape", "p")
        await pilot.pause()
        assert app.debugger.bottom == "explain"
        assert "W_f[0,j] × x_t[j]" in explain_text(app)


async def test_a_wide_gate_lists_its_largest_products_and_the_rest():
    """H = 200: the 64 largest recurrent products and the rest summed, not 200 rows."""
    trace = random_trace(seed=2, T=3, D=3, H=200)
    app = make_app(trace, load_model=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right", "p")
        await pilot.pause()
        text = explain_text(app)
        assert f"the {EXPAND_CAP} largest of 200 by |product|" in text
        assert f"+ {200 - EXPAND_CAP} more" in text
        assert len(re.findall(r"^\s+j=\d+", text, re.M)) == 3 + EXPAND_CAP
        # And the pane scrolled to the expanded gate's line.
        pane = app.screen.query_one(ExplainPane)
        assert "f_t = σ(" in screen_text(app).split("explain", 1)[1].splitlines()[1]
        assert pane.scroll_y == 0


async def test_expanded_gate_fits_80_columns():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("right", "F", "p", "p")
        await pilot.pause()
        pane = app.screen.query_one(ExplainPane)
        width = pane.scrollable_content_region.width
        text = explain_text(app)
        assert "W_i[0,j] × x_t[j]" in text
        for line in text.splitlines():
            assert len(line) <= width, line
        # p opened i: the pane scrolled so that i's line is its first row.
        await pilot.pause()
        rows = screen_text(app).split("explain", 1)[1].splitlines()
        assert rows[1].startswith("i_t = σ(")


async def test_help_lists_the_explain_keys():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        text = str(app.screen.query_one("#help-body").content) if app.screen.query("#help-body") \
            else screen_text(app)
        section = text.split("Explain pane", 1)[1]
        assert re.search(r"\bp\s+Expand a gate into its products", section)
        assert re.search(r"\bF\s+Show or hide the activations' formulas", section)
