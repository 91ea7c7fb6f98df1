"""The guided lesson (``lstm-tui lesson``): its stages through Pilot.

The lesson opens the seed notebook's example at t = 1, unit 0, stage 1;
Enter and Backspace move the stages; each lights its pane and its explain
line, and the panel quotes the notebook. The numbers asserted come from the
trace itself."""

from __future__ import annotations

import pytest
from textual.content import Content
from textual.widgets import Static
from tui_helpers import screen_text

from lstm_tui.core.demo import seed_trace
from lstm_tui.tui import catalogue
from lstm_tui.tui.app import make_app
from lstm_tui.tui.draw import fmt
from lstm_tui.tui.explain import EMPHASIS, ExplainPane, emphasised
from lstm_tui.tui.lesson import LESSON_STEP, STAGES, LessonPanel, LessonScreen
from lstm_tui.tui.vector_pane import VectorPane

#: The pane each stage lights (stage 7: h_t and c_t, handed on together).
LIT = {1: {"pane-f"}, 2: {"pane-i"}, 3: {"pane-c_hat"}, 4: {"pane-c"}, 5: {"pane-o"}, 6: {"pane-h"},
       7: {"pane-h", "pane-c"}}


@pytest.fixture(autouse=True)
def english():
    catalogue.set_language("en")
    yield
    catalogue.set_language("en")


def lesson_app(stage: int = 1, step: int = LESSON_STEP):
    return make_app(seed_trace(), load_model=False, lesson_stage=stage, step=step)


def panel_text(screen: LessonScreen) -> str:
    content = screen.query_one(LessonPanel).content
    assert isinstance(content, Content)
    return content.plain


def lit(screen: LessonScreen) -> set[str]:
    return {pane.id for pane in screen.query(VectorPane) if pane.has_class("-lesson")}


def emphasised_text(screen: LessonScreen) -> list[str]:
    """The explain lines drawn with the lesson's emphasis."""
    body = screen.query_one("#explain-body", Static).content
    assert isinstance(body, Content)
    spans = [s for s in body.spans if s.style == EMPHASIS]
    return [body.plain[s.start:s.end] for s in spans]


async def test_opens_at_the_notebooks_step_on_stage_one():
    app = lesson_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        assert (screen.t, screen.unit, screen.layer_index, screen.stage) == (1, 0, 0, 1)
        text = panel_text(screen)
        assert "1. Forget gate" in text
        assert "f_t = sigmoid(W_f @ x_t + U_f @ h_prev + b_f)" in text
        assert screen.query_one(LessonPanel).border_title.startswith("lesson 1 of 7")
        assert lit(screen) == {"pane-f"}
        assert screen.focused is screen.query_one("#pane-f")
        f = fmt(float(screen.trace.layers[0].f[1][0]))
        (line,) = emphasised_text(screen)
        assert line.startswith("f") and f in line
        assert "t = 1 of 0…2" in screen_text(app)


async def test_enter_and_backspace_walk_the_seven_stages():
    app = lesson_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        trace = screen.trace
        for n in range(1, 8):
            assert screen.stage == n
            assert panel_text(screen).startswith(f"{n}. {STAGES[n - 1].title}")
            assert STAGES[n - 1].code in panel_text(screen)
            assert lit(screen) == LIT[n]
            assert screen.t == 1
            if n < 7:
                await pilot.press("enter")
        # Stage 7: h_t and c_t of unit 0 at t = 1 become the previous state of t = 2.
        h, c = fmt(float(trace.layers[0].h[1][0])), fmt(float(trace.layers[0].c[1][0]))
        assert f"h_t {h} and c_t {c} become h_{{t-1}}, c_{{t-1}} at t = 2" in panel_text(screen)
        lines = emphasised_text(screen)
        assert [line[0] for line in lines if not line[0].isspace()] == ["c", "h"]
        await pilot.press("backspace", "backspace")
        assert (screen.stage, screen.t) == (5, 1)
        assert lit(screen) == {"pane-o"}


async def test_past_stage_seven_is_the_next_step_and_back():
    app = lesson_app(stage=7)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        await pilot.press("enter")
        assert (screen.stage, screen.t) == (1, 2)
        assert lit(screen) == {"pane-f"}
        await pilot.press("backspace")
        assert (screen.stage, screen.t) == (7, 1)


