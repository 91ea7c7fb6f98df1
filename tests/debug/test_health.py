"""Health scan: NaN/Inf, an exploding cell state, input outliers, saturated
gates, dead units, the largest |c|."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_cell, random_trace

import lstm_tui.debug.health as health
from lstm_tui.core.lstm import GATES, LSTMCell
from lstm_tui.core.trace import Layer, Trace, load, save
from lstm_tui.debug.health import Finding, nonfinite_rows, scan


def plain(T=20, H=4, D=2) -> Trace:
    """Gates at 0.5, h at 0.3, c at 0.1 · unit: nothing to report but max |c|."""
    z = np.zeros((T, H))
    c = z + 0.1 * np.arange(1, H + 1)
    layer = Layer(x=np.zeros((T, D)), f=z + 0.5, i=z + 0.5, c_hat=z.copy(), c=c, o=z + 0.5, h=z + 0.3,
                  h0=np.zeros(H), c0=np.zeros(H))
    return Trace(layers=[layer])


def by_kind(findings: list[Finding], kind: str) -> list[Finding]:
    return [f for f in findings if f.kind == kind]


def test_a_healthy_layer_reports_only_its_largest_c():
    tr = plain()
    assert scan(tr) == [Finding("max_c", 0, 0, 3, "layer 0: largest |c| is 0.4 at step 0, unit 3", "info", "c", 0.4)]


def test_first_nan_names_step_vector_and_unit():
    tr = plain()
    layer = tr.layers[0]
    layer.o[9, 1] = np.inf
    layer.c[7, 3] = np.nan
    layer.h[7, 2] = np.nan   # same step, later vector: c comes first (x f i c_hat c o h)
    layer.c[12, 0] = np.nan
    (f,) = by_kind(scan(tr), "nan")
    assert (f.layer, f.step, f.vector, f.unit, f.severity) == (0, 7, "c", 3, "error")
    assert f.message == "layer 0: NaN at step 7 in c[3] (NaN or Inf at 3 of 20 steps)"
    assert np.isnan(f.value)


def test_infinity_is_reported_with_its_sign():
    tr = plain()
    tr.layers[0].x[4, 1] = -np.inf
    (f,) = by_kind(scan(tr), "nan")
    assert f.message == "layer 0: -Inf at step 4 in x[1] (NaN or Inf at 1 of 20 steps)"
    tr.layers[0].x[4, 1] = np.inf
    assert by_kind(scan(tr), "nan")[0].message.startswith("layer 0: +Inf at step 4 in x[1]")


def test_nan_in_the_initial_state():
    tr = plain()
    tr.layers[0].c0[2] = np.nan
    (f,) = by_kind(scan(tr), "nan")
    assert (f.step, f.unit, f.vector) == (None, 2, "c0")
    assert f.message == "layer 0: the initial state c0[2] is NaN"


def test_nonfinite_rows():
    tr = plain(T=6)
    tr.layers[0].i[2, 0] = np.nan
    tr.layers[0].h[5, 3] = np.inf
    assert nonfinite_rows(tr.layers[0]).tolist() == [False, False, True, False, False, True]
    assert nonfinite_rows(tr.layers[0], 2, 5).tolist() == [True, False, False]


def test_saturated_forget_gate_message():
    tr = plain(T=25)
    f = tr.layers[0].f
    f[:, 2] = 0.995
    f[[0, 1], 2] = 0.5  # 23 of 25 steps saturated = 92%, from step 2
    (s,) = by_kind(scan(tr), "saturated")
    assert (s.layer, s.unit, s.vector, s.step, s.severity) == (0, 2, "f", 2, "warning")
    assert s.value == pytest.approx(23 / 25)
    assert s.message == "layer 0: unit 2 forget gate saturated (> 0.99) on 92% of steps, from step 2"


def test_saturated_input_gate_low_side_and_both_sides():
    tr = plain(T=10)
    i = tr.layers[0].i
    i[:, 0] = 0.001                        # all low
    i[:, 3] = [0.0, 1.0] * 5               # half low, half high: 100% saturated either way
    found = by_kind(scan(tr), "saturated")
    assert [(s.unit, s.vector) for s in found] == [(0, "i"), (3, "i")]
    assert found[0].message == "layer 0: unit 0 input gate saturated (< 0.01) on 100% of steps, from step 0"
    assert found[1].message == ("layer 0: unit 3 input gate saturated (< 0.01 or > 0.99) on 100% of steps, "
                                "from step 0")


def test_saturation_threshold_and_most_are_parameters():
    tr = plain(T=10)
    tr.layers[0].f[:, 1] = 0.97
    tr.layers[0].f[:2, 1] = 0.5  # 80% at 0.97
    assert by_kind(scan(tr), "saturated") == []
    assert by_kind(scan(tr, saturation=0.05), "saturated") == []  # 80% < 90%
    (s,) = by_kind(scan(tr, saturation=0.05, most=0.8), "saturated")
    assert s.message == "layer 0: unit 1 forget gate saturated (> 0.95) on 80% of steps, from step 2"


def test_percentages_are_floored_so_100_means_every_step():
    tr = plain(T=1000)
    tr.layers[0].f[:, 0] = 1.0
    tr.layers[0].f[0, 0] = 0.5  # 999 of 1000
    (s,) = by_kind(scan(tr), "saturated")
    assert "on 99% of steps, from step 1" in s.message


def test_nan_steps_and_masked_steps_are_left_out_of_the_fractions():
    tr = plain(T=10)
    f = tr.layers[0].f
    f[:, 0] = 1.0
    f[:5, 0] = np.nan              # 5 finite steps, all saturated: 100%
    f[:, 1] = 1.0
    f[:3, 1] = 0.5
    tr.layers[0].mask = np.array([False] * 3 + [True] * 7)  # the 3 unsaturated steps did not happen
    found = {s.unit: s for s in by_kind(scan(tr), "saturated")}
    assert found[0].value == 1.0 and found[0].step == 5
    assert found[1].value == 1.0 and found[1].step == 3


def test_dead_units():
    tr = plain(T=10)
    h = tr.layers[0].h
    h[:, 1] = 1e-4
    h[:, 3] = -5e-4
    h[6, 3] = np.nan  # a NaN does not make a unit alive
    h[:, 2] = 1e-4
    h[4, 2] = 0.2     # alive once is alive
    found = by_kind(scan(tr), "dead")
    assert [(d.unit, d.severity, d.vector) for d in found] == [(1, "warning", "h"), (3, "warning", "h")]
    assert found[0].message == "layer 0: unit 1 is dead: |h| < 0.001 at every step (largest 0.0001)"
    assert found[1].message == "layer 0: unit 3 is dead: |h| < 0.001 at every step (largest 0.0005)"
    assert by_kind(scan(tr, dead_tol=1e-4), "dead") == []


def test_largest_c_ignores_nan_and_finds_infinity():
    tr = plain(T=10)
    c = tr.layers[0].c
    c[3, 1] = -7.5
    c[2, 0] = np.nan
    (m,) = by_kind(scan(tr), "max_c")
    assert (m.step, m.unit, m.value) == (3, 1, 7.5)
    assert m.message == "layer 0: largest |c| is 7.5 at step 3, unit 1"
    c[8, 2] = -np.inf
    (m,) = by_kind(scan(tr), "max_c")
    assert (m.step, m.unit, m.value) == (8, 2, np.inf)
    tr.layers[0].c[:] = np.nan
    assert by_kind(scan(tr), "max_c") == []


def test_every_layer_is_scanned_in_order():
    tr = random_trace(T=8, H=3, layers=3)
    tr.layers[2].f[5, 0] = np.nan
    findings = scan(tr)
    assert [f.layer for f in findings] == sorted(f.layer for f in findings)
    assert [(f.layer, f.kind) for f in findings if f.kind != "max_c"] == [(2, "nan")]
    assert {f.layer for f in by_kind(findings, "max_c")} == {0, 1, 2}


def reference(layer: Layer, saturation: float, most: float, dead_tol: float):
    """Saturated and dead units by plain loops over steps."""
    T, H = layer.steps, layer.units
    saturated, dead = [], []
    for u in range(H):
        for g in ("f", "i"):
            vals = [float(layer.vector(g)[t, u]) for t in range(T)]
            low = sum(v < saturation for v in vals)
            high = sum(v > 1 - saturation for v in vals)
            if max(low, high, low + high) >= most * T:
                saturated.append((u, g))
        if all(abs(float(layer.h[t, u])) < dead_tol for t in range(T)):
            dead.append(u)
    return saturated, dead


@pytest.mark.parametrize("seed", range(4))
def test_matches_a_per_step_reference_on_random_traces(seed):
    # Loose thresholds so that random gates do trip them.
    tr = random_trace(seed=seed, T=30, H=12, D=4)
    got = scan(tr, saturation=0.3, most=0.5, dead_tol=0.05)
    saturated, dead = reference(tr.layers[0], 0.3, 0.5, 0.05)
    assert [(s.unit, s.vector) for s in by_kind(got, "saturated")] == saturated
    assert [d.unit for d in by_kind(got, "dead")] == dead
    c = np.abs(tr.layers[0].c)
    (m,) = by_kind(got, "max_c")
    assert m.value == c.max() and c[m.step, m.unit] == c.max()


def test_reference_trips_something():
    found = scan(random_trace(seed=0, T=30, H=12, D=4), saturation=0.3, most=0.5, dead_tol=0.05)
    assert by_kind(found, "saturated")


@pytest.mark.parametrize("seed", range(3))
def test_small_blocks_give_the_same_findings(monkeypatch, seed):
    tr = random_trace(seed=seed, T=40, H=6)
    tr.layers[0].c[17, 4] = np.nan
    tr.layers[0].i[23, 1] = np.inf
    tr.layers[0].f[:, 2] = 0.999
    tr.layers[0].c[30:, 1] = 10.0 ** np.arange(1, 11)   # explodes from step 32 (1000 > 100)
    tr.layers[0].x[[7, 25, 26], 2] = [1e6, -4e5, 2e6]   # outliers on both sides of a block edge
    tr.layers[0].mask = np.ones(40, bool)
    tr.layers[0].mask[26] = False                        # this one did not happen
    whole = scan(tr, saturation=0.2, most=0.5, dead_tol=0.05)
    assert {f.kind for f in whole} >= {"nan", "exploding_c", "outlier_x", "saturated", "max_c"}
    monkeypatch.setattr(health, "BLOCK_ELEMENTS", 5)  # one row per block, one input column at a time
    assert repr(scan(tr, saturation=0.2, most=0.5, dead_tol=0.05)) == repr(whole)


def test_scans_a_memory_mapped_float16_trace(tmp_path):
    tr = random_trace(T=12, H=3, dtype=np.float16)
    tr.layers[0].h[:, 0] = 0
    tr.layers[0].h[5, 1] = np.nan
    loaded = load(save(tr, tmp_path / "f16.npz"))
    found = scan(loaded)
    assert [(f.kind, f.step, f.unit) for f in found if f.kind != "max_c"] == [("nan", 5, 1), ("dead", None, 0)]


# --------------------------------------------------------------------------
# exploding cell state
# --------------------------------------------------------------------------


def exploding(T=40, start=32) -> Trace:
    """c of unit 2 is 0.9, then 10, 100, 1000, … from step ``start``;
    unit 0 sits at 1, so the layer's typical |c| is 1."""
    tr = plain(T=T)
    c = tr.layers[0].c
    c[:, 0] = 1.0
    c[:, 2] = 0.9
    c[start:, 2] = 10.0 ** np.arange(1, T - start + 1)
    return tr


