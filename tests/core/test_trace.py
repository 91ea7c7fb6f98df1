"""Trace files v1: round trips, memory mapping, atomic saves, and every kind
of bad input ending in one TraceError that names the file and the member."""

from __future__ import annotations

import json
import mmap
import os
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from bad_traces import BAD, bad_flipped, members_of, write_npz
from conftest import random_trace

from lstm_tui.core import trace as trace_mod
from lstm_tui.core.trace import ALIGN, Trace, TraceError, load, save


@pytest.fixture
def good(tmp_path) -> Path:
    return save(random_trace(layers=2, readout=True), tmp_path / "good.npz")


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_round_trip(tmp_path, dtype):
    tr = random_trace(layers=2, dtype=np.float64, readout=True)
    for layer in tr.layers:
        for v in ("x", "f", "i", "c_hat", "c", "o", "h"):
            setattr(layer, v, layer.vector(v).astype(dtype))
    tr.meta["model"] = "m.keras"
    tr.layers[1].info["verified_max_abs_error"] = 1.5e-7
    path = save(tr, tmp_path / "t.npz")
    back = load(path)
    assert back.steps == 5 and len(back.layers) == 2
    for a, b in zip(tr.layers, back.layers):
        for v in ("x", "f", "i", "c_hat", "c", "o", "h", "h0", "c0"):
            np.testing.assert_array_equal(a.vector(v) if v not in ("h0", "c0") else getattr(a, v),
                                          getattr(b, v))
        assert b.vector("f").dtype == dtype
        for g in "fico":
            np.testing.assert_array_equal(a.cell.W[g], b.cell.W[g])
            np.testing.assert_array_equal(a.cell.U[g], b.cell.U[g])
            np.testing.assert_array_equal(a.cell.b[g], b.cell.b[g])
    assert list(back.tokens) == [f"w{t}" for t in range(5)]
    np.testing.assert_array_equal(back.probs, tr.probs)
    assert list(back.vocab) == ["a", "b", "c"]
    assert back.meta == {"model": "m.keras"}
    assert back.layers[1].info == {"verified_max_abs_error": 1.5e-7}
    assert back.source == "test" and back.created == tr.created
    assert back.path == path


def test_plain_numpy_reads_it_and_meta_is_json(good):
    z = members_of(good)
    meta = json.loads(str(z["meta"][()]))
    assert meta["format"] == "lstm-trace" and meta["version"] == 1
    assert meta["layers"][0] == {"name": "lstm_0", "units": 4, "input_dim": 3, "activation": "tanh",
                                 "recurrent_activation": "sigmoid", "reversed": False}
    assert z["layer1/x"].shape == (5, 4) and z["layer0/W_f"].shape == (4, 3)
    assert z["readout/probs"].shape == (5, 3)


def test_members_are_stored_aligned_and_memory_mapped(good):
    with zipfile.ZipFile(good) as zf:
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
    raw = good.read_bytes()
    back = load(good)
    f = back.layers[0].f
    owner = f
    while isinstance(owner, np.ndarray):
        owner = owner.base
    owner = owner.obj if isinstance(owner, memoryview) else owner
    assert isinstance(owner, mmap.mmap)  # a view of the mapped file, nothing read
    assert not f.flags.writeable and not f.flags.owndata
    assert f.ctypes.data % ALIGN == 0
    # the bytes at the aligned offsets are the array's
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("layer0/f.npy")
    assert info.header_offset < len(raw)


def test_compressed_archives_load(tmp_path, good):
    z = members_of(good)
    comp = tmp_path / "comp.npz"
    np.savez_compressed(comp, **z)
    back = load(comp)
    np.testing.assert_array_equal(back.layers[1].h, z["layer1/h"])
    assert back.layers[0].cell is not None


def test_np_savez_written_traces_load(tmp_path, good):
    z = members_of(good)
    plain = tmp_path / "plain.npz"
    np.savez(plain, **z)  # unaligned members: still mapped
    back = load(plain)
    np.testing.assert_array_equal(back.layers[0].c, z["layer0/c"])


def test_optional_members_absent(tmp_path, good):
    z = members_of(good)
    keep = {k: v for k, v in z.items() if not k.startswith(("layer0/W", "layer0/U", "layer0/b_", "tokens",
                                                            "readout", "layer0/h0", "layer0/c0"))}
    back = load(write_npz(tmp_path / "min.npz", keep))
    assert back.layers[0].cell is None and back.tokens is None and back.probs is None
    np.testing.assert_array_equal(back.layers[0].h0, np.zeros(4))


