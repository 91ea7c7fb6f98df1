"""The status line at the top: where in the trace the debugger stands.

``lstm-tui · traces/next_letter.npz      layer 0 (lstm, 32 units) · t = 3 of 0…25 · token 'd' · next 'e' 0.9312``

The step is written with the range it moves in, ``t = 3 of 0…25``: steps
count from 0, and ``t = 25 / 26`` at the last step read as one short.

The right-hand part (layer, step, token, prediction) is what a user steps
by, so it never gets cut; when the line is too short it switches to a
compact spelling first, and the source on the left gives way with an
ellipsis.

Three things join it while debugging: a *note* on the left in place of the
source, saying why the debugger stands where it does ("stopped: f[7] < 0.05
(hit 3 of 12)", "no later hit"), until the user moves elsewhere; ``⚠ NaN``
on the right when the health scan found NaN or Inf, so it is never cut;
and "diff vs <B>" when two runs are compared (the token and prediction
are then those of the run the panes show: B's in run B), with the steps
where they differ beyond the tolerance once the comparison is made ("runs
differ beyond tolerance from t = 5 to t = 39 (layer 0)"; narrow: "differ
t = 5…39 (L0)" first, so what is cut is B's name). While a long scan
for breakpoint hits runs in the background, how far it got ("⟳ scanning 40%
for f[7] < 0.05") takes the source's place, after the note if there is one.
"""

from __future__ import annotations

import os

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from ..core import numeric
from ..core.trace import Layer, Trace
from ..debug.session import Note, View
from . import draw
from .catalogue import say, tr
from .lifetime import Compared, span_texts
from .view import ShowsView


def source_label(trace: Trace) -> str:
    """The trace's file, relative to the working directory when it is below
    it; a trace that has no file (recorded live, built in memory) by its
    ``source``."""
    if trace.path is not None:
        try:
            rel = os.path.relpath(trace.path)
        except ValueError:  # another drive
            rel = str(trace.path)
        return draw.printable(str(trace.path) if rel.startswith("..") else rel)
    source = draw.printable(say(trace.source))  # a Message: the placeholder's (``files``)
    return source or tr("(unnamed trace)")


def prediction_at(trace: Trace, t: int) -> tuple[str, float] | None:
    """The readout's most likely output at step t and its probability."""
    if trace.probs is None:
        return None
    best, p = numeric.top_choice(trace.probs[t : t + 1])
    k = int(best[0])
    if k < 0:
        return ("NaN", float("nan"))
    label = str(trace.vocab[k]) if trace.vocab is not None and k < len(trace.vocab) else f"#{k}"
    return label, float(p[0])


def layer_label(k: int, layer: Layer, compact: bool = False) -> str:
    name = draw.printable(layer.name)  # from the trace file: no raw ESC or newline
    if compact:
        return tr("L{k} {name} {units}u", k=k, name=name, units=layer.units) + (tr(" rev") if layer.reversed else "")
    if layer.reversed:
        return tr("layer {k} ({name}, {units} units, reversed)", k=k, name=name, units=layer.units)
    return tr("layer {k} ({name}, {units} units)", k=k, name=name, units=layer.units)


#: A line for the status bar about the step the debugger stands at (the
#: session's moves return them).
StatusNote = Note


NOTE_STYLES = {"info": "bold", "warning": "bold $warning", "error": "bold $error"}


