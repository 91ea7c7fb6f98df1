"""The model side panel, with a fake predictor and (when shipped) the real model."""

from __future__ import annotations

import shutil
import string
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import Input
from tui_helpers import MODEL, CountingLoader, letters_trace, screen_text

from lstm_tui.core.trace import load
from lstm_tui.keras import BridgeError
from lstm_tui.tui.app import make_app
from lstm_tui.tui.model_panel import DESCRIPTION_MAX, UNTRAINED_STYLE, ModelPanel
from lstm_tui.tui.vector_pane import VectorPane

SIZE = (100, 30)


def panel_text(app) -> str:
    panel = app.screen.query_one(ModelPanel)
    return "\n".join(str(panel.query_one(f"#model-{part}").content) for part in ("status", "top", "pnext"))


async def settle(app, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_model_loads_only_when_the_panel_is_used():
    loader = CountingLoader()
    app = make_app(letters_trace(), predictor_loader=loader)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "down", "tab", "tab")
        await pilot.pause(0.3)
        assert loader.calls == []
        assert "loads on first use" in panel_text(app)
        await pilot.press("m")
        assert app.focused.id == "model-input"
        await settle(app, pilot)
        assert loader.calls == [None]
        assert "vocabulary a–z" in panel_text(app)


async def test_model_autoload_after_a_delay():
    loader = CountingLoader()
    app = make_app(letters_trace(), predictor_loader=loader, model_autoload=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        await settle(app, pilot)
        assert loader.calls == [None]
        assert isinstance(app.focused, VectorPane)  # preloading does not steal focus


async def test_top_letters_update_on_every_keystroke():
    app = make_app(letters_trace(), predictor_loader=CountingLoader())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await settle(app, pilot)
        await pilot.press("d", "e")
        text = panel_text(app)
        assert "after 'de':" in text
        lines = str(app.screen.query_one("#model-top").content).splitlines()
        assert lines[0].startswith("'f'") and "0.9000" in lines[0] and "█" in lines[0]
        assert lines[1].startswith("'g'") and "0.0500" in lines[1]
        assert len(lines) == 5
        await pilot.press("f")
        lines = str(app.screen.query_one("#model-top").content).splitlines()
        assert lines[0].startswith("'g'")
        # Typing letters never steps the debugger.
        assert app.debugger.t == 0


async def test_characters_outside_the_vocabulary_are_reported():
    app = make_app(letters_trace(), predictor_loader=CountingLoader())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await settle(app, pilot)
        await pilot.press("a", "1", "[")
        text = panel_text(app)
        assert "'1', '[' not in the vocabulary a–z" in text
        assert str(app.screen.query_one("#model-top").content) == ""
        assert app.screen.query_one("#model-status").has_class("-error")
        await pilot.press("backspace", "backspace")
        assert "after 'a':" in panel_text(app)


async def test_enter_records_a_live_pass_into_the_debugger():
    loader = CountingLoader()
    app = make_app(letters_trace("abcdefgh"), predictor_loader=loader)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "right", "m")
        await settle(app, pilot)
        await pilot.press("d", "e", "f", "enter")
        await settle(app, pilot)
        assert loader.predictor.recorded == ["def"]
        screen = app.debugger
        assert screen.trace.source == "live: def"
        assert (screen.t, screen.trace.steps) == (0, 3)
        first = screen_text(app).splitlines()[0]
        assert "live: def" in first and "t = 0 of 0…2" in first and "token 'd'" in first
        assert isinstance(app.focused, VectorPane)  # back to stepping
        await pilot.press("right")
        assert "token 'e'" in screen_text(app).splitlines()[0]


async def test_a_model_that_fails_to_load_is_reported_and_the_app_goes_on():
    error = BridgeError("models/broken.keras: not a next-letter model: expected LSTM → Dense(softmax)")
    loader = CountingLoader(error=error)
    app = make_app(letters_trace(), predictor_loader=loader)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await settle(app, pilot)
        text = panel_text(app)
        assert "model failed to load: models/broken.keras: not a next-letter model" in text
        assert app.screen.query_one("#model-status").has_class("-error")
        await pilot.press("d", "e", "f", "enter")
        await settle(app, pilot)
        assert len(loader.calls) == 1  # no retry storm on every key
        await pilot.press("escape", "right")
        assert app.debugger.t == 1


