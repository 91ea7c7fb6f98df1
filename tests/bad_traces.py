"""Trace files that must not load, each with the words its error must
contain: shared by the trace reader's tests and the command line's (which
must turn each into one line and exit 2)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np


def members_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def write_npz(path: Path, members: dict[str, np.ndarray], compress: bool = False, pickle: bool = False) -> Path:
    """An .npz written member by member, as another framework might."""
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=mode) as zf:
        for name, a in members.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(a), allow_pickle=pickle)
            zf.writestr(name + ".npy", buf.getvalue())
    return path


def bad_empty(tmp_path, good):
    p = tmp_path / "empty.npz"
    p.write_bytes(b"")
    return p, "empty file"


def bad_random(tmp_path, good):
    p = tmp_path / "random.npz"
    p.write_bytes(np.random.default_rng(0).bytes(4096))
    return p, "not a trace file"


def bad_truncated(tmp_path, good):
    p = tmp_path / "truncated.npz"
    p.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return p, "not a trace file"


def bad_flipped(tmp_path, good):
    raw = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("layer0/h.npy")
    raw[info.header_offset + 30 + len(info.filename) + len(info.extra) + 128 + 9] ^= 0x40
    p = tmp_path / "flipped.npz"
    p.write_bytes(bytes(raw))
    return p, "'layer0/h' fails its CRC-32 checksum"


def bad_pickle(tmp_path, good):
    z = members_of(good)
    z["tokens"] = np.array([object(), "a", "b", "c", "d"], dtype=object)
    return write_npz(tmp_path / "pickle.npz", z, pickle=True), "'tokens' holds Python objects"


def bad_missing(tmp_path, good):
    z = {k: v for k, v in members_of(good).items() if k != "layer1/c_hat"}
    return write_npz(tmp_path / "missing.npz", z), "'layer1/c_hat' is missing"


def bad_shapes(tmp_path, good):
    z = members_of(good)
    z["layer0/o"] = z["layer0/o"][:4]
    return write_npz(tmp_path / "shapes.npz", z), "'layer0/o' has shape (4, 4), expected (5, 4)"


def bad_dtype(tmp_path, good):
    z = members_of(good)
    z["layer0/f"] = (z["layer0/f"] * 100).astype(np.int32)
    return write_npz(tmp_path / "dtype.npz", z), "'layer0/f' has dtype int32, expected float"


def bad_huge_shape(tmp_path, good):
    raw = bytearray(good.read_bytes())
    needle = b"'shape': (5, 4)"
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("layer0/i.npy")
    start = raw.index(needle, info.header_offset)
    fake = b"'shape': (5000000000000, 4)"
    # same length header: replace the padding spaces after the dict
    end = raw.index(b"\n", start)
    header = bytes(raw[start:end]).replace(needle, fake)
    header = header[: end - start - len(header)] if len(header) > end - start else header
    raw[start:end] = header.ljust(end - start, b" ")[: end - start]
    p = tmp_path / "huge.npz"
    p.write_bytes(bytes(raw))
    return p, "'layer0/i' declares shape (5000000000000, 4)"


def bad_version(tmp_path, good):
    z = members_of(good)
    meta = json.loads(str(z["meta"][()]))
    meta["version"] = 7
    z["meta"] = np.array(json.dumps(meta))
    return write_npz(tmp_path / "version.npz", z), "unsupported trace format version 7"


def bad_nonexistent(tmp_path, good):
    return tmp_path / "nope.npz", "no such file"


BAD = [bad_empty, bad_random, bad_truncated, bad_flipped, bad_pickle, bad_missing, bad_shapes,
       bad_dtype, bad_huge_shape, bad_version, bad_nonexistent]