def test_biases_optional_when_weights_present(tmp_path, good):
    z = {k: v for k, v in members_of(good).items() if not k.startswith("layer0/b_")}
    back = load(write_npz(tmp_path / "nobias.npz", z))
    np.testing.assert_array_equal(back.layers[0].cell.b["f"], np.zeros(4))


def test_nan_and_inf_values_load(tmp_path):
    tr = random_trace()
    tr.layers[0].c[2, 1] = np.nan
    tr.layers[0].h[3, 0] = np.inf
    back = load(save(tr, tmp_path / "nan.npz"))
    assert np.isnan(back.layers[0].c[2, 1]) and np.isposinf(back.layers[0].h[3, 0])


# ---------------------------------------------------------------- atomic save


def test_interrupted_save_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = save(random_trace(seed=1), tmp_path / "t.npz")
    before = path.read_bytes()

    def boom(fp, members):
        fp.write(b"PK\x03\x04 half a trace")
        raise KeyboardInterrupt

    monkeypatch.setattr(trace_mod, "_write_zip", boom)
    with pytest.raises(KeyboardInterrupt):
        save(random_trace(seed=2), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.npz"]


def test_save_refuses_an_invalid_trace(tmp_path):
    tr = random_trace()
    tr.layers[0].f = tr.layers[0].f[:3]
    with pytest.raises(TraceError, match="layer0/f"):
        save(tr, tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()


# ---------------------------------------------------------------- bad input
# Each case: the Python API raises TraceError naming the file; the CLI cases
# live in test_cli.py and reuse these builders.




@pytest.mark.parametrize("make", BAD, ids=[f.__name__[4:] for f in BAD])
def test_bad_input_raises_trace_error(tmp_path, good, make):
    path, why = make(tmp_path, good)
    with pytest.raises(TraceError) as info:
        load(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: ")
    assert why in msg
    assert "\n" not in msg


def test_flipped_byte_in_a_large_file_is_caught_by_checksums(tmp_path, good):
    path, _ = bad_flipped(tmp_path, good)
    load(path, verify=False)  # mapped without reading through
    assert trace_mod.verify_checksums(path) == "layer0/h.npy"
    assert trace_mod.verify_checksums(good) is None


def test_unexpected_and_stray_members(tmp_path, good):
    z = members_of(good)
    with pytest.raises(TraceError, match="unexpected member 'evil.npy'"):
        load(write_npz(tmp_path / "a.npz", {**z, "evil": np.zeros(2)}))
    with pytest.raises(TraceError, match="'layer5/x' belongs to no layer"):
        load(write_npz(tmp_path / "b.npz", {**z, "layer5/x": np.zeros((5, 2))}))


def test_meta_problems(tmp_path, good):
    z = members_of(good)
    meta = json.loads(str(z["meta"][()]))
    for change, why in [
        (lambda m: m.update(format="other"), "format is 'other'"),
        (lambda m: m.update(layers=[]), "'layers' must be a non-empty list"),
        (lambda m: m["layers"][0].pop("units"), "layers[0] lacks 'units'"),
        (lambda m: m["layers"][0].update(activation="bogus"), "'bogus' is not a known activation"),
        (lambda m: m["layers"][1].update(reversed="yes"), "layers[1].reversed is 'yes'"),
    ]:
        m = json.loads(json.dumps(meta))
        change(m)
        bad = write_npz(tmp_path / "m.npz", {**z, "meta": np.array(json.dumps(m))})
        with pytest.raises(TraceError, match=why.replace("[", r"\[").replace("]", r"\]")):
            load(bad)
    bad = write_npz(tmp_path / "j.npz", {**z, "meta": np.array("{not json")})
    with pytest.raises(TraceError, match="'meta' is not valid JSON"):
        load(bad)


def test_zip_bomb_member_is_refused_before_inflating(tmp_path, good):
    p = write_npz(tmp_path / "bomb.npz", members_of(good), compress=True)
    raw = bytearray(p.read_bytes())
    # the central directory entry of tokens.npy: claim it inflates to 4 GiB
    entry = raw.rindex(b"tokens.npy") - 46
    assert raw[entry:entry + 4] == b"PK\x01\x02"
    raw[entry + 24:entry + 28] = (0xFFFFFFF0).to_bytes(4, "little")
    p.write_bytes(bytes(raw))
    with pytest.raises(TraceError, match="would inflate to 4.0 GiB"):
        load(p)


def test_trace_error_has_path_and_reason():
    e = TraceError("x.npz", "bad")
    assert str(e) == "x.npz: bad" and e.path == "x.npz" and e.why == "bad"


def test_layer_helpers():
    tr = random_trace(T=4)
    layer = tr.layers[0]
    assert layer.position(1) == 1
    layer.reversed = True
    assert layer.position(1) == 2
    assert tr.token(3) == "w3"
    with pytest.raises(KeyError):
        layer.vector("zz")
    assert isinstance(tr, Trace)


def test_layers_without_units_and_nul_paths_are_refused(tmp_path, good):
    z = members_of(good)
    meta = json.loads(str(z["meta"][()]))
    meta["layers"][0]["units"] = 0
    bad = write_npz(tmp_path / "zero.npz", {**z, "meta": np.array(json.dumps(meta))})
    with pytest.raises(TraceError, match=r"layers\[0\].units is 0; a layer needs at least 1"):
        load(bad)
    with pytest.raises(TraceError, match="not a valid file name"):
        load("bad\0name.npz")
    tr = random_trace()
    tr.layers[0].x = tr.layers[0].x[:, :0]
    with pytest.raises(TraceError, match="a layer needs at least 1 of each"):
        save(tr, tmp_path / "nodims.npz")


# ---------------------------------------------------------------- special files


def test_only_regular_files_are_opened(tmp_path):
    """A FIFO would block the open for ever: it is refused without being
    opened, and so are devices, sockets and directories."""
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    cases = {fifo: "not a regular file (a FIFO), so not a trace file",
             Path("/dev/null"): "not a regular file (a character device), so not a trace file",
             tmp_path: "is a directory, not a trace file"}
    done = threading.Event()
    errors = {}

    def run():
        for path in cases:
            try:
                load(path)
            except TraceError as e:
                errors[path] = str(e)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(10), "loading a FIFO blocked"
    for path, why in cases.items():
        assert errors[path] == f"{path}: {why}"


def test_require_regular_file_and_open_regular_file(tmp_path, good):
    assert trace_mod.require_regular_file(good).st_size == good.stat().st_size
    link = tmp_path / "link.npz"
    link.symlink_to(good)
    assert trace_mod.require_regular_file(link).st_ino == good.stat().st_ino  # a link to one counts
    with trace_mod.open_regular_file(good) as fh:
        assert fh.read(4) == b"PK\x03\x04"
    fifo = tmp_path / "in.npy"
    os.mkfifo(fifo)
    with pytest.raises(TraceError, match=r"in.npy: not a regular file \(a FIFO\), so not a NumPy file"):
        trace_mod.require_regular_file(fifo, "NumPy file")
    with pytest.raises(TraceError, match="no such file"):
        trace_mod.open_regular_file(tmp_path / "nope")
    with pytest.raises(TraceError, match="not a valid file name"):
        trace_mod.require_regular_file("a\0b")


# ---------------------------------------------------------------- the file changes underneath


def test_changed_on_disk(tmp_path):
    path = save(random_trace(seed=1), tmp_path / "t.npz")
    size = path.stat().st_size
    tr = load(path)
    assert tr.changed_on_disk() is None
    assert tr.stamp[0] == size
    assert random_trace().changed_on_disk() is None  # not from a file

    # replaced by a rename (as save does): the old mapping stays readable
    save(random_trace(seed=2), path)
    assert tr.changed_on_disk() == "the file was replaced by another file"
    assert np.isfinite(tr.layers[0].h).all()

    tr = load(path)
    with open(path, "ab") as fp:
        fp.write(b"more")
    assert tr.changed_on_disk() == "the file was rewritten"

    tr = load(path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert tr.changed_on_disk() == "the file was rewritten"

    tr = load(path)
    now = path.stat().st_size
    os.truncate(path, 100)
    assert tr.changed_on_disk() == f"the file was truncated from {now} to 100 bytes"  # (and nothing read now)

    save(random_trace(seed=3), path)
    tr = load(path)
    path.unlink()
    assert tr.changed_on_disk() == "the file was removed or renamed"


def test_truncation_is_seen_on_the_mapped_file_even_after_a_rename(tmp_path):
    path = save(random_trace(), tmp_path / "t.npz")
    tr = load(path)
    moved = tmp_path / "moved.npz"
    path.rename(moved)
    size = moved.stat().st_size
    os.truncate(moved, 64)
    assert tr.changed_on_disk() == f"the file was truncated from {size} to 64 bytes"


def test_compressed_traces_see_changes_too(tmp_path, good):
    path = write_npz(tmp_path / "z.npz", members_of(good), compress=True)
    tr = load(path)
    assert tr.changed_on_disk() is None
    os.truncate(path, 10)
    assert tr.changed_on_disk().startswith("the file was truncated from")
    assert np.isfinite(tr.layers[0].h).all()  # read into memory: still safe


SIGBUS_CHILD = """
import os, sys
from lstm_tui.core.trace import load
tr = load(sys.argv[1])
h = tr.layers[-1].h
os.truncate(sys.argv[1], 4096)
print(tr.changed_on_disk(), flush=True)
print(float(h[-1, -1]), flush=True)  # a page past the new end
"""


def test_reading_a_truncated_mapping_is_fatal_which_is_why_callers_check(tmp_path):
    """What the module's docstring says: no Python code survives the read."""
    path = save(random_trace(T=3000, H=64), tmp_path / "t.npz")
    size = path.stat().st_size
    child = subprocess.run([sys.executable, "-c", SIGBUS_CHILD, str(path)], capture_output=True, text=True,
                           timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert child.stdout.splitlines() == [f"the file was truncated from {size} to 4096 bytes"]
    assert child.returncode == -signal.SIGBUS


# ---------------------------------------------------------------- hostile strings


def with_bad_code_point(strings, k: int, code: int) -> np.ndarray:
    a = np.array(strings)
    a.view(np.uint32).reshape(len(a), -1)[k, 0] = code
    return a


@pytest.mark.parametrize("member, code, why", [
    ("tokens", 0xFFFFFFFF, "member 'tokens': string 2 has an invalid character (code point 0xffffffff, "
                           "beyond U+10FFFF) at offset 0"),
    ("tokens", 0x110000, "string 2 has an invalid character (code point 0x110000, beyond U+10FFFF)"),
    ("tokens", 0xD800, "string 2 has an invalid character (code point 0xd800, a lone surrogate)"),
    ("tokens", 0xDFFF, "(code point 0xdfff, a lone surrogate)"),
    ("readout/vocab", 0xDC80, "member 'readout/vocab': string 2 has an invalid character (code point 0xdc80"),
])
def test_strings_python_cannot_print_are_refused(tmp_path, good, member, code, why):
    z = members_of(good)
    z[member] = with_bad_code_point([str(s) for s in z[member]], 2, code)
    with pytest.raises(TraceError) as e:
        load(write_npz(tmp_path / "s.npz", z))
    assert why in str(e.value)
    str(e.value).encode("ascii")  # printable anywhere


def test_the_largest_valid_code_points_load(tmp_path, good):
    z = members_of(good)
    z["tokens"] = np.array(["\U0010FFFF", "\uD7FF", "\uE000", "a\x00b", ""])
    assert [str(t) for t in load(write_npz(tmp_path / "ok.npz", z)).tokens] == \
        ["\U0010FFFF", "\uD7FF", "\uE000", "a\x00b", ""]


def test_a_bad_code_point_in_the_meta_string_itself(tmp_path, good):
    z = members_of(good)
    meta = np.array(str(z["meta"][()]))
    meta.reshape(1).view(np.uint32)[5] = 0xFFFFFFFF
    with pytest.raises(TraceError, match=r"member 'meta': the string has an invalid character \(code point "
                                         r"0xffffffff, beyond U\+10FFFF\) at offset 5"):
        load(write_npz(tmp_path / "m.npz", {**z, "meta": meta}))


def test_save_refuses_strings_it_could_not_read_back(tmp_path):
    tr = random_trace()
    tr.tokens = with_bad_code_point(["a", "b", "c", "d", "e"], 1, 0xD900)
    with pytest.raises(TraceError, match="member 'tokens': string 1 has an invalid character"):
        save(tr, tmp_path / "t.npz")
    tr = random_trace()
    tr.layers[0].name = "\udc80"
    with pytest.raises(TraceError, match=r"meta.layers\[0\].name: a string holds a lone surrogate \(U\+DC80\)"):
        save(tr, tmp_path / "t.npz")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- meta abuse


def meta_text(good) -> str:
    return str(members_of(good)["meta"][()])


@pytest.mark.parametrize("case, why", [
    ("surrogate_name", r"meta.layers\[0\].name: a string holds a lone surrogate \(U\+DC80\) at character 2"),
    ("surrogate_key", r"meta.layers\[1\]: a string holds a lone surrogate \(U\+D83D\)"),
    ("surrogate_extra", r"meta.notes\[1\].by: a string holds a lone surrogate"),
    ("long_int", r"meta: an integer with 100000 digits \(at most 100\)"),
    ("long_negative_int", "meta: an integer with 5000 digits"),
    ("deep", "member 'meta' nests deeper than 32 levels"),
    ("deep_but_parsable", r"meta.deep\[0\]\[0\].*: meta nests deeper than 32 levels"),
    ("huge", "member 'meta' is 2097"),
    ("long_format", r"meta: format is 'x{30,}\.\.\.x{10,}', expected 'lstm-trace'$"),
])
def test_meta_abuse_is_one_line(tmp_path, good, case, why):
    text = meta_text(good)
    body = text[:-1]
    new = {
        "surrogate_name": lambda: text.replace('"lstm_0"', '"ls\\udc80m_0"'),
        "surrogate_key": lambda: text.replace('"units"', '"\\ud83d"', 2).replace('"\\ud83d"', '"units"', 1),
        "surrogate_extra": lambda: body + ', "notes": [1, {"by": "a\\udfff"}]}',
        "long_int": lambda: body + ', "n": ' + "9" * 100_000 + "}",
        "long_negative_int": lambda: body + ', "n": -' + "9" * 5000 + "}",
        "deep": lambda: body + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "deep_but_parsable": lambda: body + ', "deep": ' + "[" * 500 + "]" * 500 + "}",
        "huge": lambda: body + ', "n": "' + "a" * (2 << 20) + '"}',
        "long_format": lambda: text.replace('"lstm-trace"', '"' + "x" * 100_000 + '"'),
    }[case]()
    z = members_of(good)
    z["meta"] = np.array(new)
    path = write_npz(tmp_path / "m.npz", z)
    with pytest.raises(TraceError, match=why) as e:
        load(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg and len(msg) < 400
    msg.encode("ascii")  # printable anywhere


def test_meta_within_the_limits_loads(tmp_path, good):
    body = meta_text(good)[:-1]
    z = members_of(good)
    z["meta"] = np.array(body + ', "n": ' + "9" * 100 + ', "nest": ' + "[" * 30 + "]" * 30
                         + ', "emoji": "\\ud83d\\ude00"}')
    tr = load(write_npz(tmp_path / "ok.npz", z))
    assert tr.meta["n"] == int("9" * 100) and tr.meta["emoji"] == "\U0001F600"


def test_in_memory_load_reads_instead_of_mapping(tmp_path, good):
    """``load(..., in_memory=True)``: the same trace, no mapping, and a file
    truncated afterwards cannot touch it (a mapped one would die reading)."""
    mapped = load(good)
    copy = load(good, in_memory=True)
    assert mapped.mapped and not copy.mapped
    for a, b in zip(mapped.layers, copy.layers):
        for v in ("x", "f", "i", "c_hat", "c", "o", "h"):
            np.testing.assert_array_equal(a.vector(v), b.vector(v))
            assert b.vector(v).base is not None and not isinstance(b.vector(v).base, mmap.mmap)
    np.testing.assert_array_equal(mapped.probs, copy.probs)
    before = np.array(copy.layers[1].h)
    del mapped
    os.truncate(good, os.path.getsize(good) // 2)
    assert copy.changed_on_disk().startswith("the file was truncated")
    np.testing.assert_array_equal(copy.layers[1].h, before)  # still readable, unchanged
    with pytest.raises(TraceError):
        load(good, in_memory=True)


def test_in_memory_read_of_a_file_that_shrinks_meanwhile_is_an_error(tmp_path, good, monkeypatch):
    real = os.preadv

    def short(fd, buffers, offset):  # the file ends under the reader
        return 0 if offset > 1000 else real(fd, buffers, offset)
    monkeypatch.setattr(os, "preadv", short)
    with pytest.raises(TraceError, match="the file ended while it was read"):
        load(good, in_memory=True)
