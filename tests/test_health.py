"""Health scan: NaN/Inf, saturated gates, dead units, the largest |c|."""

from __future__ import annotations

import numpy as np
import pytest

import lstm_tui.health as health
from conftest import random_trace
from lstm_tui.health import Finding, nonfinite_rows, scan
from lstm_tui.trace import Layer, Trace, load, save


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
    whole = scan(tr, saturation=0.2, most=0.5, dead_tol=0.05)
    monkeypatch.setattr(health, "BLOCK_ELEMENTS", 5)  # one row per block
    assert repr(scan(tr, saturation=0.2, most=0.5, dead_tol=0.05)) == repr(whole)


def test_scans_a_memory_mapped_float16_trace(tmp_path):
    tr = random_trace(T=12, H=3, dtype=np.float16)
    tr.layers[0].h[:, 0] = 0
    tr.layers[0].h[5, 1] = np.nan
    loaded = load(save(tr, tmp_path / "f16.npz"))
    found = scan(loaded)
    assert [(f.kind, f.step, f.unit) for f in found if f.kind != "max_c"] == [("nan", 5, 1), ("dead", None, 0)]
