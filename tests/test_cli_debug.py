"""The headless debugging commands: find, health, diff; their output and
exit codes (0 ok, 1 found / differs, 2 bad input), errors on one line."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import random_trace

from lstm_tui.cli import main
from lstm_tui.core.trace import Layer, Trace, save


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    out, err = capsys.readouterr()
    return e.value.code, out, err


def crafted() -> Trace:
    T, H = 6, 8
    f = np.full((T, H), 0.5)
    f[1, 7], f[3, 7] = 0.01, 0.0312
    c = np.zeros((T, H))
    c[2, 0] = -6.0
    z = np.zeros((T, H))
    layer = Layer(x=np.zeros((T, 2)), f=f, i=z + 0.5, c_hat=z.copy(), c=c, o=z + 0.5, h=z + 0.2,
                  h0=np.zeros(H), c0=np.zeros(H))
    probs = np.full((T, 3), 0.1)
    for t, best in enumerate([0, 0, 1, 1, 2, 0]):
        probs[t, best] = 0.8
    return Trace(layers=[layer], tokens=np.array(list("aqbqcd")), probs=probs, vocab=np.array(list("xyz")))


@pytest.fixture
def trace_path(tmp_path) -> Path:
    return save(crafted(), tmp_path / "crafted.npz")


# --------------------------------------------------------------------------
# find
# --------------------------------------------------------------------------


def test_find_prints_steps_tokens_and_values(capsys, trace_path):
    code, out, err = run(capsys, "find", str(trace_path), "f[7] < 0.05")
    assert code == 0
    assert out == "t=1  token 'q'  f[7]=0.0100\nt=3  token 'q'  f[7]=0.0312\n"
    assert err == "2 of 6 steps match\n"


def test_find_shows_whole_numbers_as_integers(capsys, trace_path):
    code, out, _ = run(capsys, "find", str(trace_path), "count(f < 0.05) + t > 2")
    assert code == 0
    assert out.splitlines() == ["t=3  token 'q'  count(f < 0.05) + t=4", "t=4  token 'c'  count(f < 0.05) + t=4",
                                "t=5  token 'd'  count(f < 0.05) + t=5"]
    code, out, _ = run(capsys, "find", str(trace_path), "token == 'q' or max(abs(c)) > 5")
    assert out.splitlines() == ["t=1  token 'q'  max(abs(c))=0.0000", "t=2  token 'b'  max(abs(c))=6.0000",
                                "t=3  token 'q'  max(abs(c))=0.0000"]


def test_find_shows_the_top_prediction_as_its_letter(capsys, trace_path):
    """argmax(p) is an index into the readout's vocabulary (here x, y, z)."""
    code, out, _ = run(capsys, "find", str(trace_path), "argmax(p) != argmax(p_prev)")
    assert code == 0
    assert out.splitlines() == [
        "t=2  token 'b'  argmax(p)='y'  argmax(p_prev)='x'",
        "t=4  token 'c'  argmax(p)='z'  argmax(p_prev)='y'",
        "t=5  token 'd'  argmax(p)='x'  argmax(p_prev)='z'",
    ]
    code, out, _ = run(capsys, "find", str(trace_path), "argmax(p) == 'y' and p[argmax(p)] > 0.5")
    assert out.splitlines() == ["t=2  token 'b'  argmax(p)='y'  p[argmax(p)]=0.8000",
                                "t=3  token 'q'  argmax(p)='y'  p[argmax(p)]=0.8000"]
    # An index compared with a letter reads as one; where it names none, as a number.
    code, out, _ = run(capsys, "find", str(trace_path), "count(f < 0.05) + 2 != 'x' and t < 3")
    assert out.splitlines() == ["t=0  token 'a'  count(f < 0.05) + 2='z'", "t=1  token 'q'  count(f < 0.05) + 2=3",
                                "t=2  token 'b'  count(f < 0.05) + 2='z'"]


