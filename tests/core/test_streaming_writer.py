"""Recording at scale without Keras: a pass run chunk by chunk, the trace
writer that fills a file member by member, the progress bar and the
verification report."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import random_cell, random_trace

from lstm_tui.core import lstm
from lstm_tui.core.bounds import rounding_bounds
from lstm_tui.core.lstm import Pass, forward
from lstm_tui.core.progress import Progress, ProgressBar
from lstm_tui.core.trace import MemoryTraceWriter, TraceError, load, save, write_trace
from lstm_tui.core.verification import verification, verification_lines

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ("x", "f", "i", "c_hat", "c", "o", "h")


def chunks(run: Pass, n: int) -> list[lstm.Recording]:
    out = []
    while run.t < run.steps:
        out.append(run.run(n))
    return out


@pytest.mark.parametrize("act", [("tanh", "sigmoid"), ("relu", "hard_sigmoid"), ("tanh", "softmax")])
@pytest.mark.parametrize("n", [1, 7, 64, 100, 999])
def test_a_pass_in_chunks_is_the_whole_pass_bit_for_bit(monkeypatch, act, n):
    """Blocks of the input projection smaller than the sequence (64 rows
    here), chunks that do not line up with them, a mask: the same numbers."""
    H, D, T = 16, 5, 300
    monkeypatch.setattr(lstm, "PROJECTION_BYTES", 64 * 4 * H * 4)
    assert lstm.projection_rows(4 * H, np.float32) == 64
    rng = np.random.default_rng(1)
    cell = random_cell(rng, H, D, np.float32)
    cell = lstm.LSTMCell(cell.W, cell.U, cell.b, activation=act[0], recurrent_activation=act[1])
    x = rng.normal(size=(T, D)).astype(np.float32)
    mask = rng.random(T) > 0.3
    h0, c0 = rng.normal(size=H).astype(np.float32), rng.normal(size=H).astype(np.float32)
    whole = forward(cell, x, h0=h0, c0=c0, mask=mask)
    parts = chunks(Pass(cell, x, h0=h0, c0=c0, mask=mask), n)
    assert sum(len(p.h) for p in parts) == T
    for v in VECTORS:
        np.testing.assert_array_equal(np.concatenate([getattr(p, v) for p in parts]), getattr(whole, v))
    # Each chunk starts from the state the one before ended in.
    for before, after in zip(parts, parts[1:]):
        np.testing.assert_array_equal(after.h0, before.h[-1])
        np.testing.assert_array_equal(after.c0, before.c[-1])
    np.testing.assert_array_equal(parts[0].h0, h0)


def test_a_chunk_bound_grows_with_its_place_in_the_pass():
    """A free-running bound of steps a … b-1 of a chunk that starts at step
    s is the whole layer's bound of steps s+a … s+b-1."""
    trace = random_trace(T=40, H=4, D=3)
    layer = trace.layers[0]
    whole = rounding_bounds(layer, 10, 30, free_running=True)
    rec = forward(layer.cell, layer.x[10:30], h0=layer.h[9], c0=layer.c[9])
    chunk = type(layer).from_recording(rec, name="l", cell=layer.cell)
    part = rounding_bounds(chunk, 0, 20, free_running=True, start=10)
    np.testing.assert_array_equal(part["h"], whole["h"])
    np.testing.assert_array_equal(part["c"], whole["c"])


# -------------------------------------------------------------- the writer


def streamed(trace, path: Path, rows: int = 3, overwrite: bool = True) -> Path:
    """``trace`` written through ``TraceWriter``, (T, ·) members a few rows
    at a time, interleaved as a recording writes them."""
    members = dict(trace.members())
    meta = trace.meta_dict()

    def fill(w):
        long = [n for n, a in members.items() if n != "meta" and a.ndim == 2]
        for n, a in members.items():
            if n != "meta" and n not in long:
                w.put(n, a)
        for n in long:
            w.reserve(n, members[n].shape, members[n].dtype)
        for a in range(0, trace.steps, rows):
            for n in long:
                w.append(n, members[n][a : a + rows])
        w.finish(meta)

    return write_trace(path, fill, overwrite=overwrite)


