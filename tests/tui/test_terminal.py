"""The app in a real pseudo-terminal, as a user's terminal runs it: bytes in,
bytes out, the exit code, and the terminal left as it was found.

Each run is bounded: it waits at most ``TIMEOUT`` seconds for the first frame
and for the exit, then kills the process and fails.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lstm_tui.core.trace import Layer, Trace

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "traces" / "seed_demo.npz"
TIMEOUT = 30.0

#: What the app must have written last when it leaves: the main screen back
#: (alternate screen off) and mouse reporting off.
ALT_SCREEN_OFF = b"\x1b[?1049l"
MOUSE_OFF = b"\x1b[?1000l"


def _read_until(fd: int, out: bytearray, needle: bytes | None, deadline: float, proc: subprocess.Popen) -> bool:
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed its end
                return needle is None
            if not chunk:
                return needle is None
            out.extend(chunk)
            if needle is not None and needle in out:
                return True
        elif needle is None and proc.poll() is not None:
            return True
    return False


def run_in_pty(args: list[str], keys: list[bytes | Callable[[], object]], size: tuple[int, int] = (80, 24),
               first: bytes | None = b"lstm-tui", code: str | None = None) -> tuple[int, bytes]:
    """Run ``lstm-tui ARGS`` (or ``python -c CODE ARGS``) in a pty of
    ``size``, wait for ``first`` in its output (its first frame), type
    ``keys`` (0.4 s apart; a callable among them is called instead, to do
    something to the app's files meanwhile), and return its exit code and
    all it wrote."""
    master, slave = os.openpty()
    cols, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8"}
    env.pop("TEXTUAL", None)
    command = [sys.executable, "-m", "lstm_tui"] if code is None else [sys.executable, "-c", code]
    proc = subprocess.Popen([*command, *args], stdin=slave, stdout=slave, stderr=slave,
                            env=env, start_new_session=True, close_fds=True, cwd=REPO)
    os.close(slave)
    out = bytearray()
    try:
        if first is not None:
            assert _read_until(master, out, first, time.monotonic() + TIMEOUT, proc), bytes(out[-2000:])
        for key in keys:
            time.sleep(0.4)
            if callable(key):
                key()
            else:
                os.write(master, key)
            _read_until(master, out, b"\x00never", time.monotonic() + 0.05, proc)
        _read_until(master, out, None, time.monotonic() + TIMEOUT, proc)
        code = proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    return code, bytes(out)


@pytest.mark.parametrize("noise", [b"\xff", b"\x80", b"\xc3\x28", b"\xe9t\xe9"],
                         ids=["ff", "80", "c3-28", "latin-1"])
def test_bytes_that_are_not_utf8_do_nothing_and_q_still_quits(noise):
    """An 8-bit Alt key or a Latin-1 terminal sends bytes that are not UTF-8;
    they used to end the app with UnicodeDecodeError in the input thread."""
    code, out = run_in_pty(["--no-model", str(SEED)], [noise, b"l", b"q"])
    assert code == 0, out[-3000:].decode("utf-8", "replace")
    assert b"UnicodeDecodeError" not in out and b"Traceback" not in out
    # The terminal is handed back: the main screen, mouse reporting off.
    assert out.rfind(ALT_SCREEN_OFF) > out.rfind(b"\x1b[?1049h")
    assert out.rfind(MOUSE_OFF) > out.rfind(b"\x1b[?1000h")


def test_a_crash_exits_non_zero_and_restores_the_terminal():
    """An error inside the app ends it with Textual's report, the terminal
    handed back, and an exit code that says it failed."""
    crash = ("import sys\n"
             "from lstm_tui.tui import vector_pane\n"
             "def boom(self, y):\n"
             "    raise RuntimeError('a drawing bug')\n"
             "vector_pane.VectorPane.render_line = boom\n"
             "from lstm_tui.cli import main\n"
             "main(sys.argv[1:])\n")
    code, out = run_in_pty(["--no-model", str(SEED)], [], first=None, code=crash)
    assert code == 1
    assert b"a drawing bug" in out
    assert out.rfind(ALT_SCREEN_OFF) > out.rfind(b"\x1b[?1049h") >= 0


def plain(out: bytes) -> str:
    """What the app wrote, without its escape sequences."""
    return re.sub(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]", "", out.decode("utf-8", "replace"))


def on_screen(out: bytes, size: tuple[int, int] = (80, 24)) -> str:
    """The app's last screen, as a terminal of ``size`` shows it (its
    lines, one a line): a step writes only the cells that changed
    (``tui/wire.py``), so a text on screen need not be in the output whole."""
    import pyte

    screen = pyte.Screen(*size)
    pyte.ByteStream(screen).feed(out[:out.rfind(ALT_SCREEN_OFF)] if ALT_SCREEN_OFF in out else out)
    return "\n".join(screen.display)


def restored(out: bytes) -> bool:
    return out.rfind(ALT_SCREEN_OFF) > out.rfind(b"\x1b[?1049h") >= 0 and \
        out.rfind(MOUSE_OFF) > out.rfind(b"\x1b[?1000h")


#: ``python -c`` that runs the command line with every trace memory-mapped,
#: as a file larger than ``files.IN_MEMORY_BELOW`` is.
MAPPED = ("import sys\n"
          "from lstm_tui.tui import files\n"
          "files.IN_MEMORY_BELOW = 0\n"
          "from lstm_tui.cli import main\n"
          "main(sys.argv[1:])\n")


def big_trace(T: int = 20_000, H: int = 32) -> Trace:
    rng = np.random.default_rng(0)

    def a() -> np.ndarray:
        return rng.uniform(0, 1, (T, H)).astype(np.float32)

    layer = Layer(x=a(), f=a(), i=a(), c_hat=a(), c=a(), o=a(), h=a(), h0=np.zeros(H, np.float32),
                  c0=np.zeros(H, np.float32), name="big")
    return Trace(layers=[layer], source="test: big")


@pytest.mark.parametrize("mapped", [True, False], ids=["mapped", "in-memory"])
def test_a_trace_truncated_while_open_does_not_kill_the_app(tmp_path, mapped):
    """Truncating a memory-mapped trace and stepping to its last step used to
    end the app with SIGBUS (exit -7 / 135), the terminal left in the
    alternate screen with the mouse on. The last step's rows of every gate
    lie past the half of the file the truncation keeps."""
    path = tmp_path / "big.npz"
    big_trace().save(path)
    size = path.stat().st_size
    code, out = run_in_pty(["--no-model", str(path)],
                           [lambda: time.sleep(1), lambda: os.truncate(path, size // 2), b"\x1b[F",
                            lambda: time.sleep(1.5), b"q"],
                           code=MAPPED if mapped else None)
    text = plain(out)
    assert code == 0, text[-3000:]
    assert "Bus error" not in text and "Traceback" not in text
    assert restored(out)
    screen = on_screen(out)
    if mapped:
        assert "the trace's file changed" in screen  # the dialog
        assert "o open another trace · q quit" in screen
    else:
        assert "t = 19999 of 0…19999" in screen  # in memory: End went to the last step
        assert "the trace as it was loaded." in screen  # the notice's last line


def test_q_quits_while_a_load_is_stuck():
    """A load that never returns (a file on a mount that stopped answering)
    used to keep the process alive after q: Textual's thread workers run in
    asyncio's default executor, whose threads are joined on the way out."""
    stuck = ("import sys, time\n"
             "from lstm_tui.tui import app\n"
             "def load(path, *args, **kwargs):\n"
             "    time.sleep(10 ** 6)\n"
             "app.load_trace = load\n"
             "from lstm_tui.cli import main\n"
             "main(sys.argv[1:])\n")
    start = time.monotonic()
    code, out = run_in_pty(["--no-model", str(SEED)], [b"o", b"/slow/mount/run.npz", b"\r", b"q"], code=stuck)
    assert code == 0, plain(out)[-3000:]
    assert time.monotonic() - start < TIMEOUT
    assert restored(out)
