"""How far a long recording has got, and a progress bar that shows it.

A recording of tens of thousands of steps runs for a while: first Keras runs
the whole model once (``stage`` "capture", whose length is unknown), then
each LSTM layer is recomputed, written and verified a chunk of steps at a
time (``stage`` "record"). The recorder hands a ``Progress`` value to a
callback after every chunk; ``ProgressBar`` is the command line's callback.

The bar is drawn on one line of a terminal, redrawn at most ``RATE`` times
a second, and cleared at the end, so nothing of it stays in a scrollback or
a log. On a stream that is not a terminal it draws nothing: a script or a
redirection gets only the command's results.

This module imports only the standard library.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, TextIO

from .text import escape_controls


@dataclass(frozen=True)
class Progress:
    """Where a recording is: ``stage`` "capture" (Keras running the model,
    ``done`` 0) or "record" (``done`` of ``total`` steps of trace layer
    ``layer``, of ``layers``, called ``name``, recomputed, written and
    verified). ``done`` only grows within a layer and ends at ``total``."""

    stage: str
    layer: int
    layers: int
    name: str
    done: int
    total: int


#: Redraws a second at most: a terminal over SSH must not be flooded.
RATE = 10.0


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _count(n: float) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.1f}M"
    if n >= 1e4:
        return f"{n / 1e3:.0f}k"
    return f"{n:.0f}"


class ProgressBar:
    """A one-line progress bar on ``stream`` for ``Progress`` updates: the
    layer, a bar of its steps, the steps done, the rate in steps a second
    and the time left for the layer. Call it with each update; ``close``
    (or leaving a ``with`` block) clears the line.

    ``enabled`` defaults to whether ``stream`` is a terminal. ``clock`` is
    replaceable for tests."""

    def __init__(self, stream: TextIO, enabled: bool | None = None, width: int = 80,
                 clock: Any = time.monotonic):
        self.stream = stream
        if enabled is None:
            isatty = getattr(stream, "isatty", None)
            try:
                enabled = bool(isatty()) if isatty is not None else False
            except (OSError, ValueError):
                enabled = False
        self.enabled = enabled
        self.width = max(40, width)
        self.clock = clock
        self._drawn = False
        self._last = -1.0e9
        self._layer_started: tuple[int, float, int] | None = None  # (layer, when, done then)

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if self._layer_started is None or self._layer_started[0] != (p.layer if p.stage == "record" else -1):
            self._layer_started = (p.layer if p.stage == "record" else -1, now, p.done)
        last = p.stage == "record" and p.done >= p.total
        if now - self._last < 1 / RATE and not last:
            return
        self._last = now
        self._draw(self.line(p, now))

    def line(self, p: Progress, now: float) -> str:
        """The text of the bar for ``p`` at time ``now`` (no control
        characters: names from a model are escaped)."""
        name = escape_controls(p.name)
        if len(name) > 20:
            name = name[:19] + "…"
        if p.stage != "record":
            return f"running the model in Keras on {p.total:,} steps …"
        head = f"layer {p.layer + 1}/{p.layers} {name} "
        assert self._layer_started is not None
        _, since, done_then = self._layer_started
        elapsed = now - since
        rate = (p.done - done_then) / elapsed if elapsed > 0 else 0.0
        tail = f" {_count(p.done)}/{_count(p.total)} steps"
        if rate > 0:
            tail += f" {_count(rate)}/s ETA {_duration((p.total - p.done) / rate)}"
        room = self.width - 1 - len(head) - len(tail) - 2
        if room < 10:
            return (head + tail.lstrip())[: self.width - 1]
        filled = int(room * p.done / max(p.total, 1))
        return f"{head}[{'#' * filled}{'.' * (room - filled)}]{tail}"

    def _draw(self, text: str) -> None:
        # \r then "erase to the end of the line": the bar rewrites itself.
        self.stream.write("\r" + text[: self.width - 1] + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Clear the bar's line, if one was drawn."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