def test_find_with_a_letter_outside_the_vocabulary_exits_2(capsys, trace_path):
    code, out, err = run(capsys, "find", str(trace_path), "argmax(p) == 'd'")
    assert (code, out) == (2, "")
    assert err == "lstm-tui: error: condition: column 14: 'd' is not in the vocabulary (xyz)\n"


def test_find_without_a_vocabulary_prints_the_index(capsys, tmp_path):
    tr = crafted()
    tr.vocab = None
    path = save(tr, tmp_path / "novocab.npz")
    code, out, _ = run(capsys, "find", str(path), "argmax(p) == 1")
    assert out.splitlines() == ["t=2  token 'b'  argmax(p)=1", "t=3  token 'q'  argmax(p)=1"]


def test_find_without_tokens_and_on_another_layer(capsys, tmp_path):
    tr = random_trace(T=6, H=3, layers=2, tokens=False)
    path = save(tr, tmp_path / "t.npz")
    expected = np.flatnonzero(tr.layers[1].h[:, 2] > 0)
    code, out, _ = run(capsys, "find", str(path), "--layer", "1", "h[2] > 0")
    assert code == 0
    assert [line.split("  ")[0] for line in out.splitlines()] == [f"t={t}" for t in expected]
    assert "token" not in out


def test_find_on_a_reversed_layer_shows_the_token_it_read(capsys, tmp_path):
    tr = random_trace(T=4, H=2)
    tr.layers[0].reversed = True
    path = save(tr, tmp_path / "rev.npz")
    code, out, _ = run(capsys, "find", str(path), "t == 0")
    assert code == 0 and out == "t=0  token 'w3'\n"


def test_find_nothing_exits_1(capsys, trace_path):
    code, out, err = run(capsys, "find", str(trace_path), "nan")
    assert code == 1
    assert out == "" and err == "no step of 6 matches\n"


@pytest.mark.parametrize("condition, message", [
    ("f[7 < 0.05", "condition: column 4: expected ']', found '<'"),
    ("f > 0.5", "condition: column 1: condition gives a vector; wrap it in any(...) or all(...)"),
    ("f[8] > 0", "condition: column 3: index 8 is out of range: f has 8 values (0…7, or -8…-1 from the end)"),
    ("foo", "condition: column 1: unknown name 'foo'"),
])
def test_find_bad_condition_exits_2_with_one_line(capsys, trace_path, condition, message):
    code, out, err = run(capsys, "find", str(trace_path), condition)
    assert code == 2 and out == ""
    assert err.startswith(f"lstm-tui: error: {message}")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_find_without_readout_names_it(capsys, tmp_path):
    path = save(random_trace(T=3), tmp_path / "t.npz")
    code, _, err = run(capsys, "find", str(path), "p[0] > 0.5")
    assert code == 2
    assert err == "lstm-tui: error: condition: column 1: p: this trace has no readout (no readout/probs member)\n"


