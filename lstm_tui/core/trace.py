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
readout/W readout/b       (V,H) (V,)      optional softmax head on the last h
========================  ==============  =====================================

Why memory-mapping: the writer stores members uncompressed and 64-byte
aligned, so the reader maps each member straight from the file instead of
reading it. Opening a 1 GiB trace then costs a few page faults, and stepping
to t touches only row t. Compressed archives load too, read fully.

A trace file is untrusted data: loading never unpickles, validates every
member's name, dtype and shape against the header and the file's size before
allocating anything, and raises ``TraceError`` naming the file and member.
Only a regular file is opened (a FIFO would block forever, a device is never
touched). Strings are checked character by character, in blocks: a code
point beyond U+10FFFF or a lone surrogate (which Python cannot print) is
refused with its member and position, and so is a lone surrogate anywhere in
``meta``. ``meta`` is at most ``META_MAX_CHARS`` characters, nested at most
``META_MAX_DEPTH`` levels, its integers at most ``META_MAX_DIGITS`` digits.
Two zip entries that share bytes (the same local header, or overlapping
data) are refused as a crafted archive.

A mapped file that changes underneath
-------------------------------------

Memory-mapping has one hazard no check at loading can remove: if another
process truncates the file (or rewrites it in place, which truncates first)
while a trace is open, touching a page past the new end raises SIGBUS and
the process dies. Python cannot survive that: a SIGBUS handler installed with
``signal`` only sets a flag and returns to the faulting instruction, which
faults again for ever (the process hangs); ``faulthandler`` prints a
traceback and then dies. A private, copy-on-write mapping (``ACCESS_COPY``,
``MAP_PRIVATE``) does not help either: Linux drops even the copied pages of a
truncated range, so the read still faults (tried: reading, touching every
page first, copying every page first, all end in SIGBUS). The only full
protections are not to map (read the file into memory) or a file lease
(``fcntl F_SETLEASE``, which makes the truncating process wait while the
holder is told by SIGIO; it needs ownership of the file or CAP_LEASE and a
local file system), which this module does not take.

What it offers instead is cheap detection: ``Trace.changed_on_disk()``
compares the file with the size, modification time, inode and device it had
when it was loaded (two ``stat`` calls, a few microseconds) and returns one
line saying what changed. A caller checks it before touching steps it has not
read yet and stops reading the mapping when it says anything. A rewrite in
place that keeps the size within one tick of the file system's clock is not
seen; a file replaced by rename (as ``save`` does) is seen, and its old
mapping stays valid: the old inode lives on until the trace is dropped.

Writing
-------

``save`` writes through an unnamed temporary file (``O_TMPFILE``) that is
linked into place only once complete, so a save killed at any moment leaves
the old file or none and no temporary file. Where the file system cannot do
that, a named, locked temporary file ``.<name>.<hex>.lstm-tui.tmp`` is used;
one left by a killed save (no longer locked) is removed by the next save in
that directory. Only a regular file is ever replaced: a directory, device,
FIFO or socket at the target is refused, and so is a symbolic link
(replacing it would break the link, writing through it would write where the
command line does not say). With ``overwrite=False`` the file is created
exclusively: of several saves racing for the same new name, exactly one
succeeds. Every failure is one ``TraceError`` naming the file and the
operating system's reason.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

import errno
import io
import json
import mmap
import os
import re
import secrets
import shutil
import stat
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

try:  # POSIX: the lock that tells a live save's temporary file from a dead one
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

import numpy as np

from ..errors import LstmTuiError
from .lstm import ACTIVATIONS, GATES, VECTORS, Explanation, LSTMCell, Recording, explain
from .text import Message, one_line

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
        # Addresses through .ctypes, not __array_interface__ (nor byte_bounds,
        # which uses it): on a read-only buffer NumPy keeps up to a couple of
        # megabytes per few thousand calls of that, which a scan would pay.
        start = np.frombuffer(mm, np.uint8, count=1).ctypes.data
        lo = hi = view.ctypes.data
        for n, step in zip(view.shape, view.strides):
            lo, hi = lo + min(0, (n - 1) * step), hi + max(0, (n - 1) * step)
        hi += view.itemsize
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


class TraceError(LstmTuiError):
    """A trace (or another file) that cannot be read or written; ``str()``
    is one line that names the file and says why."""

    def __init__(self, path: str | os.PathLike | None, why: str):
        self.path = None if path is None else str(path)
        self.why = why
        super().__init__(f"{self.path}: {why}" if self.path else why)


def _os_reason(e: OSError) -> str:
    """The operating system's reason, without the file name it repeats."""
    return e.strerror or _one_line(e)


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"))


def _kind(mode: int) -> str:
    """What a file that is not regular is: "a FIFO", "a directory" ..."""
    return next((word for test, word in _KINDS if test(mode)), "a special file")


def _check_mode(path: str | os.PathLike, mode: int, what: str) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise TraceError(path, f"is a directory, not a {what}")
    raise TraceError(path, f"not a regular file ({_kind(mode)}), so not a {what}")