def test_an_exploding_cell_state_names_the_first_step_past_the_threshold():
    (e,) = by_kind(scan(exploding()), "exploding_c")
    # 100 at step 33 is not beyond 100 × 1; 1000 at step 34 is.
    assert (e.layer, e.step, e.unit, e.vector, e.severity, e.value) == (0, 34, 2, "c", "warning", 1000.0)
    assert e.message == ("layer 0: exploding cell state from step 34: |c[2]| = 1000, over 100× the layer's "
                         "typical |c| of 1; peak 1e+08 at step 39, unit 2; beyond on 6 of 40 steps")
    # The largest |c| is still reported, as information.
    (m,) = by_kind(scan(exploding()), "max_c")
    assert (m.step, m.unit, m.value, m.severity) == (39, 2, 1e8, "info")


def test_explode_is_a_parameter():
    tr = exploding()
    assert by_kind(scan(tr, explode=1e9), "exploding_c") == []
    (e,) = by_kind(scan(tr, explode=10), "exploding_c")
    assert (e.step, e.value) == (33, 100.0)
    assert "over 10× the layer's typical |c| of 1;" in e.message


def explosive_cell(H=4, D=3, seed=3) -> LSTMCell:
    """A linear-activation cell whose unit 2 feeds its cell state back into
    its candidate with f ≈ i ≈ 1: c grows by about 1.2× a step."""
    rng = np.random.default_rng(seed)
    U = {g: np.zeros((H, H)) for g in GATES}
    U["c"][2, 2] = 0.4
    b = {g: np.zeros(H) for g in GATES}
    b["f"][2] = 10.0
    b["i"][:] = 10.0
    return LSTMCell(W={g: rng.normal(0, 0.3, (H, D)) for g in GATES}, U=U, b=b, activation="linear")


