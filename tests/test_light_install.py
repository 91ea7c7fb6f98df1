"""The light install: ``pip install lstm-tui`` without the ``keras`` extra.

Each command runs in a child interpreter where TensorFlow and Keras cannot
be imported (``no_tensorflow``). Replaying and analysing traces, and
next-letter queries of the shipped model, work; what needs TensorFlow says
so in one line, with the pip command that adds it, and exits 2 before doing
any work.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from no_tensorflow import ROOT, run_cli, run_code

BUNDLED = str(ROOT / "lstm_tui" / "traces" / "next_letter.npz")
NEEDS = "needs TensorFlow, which is not installed; add it with: pip install 'lstm-tui[keras]'"


def test_the_child_cannot_import_tensorflow():
    r = run_code("from lstm_tui.keras import tensorflow_available\n"
                 "print(tensorflow_available())\n"
                 "import tensorflow\n")
    assert r.stdout == "False\n"
    assert "ModuleNotFoundError: No module named 'tensorflow'" in r.stderr


@pytest.mark.parametrize("args,what", [
    (["record", "--model", "MODEL", "--text", "def", "-o", "OUT"], "record --model"),
    (["record", "--model", "MODEL", "--input", "X", "-o", "OUT"], "record --model"),
    (["train", "-o", "OUT"], "train"),
], ids=["record --text", "record --input", "train"])
def test_what_needs_tensorflow_says_which_pip_command_adds_it(tmp_path, args, what):
    model = ROOT / "lstm_tui" / "models" / "next_letter.keras"
    x = tmp_path / "x.npy"
    np.save(x, np.eye(26, dtype=np.float32)[:3])
    out = tmp_path / ("m.keras" if args[0] == "train" else "out.npz")
    args = [{"MODEL": str(model), "X": str(x), "OUT": str(out)}.get(a, a) for a in args]
    code, stdout, stderr, heavy = run_cli(*args)
    assert (code, stdout, stderr) == (2, "", f"lstm-tui: error: {what}: {NEEDS}\n")
    assert heavy == [] and not out.exists()


def test_record_demo_needs_no_tensorflow(tmp_path):
    out = tmp_path / "demo.npz"
    code, _, stderr, heavy = run_cli("record", "--demo", "-o", str(out))
    assert code == 0, stderr
    assert out.exists() and heavy == []


def test_predict_reads_the_shipped_model_without_tensorflow():
    code, stdout, stderr, heavy = run_cli("predict", "def", "--top", "3")
    assert (code, stderr, heavy) == (0, "", [])
    lines = stdout.splitlines()
    assert len(lines) == 3 and lines[0] == "g 0.9055"


def test_a_model_only_keras_can_load_says_which_pip_command_adds_it(tmp_path):
    src = zipfile.ZipFile(ROOT / "lstm_tui" / "models" / "next_letter.keras")
    path = tmp_path / "functional.keras"
    with zipfile.ZipFile(path, "w") as zf:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "config.json":
                config = json.loads(data)
                config["class_name"] = "Functional"
                data = json.dumps(config).encode()
            zf.writestr(info.filename, data)
    code, stdout, stderr, heavy = run_cli("predict", "def", "--model", str(path))
    assert (code, stdout, heavy) == (2, "", [])
    assert stderr == (f"lstm-tui: error: {path}: a Functional model; only Sequential models are read without "
                      "TensorFlow; loading it through Keras needs TensorFlow: pip install 'lstm-tui[keras]'\n")


@pytest.mark.parametrize("args", [
    ["print", BUNDLED, "--step", "2"],
    ["check", BUNDLED],
    ["health", BUNDLED],
    ["find", BUNDLED, "f[0] > 0.5"],
    ["diff", BUNDLED, BUNDLED],
], ids=lambda a: a[0])
def test_replay_and_analysis_need_no_tensorflow(args):
    code, stdout, stderr, heavy = run_cli(*args)
    assert code == 0, stderr
    assert stdout and heavy == []


def test_the_panel_says_a_model_needs_tensorflow_in_the_screens_language():
    from lstm_tui.keras import NeedsTensorFlow
    from lstm_tui.tui import catalogue
    from lstm_tui.tui.model_panel import _error_line

    e = NeedsTensorFlow("m.keras: a Functional model", "pip install 'lstm-tui[keras]'")
    assert _error_line(e) == str(e) == ("m.keras: a Functional model; loading it through Keras needs TensorFlow: "
                                        "pip install 'lstm-tui[keras]'")
    catalogue.set_language("pt")
    try:
        assert _error_line(e) == ("m.keras: a Functional model; carregá-lo pelo Keras precisa do TensorFlow: "
                                  "pip install 'lstm-tui[keras]'")
    finally:
        catalogue.set_language("en")