def require_regular_file(path: str | os.PathLike, what: str = "trace file") -> os.stat_result:
    """``os.stat(path)`` if ``path`` is a regular file (a symbolic link to
    one counts); otherwise ``TraceError`` naming the path: "no such file",
    "is a directory, not a trace file", "not a regular file (a FIFO), so not
    a trace file" ...

    It only looks, never opens: a FIFO is not waited on and a device is not
    touched. Call it before handing a path to any reader (``numpy.load``,
    ``h5py``, Keras); ``what`` names the expected file in the message."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise TraceError(path, "no such file") from None
    except ValueError:  # a path with a NUL byte in it
        raise TraceError(path, "not a valid file name") from None
    except OSError as e:
        raise TraceError(path, _os_reason(e)) from None
    _check_mode(path, st.st_mode, what)
    return st


def open_regular_file(path: str | os.PathLike, what: str = "trace file") -> BinaryIO:
    """Open ``path`` for reading, binary, if it is a regular file; otherwise
    ``TraceError`` as ``require_regular_file``. The file is checked before
    opening and again on the open descriptor, and opened non-blocking, so a
    FIFO swapped in between the two cannot make the open wait."""
    require_regular_file(path, what)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise TraceError(path, "no such file") from None
    except ValueError:
        raise TraceError(path, "not a valid file name") from None
    except OSError as e:
        raise TraceError(path, _os_reason(e)) from None
    try:
        _check_mode(path, os.fstat(fd).st_mode, what)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


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
        return explain(self, t, unit, cell=self.cell, activation_name=self.activation,
                       recurrent_activation_name=self.recurrent_activation)

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
    #: The Dense softmax head that gave ``probs``: probs_t = softmax(W·h_t +
    #: b) on the last layer's h, so a what-if run can recompute them.
    readout_W: np.ndarray | None = None
    readout_b: np.ndarray | None = None
    source: str = ""
    created: str = ""
    meta: dict[str, Any] = field(default_factory=dict)  # any other keys
    path: Path | None = None
    #: (st_size, st_mtime_ns, st_ino, st_dev) of the file when it was loaded;
    #: None for a trace that was not loaded from a file.
    stamp: tuple[int, int, int, int] | None = field(default=None, init=False, repr=False)
    # The mapping the members are views of, when they are (for its size).
    _mapping: mmap.mmap | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.created:
            self.created = datetime.now(timezone.utc).isoformat(timespec="seconds")

    @property
    def mapped(self) -> bool:
        """Whether stored members are read from a memory-mapped file (so a
        truncation of the file would make reading them fatal); False for a
        trace read ``in_memory``, built in memory, or all compressed."""
        return self._mapping is not None

    def changed_on_disk(self) -> str | None:
        """None while the file this trace was loaded from is as it was;
        otherwise one line saying what happened to it: "the file was
        truncated from N to M bytes", "the file was rewritten", "the file
        was replaced by another file", "the file was removed or renamed".

        Costs two ``stat`` calls. A memory-mapped trace whose file was
        truncated or rewritten must not be read further: a page past the new
        end kills the process with SIGBUS (see the module's docstring).
        After "replaced" or "removed" the old data is still readable (the old
        file lives on while it is mapped), but it is no longer what the path
        names. Always None for a trace not loaded from a file."""
        if self.stamp is None or self.path is None:
            return None
        size, mtime, ino, dev = self.stamp
        if self._mapping is not None:
            try:
                # fstat of the mapped file itself, wherever its name now points
                mapped = self._mapping.size()
            except (ValueError, OSError):
                mapped = size  # a closed mapping is not read any more
            if mapped < size:
                return Message("the file was truncated from {old} to {new} bytes", old=size, new=mapped)
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return Message("the file was removed or renamed")
        except OSError as e:
            return Message("the file can no longer be examined ({why})", why=_os_reason(e))
        if (st.st_ino, st.st_dev) != (ino, dev):
            return Message("the file was replaced by another file")
        if st.st_size < size:
            return Message("the file was truncated from {old} to {new} bytes", old=size, new=st.st_size)
        if st.st_size != size or st.st_mtime_ns != mtime:
            return Message("the file was rewritten")
        return None

    @property
    def steps(self) -> int:
        return self.layers[0].steps

    def token(self, position: int) -> str | None:
        """The token at input position ``position``, if the trace has tokens."""
        if self.tokens is None:
            return None
        return str(self.tokens[position])

    def meta_dict(self) -> dict[str, Any]:
        return trace_meta([layer.describe() for layer in self.layers], self.source, self.created, self.meta)

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
        if self.readout_W is not None:
            yield "readout/W", np.asarray(self.readout_W)
        if self.readout_b is not None:
            yield "readout/b", np.asarray(self.readout_b)

    def save(self, path: str | os.PathLike, overwrite: bool = True) -> Path:
        return save(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Trace:
        return load(path)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


#: The suffix of the named temporary files a save falls back to where the
#: file system has no unnamed ones: ``.<name>.<12 hex digits>.lstm-tui.tmp``.
TEMP_SUFFIX = ".lstm-tui.tmp"
_TEMP_NAME = re.compile(r"\..*\.[0-9a-f]{12}" + re.escape(TEMP_SUFFIX), re.DOTALL)
#: A named temporary file this old and not locked was left by a killed save.
#: (The age covers the instant between creating a file and locking it.)
STALE_AFTER = 10.0
# How an open unnamed file is named through /proc (by linkat with AT_SYMLINK_FOLLOW).
_PROC_FD = "/proc/self/fd/{}"
# errno values by which a file system says it has no O_TMPFILE
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.ENOTSUP, errno.EISDIR, errno.EINVAL}
# ... and by which it says it cannot make hard links
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS, errno.EXDEV}


def save(trace: Trace, path: str | os.PathLike, overwrite: bool = True) -> Path:
    """Write ``trace`` to ``path`` atomically and return the path.

    The data goes to a temporary file in the target's directory, which is
    put in place only once complete (see the module's docstring): an
    interrupted or killed save leaves the old file or none, never half a
    trace, and no temporary file.

    ``overwrite=False`` creates the file exclusively: if ``path`` exists, or
    another save creates it first, ``TraceError`` "exists already" and
    nothing is written. Only a regular file is ever replaced; a symbolic
    link, directory, device, FIFO or socket at ``path`` is refused. Every
    failure (a read-only directory, a full disk, a name too long) is one
    ``TraceError`` naming the file and the reason."""
    if os.fspath(path) not in ("", b"") and "\0" not in os.fspath(path):
        validate(trace, Path(path))  # refuse to write what we could not read back
    return write_atomically(path, lambda fp: _write_zip(fp, trace.members()), overwrite, "the trace")


def write_atomically(path: str | os.PathLike, write: Callable[[Any], None], overwrite: bool = True,
                     what: str = "the file") -> Path:
    """Write a file the way ``save`` writes a trace: ``write(fp)`` fills a
    binary file object (seekable) that becomes ``path`` only once complete,
    with the same guarantees (nothing half-written, no temporary file left by
    a kill, exclusive creation without ``overwrite``, only regular files
    replaced) and errors (``TraceError`` naming ``path``; ``what`` names the
    file in them). Model files and screenshots are written through it too."""
    if os.fspath(path) in ("", b""):
        raise TraceError(None, f"an empty file name: nowhere to write {what}")
    target = Path(path)
    if "\0" in str(target):
        raise TraceError(target, "not a valid file name")
    name = target.name
    if name in ("", ".", ".."):
        raise TraceError(target, "not a file name (it names a directory)")
    dirfd = None
    fp = None
    temp: str | None = None  # a named temporary file to remove on failure
    try:
        dirfd = os.open(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        _check_target(target, name, dirfd, overwrite)
        _remove_stale_temps(dirfd)
        fd = _open_unnamed(dirfd)
        if fd is None:
            fd, temp = _open_named(dirfd, name)
        else:
            _lock(fd)
        fp = os.fdopen(fd, "w+b")
        write(fp)
        fp.flush()
        os.fsync(fp.fileno())
        in_place = False
        if temp is None:
            # An unnamed file: linkat(..., AT_SYMLINK_FOLLOW) through /proc
            # names it; without overwrite, straight under the target's name,
            # which fails if that exists: exclusive creation.
            link_to = name if not overwrite else _temp_name(name)
            try:
                os.link(_PROC_FD.format(fp.fileno()), link_to, dst_dir_fd=dirfd)
            except FileExistsError:
                raise
            except OSError:
                # a /proc that cannot name it after all: copy into a named file
                fp, temp = _copy_to_named(fp, dirfd, name)
            else:
                in_place, temp = (True, None) if not overwrite else (False, link_to)
        if not in_place:
            assert temp is not None  # a named temporary file holds the data
            if overwrite:
                os.rename(temp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
            else:
                _rename_noreplace(dirfd, temp, name)
            temp = None
        try:
            os.fsync(dirfd)  # the new name survives a power cut too
        except OSError:
            pass
    except FileExistsError:
        raise TraceError(target, "exists already (not replaced)") from None
    except OSError as e:
        if dirfd is None and e.errno == errno.ENOENT:
            raise TraceError(target, f"cannot write {what} (there is no directory {str(target.parent)!r})") \
                from None
        raise TraceError(target, f"cannot write {what} ({_os_reason(e)})") from None
    finally:
        if fp is not None:
            try:
                fp.close()  # also the lock; an unnamed file vanishes here unless linked
            except OSError:
                pass
        if temp is not None and dirfd is not None:
            try:
                os.unlink(temp, dir_fd=dirfd)
            except OSError:
                pass
        if dirfd is not None:
            os.close(dirfd)
    return target


def _check_target(target: Path, name: str, dirfd: int, overwrite: bool) -> None:
    """Refuse a target that exists and may not be replaced."""
    try:
        st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise TraceError(target, "is a symbolic link; give the path of the file itself (a link is never "
                                 "replaced or written through)")
    if not stat.S_ISREG(st.st_mode):
        raise TraceError(target, f"exists and is {_kind(st.st_mode)}, not a regular file; only a regular "
                                 "file is ever replaced")
    if not overwrite:
        raise FileExistsError(errno.EEXIST, "exists")


def _temp_name(name: str) -> str:
    # Keep the name short enough for any file system: the target's name is
    # only there to tell a person whose temporary file it is.
    return f".{name[:100]}.{secrets.token_hex(6)}{TEMP_SUFFIX}"


def _open_unnamed(dirfd: int) -> int | None:
    """A file without a name in the directory (Linux ``O_TMPFILE``), or
    None where the system or the file system has none, or where it could
    not be given a name afterwards (no /proc)."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not os.path.isdir(os.path.dirname(_PROC_FD)):
        return None
    try:
        return os.open(".", flag | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), 0o666, dir_fd=dirfd)
    except OSError as e:
        if e.errno in _NO_TMPFILE:
            return None
        raise


def _copy_to_named(fp: Any, dirfd: int, name: str) -> tuple[Any, str]:
    """The complete unnamed file ``fp`` copied into a new named temporary
    file; returns that (open, locked) and its name, and closes ``fp``."""
    fd, temp = _open_named(dirfd, name)
    out = os.fdopen(fd, "w+b")
    try:
        fp.seek(0)
        shutil.copyfileobj(fp, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    except BaseException:
        out.close()
        os.unlink(temp, dir_fd=dirfd)
        raise
    fp.close()
    return out, temp


def _open_named(dirfd: int, name: str) -> tuple[int, str]:
    """A new, locked temporary file with our own kind of name."""
    while True:
        temp = _temp_name(name)
        try:
            fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666,
                         dir_fd=dirfd)
        except FileExistsError:
            continue
        _lock(fd)
        return fd, temp


def _lock(fd: int) -> None:
    """Hold an exclusive lock on the file for as long as it is open: the
    sign that its save is alive."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # no locks on this file system: the file is then never taken for stale


def _remove_stale_temps(dirfd: int) -> None:
    """Remove the named temporary files that killed saves left in the
    directory: ours by their name, unlocked, and not brand new."""
    if fcntl is None:
        return
    try:
        with os.scandir(dirfd) as entries:
            names = [e.name for e in entries if e.name.endswith(TEMP_SUFFIX) and _TEMP_NAME.fullmatch(e.name)]
    except OSError:
        return
    now = time.time()
    for temp in names:
        try:
            fd = os.open(temp, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                         | getattr(os, "O_CLOEXEC", 0), dir_fd=dirfd)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < STALE_AFTER:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # locked: a save in progress
            os.unlink(temp, dir_fd=dirfd)
        except OSError:
            pass
        finally:
            os.close(fd)


def _rename_noreplace(dirfd: int, temp: str, name: str) -> None:
    """Give the complete temporary file ``temp`` the name ``name`` only if
    no file has it: a hard link (fails if the name exists), then the
    temporary name removed. Where the file system has no hard links,
    ``renameat2(RENAME_NOREPLACE)``; where it has neither, a check and a
    rename, which a racing save could slip between."""
    try:
        os.link(temp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in _NO_LINKS:
            raise
    else:
        os.unlink(temp, dir_fd=dirfd)
        return
    if _renameat2_noreplace(dirfd, temp, name):
        return
    try:
        os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    except FileNotFoundError:
        os.rename(temp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
    else:
        raise FileExistsError(errno.EEXIST, "exists")


def _renameat2_noreplace(dirfd: int, temp: str, name: str) -> bool:
    """``renameat2(dirfd, temp, dirfd, name, RENAME_NOREPLACE)`` through the
    C library; False where there is none or the file system refuses the flag."""
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(dirfd, os.fsencode(temp), dirfd, os.fsencode(name), 1) == 0:  # 1: RENAME_NOREPLACE
        return True
    err = ctypes.get_errno()
    if err == errno.EEXIST:
        raise FileExistsError(err, os.strerror(err))
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err))


def _write_zip(fp: io.BufferedRandom, members: Iterator[tuple[str, np.ndarray]]) -> None:
    with zipfile.ZipFile(fp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in members:
            _write_member(zf, fp, name, array)


def _npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    """The .npy header NumPy writes for a C-ordered array (padded by NumPy
    so the data after it starts on a multiple of 64 bytes)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                  "fortran_order": False, "shape": tuple(shape)})
    return header.getvalue()


