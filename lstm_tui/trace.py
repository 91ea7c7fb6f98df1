"""The Trace model and trace files (format version 1).

A trace is a NumPy ``.npz`` archive that plain ``numpy.load(path,
allow_pickle=False)`` can read, so any framework can write one. Members:

========================  ==============  =====================================
member                    shape           meaning
========================  ==============  =====================================
meta                      () str          JSON: format, version, source,
                                          created, layers[...]
tokens                    (T,) str        optional label per input position
layer{k}/x                (T, D) float    input of layer k at step t
layer{k}/f i c_hat o      (T, H) float    the gates at step t
layer{k}/c h              (T, H) float    cell and hidden state after step t
layer{k}/h0 c0            (H,) float      optional state before step 0
layer{k}/mask             (T,) bool       optional; false = step skipped
layer{k}/W_g U_g b_g      (H,D) (H,H) (H,)  optional weights, g in f i c o
readout/probs             (T, V) float    optional output head at every step
readout/vocab             (V,) str        optional label of each output
========================  ==============  =====================================

Why memory-mapping: the writer stores members uncompressed and 64-byte
aligned, so the reader maps each member straight from the file instead of
reading it. Opening a 1 GiB trace then costs a few page faults, and stepping
to t touches only row t. Compressed archives load too, read fully.

A trace file is untrusted data: loading never unpickles, validates every
member's name, dtype and shape against the header and the file's size before
allocating anything, and raises ``TraceError`` naming the file and member.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

import io
import json
import mmap
import os
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .lstm import ACTIVATIONS, GATES, VECTORS, Explanation, LSTMCell, Recording, explain

FORMAT = "lstm-trace"
VERSION = 1

#: Zip members are padded so that each array's data starts at a multiple of
#: this many bytes (NumPy pads its own .npy header to 64 as well).
ALIGN = 64
# An extra-field id for the padding, the one Android's zipalign uses: readers
# skip extra fields they do not know.
_PAD_ID = 0xD935
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
# Deflate cannot expand more than about 1032:1; a member claiming more lies.
_MAX_DEFLATE_RATIO = 1100
#: Compressed members are inflated into memory. Real traces compress 1–5×;
#: a file whose members would inflate beyond this many times its own size
#: (plus INFLATE_SLACK) is a zip bomb or not worth the memory, and is refused
#: before anything is inflated.
INFLATE_FACTOR = 8
INFLATE_SLACK = 32 * 1024 * 1024


def release_pages(view: np.ndarray) -> None:
    """Hand back the pages of a memory-mapped trace under ``view`` once a
    full pass has read them (``MADV_DONTNEED``; the file is read-only, so
    nothing is lost: a later read maps them again from the page cache).

    Without it, a scan of every value (health, scales) leaves the whole file
    in the process's resident set: a gigabyte for a long trace. A no-op for
    arrays that are not views of a mapped trace, and where the platform has
    no ``madvise``."""
    base: Any = view
    while isinstance(base, np.ndarray):
        base = base.base
    mm = base.obj if isinstance(base, memoryview) else base
    if not isinstance(mm, mmap.mmap) or not hasattr(mmap, "MADV_DONTNEED") or view.size == 0:
        return
    try:
        start = np.frombuffer(mm, np.uint8, count=1).ctypes.data
        lo, hi = np.lib.array_utils.byte_bounds(view)
        # Whole 2 MiB blocks: a kernel with large folios maps up to that much
        # around each page read, and dropping a mapping of a read-only file
        # that is still wanted costs only a minor fault later.
        page = max(mmap.PAGESIZE, 2 << 20)
        lo = (lo - start) // page * page
        hi = min(len(mm), -(-(hi - start) // page) * page)
        if hi > lo >= 0:
            mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
    except (ValueError, OSError):
        pass  # a closed map, or a kernel that refuses: only memory is at stake


class TraceError(Exception):
    """A trace that cannot be read or written; ``str()`` is one line that
    names the file and says why."""

    def __init__(self, path: str | os.PathLike | None, why: str):
        self.path = None if path is None else str(path)
        self.why = why
        super().__init__(f"{self.path}: {why}" if self.path else why)


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------


@dataclass(eq=False)
class Layer(Recording):
    """One LSTM layer of a trace: its recording plus what the file says of it.

    ``reversed`` layers ran backwards: step t read input position T-1-t.
    ``cell`` holds the weights when the trace has them. ``info`` keeps the
    layer's other metadata (``verified_max_abs_error`` and the like).
    """

    name: str = "lstm"
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    reversed: bool = False
    cell: LSTMCell | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_recording(
        cls, rec: Recording, name: str, cell: LSTMCell | None = None, **kw: Any
    ) -> Layer:
        if cell is not None:
            kw.setdefault("activation", cell.activation)
            kw.setdefault("recurrent_activation", cell.recurrent_activation)
        return cls(x=rec.x, f=rec.f, i=rec.i, c_hat=rec.c_hat, c=rec.c, o=rec.o,
                   h=rec.h, h0=rec.h0, c0=rec.c0, mask=rec.mask, name=name,
                   cell=cell, **kw)

    @property
    def steps(self) -> int:
        return int(self.h.shape[0])

    @property
    def units(self) -> int:
        return int(self.h.shape[1])

    @property
    def input_dim(self) -> int:
        return int(self.x.shape[1])

    def vector(self, name: str) -> np.ndarray:
        """The (T, ·) array of vector ``name`` (one of ``VECTORS``)."""
        if name not in VECTORS:
            raise KeyError(name)
        return getattr(self, name)

    def position(self, t: int) -> int:
        """The input position step ``t`` read (T-1-t for a reversed layer)."""
        return self.steps - 1 - t if self.reversed else t

    def explain(self, t: int, unit: int) -> Explanation:
        return explain(self, t, unit, cell=self.cell, activation_name=self.activation)

    def describe(self) -> dict[str, Any]:
        """The layer's entry in ``meta["layers"]``."""
        return {
            **self.info,
            "name": self.name,
            "units": self.units,
            "input_dim": self.input_dim,
            "activation": self.activation,
            "recurrent_activation": self.recurrent_activation,
            "reversed": bool(self.reversed),
        }