async def test_an_unexpected_loader_error_is_one_line_too():
    loader = CountingLoader(error=ImportError("No module named 'tensorflow'\nmore detail"))
    app = make_app(letters_trace(), predictor_loader=loader)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await settle(app, pilot)
        status = str(app.screen.query_one("#model-status").content)
        assert status == "model failed to load: ImportError: No module named 'tensorflow'"


async def test_model_off():
    loader = CountingLoader()
    app = make_app(letters_trace(), load_model=False, predictor_loader=loader)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m", "d")
        await settle(app, pilot)
        assert loader.calls == []
        assert "model off" in panel_text(app)


async def test_escape_returns_to_the_pane_last_focused():
    app = make_app(letters_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", "tab")
        focused = app.focused
        await pilot.press("m")
        assert isinstance(app.focused, Input)
        await pilot.press("escape")
        assert app.focused is focused


async def test_p_next_per_step_follows_t():
    trace = letters_trace("abcdefgh")
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#model-pnext").content)
        lines = text.splitlines()
        assert lines[0] == "P(next) per step"
        best = trace.probs.argmax(axis=1)
        letters = "".join("abcdefghijklmnopqrstuvwxyz"[k] for k in best)
        assert lines[1] == f"t = 0: '{letters[0]}' {trace.probs[0, best[0]]:.4f}"
        assert lines[2] == letters
        assert lines[4].index("▲") == 0
        await pilot.press("right", "right")
        lines = str(app.screen.query_one("#model-pnext").content).splitlines()
        assert lines[4].index("▲") == 2


async def test_p_next_reads_only_the_steps_on_screen(monkeypatch, tmp_path):
    """A readout of 200 000 steps is not converted whole on the main thread:
    each frame reads the window of steps the row shows, and a window is read
    once while it stays."""
    import numpy as np

    import lstm_tui.core.numeric as numeric
    from lstm_tui.core.trace import save

    T, V = 200_000, 26
    trace = letters_trace("ab")
    layer = trace.layers[0]
    for v in ("x", "f", "i", "c_hat", "c", "o", "h"):
        setattr(layer, v, np.resize(layer.vector(v), (T, layer.vector(v).shape[1])))
    trace.tokens = None
    rng = np.random.default_rng(0)
    trace.probs = rng.random((T, V)).astype(np.float32)
    trace.probs[5] = np.nan  # a step with no number: "?"
    big = load(save(trace, tmp_path / "long.npz"))
    rows_read = []
    real = numeric.top_choice
    monkeypatch.setattr(numeric, "top_choice", lambda p: rows_read.append(len(p)) or real(p))
    app = make_app(big, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        width = app.screen.query_one("#model-pnext").content_region.width
        # The row's window (and the header's one step): never the whole readout.
        assert rows_read and max(rows_read) <= width and sum(rows_read) < 10 * width
        lines = str(app.screen.query_one("#model-pnext").content).splitlines()
        assert lines[2][5] == "?"
        before = sum(rows_read)
        await pilot.press("end")
        lines = str(app.screen.query_one("#model-pnext").content).splitlines()
        k = int(np.argmax(trace.probs[T - 1]))
        assert lines[1] == f"t = {T - 1}: '{'abcdefghijklmnopqrstuvwxyz'[k]}' {trace.probs[T - 1, k]:.4f}"
        assert sum(rows_read) - before <= width + 2


async def test_no_p_next_line_without_a_readout():
    app = make_app(letters_trace(readout=False), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.query_one("#model-pnext").display


needs_model = pytest.mark.skipif(not MODEL.exists(), reason="lstm_tui/models/next_letter.keras not shipped")


@needs_model
@pytest.mark.slow
async def test_shipped_model_predicts_g_after_def_and_records():
    app = make_app(letters_trace())  # the bundled model, through the real bridge
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await pilot.pause()
        # (instant when an earlier test of the same run imported TensorFlow)
        assert "loading model…" in panel_text(app) or app.screen.query_one(ModelPanel).predictor is not None
        for _ in range(600):  # TensorFlow takes seconds to import; the UI keeps going
            await pilot.pause(0.1)
            if app.screen.query_one(ModelPanel).predictor is not None or "failed" in panel_text(app):
                break
        assert app.screen.query_one(ModelPanel).predictor is not None, panel_text(app)
        assert "model: next_letter" in screen_text(app)
        await pilot.press("d", "e", "f")
        lines = str(app.screen.query_one("#model-top").content).splitlines()
        assert lines[0].startswith("'g'")
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.debugger.trace.source == "live: def"
        assert app.debugger.trace.probs is not None


# --------------------------------------------------------------------------
# What the trace says about itself: description and trained steps (meta)
# --------------------------------------------------------------------------

BUNDLED = Path(__file__).resolve().parents[2] / "lstm_tui" / "traces" / "next_letter.npz"


def pnext(app) -> list[str]:
    return str(app.screen.query_one("#model-pnext").content).splitlines()


def about(app):
    return app.screen.query_one("#model-about")


async def test_bundled_trace_says_what_the_model_was_trained_on():
    """The first screen: the model reading 'def', the description from the
    trace's meta, and each step's guess marked as in or outside training."""
    app = make_app(load(BUNDLED), predictor_loader=CountingLoader())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert about(app).display
        assert str(about(app).content) == "Trained on 3-letter windows (abc→d … wxy→z); here it reads 'def'."
        assert "Trained on 3-letter windows" in screen_text(app)
        assert pnext(app) == ["P(next) per step", "t = 0: 'e' 0.1043", "outside its training",
                              "efg", pnext(app)[4], "▲  "]
        await pilot.press("right")
        assert pnext(app)[1:3] == ["t = 1: 'f' 0.3394", "outside its training"]
        await pilot.press("right")
        assert pnext(app)[1:3] == ["t = 2: 'g' 0.9055", "as in training"]
        assert pnext(app)[5] == "  ▲"
        head = screen_text(app).splitlines()[0]
        assert "token 'f'" in head and "next 'g' 0.9055" in head


async def test_steps_outside_training_are_dimmed_in_the_letters_row():
    trace = letters_trace("defgh")
    trace.meta["trained_steps"] = [2]
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        content = app.screen.query_one("#model-pnext").content
        letters = content.split("\n")[3]
        styles = {str(span.style) for span in letters.spans}
        dimmed = [span for span in letters.spans if str(span.style) == UNTRAINED_STYLE]
        assert styles == {UNTRAINED_STYLE, "bold"}
        assert [(s.start, s.end) for s in dimmed] == [(0, 1), (1, 2), (3, 4), (4, 5)]


async def test_no_description_and_no_marks_without_meta():
    """A trace that says nothing about its training gets no marks: the
    panel does not guess."""
    app = make_app(letters_trace("abcdefgh"), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not about(app).display
        lines = pnext(app)
        assert len(lines) == 5 and "training" not in "\n".join(lines)


@pytest.mark.parametrize("steps", ["2", [True], ["2"], [2.0], {"2": 1}, None])
async def test_trained_steps_of_the_wrong_type_mark_nothing(steps):
    trace = letters_trace("def")
    trace.meta["trained_steps"] = steps
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "training" not in "\n".join(pnext(app))


async def test_trained_steps_out_of_range_are_ignored():
    trace = letters_trace("def")
    trace.meta["trained_steps"] = [-1, 7]
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for _ in range(3):
            assert pnext(app)[2] == "outside its training"
            await pilot.press("right")


async def test_description_from_a_file_is_one_printable_line():
    trace = letters_trace("def")
    trace.meta["description"] = "evil\x1b[2J\nnext line [b]not markup[/b] " + "x" * 400
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = str(about(app).content)
        assert "\x1b" not in text and "\n" not in text
        assert text.startswith("evil\\x1b[2J next line [b]not markup[/b] x")
        assert len(text) == DESCRIPTION_MAX and text.endswith("…")


@pytest.mark.parametrize("description", [None, "", "   ", 42, ["a"]])
async def test_a_missing_or_odd_description_shows_nothing(description):
    trace = letters_trace("def")
    if description is not None:
        trace.meta["description"] = description
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not about(app).display


async def test_description_follows_the_trace_on_screen():
    """A live pass from the panel replaces the bundled trace: its own (no)
    description, and no marks."""
    loader = CountingLoader()
    app = make_app(load(BUNDLED), predictor_loader=loader)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await settle(app, pilot)
        await pilot.press("x", "y", "enter")
        await settle(app, pilot)
        assert app.debugger.trace.source == "live: xy"
        assert not about(app).display
        assert "training" not in "\n".join(pnext(app))


def test_bundled_trace_first_screen(snap_compare):
    """The screen `lstm-tui` opens on, at 100×30 (the trace's file name is
    left out of the header: it depends on where the tests run from)."""
    trace = load(BUNDLED)
    trace.path = None
    app = make_app(trace, predictor_loader=CountingLoader())
    assert snap_compare(app, terminal_size=(100, 30))


# --------------------------------------------------------------------------
# The panel's title and vocabulary (issue 13, item 8)
# --------------------------------------------------------------------------


def title(app) -> str:
    from textual.content import Content

    return Content.from_markup(str(app.screen.query_one(ModelPanel).border_title)).plain


async def test_the_title_names_the_model_loaded_or_none():
    app = make_app(letters_trace(), predictor_loader=CountingLoader())
    async with app.run_test(size=SIZE) as pilot:
        assert title(app) == "model: next_letter"  # what it will load
        await pilot.press("m")
        await settle(app, pilot)
        assert title(app) == "model: fake_model"  # what it loaded
    app = make_app(letters_trace(), load_model=False, predictor_loader=CountingLoader())
    async with app.run_test(size=SIZE) as pilot:
        assert title(app) == "model: none"
    app = make_app(letters_trace(), predictor_loader=CountingLoader(error=BridgeError("m.keras: damaged")),
                   model_path="m.keras")
    async with app.run_test(size=SIZE) as pilot:
        assert title(app) == "model: m"
        await pilot.press("m")
        await settle(app, pilot)
        assert title(app) == "model: none"
    app = make_app(letters_trace(), load_model=False, lang="pt")
    async with app.run_test(size=SIZE) as pilot:
        assert title(app) == "modelo: nenhum"


def upper_trace(model: Path):
    """A trace recorded from ``model`` over the letters A–Z."""
    trace = letters_trace()
    trace.vocab = np.array(list(string.ascii_uppercase))
    trace.meta["model"] = str(model)
    return trace


async def answer(app, pilot, text: str) -> str:
    await pilot.press("m")
    await pilot.pause(0.3)  # the bridge's start-up delay
    await settle(app, pilot)
    await pilot.press(*text)
    await pilot.pause()
    return panel_text(app)


async def test_a_trace_recorded_from_the_model_lends_it_its_vocabulary(tmp_path):
    """The model stores no vocabulary; the trace recorded from it reads A–Z:
    the panel asks and answers in A–Z, and says which letters it cannot read."""
    model = tmp_path / "upper.keras"
    shutil.copy(MODEL, model)
    app = make_app(upper_trace(model), model_path=model)
    async with app.run_test(size=SIZE) as pilot:
        shown = await answer(app, pilot, "DEF")
        assert title(app) == "model: upper"
        assert shown.splitlines()[1].split()[:2] == ["'G'", "0.9055"]
        await pilot.press("backspace", "backspace", "backspace", "d")
        await pilot.pause()
        assert "'d' not in the vocabulary A–Z" in panel_text(app)


async def test_a_trace_of_another_model_does_not(tmp_path):
    other = tmp_path / "other.keras"
    shutil.copy(MODEL, other)
    app = make_app(upper_trace(other), model_path=MODEL)
    async with app.run_test(size=SIZE) as pilot:
        shown = await answer(app, pilot, "def")
        assert shown.splitlines()[1].split()[:2] == ["'g'", "0.9055"]


async def test_a_vocabulary_stored_with_the_model(tmp_path):
    from lstm_tui.keras.weights import store_vocab

    model = tmp_path / "stored.keras"
    shutil.copy(MODEL, model)
    store_vocab(model, string.ascii_uppercase[::-1])  # Z…A: the first class reads 'Z'
    app = make_app(letters_trace(), model_path=model)
    async with app.run_test(size=SIZE) as pilot:
        shown = await answer(app, pilot, "WVU")  # the shipped model's 'def'
        assert shown.splitlines()[1].split()[:2] == ["'T'", "0.9055"]  # and its 'g'
        await pilot.press("backspace", "backspace", "backspace")
        await pilot.pause()
        assert "vocabulary ZYXWVUTSRQPONMLKJIHGFEDCBA" in panel_text(app)
