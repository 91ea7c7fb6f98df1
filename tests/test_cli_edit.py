"""``lstm-tui edit``: the output file, the summary, one-line errors, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstm_tui.cli import main
from lstm_tui.core.trace import load, save

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    out, err = capsys.readouterr()
    return e.value.code, out, err


@pytest.fixture
def demo(tmp_path, capsys) -> Path:
    path = tmp_path / "demo.npz"
    assert run(capsys, "record", "--demo", "-o", str(path))[0] == 0
    return path


def test_edit_writes_the_edited_run_and_says_how_long_it_lived(capsys, tmp_path, demo, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "edit", "demo.npz", "--at", "1", "--set", "c[0]=0", "-o", "what_if.npz")
    assert code == 0
    assert out.splitlines() == [
        "edit: set c[0]=0 at t = 1, layer 0 (seed_lstm), from demo.npz",
        "layer 0 (seed_lstm): differs beyond the rounding bound from t = 1 to t = 2, the last step",
        "compare: lstm-tui view demo.npz --diff what_if.npz",
    ]
    assert err == "wrote what_if.npz: 1 layer(s), 3 steps\n"
    edited, original = load(tmp_path / "what_if.npz"), load(demo)
    assert edited.meta["edit"] == {"from": "demo.npz", "at": 1, "layer": 0, "set": ["c[0]=0"], "hold": []}
    assert edited.layers[0].c[1, 0] == 0
    assert np.array_equal(edited.layers[0].h[0], original.layers[0].h[0])
    # The file is a trace like any other: diff sees the edit where it is.
    code, out, _ = run(capsys, "diff", "demo.npz", "what_if.npz")
    assert code == 1 and "first difference: layer 0, step 1, c[0]: A 0.432088, B 0" in out


def test_a_change_that_dies_out_and_the_readout(capsys, tmp_path):
    from conftest import random_trace

    trace = random_trace(T=8, layers=2, readout=True)
    rng = np.random.default_rng(1)
    trace.readout_W = rng.normal(size=(3, 4))
    trace.readout_b = rng.normal(size=3)
    h = trace.layers[1].h
    z = h @ trace.readout_W.T + trace.readout_b
    trace.probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    path = save(trace, tmp_path / "t.npz")
    out_path = tmp_path / "e.npz"
    # The last step's h: nothing reads it after, and layer 1 reads it at once.
    code, out, _ = run(capsys, "edit", str(path), "--at", "7", "--hold", "h[0]=0", "-o", str(out_path))
    assert code == 0
    lines = out.splitlines()
    assert lines[1] == "layer 0 (lstm_0): differs beyond the rounding bound from t = 7 to t = 7, the last step"
    assert lines[2] == "layer 1 (lstm_1): differs beyond the rounding bound from t = 7 to t = 7, the last step"
    assert lines[3].startswith("readout: recomputed; p differs by up to ")
    # Set at step 2 of layer 1, the change lives on in layer 1 only, from step 2.
    code, out, _ = run(capsys, "edit", str(path), "--at", "2", "--layer", "1", "--set", "f[1]=0", "-o",
                       str(out_path), "--force")
    assert code == 0
    assert "layer 0 (lstm_0): unchanged (within the rounding bound)" in out
    assert "layer 1 (lstm_1): differs beyond the rounding bound from t = 2 to t = " in out


def test_a_change_gone_before_the_end_says_where_it_went(capsys, tmp_path):
    from conftest import random_trace

    path = save(random_trace(seed=1, T=30), tmp_path / "t.npz")
    args = ["edit", str(path), "--at", "2", "--set", "h[0]=0", "-o", str(tmp_path / "e.npz")]
    # By the rounding bound the change lives to the end; past 1e-3 it is gone after step 8.
    code, out, _ = run(capsys, *args)
    assert code == 0 and "from t = 2 to t = 29, the last step" in out
    code, out, _ = run(capsys, *args, "--force", "--tol", "1e-3")
    assert code == 0
    assert "layer 0 (lstm_0): differs beyond tolerance 0.001 from t = 2 to t = 8; gone from t = 9" in out


@pytest.mark.parametrize("args, words", [
    (["--at", "1", "--set", "c[5]=0"], "--set 'c[5]=0': column 3: unit 5 is outside c (units 0…1 on layer 0)"),
    (["--at", "1", "--hold", "h[0]=0; q[1]=2"], "--hold 'h[0]=0; q[1]=2': column 9: unknown name 'q'"),
    (["--at", "1", "--set", "c[0]=x"], "--set 'c[0]=x': column 6: expected a number"),
    (["--at", "9", "--set", "c[0]=0"], "demo.npz: no step 9 (steps are 0…2)"),
    (["--at", "0", "--layer", "3", "--set", "c[0]=0"], "demo.npz: no layer 3 (the trace has 1)"),
    (["--at", "1"], "edit: give at least one --set or --hold, e.g. --set 'c[3]=0'"),
])
def test_bad_edits_are_one_line_and_exit_2(capsys, tmp_path, demo, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "edit", "demo.npz", *args, "-o", "out.npz")
    assert code == 2 and out == ""
    assert err.startswith(f"lstm-tui: error: {words}") and err.count("\n") == 1
    assert not (tmp_path / "out.npz").exists()


def test_missing_weights_and_a_headless_readout_are_named(capsys, tmp_path):
    from conftest import random_trace

    trace = random_trace(readout=True)  # probs with no readout/W
    path = save(trace, tmp_path / "t.npz")
    out = tmp_path / "e.npz"
    code, _, err = run(capsys, "edit", str(path), "--at", "1", "--set", "c[0]=0", "-o", str(out))
    assert code == 2 and "member 'readout/W' is missing" in err and "--drop-readout" in err
    assert err.count("\n") == 1 and not out.exists()
    code, stdout, _ = run(capsys, "edit", str(path), "--at", "1", "--set", "c[0]=0", "--drop-readout", "-o", str(out))
    assert code == 0 and "readout: left out (--drop-readout: the trace stores no readout/W)" in stdout
    assert load(out).probs is None
    trace.layers[0].cell = None
    save(trace, path)
    code, _, err = run(capsys, "edit", str(path), "--at", "1", "--set", "c[0]=0", "-o", str(tmp_path / "f.npz"))
    assert code == 2
    assert err == (f"lstm-tui: error: {path}: layer 0 stores no weights (member 'layer0/W_f' is missing), "
                   "so it cannot be re-run\n")


def test_the_output_is_not_overwritten_without_force_nor_the_input_ever(capsys, tmp_path, demo):
    target = tmp_path / "out.npz"
    target.write_bytes(b"precious")
    code, _, err = run(capsys, "edit", str(demo), "--at", "0", "--set", "c[0]=0", "-o", str(target))
    assert code == 2 and "exists already (use --force" in err and target.read_bytes() == b"precious"
    code, _, _ = run(capsys, "edit", str(demo), "--at", "0", "--set", "c[0]=0", "-o", str(target), "--force")
    assert code == 0 and load(target).layers[0].c[0, 0] == 0
    before = demo.read_bytes()
    code, _, err = run(capsys, "edit", str(demo), "--at", "0", "--set", "c[0]=0", "-o", str(demo), "--force")
    assert code == 2 and "is the trace being edited" in err and demo.read_bytes() == before


def test_edit_never_imports_tensorflow_or_textual(tmp_path, demo):
    probe = (
        "import sys\nfrom lstm_tui.cli import main\n"
        f"try: main(['edit', {str(demo)!r}, '--at', '1', '--set', 'c[0]=0', '-o', {str(tmp_path / 'x.npz')!r}])\n"
        "except SystemExit as e: assert e.code == 0, e.code\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    mods = set(r.stdout.split())
    assert not mods & {"tensorflow", "keras", "textual"}


def test_view_opens_the_diff_view_at_the_edit(capsys, tmp_path, demo, monkeypatch):
    import lstm_tui.tui.app as app_module

    opened = {}

    class FakeApp:
        return_code = 0

        def run(self):
            opened["ran"] = True

    def fake_make_app(trace, **kw):
        opened.update(kw, trace=trace)
        return FakeApp()

    monkeypatch.setattr(app_module, "make_app", fake_make_app)
    out = tmp_path / "e.npz"
    code, _, _ = run(capsys, "edit", str(demo), "--at", "2", "--set", "x[0]=1; h[1]=0", "-o", str(out), "--view")
    assert code == 0 and opened["ran"]
    assert (opened["layer"], opened["step"], opened["unit"]) == (0, 2, 1)
    assert opened["diff"].path == out and opened["diff"].meta["edit"]["at"] == 2
    assert opened["trace"].path == demo