def test_a_streamed_file_is_what_save_writes(tmp_path):
    trace = random_trace(T=50, layers=2, readout=True, dtype=np.float32)
    trace.readout_W = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    trace.readout_b = np.zeros(3, np.float32)
    a, b = save(trace, tmp_path / "a.npz"), streamed(trace, tmp_path / "b.npz")
    with np.load(a, allow_pickle=False) as za, np.load(b, allow_pickle=False) as zb:
        assert sorted(za.files) == sorted(zb.files)
        assert "readout/W" in zb.files and "readout/b" in zb.files
        for name in za.files:
            if name != "meta":
                np.testing.assert_array_equal(za[name], zb[name])
                assert za[name].dtype == zb[name].dtype
    assert zipfile.ZipFile(b).testzip() is None  # every CRC-32 right
    for in_memory in (False, True):
        got = load(b, verify=True, in_memory=in_memory)
        assert got.mapped is not in_memory
        assert got.meta_dict() == trace.meta_dict()
        for la, lb in zip(trace.layers, got.layers):
            for v in VECTORS:
                np.testing.assert_array_equal(lb.vector(v), la.vector(v))
        np.testing.assert_array_equal(got.readout_W, trace.readout_W)
        np.testing.assert_array_equal(got.probs, trace.probs)
    # Mapped members start on 64-byte boundaries, as save() puts them.
    mapped = load(b)
    for layer in mapped.layers:
        for v in VECTORS:
            assert layer.vector(v).ctypes.data % 64 == 0


def test_the_memory_writer_builds_the_same_trace():
    trace = random_trace(T=20, readout=True)
    w = MemoryTraceWriter()
    for name, a in trace.members():
        if name != "meta":
            w.put(name, a)
    w.finish(trace.meta_dict())
    assert w.trace is not None and w.trace.meta_dict() == trace.meta_dict()
    np.testing.assert_array_equal(w.trace.layers[0].h, trace.layers[0].h)


def test_an_incomplete_or_invalid_stream_writes_nothing(tmp_path):
    target = tmp_path / "run.npz"
    save(random_trace(seed=4), target)
    before = target.read_bytes()
    trace = random_trace(T=10)

    def incomplete(w):
        w.reserve("layer0/h", (10, 4), np.float64)
        w.append("layer0/h", trace.layers[0].h[:5])
        w.finish(trace.meta_dict())

    with pytest.raises(TraceError, match=r"member 'layer0/h' is incomplete \(160 of 320 bytes"):
        write_trace(target, incomplete)
    with pytest.raises(TraceError, match="member 'layer0/x' is missing"):
        write_trace(target, lambda w: w.finish(trace.meta_dict()))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]


def test_an_exception_mid_recording_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "run.npz"
    save(random_trace(seed=5), target)
    before = target.read_bytes()

    def fails(w):
        w.reserve("layer0/h", (1000, 64), np.float32)
        w.append("layer0/h", np.ones((500, 64), np.float32))
        raise RuntimeError("the model failed half way")

    with pytest.raises(RuntimeError, match="half way"):
        write_trace(target, fails)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]


# A child that streams a big trace and SIGKILLs itself half way through the
# rows of a member: argv target.
STREAMER = """
import os, signal, sys
import numpy as np
from lstm_tui.core.trace import write_trace

def fill(w):
    w.reserve("layer0/h", (20000, 512), np.float32)
    for a in range(0, 20000, 1000):
        if a == 10000:
            os.kill(os.getpid(), signal.SIGKILL)
        w.append("layer0/h", np.full((1000, 512), a, np.float32))

write_trace(sys.argv[1], fill)
print("not killed", flush=True)
"""


@pytest.mark.parametrize("existing", [True, False])
def test_a_killed_stream_leaves_the_old_file_or_none(tmp_path, existing):
    target = tmp_path / "run.npz"
    if existing:
        old = random_trace(seed=6)
        save(old, target)
        before = target.read_bytes()
    child = subprocess.run([sys.executable, "-c", STREAMER, str(target)], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    if existing:
        assert target.read_bytes() == before
        np.testing.assert_array_equal(load(target).layers[0].h, old.layers[0].h)
    else:
        assert not target.exists()
    # Nothing else: an unnamed temporary file vanished with the process, a
    # named one (no O_TMPFILE here) is ours and removed by the next save.
    save(random_trace(), tmp_path / "other.npz")
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("run.npz", "other.npz")]
    assert leftovers == [] or all(n.endswith(".lstm-tui.tmp") for n in leftovers)