def _member_info(name: str, size: int, offset: int) -> tuple[zipfile.ZipInfo, bool]:
    """The zip entry of a stored member of ``size`` bytes whose local header
    goes at ``offset``, its extra field padded so that the data lands on
    ``ALIGN``; and whether it needs zip64 sizes."""
    info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    info.file_size = size
    zip64 = info.file_size * 1.05 > zipfile.ZIP64_LIMIT
    info.extra = b""
    info.CRC = info.compress_size = 0
    start = offset + len(info.FileHeader(zip64))
    pad = (-(start + 4)) % ALIGN
    info.extra = struct.pack("<HH", _PAD_ID, pad) + b"\0" * pad
    return info, zip64


def _write_member(zf: zipfile.ZipFile, fp: Any, name: str, array: np.ndarray) -> None:
    # (not ascontiguousarray: it turns the 0-d meta into shape (1,))
    array = array if array.flags.c_contiguous else array.copy(order="C")
    header = _npy_header(array.dtype, array.shape)
    info, zip64 = _member_info(name, len(header) + array.nbytes, fp.tell())
    with zf.open(info, "w", force_zip64=zip64) as out:
        out.write(header)
        out.write(memoryview(array.reshape(-1)).cast("B") if array.size else b"")  # type: ignore[arg-type]