async def test_the_lessons_ends_are_refused_with_a_reason():
    app = lesson_app(stage=1, step=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        await pilot.press("backspace")
        assert (screen.stage, screen.t) == (1, 0)
        assert screen.note is not None and "the lesson starts here" in screen.note.text
        assert screen.check_action("lesson", (-1,)) is None  # dimmed in the footer
        await pilot.press("end")  # the usual keys: last step, stage kept
        assert (screen.stage, screen.t) == (1, 2)
        for _ in range(6):
            await pilot.press("enter")
        await pilot.press("enter")
        assert (screen.stage, screen.t) == (7, 2)
        assert "the lesson ends here" in screen.note.text
        h = fmt(float(screen.trace.layers[0].h[2][0]))
        assert f"t = 2 is the last step: the notebook prints h_t {h} at the end" in panel_text(screen)


async def test_arrows_still_step_and_select_units_keeping_the_stage():
    app = lesson_app(stage=3)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        await pilot.press("right", "down")
        assert (screen.stage, screen.t, screen.unit) == (3, 2, 1)
        assert lit(screen) == {"pane-c_hat"}
        c_hat = fmt(float(screen.trace.layers[0].c_hat[2][1]))
        (line,) = emphasised_text(screen)
        assert line.startswith("ĉ") and c_hat in line
        await pilot.press("left")
        assert (screen.stage, screen.t) == (3, 1)
        assert "unit 1 · t = 1" in str(screen.query_one(ExplainPane).border_title)


async def test_the_lesson_brings_explain_back_and_lists_its_keys_in_help():
    app = lesson_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        await pilot.press("W")  # the watches take explain's slot
        assert screen.bottom == "watches"
        await pilot.press("enter")  # the list's own Enter, while it has the focus
        assert screen.stage == 1
        screen.focus_panes()
        await pilot.press("enter")
        assert screen.bottom == "explain" and screen.stage == 2
        await pilot.press("question_mark")
        await pilot.pause()
        help_text = screen_text(app)
        assert "Lesson" in help_text
        assert "Next stage of the lesson (after 7: the next step)" in help_text
        assert "Previous stage of the lesson" in help_text


async def test_at_80x24_the_lit_line_and_pane_stay_on_screen():
    app = lesson_app(stage=6)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        explain = screen.query_one(ExplainPane)
        panel = screen.query_one(LessonPanel)
        pane = screen.query_one("#pane-h")
        assert not screen.query_one("#timeline").display or screen.query_one("#timeline").region.height == 0
        # Nothing overlaps: panes above explain above the lesson panel.
        assert pane.region.bottom <= explain.region.y
        assert explain.region.bottom <= panel.region.y
        assert panel.region.bottom <= app.size.height - 1  # the footer's row
        # The emphasised h line is scrolled into explain's view.
        h = fmt(float(screen.trace.layers[0].h[1][0]))
        shown = screen_text(app).splitlines()[explain.region.y + 1:explain.region.bottom]
        assert any(row.startswith("h") and h in row for row in shown)


async def test_portuguese_quotes_the_notebook():
    catalogue.set_language("pt")
    app = lesson_app(stage=3)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        text = panel_text(screen)
        assert "3. Vetor Candidato (valores novos que *podem* entrar na memória)" in text
        assert "ĉ_t = np.tanh(W_c @ x_t + U_c @ h_prev + b_c)" in text
        assert screen.query_one(LessonPanel).border_title.startswith("lição 3 de 7")
        await pilot.press("enter")
        assert "4. Atualização da memória" in panel_text(screen)


def test_emphasised_marks_a_quantity_and_its_continuation_lines():
    lines = [Content("f = σ(…) = 0.2421"), Content("c = f·c_{t-1} + i·ĉ"), Content("  = 0.1 kept"),
             Content("ĉ_t = tanh(…)"), Content("W_f·x x[2] -0.6860"), Content("  more terms")]
    out, first = emphasised(lines, frozenset({"c"}))
    assert first == 1
    marked = [line.plain for line in out if any(s.style == EMPHASIS for s in line.spans)]
    assert marked == ["c = f·c_{t-1} + i·ĉ", "  = 0.1 kept"]
    out, first = emphasised(lines, frozenset({"c_hat"}))
    assert first == 3
    assert [line.plain for line in out if line.spans] == ["ĉ_t = tanh(…)"]
    assert emphasised(lines, frozenset({"o"}))[1] is None
