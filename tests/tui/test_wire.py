"""What the app writes to a real terminal: only the cells that changed, and a
screen that equals a full repaint, cell for cell, after any keys and resizes.

The app runs in a pseudo-terminal; a terminal emulator (pyte) renders its
output. Beside it, the app writes Textual's own rendering of every frame to
a file (the display hook is wrapped for the test): a second emulator renders
that, so the cell-diffing renderer is compared with what Textual would have
drawn. At the end a full repaint (``redraw``, asked for with SIGUSR1) is fed
to a fresh emulator: what a terminal shows after the session must equal it.
Every wait is bounded; nothing here measures time.
"""

from __future__ import annotations

import fcntl
import os
import random
import re
import signal
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

pyte = pytest.importorskip("pyte")

from bench_wire import read_quiet  # noqa: E402  (the benchmark reads its pty the same way)

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "lstm_tui" / "traces" / "next_letter.npz"
TIMEOUT = 30.0

#: ``python -c`` for the app under test: Input cursors do not blink and
#: notifications stay up (a blink or a toast leaving is a frame at any
#: moment, which would make "the screen has settled" depend on timing), every frame Textual composes is also written to
#: $WIRE_REFERENCE as Textual itself renders it, and SIGUSR1 asks for a full
#: repaint.
CODE = r"""
import asyncio, os, signal, sys
from textual.widgets import Input
_init = Input.__init__
def _no_blink(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.set_reactive(Input.cursor_blink, False)
Input.__init__ = _no_blink
from textual.app import App
_notify = App.notify
def _notify_for_long(self, *args, **kwargs):
    kwargs["timeout"] = 3600
    return _notify(self, *args, **kwargs)
App.notify = _notify_for_long

from lstm_tui.tui import textual_private as tp
_reference = open(os.environ["WIRE_REFERENCE"], "w", encoding="utf-8")
_frames = open(os.environ["WIRE_REFERENCE"] + ".frames", "w")
_display = tp.CellDiffingDisplay._display
def _display_too(self, screen, renderable):
    if (isinstance(renderable, (tp.LayoutUpdate, tp.ChopsUpdate)) and self._running and not self._closed
            and not self._batch_count and self._driver is not None and not self.is_inline):
        _reference.write(renderable.render_segments(self.console))
        _reference.flush()
        _frames.write(f"{_reference.tell()}\n")
        _frames.flush()
    _display(self, screen, renderable)
tp.CellDiffingDisplay._display = _display_too

from lstm_tui.tui.app import LstmTuiApp
_on_mount = LstmTuiApp.on_mount
def _on_mount_too(self):
    _on_mount(self)
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, self.redraw)
LstmTuiApp.on_mount = _on_mount_too

from lstm_tui.cli import main
main(sys.argv[1:])
"""

#: Keys a session may press: steps, units, layers, the help screen, the
#: go-to-step dialog and its digits, panes, zoom and the explain pane's
#: expansions, Escape; ``q`` is kept for the end.
KEYS = {
    "right": b"\x1b[C", "left": b"\x1b[D", "up": b"\x1b[A", "down": b"\x1b[B", "home": b"\x1b[H",
    "end": b"\x1b[F", "pgup": b"\x1b[5~", "pgdn": b"\x1b[6~", "l": b"l", "h": b"h", "j": b"j", "k": b"k",
    "]": b"]", "[": b"[", "?": b"?", "esc": b"\x1b", "tab": b"\t", "z": b"z", "p": b"p", "F": b"F",
    "g": b"g", "1": b"1", "2": b"2", "enter": b"\r", "w": b"w", "E": b"E",
}
SIZES = [(120, 40), (80, 24), (100, 30), (132, 43), (90, 28)]


def cells(screen) -> list[list[tuple]]:
    """Every cell of a pyte screen: its character and everything about its
    look pyte keeps."""
    return [[(c.data, c.fg, c.bg, c.bold, c.italics, c.underscore, c.strikethrough, c.reverse, c.blink)
             for c in (screen.buffer[y][x] for x in range(screen.columns))]
            for y in range(screen.lines)]


def differences(a, b, limit: int = 8) -> list[str]:
    out = []
    for y, (ra, rb) in enumerate(zip(a, b)):
        for x, (ca, cb) in enumerate(zip(ra, rb)):
            if ca != cb:
                out.append(f"({x},{y}): {ca} != {cb}")
                if len(out) >= limit:
                    return out
    return out