@dataclass
class _Reserved:
    """A member laid out in a streamed file: where its data goes, how much of
    it is written, and the CRC-32 of what is."""

    info: zipfile.ZipInfo
    zip64: bool
    dtype: np.dtype
    shape: tuple[int, ...]
    data: int  # file offset of the first array byte
    written: int = 0  # bytes of the array written so far
    crc: int = 0

    @property
    def nbytes(self) -> int:
        n = self.dtype.itemsize
        for k in self.shape:
            n *= k
        return n


class TraceWriter:
    """A trace written to an open file while it is computed, member by
    member, so that a recording never holds more than a block of steps of
    its gates: each (T, ·) member is laid out first (``reserve``), then
    filled a block of rows at a time, in order (``append``), with
    ``os.pwrite`` at its offset; small members are written whole (``put``);
    ``finish`` writes ``meta`` last, then the zip directory.

    The file is the one ``save`` writes, up to the order of its members:
    stored, each array's data 64-byte aligned, readable by
    ``numpy.load(allow_pickle=False)`` and memory-mapped by ``load``.

    Why ``pwrite`` and not a writable memory map: the pages of a mapped
    file that were written stay in the writer's resident set until the map
    is closed, so a mapped recording would hold the whole trace after all.
    Written with ``pwrite``, they are the kernel's page cache, which it
    writes back and drops as it needs.

    Use it through ``write_trace``, which gives it a temporary file that
    becomes the target only once ``finish`` has run.
    """

    def __init__(self, fp: Any, path: Path | None = None):
        self._fp = fp
        self._fd = fp.fileno()
        self._path = path
        self._end = fp.tell()  # where the next member's local header goes
        self._members: dict[str, _Reserved] = {}
        self._whole: dict[str, np.ndarray] = {}  # small members, kept for the final check
        self.finished = False

    def reserve(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type | str) -> None:
        """Lay out member ``name`` of ``shape`` and ``dtype``; ``append``
        fills it."""
        if name in self._members or name == "meta":
            raise TraceError(self._path, f"member {name!r} is written twice")
        dt = np.dtype(dtype)
        shape = tuple(int(n) for n in shape)
        header = _npy_header(dt, shape)
        nbytes = dt.itemsize * int(np.prod(shape, dtype=np.int64))
        info, zip64 = _member_info(name, len(header) + nbytes, self._end)
        info.header_offset = self._end
        info.compress_size = info.file_size
        local = info.FileHeader(zip64)
        data = self._end + len(local)
        self._pwrite(local, self._end)
        self._pwrite(header, data)
        member = _Reserved(info, zip64, dt, shape, data + len(header))
        member.crc = zlib.crc32(header)
        self._members[name] = member
        self._end = member.data + nbytes

    def append(self, name: str, rows: np.ndarray) -> None:
        """Write the next rows of member ``name`` (its first axis)."""
        member = self._members[name]
        rows = np.ascontiguousarray(rows, dtype=member.dtype)
        if rows.shape[1:] != member.shape[1:] or member.written + rows.nbytes > member.nbytes:
            raise TraceError(self._path, f"member {name!r}: rows of shape {rows.shape} do not fit its "
                                         f"shape {member.shape}")
        if rows.nbytes:
            view = memoryview(rows.reshape(-1)).cast("B")  # type: ignore[arg-type]
            member.crc = zlib.crc32(view, member.crc)
            self._pwrite(view, member.data + member.written)
            member.written += rows.nbytes

    def put(self, name: str, array: np.ndarray) -> None:
        """Write member ``name`` whole."""
        array = np.asarray(array)
        self.reserve(name, array.shape, array.dtype)
        self.append(name, array.reshape((1,)) if array.ndim == 0 else array)
        if array.dtype.kind in "USb" or array.nbytes <= 1 << 16:
            self._whole[name] = array

    def finish(self, meta: dict[str, Any]) -> None:
        """Check that every member is complete and that the whole is a
        valid trace (shapes, dtypes and ``meta``, as ``load`` would, without
        reading the data back), then write ``meta`` and the directory."""
        for name, member in self._members.items():
            if member.written != member.nbytes:
                raise TraceError(self._path, f"member {name!r} is incomplete ({member.written} of "
                                             f"{member.nbytes} bytes written)")
        meta_array = np.array(json.dumps(meta, ensure_ascii=False))
        # Every member as what it declares, without its data, but the small
        # ones whole (strings are checked character by character).
        shapes = {name: self._whole.get(name, np.broadcast_to(np.zeros((), m.dtype), m.shape))
                  for name, m in self._members.items()}
        _build(self._path, {**shapes, "meta": meta_array})
        for member in self._members.values():
            member.info.CRC = member.crc
            self._pwrite(member.info.FileHeader(member.zip64), member.info.header_offset)
        self._fp.seek(self._end)
        with zipfile.ZipFile(self._fp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            # The members written by offset join the directory zipfile writes
            # on closing (``filelist`` is what ``infolist()`` returns; zipfile
            # has no public way to add an entry it did not write itself).
            for member in self._members.values():
                zf.filelist.append(member.info)
                zf.NameToInfo[member.info.filename] = member.info
            _write_member(zf, self._fp, "meta", meta_array)
        self._fp.flush()
        self.finished = True

    def _pwrite(self, data: bytes | memoryview, offset: int) -> None:
        view = memoryview(data)
        while len(view):
            n = os.pwrite(self._fd, view, offset)
            view, offset = view[n:], offset + n


class MemoryTraceWriter:
    """``TraceWriter``'s interface, building a ``Trace`` in memory: the same
    code fills a file or a trace, so the two hold the same numbers."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}
        self._written: dict[str, int] = {}
        self.trace: Trace | None = None

    def reserve(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type | str) -> None:
        self._arrays[name] = np.empty(shape, dtype)
        self._written[name] = 0

    def append(self, name: str, rows: np.ndarray) -> None:
        at = self._written[name]
        self._arrays[name][at : at + len(rows)] = rows
        self._written[name] = at + len(rows)

    def put(self, name: str, array: np.ndarray) -> None:
        self._arrays[name] = np.array(array)
        self._written[name] = len(self._arrays[name]) if self._arrays[name].ndim else 1

    def finish(self, meta: dict[str, Any]) -> None:
        self.trace = _build(None, {**self._arrays, "meta": np.array(json.dumps(meta, ensure_ascii=False))})


def write_trace(path: str | os.PathLike, fill: Callable[[TraceWriter], object], overwrite: bool = True) -> Path:
    """Write a trace to ``path`` as ``fill(writer)`` computes it (a
    ``TraceWriter``; ``fill`` must call ``writer.finish``), with ``save``'s
    guarantees: the file appears only once complete, so an exception in
    ``fill`` or a kill leaves the old file or none, and no temporary file."""
    target = Path(path)

    def write(fp: Any) -> None:
        writer = TraceWriter(fp, target)
        fill(writer)
        if not writer.finished:
            raise TraceError(target, "the trace was not finished (no meta written)")

    return write_atomically(path, write, overwrite, "the trace")


def trace_meta(layers: list[dict[str, Any]], source: str = "", created: str = "",
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``meta`` member of a trace: ``extra`` keys, the format and its
    version, where it came from, when (now, by default) and its layers (as
    ``Layer.describe`` gives them)."""
    return {
        **(extra or {}),
        "format": FORMAT,
        "version": VERSION,
        "source": source,
        "created": created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "layers": layers,
    }


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

_LAYER_MEMBER = re.compile(r"^layer(0|[1-9][0-9]{0,3})/(x|f|i|c_hat|c|o|h|h0|c0|mask|[WUb]_[fico])$")
_TOP_MEMBERS = {"meta", "tokens", "readout/probs", "readout/vocab", "readout/W", "readout/b"}


#: Files up to this size have every member's CRC-32 checked on loading (a few
#: milliseconds); larger ones are memory-mapped without reading them through,
#: and ``lstm-tui check`` verifies their checksums.
VERIFY_CRC_BELOW = 64 * 1024 * 1024


def load(path: str | os.PathLike, verify: bool | None = None, in_memory: bool = False) -> Trace:
    """Read and validate the trace at ``path``; raises ``TraceError``.

    ``verify``: check each member's CRC-32; by default only for files below
    ``VERIFY_CRC_BELOW`` (checking reads the whole file, which memory-mapping
    a large trace exists to avoid). ``in_memory``: read every member into
    memory with plain reads instead of mapping the stored ones, so that
    nothing later done to the file (a truncation) can make reading the
    trace fatal; a file truncated while it is read is a ``TraceError``."""
    path = Path(path)
    fh = open_regular_file(path)
    with fh:
        st = os.fstat(fh.fileno())
        size = st.st_size
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
                arrays, mapping = _read_members(path, fh, zf, size,
                                                size < VERIFY_CRC_BELOW if verify is None else verify,
                                                in_memory)
            except TraceError:
                raise
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error, UnicodeError,
                    NotImplementedError, RuntimeError) as e:
                # zipfile itself meets garbage as the member table is walked
                raise TraceError(path, f"damaged archive ({_one_line(e)})") from None
    trace = _build(path, arrays)
    trace.stamp = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)
    trace._mapping = mapping
    return trace