class StatusLine(ShowsView, Widget):
    """One line: app title and source on the left, position on the right."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    #: What is shown (bound to the debugger screen's ``view``): the run B's
    #: name goes in the header when comparing, its token when B is shown.
    view: reactive[View | None] = reactive(None)
    #: Why the debugger stands here (a stop, a search match), or None.
    note: reactive[StatusNote | None] = reactive(None)
    #: "NaN", "Inf" or "NaN/Inf" when the health scan found one, else "".
    alarm: reactive[str] = reactive("")
    #: What a scan running in a worker has got to ("scanning 40% for
    #: h[3] > 0.5"), shown first on the left while it runs; "" when none.
    busy: reactive[str] = reactive("")
    #: The diff report of a pair (None until it is made): where the runs differ.
    compared: reactive[Compared | None] = reactive(None)

    def where(self, compact: bool = False, minimal: bool = False, readout: bool = True) -> Content:
        """Layer, step, token and prediction (the part that must not be cut);
        ``minimal`` is the step alone, for a terminal a few cells wide."""
        trace = self.trace
        if trace is None:
            return Content("")
        k, t = self.layer_index, self.t
        layer = trace.layers[k]
        step = tr("t = {t} of 0…{last}", t=t, last=layer.steps - 1)
        if minimal:
            return Content.styled(step, "bold")
        parts: list[tuple[str, str] | str] = [
            layer_label(k, layer, compact), " · ", (step, "bold"),
        ]
        if self.other is not None and self.run == "b" and t < self.other.layers[k].steps:
            trace, layer = self.other, self.other.layers[k]  # B's token and prediction
        token = trace.token(layer.position(t))
        if token is not None:
            parts += [" · ", "" if compact else tr("token") + " ", (draw.quote(token), "bold")]
        if layer.mask is not None and not bool(layer.mask[t]):
            parts += [" · ", (tr("masked"), "italic")]
        pred = prediction_at(trace, t) if readout else None
        if pred is not None:
            label, p = pred
            parts += [" · ", "→ " if compact else tr("next") + " ", (draw.quote(label), "bold"),
                      " ", draw.fmt(p)]
        return Content.assemble(*parts)

    def _diff_lefts(self, title: str, source: str) -> list[Content]:
        """The left part when comparing, longest first: it may lose the app
        title and the folders, never the words "diff vs"."""
        assert self.other is not None
        other = source_label(self.other)
        vs = tr("diff vs")
        short_a, short_b = os.path.basename(source) or source, os.path.basename(other) or other
        span = span_texts(self.compared, self.trace, self.other, self.layer_index)
        if span is not None:
            long, short = (" · ", (span[0], "bold")), (" · ", (span[1], "bold"))
            return [Content.assemble(f" {title} · {source} · ", (vs, "bold"), f" {other}", *long),
                    Content.assemble(f" {source} · ", (vs, "bold"), f" {other}", *long),
                    Content.assemble(f" {short_a} · ", (vs, "bold"), f" {short_b}", *short),
                    Content.assemble(" ", (vs, "bold"), f" {short_b}", *short),
                    Content.assemble(" ", (span[1], "bold"), " · ", (vs, "bold"), f" {short_b}")]
        return [Content.assemble(f" {title} · {source} · ", (vs, "bold"), f" {other}"),
                Content.assemble(f" {source} · ", (vs, "bold"), f" {other}"),
                Content.assemble(f" {short_a} · ", (vs, "bold"), f" {short_b}"),
                Content.assemble(" ", (vs, "bold"), f" {short_b}")]

    def render(self) -> Content:
        width = self.size.width
        title = self.app.title or "lstm-tui"
        if self.trace is None:
            return Content(f" {title}")
        source = source_label(self.trace)
        note = self.note
        lefts = [Content(f" {title} · {source}")]
        if note is not None:
            # The session's notes are Messages, in the screen's language here.
            lefts = [Content.assemble(" ", (say(note.text), NOTE_STYLES.get(note.severity, "bold")))]
        elif self.other is not None:
            lefts = self._diff_lefts(title, source)
        if self.busy:
            # A long scan says how far it got in place of the source; after
            # a note, which is about the key just pressed, so that what is
            # cut on a narrow line is the scan's condition, not the note.
            busy = Content.styled(f"⟳ {self.busy}", "bold $accent")
            lefts = [Content.assemble(lefts[0], " · ", busy) if note is not None else Content.assemble(" ", busy)]
        left = lefts[0]
        alarm = Content.styled(f"⚠ {self.alarm}", "bold reverse $error") + " · " if self.alarm else Content("")
        tiers = [alarm + self.where() + " ", alarm + self.where(compact=True) + " "]
        if note is not None or self.alarm:
            # Room for what the debugger has to say: the prediction goes first.
            tiers.append(alarm + self.where(compact=True, readout=False) + " ")
        if note is not None:
            # The longest spelling that leaves the whole note, else one that
            # leaves most of it: it says why the debugger stopped here.
            fits = [r for r in tiers if width - r.cell_length >= left.cell_length + 1]
            fits = fits or [r for r in tiers if width - r.cell_length >= min(left.cell_length + 1, 44)]
            right = fits[0] if fits else tiers[-1]
        else:
            # The long spelling as long as the left keeps a readable stub;
            # comparing, room for B's name and where the runs differ.
            want = min(left.cell_length, 24)
            if len(lefts) > 1 and span_texts(self.compared, self.trace, self.other, self.layer_index):
                want = min(lefts[-2].cell_length, 48)
            right = next((r for r in tiers if width - r.cell_length >= want), tiers[-1])
        room = width - right.cell_length
        if room < 3:
            # Not even the source's first letters fit: the step alone, or
            # nothing rather than half a number.
            right = self.where(minimal=True)
            return right if right.cell_length <= width else Content("")
        if len(lefts) > 1:
            left = next((c for c in lefts if c.cell_length + 1 <= room), lefts[-1])
        if left.cell_length + 1 > room:
            if self.trace.path is not None and note is None and self.other is None:
                # A path keeps its end, the file's name: "…/traces/other.npz".
                keep = max(room - 1 - len(f" {title} · …"), 0)
                left = Content(f" {title} · …{source[len(source) - keep:] if keep else ''}")
            if left.cell_length + 1 > room:
                left = left.truncate(room - 1, ellipsis=True)
        gap = " " * (room - left.cell_length)
        return Content.assemble(left, gap, right)
