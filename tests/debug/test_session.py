"""The debugging session without a screen: the clamped view, the moves and
what they say, and the one answer to whether a key can act."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_trace

from lstm_tui.core.trace import Layer, Trace
from lstm_tui.debug.breakpoints import Breakpoint
from lstm_tui.debug.conditions import Condition
from lstm_tui.debug.diff import diff
from lstm_tui.debug.session import BreakpointStatus, DebugSession, Edit, Move, Note, Pins, Refusal, View


def crafted() -> Trace:
    """Two layers (3 and 5 units); f[1] of layer 0 is low at steps 2, 5 and 8."""
    T = 10
    f = np.full((T, 3), 0.5)
    f[[2, 5, 8], 1] = 0.01
    z3, z5 = np.zeros((T, 3)), np.zeros((T, 5))
    first = Layer(x=np.zeros((T, 2)), f=f, i=z3 + 0.5, c_hat=z3.copy(), c=z3.copy(), o=z3 + 0.5,
                  h=z3.copy(), h0=np.zeros(3), c0=np.zeros(3), name="first")
    second = Layer(x=z3.copy(), f=z5 + 0.5, i=z5 + 0.5, c_hat=z5.copy(), c=z5.copy(), o=z5 + 0.5,
                   h=z5.copy(), h0=np.zeros(5), c0=np.zeros(5), name="second")
    return Trace(layers=[first, second], tokens=np.array(["the", "a", "cat", "sat", "on", "the",
                                                          "mat", "The", " ", "end"]))


def bp(source: str, enabled: bool = True) -> Breakpoint:
    return Breakpoint(Condition.parse(source), enabled)


# -- the view ---------------------------------------------------------------------


def test_view_clamps_once_on_construction():
    trace = crafted()
    v = View(trace, layer=7, t=99, unit=99)
    assert (v.layer, v.t, v.unit) == (1, 9, 4)
    v = View(trace, layer=-3, t=-1, unit=-5)
    assert (v.layer, v.t, v.unit) == (0, 0, 0)
    # No second run: run A, whatever was asked.
    assert View(trace, run="delta").run == "a"
    assert View(trace, other=crafted(), run="delta").run == "delta"
    assert View(trace, other=crafted(), run="nonsense").run == "a"


def test_moved_view_reclamps_the_unit_into_the_new_layer():
    trace = crafted()
    v = View(trace, layer=1, unit=4)
    narrower = v.moved(layer=0)
    assert (narrower.layer, narrower.unit) == (0, 2)
    assert v.unit == 4  # frozen: the old view is unchanged
    with pytest.raises(AttributeError):
        v.t = 3  # type: ignore[misc]


def test_a_view_never_holds_a_step_of_another_trace():
    long, short = random_trace(T=12), random_trace(T=3)
    v = View(long, t=11)
    assert v.moved(trace=short).t == 2
    assert v.last_t == 11


# -- moves ------------------------------------------------------------------------


def test_steps_pages_and_ends():
    s = DebugSession.start(crafted())
    assert s.view.run == "a" and s.view.t == 0
    move = s.step(1)
    assert isinstance(move, Move) and move.view.t == 1 and move.note is None
    assert s.step(10).view.t == 9  # a page past the end stops at the last step
    assert s.step(-3).view.t == 6
    assert s.first_step().view.t == 0
    assert s.last_step().view.t == 9
    assert s.goto(4).view.t == 4
    assert s.view.t == 4  # the session stands where the last move went


def test_units_and_layers():
    s = DebugSession.start(crafted())
    assert s.unit(1).view.unit == 1
    assert s.unit(10).view.unit == 2
    assert s.layer(1).view == View(s.view.trace, layer=1, unit=2)
    assert s.unit(2).view.unit == 4
    assert s.layer(-1).view.unit == 2  # clamped into the narrower layer
    assert s.switch_layer(1).view.layer == 1


def test_continue_forwards_and_backwards_says_which_hit():
    s = DebugSession.start(crafted())
    s.add_breakpoint(Condition.parse("f[1] < 0.05"))
    assert s.resume().view.t == 2
    move = s.resume()
    assert move.view.t == 5
    assert move.note == Note("stopped: f[1] < 0.05 (hit 2 of 3)", t=5, layer=0)
    assert s.resume().view.t == 8
    last = s.resume()
    assert last.view.t == 8
    assert last.note == Note("no later hit: this is the last", "warning", t=8, layer=0)
    back = s.resume(backwards=True)
    assert (back.view.t, back.note.text) == (5, "stopped: f[1] < 0.05 (hit 2 of 3)")
    s.goto(0)
    assert s.resume(backwards=True).note.text == "no earlier hit: the first is at t = 2"


def test_continue_with_two_breakpoints_at_one_step_and_on_another_layer():
    s = DebugSession.start(crafted())
    s.breakpoints = (bp("f[1] < 0.05"), bp("t == 5"))
    s.goto(3)
    assert s.resume().note.text == "stopped: f[1] < 0.05 (hit 2 of 3) · 1 more hold here"
    s.breakpoints = (bp("f[1] < 0.05"),)
    s.switch_layer(1)
    assert s.resume().note == Note("no enabled breakpoint holds on layer 1", "warning", t=5, layer=1)


def test_adding_a_breakpoint_twice_and_counting_its_hits():
    s = DebugSession.start(crafted())
    low = Condition.parse("f[1] < 0.05")
    assert s.add_breakpoint(low) == Edit("added", Note("breakpoint f[1] < 0.05: 3 hits on layer 0", t=0, layer=0))
    assert s.breakpoints == (Breakpoint(low),)
    again = s.add_breakpoint(Condition.parse("f[1] < 0.05"))
    assert again == Edit(None, Note("already a breakpoint: f[1] < 0.05", "warning", t=0, layer=0))
    assert s.breakpoints == (Breakpoint(low),)
    s.goto(4)
    assert s.add_breakpoint(Condition.parse("t == 1")) == Edit("added", Note("breakpoint t == 1: 1 hit on layer 0",
                                                                             t=4, layer=0))
    assert [bp.source for bp in s.breakpoints] == ["f[1] < 0.05", "t == 1"]


def test_toggling_and_deleting_breakpoints():
    s = DebugSession.start(crafted())
    s.add_breakpoint(Condition.parse("f[1] < 0.05"))
    s.add_breakpoint(Condition.parse("t == 1"))
    assert s.toggle_breakpoint(0) == Edit("disabled")
    assert [bp.enabled for bp in s.breakpoints] == [False, True]
    assert s.why_not("resume", (False,)) is None
    assert s.toggle_breakpoint(1) == Edit("disabled")
    assert [bp.enabled for bp in s.breakpoints] == [False, False]
    assert s.why_not("resume", (False,)) == Refusal("no breakpoint enabled (B lists them)")
    assert s.hit_steps() is None  # nothing enabled: no row of hits
    assert s.toggle_breakpoint(0) == Edit("enabled")
    assert [bp.enabled for bp in s.breakpoints] == [True, False]
    assert s.hit_steps().nonzero()[0].tolist() == [2, 5, 8]
    assert s.toggle_breakpoint(2) == Edit(None)  # no such breakpoint: nothing changes
    assert s.toggle_breakpoint(-1) == Edit(None)
    assert [bp.enabled for bp in s.breakpoints] == [True, False]
    assert s.delete_breakpoint(0) == Edit("removed")
    assert s.breakpoints == (bp("t == 1", enabled=False),)
    assert s.delete_breakpoint(1) == Edit(None)
    assert s.delete_breakpoint(0) == Edit("removed")
    assert s.breakpoints == ()
    assert s.why_not("resume", (False,)) == Refusal("no breakpoints: press b to add one")


def test_the_next_hit_of_one_breakpoint_enabled_or_not():
    s = DebugSession.start(crafted())
    s.breakpoints = (bp("t == 7"), bp("f[1] < 0.05", enabled=False))
    s.goto(3)
    move = s.next_hit_of(1)
    assert move.view.t == 5
    assert move.note == Note("stopped: f[1] < 0.05 (hit 2 of 3)", t=5, layer=0)
    assert [b.enabled for b in s.breakpoints] == [True, False]  # still off
    assert s.next_hit_of(0).view.t == 7
    assert s.next_hit_of(5) == Move(s.view)  # no such breakpoint: stays


def test_pins_are_what_the_lists_show_on_the_layer_shown():
    s = DebugSession.start(crafted())
    assert s.pins() == Pins()
    s.add_breakpoint(Condition.parse("f[1] < 0.05"))
    s.add_breakpoint(Condition.parse("t == 1"))
    s.toggle_breakpoint(1)
    s.unit(2)
    s.watch()
    assert s.pins() == Pins((BreakpointStatus("f[1] < 0.05", True, 3), BreakpointStatus("t == 1", False, 1)),
                            ((0, 2),))
    s.switch_layer(1)  # f[1] of the second layer is never low
    pins = s.pins()
    assert pins.breakpoints[0] == BreakpointStatus("f[1] < 0.05", True, 0)
    assert pins.watches == ((0, 2),)
    s.breakpoints = (bp("f[4] < 0.05"),)
    s.switch_layer(0)  # three units: f[4] does not fit
    (status,) = s.pins().breakpoints
    assert (status.source, status.enabled, status.hits) == ("f[4] < 0.05", True, None)
    assert status.error is not None and "4" in status.error


def test_search_next_and_previous():
    s = DebugSession.start(crafted())
    move = s.search_tokens("the")
    assert move.view.t == 0
    assert move.note == Note("search 'the': match 1 of 2, token 'the'", t=0, layer=0)
    assert s.search_step().view.t == 5
    end = s.search_step()
    assert (end.view.t, end.note.text) == (5, "search 'the': no later match")
    assert s.search_step(backwards=True).view.t == 0
    assert s.search_tokens("zebra").note.text == "search 'zebra': no token matches"
    assert s.search is None
    s.goto(9)
    assert s.search_tokens("'the'").note.text == "search \"'the'\": no match at or after t = 9 (N goes back)"


def test_watch_toggles_the_selected_unit():
    s = DebugSession.start(crafted())
    s.unit(2)
    assert s.watch() == Edit("added", Note("watching unit 2 of layer 0", t=0, layer=0))
    assert s.watches == ((0, 2),)
    s.goto(3)
    assert s.watch() == Edit("removed", Note("unit 2 of layer 0 no longer watched", t=3, layer=0))
    assert s.watches == ()


def test_pinning_on_two_layers_and_unpinning_from_the_list():
    s = DebugSession.start(crafted())
    s.unit(1)
    s.watch()
    s.layer(1)
    s.unit(3)
    assert s.watch() == Edit("added", Note("watching unit 4 of layer 1", t=0, layer=1))
    assert s.watches == ((0, 1), (1, 4))
    assert s.unwatch(0, 2) == Edit(None)  # not pinned: nothing changes
    assert s.unwatch(0, 1) == Edit("removed")  # from the list: nothing to say
    assert s.watches == ((1, 4),)


def test_a_new_trace_keeps_the_breakpoints_and_the_watches_that_fit_it():
    s = DebugSession.start(crafted())
    s.add_breakpoint(Condition.parse("f[1] < 0.05"))
    s.unit(1)
    s.watch()
    s.layer(1)
    s.unit(3)
    s.watch()
    s.search_tokens("the")
    s.view = View(random_trace(T=4, H=3))  # one layer of three units
    s.forget_trace()
    assert s.watches == ((0, 1),)
    assert [b.source for b in s.breakpoints] == ["f[1] < 0.05"]
    assert s.search is None


def test_cycle_run_and_first_divergence():
    a = random_trace(seed=1, T=6, H=4)
    b = random_trace(seed=1, T=6, H=4)
    b.layers[0].c[3, 2] += 1.0
    s = DebugSession.start(a, b)
    assert s.view.run == "delta"
    assert [s.cycle_run().view.run for _ in range(3)] == ["a", "b", "delta"]
    assert s.why_not("first_divergence", ()) == Refusal("still comparing the two runs")
    s.diff_report = diff(a, b)
    s.cycle_run()  # A shown: the divergence shows B − A
    move = s.first_divergence()
    assert (move.view.layer, move.view.t, move.view.unit, move.view.run) == (0, 3, 2, "delta")
    assert move.note.text.startswith("first divergence: c[2] A ")


# -- why_not: the reasons, word for word ------------------------------------------


def test_reasons_at_the_ends():
    s = DebugSession.start(crafted())
    assert s.why_not("step", (-1,)) == Refusal("already at the first step (t = 0)")
    assert s.why_not("first_step", ()) == Refusal("already at the first step (t = 0)")
    assert s.why_not("step", (1,)) is None
    s.last_step()
    assert s.why_not("step", (1,)) == Refusal("already at the last step (t = 9)")
    assert s.why_not("last_step", ()) == Refusal("already at the last step (t = 9)")
    assert s.why_not("unit", (-1,)) == Refusal("already at the first unit (0)")
    s.unit(5)
    assert s.why_not("unit", (1,)) == Refusal("already at the last unit (2)")
    assert s.why_not("layer", (-1,)) == Refusal("already at the first layer (0)")
    s.layer(1)
    assert s.why_not("layer", (1,)) == Refusal("already at the last layer (1)")
    assert s.why_not("unit", (1,)) is None  # the second layer is wider


def test_reasons_of_a_small_trace_hide_what_can_never_act():
    s = DebugSession.start(random_trace(T=1, H=1, tokens=False))
    assert s.why_not("goto", ()) == Refusal("only one step in this trace")
    assert s.why_not("unit", (1,)) == Refusal("this layer has one unit")
    assert s.why_not("layer", (1,)) == Refusal("only one layer in this trace", hidden=True)
    assert s.why_not("search", ()) == Refusal("this trace has no tokens to search")
    assert s.why_not("search_step", (False,)) == Refusal("this trace has no tokens to search")
    assert s.why_not("cycle_run", ()) == Refusal("no second run (lstm-tui view A --diff B)", hidden=True)
    assert s.why_not("help", ()) is None  # not the session's to refuse


def test_reasons_of_breakpoints_and_search():
    s = DebugSession.start(crafted())
    assert s.why_not("resume", (False,)) == Refusal("no breakpoints: press b to add one")
    s.breakpoints = (bp("t == 3", enabled=False),)
    assert s.why_not("resume", (False,)) == Refusal("no breakpoint enabled (B lists them)")
    s.breakpoints = (s.breakpoints[0].toggled(),)
    assert s.why_not("resume", (True,)) is None
    assert s.why_not("search_step", (False,)) == Refusal("no search yet: / searches the tokens")
    s.search_tokens("cat")
    assert s.why_not("search_step", (False,)) is None


def test_no_divergence_between_equal_runs():
    a = random_trace(seed=2)
    s = DebugSession.start(a, random_trace(seed=2))
    s.diff_report = diff(a, s.view.other)
    assert s.why_not("first_divergence", ()) == Refusal("no divergence between the two runs")
    assert s.first_divergence().view == s.view  # stays
