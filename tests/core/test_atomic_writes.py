"""Saving a trace: a process killed in the middle leaves the old file or none,
and no temporary file; only regular files are ever replaced; exclusive
creation lets exactly one of several racing saves win; every failure of the
operating system (full disk, read-only directory, a name too long) is one
TraceError naming the file, with nothing left behind."""

from __future__ import annotations

import errno
import multiprocessing
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import random_trace

from lstm_tui.core import trace as trace_mod
from lstm_tui.core.trace import TEMP_SUFFIX, TraceError, load, save

ROOT = Path(__file__).resolve().parents[2]

# A child process that writes a 57 MB trace and SIGKILLs itself once the
# writer has put 8 MiB into the file: a save cut short for sure, at a known
# point. argv: target, "unnamed" or "named" (the kind of temporary file).
WRITER = """
import os, signal, sys
import numpy as np
from lstm_tui.core import trace
from lstm_tui.core.trace import Layer, Trace, save

target, how = sys.argv[1], sys.argv[2]
if how == "named":
    trace._open_unnamed = lambda dirfd: None  # a file system without O_TMPFILE
real = trace._write_zip

class Killer:
    def __init__(self, fp):
        self.fp, self.n = fp, 0
    def write(self, b):
        self.n += len(b)
        if self.n > 8 << 20:
            self.fp.flush()
            os.fsync(self.fp.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
        return self.fp.write(b)
    def __getattr__(self, name):
        return getattr(self.fp, name)

trace._write_zip = lambda fp, members: real(Killer(fp), members)
T, H = 2000, 1024
a = lambda k: np.full((T, H), k, np.float32)
layer = Layer(x=a(0), f=a(1), i=a(2), c_hat=a(3), c=a(4), o=a(5), h=a(6),
              h0=np.zeros(H, np.float32), c0=np.zeros(H, np.float32), name="big")
save(Trace([layer], source="big"), target)
print("not killed", flush=True)
"""


def kill_mid_write(target: Path, how: str = "unnamed") -> None:
    child = subprocess.run([sys.executable, "-c", WRITER, str(target), how], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr


def unnamed_temp_files_work(directory: Path) -> bool:
    fd = os.open(directory, os.O_RDONLY)
    try:
        got = trace_mod._open_unnamed(fd)
    finally:
        os.close(fd)
    if got is not None:
        os.close(got)
    return got is not None


# ---------------------------------------------------------------- killed saves


def test_kill_during_save_keeps_the_old_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "run.npz"
    old = random_trace(seed=3)
    save(old, target)
    before = target.read_bytes()
    kill_mid_write(target)
    assert target.read_bytes() == before
    np.testing.assert_array_equal(load(target).layers[0].h, old.layers[0].h)
    if unnamed_temp_files_work(tmp_path):
        assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]


def test_kill_during_first_save_leaves_no_file_at_all(tmp_path):
    if not unnamed_temp_files_work(tmp_path):
        pytest.skip("this file system has no unnamed temporary files (O_TMPFILE)")
    kill_mid_write(tmp_path / "new.npz")
    assert list(tmp_path.iterdir()) == []


def test_nothing_is_visible_in_the_directory_while_saving(tmp_path, monkeypatch):
    if not unnamed_temp_files_work(tmp_path):
        pytest.skip("this file system has no unnamed temporary files (O_TMPFILE)")
    seen = []
    real = trace_mod._write_zip

    def spy(fp, members):
        real(fp, members)
        seen.append(sorted(p.name for p in tmp_path.iterdir()))

    monkeypatch.setattr(trace_mod, "_write_zip", spy)
    save(random_trace(), tmp_path / "a.npz")
    save(random_trace(seed=1), tmp_path / "a.npz")
    assert seen == [[], ["a.npz"]]


def test_a_killed_save_with_a_named_temporary_file_is_cleaned_up_later(tmp_path):
    target = tmp_path / "new.npz"
    kill_mid_write(target, "named")
    left = [p for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].name.startswith(".new.npz.") and left[0].name.endswith(TEMP_SUFFIX)
    assert left[0].stat().st_size > 4 << 20  # it really was the killed save's file, cut short
    # Brand new files are spared (a save may be between creating and locking it)
    save(random_trace(), tmp_path / "other.npz")
    assert left[0].exists()
    old = time.time() - trace_mod.STALE_AFTER - 5
    os.utime(left[0], (old, old))
    save(random_trace(), tmp_path / "other.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.npz"]


def test_the_temporary_file_of_a_live_save_is_never_removed(tmp_path):
    dirfd = os.open(tmp_path, os.O_RDONLY)
    try:
        fd, name = trace_mod._open_named(dirfd, "busy.npz")  # locked, as a save in progress holds it
    finally:
        os.close(dirfd)
    live = tmp_path / name
    old = time.time() - 3600
    os.utime(live, (old, old))
    save(random_trace(), tmp_path / "t.npz")
    assert live.exists()
    os.close(fd)  # the save "dies": its lock goes with it
    save(random_trace(), tmp_path / "t.npz")
    assert not live.exists()