def _read_members(path: Path, fh: Any, zf: zipfile.ZipFile, size: int,
                  verify: bool, in_memory: bool = False) -> tuple[dict[str, np.ndarray], mmap.mmap | None]:
    seen: set[str] = set()
    mm: mmap.mmap | None = None
    arrays: dict[str, np.ndarray] = {}
    inflated = sum(i.file_size for i in zf.infolist() if i.compress_type != zipfile.ZIP_STORED)
    if inflated > INFLATE_FACTOR * size + INFLATE_SLACK:
        raise TraceError(path, f"compressed members would inflate to {_size(inflated)}, more than "
                               f"{INFLATE_FACTOR}× the file's {_size(size)} (a zip bomb?); refusing")
    data_at = _member_layout(path, fh, zf, size)
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
        if info.compress_type == zipfile.ZIP_STORED and in_memory:
            arrays[name] = _read_member(path, fh.fileno(), info, name, data_at[id(info)], size, verify)
        elif info.compress_type == zipfile.ZIP_STORED:
            if mm is None:
                mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            arrays[name] = _map_member(path, mm, info, name, data_at[id(info)], size, verify)
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            arrays[name] = _inflate_member(path, zf, info, name)
        else:
            raise TraceError(path, f"member {name!r} uses unsupported compression {info.compress_type}")
    return arrays, mm