def reference_explosion(c: np.ndarray, explode: float) -> tuple[int, int] | None:
    """First (step, unit) past ``explode`` × the lower median of the
    per-step largest |c| (at least 1), by plain loops."""
    tops = [max(abs(float(v)) for v in row) for row in c]
    ordered = sorted(tops)
    typical = max(ordered[(len(ordered) - 1) // 2], 1.0)
    for t, row in enumerate(c):
        if tops[t] > explode * typical:
            return t, max(range(len(row)), key=lambda u: abs(float(row[u])))
    return None


def test_a_recorded_run_whose_cell_state_grows_from_1_to_1e8_warns():
    cell = explosive_cell()
    x = np.random.default_rng(4).normal(size=(120, 3))
    rec = cell.forward(x)
    c = np.abs(rec.c)
    assert c[:3].max() < 2 and c[-1].max() > 1e8  # the user's report: ~1 to 1e8
    (e,) = by_kind(scan(Trace(layers=[Layer.from_recording(rec, name="lstm", cell=cell)])), "exploding_c")
    assert (e.step, e.unit) == reference_explosion(rec.c, 100.0)
    assert e.unit == 2
    assert e.value == c[e.step, 2]
    assert f"peak {c.max():.4g} at step 119, unit 2" in e.message


def test_a_tanh_cell_integrating_at_full_rate_does_not_warn():
    # f ≈ 1 and i·ĉ ≈ 1: |c| climbs by 1 a step, the fastest tanh allows,
    # to 1000. Its median follows the climb: nothing explodes.
    H, D, T = 3, 2, 1000
    zeros = {g: np.zeros((H, D)) for g in GATES}
    b = {"f": np.full(H, 30.0), "i": np.full(H, 30.0), "c": np.full(H, 30.0), "o": np.zeros(H)}
    cell = LSTMCell(W=zeros, U={g: np.zeros((H, H)) for g in GATES}, b=b)
    rec = cell.forward(np.zeros((T, D)))
    assert abs(rec.c[-1, 0] - T) <= 1e-6 * T
    found = scan(Trace(layers=[Layer.from_recording(rec, name="lstm", cell=cell)]))
    assert by_kind(found, "exploding_c") == [] and by_kind(found, "outlier_x") == []


@pytest.mark.parametrize("seed", range(3))
def test_a_normal_tanh_lstm_raises_no_new_warning(seed):
    tr = random_trace(seed=seed, T=2000, H=16, D=5, layers=2)
    found = scan(tr)
    assert [f for f in found if f.kind in ("exploding_c", "outlier_x")] == []


@pytest.mark.parametrize("name", ["next_letter.npz", "seed_demo.npz"])
def test_the_bundled_traces_raise_no_new_warning(name):
    from pathlib import Path

    found = scan(load(Path(__file__).resolve().parents[2] / "traces" / name))
    assert [f for f in found if f.kind in ("exploding_c", "outlier_x")] == []
    assert by_kind(found, "max_c")


def test_a_cell_state_near_zero_is_measured_against_the_floor_of_1():
    tr = plain(T=20)
    tr.layers[0].c[:] = 1e-6
    tr.layers[0].c[7, 1] = 50.0   # 5e7 × the median, but within 100 × the floor of 1
    assert by_kind(scan(tr), "exploding_c") == []
    tr.layers[0].c[7, 1] = -150.0
    (e,) = by_kind(scan(tr), "exploding_c")
    assert (e.step, e.unit, e.value) == (7, 1, 150.0)
    assert "typical |c| of 1;" in e.message and e.message.endswith("beyond on 1 of 20 steps")


def test_short_traces():
    one = plain(T=1)
    one.layers[0].c[0, 0] = 1e8   # nothing to compare with
    assert by_kind(scan(one), "exploding_c") == []
    two = plain(T=2)
    two.layers[0].c[:, 3] = [1.0, -1e8]   # the lower median is the first step's 1
    (e,) = by_kind(scan(two), "exploding_c")
    assert (e.step, e.unit, e.value) == (1, 3, 1e8)
    assert e.message.endswith("typical |c| of 1; beyond on 1 of 2 steps")  # peak = first: not repeated


def test_masked_nan_and_infinite_cell_states_are_left_out():
    tr = exploding()
    tr.layers[0].mask = np.ones(40, bool)
    tr.layers[0].mask[34:37] = False            # 1e3 … 1e5 did not happen
    tr.layers[0].c[20, 3] = np.inf              # reported as nan, not as an explosion
    tr.layers[0].c[21, 3] = np.nan
    (e,) = by_kind(scan(tr), "exploding_c")
    assert (e.step, e.value) == (37, 1e6)
    assert e.message.endswith("beyond on 3 of 37 steps")          # of the steps that happened
    flat = plain(T=10)
    flat.layers[0].c[3, 0] = np.inf             # a jump straight to Inf is only an error
    assert [f.kind for f in scan(flat) if f.severity != "info"] == ["nan"]


# --------------------------------------------------------------------------
# input outliers
# --------------------------------------------------------------------------


def normal_inputs(T=50, D=3, seed=0, at: dict[tuple[int, int], float] | None = None) -> Trace:
    """A recorded run of a random cell on standard normal inputs, with the
    values ``at`` (step, feature) put in before the run."""
    rng = np.random.default_rng(seed)
    cell = random_cell(rng, 4, D)
    x = rng.normal(size=(T, D))
    for (t, j), value in (at or {}).items():
        x[t, j] = value
    return Trace(layers=[Layer.from_recording(cell.forward(x), name="lstm", cell=cell)])


def median_and_spread(column: np.ndarray) -> tuple[float, float]:
    """The lower median and 1.4826 × the lower median absolute deviation
    (at least 1), by sorting."""
    def lower(v):
        s = sorted(float(a) for a in v)
        return s[(len(s) - 1) // 2]
    mid = lower(column)
    return mid, max(1.4826 * lower([abs(float(a) - mid) for a in column]), 1.0)


def test_an_input_outlier_names_its_step_feature_value_and_scale():
    tr = normal_inputs(at={(17, 1): 1e6})
    x = tr.layers[0].x
    (o,) = by_kind(scan(tr), "outlier_x")
    assert (o.layer, o.step, o.unit, o.vector, o.severity, o.value) == (0, 17, 1, "x", "warning", 1e6)
    mid, spread = median_and_spread(x[:, 1])
    assert o.message == (f"layer 0: input outlier at step 17: x[1] = 1e+06, median {mid:.4g}, "
                         f"typical spread {spread:.3g} (threshold 20 spreads)")
    # It saturated the gates at step 17 only: one step is not a saturated gate.
    assert np.isin(tr.layers[0].i[17], [0.0, 1.0]).any()
    assert [f.kind for f in scan(tr) if f.severity == "warning"] == ["outlier_x"]


def test_outliers_of_one_feature_are_grouped():
    tr = normal_inputs(T=200)
    x = tr.layers[0].x
    x[[5, 9, 150], 0] = [1e6, -3e6, 50.0]
    x[60, 2] = 1e4
    found = by_kind(scan(tr), "outlier_x")
    assert [(o.unit, o.step, o.value) for o in found] == [(0, 5, 1e6), (2, 60, 1e4)]
    assert found[0].message.startswith("layer 0: input outliers from step 5: x[0] = 1e+06, median ")
    assert found[0].message.endswith("(threshold 20 spreads); on 3 steps, largest -3e+06 at step 9")


def test_outlier_is_a_parameter():
    tr = normal_inputs(T=200)
    x = tr.layers[0].x
    x[30, 2] = 60.0
    mid, spread = median_and_spread(x[:, 2])
    distance = (60.0 - mid) / spread              # about 60 spreads
    assert 40 < distance < 80
    assert [o.step for o in by_kind(scan(tr), "outlier_x")] == [30]
    assert by_kind(scan(tr, outlier=distance * 1.01), "outlier_x") == []
    assert [o.step for o in by_kind(scan(tr, outlier=distance * 0.99), "outlier_x")] == [30]


def test_one_hot_inputs_never_warn():
    rng = np.random.default_rng(1)
    T, D = 400, 26
    letters = rng.integers(0, 20, T)              # the last six letters never appear …
    letters[[50, 51, 300]] = [21, 25, 25]         # … but three that appear once or twice
    x = np.zeros((T, D))
    x[np.arange(T), letters] = 1.0
    cell = random_cell(rng, 8, D)
    tr = Trace(layers=[Layer.from_recording(cell.forward(x), name="lstm", cell=cell)])
    assert by_kind(scan(tr), "outlier_x") == []
    assert by_kind(scan(tr, outlier=1.01), "outlier_x") == []    # 1 is within one spread of 0
    assert by_kind(scan(tr, outlier=0.99), "outlier_x") != []    # the floor of 1 is the only guard


def test_constant_features_are_measured_against_the_floor_of_1():
    tr = normal_inputs(T=60)
    x = tr.layers[0].x
    x[:, 2] = 0.25
    x[10, 2] = 15.0        # 14.75 from the median: within 20 × the floor of 1
    assert by_kind(scan(tr), "outlier_x") == []
    x[10, 2] = 25.0
    (o,) = by_kind(scan(tr), "outlier_x")
    assert (o.step, o.unit) == (10, 2)
    assert "x[2] = 25, median 0.25, typical spread 1 (threshold 20 spreads)" in o.message


def test_nonfinite_and_masked_inputs_are_not_outliers():
    tr = normal_inputs(T=30)
    x = tr.layers[0].x
    x[3, 0], x[4, 0], x[5, 0] = np.inf, np.nan, -np.inf
    x[12, 1] = 1e6
    tr.layers[0].mask = np.ones(30, bool)
    tr.layers[0].mask[12] = False    # skipped: its input never reached the cell
    found = scan(tr)
    assert by_kind(found, "outlier_x") == []
    assert by_kind(found, "nan")[0].message.startswith("layer 0: +Inf at step 3 in x[0]")


def test_every_layer_input_is_scanned():
    tr = random_trace(seed=2, T=300, H=6, D=4, layers=2)
    tr.layers[0].x[120, 3] = -1e6
    tr.layers[1].x[45, 5] = 80.0     # an h of the layer below that no tanh makes
    found = by_kind(scan(tr), "outlier_x")
    assert [(o.layer, o.step, o.unit) for o in found] == [(0, 120, 3), (1, 45, 5)]
    assert found[1].message.startswith("layer 1: input outlier at step 45: x[5] = 80, median ")


def test_long_traces_take_the_input_scale_from_a_sample(monkeypatch):
    tr = normal_inputs(T=3000, D=4, seed=5)
    x = tr.layers[0].x
    x[2345, 3] = 5e5
    x[17, 0] = -200.0
    whole = by_kind(scan(tr), "outlier_x")
    monkeypatch.setattr(health, "SAMPLE_STEPS", 64)
    sampled = by_kind(scan(tr), "outlier_x")
    assert [(o.step, o.unit, o.value) for o in sampled] == [(o.step, o.unit, o.value) for o in whole]
    assert [(o.step, o.unit) for o in whole] == [(17, 0), (2345, 3)]
    # The sampled median and spread are close to the whole trace's.
    centre, spread = health._input_stats(tr.layers[0], None)
    for j in range(4):
        mid, full = median_and_spread(x[:, j])
        assert abs(centre[j] - mid) <= 0.3 * full and abs(spread[j] - full) <= 0.3 * full


def test_the_sample_is_spread_over_the_steps_that_happened(monkeypatch):
    monkeypatch.setattr(health, "SAMPLE_STEPS", 10)
    assert health._sample_steps(8, None) is None                # short: every step
    picks = health._sample_steps(1000, None)
    assert len(picks) == 10 and (np.diff(picks) > 0).all()
    assert (picks // 100 == np.arange(10)).all()                # one in each tenth
    mask = np.arange(1000) % 3 == 0
    picks = health._sample_steps(1000, mask)
    assert len(picks) == 10 and mask[picks].all() and (np.diff(picks) > 0).all()
    assert health._sample_steps(1000, np.zeros(1000, bool)).size == 0


def test_a_memory_mapped_trace_gives_the_same_new_findings(tmp_path):
    tr = exploding()
    tr.layers[0].x = np.random.default_rng(0).normal(size=(40, 2))
    tr.layers[0].x[9, 1] = 1e6
    tr.layers[0].f = tr.layers[0].f.astype(np.float32)
    loaded = load(save(tr, tmp_path / "t.npz"))
    got = [f for f in scan(loaded) if f.kind in ("exploding_c", "outlier_x")]
    assert [(f.kind, f.step, f.unit, f.value) for f in got] == [("exploding_c", 34, 2, 1000.0),
                                                                  ("outlier_x", 9, 1, 1e6)]
    assert repr(got) == repr([f for f in scan(tr) if f.kind in ("exploding_c", "outlier_x")])


def test_long_groups_are_summed_up_with_the_most_severe_listed():
    """A layer of 3000 units, every forget gate saturated (to different
    degrees) and 40 units dead: 11 lines each instead of thousands."""
    H = 3000
    tr = plain(T=20, H=H)
    layer = tr.layers[0]
    frac = np.arange(H) % 3  # 0: 100% of steps, 1: 95%, 2: 90%
    for u in range(H):
        layer.f[: 20 - int(frac[u]), u] = 0.999
    layer.h[:, 100:140] = 1e-5 * np.arange(1, 41)  # unit 100 the deadest
    found = scan(tr)
    sat = by_kind(found, "saturated")
    assert len(sat) == 11
    assert sat[0].count == H and sat[0].unit is None and sat[0].step is None
    assert sat[0].message == ("layer 0: 3,000 units with the forget gate saturated; the 10 most saturated follow "
                              "(lstm-tui health --all lists every one)")
    assert all(f.count == 1 and f.value == 1.0 for f in sat[1:])  # the 100% ones first
    assert [f.unit for f in sat[1:]] == list(range(0, 30, 3))
    dead = by_kind(found, "dead")
    assert dead[0].count == 40 and [f.unit for f in dead[1:4]] == [100, 101, 102]
    # Everything, when asked.
    every = scan(tr, limit=None)
    assert len(by_kind(every, "saturated")) == H and len(by_kind(every, "dead")) == 40
    # A group at the limit is listed as it is.
    assert all(f.count == 1 for f in scan(tr, limit=H))


def test_a_scan_stops_when_its_check_raises():
    """``check`` is called before each block: a screen stops a long scan by
    raising from it (the file changed, the scan was cancelled)."""
    tr = random_trace(T=50, H=4)
    calls = []

    class Stop(Exception):
        pass

    def check():
        calls.append(1)
        if len(calls) == 3:
            raise Stop
    old = health.BLOCK_ELEMENTS
    health.BLOCK_ELEMENTS = 40  # a step or two a block
    try:
        with pytest.raises(Stop):
            scan(tr, check=check)
    finally:
        health.BLOCK_ELEMENTS = old
    assert len(calls) == 3
    assert scan(tr, check=lambda: None) == scan(tr)
