"""What-if runs (debug/edit.py) against an independent per-step loop.

Each network here is recorded with the core (``LSTMCell.forward``, as a
trace is), described once (which layer reads what), and its edited run is
recomputed by ``loop`` below, a plain step-by-step NumPy LSTM written for
the test. ``edit`` must give: the steps before the edit bit for bit as
recorded, and every value after it equal to the loop's within the core's
rounding rule (``rounding_bounds``, as ``diff`` compares runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from lstm_tui.core.bounds import rounding_bounds
from lstm_tui.core.lstm import GATES, LSTMCell
from lstm_tui.core.numeric import abs_difference, beyond
from lstm_tui.core.trace import Layer, Trace, load, save
from lstm_tui.debug.edit import (
    EditError,
    bind,
    edit,
    parse_edits,
    plan,
    reach,
    sources,
    what_if,
)

VECS = ("x", "f", "i", "c_hat", "c", "o", "h")


# -- the independent loop ----------------------------------------------------------


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class Edits:
    """What the loop applies to one layer: forced values ((vector, unit,
    value, start, stop)), input edits (same), a cell used from step
    ``cell_from`` on."""

    forced: list[tuple[str, int, float, int, int | None]] = field(default_factory=list)
    x: list[tuple[int, float, int, int | None]] = field(default_factory=list)
    cell: LSTMCell | None = None
    cell_from: int = 0


def _applies(start: int, stop: int | None, t: int) -> bool:
    return start <= t and (stop is None or t < stop)


def loop(cell: LSTMCell, X: np.ndarray, h0, c0, mask=None, edits: Edits | None = None) -> dict[str, np.ndarray]:
    """One layer, one step at a time, in float64."""
    edits = edits or Edits()
    T = X.shape[0]
    out: dict[str, list] = {v: [] for v in VECS}
    h, c = np.array(h0, float), np.array(c0, float)
    for t in range(T):
        x = np.array(X[t], float)
        for j, v, start, stop in edits.x:
            if _applies(start, stop, t):
                x[j] = v
        cl = edits.cell if edits.cell is not None and t >= edits.cell_from else cell
        z = {g: cl.W[g] @ x + cl.U[g] @ h + cl.b[g] for g in GATES}
        vals = {"f": sigmoid(z["f"]), "i": sigmoid(z["i"]), "c_hat": np.tanh(z["c"]), "o": sigmoid(z["o"])}

        def force(names, t=t, vals=vals):
            for vec, unit, value, start, stop in edits.forced:
                if vec in names and _applies(start, stop, t):
                    vals[vec][unit] = value

        force(("f", "i", "c_hat", "o"))
        if mask is not None and not mask[t]:
            vals["c"], vals["h"] = c.copy(), h.copy()
            force(("c",))
            force(("h",))
        else:
            vals["c"] = vals["f"] * c + vals["i"] * vals["c_hat"]
            force(("c",))
            vals["h"] = vals["o"] * np.tanh(vals["c"])
            force(("h",))
        vals["x"] = x
        for v in VECS:
            out[v].append(np.array(vals[v]))
        h, c = vals["h"], vals["c"]
    return {v: np.array(a) for v, a in out.items()}


# -- networks: how each layer is wired, recorded with the core ----------------------


@dataclass
class Net:
    """Layers in order: ``reads`` is "input", ("h", m) or ("concat", m1, m2)
    (position order); ``reversed``; ``zeros``: a masked position is fed
    zeros (Keras' zero_output_for_mask) instead of the last output."""

    cells: list[LSTMCell]
    reads: list[object]
    reversed: list[bool]
    x: np.ndarray
    mask: np.ndarray | None = None  # per position
    zeros: bool = False

    def steps(self, k: int, a: np.ndarray) -> np.ndarray:
        return a[::-1] if self.reversed[k] else a

    def run(self, runner, edits: dict[int, Edits] | None = None) -> list[dict[str, np.ndarray]]:
        """Every layer in processing order, run by ``runner(k, cell, X, mask, edits)``."""
        edits = edits or {}
        outs: list[dict[str, np.ndarray]] = []
        for k, cell in enumerate(self.cells):
            src = self.reads[k]
            if src == "input":
                pos = self.x
            else:
                kind, *ms = src  # type: ignore[misc]
                pos = np.concatenate([self.steps(m, outs[m]["h"]) for m in ms], axis=1)
                if self.mask is not None and self.zeros:
                    pos = np.where(self.mask[:, None], pos, 0.0)
            mask = None if self.mask is None else self.steps(k, self.mask)
            outs.append(runner(k, cell, self.steps(k, pos), mask, edits.get(k)))
        return outs

    def trace(self, readout: bool = False, dtype=np.float64) -> Trace:
        def core(k, cell, X, mask, _):
            rec = cell.forward(np.asarray(X, dtype), mask=mask, dtype=dtype)
            return {v: getattr(rec, v) for v in VECS}

        outs = self.run(core)
        layers = []
        for k, (cell, out) in enumerate(zip(self.cells, outs)):
            c = cell if dtype == np.float64 else _cast(cell, dtype)
            mask = None if self.mask is None else self.steps(k, self.mask)
            layers.append(Layer(**{v: np.asarray(out[v], dtype) for v in VECS}, h0=np.zeros(cell.units, dtype),
                                c0=np.zeros(cell.units, dtype), mask=mask, name=f"lstm_{k}",
                                reversed=self.reversed[k], cell=c))
        probs = W = b = None
        if readout:
            rng = np.random.default_rng(9)
            W = rng.normal(size=(5, self.cells[-1].units)).astype(dtype)
            b = rng.normal(size=5).astype(dtype)
            probs = softmax(np.asarray(outs[-1]["h"], dtype) @ W.T + b)
        return Trace(layers=layers, tokens=np.array([f"w{t}" for t in range(self.x.shape[0])]), probs=probs,
                     vocab=None if probs is None else np.array(list("abcde")), readout_W=W, readout_b=b,
                     source="test: net")

    def expected(self, edits: dict[int, Edits]) -> list[dict[str, np.ndarray]]:
        return self.run(lambda k, cell, X, mask, e: loop(cell, X, np.zeros(cell.units), np.zeros(cell.units),
                                                         mask, e), edits)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _cast(cell: LSTMCell, dtype) -> LSTMCell:
    return LSTMCell(W={g: cell.W[g].astype(dtype) for g in GATES}, U={g: cell.U[g].astype(dtype) for g in GATES},
                    b={g: cell.b[g].astype(dtype) for g in GATES})


def cell(rng, H, D) -> LSTMCell:
    return LSTMCell(W={g: rng.normal(0, 0.7, (H, D)) for g in GATES}, U={g: rng.normal(0, 0.7, (H, H)) for g in GATES},
                    b={g: rng.normal(0, 0.3, H) for g in GATES})


def single(T=8, D=3, H=4, seed=0, mask=None) -> Net:
    rng = np.random.default_rng(seed)
    return Net([cell(rng, H, D)], ["input"], [False], rng.normal(size=(T, D)), mask)


def stacked(T=8, seed=1) -> Net:
    rng = np.random.default_rng(seed)
    return Net([cell(rng, 4, 3), cell(rng, 3, 4)], ["input", ("h", 0)], [False, False], rng.normal(size=(T, 3)))


def backwards(T=8, seed=2) -> Net:
    """Layer 1 runs backwards (go_backwards) over layer 0's h."""
    rng = np.random.default_rng(seed)
    return Net([cell(rng, 4, 3), cell(rng, 3, 4)], ["input", ("h", 0)], [False, True], rng.normal(size=(T, 3)))


def bidirectional(T=8, seed=3, mask=None, zeros=False) -> Net:
    """Bidirectional(LSTM(4)) over the input (layers 0, 1), then LSTM(3) on
    [forward h, backward h] (layer 2)."""
    rng = np.random.default_rng(seed)
    return Net([cell(rng, 4, 3), cell(rng, 4, 3), cell(rng, 3, 8)], ["input", "input", ("concat", 0, 1)],
               [False, True, False], rng.normal(size=(T, 3)), mask, zeros)


# -- checks ---------------------------------------------------------------------------


def assert_before_unchanged(original: Trace, edited: Trace, layer: int, before: int):
    for v in VECS:
        a = np.asarray(original.layers[layer].vector(v))[:before]
        b = np.asarray(edited.layers[layer].vector(v))[:before]
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f"layer {layer} {v} before t = {before}"


def assert_layer_unchanged(original: Trace, edited: Trace, layer: int):
    assert_before_unchanged(original, edited, layer, original.steps)


def assert_matches(edited: Trace, expected: list[dict[str, np.ndarray]], layers=None):
    """Every value of the edited run within the core's rule of the loop."""
    for k in layers if layers is not None else range(len(edited.layers)):
        lay = edited.layers[k]
        bounds = rounding_bounds(lay, free_running=True, depth=k)
        for v in VECS:
            got = np.asarray(lay.vector(v), np.float64)
            want = expected[k][v]
            err = abs_difference(want, got)
            bad = beyond(err, bounds[v])
            assert not bad.any(), (f"layer {k} {v}: {np.argwhere(bad)[:3].tolist()} "
                                   f"edited {got[bad][:3]} loop {want[bad][:3]} bound {bounds[v][bad][:3]}")


def run_edit(trace: Trace, at: int, layer: int, text: str, **kw) -> Trace:
    return edit(trace, plan(trace, at, layer, text, **kw))


# -- one layer --------------------------------------------------------------------------


def test_the_loop_agrees_with_the_recording():
    net = bidirectional(mask=np.array([1, 1, 0, 1, 1, 0, 1, 1], bool))
    assert_matches(net.trace(), net.expected({}))


def test_setting_c_recomputes_h_at_the_step_and_every_later_step():
    net = single()
    trace = net.trace()
    edited = run_edit(trace, 3, 0, "c[1]=0")
    assert_before_unchanged(trace, edited, 0, 3)
    lay = edited.layers[0]
    assert lay.c[3, 1] == 0.0
    # The gates at t are those recorded; h at t follows from the new c.
    for v in ("x", "f", "i", "c_hat", "o"):
        assert np.array_equal(lay.vector(v)[3], trace.layers[0].vector(v)[3])
    assert lay.h[3, 1] == pytest.approx(lay.o[3, 1] * np.tanh(0.0))
    assert lay.c[3, 0] == trace.layers[0].c[3, 0]  # the other unit's c at t is as recorded
    assert_matches(edited, net.expected({0: Edits(forced=[("c", 1, 0.0, 3, 4)])}))
    assert not np.allclose(lay.h[4:], trace.layers[0].h[4:])  # the change lives on


@pytest.mark.parametrize("gate", ["f", "i", "c_hat", "o"])
def test_setting_a_gate_recomputes_c_and_h_at_the_step(gate):
    net = single()
    trace = net.trace()
    edited = run_edit(trace, 2, 0, f"{gate}[0]=0.9")
    assert_before_unchanged(trace, edited, 0, 2)
    lay = edited.layers[0]
    assert lay.vector(gate)[2, 0] == 0.9
    c_prev = trace.layers[0].c[1]
    assert lay.c[2, 0] == pytest.approx(lay.f[2, 0] * c_prev[0] + lay.i[2, 0] * lay.c_hat[2, 0], abs=1e-15)
    assert lay.h[2, 0] == pytest.approx(lay.o[2, 0] * np.tanh(lay.c[2, 0]), abs=1e-15)
    assert_matches(edited, net.expected({0: Edits(forced=[(gate, 0, 0.9, 2, 3)])}))


def test_the_candidate_spelt_as_on_screen():
    trace = single().trace()
    assert np.array_equal(run_edit(trace, 1, 0, "ĉ[2]=-0.5").layers[0].c_hat,
                          run_edit(trace, 1, 0, "c_hat[2]=-0.5").layers[0].c_hat)


def test_setting_x_recomputes_the_whole_step():
    net = single()
    trace = net.trace()
    edited = run_edit(trace, 4, 0, "x[2]=2.5")
    assert_before_unchanged(trace, edited, 0, 4)
    lay = edited.layers[0]
    assert lay.x[4, 2] == 2.5 and np.array_equal(lay.x[5:], trace.layers[0].x[5:])
    for v in ("f", "i", "c_hat", "o", "c", "h"):
        assert not np.array_equal(lay.vector(v)[4], trace.layers[0].vector(v)[4]), v
    assert_matches(edited, net.expected({0: Edits(x=[(2, 2.5, 4, 5)])}))


def test_setting_h_changes_what_the_next_step_reads():
    net = single()
    trace = net.trace()
    edited = run_edit(trace, 2, 0, "h[3]=0.75")
    assert_before_unchanged(trace, edited, 0, 2)
    lay = edited.layers[0]
    assert lay.h[2, 3] == 0.75
    # Step 2 itself is as recorded but for the forced value.
    for v in ("f", "i", "c_hat", "o", "c"):
        assert np.array_equal(lay.vector(v)[2], trace.layers[0].vector(v)[2])
    assert not np.array_equal(lay.f[3], trace.layers[0].f[3])  # step 3 read the new h
    assert_matches(edited, net.expected({0: Edits(forced=[("h", 3, 0.75, 2, 3)])}))


def test_hold_keeps_a_unit_at_its_value_to_the_end():
    net = single()
    trace = net.trace()
    edited = run_edit(trace, 2, 0, "hold h[1]=0; hold f[0]=1")
    lay = edited.layers[0]
    assert (lay.h[2:, 1] == 0).all() and (lay.f[2:, 0] == 1).all()
    assert lay.h[1, 1] == trace.layers[0].h[1, 1]
    assert_matches(edited, net.expected({0: Edits(forced=[("h", 1, 0.0, 2, None), ("f", 0, 1.0, 2, None)])}))
    assert edited.meta["edit"]["hold"] == ["h[1]=0", "f[0]=1"]


def test_a_weight_edit_runs_from_the_step_and_is_stored():
    net = single()
    trace = net.trace()
    edited = run_edit(trace, 3, 0, "U_f[1,2]=0; b_o[0]=2")
    assert_before_unchanged(trace, edited, 0, 3)
    new = edited.layers[0].cell
    assert new.U["f"][1, 2] == 0 and new.b["o"][0] == 2
    assert trace.layers[0].cell.U["f"][1, 2] != 0  # the original's weights are untouched
    changed = LSTMCell(W=new.W, U=new.U, b=new.b)
    assert_matches(edited, net.expected({0: Edits(cell=changed, cell_from=3)}))


def test_an_edit_at_step_0_starts_from_the_initial_state():
    net = single()
    trace = net.trace()
    edited = run_edit(trace, 0, 0, "c[0]=1")
    assert edited.layers[0].c[0, 0] == 1
    assert_matches(edited, net.expected({0: Edits(forced=[("c", 0, 1.0, 0, 1)])}))


def test_a_value_set_to_what_was_recorded_changes_nothing_bit_for_bit():
    trace = single().trace()
    value = float(trace.layers[0].c[3, 1])
    edited = run_edit(trace, 3, 0, f"c[1]={value!r}")
    assert_layer_unchanged(trace, edited, 0)
    assert reach(trace, edited).layers == {0: None}


def test_nan_and_infinity_are_values_an_edit_can_plant():
    trace = single().trace()
    edited = run_edit(trace, 2, 0, "c[0]=nan")
    assert np.isnan(edited.layers[0].c[2, 0]) and np.isnan(edited.layers[0].h[2:, 0]).all()
    edited = run_edit(trace, 2, 0, "x[0]=-inf")
    assert edited.layers[0].x[2, 0] == -np.inf


# -- masked steps ------------------------------------------------------------------------


def test_masked_steps_carry_the_state_as_the_pass_does():
    mask = np.array([1, 1, 1, 0, 1, 0, 0, 1], bool)
    net = single(mask=mask)
    trace = net.trace()
    edited = run_edit(trace, 2, 0, "c[0]=3")
    lay = edited.layers[0]
    assert lay.c[3, 0] == 3 and np.array_equal(lay.h[3], lay.h[2])  # masked: carried
    assert_matches(edited, net.expected({0: Edits(forced=[("c", 0, 3.0, 2, 3)])}))
    held = run_edit(trace, 2, 0, "hold c[1]=0.5")
    assert (held.layers[0].c[2:, 1] == 0.5).all()
    assert_matches(held, net.expected({0: Edits(forced=[("c", 1, 0.5, 2, None)])}))


@pytest.mark.parametrize("zeros", [False, True], ids=["last-output", "zero-output"])
def test_a_later_layer_at_masked_steps_reads_what_keras_fed_it(zeros):
    mask = np.array([1, 1, 0, 1, 1, 0, 1, 1], bool)
    net = bidirectional(mask=mask, zeros=zeros)
    trace = net.trace()
    edited = run_edit(trace, 1, 0, "h[2]=0.5")
    assert_matches(edited, net.expected({0: Edits(forced=[("h", 2, 0.5, 1, 2)])}))
    top = edited.layers[2]
    if zeros:
        assert (top.x[~mask] == 0).all()
    else:  # the carried h of the step before, in the edited run
        assert np.array_equal(top.x[2, :4], edited.layers[0].h[1])


# -- later layers ------------------------------------------------------------------------


def test_stacked_layers_rerun_from_the_step_their_input_changes():
    net = stacked()
    trace = net.trace()
    edited = run_edit(trace, 3, 0, "c[2]=0")
    assert_before_unchanged(trace, edited, 1, 3)
    assert np.array_equal(edited.layers[1].x, edited.layers[0].h)
    assert_matches(edited, net.expected({0: Edits(forced=[("c", 2, 0.0, 3, 4)])}))
    assert sources(trace, 1)[1].layers == (0,)


def test_a_backwards_layer_is_rerun_in_full():
    net = backwards()
    trace = net.trace()
    edited = run_edit(trace, 5, 0, "c[0]=0")
    # Layer 1 ran backwards: its step 0 read position 7, which the edit at
    # step 5 of layer 0 changed: the whole layer moves.
    assert not np.array_equal(edited.layers[1].h[0], trace.layers[1].h[0])
    assert np.array_equal(edited.layers[1].x, edited.layers[0].h[::-1])
    assert_matches(edited, net.expected({0: Edits(forced=[("c", 0, 0.0, 5, 6)])}))
    # Edited in its own processing order: step 2 of the reversed layer.
    edited = run_edit(trace, 2, 1, "h[0]=0")
    assert_layer_unchanged(trace, edited, 0)
    assert_before_unchanged(trace, edited, 1, 2)
    assert_matches(edited, net.expected({1: Edits(forced=[("h", 0, 0.0, 2, 3)])}))


def test_bidirectional_halves_and_the_layer_on_their_concatenation():
    net = bidirectional()
    trace = net.trace(readout=True)
    wiring = sources(trace, 1)
    assert wiring[1].layers == () and wiring[2].layers == (0, 1)
    # The forward half: the backward half reads the input, not it.
    edited = run_edit(trace, 4, 0, "c[1]=0")
    assert_layer_unchanged(trace, edited, 1)
    assert_before_unchanged(trace, edited, 2, 4)
    assert_matches(edited, net.expected({0: Edits(forced=[("c", 1, 0.0, 4, 5)])}))
    # The backward half, at its step 4 (position 3): the top layer moves from position 0 to 3.
    edited = run_edit(trace, 4, 1, "c[1]=0")
    assert_layer_unchanged(trace, edited, 0)
    assert_before_unchanged(trace, edited, 1, 4)
    assert not np.array_equal(edited.layers[2].h[0], trace.layers[2].h[0])
    assert_matches(edited, net.expected({1: Edits(forced=[("c", 1, 0.0, 4, 5)])}))


def test_a_float32_recording_is_rerun_in_float32():
    net = stacked()
    trace = net.trace(dtype=np.float32)
    edited = run_edit(trace, 2, 0, "hold h[0]=0")
    assert all(np.asarray(lay.vector(v)).dtype == np.float32 for lay in edited.layers for v in VECS)
    assert_before_unchanged(trace, edited, 0, 2)
    assert_matches(edited, net.expected({0: Edits(forced=[("h", 0, 0.0, 2, None)])}))


# -- the readout ---------------------------------------------------------------------------


def test_the_readout_is_recomputed_with_the_stored_head():
    net = stacked()
    trace = net.trace(readout=True)
    edited = run_edit(trace, 5, 0, "c[0]=0")
    assert edited.probs[:5].tobytes() == trace.probs[:5].tobytes()
    want = softmax(edited.layers[1].h @ trace.readout_W.T + trace.readout_b)
    np.testing.assert_allclose(edited.probs, want, rtol=1e-12, atol=1e-15)
    assert not np.allclose(edited.probs[5:], trace.probs[5:])
    assert np.array_equal(edited.readout_W, trace.readout_W)
    assert reach(trace, edited).readout


def test_a_readout_without_its_head_is_named_or_dropped():
    trace = stacked().trace(readout=True)
    trace.readout_W = trace.readout_b = None
    with pytest.raises(EditError, match=r"member 'readout/W' is missing.*--drop-readout"):
        run_edit(trace, 2, 0, "c[0]=0")
    edited = run_edit(trace, 2, 0, "c[0]=0", drop_readout=True)
    assert edited.probs is None and edited.vocab is None
    assert "dropped" in edited.meta["edit"]["readout"]
    # Nothing reaches the last layer: the readout stays as recorded.
    kept = run_edit(trace, 7, 0, f"c[0]={float(trace.layers[0].c[7, 0])!r}")
    assert np.array_equal(kept.probs, trace.probs)


# -- the edited trace as a file ------------------------------------------------------------


def test_the_meta_says_what_was_edited_where_and_from_which_file(tmp_path):
    path = save(single().trace(), tmp_path / "run.npz")
    original = load(path)
    edited = what_if(original, 2, 0, sets=["c[1]=0", "x[-1]=2.5"], holds=["h[0]=0"])
    assert edited.meta["edit"] == {"from": str(path), "at": 2, "layer": 0, "set": ["c[1]=0", "x[2]=2.5"],
                                   "hold": ["h[0]=0"]}
    assert edited.source == "what-if on run.npz: set c[1]=0, x[2]=2.5; hold h[0]=0 at t = 2, layer 0"
    again = load(save(edited, tmp_path / "what_if.npz"))
    assert again.meta["edit"]["from"] == str(path)
    twice = what_if(again, 3, 0, sets=["c[0]=0"])
    assert twice.meta["edit"]["previous"]["from"] == str(path)


def test_the_edited_run_owns_its_arrays():
    trace = stacked().trace()
    edited = run_edit(trace, 2, 1, "c[0]=0")
    for k in range(2):
        for v in VECS:
            assert not np.shares_memory(edited.layers[k].vector(v), trace.layers[k].vector(v))


# -- errors ---------------------------------------------------------------------------------


def test_a_layer_without_weights_is_named():
    trace = stacked().trace()
    trace.layers[0].cell = None
    with pytest.raises(EditError, match=r"^layer 0 stores no weights \(member 'layer0/W_f' is missing\)"):
        run_edit(trace, 1, 0, "c[0]=0")
    trace = stacked().trace()
    trace.layers[1].cell = None
    with pytest.raises(EditError, match=r"^layer 1 stores no weights \(member 'layer1/W_f' is missing\)"):
        run_edit(trace, 1, 0, "c[0]=0")


def test_an_unknown_wiring_names_the_layer_that_cannot_be_rerun():
    net = stacked()
    trace = net.trace()
    # As if a Dense layer sat between the two LSTMs.
    trace.layers[1].x = np.tanh(trace.layers[0].h @ np.ones((4, 4)) * 0.3)
    with pytest.raises(EditError, match=r"^layer 1 reads something other than layer 0's h .*cannot re-run it"):
        run_edit(trace, 1, 0, "c[0]=0")
    # An edit of the last layer needs no wiring.
    assert run_edit(trace, 1, 1, "c[0]=0").layers[1].c[1, 0] == 0


def test_a_sum_merge_is_not_taken_for_a_concatenation():
    net = bidirectional()
    trace = net.trace()
    summed = trace.layers[0].h + trace.layers[1].h[::-1]
    trace.layers[2] = Layer.from_recording(net.cells[2].forward(np.hstack([summed, summed])), name="top",
                                           cell=net.cells[2])
    with pytest.raises(EditError, match="layer 2 reads something other than layer 1's h"):
        run_edit(trace, 0, 0, "c[0]=0")


@pytest.mark.parametrize("text, column, words", [
    ("c[4]=0", 3, "unit 4 is outside c (units 0…3 on layer 0)"),
    ("c[-5]=0", 3, "unit -5 is outside c"),
    ("x[3]=1", 3, "input 3 is outside x (inputs 0…2 on layer 0)"),
    ("W_f[1,3]=0", 7, "column 3 is outside W_f (columns 0…2)"),
    ("U_i[4,0]=0", 5, "row 4 is outside U_i (rows 0…3)"),
    ("c[0]=1; hh[0]=2", 9, "unknown name 'hh' (did you mean 'h'?)"),
    ("q[0]=1", 1, "unknown name 'q'; edit one of x f i c_hat c o h"),
    ("c[0]", 5, "expected '=' and a value, found the end"),
    ("c 0]=1", 3, "expected '[' and an index after the name, found '0'"),
    ("c[0=1", 4, "expected ']' after the index, found '='"),
    ("c[a]=1", 3, "expected a whole number (an index), found 'a'"),
    ("c[1.5]=1", 3, "an index is a whole number"),
    ("c[0]=one", 6, "expected a number, such as 0, -1.5, 2e-3, nan or inf"),
    ("c[0]=1 h[0]=2", 8, "expected ';' between two edits, found 'h'"),
    ("W_f[1]=0", 5, "W_f takes two indices, row and column"),
    ("c[1,2]=0", 5, "c takes one index: c[3]"),
    ("hold U_f[0,0]=0", 6, "a weight edit lasts from the step to the end already"),
    ("c[0]=1; c[0]=2", 9, "c[0] is edited twice"),
    (" ; ", 4, "no edit"),
    ("hold", 5, "expected a name such as c[3] after hold, found the end"),
])
def test_errors_point_at_the_column(text, column, words):
    trace = single().trace()
    with pytest.raises(EditError) as e:
        plan(trace, 2, 0, text)
    assert e.value.column == column and e.value.source == text
    assert str(e.value).startswith(f"column {column}: ") and words in str(e.value)


def test_the_step_and_layer_must_exist():
    trace = single().trace()
    with pytest.raises(EditError, match=r"^no step 8 \(steps are 0…7\)$"):
        plan(trace, 8, 0, "c[0]=0")
    with pytest.raises(EditError, match=r"^no layer 1 \(the trace has 1\)$"):
        plan(trace, 0, 1, "c[0]=0")


def test_parsing_reads_set_hold_numbers_and_separators():
    items = parse_edits(" set c[1] = -1.5e-1 ;hold h[-1]=+inf; W_f[0, 2]=NaN;")
    assert [(a.kind, a.name, a.index, a.text) for a in items] == [
        ("set", "c", (1,), "c[1]=-1.5e-1"), ("hold", "h", (-1,), "h[-1]=+inf"),
        ("set", "W_f", (0, 2), "W_f[0,2]=NaN")]
    assert items[0].value == -0.15 and items[1].value == np.inf and np.isnan(items[2].value)
    assert parse_edits("h[0]=1", "hold")[0].kind == "hold"
    bound = bind(single().trace(), 0, 0, items)
    assert [a.text for a in bound.assignments] == ["c[1]=-1.5e-1", "h[3]=+inf", "W_f[0,2]=NaN"]
    assert bound.what() == "set c[1]=-1.5e-1, W_f[0,2]=NaN; hold h[3]=+inf"