def _member_layout(path: Path, fh: Any, zf: zipfile.ZipFile, size: int) -> dict[int, int]:
    """Where each member's data starts (by ``id`` of its ZipInfo), from its
    local header, after checking that the local headers are where the
    directory says, name the same members, and that no two members share a
    byte: two directory entries aimed at one local header (or at overlapping
    data) would make one stored array read as two, a crafted archive that a
    checksum mismatch would only hint at."""
    spans: list[tuple[int, int, str]] = []
    data_at: dict[int, int] = {}
    names: list[tuple[zipfile.ZipInfo, bytes]] = []
    fd = fh.fileno()
    for info in zf.infolist():
        name = info.filename
        off = info.header_offset
        if off < 0 or off + _LOCAL_HEADER.size > size:
            raise TraceError(path, f"member {name!r}: local header past the end of the file (truncated?)")
        fields = _LOCAL_HEADER.unpack(os.pread(fd, _LOCAL_HEADER.size, off))
        if fields[0] != b"PK\x03\x04":
            raise TraceError(path, f"member {name!r}: bad local header (damaged archive)")
        name_len, extra_len = fields[10], fields[11]
        names.append((info, os.pread(fd, name_len, off + _LOCAL_HEADER.size)))
        data = off + _LOCAL_HEADER.size + name_len + extra_len
        data_at[id(info)] = data
        spans.append((off, data + info.compress_size, name))
    spans.sort()
    for (a_start, a_end, a), (b_start, _, b) in zip(spans, spans[1:]):
        if b_start == a_start:
            raise TraceError(path, f"members {a!r} and {b!r} point at the same local header (offset {a_start}): "
                                   "a crafted archive")
        if b_start < a_end:
            raise TraceError(path, f"member {b!r} starts inside member {a!r} (offset {b_start}): "
                                   "overlapping members, a crafted archive")
    start_dir = getattr(zf, "start_dir", None)
    if spans and isinstance(start_dir, int) and spans[-1][1] > start_dir:
        raise TraceError(path, f"member {spans[-1][2]!r} runs into the archive's directory (a damaged archive)")
    for info, local in names:
        expected = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace")
        if local != expected:
            raise TraceError(path, f"member {info.filename!r}: its local header names {_shown(local)} "
                                   "(a damaged or crafted archive)")
    return data_at


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