# ----------------------------------------------------------- progress bar


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bar_draws_on_a_terminal_at_most_ten_times_a_second_and_clears():
    stream, clock = Tty(), Clock()
    bar = ProgressBar(stream, width=80, clock=clock)
    with bar:
        bar(Progress("capture", 0, 0, "", 0, 60000))
        assert stream.getvalue() == "\rrunning the model in Keras on 60,000 steps …\x1b[K"
        bar(Progress("record", 0, 2, "lstm\x1b]0;x\x07", 0, 60000))
        assert stream.getvalue().count("\r") == 1  # within 0.1 s of the last draw: skipped
        clock.now += 2.0
        bar(Progress("record", 0, 2, "lstm\x1b]0;x\x07", 20000, 60000))
        line = stream.getvalue().rsplit("\r", 1)[1]
        # the name's escape sequence is shown, not sent; 10 000 steps a second, 4 s left
        assert line.startswith("layer 1/2 lstm\\x1b]0;x\\x07 [")
        assert line.endswith("] 20k/60k steps 10k/s ETA 0:04\x1b[K")
        assert len(line) - len("\x1b[K") <= 79
        clock.now += 0.01
        bar(Progress("record", 0, 2, "lstm", 60000, 60000))  # the end of a layer is always drawn
        assert stream.getvalue().rsplit("\r", 1)[1].startswith("layer 1/2 lstm [" + "#" * 10)
    assert stream.getvalue().endswith("\r\x1b[K")  # cleared


def test_the_bar_is_silent_off_a_terminal_or_when_disabled():
    for stream, enabled in ((io.StringIO(), None), (Tty(), False)):
        with ProgressBar(stream, enabled=enabled) as bar:
            bar(Progress("record", 0, 1, "lstm", 5, 10))
            bar(Progress("record", 0, 1, "lstm", 10, 10))
        assert stream.getvalue() == ""


# ------------------------------------------------------ verification report


def test_the_report_says_how_each_layer_was_verified():
    trace = random_trace(layers=2, readout=True)
    trace.layers[0].info.update(verified_by="sequence", verified_max_abs_error=2.4e-7,
                                verified_bound_ratio=0.018, step_max_abs_error=3e-8, step_bound_ratio=0.1)
    trace.layers[1].info.update(verified_by="step", verified_max_abs_error=1e-6, verified_bound_ratio=0.5,
                                sequence_max_abs_error=0.25)
    trace.layers[1].reversed = True
    trace.meta.update(readout="dense", readout_verified_max_abs_error=3e-8, readout_verified_bound_ratio=0.03)
    report = verification(trace)
    assert report["layers"][0] == {"layer": 0, "name": "lstm_0", "units": 4, "reversed": False,
                                   "verified_by": "sequence", "max_abs_error": 2.4e-7, "bound_ratio": 0.018,
                                   "step_max_abs_error": 3e-8, "step_bound_ratio": 0.1}
    assert report["layers"][1]["verified_by"] == "step"
    assert report["layers"][1]["sequence_max_abs_error"] == 0.25
    assert report["readout"] == {"name": "dense", "verified": True, "max_abs_error": 3e-8, "bound_ratio": 0.03}
    assert verification_lines(report) == [
        "layer 0 lstm_0 (4 units): verified as a sequence, largest difference 2.4e-07 "
        "(0.018 of the rounding bound); step by step, largest difference 3e-08 (0.1 of the rounding bound)",
        "layer 1 lstm_1 (4 units, reversed): verified step by step, largest difference 1e-06 "
        "(0.5 of the rounding bound); as a sequence it drifted by 0.25, beyond what rounding allows a whole pass",
        "readout dense: verified, largest difference 3e-08 (0.03 of the rounding bound)",
    ]
    plain = random_trace()
    assert verification_lines(verification(plain)) == ["layer 0 lstm_0 (4 units): not verified against Keras"]
