"""The guided lesson: one step of the seed notebook's LSTM, stage by stage.

The notebook computes a step by hand in seven stages, each under its own
comment: 1️⃣ forget gate, 2️⃣ input gate, 3️⃣ candidate, 4️⃣ memory update,
5️⃣ output gate, 6️⃣ block output, 7️⃣ pass the state on. ``LessonScreen`` is
the debugger screen (``app.DebuggerScreen``) with one thing more: a stage.
Each stage lights the pane of its vector and its line in the explain pane
(``ExplainPane.emphasis``), and a panel under them quotes the notebook's
comment and line of code for it. Enter goes on, Backspace goes back; every
key of the debugger still works (→ steps, and the stage stays).

Stage 7 stays at step t and lights h_t and c_t together: they are the
h_{t-1} and c_{t-1} the next step reads. Enter then goes on to stage 1 of
step t + 1, where explain's recurrent terms read them (Backspace from stage
1 comes back to stage 7 of step t - 1).

Nothing here computes: the panes and explain show the trace and the core's
explanation as in the debugger; the panel only quotes values from the trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.binding import Binding
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Input, Static

from ..core.trace import Trace
from ..debug.session import View
from .app import DebuggerScreen
from .catalogue import N_, tr
from .draw import fmt
from .explain import ExplainPane
from .refusals import Refusal
from .vector_pane import VectorPane
from .view import ShowsView

#: The step of the notebook's example the lesson opens at: the first whose
#: previous state is not zeros, so every term of explain means something
#: (the issue's hand check was made here, at unit 0).
LESSON_STEP = 1


@dataclass(frozen=True)
class Stage:
    """One stage of the notebook's step: its ``title`` (the notebook's
    comment, in English; ``tr`` gives the notebook's own Portuguese), its
    line of ``code`` as the notebook writes it (code: the same in both
    languages, never translated), a ``hint`` of what to look at, the
    ``panes`` it lights (vector names) and the ``explain`` lines it lights."""

    title: str
    code: str
    hint: str
    panes: tuple[str, ...]
    explain: frozenset[str]


STAGES = (
    Stage(N_("Forget gate"), "f_t = sigmoid(W_f @ x_t + U_f @ h_prev + b_f)",
          N_("f near 1 keeps the memory c_{t-1}; near 0 forgets it."), ("f",), frozenset({"f"})),
    Stage(N_("Input gate"), "i_t = sigmoid(W_i @ x_t + U_i @ h_prev + b_i)",
          N_("i says how much of the candidate ĉ is written into the memory."), ("i",), frozenset({"i"})),
    Stage(N_("Candidate vector (new values that *may* enter the memory)"),
          "ĉ_t = np.tanh(W_c @ x_t + U_c @ h_prev + b_c)",
          N_("ĉ, between -1 and 1: what this step could write."), ("c_hat",), frozenset({"c_hat"})),
    Stage(N_("Memory update"), "c_t = f_t * c_prev + i_t * ĉ_t",
          N_("what is kept, f·c_{t-1}, plus what is written, i·ĉ."), ("c",), frozenset({"c"})),
    Stage(N_("Output gate"), "o_t = sigmoid(W_o @ x_t + U_o @ h_prev + b_o)",
          N_("o says how much of the memory goes out as h."), ("o",), frozenset({"o"})),
    Stage(N_("Final output of the LSTM block"), "h_t = o_t * np.tanh(c_t)",
          N_("h is what the next step and the next layer read."), ("h",), frozenset({"h"})),
    Stage(N_("Pass on to the next time step"), "h_prev, c_prev = h_t, c_t",
          "", ("h", "c"), frozenset({"h", "c"})),
)

def stage_lines(stage: int, view: View) -> list[Content]:
    """The panel's text at ``stage`` (1…7) for ``view``: the notebook's
    comment, its code, and what to look at (at stage 7, the values of the
    selected unit that the next step reads, quoted from the trace)."""
    s = STAGES[stage - 1]
    layer = view.trace.layers[view.layer]
    if stage == 7:
        h, c = fmt(float(layer.h[view.t][view.unit])), fmt(float(layer.c[view.t][view.unit]))
        if view.t < view.last_t:
            hint = tr("h_t {h} and c_t {c} become h_{{t-1}}, c_{{t-1}} at t = {t}", h=h, c=c, t=view.t + 1)
        else:
            hint = tr("t = {t} is the last step: the notebook prints h_t {h} at the end", t=view.t, h=h)
    else:
        hint = tr(s.hint)
    return [
        Content.styled(f"{stage}. {tr(s.title)}", "bold"),
        Content.styled(f"   {s.code}", "$text-accent"),
        Content.styled(f"   {hint}", "$text-muted"),
    ]


class LessonPanel(ShowsView, Static):
    """The stage the lesson is at: its number, the notebook's comment and
    code, what to look at, and the keys that move the lesson."""

    #: What is shown (bound to the screen's ``view``): stage 7 quotes h_t, c_t.
    view: reactive[View | None] = reactive(None, repaint=False)
    #: The stage, 1…7 (bound to the screen's ``stage``).
    stage: reactive[int] = reactive(1, repaint=False)

    def watch_view(self, old: View | None, new: View | None) -> None:
        self._view_changed(old, new)

    def watch_stage(self) -> None:
        self._view_changed()

    def _redraw_view(self, old: View | None = None, new: View | None = None) -> None:
        if self.view is not None:
            self.show(self.stage, self.view)

    def show(self, stage: int, view: View) -> None:
        """Show ``stage`` at ``view`` (before mounting too: the first layout
        then sizes the panel to its text)."""
        self.border_title = tr("lesson {n} of {total} · Enter: next · Backspace: back",
                               n=stage, total=len(STAGES))
        self.update(Content("\n").join(stage_lines(stage, view)))


class LessonScreen(DebuggerScreen):
    """The debugger screen walking through one step in the notebook's order."""

    BINDING_SECTIONS: dict[str, list[Binding]] = {
        "Lesson": [
            # Short words, and Backspace out of the footer: it must fit 80
            # columns with the debugger's keys, in Portuguese too (the
            # lesson panel's title names both keys); help and the palette
            # show the tooltip.
            Binding("enter", "lesson(1)", "Next", id="lesson_next",
                    tooltip="Next stage of the lesson (after 7: the next step)"),
            Binding("backspace", "lesson(-1)", "Back", id="lesson_back", show=False,
                    tooltip="Previous stage of the lesson"),
        ],
        **DebuggerScreen.BINDING_SECTIONS,
    }
    # All of them: the screen's key dimming reads ``BINDINGS`` (``_key_actions``).
    BINDINGS = [binding for section in BINDING_SECTIONS.values() for binding in section]

    #: The stage the lesson is at, 1…7 (``STAGES``).
    stage: reactive[int] = reactive(1, init=False)

    def __init__(self, trace: Trace, *, stage: int = 1, **options: Any) -> None:
        super().__init__(trace, **options)
        self.set_reactive(LessonScreen.stage, self.validate_stage(stage))

    def validate_stage(self, stage: int) -> int:
        return max(1, min(int(stage), len(STAGES)))

    def on_mount(self) -> None:
        # Under explain, where the lists would go; bound like the other panes.
        panel = LessonPanel(id="lesson")
        panel.show(self.stage, self.view)
        panel.data_bind(LessonScreen.view, LessonScreen.stage)
        self.query_one("#main").mount(panel, before=self.query_one("#timeline"))
        self.call_after_refresh(self._point)

    def watch_stage(self) -> None:
        self._point()
        self._refresh_keys()  # Enter and Backspace dim at the lesson's ends

    def _point(self) -> None:
        """Light the stage's panes and explain lines, and bring them into
        view: explain back in its slot, the focus on the stage's pane (so
        that z zooms it), unless the user is typing or has zoomed."""
        if not self.is_mounted:
            return
        stage = STAGES[self.stage - 1]
        for pane in self.query(VectorPane):
            pane.set_class(pane.vector in stage.panes, "-lesson")
        self.bottom = "explain"
        self.query_one(ExplainPane).emphasis = stage.explain
        if self.maximized is None and not isinstance(self.focused, Input):
            self.set_focus(self.query_one(f"#pane-{stage.panes[0]}"))

    # -- keys ------------------------------------------------------------------

    def why_not(self, action: str, parameters: tuple[object, ...]) -> Refusal | None:
        if action != "lesson":
            return super().why_not(action, parameters)
        delta = parameters[0] if parameters and isinstance(parameters[0], int) else 0
        if delta > 0 and self.stage == len(STAGES) and self.t >= self.view.last_t:
            return Refusal(tr("the lesson ends here: the last stage of the last step"))
        if delta < 0 and self.stage == 1 and self.t <= 0:
            return Refusal(tr("the lesson starts here: the first stage of the first step"))
        return None

    def action_lesson(self, delta: int) -> None:
        """The next stage (``delta`` 1) or the previous one (-1); past stage
        7 the next step's stage 1, before stage 1 the last step's stage 7."""
        stage = self.stage + delta
        if stage > len(STAGES):
            self.go(t=self.t + 1)
            stage = 1
        elif stage < 1:
            self.go(t=self.t - 1)
            stage = len(STAGES)
        self.stage = stage
