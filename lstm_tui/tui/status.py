"""The status line at the top: where in the trace the debugger stands.

``lstm-tui · traces/next_letter.npz      layer 0 (lstm, 32 units) · t = 3 / 25 · token 'd' · next 'e' 0.9312``

The right-hand part (layer, step, token, prediction) is what a user steps
by, so it never gets cut; when the line is too short it switches to a
compact spelling first, and the source on the left gives way with an
ellipsis.
"""

from __future__ import annotations

import os

import numpy as np
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from ..trace import Layer, Trace
from . import draw


def source_label(trace: Trace) -> str:
    """The trace's file, relative to the working directory when it is below
    it; a trace that has no file (recorded live, built in memory) by its
    ``source``."""
    if trace.path is not None:
        try:
            rel = os.path.relpath(trace.path)
        except ValueError:  # another drive
            rel = str(trace.path)
        return str(trace.path) if rel.startswith("..") else rel
    return trace.source or "(unnamed trace)"


def prediction_at(trace: Trace, t: int) -> tuple[str, float] | None:
    """The readout's most likely output at step t and its probability."""
    if trace.probs is None:
        return None
    row = np.asarray(trace.probs[t], np.float64)
    if row.size == 0 or np.isnan(row).all():
        return ("NaN", float("nan"))
    k = int(np.nanargmax(row))
    label = str(trace.vocab[k]) if trace.vocab is not None else f"#{k}"
    return label, float(row[k])


def layer_label(k: int, layer: Layer, compact: bool = False) -> str:
    if compact:
        return f"L{k} {layer.name} {layer.units}u" + (" rev" if layer.reversed else "")
    rev = ", reversed" if layer.reversed else ""
    return f"layer {k} ({layer.name}, {layer.units} units{rev})"


class StatusLine(Widget):
    """One line: app title and source on the left, position on the right."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    trace: reactive[Trace | None] = reactive(None)
    layer_index: reactive[int] = reactive(0)
    t: reactive[int] = reactive(0)

    def where(self, compact: bool = False, minimal: bool = False) -> Content:
        """Layer, step, token and prediction (the part that must not be cut);
        ``minimal`` is the step alone, for a terminal a few cells wide."""
        trace = self.trace
        if trace is None:
            return Content("")
        k = min(max(self.layer_index, 0), len(trace.layers) - 1)
        layer = trace.layers[k]
        t = min(max(self.t, 0), layer.steps - 1)
        if minimal:
            return Content.styled(f"t = {t} / {layer.steps}", "bold")
        parts: list[tuple[str, str] | str] = [
            layer_label(k, layer, compact), " · ", (f"t = {t} / {layer.steps}", "bold"),
        ]
        token = trace.token(layer.position(t))
        if token is not None:
            parts += [" · ", "" if compact else "token ", (draw.quote(token), "bold")]
        if layer.mask is not None and not bool(layer.mask[t]):
            parts += [" · ", ("masked", "italic")]
        pred = prediction_at(trace, t)
        if pred is not None:
            label, p = pred
            parts += [" · ", "→ " if compact else "next ", (draw.quote(label), "bold"),
                      " ", draw.fmt(p)]
        return Content.assemble(*parts)

    def render(self) -> Content:
        width = self.size.width
        title = self.app.title or "lstm-tui"
        if self.trace is None:
            return Content(f" {title}")
        source = source_label(self.trace)
        left = Content(f" {title} · {source}")
        # The long spelling as long as the source keeps a readable stub.
        right = self.where() + " "
        if width - right.cell_length < min(left.cell_length, 24):
            right = self.where(compact=True) + " "
        room = width - right.cell_length
        if room < 3:
            # Not even the source's first letters fit: the step alone, or
            # nothing rather than half a number.
            right = self.where(minimal=True)
            return right if right.cell_length <= width else Content("")
        if left.cell_length + 1 > room:
            if self.trace.path is not None:
                # A path keeps its end, the file's name: "…/traces/other.npz".
                keep = max(room - 1 - len(f" {title} · …"), 0)
                left = Content(f" {title} · …{source[len(source) - keep:] if keep else ''}")
            if left.cell_length + 1 > room:
                left = left.truncate(room - 1, ellipsis=True)
        gap = " " * (room - left.cell_length)
        return Content.assemble(left, gap, right)