def _map_member(path: Path, mm: mmap.mmap, info: zipfile.ZipInfo, name: str, data: int, size: int,
                verify: bool) -> np.ndarray:
    if info.file_size != info.compress_size or data + info.file_size > size:
        raise TraceError(path, f"member {name!r} runs past the end of the file (truncated?)")
    head = io.BytesIO(mm[data : data + min(info.file_size, 10240)])
    dtype, shape, fortran, header_len = _parse_npy_header(path, head, name, info.file_size)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    # A view of the mapped file: pages are read when a step touches them.
    array = np.frombuffer(mm, dtype=dtype, count=count, offset=data + header_len)
    if verify:
        if zlib.crc32(memoryview(mm)[data : data + info.file_size]) != info.CRC:
            raise TraceError(path, f"member {name!r} fails its CRC-32 checksum (the file is damaged)")
        release_pages(array)  # read through once: not a reason to stay resident
    return array.reshape(shape, order="F" if fortran else "C")


def _read_member(path: Path, fd: int, info: zipfile.ZipInfo, name: str, data: int, size: int,
                 verify: bool) -> np.ndarray:
    """A stored member read into memory with ``pread`` (``load(...,
    in_memory=True)``): a short read, as from a file truncated meanwhile,
    is a ``TraceError``, never a fault."""
    if info.file_size != info.compress_size or data + info.file_size > size:
        raise TraceError(path, f"member {name!r} runs past the end of the file (truncated?)")
    buf = bytearray(info.file_size)
    view = memoryview(buf)
    got = 0
    while got < info.file_size:
        n = os.preadv(fd, [view[got:]], data + got)
        if n <= 0:
            raise TraceError(path, f"member {name!r}: the file ended while it was read (truncated meanwhile?)")
        got += n
    if verify and zlib.crc32(view) != info.CRC:
        raise TraceError(path, f"member {name!r} fails its CRC-32 checksum (the file is damaged)")
    dtype, shape, fortran, header_len = _parse_npy_header(path, io.BytesIO(view[:10240]), name, info.file_size)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    array = np.frombuffer(buf, dtype=dtype, count=count, offset=header_len)
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
                n = fp.readinto(view[got:])  # type: ignore[attr-defined]  # a ZipExtFile has it
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
    return one_line(e, 200)