class Terminal:
    """The app in a pty of ``size``, its output rendered by pyte."""

    def __init__(self, tmp: Path, size: tuple[int, int], args: list[str]) -> None:
        self.reference = tmp / "reference.txt"
        self.master, slave = os.openpty()
        self.size = size
        self._winsize(slave, size)
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8",
               "WIRE_REFERENCE": str(self.reference)}
        env.pop("TEXTUAL", None)
        self.proc = subprocess.Popen([sys.executable, "-c", CODE, *args], stdin=slave, stdout=slave,
                                     stderr=slave, env=env, start_new_session=True, close_fds=True, cwd=REPO)
        os.close(slave)
        self.screen = pyte.Screen(*size)
        self.stream = pyte.ByteStream(self.screen)
        self.out = bytearray()
        #: (offset in the reference file, size) at each resize.
        self.resizes: list[tuple[int, tuple[int, int]]] = []

    @staticmethod
    def _winsize(fd: int, size: tuple[int, int]) -> None:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))

    def read(self, quiet: float, limit: float = TIMEOUT, until: bytes | None = None) -> bytes:
        """What the app writes until ``quiet`` seconds pass without a byte
        (after ``until`` appeared, when given); fed to the emulator."""
        got = read_quiet(self.master, quiet, limit, until)
        self.stream.feed(got)
        self.out += got
        return got

    def key(self, data: bytes) -> None:
        os.write(self.master, data)

    def resize(self, size: tuple[int, int]) -> None:
        self.read(0.4)  # the frames for the old size, before the emulator changes size
        self.resizes.append((self.reference.stat().st_size, size))
        self.screen.resize(size[1], size[0])
        self.size = size
        self._winsize(self.master, size)
        os.killpg(self.proc.pid, signal.SIGWINCH)

    def frames(self) -> int:
        """How many frames Textual has composed so far."""
        return len(Path(str(self.reference) + ".frames").read_text().split())

    def redraw(self) -> tuple[bytes, bytes, int]:
        """A full repaint, alone: the bytes it writes, Textual's own
        rendering of the same frame, and how many frames were composed
        meanwhile (1: the repaint alone)."""
        offset, frames = self.reference.stat().st_size, self.frames()
        os.killpg(self.proc.pid, signal.SIGUSR1)
        data = self.read(0.5)
        return data, self.reference.read_bytes()[offset:], self.frames() - frames

    def reference_screen(self):
        """What Textual's own rendering of the same frames shows."""
        data = self.reference.read_bytes()
        screen = pyte.Screen(*SIZES[0])
        screen.resize(self.initial[1], self.initial[0])
        stream = pyte.ByteStream(screen)
        start = 0
        for offset, size in self.resizes:
            stream.feed(data[start:offset])
            screen.resize(size[1], size[0])
            start = offset
        stream.feed(data[start:])
        return screen

    def quit(self) -> int:
        self.key(b"\x11")  # ctrl+q: quits from a dialog too, where q would be typed
        self.read(0.2, limit=5)
        try:
            return self.proc.wait(timeout=TIMEOUT)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            os.close(self.master)


def start(tmp: Path, size: tuple[int, int], args: list[str] | None = None) -> Terminal:
    term = Terminal(tmp, size, ["--no-model", str(BUNDLED)] if args is None else args)
    term.initial = size
    term.read(0.4, until=b"lstm-tui")
    assert b"lstm-tui" in term.out, bytes(term.out[-2000:])
    return term


def settled(term: Terminal) -> list[list[tuple]]:
    """The terminal's cells once it shows what Textual's own rendering of
    the same frames shows (a loaded machine may take a while to write the
    last frame: up to a few quiet spells are waited for)."""
    for _ in range(5):
        term.read(0.4)
        shown, reference = cells(term.screen), cells(term.reference_screen())
        if shown == reference:
            return shown
    raise AssertionError(differences(shown, reference))


def fresh_screen(size: tuple[int, int], data: bytes):
    """What a terminal of ``size`` that shows nothing shows after ``data``."""
    screen = pyte.Screen(*size)
    pyte.ByteStream(screen).feed(data)
    return screen


def assert_repaint_shows(term: Terminal) -> None:
    """What the terminal shows (once settled) is what a full repaint alone
    shows on a terminal that shows nothing, and that is what Textual's own
    rendering of the repaint shows. When the app composed another frame
    meanwhile (a scroll bar laid out again late), what it showed before is
    no longer the state repainted: settle and repaint again."""
    for _ in range(3):
        shown = settled(term)
        repaint, textual_repaint, frames = term.redraw()
        fresh = cells(fresh_screen(term.size, repaint))
        textual = cells(fresh_screen(term.size, textual_repaint))
        assert fresh == textual, differences(fresh, textual)
        assert cells(term.screen) == fresh  # the repaint leaves the terminal as a fresh one shows it
        if frames == 1:
            assert fresh == shown, differences(fresh, shown)
            return
    raise AssertionError("the app kept composing frames while it was repainted")


