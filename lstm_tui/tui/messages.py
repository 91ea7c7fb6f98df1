"""Messages the widgets post upwards to the screen that owns the state.

State flows down (the screen's ``trace``, ``layer_index``, ``t`` and ``unit``
reactives are data-bound into every pane); a pane that wants the state
changed says so with one of these, and the screen decides. Messages a
user can fire many times a second (clicks, wheel over the timeline)
define ``can_replace`` so a burst collapses to the latest one instead of
replaying every intermediate step.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ..core.trace import Trace


@dataclass
class UnitPicked(Message):
    """The user picked a unit (clicked a row of a pane)."""

    unit: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, UnitPicked)


@dataclass
class StepPicked(Message):
    """The user picked a step (clicked a column of the timeline)."""

    t: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StepPicked)


@dataclass
class TraceReady(Message):
    """A new trace to debug: opened from a file or recorded live."""

    trace: Trace
    origin: str  # what to tell the user: a path, or "live: <text>"


@dataclass
class BreakpointAction(Message):
    """The breakpoints list asks for ``action`` ("toggle", "delete" or
    "goto": the next hit of that breakpoint) on breakpoint ``index``."""

    action: str
    index: int


@dataclass
class FindingPicked(Message):
    """The user chose a health finding: go to its layer, step and unit."""

    layer: int
    step: int | None
    unit: int | None


@dataclass
class WatchAction(Message):
    """The watch list asks for ``action`` ("goto": select that unit, or
    "remove": unpin it) on the watch of ``layer``'s ``unit``."""

    action: str
    layer: int
    unit: int


@dataclass
class ScanReady(Message):
    """A health scan or a diff report finished in a worker, for ``trace``
    (the screen drops a result for a trace no longer on screen)."""

    kind: str  # "health" | "diff" | "scales"
    trace: Trace
    result: object


@dataclass
class ScanProgress(Message):
    """How far scan number ``scan`` of ``kind`` ("diff": the comparison of
    two runs) got, in ``percent`` of its steps. Posted from the worker
    thread; a burst collapses to the latest."""

    kind: str
    scan: int
    percent: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScanProgress) and message.kind == self.kind


@dataclass
class HitsProgress(Message):
    """How far the scan for breakpoint hits number ``scan`` got: ``percent``
    of its steps, now evaluating ``condition`` (its source). Posted from
    the worker thread after each block; a burst collapses to the latest."""

    scan: int
    percent: int
    condition: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HitsProgress) and message.scan == self.scan


@dataclass
class HitsScanned(Message):
    """The scan for breakpoint hits number ``scan`` finished: every
    condition it was given is in the session's hit cache of ``trace``."""

    scan: int
    trace: Trace


@dataclass
class TraceReloaded(Message):
    """A trace whose file changed on disk was loaded again (``trace``), or
    could not be (``error``, one line). ``run`` is "a" (the trace on screen)
    or "b" (the second run of a comparison); ``old`` is the trace that was
    shown and ``why`` what happened to its file
    (``Trace.changed_on_disk``)."""

    run: str
    old: Trace
    why: str
    trace: Trace | None
    error: str | None
