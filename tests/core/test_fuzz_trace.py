"""Hostile trace files: random bytes, truncation at every offset, byte flips
across the whole file, lying members, bombs. Every case must end in a
TraceError (or, for a flip in a byte that carries no meaning, in the very
same trace), within a second, allocating no more than the file's size plus a
small bound. The number of cases each test ran is printed at the end of the
test session."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import FUZZ_CASES, random_trace
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_tui.core import trace as trace_mod
from lstm_tui.core.trace import TraceError, load, save

ROOT = Path(__file__).resolve().parents[2]
ALLOC_SLACK = 1 << 20  # 1 MiB beyond the file's size
FUZZ = settings(max_examples=300, deadline=1000, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> tuple[Path, bytes]:
    # two layers, weights, tokens and a readout: every kind of member, kept
    # small so that every offset can be tried
    path = save(random_trace(T=2, H=3, D=2, layers=2, readout=True), tmp_path_factory.mktemp("v") / "v.npz")
    return path, path.read_bytes()


def same(a, b) -> bool:
    if len(a.layers) != len(b.layers) or a.meta != b.meta or a.source != b.source:
        return False
    for la, lb in zip(a.layers, b.layers):
        for v in ("x", "f", "i", "c_hat", "c", "o", "h", "h0", "c0"):
            if not np.array_equal(getattr(la, v), getattr(lb, v), equal_nan=True):
                return False
    return True


def load_bounded(path: Path):
    """Load ``path`` and assert the allocation bound; returns the trace or the
    TraceError."""
    size = path.stat().st_size
    tracemalloc.start()
    try:
        try:
            result = load(path)
        except TraceError as e:
            result = e
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= size + ALLOC_SLACK, f"{path.name}: allocated {peak} bytes for a {size}-byte file"
    return result


def count(name: str) -> None:
    FUZZ_CASES[name] = FUZZ_CASES.get(name, 0) + 1


@FUZZ
@given(data=st.binary(max_size=4096), prefix=st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY"]))
def test_random_bytes(tmp_path, data, prefix):
    p = tmp_path / "r.npz"
    p.write_bytes(prefix + data)
    assert isinstance(load_bounded(p), TraceError)
    count("random bytes")


def test_truncated_at_every_offset(tmp_path, valid):
    path, raw = valid
    p = tmp_path / "t.npz"
    for n in range(len(raw)):
        p.write_bytes(raw[:n])
        try:
            load(p)
        except TraceError as e:
            assert str(e).startswith(f"{p}: ")
        else:
            pytest.fail(f"a trace truncated to {n} of {len(raw)} bytes loaded")
        count("truncated at every offset")


def test_single_byte_flips_across_the_whole_file(tmp_path, valid):
    path, raw = valid
    original = load(path)
    p = tmp_path / "f.npz"
    harmless = 0
    # every third offset over the whole file, with three different masks so
    # that every byte position class meets every mask
    for off in range(0, len(raw), 3):
        flipped = bytearray(raw)
        flipped[off] ^= (0xFF, 0x01, 0x80)[off // 3 % 3]
        p.write_bytes(bytes(flipped))
        try:
            back = load(p)
        except TraceError:
            pass
        else:
            # a byte without meaning for the data (a timestamp, padding, a
            # local copy of the name): the trace must be exactly the same
            assert same(back, original), f"flip at {off} changed the trace without an error"
            harmless += 1
        count("byte flips")
    FUZZ_CASES["byte flips that changed nothing (padding, timestamps)"] = harmless


def members_of(raw: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def rezip(members: list[tuple[str, bytes]], compress: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


@pytest.mark.filterwarnings("ignore:Duplicate name")
@FUZZ
@given(op=st.sampled_from(["drop", "duplicate", "rename", "swap"]), k=st.integers(0, 200),
       j=st.integers(0, 200), name=st.sampled_from(["layer0/zz.npy", "layer9/x.npy", "x.npy", "../evil.npy",
                                                      "layer0/f", "meta.npy", "layer1/h.npy"]))
def test_members_renamed_dropped_duplicated(tmp_path, valid, op, k, j, name):
    _, raw = valid
    members = members_of(raw)
    k %= len(members)
    j %= len(members)
    if op == "drop":
        if members[k][0] in {"tokens.npy", "readout/probs.npy", "readout/vocab.npy"} or \
                members[k][0].split("/")[-1][:2] in ("W_", "U_", "b_", "h0", "c0"):
            return  # optional members: their absence is legal
        del members[k]
    elif op == "duplicate":
        members.append(members[k])
    elif op == "rename":
        if any(n == name for n, _ in members):
            return
        members[k] = (name, members[k][1])
    else:
        if members[k][1] == members[j][1] or k == j:
            return
        members[k], members[j] = (members[k][0], members[j][1]), (members[j][0], members[k][1])
    p = tmp_path / "m.npz"
    p.write_bytes(rezip(members))
    result = load_bounded(p)
    if op == "swap" and not isinstance(result, TraceError):
        # two members of the same shape and dtype swapped: still a valid file
        assert result.layers[0].units == 3
    else:
        assert isinstance(result, TraceError), (op, k, name)
    count("members renamed/dropped/duplicated/swapped")


def npy_header(descr: str, shape: tuple, fortran: bool = False) -> bytes:
    d = {"descr": descr, "fortran_order": fortran, "shape": shape}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, d)
    return buf.getvalue()


@FUZZ
@given(descr=st.sampled_from(["<f8", "<f4", "<f2", "<i8", "|b1", "<U3", "|O", "<c16", "|V8",
                              "[('a', '<f8')]", ">f8"]),
       shape=st.lists(st.sampled_from([0, 1, 3, 6, 2**31, 2**40, 10**15]), min_size=0, max_size=3),
       member=st.sampled_from(["layer0/f.npy", "layer1/x.npy", "tokens.npy", "meta.npy", "layer0/W_f.npy",
                               "readout/probs.npy"]))
def test_lying_dtypes_and_shapes(tmp_path, valid, descr, shape, member):
    _, raw = valid
    members = dict(members_of(raw))
    body = members[member]
    header_end = body.index(b"\n") + 1
    try:
        header = npy_header(descr if not descr.startswith("[") else eval(descr), tuple(shape))  # noqa: S307 test data
    except (ValueError, TypeError):
        return
    members[member] = header + body[header_end:]
    p = tmp_path / "l.npz"
    p.write_bytes(rezip(list(members.items())))
    result = load_bounded(p)
    if not isinstance(result, TraceError):
        # the lie happened to be the truth (same dtype and shape)
        orig = np.lib.format.read_array(io.BytesIO(body))
        assert np.dtype(descr) == orig.dtype and tuple(shape) == orig.shape
    count("lying dtypes and shapes")


def test_object_arrays_are_never_unpickled(tmp_path, valid):
    _, raw = valid
    members = dict(members_of(raw))
    evil = io.BytesIO()

    class Boom:
        def __reduce__(self):
            return (pytest.fail, ("unpickled!",))

    np.lib.format.write_array(evil, np.array([Boom()] * 6, dtype=object), allow_pickle=True)
    for name in ("tokens.npy", "layer0/f.npy", "meta.npy"):
        m = dict(members)
        m[name] = evil.getvalue()
        p = tmp_path / "o.npz"
        p.write_bytes(rezip(list(m.items())))
        with pytest.raises(TraceError, match="holds Python objects"):
            load(p)
        count("object arrays")


def test_nested_archive_member(tmp_path, valid):
    path, raw = valid
    members = dict(members_of(raw))
    members["layer0/x.npy"] = raw  # a whole archive where an array belongs
    p = tmp_path / "n.npz"
    p.write_bytes(rezip(list(members.items())))
    with pytest.raises(TraceError, match="'layer0/x': unreadable array header"):
        load(p)
    count("nested archives")


def test_compressed_member_that_inflates_to_gigabytes(tmp_path, valid):
    """A real bomb: 1 GiB of zeros deflated to about 1 MiB."""
    _, raw = valid
    members = members_of(raw)
    p = tmp_path / "bomb.npz"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            if name != "layer0/f.npy":
                zf.writestr(name, data)
        with zf.open("layer0/f.npy", "w", force_zip64=True) as out:
            out.write(npy_header("<f8", (2**27,)))
            chunk = bytes(1 << 22)
            for _ in range(256):
                out.write(chunk)
    assert p.stat().st_size < 8 << 20
    result = load_bounded(p)
    assert isinstance(result, TraceError) and "would inflate to 1.0 GiB" in str(result)
    count("compressed bombs")


def test_compressed_member_that_lies_about_its_size(tmp_path, valid):
    """The central directory says 48 bytes; the stream inflates to 64 MiB."""
    _, raw = valid
    members = dict(members_of(raw))
    good = members["layer0/f.npy"]
    p = tmp_path / "liar.npz"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            if name != "layer0/f.npy":
                zf.writestr(name, data)
        zf.writestr("layer0/f.npy", good + bytes(64 << 20))
    data = bytearray(p.read_bytes())
    entry = data.rindex(b"layer0/f.npy") - 46
    assert data[entry:entry + 4] == b"PK\x01\x02"
    data[entry + 24:entry + 28] = len(good).to_bytes(4, "little")
    p.write_bytes(bytes(data))
    result = load_bounded(p)
    assert isinstance(result, TraceError) and "layer0/f" in str(result)
    count("compressed liars")


# ---------------------------------------------------------------- hostile strings


@FUZZ
@given(member=st.sampled_from(["tokens.npy", "readout/vocab.npy"]), k=st.integers(0, 4), at=st.integers(0, 2),
       code=st.one_of(st.integers(0, 2**32 - 1), st.sampled_from([0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0x10FFFF,
                                                                  0x110000, 0xFFFFFFFF, 0xD7FF, 0xE000])))
def test_every_code_point_in_every_string_member(tmp_path, valid, member, k, at, code):
    """Whatever code point a string member holds, loading either refuses it
    naming the member and the string, or gives strings Python can print."""
    _, raw = valid
    members = dict(members_of(raw))
    strings = np.lib.format.read_array(io.BytesIO(members[member]))
    wide = strings.astype("<U3")
    k %= len(wide)
    wide.view(np.uint32).reshape(len(wide), 3)[k, at] = code
    buf = io.BytesIO()
    np.lib.format.write_array(buf, wide)
    members[member] = buf.getvalue()
    p = tmp_path / "s.npz"
    p.write_bytes(rezip(list(members.items())))
    result = load_bounded(p)
    bad = code > 0x10FFFF or 0xD800 <= code <= 0xDFFF
    if bad:
        assert isinstance(result, TraceError)
        assert f"member {member[:-4]!r}: string {k} has an invalid character (code point {code:#x}" in str(result)
        str(result).encode("ascii")
    else:
        assert not isinstance(result, TraceError), result
        for s in [*result.tokens, *result.vocab]:
            str(s).encode("utf-8")  # printable: no SystemError, no surrogate
    count("code points in string members")


def test_a_long_tokens_member_is_checked_in_bounded_memory(tmp_path, monkeypatch):
    """A bad character at the very end of 400 000 tokens is found, a block at
    a time: the check allocates a small fraction of the member's size."""
    monkeypatch.setattr(trace_mod, "TEXT_BLOCK_CHARS", 1 << 14)
    T = 400_000
    tr = random_trace(T=T, H=1, D=1, dtype=np.float16, tokens=False)
    tr.tokens = np.array(["abcd"]).repeat(T)  # 6.4 MB of tokens
    p = save(tr, tmp_path / "long.npz")
    assert load(p, verify=False).tokens.shape == (T,)
    members = dict(members_of(p.read_bytes()))
    tokens = np.lib.format.read_array(io.BytesIO(members["tokens.npy"]))
    tokens.view(np.uint32)[-1] = 0xDC00
    buf = io.BytesIO()
    np.lib.format.write_array(buf, tokens)
    members["tokens.npy"] = buf.getvalue()
    p.write_bytes(rezip(list(members.items())))
    tracemalloc.start()
    try:
        with pytest.raises(TraceError, match=f"string {T - 1} has an invalid character"):
            load(p, verify=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak
    count("long string members")


# ---------------------------------------------------------------- members sharing bytes


def central_entries(raw: bytes) -> list[int]:
    """Offsets of the central directory's entries, in order."""
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        at = zf.start_dir
        out = []
        for _ in zf.infolist():
            assert raw[at:at + 4] == b"PK\x01\x02"
            out.append(at)
            n, m, k = (int.from_bytes(raw[at + o:at + o + 2], "little") for o in (28, 30, 32))
            at += 46 + n + m + k
    return out


def test_two_entries_aimed_at_one_local_header_are_refused(tmp_path, valid):
    """Every pair of members: the second's directory entry pointed at the
    first's local header."""
    _, raw = valid
    entries = central_entries(raw)
    p = tmp_path / "alias.npz"
    for i, a in enumerate(entries):
        for j, b in enumerate(entries):
            if i == j:
                continue
            data = bytearray(raw)
            data[b + 42:b + 46] = raw[a + 42:a + 46]
            p.write_bytes(bytes(data))
            with pytest.raises(TraceError, match="point at the same local header") as e:
                load(p)
            assert "CRC" not in str(e.value)
            count("directory entries aliasing a local header")


@FUZZ
@given(j=st.integers(0, 200), offset=st.integers(0, 2**32 - 1) | st.integers(0, 4096))
def test_directory_entries_aimed_anywhere(tmp_path, valid, j, offset):
    """A directory entry pointed at any offset: refused, or (its own offset)
    the same trace."""
    path, raw = valid
    entries = central_entries(raw)
    b = entries[j % len(entries)]
    data = bytearray(raw)
    same_offset = raw[b + 42:b + 46] == offset.to_bytes(4, "little")
    data[b + 42:b + 46] = offset.to_bytes(4, "little")
    p = tmp_path / "aim.npz"
    p.write_bytes(bytes(data))
    result = load_bounded(p)
    if same_offset:
        assert same(result, load(path))
    else:
        assert isinstance(result, TraceError)
    count("directory entries aimed anywhere")
