"""The bench's terminal figures (``bench.py --only wire,slowlink``): what the
app writes to a real terminal per step, and whether it keeps up over a slow
link.

wire
    ``lstm-tui`` with no argument (the bundled trace) in a pseudo-terminal at
    120×40 and at 80×24, TERM=xterm-256color, COLORTERM=truecolor; → steps
    (t = 0 → 1 → 2, then Home, unmeasured, and again). Each step's bytes are
    counted, and a terminal emulator (pyte) renders the output: the floor is
    what the cells the step changed need at the least (for each run of
    changed cells on a row a cursor move, each cell's character, colour codes
    where the colour changes from the cell written before). The same steps
    with Textual's own renderer (the app's display hook taken out) are
    measured beside it.
slow link
    The app in a pseudo-terminal whose master is bridged to a TCP socket,
    through a proxy (a Python process on loopback) that carries each
    direction at 1 Mbit/s with 50 ms one-way delay (100 ms RTT) and reads
    eagerly (as sshd does: the app never feels the link), to a client that
    renders with pyte and holds → at 30 keys/s for 5 s on a trace of 400
    steps. Settle: from the last key to the last byte, once the client's
    screen shows the step the keys reached. The baseline is the link's own
    time for one step's frame (its bytes at 1 Mbit/s plus the one-way
    delay). Textual's own renderer is measured beside it.
"""

from __future__ import annotations

import fcntl
import os
import queue
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: ``python -c`` prefix that takes the cell-diffing renderer out: Textual
#: writes every frame itself, as before it.
PLAIN = ("from textual.app import App\n"
         "from lstm_tui.tui import textual_private\n"
         "textual_private.CellDiffingDisplay._display = lambda self, screen, r: App._display(self, screen, r)\n")
RUN = "import sys\nfrom lstm_tui.cli import main\nmain(sys.argv[1:])\n"

RIGHT, HOME = b"\x1b[C", b"\x1b[H"


def _env() -> dict[str, str]:
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8"}
    for key in ("TEXTUAL", "TEXTUAL_SCREENSHOT", "TEXTUAL_PRESS"):
        env.pop(key, None)
    return env


def spawn(args: list[str], size: tuple[int, int], plain: bool) -> tuple[subprocess.Popen[bytes], int]:
    """``lstm-tui ARGS`` in a new pty of ``size``; the process and the master."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    code = (PLAIN if plain else "") + RUN
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdin=slave, stdout=slave, stderr=slave,
                            env=_env(), start_new_session=True, close_fds=True, cwd=ROOT)
    os.close(slave)
    return proc, master


def stop(proc: subprocess.Popen[bytes], master: int) -> None:
    try:
        os.write(master, b"\x11")  # ctrl+q
        proc.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        pass
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)


def read_quiet(fd: int, quiet: float, limit: float, until: bytes | None = None) -> bytes:
    got = bytearray()
    deadline = time.monotonic() + limit
    last = time.monotonic()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.02)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
            last = time.monotonic()
        elif time.monotonic() - last >= quiet and (until is None or until in got):
            break
    return bytes(got)


# --------------------------------------------------------------------------
# Bytes per step and the floor
# --------------------------------------------------------------------------


def _look(char: Any) -> tuple[Any, ...]:
    return (char.fg, char.bg, char.bold, char.italics, char.underscore, char.strikethrough, char.reverse,
            char.blink)


def _colour(value: str, fg: bool) -> str:
    if value == "default":
        return "39" if fg else "49"
    if len(value) == 6:
        r, g, b = (int(value[k:k + 2], 16) for k in (0, 2, 4))
        return f"{38 if fg else 48};2;{r};{g};{b}"
    return "31" if fg else "41"  # a named colour: two digits


def _sgr_bytes(old: tuple[Any, ...], new: tuple[Any, ...]) -> int:
    """The least a terminal needs to go from look ``old`` to ``new``."""
    if old == new:
        return 0
    attrs_old, attrs_new = old[2:], new[2:]
    if any(o and not n for o, n in zip(attrs_old, attrs_new)):
        codes = ["0"] + ["1"] * sum(attrs_new) + [_colour(new[0], True), _colour(new[1], False)]
    else:
        codes = ["1"] * sum(1 for o, n in zip(attrs_old, attrs_new) if n and not o)
        if new[0] != old[0]:
            codes.append(_colour(new[0], True))
        if new[1] != old[1]:
            codes.append(_colour(new[1], False))
    return len("\x1b[" + ";".join(codes) + "m")


def floor_bytes(before: Any, after: Any) -> tuple[int, int]:
    """(changed cells, the bytes they need at the least) between two pyte
    screens of one size: only the changed cells written, each run of them
    reached by the shorter of an absolute and a forward cursor move, colour
    codes only for what changes from the cell written before, one reset at
    the end."""
    changed = total = 0
    default = ("default", "default", False, False, False, False, False, False)
    look = default
    for y in range(after.lines):
        row_b, row_a = before.buffer[y], after.buffer[y]
        end: int | None = None  # where the last run on this row ended
        for x in range(after.columns):
            a = row_a[x]
            if a == row_b[x]:
                continue
            changed += 1
            if end != x:
                absolute = len(f"\x1b[{y + 1};{x + 1}H")
                total += absolute if end is None else min(absolute, len(f"\x1b[{x - end}C"))
            total += _sgr_bytes(look, _look(a)) + len(a.data.encode("utf-8"))
            look, end = _look(a), x + 1
    if look != default:
        total += len("\x1b[0m")
    return changed, total


def steps(size: tuple[int, int], plain: bool, cycles: int) -> dict[str, Any]:
    """Bytes per → step of ``lstm-tui`` (the bundled trace) at ``size``,
    with the floor of each step."""
    import pyte

    proc, master = spawn([], size, plain)
    screen = pyte.Screen(*size)
    stream = pyte.ByteStream(screen)
    out: list[tuple[int, int, int]] = []
    try:
        first = read_quiet(master, 0.6, 60, until=b"lstm-tui")
        stream.feed(first)
        for _ in range(cycles):
            for key in (RIGHT, RIGHT, HOME):
                before = pyte.Screen(*size)
                before.buffer = {y: dict(screen.buffer[y]) for y in range(size[1])}  # type: ignore[assignment]
                os.write(master, key)
                data = read_quiet(master, 0.3, 10)
                stream.feed(data)
                if key == RIGHT:
                    changed, floor = floor_bytes(before, screen)
                    out.append((len(data), changed, floor))
    finally:
        stop(proc, master)
    return {"first": len(first), "bytes": statistics.median(b for b, _, _ in out),
            "changed": statistics.median(c for _, c, _ in out), "floor": statistics.median(f for _, _, f in out),
            "steps": len(out)}


# --------------------------------------------------------------------------
# The slow link
# --------------------------------------------------------------------------


def _carry(src: socket.socket, dst: socket.socket, rate: float, delay: float) -> None:
    """Bytes from ``src`` to ``dst`` at ``rate`` bytes/s, each arriving
    ``delay`` s after it has been sent; ``src`` is read as fast as it comes."""
    chunks: queue.Queue[tuple[float, bytes] | None] = queue.Queue()

    def reader() -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                chunks.put(None)
                return
            chunks.put((time.monotonic(), data))

    threading.Thread(target=reader, daemon=True).start()
    free = 0.0
    while True:
        item = chunks.get()
        if item is None:
            break
        arrived, data = item
        for k in range(0, len(data), 1460):
            packet = data[k:k + 1460]
            free = max(free, arrived) + len(packet) / rate
            wait = free + delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                dst.sendall(packet)
            except OSError:
                return
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def run_proxy(rate: float, delay: float) -> None:
    """The proxy process: two listening ports on loopback (the app's side,
    the client's side), printed on one line; carries both directions."""
    servers = []
    for _ in range(2):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        servers.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in servers), flush=True)
    app, _ = servers[0].accept()
    client, _ = servers[1].accept()
    for conn in (app, client):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = threading.Thread(target=_carry, args=(client, app, rate, delay), daemon=True)
    t.start()
    _carry(app, client, rate, delay)