def _shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` made safe for a one-line message: ASCII only (a lone
    surrogate cannot be printed), and cut short in the middle."""
    text = ascii(value)
    return text if len(text) <= limit else f"{text[:limit - 21]}...{text[-18:]}"


def _size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{n} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
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
    check_text(path, name, a)
    return a


#: Strings of this many characters or more are checked a block at a time.
TEXT_BLOCK_CHARS = 1 << 20


def check_text(path: Path | str | None, name: str, a: np.ndarray) -> None:
    """Refuse a str array (NumPy ``<U``) holding a code point Python cannot
    make a printable string of: above U+10FFFF (``str()`` of it raises
    SystemError) or a lone surrogate U+D800…U+DFFF (it cannot be encoded
    for the terminal). ``TraceError`` names the member, the string's position
    and the character's. Reads ``TEXT_BLOCK_CHARS`` characters at a time,
    handing the pages of a mapped member back after each block."""
    a = np.asarray(a)
    chars = a.dtype.itemsize // 4
    if a.dtype.kind != "U" or a.size == 0 or chars == 0:
        return
    flat = a.reshape(-1)  # (the members checked are 0-d or 1-d: a view)
    codes_of = np.dtype(np.uint32).newbyteorder(a.dtype.byteorder)
    rows = max(1, TEXT_BLOCK_CHARS // chars)
    for start in range(0, flat.size, rows):
        block = np.ascontiguousarray(flat[start:start + rows])
        codes = block.view(codes_of).reshape(len(block), chars)
        bad = (codes > 0x10FFFF) | ((codes >= 0xD800) & (codes <= 0xDFFF))
        if bad.any():
            r, k = divmod(int(np.argmax(bad)), chars)
            code = int(codes[r, k])
            what = "beyond U+10FFFF" if code > 0x10FFFF else "a lone surrogate"
            where = f"string {start + r}" if a.ndim else "the string"
            raise TraceError(path, f"member {name!r}: {where} has an invalid character (code point "
                                   f"{code:#x}, {what}) at offset {k}")
        release_pages(flat[start:start + rows])


#: Limits on ``meta``, which describes a trace and holds none of its data:
#: its length in characters, how deep its objects and lists nest, and the
#: digits of an integer (Python refuses to convert more than 4300 anyway).
META_MAX_CHARS = 1 << 20
META_MAX_DEPTH = 32
META_MAX_DIGITS = 100


class _MetaRefused(Exception):
    pass


def _meta_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > META_MAX_DIGITS:
        raise _MetaRefused(f"meta: an integer with {digits} digits (at most {META_MAX_DIGITS})")
    return int(text)


def check_meta(path: Path | str | None, meta: Any) -> None:
    """Refuse ``meta`` (parsed JSON) nested deeper than ``META_MAX_DEPTH`` or
    holding a string with a lone surrogate (JSON's ``"\\udc80"``), which no
    terminal can show. Iterative: any depth is examined without recursion."""
    # (value, depth, trail): the trail is (parent trail, key), spelled out
    # only for a message, so a long list costs no strings.
    stack: list[tuple[Any, int, Any]] = [(meta, 0, None)]
    while stack:
        value, depth, trail = stack.pop()
        if depth > META_MAX_DEPTH:
            raise TraceError(path, f"{_trail(trail)}: meta nests deeper than {META_MAX_DEPTH} levels")
        if isinstance(value, str):
            texts = [value]
        elif isinstance(value, dict):
            texts = [k for k in value if isinstance(k, str)]
            stack.extend((v, depth + 1, (trail, k)) for k, v in value.items())
        elif isinstance(value, list):
            texts = []
            stack.extend((v, depth + 1, (trail, k)) for k, v in enumerate(value))
        else:
            continue
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as e:
                raise TraceError(path, f"{_trail(trail)}: a string holds a lone surrogate "
                                       f"(U+{ord(text[e.start]):04X}) at character {e.start}") from None


def _trail(trail: Any) -> str:
    """``meta.layers[0].name`` from a trail of keys."""
    keys = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    out = "meta"
    for key in reversed(keys):
        if isinstance(key, int):
            out += f"[{key}]"
        elif key.isascii() and key.isidentifier() and len(key) <= 30:
            out += f".{key}"
        else:
            out += f"[{_shown(key, 30)}]"
    return out


def _parse_meta(path: Path | None, a: np.ndarray | None) -> dict[str, Any]:
    _require(a is not None, path, "member 'meta' is missing (not an lstm-trace file)")
    assert a is not None
    chars = a.dtype.itemsize // 4 if a.dtype.kind == "U" else a.dtype.itemsize
    _require(chars <= META_MAX_CHARS, path, f"member 'meta' is {chars} characters long, more than "
                                            f"{META_MAX_CHARS} (it describes the trace; data go in arrays)")
    a = _str_member(path, "meta", a, ())
    try:
        meta = json.loads(str(a[()]), parse_int=_meta_int)
    except _MetaRefused as e:
        raise TraceError(path, str(e)) from None
    except RecursionError:
        raise TraceError(path, f"member 'meta' nests deeper than {META_MAX_DEPTH} levels") from None
    except ValueError as e:  # JSONDecodeError, and any limit Python's parser meets
        raise TraceError(path, f"member 'meta' is not valid JSON ({_one_line(e)})") from None
    _require(isinstance(meta, dict), path, "member 'meta' is not a JSON object")
    check_meta(path, meta)
    _require(meta.get("format") == FORMAT, path, f"meta: format is {_shown(meta.get('format'))}, expected {FORMAT!r}")
    version = meta.get("version")
    _require(isinstance(version, int) and not isinstance(version, bool), path,
             f"meta: version {_shown(version)} is not a number")
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
                     f"meta: layers[{k}].{key} is {_shown(d[key])}, expected {typ.__name__}")
        for key in ("activation", "recurrent_activation"):
            _require(d[key] in ACTIVATIONS, path,
                     f"meta: layers[{k}].{key} {_shown(d[key])} is not a known activation")
        for key in ("units", "input_dim"):
            _require(d[key] >= 1, path, f"meta: layers[{k}].{key} is {d[key]}; a layer needs at least 1")
    return meta


def _build(path: Path | None, arrays: dict[str, np.ndarray]) -> Trace:
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
        assert T is not None  # every layer has steps
        tokens = _str_member(path, "tokens", tokens, (T,))
    probs = arrays.get("readout/probs")
    vocab = arrays.get("readout/vocab")
    if probs is not None:
        _require(probs.ndim == 2 and probs.shape[0] == T, path,
                 f"member 'readout/probs' has shape {probs.shape}, expected ({T}, V)")
        _float_member(path, "readout/probs", probs, probs.shape)
    if vocab is not None:
        if probs is None:
            raise TraceError(path, "member 'readout/vocab' without 'readout/probs'")
        vocab = _str_member(path, "readout/vocab", vocab, (probs.shape[1],))
    W, b = arrays.get("readout/W"), arrays.get("readout/b")
    if W is not None or b is not None:
        _require(W is not None, path, "member 'readout/b' without 'readout/W'")
        assert W is not None
        H = layers[-1].units
        _require(W.ndim == 2 and W.shape[1] == H, path,
                 f"member 'readout/W' has shape {W.shape}, expected (V, {H}) (the last layer has {H} units)")
        _float_member(path, "readout/W", W, W.shape)
        if probs is not None:
            _float_member(path, "readout/W", W, (probs.shape[1], H))
        if b is not None:
            _float_member(path, "readout/b", b, (W.shape[0],))
    source = meta.pop("source", "")
    created = meta.pop("created", "")
    meta.pop("format")
    meta.pop("version")
    return Trace(layers=layers, tokens=tokens, probs=probs, vocab=vocab, readout_W=W, readout_b=b,
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
        check_text(path, "tokens", np.asarray(trace.tokens, dtype=str))
    if trace.vocab is not None:
        check_text(path, "readout/vocab", np.asarray(trace.vocab, dtype=str))
    check_meta(path, trace.meta_dict())
    if trace.probs is not None:
        _require(np.ndim(trace.probs) == 2 and np.shape(trace.probs)[0] == T, path,
                 f"member 'readout/probs' must have shape ({T}, V)")
        if trace.vocab is not None:
            _require(np.shape(trace.vocab) == (np.shape(trace.probs)[1],), path,
                     "member 'readout/vocab' must have one label per output")
    if trace.readout_W is not None or trace.readout_b is not None:
        _require(trace.readout_W is not None, path, "member 'readout/b' without 'readout/W'")
        W = np.asarray(trace.readout_W)
        H = trace.layers[-1].units
        V = np.shape(trace.probs)[1] if trace.probs is not None else (W.shape[0] if W.ndim == 2 else -1)
        _float_member(path, "readout/W", W, (V, H))
        if trace.readout_b is not None:
            _float_member(path, "readout/b", np.asarray(trace.readout_b), (V,))


def verify_checksums(path: str | os.PathLike) -> str | None:
    """The first member whose CRC-32 does not match, or None. Memory-mapped
    loading skips the zip checksums (they would force reading everything);
    ``lstm-tui check`` calls this."""
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise TraceError(path, f"damaged archive ({_one_line(e)})") from None