@dataclass(eq=False)
class Trace:
    """A recorded forward pass: one or more LSTM layers over the same T steps,
    optional tokens (one per input position) and an optional readout."""

    layers: list[Layer]
    tokens: np.ndarray | None = None
    probs: np.ndarray | None = None
    vocab: np.ndarray | None = None
    source: str = ""
    created: str = ""
    meta: dict[str, Any] = field(default_factory=dict)  # any other keys
    path: Path | None = None

    def __post_init__(self) -> None:
        if not self.created:
            self.created = datetime.now(timezone.utc).isoformat(timespec="seconds")

    @property
    def steps(self) -> int:
        return self.layers[0].steps

    def token(self, position: int) -> str | None:
        """The token at input position ``position``, if the trace has tokens."""
        if self.tokens is None:
            return None
        return str(self.tokens[position])

    def meta_dict(self) -> dict[str, Any]:
        return {
            **self.meta,
            "format": FORMAT,
            "version": VERSION,
            "source": self.source,
            "created": self.created,
            "layers": [layer.describe() for layer in self.layers],
        }

    def members(self) -> Iterator[tuple[str, np.ndarray]]:
        """(name, array) for every member of the file, in writing order."""
        yield "meta", np.array(json.dumps(self.meta_dict(), ensure_ascii=False))
        if self.tokens is not None:
            yield "tokens", np.asarray(self.tokens, dtype=str)
        for k, layer in enumerate(self.layers):
            for v in VECTORS:
                yield f"layer{k}/{v}", np.asarray(layer.vector(v))
            yield f"layer{k}/h0", np.asarray(layer.h0)
            yield f"layer{k}/c0", np.asarray(layer.c0)
            if layer.mask is not None:
                yield f"layer{k}/mask", np.asarray(layer.mask, dtype=bool)
            if layer.cell is not None:
                for g in GATES:
                    yield f"layer{k}/W_{g}", np.asarray(layer.cell.W[g])
                    yield f"layer{k}/U_{g}", np.asarray(layer.cell.U[g])
                    yield f"layer{k}/b_{g}", np.asarray(layer.cell.b[g])
        if self.probs is not None:
            yield "readout/probs", np.asarray(self.probs)
        if self.vocab is not None:
            yield "readout/vocab", np.asarray(self.vocab, dtype=str)

    def save(self, path: str | os.PathLike) -> Path:
        return save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Trace:
        return load(path)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def save(trace: Trace, path: str | os.PathLike) -> Path:
    """Write ``trace`` to ``path`` atomically: into a temporary file beside
    it, then renamed into place, so an interrupted save leaves either the old
    file or none, never half a trace."""
    target = Path(path)
    validate(trace, target)  # refuse to write what we could not read back
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as fp:
            _write_zip(fp, trace.members())
            fp.flush()
            os.fsync(fp.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target


def _write_zip(fp: io.BufferedRandom, members: Iterator[tuple[str, np.ndarray]]) -> None:
    with zipfile.ZipFile(fp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in members:
            # (not ascontiguousarray: it turns the 0-d meta into shape (1,))
            array = array if array.flags.c_contiguous else array.copy(order="C")
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(array))
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            info.file_size = header.tell() + array.nbytes
            zip64 = info.file_size * 1.05 > zipfile.ZIP64_LIMIT
            # Pad the local header's extra field so the data lands on ALIGN.
            info.extra = b""
            info.CRC = info.compress_size = 0
            start = fp.tell() + len(info.FileHeader(zip64))
            pad = (-(start + 4)) % ALIGN
            info.extra = struct.pack("<HH", _PAD_ID, pad) + b"\0" * pad
            with zf.open(info, "w", force_zip64=zip64) as out:
                out.write(header.getvalue())
                out.write(memoryview(array.reshape(-1)).cast("B") if array.size else b"")


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

_LAYER_MEMBER = re.compile(r"^layer(0|[1-9][0-9]{0,3})/(x|f|i|c_hat|c|o|h|h0|c0|mask|[WUb]_[fico])$")
_TOP_MEMBERS = {"meta", "tokens", "readout/probs", "readout/vocab"}


#: Files up to this size have every member's CRC-32 checked on loading (a few
#: milliseconds); larger ones are memory-mapped without reading them through,
#: and ``lstm-tui check`` verifies their checksums.
VERIFY_CRC_BELOW = 64 * 1024 * 1024


def load(path: str | os.PathLike, verify: bool | None = None) -> Trace:
    """Read and validate the trace at ``path``; raises ``TraceError``.

    ``verify``: check each member's CRC-32; by default only for files below
    ``VERIFY_CRC_BELOW`` (checking reads the whole file, which memory-mapping
    a large trace exists to avoid)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        fh = open(path, "rb")
    except FileNotFoundError:
        raise TraceError(path, "no such file") from None
    except IsADirectoryError:
        raise TraceError(path, "is a directory, not a trace file") from None
    except ValueError:  # a path with a NUL byte in it
        raise TraceError(path, "not a valid file name") from None
    except OSError as e:
        raise TraceError(path, e.strerror or str(e)) from None
    with fh:
        if size == 0:
            raise TraceError(path, "empty file, not a trace")
        try:
            zf = zipfile.ZipFile(fh)
        except zipfile.BadZipFile:
            raise TraceError(path, "not a trace file (not a NumPy .npz archive)") from None
        except (OSError, ValueError, EOFError, struct.error, UnicodeError, NotImplementedError) as e:
            raise TraceError(path, f"damaged archive ({_one_line(e)})") from None
        with zf:
            try:
                arrays = _read_members(path, fh, zf, size, size < VERIFY_CRC_BELOW if verify is None else verify)
            except TraceError:
                raise
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error, UnicodeError,
                    NotImplementedError, RuntimeError) as e:
                # zipfile itself meets garbage as the member table is walked
                raise TraceError(path, f"damaged archive ({_one_line(e)})") from None
    return _build(path, arrays)


def _read_members(path: Path, fh: Any, zf: zipfile.ZipFile, size: int, verify: bool) -> dict[str, np.ndarray]:
    seen: set[str] = set()
    mm: mmap.mmap | None = None
    arrays: dict[str, np.ndarray] = {}
    inflated = sum(i.file_size for i in zf.infolist() if i.compress_type != zipfile.ZIP_STORED)
    if inflated > INFLATE_FACTOR * size + INFLATE_SLACK:
        raise TraceError(path, f"compressed members would inflate to {_size(inflated)}, more than "
                               f"{INFLATE_FACTOR}× the file's {_size(size)} (a zip bomb?); refusing")
    for info in zf.infolist():
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if name in seen:
            raise TraceError(path, f"member {name!r} appears twice")
        seen.add(name)
        if name not in _TOP_MEMBERS and not _LAYER_MEMBER.match(name):
            raise TraceError(path, f"unexpected member {info.filename!r} (not part of trace format v{VERSION})")
        if not info.filename.endswith(".npy"):
            raise TraceError(path, f"member {info.filename!r} is not a .npy array")
        if info.flag_bits & 0x1:
            raise TraceError(path, f"member {name!r} is encrypted")
        if info.header_offset + info.compress_size > size:
            raise TraceError(path, f"member {name!r} runs past the end of the file (truncated?)")
        if info.compress_type == zipfile.ZIP_STORED:
            if mm is None:
                mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            arrays[name] = _map_member(path, mm, info, name, size, verify)
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            arrays[name] = _inflate_member(path, zf, info, name)
        else:
            raise TraceError(path, f"member {name!r} uses unsupported compression {info.compress_type}")
    return arrays


def _parse_npy_header(path: Path, fp: Any, name: str, member_size: int) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """dtype, shape, fortran order and header length of a .npy stream, with
    the declared shape checked against the member's size before anything of
    that size is allocated."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp, max_header_size=10000)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp, max_header_size=10000)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except Exception as e:  # noqa: BLE001 - NumPy's header parser raises many kinds on garbage
        raise TraceError(path, f"member {name!r}: unreadable array header ({_one_line(e)})") from None
    if dtype.hasobject:
        raise TraceError(path, f"member {name!r} holds Python objects (pickled data is never loaded)")
    if dtype.fields is not None or dtype.subdtype is not None:
        raise TraceError(path, f"member {name!r} has a structured dtype {dtype}")
    if any(not isinstance(n, int) or n < 0 for n in shape):
        raise TraceError(path, f"member {name!r} declares an invalid shape {shape}")
    header_len = fp.tell()
    nbytes = dtype.itemsize
    for n in shape:
        nbytes *= n
    if header_len + nbytes != member_size:
        raise TraceError(
            path,
            f"member {name!r} declares shape {shape} of {dtype} ({_size(nbytes)}) "
            f"but holds {_size(max(member_size - header_len, 0))}",
        )
    return dtype, tuple(shape), bool(fortran), header_len


def _map_member(path: Path, mm: mmap.mmap, info: zipfile.ZipInfo, name: str, size: int,
                verify: bool) -> np.ndarray:
    off = info.header_offset
    if off + _LOCAL_HEADER.size > size:
        raise TraceError(path, f"member {name!r}: local header past the end of the file")
    fields = _LOCAL_HEADER.unpack_from(mm, off)
    if fields[0] != b"PK\x03\x04":
        raise TraceError(path, f"member {name!r}: bad local header (damaged archive)")
    data = off + _LOCAL_HEADER.size + fields[10] + fields[11]
    if info.file_size != info.compress_size or data + info.file_size > size:
        raise TraceError(path, f"member {name!r} runs past the end of the file (truncated?)")
    head = io.BytesIO(mm[data : data + min(info.file_size, 10240)])
    dtype, shape, fortran, header_len = _parse_npy_header(path, head, name, info.file_size)
    if verify and zlib.crc32(memoryview(mm)[data : data + info.file_size]) != info.CRC:
        raise TraceError(path, f"member {name!r} fails its CRC-32 checksum (the file is damaged)")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    # A view of the mapped file: pages are read when a step touches them.
    array = np.frombuffer(mm, dtype=dtype, count=count, offset=data + header_len)
    return array.reshape(shape, order="F" if fortran else "C")


def _inflate_member(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> np.ndarray:
    if info.file_size > max(info.compress_size, 1) * _MAX_DEFLATE_RATIO:
        raise TraceError(path, f"member {name!r} claims to inflate to {_size(info.file_size)} "
                               f"from {_size(info.compress_size)}: not a real deflate stream")
    try:
        with zf.open(info) as fp:
            dtype, shape, fortran, header_len = _parse_npy_header(path, fp, name, info.file_size)
            nbytes = info.file_size - header_len
            buf = bytearray(nbytes)
            view = memoryview(buf)
            got = 0
            while got < nbytes:
                n = fp.readinto(view[got:])
                if not n:
                    break
                got += n
            if got != nbytes or fp.read(1):
                raise TraceError(path, f"member {name!r} inflates to a different size than declared")
    except TraceError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error) as e:
        raise TraceError(path, f"member {name!r}: damaged compressed data ({_one_line(e)})") from None
    array = np.frombuffer(buf, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C")


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# --------------------------------------------------------------------------
# Validation and assembly
# --------------------------------------------------------------------------

_FLOATS = (np.float16, np.float32, np.float64)


def _require(cond: bool, path: Path | None, why: str) -> None:
    if not cond:
        raise TraceError(path, why)


def _float_member(path: Path | None, name: str, a: np.ndarray, shape: tuple[int, ...]) -> None:
    _require(a.dtype.type in _FLOATS, path, f"member {name!r} has dtype {a.dtype}, expected float16/32/64")
    _require(a.shape == shape, path, f"member {name!r} has shape {a.shape}, expected {shape}")


def _str_member(path: Path | None, name: str, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if a.dtype.kind == "S":
        try:
            a = np.char.decode(a, "utf-8")
        except UnicodeDecodeError:
            raise TraceError(path, f"member {name!r} is not valid UTF-8") from None
    _require(a.dtype.kind == "U", path, f"member {name!r} has dtype {a.dtype}, expected str")
    _require(a.shape == shape, path, f"member {name!r} has shape {a.shape}, expected {shape}")
    return a


def _parse_meta(path: Path, a: np.ndarray | None) -> dict[str, Any]:
    _require(a is not None, path, "member 'meta' is missing (not an lstm-trace file)")
    a = _str_member(path, "meta", a, ())
    try:
        meta = json.loads(str(a[()]))
    except (json.JSONDecodeError, RecursionError) as e:
        raise TraceError(path, f"member 'meta' is not valid JSON ({_one_line(e)})") from None
    _require(isinstance(meta, dict), path, "member 'meta' is not a JSON object")
    _require(meta.get("format") == FORMAT, path, f"meta: format is {meta.get('format')!r}, expected {FORMAT!r}")
    version = meta.get("version")
    _require(isinstance(version, int) and not isinstance(version, bool), path,
             f"meta: version {version!r} is not a number")
    _require(version == VERSION, path,
             f"meta: unsupported trace format version {version} (this lstm-tui reads version {VERSION})")
    layers = meta.get("layers")
    _require(isinstance(layers, list) and len(layers) > 0, path, "meta: 'layers' must be a non-empty list")
    for k, d in enumerate(layers):
        _require(isinstance(d, dict), path, f"meta: layers[{k}] is not an object")
        for key, typ in (("name", str), ("units", int), ("input_dim", int),
                         ("activation", str), ("recurrent_activation", str), ("reversed", bool)):
            _require(key in d, path, f"meta: layers[{k}] lacks {key!r}")
            _require(isinstance(d[key], typ) and (typ is bool or not isinstance(d[key], bool)), path,
                     f"meta: layers[{k}].{key} is {d[key]!r}, expected {typ.__name__}")
        for key in ("activation", "recurrent_activation"):
            _require(d[key] in ACTIVATIONS, path, f"meta: layers[{k}].{key} {d[key]!r} is not a known activation")
        for key in ("units", "input_dim"):
            _require(d[key] >= 1, path, f"meta: layers[{k}].{key} is {d[key]}; a layer needs at least 1")
    return meta


def _build(path: Path, arrays: dict[str, np.ndarray]) -> Trace:
    meta = _parse_meta(path, arrays.pop("meta", None))
    described = meta.pop("layers")
    L = len(described)
    for name in arrays:
        m = _LAYER_MEMBER.match(name)
        if m and int(m.group(1)) >= L:
            raise TraceError(path, f"member {name!r} belongs to no layer (meta lists {L})")
    layers = []
    T = None
    for k, d in enumerate(described):
        p = f"layer{k}/"
        for v in VECTORS:
            _require(p + v in arrays, path, f"member '{p}{v}' is missing")
        x = arrays[p + "x"]
        _require(x.ndim == 2, path, f"member '{p}x' has shape {x.shape}, expected (T, D)")
        if T is None:
            T = x.shape[0]
            _require(T > 0, path, "the trace has no steps (T = 0)")
        H, D = d["units"], d["input_dim"]
        _float_member(path, p + "x", x, (T, D))
        for v in VECTORS[1:]:
            _float_member(path, p + v, arrays[p + v], (T, H))
        h0 = arrays.get(p + "h0")
        c0 = arrays.get(p + "c0")
        for v, a in (("h0", h0), ("c0", c0)):
            if a is not None:
                _float_member(path, p + v, a, (H,))
        mask = arrays.get(p + "mask")
        if mask is not None:
            _require(mask.dtype == np.bool_, path, f"member '{p}mask' has dtype {mask.dtype}, expected bool")
            _require(mask.shape == (T,), path, f"member '{p}mask' has shape {mask.shape}, expected ({T},)")
        weights = [f"{w}_{g}" for g in GATES for w in "WUb"]
        present = [w for w in weights if p + w in arrays]
        cell = None
        if present:
            for g in GATES:
                _require(p + f"W_{g}" in arrays and p + f"U_{g}" in arrays, path,
                         f"member '{p}W_{g}' or '{p}U_{g}' is missing (the weights are incomplete)")
                _float_member(path, p + f"W_{g}", arrays[p + f"W_{g}"], (H, D))
                _float_member(path, p + f"U_{g}", arrays[p + f"U_{g}"], (H, H))
                if p + f"b_{g}" in arrays:
                    _float_member(path, p + f"b_{g}", arrays[p + f"b_{g}"], (H,))
            dt = arrays[p + "W_f"].dtype
            cell = LSTMCell(
                W={g: arrays[p + f"W_{g}"] for g in GATES},
                U={g: arrays[p + f"U_{g}"] for g in GATES},
                b={g: arrays.get(p + f"b_{g}", np.zeros(H, dt)) for g in GATES},
                activation=d["activation"],
                recurrent_activation=d["recurrent_activation"],
            )
        info = {key: val for key, val in d.items() if key not in
                ("name", "units", "input_dim", "activation", "recurrent_activation", "reversed")}
        layers.append(Layer(
            x=x, f=arrays[p + "f"], i=arrays[p + "i"], c_hat=arrays[p + "c_hat"],
            c=arrays[p + "c"], o=arrays[p + "o"], h=arrays[p + "h"],
            h0=h0 if h0 is not None else np.zeros(H, x.dtype),
            c0=c0 if c0 is not None else np.zeros(H, x.dtype),
            mask=mask, name=d["name"], activation=d["activation"],
            recurrent_activation=d["recurrent_activation"], reversed=d["reversed"],
            cell=cell, info=info,
        ))
    tokens = arrays.get("tokens")
    if tokens is not None:
        tokens = _str_member(path, "tokens", tokens, (T,))
    probs = arrays.get("readout/probs")
    vocab = arrays.get("readout/vocab")
    if probs is not None:
        _require(probs.ndim == 2 and probs.shape[0] == T, path,
                 f"member 'readout/probs' has shape {probs.shape}, expected ({T}, V)")
        _float_member(path, "readout/probs", probs, probs.shape)
    if vocab is not None:
        _require(probs is not None, path, "member 'readout/vocab' without 'readout/probs'")
        vocab = _str_member(path, "readout/vocab", vocab, (probs.shape[1],))
    source = meta.pop("source", "")
    created = meta.pop("created", "")
    meta.pop("format")
    meta.pop("version")
    return Trace(layers=layers, tokens=tokens, probs=probs, vocab=vocab,
                 source=str(source), created=str(created), meta=meta, path=path)


def validate(trace: Trace, path: Path | None = None) -> None:
    """Check an in-memory trace obeys the format (as loading would)."""
    _require(len(trace.layers) > 0, path, "a trace needs at least one layer")
    T = trace.steps
    _require(T > 0, path, "the trace has no steps (T = 0)")
    for k, layer in enumerate(trace.layers):
        p = f"layer{k}/"
        H, D = layer.units, layer.input_dim
        _require(H >= 1 and D >= 1, path, f"layer {k} has {H} units and {D} inputs; a layer needs at least 1 of each")
        _float_member(path, p + "x", np.asarray(layer.x), (T, D))
        for v in VECTORS[1:]:
            _float_member(path, p + v, np.asarray(layer.vector(v)), (T, H))
        _float_member(path, p + "h0", np.asarray(layer.h0), (H,))
        _float_member(path, p + "c0", np.asarray(layer.c0), (H,))
        if layer.mask is not None:
            _require(np.asarray(layer.mask).shape == (T,), path, f"member '{p}mask' must have shape ({T},)")
        if layer.cell is not None:
            _require((layer.cell.units, layer.cell.input_dim) == (H, D), path,
                     f"layer {k}: weights are for {layer.cell.units} units × {layer.cell.input_dim} "
                     f"inputs, the recording has {H} × {D}")
        for a in (layer.activation, layer.recurrent_activation):
            _require(a in ACTIVATIONS, path, f"layer {k}: unknown activation {a!r}")
    if trace.tokens is not None:
        _require(np.shape(trace.tokens) == (T,), path, f"member 'tokens' must have shape ({T},)")
    if trace.probs is not None:
        _require(np.ndim(trace.probs) == 2 and np.shape(trace.probs)[0] == T, path,
                 f"member 'readout/probs' must have shape ({T}, V)")
        if trace.vocab is not None:
            _require(np.shape(trace.vocab) == (np.shape(trace.probs)[1],), path,
                     "member 'readout/vocab' must have one label per output")


def verify_checksums(path: str | os.PathLike) -> str | None:
    """The first member whose CRC-32 does not match, or None. Memory-mapped
    loading skips the zip checksums (they would force reading everything);
    ``lstm-tui check`` calls this."""
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise TraceError(path, f"damaged archive ({_one_line(e)})") from None