def slow_link(trace: Path, plain: bool, *, rate: float = 125_000.0, delay: float = 0.05, keys_per_s: float = 30,
              hold: float = 5.0, size: tuple[int, int] = (120, 40)) -> dict[str, Any]:
    """Hold → over the emulated link; when the client's screen settled."""
    import pyte

    proxy = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--proxy", str(rate), str(delay)],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proxy.stdout is not None
    app_port, client_port = (int(p) for p in proxy.stdout.readline().split())
    proc, master = spawn([str(trace)], size, plain)
    app_side = socket.create_connection(("127.0.0.1", app_port))
    client = socket.create_connection(("127.0.0.1", client_port))
    for conn in (app_side, client):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def pty_to_link() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            app_side.sendall(data)

    def link_to_pty() -> None:
        while True:
            try:
                data = app_side.recv(65536)
            except OSError:
                break
            if not data:
                break
            os.write(master, data)

    screen = pyte.Screen(*size)
    stream = pyte.ByteStream(screen)
    lock = threading.Lock()
    state = {"bytes": 0, "last": time.monotonic()}

    def client_reads() -> None:
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                break
            if not data:
                break
            with lock:
                stream.feed(data)
                state["bytes"] += len(data)
                state["last"] = time.monotonic()

    for fn in (pty_to_link, link_to_pty, client_reads):
        threading.Thread(target=fn, daemon=True).start()

    def shows(text: str) -> bool:
        with lock:
            return any(text in line for line in screen.display)

    result: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (shows("t = 0 of") and time.monotonic() - state["last"] > 1):
            time.sleep(0.05)
        start_bytes = state["bytes"]
        n = int(hold * keys_per_s)
        t0 = time.monotonic()
        for k in range(n):
            wait = t0 + k / keys_per_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            client.sendall(RIGHT)
        last_key = time.monotonic()
        target = f"t = {n} of"
        deadline = last_key + 90
        while time.monotonic() < deadline:
            if shows(target) and time.monotonic() - state["last"] > 2.0:
                break
            time.sleep(0.05)
        result = {"settle": state["last"] - last_key, "reached": shows(target), "keys": n,
                  "bytes": state["bytes"] - start_bytes}
    finally:
        stop(proc, master)
        for conn in (app_side, client):
            conn.close()
        proxy.kill()
        proxy.wait()
    return result


if __name__ == "__main__" and sys.argv[1:2] == ["--proxy"]:
    run_proxy(float(sys.argv[2]), float(sys.argv[3]))
