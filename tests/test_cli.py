"""The command line: exit codes 0/1/2, one-line errors, no tracebacks."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from bad_traces import BAD
from conftest import random_trace

from lstm_tui.cli import main
from lstm_tui.core.trace import load, save

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
    assert code == 0 and "of the rounding bound)" in out
    assert out.splitlines()[-1] == "ok: every step follows from the stored weights"


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
        return_code = 0

        def run(self):
            opened.append("ran")

    monkeypatch.setattr(tui_app, "make_app", lambda trace, **kw: opened.append((trace.source, kw)) or FakeApp())
    code, _, _ = run(capsys, "--no-model")
    assert code == 0
    assert opened[0][0] == "keras: next_letter.keras on 'def'"
    assert opened[0][1]["load_model"] is False and opened[1] == "ran"


# --------------------------------------------------------------------------
# --debug anywhere; usage errors as one line
# --------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["--debug", "print", "{missing}"],
    ["print", "--debug", "{missing}"],
    ["print", "{missing}", "--debug"],
])
def test_debug_is_honoured_anywhere_on_the_line(tmp_path, args):
    missing = str(tmp_path / "x.npz")
    argv = [a.format(missing=missing) for a in args]
    r = subprocess.run([sys.executable, "-m", "lstm_tui", *argv], capture_output=True, text=True)
    # --debug shows the traceback of the real error (no such file), not a
    # complaint about --debug itself.
    assert r.returncode != 0
    assert "Traceback" in r.stderr and r.stderr.rstrip().endswith(f"TraceError: {missing}: no such file")
    r = subprocess.run([sys.executable, "-m", "lstm_tui", "print", missing], capture_output=True, text=True)
    assert (r.returncode, r.stderr) == (2, f"lstm-tui: error: {missing}: no such file\n")


def test_debug_after_double_dash_is_an_argument(capsys, good):
    # `find T -- COND`: after `--` the word is the condition, not the flag.
    code, _, err = run(capsys, "find", str(good), "--", "--debug")
    assert code == 2 and err.startswith("lstm-tui: error: condition: ") and err.count("\n") == 1


@pytest.mark.parametrize("args,message", [
    (["print"], "print: missing argument 'TRACE'"),
    (["print", "--bogus", "x.npz"], "print: no such option '--bogus'"),
    (["print", "--layer", "one", "x.npz"], "print: invalid value for '--layer': 'one' is not a valid integer"),
    (["predict", "abc", "--top", "0"], "predict: invalid value for '--top': 0 is not in the range x>=1"),
    (["--bogus"], "view: no such option '--bogus'"),
])
def test_usage_errors_are_one_line_naming_the_command(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert (code, out, err) == (2, "", f"lstm-tui: error: {message}\n")


def test_usage_error_with_debug_after_the_command_shows_the_traceback_only_then(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lstm_tui", "print", "--bogus", "x.npz"],
                       capture_output=True, text=True)
    assert (r.returncode, r.stderr) == (2, "lstm-tui: error: print: no such option '--bogus'\n")
    r = subprocess.run([sys.executable, "-m", "lstm_tui", "print", "--bogus", "x.npz", "--debug"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" in r.stderr and "NoSuchOption" in r.stderr


# --------------------------------------------------------------------------
# A mistyped command is not a trace path
# --------------------------------------------------------------------------


@pytest.mark.parametrize("args,message", [
    (["prnt", "d.npz"], "prnt: unknown command (did you mean 'print'?)"),
    (["prnt"], "prnt: unknown command (did you mean 'print'?)"),
    (["Predict", "def"], "Predict: unknown command (did you mean 'predict'?)"),
    (["veiw", "--no-model"], "veiw: unknown command (did you mean 'view'?)"),
    (["--debug", "chek", "x.npz"], None),
])
def test_unknown_command_suggests_the_closest(capsys, args, message):
    if message is None:  # with --debug the same failure, as a traceback
        with pytest.raises(Exception, match=r"chek: unknown command \(did you mean 'check'\?\)"):
            main(args)
        return
    code, out, err = run(capsys, *args)
    assert (code, out, err) == (2, "", f"lstm-tui: error: {message}\n")


def test_unknown_command_without_a_close_one_lists_the_commands(capsys):
    code, _, err = run(capsys, "zzzz")
    assert code == 2
    assert err.startswith("lstm-tui: error: zzzz: unknown command, and no such file (commands: check, ")
    assert err.count("\n") == 1 and "print" in err and "view" in err


@pytest.mark.parametrize("word", ["missing.npz", "RUN.NPZ", "runs/missing", "runs/prnt"])
def test_a_word_spelt_like_a_path_is_a_missing_file(capsys, tmp_path, monkeypatch, word):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, word)
    assert (code, err) == (2, f"lstm-tui: error: {word}: no such file\n")


def test_an_existing_file_named_like_a_command_typo_opens_the_viewer(capsys, tmp_path, monkeypatch):
    """`lstm-tui prnt` opens a trace file named prnt when there is one."""
    monkeypatch.chdir(tmp_path)
    save(random_trace(readout=True), tmp_path / "prnt.npz")
    (tmp_path / "prnt.npz").rename(tmp_path / "prnt")
    opened = []
    import lstm_tui.tui.app as tui_app

    class FakeApp:
        return_code = 0

        def run(self):
            opened.append("ran")

    monkeypatch.setattr(tui_app, "make_app", lambda trace, **kw: opened.append(trace.path.name) or FakeApp())
    code, _, err = run(capsys, "prnt")
    assert (code, err) == (0, "")
    assert opened == ["prnt", "ran"]


# --------------------------------------------------------------------------
# predict: capitals read as letters; anything else refused before the model loads
# --------------------------------------------------------------------------


class FakePredictor:
    asked: list[str] = []

    @classmethod
    def load(cls, path=None):
        return cls()

    def top(self, text, k=5):
        FakePredictor.asked.append(text)
        return [("g", 0.9055), ("f", 0.0391)][:k]


def test_predict_reads_capitals_as_small_letters(capsys, monkeypatch):
    import lstm_tui.keras as kb

    monkeypatch.setattr(kb, "Predictor", FakePredictor)
    FakePredictor.asked = []
    code, out, err = run(capsys, "predict", "DeF", "--top", "2")
    assert (code, out, err) == (0, "g 0.9055\nf 0.0391\n", "")
    assert FakePredictor.asked == ["def"]


@pytest.mark.parametrize("text,message", [
    ("de1", "text 'de1': '1' (position 3) is not a letter a–z"),
    ("dé", "text 'dé': 'é' (position 2) is not a letter a–z"),
    ("d e", "text 'd e': ' ' (position 2) is not a letter a–z"),
    ("ab\x1b", "text 'ab\\x1b': '\\x1b' (position 3) is not a letter a–z"),
    ("", "text: empty; type at least one letter"),
])
def test_predict_refuses_other_characters_in_one_line(capsys, monkeypatch, text, message):
    import lstm_tui.keras as kb

    monkeypatch.setattr(kb, "Predictor", None)  # the model is never reached
    code, out, err = run(capsys, "predict", text)
    assert (code, out, err) == (2, "", f"lstm-tui: error: {message}\n")


def test_predict_with_a_missing_model_file(capsys, tmp_path):
    code, _, err = run(capsys, "predict", "abc", "--model", str(tmp_path / "nope.keras"))
    assert (code, err) == (2, f"lstm-tui: error: {tmp_path / 'nope.keras'}: no such model file\n")


PREDICT_CHILD = textwrap.dedent(
    """
    import json, sys
    from lstm_tui.cli import main
    try:
        main(sys.argv[1:])
    except SystemExit as e:
        code = e.code
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
    print(json.dumps({"code": code, "heavy": heavy}))
    """
)


@pytest.mark.parametrize("args", [["predict", "de1"], ["predict", ""], ["predict", "abc", "--model", "nope.keras"]])
def test_predict_refuses_before_loading_tensorflow(args):
    r = subprocess.run([sys.executable, "-c", PREDICT_CHILD, *args], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result == {"code": 2, "heavy": []}
    assert r.stderr.startswith("lstm-tui: error: ") and r.stderr.count("\n") == 1


# --------------------------------------------------------------------------
# record: inputs that are not one .npy array of numbers, outputs that fail
# --------------------------------------------------------------------------


def _record_input(capsys, path) -> tuple[int, str]:
    code, out, err = run(capsys, "record", "--model", "m.keras", "--input", str(path), "-o",
                         str(Path(path).parent / "out.npz"))
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    return code, err


def test_record_input_that_is_not_npy(capsys, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    code, err = _record_input(capsys, notes)
    assert code == 2
    assert err == (f"lstm-tui: error: {notes}: not a .npy file (it does not start with NumPy's .npy "
                   "header; save the array with numpy.save)\n")
    assert "pickle" not in err


@pytest.mark.parametrize("make,why", [
    (lambda p: p.write_bytes(b""), "not a .npy file (it does not start with NumPy's .npy header"),
    (lambda p: np.savez(p.open("wb"), a=np.zeros(3)),
     "expected one .npy array, found an archive (.npz); save one array with numpy.save"),
    (lambda p: np.save(p, np.array([{}, None], dtype=object)),
     "holds Python objects, not numbers (lstm-tui never unpickles)"),
    (lambda p: np.save(p, np.array(["d", "e"])), "holds <U1 values, not numbers (features or integer ids)"),
    (lambda p: p.write_bytes(b"\x93NUMPY\x01\x00garbage"), "not a readable .npy array ("),
    (lambda p: None, "no such file"),
])
def test_record_input_errors_say_what_the_file_is(capsys, tmp_path, make, why):
    path = tmp_path / "x.npy"
    make(path)
    code, err = _record_input(capsys, path)
    assert code == 2 and err.startswith(f"lstm-tui: error: {path}: {why}")


def test_record_that_cannot_write_its_output_is_one_line(capsys, tmp_path, monkeypatch):
    from lstm_tui.core import trace as trace_module
    from lstm_tui.core.trace import Trace

    def refuse(self, path, overwrite=True):
        # What trace.save makes of a full disk (tests/test_atomic_writes.py).
        raise trace_module.TraceError(path, f"cannot write the trace ({__import__('os').strerror(errno.ENOSPC)})")

    monkeypatch.setattr(Trace, "save", refuse)
    out_path = tmp_path / "demo.npz"
    code, out, err = run(capsys, "record", "--demo", "-o", str(out_path))
    assert (code, out, err) == (2, "", f"lstm-tui: error: {out_path}: cannot write the trace "
                                       "(No space left on device)\n")


def test_train_refuses_a_non_keras_output_before_drawing_progress(capsys, tmp_path):
    code, out, err = run(capsys, "train", "-o", str(tmp_path / "m.h5"))
    assert (code, out, err) == (2, "", f"lstm-tui: error: {tmp_path / 'm.h5'}: a model file must end in .keras\n")


# --------------------------------------------------------------------------
# What reaches the terminal: text, never an escape sequence
# --------------------------------------------------------------------------


def test_names_from_a_trace_are_printed_with_control_characters_escaped(capsys, tmp_path):
    tr = random_trace()
    tr.layers[0].name = "\x1b]0;PWNED\x07\x1b[2J\u202e"
    code, out, _ = run(capsys, "print", str(save(tr, tmp_path / "evil.npz")), "--step", "0")
    assert code == 0
    assert "--- layer 0: \\x1b]0;PWNED\\x07\\x1b[2J\\u202e (4 units) ---" in out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out


def test_paths_in_error_lines_are_escaped(capsys, tmp_path):
    code, _, err = run(capsys, "print", str(tmp_path / "a\x1b]0;X\x07.npz"))
    assert code == 2
    assert err == f"lstm-tui: error: {tmp_path}/a\\x1b]0;X\\x07.npz: no such file\n"


def test_a_stdout_that_cannot_encode_the_notebooks_letters(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lstm_tui", "print", str(ROOT / "traces" / "seed_demo.npz"),
                        "--step", "0"], capture_output=True, text=True, encoding="latin-1",
                       env={**__import__("os").environ, "PYTHONIOENCODING": "latin-1"})
    assert r.returncode == 0 and r.stderr == ""
    assert "\\u0109_t (candidate): [" in r.stdout


def test_a_closed_pipe_ends_quietly(tmp_path):
    long = save(random_trace(T=3000), tmp_path / "long.npz")  # far more than a pipe buffer
    r = subprocess.run(f"{sys.executable} -m lstm_tui print {long} | head -1; exit ${{PIPESTATUS[0]}}",
                       shell=True, capture_output=True, text=True, executable="/bin/bash")
    assert (r.returncode, r.stdout, r.stderr) == (0, "=== Start of the simulation ===\n", "")


def test_npy_input_whose_header_claims_more_than_the_file_holds(capsys, tmp_path):
    """A 1 KB .npy claiming (10¹⁰, 26) floats is refused before NumPy
    allocates a terabyte."""
    path = tmp_path / "huge.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10**10, 26)})
        f.write(b"\0" * 1024)
    code, _, err = run(capsys, "record", "--model", "m.keras", "--input", str(path), "-o", str(tmp_path / "o.npz"))
    assert code == 2
    assert err == (f"lstm-tui: error: {path}: its header claims a float32 array of shape (10000000000, 26) "
                   "(1,040,000,000,000 bytes), but the file holds 1,024\n")


def test_fifos_are_refused_not_waited_on(capsys, tmp_path):
    fifo = tmp_path / "f.npy"
    __import__("os").mkfifo(fifo)
    code, _, err = run(capsys, "record", "--model", "m.keras", "--input", str(fifo), "-o", str(tmp_path / "o.npz"))
    assert (code, err) == (2, f"lstm-tui: error: {fifo}: not a regular file (a FIFO), so not a NumPy .npy file\n")
    model = tmp_path / "m.keras"
    __import__("os").mkfifo(model)
    code, _, err = run(capsys, "predict", "def", "--model", str(model))
    assert (code, err) == (2, f"lstm-tui: error: {model}: not a regular file (a FIFO), so not a Keras model file\n")


def test_print_a_readout_row_with_no_number(capsys, tmp_path):
    tr = random_trace(readout=True)
    tr.probs[2] = np.nan
    tr.vocab = None
    code, out, _ = run(capsys, "print", str(save(tr, tmp_path / "nan.npz")), "--step", "2")
    assert code == 0 and "argmax: no number" in out
    code, out, _ = run(capsys, "print", str(tmp_path / "nan.npz"), "--step", "1")
    assert code == 0 and f"argmax {int(np.argmax(tr.probs[1]))} {tr.probs[1].max():.4f}" in out


def test_record_without_force_never_replaces_a_file_that_appears_meanwhile(capsys, tmp_path, monkeypatch):
    """The check that the output does not exist and the write are not one
    step: a file created in between (another recording to the same name) is
    not replaced."""
    import lstm_tui.cli as cli_module

    target = tmp_path / "same.npz"
    real = cli_module._check_output

    def check_then_race(path, force):
        out = real(path, force)
        target.write_bytes(b"the other recording")
        return out
    monkeypatch.setattr(cli_module, "_check_output", check_then_race)
    code, _, err = run(capsys, "record", "--demo", "-o", str(target))
    assert code == 2 and err.startswith(f"lstm-tui: error: {target}: exists already")
    assert target.read_bytes() == b"the other recording"


# -- the screen's language: --lang, else the locale ---------------------------------------

LOCALE = ("LC_ALL", "LC_MESSAGES", "LANG")


@pytest.mark.parametrize(("flag", "env", "lang"), [
    ("en", {"LANG": "pt_BR.UTF-8"}, "en"),  # the flag beats the locale
    ("en", {"LC_ALL": "pt_PT.UTF-8"}, "en"),
    ("pt", {"LANG": "en_US.UTF-8"}, "pt"),
    (None, {"LC_ALL": "pt_PT.UTF-8"}, "pt"),  # no flag: the locale decides
    (None, {"LC_ALL": "pt_PT.UTF-8", "LANG": "en_US.UTF-8"}, "pt"),
    (None, {"LANG": "en_US.UTF-8"}, "en"),
    (None, {}, "en"),
])
def test_the_screen_commands_choose_the_language(monkeypatch, flag, env, lang):
    from lstm_tui.cli import _use_language
    from lstm_tui.tui.catalogue import language

    for var in LOCALE:
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    _use_language(flag)
    assert language() == lang
