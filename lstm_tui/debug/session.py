"""A debugging session without a screen: where the debugger stands, and the moves.

``View`` is the one value of what is shown: the trace, the other run of a
comparison (or None), which run the panes show ("a", "b" or "delta": B − A),
the layer, the step ``t`` and the selected unit. It is frozen and clamped once,
by its constructor: the layer into the trace's layers, ``t`` into the steps
of the layer shown, the unit into that layer's units, and the run to "a" when
there is no other run. A view can never hold one trace with another trace's
step, so whatever receives one need not clamp it again.

``DebugSession`` holds the position (a ``View``), the breakpoints, the
watched units, the token search and the diff report of a comparison: it is
their one owner, and a screen only shows them. Its moves (step, first/last
step, unit, layer, go to, continue forwards and backwards, search, first
divergence, cycle the run) set the new view and return it with what the
status line says about it (a ``Move``: the view and a ``Note``, or None).
Its edits (add, toggle and delete a breakpoint; pin and unpin a unit)
return what changed and the note (an ``Edit``); after one, the screen
publishes ``pins()``, what the breakpoints and watches lists show, taken
whole from the session.
``why_not`` is the one answer to whether a key's action can act now, and if
not why: the screen's ``check_action`` (dimmed keys in the footer) and the
status line's reason for a key pressed anyway both ask it.

This module imports only the standard library, NumPy and the core; what
only breakpoints and searches need is imported on first use, so that
opening the debugger does not pay for the condition parser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..core.text import Message
from ..core.trace import Trace

if TYPE_CHECKING:
    from .breakpoints import Breakpoint, HitCache
    from .conditions import Condition
    from .diff import DiffReport

#: The runs a comparison can show, in the order ``cycle_run`` goes through them.
RUNS = ("delta", "a", "b")


def _clamp(value: int, lo: int, hi: int) -> int:
    return max(lo, min(value, hi))


@dataclass(frozen=True)
class View:
    """What is shown: ``trace`` (run A), ``other`` (run B, or None), which
    ``run`` the panes show, ``layer``, step ``t`` and ``unit``. Clamped on
    construction (``replace`` clamps again), so every field is in range for
    the trace it comes with. Two views are equal when they hold the same
    trace objects (a ``Trace`` compares by identity) at the same run,
    layer, step and unit: a reactive holding a view fires on a real move
    only."""

    trace: Trace
    other: Trace | None = None
    run: str = "a"
    layer: int = 0
    t: int = 0
    unit: int = 0

    def __post_init__(self) -> None:
        layers = self.trace.layers
        layer = _clamp(int(self.layer), 0, len(layers) - 1)
        shown = layers[layer]
        set_ = object.__setattr__  # frozen: the clamp is the constructor's own
        set_(self, "layer", layer)
        set_(self, "t", _clamp(int(self.t), 0, max(shown.steps, 1) - 1))
        set_(self, "unit", _clamp(int(self.unit), 0, max(shown.units, 1) - 1))
        if self.other is None or self.run not in RUNS:
            set_(self, "run", "a")

    def moved(self, **changes: Any) -> View:
        """This view with ``changes`` (clamped)."""
        return replace(self, **changes)

    @property
    def last_t(self) -> int:
        """The last step of the layer shown."""
        return self.trace.layers[self.layer].steps - 1


@dataclass(frozen=True)
class Note:
    """A line for the status bar about the step the debugger stands at:
    ``severity`` is "info", "warning" or "error"; the screen drops the note
    when the user moves away from (``t``, ``layer``)."""

    text: str
    severity: str = "info"
    t: int | None = None
    layer: int | None = None


@dataclass(frozen=True)
class Refusal:
    """Why a key cannot act now, in a few words for the status line
    ("already at the last step"). ``hidden``: the key can never act on
    this trace (``[`` with one layer, ``d`` without a second run), so the
    footer leaves it out rather than dims it; a press still says why."""

    reason: str
    hidden: bool = False


@dataclass(frozen=True)
class Move:
    """A move's result: the view the session now stands at, and what the
    status line says about it (None: nothing; the old note goes if it was
    about another step)."""

    view: View
    note: Note | None = None


@dataclass(frozen=True)
class Edit:
    """An edit's result: what changed in the breakpoints or the watches
    ("added", "removed", "enabled", "disabled"; None: nothing), and what
    the status line says about it (None: nothing)."""

    changed: str | None
    note: Note | None = None


@dataclass(frozen=True)
class BreakpointStatus:
    """One row of the breakpoints list, on the layer shown: ``hits`` is
    None when the condition does not fit the layer, and ``error`` then
    says why; or, with ``scanning``, while its hits are still being found
    (a long trace, scanned in a worker: ``DebugSession.unscanned``)."""

    source: str
    enabled: bool
    hits: int | None
    error: str | None = None
    scanning: bool = False


@dataclass(frozen=True)
class Pins:
    """What the breakpoints and watches lists show, taken from the session
    (``DebugSession.pins``) after each edit, layer or trace: the breakpoints
    with their hit counts on the layer shown, and the watched units. Equal
    snapshots compare equal, so a list redraws only when its part changed."""

    breakpoints: tuple[BreakpointStatus, ...] = ()
    watches: tuple[tuple[int, int], ...] = ()


@dataclass
class DebugSession:
    """The state of one debugging session and the moves that change it."""

    view: View
    #: The breakpoints, in the order added.
    breakpoints: tuple[Breakpoint, ...] = ()
    #: (layer, unit) of every pinned unit.
    watches: tuple[tuple[int, int], ...] = ()
    #: The last token search that matched, or None.
    search: str | None = None
    #: The comparison's report (None: no second run, or still comparing).
    diff_report: DiffReport | None = None
    #: Above this many values (the steps of a layer times its widest
    #: vector), a condition is not evaluated when the session is asked
    #: about its hits: it is "not scanned yet" (``unscanned``) until a
    #: screen has scanned it off its own thread (``HitCache.compute``).
    #: None: always evaluated on demand (the command line, scripts).
    scan_inline_limit: int | None = None
    _search_hits: dict[int, Any] = field(default_factory=dict, repr=False)
    _hit_cache: HitCache | None = field(default=None, repr=False)

    @classmethod
    def start(cls, trace: Trace, other: Trace | None = None) -> DebugSession:
        """A session at the first step of ``trace``; B − A shown when there
        is a second run."""
        return cls(View(trace, other, "delta" if other is not None else "a"))

    def forget_trace(self) -> None:
        """Another trace is shown: the search, its matches and the diff
        report were about the last one. Breakpoints stay; watched units
        stay where the trace shown has them (its layers, its units)."""
        self.search = None
        self._search_hits = {}
        self.diff_report = None
        layers = self.view.trace.layers
        self.watches = tuple((k, u) for k, u in self.watches if k < len(layers) and u < layers[k].units)

    def pins(self) -> Pins:
        """What the breakpoints and watches lists show now (the hit counts
        are for the layer shown)."""
        k = self.view.layer
        statuses = []
        if self.breakpoints:
            hits = self.hits
            for bp in self.breakpoints:
                if self._deferred(bp.condition, k):
                    statuses.append(BreakpointStatus(bp.source, bp.enabled, None, scanning=True))
                    continue
                error = hits.error(bp.condition, k)
                statuses.append(BreakpointStatus(bp.source, bp.enabled, hits.count(bp.condition, k),
                                                 None if error is None else _error_text(error)))
        return Pins(tuple(statuses), self.watches)

    def hit_steps(self) -> Any:
        """(T,) bool: the steps of the layer shown where an enabled
        breakpoint holds; None when none is enabled (no row of hits)."""
        if not any(bp.enabled for bp in self.breakpoints):
            return None
        k = self.view.layer
        # The ones still being scanned join when they are known.
        return self.hits.any([bp for bp in self.breakpoints if not self._deferred(bp.condition, k)], k)

    def _deferred(self, condition: Condition, layer: int) -> bool:
        """Whether the hits of ``condition`` on ``layer`` are unknown and too
        costly to find on the caller's thread (``scan_inline_limit``)."""
        limit = self.scan_inline_limit
        if limit is None or self.hits.ready(condition, layer):
            return False
        shown = self.view.trace.layers[layer]
        return shown.steps * max(shown.units, shown.input_dim, 1) > limit

    def unscanned(self, conditions: Any = None) -> tuple[Condition, ...]:
        """The conditions of ``conditions`` (default: every breakpoint's)
        whose hits on the layer shown are not known yet and too costly to
        find at once: a screen finds them in a worker (``hits.compute``)
        before it continues, and meanwhile the breakpoints list shows them
        as scanning. Each condition once, in order."""
        if conditions is None:
            conditions = [bp.condition for bp in self.breakpoints]
        k = self.view.layer
        return tuple(dict.fromkeys(c for c in conditions if self._deferred(c, k)))

    # -- the one answer to "can this key act now?" ---------------------------------

    def why_not(self, action: str, parameters: tuple[object, ...] = ()) -> Refusal | None:
        """Why the key bound to ``action`` (with ``parameters``) cannot act
        now, or None when it can (or when the action is not the session's)."""
        view = self.view
        trace = view.trace
        last_t = trace.steps - 1
        delta = parameters[0] if parameters and isinstance(parameters[0], int) else 0
        if action in ("step", "first_step", "last_step"):
            back = delta < 0 or action == "first_step"
            if back and view.t <= 0:
                return Refusal(Message("already at the first step (t = 0)"))
            if not back and view.t >= last_t:
                return Refusal(Message("already at the last step (t = {t})", t=last_t))
        elif action == "goto":
            if last_t <= 0:
                return Refusal(Message("only one step in this trace"))
        elif action == "unit":
            units = trace.layers[view.layer].units
            if units == 1:
                return Refusal(Message("this layer has one unit"))
            if delta < 0 and view.unit <= 0:
                return Refusal(Message("already at the first unit (0)"))
            if delta > 0 and view.unit >= units - 1:
                return Refusal(Message("already at the last unit ({unit})", unit=units - 1))
        elif action == "layer":
            layers = len(trace.layers)
            if layers == 1:
                # Hidden, not dimmed: the footer has no room for a key that can never act.
                return Refusal(Message("only one layer in this trace"), hidden=True)
            if delta < 0 and view.layer <= 0:
                return Refusal(Message("already at the first layer (0)"))
            if delta > 0 and view.layer >= layers - 1:
                return Refusal(Message("already at the last layer ({layer})", layer=layers - 1))
        elif action == "resume":
            if not self.breakpoints:
                return Refusal(Message("no breakpoints: press b to add one"))
            if not any(bp.enabled for bp in self.breakpoints):
                return Refusal(Message("no breakpoint enabled (B lists them)"))
        elif action == "search":
            if trace.tokens is None:
                return Refusal(Message("this trace has no tokens to search"))
        elif action == "search_step":
            if trace.tokens is None:
                return Refusal(Message("this trace has no tokens to search"))
            if self.search is None:
                return Refusal(Message("no search yet: / searches the tokens"))
        elif action == "what_if":
            if trace.layers[view.layer].cell is None:
                return Refusal(Message("layer {k} stores no weights: a what-if re-runs it from them", k=view.layer))
        elif action in ("cycle_run", "first_divergence"):
            if view.other is None:
                return Refusal(Message("no second run (lstm-tui view A --diff B)"), hidden=True)
            if action == "first_divergence":
                report = self.diff_report
                if report is None:
                    return Refusal(Message("still comparing the two runs"))
                if report.first is None:
                    return Refusal(Message("no divergence between the two runs"))
        return None

    # -- moves ---------------------------------------------------------------------

    def _go(self, note: Note | None = None, **changes: Any) -> Move:
        self.view = self.view.moved(**changes)
        return Move(self.view, note)

    def step(self, delta: int) -> Move:
        """``delta`` steps on (back when negative), clamped."""
        return self._go(t=self.view.t + delta)

    def first_step(self) -> Move:
        return self._go(t=0)

    def last_step(self) -> Move:
        return self._go(t=self.view.last_t)

    def goto(self, t: int) -> Move:
        return self._go(t=t)

    def unit(self, delta: int) -> Move:
        """The unit ``delta`` rows down (up when negative), clamped."""
        return self._go(unit=self.view.unit + delta)

    def layer(self, delta: int) -> Move:
        """The layer ``delta`` on; the unit is clamped into its width."""
        return self._go(layer=self.view.layer + delta)

    def switch_layer(self, k: int) -> Move:
        return self._go(layer=k)

    # -- breakpoints -----------------------------------------------------------------

    @property
    def hits(self) -> HitCache:
        """Where each condition holds, per layer, for the trace shown (built
        on first use, and again for a new trace)."""
        if self._hit_cache is None or self._hit_cache.trace is not self.view.trace:
            from .breakpoints import HitCache

            self._hit_cache = HitCache(self.view.trace)
        return self._hit_cache

    def check_condition(self, text: str) -> Condition:
        """Parse ``text`` and fit it to the layer shown; raises
        ``ConditionError`` (with its column) when either fails."""
        from .conditions import Condition

        condition = Condition.parse(text)
        condition.check(self.view.trace, self.view.layer)
        return condition

    def add_breakpoint(self, condition: Condition) -> Edit:
        """Add a breakpoint on ``condition`` (not twice) and say how often it
        holds on the layer shown."""
        view = self.view
        if any(bp.condition == condition for bp in self.breakpoints):
            return Edit(None, Note(Message("already a breakpoint: {source}", source=condition.source), "warning",
                                   t=view.t, layer=view.layer))
        from .breakpoints import Breakpoint

        self.breakpoints = (*self.breakpoints, Breakpoint(condition))
        k = view.layer
        if self._deferred(condition, k):
            return Edit("added")  # a long trace: the screen scans for its hits and says how far it got
        n = self.hits.count(condition, k) or 0
        said = Message("breakpoint {source}: {n} hit on layer {k}" if n == 1 else
                       "breakpoint {source}: {n} hits on layer {k}", source=condition.source, n=n, k=k)
        return Edit("added", Note(said, t=view.t, layer=k))

    def toggle_breakpoint(self, index: int) -> Edit:
        """Enable the breakpoint at ``index`` if it is off, disable it if it
        is on (nothing to say: its list shows it)."""
        if not 0 <= index < len(self.breakpoints):
            return Edit(None)
        bps = list(self.breakpoints)
        bps[index] = bps[index].toggled()
        self.breakpoints = tuple(bps)
        return Edit("enabled" if bps[index].enabled else "disabled")

    def delete_breakpoint(self, index: int) -> Edit:
        """Delete the breakpoint at ``index`` (nothing to say: its list
        shows it)."""
        if not 0 <= index < len(self.breakpoints):
            return Edit(None)
        self.breakpoints = self.breakpoints[:index] + self.breakpoints[index + 1:]
        return Edit("removed")

    def next_hit_of(self, index: int) -> Move:
        """Continue to the next step where the breakpoint at ``index`` holds,
        enabled or not, as if it were the only one."""
        if not 0 <= index < len(self.breakpoints):
            return Move(self.view)
        from .breakpoints import Breakpoint

        return self.resume(breakpoints=(Breakpoint(self.breakpoints[index].condition),))

    def resume(self, backwards: bool = False, breakpoints: tuple[Breakpoint, ...] | None = None) -> Move:
        """Continue to the next (previous) step where an enabled breakpoint
        of ``breakpoints`` (default: the session's) holds and say which, or
        stay and say that there is none that way (no wrap-around)."""
        bps = self.breakpoints if breakpoints is None else breakpoints
        view = self.view
        k = view.layer
        stop = self.hits.stop(bps, k, view.t, backwards)
        if stop is None:
            hits = self.hits.any(bps, k)
            if not hits.any():
                why = Message("no enabled breakpoint holds on layer {k}", k=k)
            else:
                # The hit nearest the end it ran into, for orientation.
                from .conditions import next_hit

                end = next_hit(hits, -1) if backwards else next_hit(hits, len(hits), backwards=True)
                if end == view.t:
                    why = Message("no earlier hit: this is the first" if backwards
                                  else "no later hit: this is the last")
                else:
                    why = Message("no earlier hit: the first is at t = {t}" if backwards
                                  else "no later hit: the last is at t = {t}", t=end)
            return Move(view, Note(why, "warning", t=view.t, layer=k))
        bp = bps[stop.index]
        values = dict(source=bp.source, hit=stop.hit, hits=stop.hits, also=stop.also)
        said = Message("stopped: {source} (hit {hit} of {hits}) · {also} more hold here", **values) if stop.also \
            else Message("stopped: {source} (hit {hit} of {hits})", **values)
        return self._go(Note(said, t=stop.step, layer=k), t=stop.step)

    # -- search ------------------------------------------------------------------------

    def matches(self) -> Any:
        """The steps of the layer shown matching the search (cached per
        layer: a reversed layer reads the tokens the other way), or None."""
        k = self.view.layer
        found = self._search_hits.get(k)
        if found is None and self.search is not None:
            from .breakpoints import token_matches

            found = self._search_hits[k] = token_matches(self.view.trace, self.search, k)
        return found

    def _match_note(self, matches: Any, step: int) -> Note:
        trace, k = self.view.trace, self.view.layer
        nth = int(matches[: step + 1].sum())
        token = trace.token(trace.layers[k].position(step))
        return Note(Message("search {query!r}: match {nth} of {total}, token {token!r}", query=self.search, nth=nth,
                            total=int(matches.sum()), token=token), t=step, layer=k)

    def search_tokens(self, query: str) -> Move:
        """Search the tokens for ``query`` and go to the first match at or
        after the current step."""
        from .breakpoints import SearchError, token_matches
        from .conditions import next_hit

        view = self.view
        k = view.layer
        try:
            matches = token_matches(view.trace, query, k)
        except SearchError as e:
            why = e.args[0] if len(e.args) == 1 and isinstance(e.args[0], str) else str(e)
            return Move(view, Note(Message("search: {why}", why=why), "error", t=view.t, layer=k))
        self._search_hits = {k: matches}
        if not matches.any():
            self.search = None
            return Move(view, Note(Message("search {query!r}: no token matches", query=query), "warning",
                                   t=view.t, layer=k))
        self.search = query
        step = view.t if matches[view.t] else next_hit(matches, view.t)
        if step is None:
            return Move(view, Note(Message("search {query!r}: no match at or after t = {t} (N goes back)",
                                           query=query, t=view.t), "warning", t=view.t, layer=k))
        self._go(t=step)
        return Move(self.view, self._match_note(matches, step))

    def search_step(self, backwards: bool = False) -> Move:
        """The next (previous) match of the search."""
        view = self.view
        matches = self.matches()
        if matches is None:
            return Move(view)
        from .conditions import next_hit

        step = next_hit(matches, view.t, backwards)
        if step is None:
            said = Message("search {query!r}: no earlier match" if backwards else "search {query!r}: no later match",
                           query=self.search)
            return Move(view, Note(said, "warning", t=view.t, layer=view.layer))
        self._go(t=step)
        return Move(self.view, self._match_note(matches, step))

    # -- watches -------------------------------------------------------------------------

    def watch(self) -> Edit:
        """Pin the selected unit to the watch list, or unpin it."""
        view = self.view
        k, unit = view.layer, view.unit
        if (k, unit) in self.watches:
            self.watches = tuple(w for w in self.watches if w != (k, unit))
            return Edit("removed", Note(Message("unit {unit} of layer {k} no longer watched", unit=unit, k=k),
                                        t=view.t, layer=k))
        self.watches = (*self.watches, (k, unit))
        return Edit("added", Note(Message("watching unit {unit} of layer {k}", unit=unit, k=k), t=view.t, layer=k))

    def unwatch(self, layer: int, unit: int) -> Edit:
        """Unpin ``unit`` of ``layer`` (from its list: nothing to say)."""
        if (layer, unit) not in self.watches:
            return Edit(None)
        self.watches = tuple(w for w in self.watches if w != (layer, unit))
        return Edit("removed")

    # -- comparing two runs -------------------------------------------------------------

    def cycle_run(self) -> Move:
        """Show the next of B − A, A, B."""
        run = self.view.run
        return self._go(run=RUNS[(RUNS.index(run) + 1) % len(RUNS)] if run in RUNS else RUNS[0])

    def first_divergence(self) -> Move:
        """Go to where the two runs first part, showing B − A (unless B is
        shown), and say which value parts."""
        report = self.diff_report
        if report is None or report.first is None:
            return Move(self.view)
        d = report.first
        changes: dict[str, Any] = {"layer": d.layer, "t": d.step}
        if d.vector != "x":  # x is indexed by input, not by unit
            changes["unit"] = d.unit
        if self.view.run == "a":
            changes["run"] = "delta"
        said = Message("first divergence: {vector}[{unit}] A {a}, B {b}", vector=d.vector, unit=d.unit, a=_num(d.a),
                       b=_num(d.b))
        return self._go(Note(said, "warning", t=d.step, layer=d.layer), **changes)


def _error_text(error: BaseException) -> str:
    """An error's text for the lists, keeping its ``Message`` (and so its
    translation on the screen) when it was raised with one."""
    if len(error.args) == 1 and isinstance(error.args[0], Message):
        return error.args[0]
    return str(error)


def _num(v: float) -> str:
    """A value of a divergence: 6 significant digits, or NaN/±Inf spelled out."""
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return f"{v:.6g}"