def test_files_of_other_names_are_never_removed(tmp_path):
    others = [".t.npz.abc123.tmp", "x.lstm-tui.tmp", ".t.npz.0123456789ab.lstm-tui.tmp.bak",
              ".t.npz.0123456789AB.lstm-tui.tmp"]
    old = time.time() - 3600
    for name in others:
        (tmp_path / name).write_bytes(b"not ours")
        os.utime(tmp_path / name, (old, old))
    save(random_trace(), tmp_path / "t.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others + ["t.npz"])


def test_interrupted_save_with_a_named_temporary_file_leaves_none(tmp_path, monkeypatch):
    monkeypatch.setattr(trace_mod, "_open_unnamed", lambda dirfd: None)
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


@pytest.mark.parametrize("overwrite", [True, False])
def test_an_unnamed_file_that_proc_cannot_name_is_copied_instead(tmp_path, monkeypatch, overwrite):
    if not unnamed_temp_files_work(tmp_path):
        pytest.skip("this file system has no unnamed temporary files (O_TMPFILE)")
    (tmp_path / "fd").mkdir()
    monkeypatch.setattr(trace_mod, "_PROC_FD", str(tmp_path / "fd" / "{}"))  # links fail: no such file
    tr = random_trace(seed=5)
    path = save(tr, tmp_path / "t.npz", overwrite=overwrite)
    np.testing.assert_array_equal(load(path).layers[0].h, tr.layers[0].h)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fd", "t.npz"]


# ---------------------------------------------------------------- what may be replaced


def special_files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    out["a FIFO"] = fifo
    d = tmp_path / "dir.npz"
    d.mkdir()
    out["a directory"] = d
    try:
        dev = tmp_path / "null.npz"
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a twin of /dev/null
        out["a character device"] = dev
    except (PermissionError, OSError):
        pass
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "sock.npz"))
        out["a socket"] = tmp_path / "sock.npz"
    except OSError:
        pass
    finally:
        sock.close()
    return out


@pytest.mark.parametrize("overwrite", [True, False])
def test_only_regular_files_are_ever_replaced(tmp_path, overwrite):
    for kind, path in special_files(tmp_path).items():
        mode = path.lstat().st_mode
        with pytest.raises(TraceError) as e:
            save(random_trace(), path, overwrite=overwrite)
        assert str(e.value).startswith(f"{path}: ")
        assert kind in str(e.value) and "not a regular file" in str(e.value)
        assert path.lstat().st_mode == mode  # the very same node, untouched
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def test_dev_null_is_refused_without_being_touched():
    before = os.stat("/dev/null")
    with pytest.raises(TraceError, match="a character device, not a regular file"):
        save(random_trace(), "/dev/null")
    after = os.stat("/dev/null")
    assert (after.st_ino, after.st_mode, after.st_rdev) == (before.st_ino, before.st_mode, before.st_rdev)