def test_find_bad_trace_and_bad_layer_exit_2(capsys, tmp_path, trace_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    code, _, err = run(capsys, "find", str(bad), "nan")
    assert code == 2 and err == f"lstm-tui: error: {bad}: not a trace file (not a NumPy .npz archive)\n"
    code, _, err = run(capsys, "find", str(trace_path), "nan", "--layer", "3")
    assert code == 2 and err == f"lstm-tui: error: {trace_path}: no layer 3 (the trace has 1)\n"


# --------------------------------------------------------------------------
# health
# --------------------------------------------------------------------------


def test_health_on_a_healthy_trace_exits_0(capsys, trace_path):
    code, out, _ = run(capsys, "health", str(trace_path))
    assert code == 0
    assert out == "info     layer 0: largest |c| is 6 at step 2, unit 0\n"


def test_health_reports_nan_saturation_and_dead_units_exit_1(capsys, tmp_path):
    tr = crafted()
    tr.layers[0].f[:, 4] = 0.999
    tr.layers[0].h[:, 5] = 0.0
    tr.layers[0].c[4, 6] = np.nan
    code, out, _ = run(capsys, "health", str(save(tr, tmp_path / "sick.npz")))
    assert code == 1
    assert out.splitlines() == [
        "error    layer 0: NaN at step 4 in c[6] (NaN or Inf at 1 of 6 steps)",
        "warning  layer 0: unit 4 forget gate saturated (> 0.99) on 100% of steps, from step 0",
        "warning  layer 0: unit 5 is dead: |h| < 0.001 at every step (largest 0)",
        "info     layer 0: largest |c| is 6 at step 2, unit 0",
    ]


def test_health_options(capsys, tmp_path):
    tr = crafted()
    tr.layers[0].f[:, 4] = 0.96
    path = save(tr, tmp_path / "t.npz")
    _, out, _ = run(capsys, "health", str(path))
    assert "saturated" not in out
    code, out, _ = run(capsys, "health", str(path), "--saturation", "0.05", "--most", "0.5", "--dead-tol", "0.5")
    assert code == 0
    assert "unit 4 forget gate saturated (> 0.95) on 100% of steps" in out
    assert "unit 0 is dead: |h| < 0.5" in out
    code, _, err = run(capsys, "health", str(path), "--saturation", "0.7")
    assert code == 2 and err.startswith("lstm-tui: error: ") and err.count("\n") == 1


def blowing_up() -> Trace:
    """``crafted`` with c of unit 3 growing 10× a step from step 3 and an
    input of 1e6 at step 1. The largest |c| of each step is then 0, 0, 6,
    100, 1000, 1e4: the layer's typical |c| (lower median) is 6."""
    tr = crafted()
    tr.layers[0].c[3:, 3] = [1e2, 1e3, 1e4]
    tr.layers[0].x[:, 1] = [0.5, 1e6, -0.25, 0.0, 0.75, 1.0]
    return tr


def test_health_warns_on_an_exploding_cell_state_and_an_input_outlier_exit_0(capsys, tmp_path):
    code, out, _ = run(capsys, "health", str(save(blowing_up(), tmp_path / "b.npz")))
    # Warnings are heuristics: the exit code stays 0 (only NaN/Inf is 1).
    assert code == 0
    assert out.splitlines() == [
        "warning  layer 0: exploding cell state from step 4: |c[3]| = 1000, over 100× the layer's typical "
        "|c| of 6; peak 1e+04 at step 5, unit 3; beyond on 2 of 6 steps",
        "warning  layer 0: input outlier at step 1: x[1] = 1e+06, median 0.5, typical spread 1 "
        "(threshold 20 spreads)",
        "info     layer 0: largest |c| is 1e+04 at step 5, unit 3",
    ]


def test_health_explode_and_outlier_options(capsys, tmp_path):
    path = str(save(blowing_up(), tmp_path / "b.npz"))
    code, out, _ = run(capsys, "health", path, "--explode", "1e5", "--outlier", "1e7")
    assert code == 0 and out == "info     layer 0: largest |c| is 1e+04 at step 5, unit 3\n"
    _, out, _ = run(capsys, "health", path, "--explode", "10", "--outlier", "1e7")
    assert out.splitlines()[0].startswith("warning  layer 0: exploding cell state from step 3: |c[3]| = 100, "
                                          "over 10× the layer's typical |c| of 6;")
    for bad in (["--explode", "1"], ["--explode", "0.5"], ["--outlier", "0"], ["--outlier", "-3"]):
        code, out, err = run(capsys, "health", path, *bad)
        assert code == 2 and out == "" and err.startswith("lstm-tui: error: ") and err.count("\n") == 1
        assert bad[0] in err
    code, out, _ = run(capsys, "health", "--help")
    assert code == 0 and "--explode" in out and "--outlier" in out and "100.0" in out and "20.0" in out


# --------------------------------------------------------------------------
# diff
# --------------------------------------------------------------------------


def test_diff_equal_exits_0(capsys, tmp_path):
    tr = random_trace(T=5, H=3)
    a, b = save(tr, tmp_path / "a.npz"), save(tr, tmp_path / "b.npz")
    code, out, _ = run(capsys, "diff", str(a), str(b))
    assert code == 0
    assert out.splitlines()[:2] == ["compared 5 steps, rounding bound", "no difference beyond the rounding bound"]


def test_diff_differ_exits_1_with_first_step_and_table(capsys, tmp_path):
    tr = random_trace(T=6, H=3, layers=2)
    a = save(tr, tmp_path / "a.npz")
    tr2 = copy.deepcopy(tr)
    tr2.layers[1].i[3, 2] += 0.01
    b = save(tr2, tmp_path / "b.npz")
    code, out, _ = run(capsys, "diff", str(a), str(b))
    assert code == 1
    lines = out.splitlines()
    assert lines[1].startswith("first difference: layer 1, step 3, i[2]: A ")
    assert lines[2] == "layer 1: max |B-A| 0.01 at t=3 i[2]; 1 step beyond, last t=3"
    assert lines[4].split() == ["layer", "x", "f", "i", "c_hat", "c", "o", "h", "h0", "c0"]
    assert lines[6].split() == ["1", "0", "0", "0.01*", "0", "0", "0", "0", "0"]
    code, _, _ = run(capsys, "diff", str(a), str(b), "--tol", "0.02")
    assert code == 0


def test_diff_exits_1_when_only_the_weights_differ(capsys, tmp_path):
    tr = random_trace(T=5, H=3)
    a = save(tr, tmp_path / "a.npz")
    tr.layers[0].cell.U["i"][0, 2] = 0.5 + float(tr.layers[0].cell.U["i"][0, 2])
    b = save(tr, tmp_path / "b.npz")
    code, out, _ = run(capsys, "diff", str(a), str(b))
    assert code == 1
    assert out.splitlines()[1:3] == ["no step differs beyond the rounding bound, but stored members do",
                                     "differs: layer 0 U_i (by up to 0.5)"]


def test_diff_incomparable_and_unreadable_exit_2(capsys, tmp_path):
    a = save(random_trace(T=5, H=3), tmp_path / "a.npz")
    b = save(random_trace(T=5, H=4), tmp_path / "b.npz")
    code, out, err = run(capsys, "diff", str(a), str(b))
    assert code == 2 and out == ""
    assert err == f"lstm-tui: error: {a} and {b} cannot be compared: layer 0: A has 3 units, B has 4\n"
    code, _, err = run(capsys, "diff", str(a), str(tmp_path / "missing.npz"))
    assert code == 2 and err == f"lstm-tui: error: {tmp_path / 'missing.npz'}: no such file\n"
    code, _, err = run(capsys, "diff", str(a), str(a), "--tol", "-1")
    assert code == 2 and err.count("\n") == 1


def test_help_lists_the_commands(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for cmd in ("find", "health", "diff"):
        assert f"  {cmd} " in out


def test_real_process_find(tmp_path):
    path = save(crafted(), tmp_path / "t.npz")
    r = subprocess.run([sys.executable, "-m", "lstm_tui", "find", str(path), "token == 'q'"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "t=1  token 'q'\nt=3  token 'q'\n"
    r = subprocess.run([sys.executable, "-m", "lstm_tui", "find", str(path), "f[7 < 1"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr == "lstm-tui: error: condition: column 4: expected ']', found '<'\n"


def test_health_sums_up_long_groups_unless_all(capsys, tmp_path):
    tr = random_trace(T=8, H=30)
    tr.layers[0].f[:] = 0.9999  # every unit's forget gate shut... open
    path = save(tr, tmp_path / "sat.npz")
    code, out, _ = run(capsys, "health", str(path))
    lines = [line for line in out.splitlines() if "forget gate" in line]
    assert code == 0 and len(lines) == 11
    assert lines[0] == ("warning  layer 0: 30 units with the forget gate saturated; the 10 most saturated follow "
                        "(lstm-tui health --all lists every one)")
    code, out, _ = run(capsys, "health", str(path), "--all")
    assert code == 0 and sum("forget gate" in line for line in out.splitlines()) == 30
