"""The trace files under the screen: what protects the app from a file that
changes while it is open, and how a failure is told in one line.

Why this matters: a trace is memory-mapped (``core.trace``), and if another
process truncates the file (or rewrites it in place) while it is on screen,
the next read of a page past the new end kills the process with SIGBUS,
which Python cannot catch. The screen defends itself three ways:

- **Small traces are read into memory** (``in_memory``): below
  ``IN_MEMORY_BELOW`` bytes the app reads the file again with plain reads
  (``load(..., in_memory=True)``) and lets go of the mapping, so nothing
  done to the file can hurt them any more. Large traces
  stay mapped: copying a gigabyte would cost the memory and the start-up
  time that mapping exists to save.
- **The file is checked before anything new is read** (``Trace.changed_on_disk``,
  two ``stat`` calls): before every key, click or resize the app handles,
  once a second when nothing happens, and before and between the blocks of
  the scans the screen runs in workers.
- **A changed mapped trace is let go of at once** (``placeholder``): the
  screen shows a one-step trace of the same shape held in memory, every
  value NaN, while the file is loaded again; if it no longer loads, it stays
  so and a dialog says what happened and what can be done.

This module imports only the standard library, NumPy, the core and the
screen's catalogue (its words are the screen's).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Literal

import numpy as np

from ..core.text import Message
from ..core.trace import Layer, Trace, load
from ..errors import LstmTuiError
from .catalogue import tr

#: Traces whose file is smaller than this many bytes are read into memory
#: when the app takes them (the CLI's trace, ``o``, a reload): truncating
#: their file cannot hurt them. Larger ones stay memory-mapped.
IN_MEMORY_BELOW = 256 * 1024 * 1024


def error_line(error: BaseException | None) -> str:
    """One line for a failure the screen reports: an ``LstmTuiError`` speaks
    for itself (``str(error)``, one line by contract); anything else is a
    bug or a surprise, shown as ``Type: first line``. Never markup: the text
    may come from a file name or a file's contents."""
    if error is None:
        return tr("unknown error")
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(error, LstmTuiError) and first:
        return first
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def is_mapped(trace: Trace) -> bool:
    """Whether any array of ``trace`` is read from a memory-mapped file (so
    a truncated file would make reading it fatal): ``Trace.mapped``."""
    return trace.mapped


def in_memory(trace: Trace, below: int | None = None) -> Trace:
    """``trace`` read again into memory (``load(..., in_memory=True)``:
    plain reads, no mapping), when it is mapped and its file is smaller than
    ``below`` bytes (``IN_MEMORY_BELOW``); otherwise ``trace`` itself. The
    new trace has the file's path and stamp, so ``changed_on_disk`` still
    says when the file changes (and the screen loads it again), but nothing
    done to the file can make reading it fail.

    A file that has already changed, or that no longer loads, is not read:
    ``trace`` comes back as it is, for the screen's own check to find."""
    limit = IN_MEMORY_BELOW if below is None else below
    if trace.path is None or trace.stamp is None or trace.stamp[0] >= limit or not trace.mapped:
        return trace
    if trace.changed_on_disk() is not None:
        return trace
    try:
        copy = load(trace.path, in_memory=True)
    except LstmTuiError:
        return trace
    return trace if copy.stamp != trace.stamp else copy


def file_state(path: os.PathLike[str] | str | None) -> tuple[int, int, int, int] | None:
    """(size, mtime, inode, device) of the file at ``path`` now, or None
    when it cannot be examined: what a change already reported is
    remembered by, so it is reported once."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


#: The status line once a let-go trace's file no longer loads.
NO_LONGER_LOADS = Message("the trace's file no longer loads · o opens another")


def loading_again(name: str, why: str) -> str:
    """The status line while the trace named ``name``, let go of because
    ``why`` ("the file was rewritten"), loads again."""
    return tr("{name}: {why}; loading it again…", name=name, why=why)


@dataclasses.dataclass(frozen=True)
class Notice:
    """What the screen says when a changed trace file was loaded again or
    no longer loads: a notification's ``text``, ``title``, ``severity`` and
    ``timeout`` (None: the app's), or the text of a dialog."""

    text: str
    title: str
    severity: Literal["information", "warning", "error"] = "information"
    timeout: float | None = None


def reload_notice(run: str, name: str, why: str, error: str | None = None, *, let_go: bool = False,
                  incomparable: str | None = None) -> Notice:
    """What to say once the file of run ``run`` ("a", or "b": the second
    run of a comparison), named ``name``, changed (``why``) and was loaded
    again: it loaded (``error`` None), it no longer loads (``error`` says
    why; ``let_go``: the screen had let go of the run, so it is gone), or
    the second run now holds a run that ``incomparable`` says cannot be
    compared."""
    second = run == "b"
    changed = tr("second run's file changed") if second else tr("trace file changed")
    if incomparable is not None:
        return Notice(tr("{name}: {why} while open; it now holds a run that cannot be compared "
                         "({incomparable}). The comparison is closed.", name=name, why=why,
                         incomparable=incomparable), changed, "warning", 30)
    if error is None:
        return Notice(tr("{name}: {why} while open; it was loaded again", name=name, why=why),
                      tr("second run reloaded") if second else tr("trace reloaded"))
    text = tr("{name}: {why} while open, and it no longer loads ({error}).", name=name, why=why, error=error)
    if not second:
        # Let go of: the dialog says it; in memory: what was loaded is intact, and stays.
        return Notice(text, changed, "error") if let_go else \
            Notice(text + " " + tr("Still showing the trace as it was loaded."), changed, "warning", 30)
    if let_go:
        return Notice(text + " " + tr("The comparison is closed."), changed, "error", 30)
    return Notice(text + " " + tr("Still comparing with the run as it was loaded."), changed, "warning", 30)


#: What ``placeholder`` traces say they are (their ``source``).
PLACEHOLDER_SOURCE = Message("no trace: its file changed on disk")


def placeholder(trace: Trace, source: str = PLACEHOLDER_SOURCE) -> Trace:
    """A one-step trace held in memory with the layers of ``trace`` (names,
    units, inputs, direction), every value NaN: what the screen shows once
    it has let go of a trace whose file changed, so that no pane, worker or
    redraw reads the old mapping again. The layout stays as it was; NaN says
    that there is no value to show."""
    layers = []
    for layer in trace.layers:
        H, D = layer.units, layer.input_dim

        def nan(*shape: int) -> np.ndarray:
            return np.full(shape, np.nan, dtype=np.float32)

        layers.append(Layer(x=nan(1, D), f=nan(1, H), i=nan(1, H), c_hat=nan(1, H), c=nan(1, H),
                            o=nan(1, H), h=nan(1, H), h0=nan(H), c0=nan(H), name=layer.name,
                            activation=layer.activation, recurrent_activation=layer.recurrent_activation,
                            reversed=layer.reversed))
    return Placeholder(layers=layers, source=source)


@dataclasses.dataclass(eq=False)
class Placeholder(Trace):
    """The trace ``placeholder`` makes: no file, nothing to scan."""