@pytest.mark.parametrize("dangling", [False, True])
def test_a_symbolic_link_is_neither_replaced_nor_written_through(tmp_path, dangling):
    real = tmp_path / "real.npz"
    if not dangling:
        save(random_trace(seed=4), real)
    before = real.read_bytes() if not dangling else None
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    with pytest.raises(TraceError, match="is a symbolic link"):
        save(random_trace(), link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    if dangling:
        assert not real.exists()
    else:
        assert real.read_bytes() == before


def test_overwrite_false_refuses_an_existing_file(tmp_path):
    path = save(random_trace(seed=1), tmp_path / "t.npz")
    before = path.read_bytes()
    with pytest.raises(TraceError, match="exists already"):
        save(random_trace(seed=2), path, overwrite=False)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.npz"]
    save(random_trace(seed=2), path)  # overwrite=True (the default) replaces it
    assert path.read_bytes() != before


# ---------------------------------------------------------------- exclusive creation races


def race_threads(target: Path, n: int) -> list[str]:
    """``n`` threads save to ``target`` at once with overwrite=False; each
    returns "won" or the error's text."""
    traces = [random_trace(seed=s, T=40, H=16) for s in range(n)]
    barrier = threading.Barrier(n)
    results = [""] * n

    def run(k):
        barrier.wait()
        try:
            save(traces[k], target, overwrite=False)
            results[k] = "won"
        except TraceError as e:
            results[k] = str(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winner = results.index("won") if "won" in results else None
    if winner is not None:
        np.testing.assert_array_equal(load(target).layers[0].h, traces[winner].layers[0].h)
    return results


@pytest.mark.parametrize("how", ["unnamed", "named"])
def test_exclusive_creation_race_between_threads(tmp_path, monkeypatch, how):
    if how == "named":
        monkeypatch.setattr(trace_mod, "_open_unnamed", lambda dirfd: None)
    for k in range(20):
        target = tmp_path / f"race{k}.npz"
        results = race_threads(target, 4)
        assert results.count("won") == 1, results
        assert all(r == "won" or r == f"{target}: exists already (not replaced)" for r in results), results
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"race{k}.npz" for k in range(20))


def _race_child(target: str, seed: int, barrier, results) -> None:
    barrier.wait()
    try:
        save(random_trace(seed=seed, T=40, H=16), target, overwrite=False)
        results.put((seed, "won"))
    except TraceError as e:
        results.put((seed, str(e)))


def test_exclusive_creation_race_between_processes(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for k in range(20):
        target = tmp_path / f"race{k}.npz"
        barrier, results = ctx.Barrier(3), ctx.Queue()
        procs = [ctx.Process(target=_race_child, args=(str(target), s, barrier, results)) for s in range(3)]
        for p in procs:
            p.start()
        got = dict(results.get(timeout=60) for _ in procs)
        for p in procs:
            p.join(timeout=60)
        assert list(got.values()).count("won") == 1, got
        winner = next(s for s, r in got.items() if r == "won")
        np.testing.assert_array_equal(load(target).layers[0].h, random_trace(seed=winner, T=40, H=16).layers[0].h)
    assert len(list(tmp_path.iterdir())) == 20


# ---------------------------------------------------------------- the operating system says no


@pytest.fixture
def mount_tmpfs(tmp_path):
    """mount(options) -> a fresh tmpfs directory; skips where mounting is not
    allowed (not root, no privileges in the container)."""
    mounted = []

    def mount(options: str) -> Path:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("mounting a tmpfs needs root")
        d = tmp_path / f"mnt{len(mounted)}"
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(d)], capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
        mounted.append(d)
        return d

    yield mount
    for d in mounted:
        subprocess.run(["umount", str(d)], check=False)


def assert_one_line(e: pytest.ExceptionInfo, path: Path, reason: str) -> None:
    msg = str(e.value)
    assert msg.startswith(f"{path}: cannot write the trace (") and reason in msg and "\n" not in msg, msg


def test_a_full_disk_is_one_line_and_leaves_nothing(mount_tmpfs):
    d = mount_tmpfs("size=64k")
    free = os.statvfs(d).f_bfree
    target = d / "big.npz"
    with pytest.raises(TraceError) as e:
        save(random_trace(T=400, H=64), target)  # about 750 KiB
    assert_one_line(e, target, os.strerror(errno.ENOSPC))
    assert list(d.iterdir()) == []
    assert os.statvfs(d).f_bfree == free  # and the space came back


def test_a_full_disk_emulated(tmp_path, monkeypatch):
    def full(fp, members):
        fp.write(b"PK\x03\x04 some")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(trace_mod, "_write_zip", full)
    for how in ("unnamed", "named"):
        if how == "named":
            monkeypatch.setattr(trace_mod, "_open_unnamed", lambda dirfd: None)
        target = tmp_path / "t.npz"
        with pytest.raises(TraceError) as e:
            save(random_trace(), target)
        assert_one_line(e, target, "No space left on device")
        assert list(tmp_path.iterdir()) == []


def test_a_read_only_directory(mount_tmpfs):
    d = mount_tmpfs("ro,size=64k")
    target = d / "t.npz"
    with pytest.raises(TraceError) as e:
        save(random_trace(), target)
    assert_one_line(e, target, os.strerror(errno.EROFS))


def test_a_directory_without_permission_emulated(tmp_path, monkeypatch):
    def refuse(dirfd):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(trace_mod, "_open_unnamed", refuse)
    target = tmp_path / "t.npz"
    with pytest.raises(TraceError) as e:
        save(random_trace(), target)
    assert_one_line(e, target, "Permission denied")
    assert list(tmp_path.iterdir()) == []


def test_a_name_too_long(tmp_path):
    target = tmp_path / ("n" * 300 + ".npz")
    with pytest.raises(TraceError) as e:
        save(random_trace(), target)
    assert_one_line(e, target, os.strerror(errno.ENAMETOOLONG))
    assert list(tmp_path.iterdir()) == []
    # a long name that fits is fine: the temporary file's name stays short
    ok = save(random_trace(), tmp_path / ("n" * 240 + ".npz"))
    assert [p.name for p in tmp_path.iterdir()] == [ok.name]


@pytest.mark.parametrize("name, why", [
    ("", "an empty file name"),
    ("no/such/dir/t.npz", "there is no directory"),
    (".", "not a file name"),
    ("bad\0name.npz", "not a valid file name"),
])
def test_names_that_cannot_be_written(tmp_path, monkeypatch, name, why):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TraceError, match=why) as e:
        save(random_trace(), name)
    assert "\n" not in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_a_saved_file_has_the_usual_permissions(tmp_path):
    umask = os.umask(0o027)
    try:
        path = save(random_trace(), tmp_path / "t.npz")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
