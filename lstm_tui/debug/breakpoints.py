"""Breakpoints and token search for a debugging session, without a screen.

The debugger screen keeps a list of ``Breakpoint``s (a parsed condition and
whether it is enabled) and asks a ``HitCache`` where they hold. Each
(condition, layer) is evaluated once, over all steps at once, and the (T,)
bool result kept: stepping, continuing and redrawing the timeline only read
the cached arrays, so a key press never re-evaluates a condition. The cache
belongs to one trace; a new trace gets a new cache.

``HitCache.stop`` answers what ``c`` and ``C`` need: the next (previous) step
where any enabled breakpoint holds, which breakpoint that is, and which of
its hits ("hit 3 of 12").

On a long trace one evaluation reads every step of the vectors it names (a
60 000-step LSTM(512) is 750 MB): a screen then runs it in a thread with
``HitCache.compute``, which takes the scans' ``check`` (to stop it) and a
``progress`` callback, and asks ``ready`` before reading a result so that
its own thread never evaluates.

Token search (``token_matches``): a query matches a step when the token the
layer read at that step contains it, case-sensitively (``e`` finds ``e``
and ``the``, not ``E``). A query in quotes (``'a'`` or ``"the"``) must equal
the whole token, which also lets a search be for a blank (``' '``).

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.text import Message
from ..core.trace import Trace
from ..errors import LstmTuiError
from .conditions import Condition, ConditionError, next_hit


@dataclass(frozen=True)
class Breakpoint:
    """A condition the debugger stops at, and whether it is on."""

    condition: Condition
    enabled: bool = True

    @property
    def source(self) -> str:
        return self.condition.source

    def toggled(self) -> Breakpoint:
        return Breakpoint(self.condition, not self.enabled)


@dataclass(frozen=True)
class Stop:
    """Where a continue stopped: at ``step``, because ``breakpoints[index]``
    holds there; it is that breakpoint's hit number ``hit`` (from 1) of
    ``hits``; ``also`` more enabled breakpoints hold at the same step."""

    step: int
    index: int
    hit: int
    hits: int
    also: int = 0


class HitCache:
    """Where conditions hold on the layers of one trace, each (condition,
    layer) evaluated once. A condition that does not fit a layer (an index
    out of range, no readout) is cached as its ``ConditionError``."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self._hits: dict[tuple[Condition, int], np.ndarray | ConditionError] = {}

    def _get(self, condition: Condition, layer: int) -> np.ndarray | ConditionError:
        found = self._hits.get((condition, layer))
        return found if found is not None else self.compute(condition, layer)

    def ready(self, condition: Condition, layer: int) -> bool:
        """Whether ``condition`` was evaluated on ``layer`` already (or found
        not to fit it): reading it then costs nothing."""
        return (condition, layer) in self._hits

    def compute(self, condition: Condition, layer: int, check: Callable[[], None] | None = None,
                progress: Callable[[int, int], None] | None = None) -> np.ndarray | ConditionError:
        """Evaluate ``condition`` on ``layer`` and keep the result (or its
        ``ConditionError``). Safe to call from a worker thread: the result is
        stored in one assignment at the end, so a reader sees it whole or
        not at all. ``check`` is called before each block of steps and may
        raise to stop (nothing is kept then); ``progress`` gets (steps done,
        T) after each block."""
        key = (condition, layer)
        found = self._hits.get(key)
        if found is not None:
            return found
        try:
            result = condition.evaluate(self.trace, layer, check=check, progress=progress)
            result.setflags(write=False)
            found = result
        except ConditionError as e:
            found = e
        self._hits[key] = found
        return found

    def hits(self, condition: Condition, layer: int) -> np.ndarray:
        """(T,) bool, read-only: the steps of ``layer`` where ``condition``
        holds. Raises the condition's ``ConditionError`` if it does not fit
        the layer."""
        found = self._get(condition, layer)
        if isinstance(found, ConditionError):
            raise found
        return found

    def error(self, condition: Condition, layer: int) -> ConditionError | None:
        """Why ``condition`` cannot be evaluated on ``layer``, or None."""
        found = self._get(condition, layer)
        return found if isinstance(found, ConditionError) else None

    def count(self, condition: Condition, layer: int) -> int | None:
        """The number of steps where the condition holds (None: it does not
        fit the layer)."""
        found = self._get(condition, layer)
        return None if isinstance(found, ConditionError) else int(np.count_nonzero(found))

    def any(self, breakpoints: Sequence[Breakpoint], layer: int) -> np.ndarray:
        """(T,) bool: steps where at least one enabled breakpoint that fits
        the layer holds."""
        out = np.zeros(self.trace.steps, dtype=bool)
        for bp in breakpoints:
            if bp.enabled:
                found = self._get(bp.condition, layer)
                if not isinstance(found, ConditionError):
                    out |= found
        return out

    def stop(self, breakpoints: Sequence[Breakpoint], layer: int, t: int,
             backwards: bool = False) -> Stop | None:
        """The first step after ``t`` (before it when ``backwards``) where an
        enabled breakpoint holds, or None when there is none that way. The
        breakpoint named is the first in the list that holds there."""
        step = next_hit(self.any(breakpoints, layer), t, backwards)
        if step is None:
            return None
        holding = []
        for k, bp in enumerate(breakpoints):
            if not bp.enabled:
                continue
            found = self._get(bp.condition, layer)
            if not isinstance(found, ConditionError) and found[step]:
                holding.append(k)
        index = holding[0]
        own = self.hits(breakpoints[index].condition, layer)
        return Stop(step=step, index=index, hit=int(np.count_nonzero(own[: step + 1])),
                    hits=int(np.count_nonzero(own)), also=len(holding) - 1)


class SearchError(LstmTuiError, ValueError):
    """A token search that cannot run (the trace has no tokens, an empty
    query)."""


def parse_query(query: str) -> tuple[str, bool]:
    """(text, exact): a query in matching single or double quotes is an
    exact match of its inside; anything else a substring."""
    if len(query) >= 2 and query[0] == query[-1] and query[0] in "'\"":
        return query[1:-1], True
    return query, False


def token_matches(trace: Trace, query: str, layer: int = 0) -> np.ndarray:
    """(T,) bool: the steps of ``layer`` whose token matches ``query``
    (substring, case-sensitive; quoted: the whole token). Steps are in the
    layer's order, so a reversed layer's step t reads position T-1-t."""
    if trace.tokens is None:
        raise SearchError(Message("the trace has no tokens to search"))
    text, exact = parse_query(query)
    if not text and not exact:
        raise SearchError(Message("nothing to search for"))
    tokens = np.asarray(trace.tokens, dtype=str)
    if exact:
        by_position = tokens == text
    else:
        by_position = np.char.find(tokens, text) >= 0
    if trace.layers[layer].reversed:
        by_position = by_position[::-1]
    return np.ascontiguousarray(by_position, dtype=bool)
