"""The command line: exit codes 0/1/2, one-line errors, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import random_trace
from lstm_tui.cli import main
from lstm_tui.trace import load, save
from test_trace import BAD

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    out, err = capsys.readouterr()
    return e.value.code, out, err


@pytest.fixture
def good(tmp_path) -> Path:
    return save(random_trace(layers=2, readout=True), tmp_path / "good.npz")


@pytest.mark.parametrize("command", ["print", "check"])
@pytest.mark.parametrize("make", BAD, ids=[f.__name__[4:] for f in BAD])
def test_bad_trace_exits_2_with_one_line(capsys, tmp_path, good, make, command):
    path, why = make(tmp_path, good)
    code, out, err = run(capsys, command, str(path))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"lstm-tui: error: {path}: ")
    assert why in err
    assert "Traceback" not in err


def test_record_demo_then_print_and_check(capsys, tmp_path):
    out_path = tmp_path / "demo.npz"
    code, _, err = run(capsys, "record", "--demo", "-o", str(out_path))
    assert code == 0 and "wrote" in err
    code, out, _ = run(capsys, "print", str(out_path), "--lang", "pt")
    assert code == 0
    assert out.splitlines()[0] == "=== Começo da simulação ==="
    assert "c_t (memória): [0.43208765 0.02529603]" in out
    code, out, _ = run(capsys, "check", str(out_path))
    assert code == 0 and "ok: every step follows from the stored weights" in out


def test_record_refuses_to_overwrite_without_force(capsys, tmp_path):
    target = tmp_path / "t.npz"
    target.write_bytes(b"precious")
    code, _, err = run(capsys, "record", "--demo", "-o", str(target))
    assert code == 2 and "exists already (use --force" in err
    assert target.read_bytes() == b"precious"
    code, _, _ = run(capsys, "record", "--demo", "-o", str(target), "--force")
    assert code == 0 and load(target).steps == 3


def test_print_layer_and_step(capsys, good):
    code, out, _ = run(capsys, "print", str(good), "--layer", "1", "--step", "2")
    assert code == 0
    assert "--- layer 1: lstm_1 (4 units) ---" in out
    assert "Step t=2" in out and "Step t=1" not in out and "layer 0" not in out
    assert "token: 'w2'" in out
    code, _, err = run(capsys, "print", str(good), "--step", "9")
    assert code == 2 and "no step 9 (steps are 0…4)" in err
    code, _, err = run(capsys, "print", str(good), "--layer", "2")
    assert code == 2 and "no layer 2 (the trace has 2)" in err


def test_check_finds_the_first_differing_step(capsys, tmp_path):
    tr = random_trace(T=6, layers=2)
    tr.layers[1].i[3, 2] += 0.01
    tr.layers[0].o[4, 1] -= 0.5
    path = save(tr, tmp_path / "tampered.npz")
    code, out, _ = run(capsys, "check", str(path))
    assert code == 1
    assert "mismatch: layer 1, step 3, i[2]" in out


def test_check_without_weights_exits_2(capsys, tmp_path):
    tr = random_trace()
    tr.layers[0].cell = None
    path = save(tr, tmp_path / "noweights.npz")
    code, _, err = run(capsys, "check", str(path))
    assert code == 2 and "holds no weights" in err


def test_check_tolerates_float32_rounding(capsys, tmp_path):
    tr = random_trace(T=50, H=16, D=8, dtype=np.float32)
    code, out, _ = run(capsys, "check", str(save(tr, tmp_path / "f32.npz")))
    assert code == 0 and "tolerance 1e-05" in out


def test_usage_errors_exit_2(capsys):
    code, _, err = run(capsys, "print")
    assert code == 2 and err.startswith("lstm-tui: error: ") and err.count("\n") == 1
    code, _, err = run(capsys, "record", "-o", "x.npz")
    assert code == 2 and "give --demo, or --model" in err


def test_version_and_help(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and "0.1.0" in out
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for cmd in ("view", "record", "print", "check", "predict", "train"):
        assert cmd in out


def test_real_process_exit_code_and_no_traceback(tmp_path):
    """Through the console entry point, as a user runs it."""
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    r = subprocess.run([sys.executable, "-m", "lstm_tui", "print", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr == f"lstm-tui: error: {bad}: not a trace file (not a NumPy .npz archive)\n"
    r = subprocess.run([sys.executable, "-m", "lstm_tui", "--debug", "print", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_view_options_without_the_view_command(capsys, tmp_path, monkeypatch):
    """`lstm-tui --no-model [TRACE]` is `lstm-tui view --no-model [TRACE]`."""
    code, _, err = run(capsys, "--no-model", str(tmp_path / "missing.npz"))
    assert code == 2 and err == f"lstm-tui: error: {tmp_path / 'missing.npz'}: no such file\n"
    opened = []
    import lstm_tui.tui.app as tui_app

    class FakeApp:
        def run(self):
            opened.append("ran")

    monkeypatch.setattr(tui_app, "make_app", lambda trace, **kw: opened.append((trace.source, kw)) or FakeApp())
    code, _, _ = run(capsys, "--no-model")
    assert code == 0
    assert opened[0][0] == "keras: next_letter.keras on the alphabet"
    assert opened[0][1]["load_model"] is False and opened[1] == "ran"