def text_of(data: bytes) -> str:
    """The characters a stretch of output writes (escape sequences out)."""
    text = data.decode("utf-8", "replace")
    text = re.sub(r"\x1b\][^\x07\x1b]*(\x07|\x1b\\)", "", text)  # OSC (hyperlinks)
    return re.sub(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[=>78]", "", text)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_screen_equals_a_full_repaint_after_random_keys_and_resizes(tmp_path, seed):
    """Seeded random keys (some in quick bursts, so frames merge and a held
    key is paced) and resizes: the terminal shows what Textual's own
    rendering of every frame shows, and what a full repaint alone shows."""
    rng = random.Random(seed)
    term = start(tmp_path, rng.choice(SIZES))
    try:
        for n in range(1, 31):
            if rng.random() < 0.08:
                term.resize(rng.choice(SIZES))
            else:
                name = rng.choice(list(KEYS))
                for _ in range(rng.choice([1, 1, 1, 4])):  # sometimes held: a burst of the same key
                    term.key(KEYS[name])
                    term.read(rng.choice([0.0, 0.01, 0.03, 0.08]), limit=1)
            if n % 6 == 0:
                # A cell written in the wrong place stays wrong until it
                # next changes: look often, not only at the end.
                settled(term)
        assert_repaint_shows(term)
    finally:
        code = term.quit()
    assert code == 0, text_of(bytes(term.out))[-2000:]


def test_wide_characters_and_emoji_survive_partial_updates(tmp_path):
    """Tokens of two-column characters (CJK, emoji) beside the ▶ markers and
    bars: steps redraw parts of lines around them."""
    import numpy as np

    from lstm_tui.core.trace import Layer, Trace

    rng = np.random.default_rng(0)
    T, H = 6, 8

    def a() -> np.ndarray:
        return rng.uniform(0, 1, (T, H)).astype(np.float32)

    layer = Layer(x=rng.uniform(-1, 1, (T, 4)).astype(np.float32), f=a(), i=a(), c_hat=a(), c=a(), o=a(),
                  h=a(), h0=np.zeros(H, np.float32), c0=np.zeros(H, np.float32), name="wide")
    path = tmp_path / "wide.npz"
    Trace(layers=[layer], source="test: wide", tokens=["中", "😀", "a", "文字", "é", "🧠"]).save(path)
    term = start(tmp_path, (100, 30), ["--no-model", str(path)])
    try:
        for key in ["right", "right", "down", "right", "left", "end", "home", "right", "right", "right",
                    "end"]:
            term.key(KEYS[key])
            term.read(0.15, limit=2)
        settled(term)
        assert "🧠" in "".join(term.screen.display)  # the last token, at t = 5
        assert_repaint_shows(term)
    finally:
        code = term.quit()
    assert code == 0


def test_a_step_writes_only_the_cells_that_changed(tmp_path):
    """One → at 120×40 writes the characters of the cells it changes (and a
    few unchanged ones between them), a small part of what Textual's own
    rendering of the same frame and a full repaint write."""
    term = start(tmp_path, (120, 40))
    try:
        before = settled(term)
        reference_before = term.reference.stat().st_size
        term.key(KEYS["right"])
        step = term.read(0.5)
        after = cells(term.screen)
        textual_step = term.reference.stat().st_size - reference_before
        changed = sum(a != b for ra, rb in zip(before, after) for a, b in zip(ra, rb))
        written = len(text_of(step))
        full, _, _ = term.redraw()
    finally:
        term.quit()
    assert changed > 100  # the step changed the panes' numbers and bars
    # Characters written: the changed cells, and short runs of unchanged
    # ones between changed runs (cheaper than a cursor move over them).
    assert changed <= written <= 1.5 * changed, (written, changed)
    assert len(step) * 4 < textual_step, (len(step), textual_step)
    assert len(step) * 3 < len(full), (len(step), len(full))


def test_ctrl_l_repairs_a_screen_another_program_wrote_over(tmp_path):
    """Only changed cells are sent, so text another program wrote over the
    screen (a wall message) would stay; ctrl+l writes every cell again."""
    term = start(tmp_path, (80, 24))
    try:
        before = settled(term)
        term.stream.feed(b"\x1b[6;10H\x1b[0mBroadcast message from root: going down")
        assert cells(term.screen) != before
        term.key(b"\x0c")  # ctrl+l
        term.read(0.5)
        after = cells(term.screen)
    finally:
        term.quit()
    assert after == before, differences(after, before)
