"""The benchmark of issue 7: every speed and memory figure against a baseline
measured in the same run, on the machine it runs on.

    .venv/bin/python tests/bench.py            # all figures (a few minutes)
    .venv/bin/python tests/bench.py --quick    # smaller sizes, a smoke run
    .venv/bin/python tests/bench.py --only keys,steps

Run it from the repository root with the project's virtual environment. It
prints a table, then one JSON line per figure with the keys ``name``,
``value``, ``baseline``, ``ratio``, ``target``, ``unit`` and ``met`` (null
for a figure shown for information only). Nothing
here is an assertion: a missed target is reported, not failed (timed
assertions in tests are flaky; a ratio against a baseline measured beside it
is not). pytest does not collect this file (its name is not ``test_*.py``).

Absolute times depend on the machine; each figure is therefore a ratio to a
baseline that does the least work the same measurement could possibly do,
started and measured the same way:

start-up
    Time from launching a fresh ``python`` process to the first composed
    frame of ``lstm-tui TRACE`` (the CLI's own ``main`` on the bundled trace;
    the model panel defers loading, so TensorFlow must stay out, and the
    bench warns if it does not). Baseline: a bare Textual app with one Static
    and a Footer, launched by the same driver in the same Python, headless,
    at the same size. Both pay interpreter and Textual start-up; the ratio
    is what lstm-tui adds (click, NumPy, loading the trace, its widgets).
    Beside it, for information, the floor NumPy sets: the same bare app
    started after ``import numpy`` (any app that reads a trace pays it).
key press
    CPU time of the process per → press (300 presses; the median of three
    interleaved rounds) on a trace with H = 1024 at 120×40. Each press is delivered as the terminal driver
    delivers it (a Key event posted to the app), and the next one waits
    for the frame this one caused, so every press is drawn. Baseline: a
    bare app whose one Static fills the screen with new random numbers on
    every press: the cheapest possible full-screen repaint, so a ratio near
    1 means the debugger costs what redrawing the screen costs. Two more
    measurements are shown for information: the floor, the debugger's CPU
    per frame when the widgets a step redraws are refreshed with nothing
    changed (what Textual costs to repaint this screen, before lstm-tui
    computes anything), and the same presses through Pilot (``press`` then
    ``pause``), whose waiting on every widget makes it cost more on a
    screen of many widgets.
record
    Recording every gate of an LSTM (D = 64, H = 256, T = 2000) with the
    NumPy cell (``LSTMCell.forward`` on the layer's weights, float32),
    against Keras' own compiled forward of the same layer
    (``predict_on_batch``, warmed up), which computes only h. The full
    ``keras.record(..., verify=True)``, which also runs Keras to
    capture the input and to check the recording, is reported beside it, and
    so is the floor: the 2000 recurrent products U·h alone.
large trace
    Time from process start to the first frame of a ~1 GiB trace (seven
    (T, 1024) float32 arrays), against a ~1 MB trace of the same width:
    opening must not read the file. The child's peak RSS (VmHWM, which
    counts memory-mapped file pages that were touched) is the second figure.
random steps
    Wall time per jump to a random step (setting the debugger's ``t`` as the
    go-to-step dialog does, then letting every widget settle and the frame
    be composed) on the 1 GiB trace, against the same jumps on the 1 MB
    trace: a step must cost the same whatever the length of the trace.
    ``settle`` is ``Pilot.pause`` without its idle detection, whose 20 ms
    sleeps would add the same constant to both sides.
long trace
    CPU time per key press on a 60 000-step recording with the bundled
    trace's widths (H = 32, D = 26, weights and tokens) against the bundled
    3-step trace, each press delivered as the terminal driver delivers it
    and drawn (→ ← End Home in turn, ending on End, where the debugger must
    then stand; the median of interleaved rounds): nothing a key does may
    cost in proportion to the length. The same presses on a 60 000-step
    trace of H = 512, D = 64 (about 750 MB, memory-mapped) are shown beside
    it (that adds width, not length). Second figure: the largest stall of
    the event loop (the longest a task that sleeps 1 ms waited beyond it)
    while a breakpoint scan of the 750 MB trace runs in its worker (a
    condition that reads c, c_{t-1} and h at every step, the file dropped
    from the page cache first so it is read from disk, → pressed all
    along), against the largest stall over the same presses with no scan.
    The presses that moved the debugger during the scan are counted.
    ``--quick``: H = 64 for the scan.
record at scale
    Peak resident memory (VmHWM) of a process that records an LSTM(512)
    with D = 64 over T = 60 000 steps into a trace file of about 750 MB
    (``keras.record(..., out=...)``, verified), against the issue's limit
    max(1.5 × the trace's size, 1 GB): the baseline is that limit, so a
    ratio ≤ 1 meets it. Beside it, for information: the time, and
    TensorFlow's own share (the resident set once TensorFlow is imported
    and the model built, before recording). ``--quick`` records 6 000 steps.
query
    One next-letter query (``Predictor.top(text, 5)``, the model panel's
    path once the model is loaded) against ``model.predict`` of the same
    Keras model on the same input, the call a naive panel would make.
long session
    Growth of the resident set over 10 000 key presses (→ ← ↓ ↑ PgDn Home
    End, in a fixed random order) on the bundled trace, after a warm-up; the
    bare app's growth over the same presses is shown beside it. Keys are
    delivered as the terminal driver delivers them, each followed by a frame
    (``Pilot.press`` and ``pause`` would sleep 60 ms a press: ten minutes).
    The bench checks that every press took effect. If the presses do not fit
    a time budget (45 s), the session stops and the growth is scaled
    linearly to 10 000 presses, which the output says; ``--full-session``
    runs them all.

wire, slow link
    What one → step writes to a real terminal (a pseudo-terminal, the output
    rendered by pyte) at 120×40 and 80×24, against the least the cells it
    changed need; and how long the screen takes to settle after → is held at
    30 keys/s for 5 s over an emulated 1 Mbit/s, 100 ms RTT link, against
    the link's own time for one step's frame. Textual's own renderer is
    measured beside both. ``bench_wire.py`` says how.

The UI figures run each app in its own subprocess, headless (Textual draws
every frame but does not serialise it for a terminal, for both sides alike),
so no figure disturbs another. Large traces are written to a temporary
folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_TRACE = ROOT / "lstm_tui" / "traces" / "next_letter.npz"
#: Terminal size of every UI figure.
SIZE = (120, 40)
RESULT = "BENCH_RESULT "
MB = 1024 * 1024


# --------------------------------------------------------------------------
# The one place that knows how the app exposes its state
# --------------------------------------------------------------------------


def make_debugger_app(trace: Any) -> Any:
    """The debugger on ``trace`` as ``lstm-tui TRACE --no-model`` builds it."""
    from lstm_tui.tui.app import make_app

    return make_app(trace, load_model=False)


def debugger_state(app: Any) -> Any:
    """The object that owns the reactives ``t``, ``unit`` and
    ``layer_index`` (the debugger screen)."""
    return app.debugger


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure: ``value`` against ``baseline`` (same unit), and
    a target on their ratio or on the value itself."""

    name: str
    value: float
    baseline: float | None
    unit: str
    target: str  # e.g. "ratio <= 1.2" or "value <= 250"
    limit: float
    on: str  # "ratio" or "value": what the limit applies to; "info": no target
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        """None for a figure shown for information, with no target."""
        if self.on == "info":
            return None
        measured = self.ratio if self.on == "ratio" else self.value
        return measured is not None and measured <= self.limit

    def json(self) -> str:
        r = self.ratio
        return json.dumps({
            "name": self.name,
            "value": _round(self.value),
            "baseline": None if self.baseline is None else _round(self.baseline),
            "ratio": None if r is None else _round(r),
            "target": self.target,
            "unit": self.unit,
            "met": self.met,
            **({"note": self.note} if self.note else {}),
        }, ensure_ascii=False)


def _round(v: float) -> float:
    if v == 0 or not math.isfinite(v):
        return v
    return round(v, max(0, 4 - int(math.floor(math.log10(abs(v))))))


def _fmt(v: float | None) -> str:
    if v is None:
        return "–"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def warn(text: str) -> None:
    print(f"WARNING: {text}", file=sys.stderr, flush=True)


def log(text: str) -> None:
    print(f"  · {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Subprocesses
# --------------------------------------------------------------------------

#: The start-up driver, run as ``python -c``: identical for the app and the
#: baseline up to the last lines. It hooks ``App._display`` (called with
#: each composed frame, also when headless) to note the time of the first
#: frame and exit, and makes ``App.run`` headless at the bench's size.
FIRST_FRAME_DRIVER = r"""
import os, sys, time
_T0 = float(os.environ["LSTM_BENCH_T0"])
import textual.app as _ta
_state = {}

def _status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(rest.split()[0]) * 1024
    return out

_display = _ta.App._display

def _hooked(self, screen, renderable):
    _display(self, screen, renderable)
    if (not _state and renderable is not None and self._running and not self._batch_count
            and screen is self.screen):
        _state["first_frame"] = time.time() - _T0
        _state.update(_status())
        _state["screen"] = type(screen).__name__
        _state["tensorflow"] = "tensorflow" in sys.modules
        if os.environ.get("LSTM_BENCH_TEXT"):
            import io
            from rich.console import Console
            console = Console(width=self.size.width, height=self.size.height, file=io.StringIO(),
                              record=True, force_terminal=True, color_system="truecolor")
            console.print(renderable)
            _state["text"] = console.export_text()
        self.exit()

_ta.App._display = _hooked
_run = _ta.App.run

def _headless_run(self, *args, **kwargs):
    kwargs["headless"] = True
    kwargs["size"] = ({size})
    return _run(self, *args, **kwargs)

_ta.App.run = _headless_run
{app}
import json
print("{result}" + json.dumps(_state), flush=True)
"""

#: The lstm-tui side: its console script's ``main`` with the trace as the
#: only argument, as a user types ``lstm-tui TRACE``.
FIRST_FRAME_LSTM = r"""
from lstm_tui.cli import main
try:
    main([os.environ["LSTM_BENCH_TRACE"]])
except SystemExit:
    pass
"""

#: For the start-up floor: NumPy imported first (the cheapest app that reads
#: a trace cannot do without it).
FIRST_FRAME_NUMPY = "import numpy\n"

#: The baseline: a bare Textual app, one Static and a Footer.
FIRST_FRAME_BARE = r"""
from textual.app import App
from textual.widgets import Footer, Static

class Bare(App):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self):
        yield Static("bare")
        yield Footer()

Bare().run()
"""


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    # Textual's developer tooling off, whatever the caller's shell says.
    for key in ("TEXTUAL", "TEXTUAL_SCREENSHOT", "TEXTUAL_PRESS"):
        env.pop(key, None)
    # Byte code as an installed package has it: pip compiles what it installs,
    # and an editable checkout is compiled by its first import, unless the
    # shell forbids writing byte code, which would make every run of lstm-tui
    # (not of Textual, compiled at install) pay its compilation.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def _parse_result(proc: subprocess.CompletedProcess[str], what: str) -> dict[str, Any]:
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
    raise RuntimeError(f"{what}: no result (exit {proc.returncode})\n" + "\n".join(tail))


def first_frame(kind: str, trace: Path | None = None, text: bool = False) -> dict[str, Any]:
    """Launch a fresh process running the lstm-tui CLI on ``trace`` (kind
    "lstm"), the bare app ("bare") or the bare app after ``import numpy``
    ("numpy"); its first frame time and memory."""
    app = {"lstm": FIRST_FRAME_LSTM, "bare": FIRST_FRAME_BARE,
           "numpy": FIRST_FRAME_NUMPY + FIRST_FRAME_BARE}[kind]
    code = FIRST_FRAME_DRIVER.replace("{size}", f"{SIZE[0]}, {SIZE[1]}").replace(
        "{result}", RESULT).replace("{app}", app)
    extra = {"LSTM_BENCH_TRACE": str(trace or "")}
    if text:
        extra["LSTM_BENCH_TEXT"] = "1"
    env = _env(**extra)
    t0 = time.time()
    env["LSTM_BENCH_T0"] = repr(t0)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    return _parse_result(proc, f"first frame ({kind})")


def child(mode: str, *args: str) -> dict[str, Any]:
    """Run ``bench.py --child MODE ARGS`` in a fresh process; its result."""
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", mode, *args],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=1800)
    return _parse_result(proc, f"child {mode}")


# --------------------------------------------------------------------------
# Traces
# --------------------------------------------------------------------------


def write_tiled_trace(path: Path, T: int, H: int, D: int, seed: int = 0) -> int:
    """A trace of seven (T, ·) float32 arrays, no weights, filled by tiling a
    small random block (cheap: no random generator over a gigabyte). Values
    lie in each vector's natural range. Returns the file's size."""
    import numpy as np

    from lstm_tui.core.trace import Layer, Trace, save

    rng = np.random.default_rng(seed)
    rows = 97  # prime, so the tiles of different arrays do not line up
    block = rng.random((rows, max(H, D)), dtype=np.float32)

    def tiled(width: int, lo: float, hi: float, shift: int) -> np.ndarray:
        b = np.roll(block[:, :width], shift, axis=0) * np.float32(hi - lo) + np.float32(lo)
        return np.tile(b, (-(-T // rows), 1))[:T]

    layer = Layer(
        x=tiled(D, -1, 1, 0), f=tiled(H, 0, 1, 1), i=tiled(H, 0, 1, 2), c_hat=tiled(H, -1, 1, 3),
        c=tiled(H, -3, 3, 4), o=tiled(H, 0, 1, 5), h=tiled(H, -1, 1, 6),
        h0=np.zeros(H, np.float32), c0=np.zeros(H, np.float32), name="lstm",
    )
    save(Trace(layers=[layer], source=f"bench: tiled T={T} H={H} D={D}"), path)
    del layer
    return path.stat().st_size


def write_forward_trace(path: Path, T: int, H: int, D: int, seed: int = 0) -> None:
    """A real recording (weights included, so the explain pane computes every
    term): a random LSTM in float32 over random inputs."""
    import numpy as np

    from lstm_tui.core.lstm import GATES, LSTMCell
    from lstm_tui.core.trace import Layer, Trace, save

    rng = np.random.default_rng(seed)
    s_in, s_rec = 1 / math.sqrt(D), 1 / math.sqrt(H)
    cell = LSTMCell(
        W={g: rng.uniform(-s_in, s_in, (H, D)).astype(np.float32) for g in GATES},
        U={g: rng.uniform(-s_rec, s_rec, (H, H)).astype(np.float32) for g in GATES},
        b={g: rng.uniform(-0.1, 0.1, H).astype(np.float32) for g in GATES},
    )
    x = rng.normal(size=(T, D)).astype(np.float32)
    rec = cell.forward(x, dtype=np.float32)
    tokens = np.array([f"w{t}" for t in range(T)])
    save(Trace(layers=[Layer.from_recording(rec, name="lstm", cell=cell)], tokens=tokens,
               source=f"bench: forward T={T} H={H} D={D}"), path)


# --------------------------------------------------------------------------
# Child processes (run as ``bench.py --child MODE ...``)
# --------------------------------------------------------------------------


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def settle(pilot: Any) -> None:
    """What ``Pilot.pause()`` does, minus its idle detection (which sleeps at
    least 20 ms, and would add a constant to every timed step): let every
    widget process what is pending (twice, for messages posted meanwhile),
    then compose and paint the frame."""
    await pilot._wait_for_screen()
    await pilot._wait_for_screen()
    pilot.app.screen._on_timer_update()


async def press_and_settle(pilot: Any, key: str) -> None:
    """One key press as the terminal driver delivers it, then ``settle``
    (``Pilot.press`` also sleeps twice per key to detect idleness)."""
    from textual import events

    event = events.Key(key, None)
    event.set_sender(pilot.app)
    await pilot.app._post_message(event)
    await settle(pilot)


def _bare_repaint_app() -> Any:
    """The baseline of the key press and long session figures: one Static
    filling the screen, refilled with new random numbers on every key the
    debugger binds (so every press repaints the whole screen)."""
    import numpy as np
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.content import Content
    from textual.widgets import Static

    class Repaint(App[None]):
        CSS = "Static { width: 1fr; height: 1fr; }"
        BINDINGS = [Binding(k, "repaint") for k in
                    ("right", "left", "up", "down", "pageup", "pagedown", "home", "end")]

        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng(0)
            self.presses = 0

        def compose(self) -> ComposeResult:
            yield Static(id="numbers")

        def on_mount(self) -> None:
            self.action_repaint()
            self.presses = 0

        def action_repaint(self) -> None:
            self.presses += 1
            width, height = self.size
            cols = max(1, (width + 1) // 8)
            values = self.rng.random((height, cols))
            text = "\n".join(" ".join(f"{v:7.4f}" for v in row) for row in values)
            self.query_one("#numbers", Static).update(Content(text))

    return Repaint()


class FrameWaiter:
    """Wakes whoever waits when the app composes its next frame (a hook on
    ``App._display``, which Textual calls with each frame, headless too)."""

    def __init__(self) -> None:
        from textual.app import App

        self.frames = 0
        self._event: Any = None
        original = App._display

        def display(app: Any, screen: Any, renderable: Any) -> None:
            original(app, screen, renderable)
            if renderable is not None:
                self.frames += 1
                if self._event is not None:
                    self._event.set()

        App._display = display  # type: ignore[method-assign]

    async def after(self, action: Any) -> None:
        """Run ``action()``, then wait for the frame it causes."""
        import asyncio

        self._event = asyncio.Event()
        action()
        await asyncio.wait_for(self._event.wait(), timeout=10)


def _post_key(app: Any, key: str) -> None:
    """A key press as the terminal driver delivers it."""
    from textual import events

    event = events.Key(key, None)
    event.set_sender(app)
    app.post_message(event)


def _step_refreshes(app: Any) -> list[Any]:
    """The widgets a → press refreshes (recorded during one press)."""
    from textual.widget import Widget

    seen: dict[int, Any] = {}
    original = Widget.refresh

    def refresh(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.setdefault(id(self), self)
        return original(self, *args, **kwargs)

    Widget.refresh = refresh  # type: ignore[method-assign]
    try:
        debugger_state(app).action_step(1)
    finally:
        Widget.refresh = original  # type: ignore[method-assign]
    return [w for w in seen.values() if w.is_attached]


async def _child_keys(kind: str, trace_path: str, presses: int, warmup: int) -> dict[str, Any]:
    """CPU per press (``kind`` "lstm" or "bare"), or per repaint with nothing
    changed ("floor": the debugger's step widgets refreshed as they are)."""
    import asyncio
    import gc

    waiter = FrameWaiter()
    if kind == "bare":
        app = _bare_repaint_app()
    else:
        from lstm_tui.core.trace import load

        app = make_debugger_app(load(trace_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        if kind == "floor":
            widgets = _step_refreshes(app)
            await pilot.pause()

            def act() -> None:
                for widget in widgets:
                    widget.refresh()
        else:
            def act() -> None:
                _post_key(app, "right")
        for _ in range(warmup):
            await waiter.after(act)
        await asyncio.sleep(0.1)
        gc.collect()
        frames = waiter.frames
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(presses):
            await waiter.after(act)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        frames = waiter.frames - frames
        result: dict[str, Any] = {"cpu_per_press": cpu / presses, "wall_per_press": wall / presses,
                                  "frames": frames, "widgets": len(list(app.screen.walk_children(with_self=True)))}
        if kind == "floor":
            result["refreshed"] = sorted(type(w).__name__ + (f"#{w.id}" if w.id else "") for w in widgets)
            return result
        done = app.presses if kind == "bare" else debugger_state(app).t
        expected = warmup + presses
        if done != expected:
            raise RuntimeError(f"{kind}: {done} presses took effect, expected {expected}")
        # The same presses through Pilot, for comparison with test harness numbers.
        state_before = done
        c0 = time.process_time()
        n_pilot = max(presses // 3, 10)
        for _ in range(n_pilot):
            await pilot.press("right")
            await pilot.pause()
        result["pilot_cpu_per_press"] = (time.process_time() - c0) / n_pilot
        done = app.presses if kind == "bare" else debugger_state(app).t
        if done - state_before != n_pilot:
            raise RuntimeError(f"{kind}: Pilot presses took {done - state_before} effects, expected {n_pilot}")
    return result


async def _child_steps(trace_path: str, jumps: int) -> dict[str, Any]:
    import gc

    from lstm_tui.core.trace import load

    trace = load(trace_path)
    T = trace.steps
    app = make_debugger_app(trace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        state = debugger_state(app)
        warm = random.Random(1)
        for _ in range(10):
            state.t = warm.randrange(T)
            await settle(pilot)
        rng = random.Random(7)
        targets = [rng.randrange(T) for _ in range(jumps)]
        gc.collect()
        times = []
        c0, w0 = time.process_time(), time.perf_counter()
        for k in targets:
            s = time.perf_counter()
            state.t = k
            await settle(pilot)
            times.append(time.perf_counter() - s)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        if state.t != targets[-1]:
            raise RuntimeError(f"the debugger is at t = {state.t}, expected {targets[-1]}")
    return {"wall_per_jump": wall / jumps, "cpu_per_jump": cpu / jumps,
            "median_jump": statistics.median(times), "max_jump": max(times), "steps": T}


SESSION_KEYS = ("right", "left", "down", "up", "pagedown", "home", "end")


def _expected_state(keys: list[str], steps: int, units: int) -> tuple[int, int]:
    """Where (t, unit) must be after ``keys``: every key clamps at the ends."""
    t = unit = 0
    for key in keys:
        t = {"right": t + 1, "left": t - 1, "pagedown": t + 10, "home": 0, "end": steps - 1}.get(key, t)
        unit = {"down": unit + 1, "up": unit - 1}.get(key, unit)
        t, unit = min(max(t, 0), steps - 1), min(max(unit, 0), units - 1)
    return t, unit


async def _child_session(kind: str, presses: int, warmup: int, budget: float) -> dict[str, Any]:
    import gc

    trace = None
    if kind == "bare":
        app = _bare_repaint_app()
    else:
        from lstm_tui.core.trace import load

        trace = load(BUNDLED_TRACE)
        app = make_debugger_app(trace)
    rng = random.Random(11)
    keys = [rng.choice(SESSION_KEYS) for _ in range(warmup + presses)]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in keys[:warmup]:
            await press_and_settle(pilot, key)
        gc.collect()
        before = _rss()
        w0 = time.perf_counter()
        done = 0
        for key in keys[warmup:]:
            await press_and_settle(pilot, key)
            done += 1
            if budget and time.perf_counter() - w0 > budget:
                break
        wall = time.perf_counter() - w0
        gc.collect()
        after = _rss()
        if trace is not None:
            state = debugger_state(app)
            expected = _expected_state(keys[: warmup + done], trace.steps, trace.layers[0].units)
            if (state.t, state.unit) != expected:
                raise RuntimeError(f"after {warmup + done} presses the debugger is at (t, unit) = "
                                   f"{(state.t, state.unit)}, expected {expected}: presses were lost")
    return {"rss_before": before, "rss_after": after, "growth": after - before, "presses": done,
            "wall_per_press": wall / max(done, 1)}


def _median_time(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        s = time.perf_counter()
        fn()
        times.append(time.perf_counter() - s)
    return statistics.median(times)


def _child_record(T: int, H: int, D: int, repeat: int) -> dict[str, Any]:
    import numpy as np

    from lstm_tui.core.lstm import LSTMCell

    x = np.random.default_rng(0).normal(size=(T, D)).astype(np.float32)

    # First the NumPy recording in a process without TensorFlow (weights of
    # the same shapes and scale as Keras' initialisers): TensorFlow's own
    # thread pools, once loaded, compete with NumPy's on a small machine.
    rng = np.random.default_rng(1)
    a, r = math.sqrt(6 / (D + 4 * H)), 1 / math.sqrt(H)
    alone = LSTMCell.from_keras(rng.uniform(-a, a, (D, 4 * H)).astype(np.float32),
                                rng.uniform(-r, r, (H, 4 * H)).astype(np.float32),
                                np.zeros(4 * H, np.float32))
    alone.forward(x, dtype=np.float32)
    t_alone = _median_time(lambda: alone.forward(x, dtype=np.float32), repeat)

    from lstm_tui import keras as kb
    from lstm_tui.keras.quiet import _keras
    _, keras = _keras()  # the bridge's own quiet import of TensorFlow
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((None, D)), keras.layers.LSTM(H, return_sequences=True,
                                                                        name="lstm")])
    batch = x[None]
    for _ in range(3):
        model.predict_on_batch(batch)  # builds and compiles the predict function
    layer = model.get_layer("lstm")

    def numpy_recording() -> Any:
        kernel, recurrent, bias = layer.get_weights()
        cell = LSTMCell.from_keras(kernel, recurrent, bias)
        return cell.forward(x, dtype=np.float32)

    rec = numpy_recording()
    err = float(np.max(np.abs(rec.h - np.asarray(model.predict_on_batch(batch))[0])))
    # The floor of any NumPy recording: the recurrent product U·h_{t-1} of
    # every step, one matrix-vector product each (nothing else).
    U = np.ascontiguousarray(layer.get_weights()[1].T)
    h, out = np.zeros(H, np.float32), np.empty(4 * H, np.float32)

    def products() -> None:
        for _ in range(T):
            np.dot(U, h, out=out)

    # Interleaved, so that drift (TensorFlow's threads, the CPU's clock)
    # falls on all alike.
    keras_times, numpy_times, product_times = [], [], []
    for _ in range(repeat):
        s = time.perf_counter()
        model.predict_on_batch(batch)
        keras_times.append(time.perf_counter() - s)
        s = time.perf_counter()
        numpy_recording()
        numpy_times.append(time.perf_counter() - s)
        s = time.perf_counter()
        products()
        product_times.append(time.perf_counter() - s)
    kb.record(model, x, verify=True)  # warm-up: first tf.function traces
    t_record = _median_time(lambda: kb.record(model, x, verify=True), 2)
    return {"keras": statistics.median(keras_times), "numpy": statistics.median(numpy_times),
            "products": statistics.median(product_times),
            "numpy_without_tf": t_alone, "record_verified": t_record, "max_abs_error_h": err}


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _child_scale(T: int, H: int, D: int, out: str) -> dict[str, Any]:
    import numpy as np

    start = _status_kb("VmRSS")
    x = np.random.default_rng(0).normal(size=(T, D)).astype(np.float32)
    from lstm_tui import keras as kb
    from lstm_tui.keras.quiet import _keras
    _, keras = _keras()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((None, D)), keras.layers.LSTM(H, return_sequences=True, name="lstm")])
    tf_share = _status_kb("VmRSS")
    t = time.perf_counter()
    trace = kb.record(model, x, out=out)
    elapsed = time.perf_counter() - t
    layer = trace.layers[0]
    return {"peak": _status_kb("VmHWM"), "start": start, "tf": tf_share, "time": elapsed,
            "size": os.path.getsize(out), "verified_by": layer.info.get("verified_by"),
            "ratio": layer.info.get("verified_bound_ratio")}


#: The keys of the long-trace figure: each moves the debugger on any trace
#: of two steps or more, from where the one before left it.
LONG_KEYS = ("right", "left", "end", "home")
#: What the long-trace figure's breakpoint scan evaluates: c, c_{t-1} and h
#: at every step, all units.
LONG_CONDITION = "any(abs(c - c_prev) > 5) or norm(h) > 100"


class LoopStalls:
    """The longest the event loop kept a task that sleeps ``tick`` seconds
    waiting beyond it (while running: ``worst``)."""

    def __init__(self, tick: float = 0.001) -> None:
        self.tick, self.worst, self._run, self._task = tick, 0.0, False, None

    async def _loop(self) -> None:
        import asyncio

        last = time.perf_counter()
        while self._run:
            await asyncio.sleep(self.tick)
            now = time.perf_counter()
            self.worst = max(self.worst, now - last - self.tick)
            last = now

    def start(self) -> None:
        import asyncio

        self.worst, self._run = 0.0, True
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> float:
        self._run = False
        if self._task is not None:
            await self._task
        return self.worst


async def _child_long(trace_path: str, presses: int, warmup: int, scan: bool) -> dict[str, Any]:
    """CPU per key press (``LONG_KEYS`` in turn) on ``trace_path``; with
    ``scan``, also the loop's largest stall during a breakpoint scan and
    over the same presses without one."""
    import asyncio
    import gc

    from lstm_tui.core.trace import load
    from lstm_tui.debug.conditions import Condition

    waiter = FrameWaiter()
    trace = load(trace_path)
    app = make_debugger_app(trace)
    result: dict[str, Any] = {"steps": trace.steps}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()  # the health scan and the scales: not part of a key's cost
        await pilot.pause()
        state = debugger_state(app)
        # In turn, ending on End: the debugger must then stand at the last step.
        total = warmup + presses
        keys = [LONG_KEYS[(k - total + 3) % len(LONG_KEYS)] for k in range(total)]
        for key in keys[:warmup]:
            await waiter.after(lambda key=key: _post_key(app, key))
        gc.collect()
        c0 = time.process_time()
        for key in keys[warmup:]:
            await waiter.after(lambda key=key: _post_key(app, key))
        result["cpu_per_press"] = (time.process_time() - c0) / presses
        await pilot.pause()
        if state.t != trace.steps - 1:
            raise RuntimeError(f"after the presses the debugger is at t = {state.t}, not {trace.steps - 1}")
        if not scan:
            return result
        stalls = LoopStalls()

        async def press_right(n: int) -> int:
            moved = 0
            for _ in range(n):
                before = state.t
                await waiter.after(lambda: _post_key(app, "right"))
                moved += state.t != before
                await asyncio.sleep(0.005)  # a held key's repeat, roughly
            return moved

        await waiter.after(lambda: _post_key(app, "home"))
        stalls.start()
        await press_right(100)
        result["stall_without_scan"] = await stalls.stop()
        await waiter.after(lambda: _post_key(app, "home"))
        fd = os.open(trace_path, os.O_RDONLY)
        try:  # read from disk, as a trace opened for the first time is
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        stalls.start()
        t0 = time.perf_counter()
        state.add_breakpoint(Condition.parse(LONG_CONDITION))
        result["in_worker"] = bool(state.busy)
        moved = 0
        while state.busy and time.perf_counter() - t0 < 300:
            moved += await press_right(1)
        result["scan_time"] = time.perf_counter() - t0
        result["stall_during_scan"] = await stalls.stop()
        result["moved_during_scan"] = moved
        result["hits"] = state.pins.breakpoints[0].hits
    return result


def _child_query(text: str, repeat_top: int, repeat_predict: int) -> dict[str, Any]:
    import numpy as np

    from lstm_tui import keras as kb
    from lstm_tui.core.codec import encode

    predictor = kb.Predictor.load(None)
    model = kb.load_model(kb.default_model_path())
    x = encode(text)[None].astype(np.float32)
    for _ in range(3):
        predictor.top(text, 5)
        model.predict(x, verbose=0)
    t_top = _median_time(lambda: predictor.top(text, 5), repeat_top)
    t_predict = _median_time(lambda: model.predict(x, verbose=0), repeat_predict)
    ours = dict(predictor.top(text, 5))
    p = np.asarray(model.predict(x, verbose=0))[0]
    best = int(np.argmax(p))
    letter = kb.ALPHABET[best]
    return {"top": t_top, "predict": t_predict, "agree": abs(ours.get(letter, -1) - float(p[best])) < 1e-4}


def run_child(mode: str, args: list[str]) -> None:
    import asyncio

    if mode == "keys":
        result = asyncio.run(_child_keys(args[0], args[1], int(args[2]), int(args[3])))
    elif mode == "steps":
        result = asyncio.run(_child_steps(args[0], int(args[1])))
    elif mode == "session":
        result = asyncio.run(_child_session(args[0], int(args[1]), int(args[2]), float(args[3])))
    elif mode == "record":
        result = _child_record(*(int(a) for a in args))
    elif mode == "query":
        result = _child_query(args[0], int(args[1]), int(args[2]))
    elif mode == "long":
        result = asyncio.run(_child_long(args[0], int(args[1]), int(args[2]), args[3] == "scan"))
    elif mode == "scale":
        result = _child_scale(int(args[0]), int(args[1]), int(args[2]), args[3])
    else:
        raise SystemExit(f"unknown child mode {mode!r}")
    print(RESULT + json.dumps(result), flush=True)


# --------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------


@dataclass
class Plan:
    quick: bool

    @property
    def startup_reps(self) -> int:
        return 3 if self.quick else 9

    @property
    def large_reps(self) -> int:
        return 1 if self.quick else 3

    @property
    def large_T(self) -> int:
        # 7 × T × 1024 × 4 bytes: 37 000 steps ≈ 0.99 GiB; quick ≈ 124 MiB
        return 4600 if self.quick else 37000

    @property
    def small_T(self) -> int:
        return 36  # 7 × 36 × 1024 × 4 ≈ 1 MB

    @property
    def presses(self) -> int:
        return 60 if self.quick else 300

    @property
    def key_rounds(self) -> int:
        return 1 if self.quick else 3

    @property
    def jumps(self) -> int:
        return 50 if self.quick else 200

    @property
    def session_presses(self) -> int:
        return 1000 if self.quick else 10000

    #: Seconds of measured presses in the long session before it stops and
    #: extrapolates (so that a slow app cannot blow the time limit).
    session_budget: float = 45.0
    full_session: bool = False

    @property
    def record_repeat(self) -> int:
        return 3 if self.quick else 7


def _first_frames(kinds: list[tuple[str, Path | None]], reps: int) -> list[list[dict[str, Any]]]:
    """Interleaved repetitions (a, b, a, b …) so drift hits both alike, after
    one untimed run of each (byte-compiling, the OS's file cache)."""
    for kind, trace in kinds:
        first_frame(kind, trace)
    out: list[list[dict[str, Any]]] = [[] for _ in kinds]
    for _ in range(reps):
        for n, (kind, trace) in enumerate(kinds):
            out[n].append(first_frame(kind, trace))
    return out


def bench_startup(plan: Plan) -> list[Figure]:
    check = first_frame("lstm", BUNDLED_TRACE, text=True)
    text = check.get("text", "")
    if check.get("screen") != "DebuggerScreen" or "t = 0 of" not in text:
        warn("the first frame of lstm-tui does not show the trace:\n" + text)
    app, bare, numpy = _first_frames([("lstm", BUNDLED_TRACE), ("bare", None), ("numpy", None)],
                                     plan.startup_reps)
    if any(r.get("tensorflow") for r in app):
        warn("tensorflow was imported during start-up of lstm-tui")
    a = statistics.median(r["first_frame"] for r in app) * 1000
    b = statistics.median(r["first_frame"] for r in bare) * 1000
    n = statistics.median(r["first_frame"] for r in numpy) * 1000
    log(f"start-up: runs lstm-tui {[round(r['first_frame'] * 1000) for r in app]} ms, "
        f"bare {[round(r['first_frame'] * 1000) for r in bare]} ms, "
        f"bare + import numpy {[round(r['first_frame'] * 1000) for r in numpy]} ms")
    return [Figure("start-up", a, b, "ms", "ratio ≤ 1.2", 1.2, "ratio",
                   note=f"tensorflow imported: {any(r.get('tensorflow') for r in app)}; "
                        f"against the bare app after import numpy: {a / n:.2f}"),
            Figure("start-up floor", n, b, "ms", "none (informative)", 0, "info",
                   note="the bare app after import numpy: what reading a trace with NumPy costs "
                        "before lstm-tui does anything")]


def bench_keys(plan: Plan, tmp: Path) -> list[Figure]:
    path = tmp / "keys_h1024.npz"
    T = 500  # more than warm-up + presses + Pilot's presses: every → moves
    write_forward_trace(path, T=T, H=1024, D=256)
    warmup = 10
    # Interleaved rounds (lstm, bare, floor, lstm, …), each in a fresh
    # process; the median round of each, so that drift of the machine falls
    # on all three alike.
    rounds: dict[str, list[dict[str, Any]]] = {"lstm": [], "bare": [], "floor": []}
    for _ in range(plan.key_rounds):
        for kind in rounds:
            rounds[kind].append(child("keys", kind, "" if kind == "bare" else str(path),
                                      str(plan.presses), str(warmup)))

    def median_round(kind: str) -> dict[str, Any]:
        runs = sorted(rounds[kind], key=lambda r: r["cpu_per_press"])
        return runs[len(runs) // 2]

    app, bare, floor = median_round("lstm"), median_round("bare"), median_round("floor")
    ms = 1000
    log("key press rounds (ms CPU): " + "; ".join(
        f"{kind} {[round(r['cpu_per_press'] * ms, 2) for r in rs]}" for kind, rs in rounds.items()))
    log(f"key press: lstm-tui {app['cpu_per_press'] * ms:.2f} ms CPU "
        f"({app['wall_per_press'] * ms:.2f} ms wall, {app['frames']} frames, {app['widgets']} widgets), "
        f"bare {bare['cpu_per_press'] * ms:.2f} ms CPU ({bare['wall_per_press'] * ms:.2f} ms wall, "
        f"{bare['frames']} frames); floor {floor['cpu_per_press'] * ms:.2f} ms CPU repainting "
        f"{', '.join(floor['refreshed'])}; through Pilot: {app['pilot_cpu_per_press'] * ms:.2f} vs "
        f"{bare['pilot_cpu_per_press'] * ms:.2f} ms")
    pilot_ratio = app["pilot_cpu_per_press"] / bare["pilot_cpu_per_press"]
    return [
        Figure("key press", app["cpu_per_press"] * ms, bare["cpu_per_press"] * ms, "ms CPU", "ratio ≤ 1.5",
               1.5, "ratio", note=f"through Pilot (press + pause): {app['pilot_cpu_per_press'] * ms:.1f} vs "
                                  f"{bare['pilot_cpu_per_press'] * ms:.1f} ms, ratio {pilot_ratio:.2f}"),
        Figure("key press floor", floor["cpu_per_press"] * ms, bare["cpu_per_press"] * ms, "ms CPU",
               "none (informative)", 0, "info",
               note=f"Textual repainting the {len(floor['refreshed'])} widgets a step redraws, "
                    f"with nothing recomputed"),
    ]


def bench_record(plan: Plan) -> list[Figure]:
    r = child("record", "2000", "256", "64", str(plan.record_repeat))
    log(f"record: NumPy {r['numpy'] * 1000:.1f} ms (in a process without TensorFlow "
        f"{r['numpy_without_tf'] * 1000:.1f} ms), Keras predict_on_batch {r['keras'] * 1000:.1f} ms, "
        f"record(verify=True) {r['record_verified'] * 1000:.0f} ms, max |h - Keras| {r['max_abs_error_h']:.2g}")
    return [
        Figure("record", r["numpy"] * 1000, r["keras"] * 1000, "ms", "ratio ≤ 0.5", 0.5, "ratio",
               note=f"max |h − Keras h| = {r['max_abs_error_h']:.2g}; NumPy alone, TensorFlow not "
                    f"loaded: {r['numpy_without_tf'] * 1000:.1f} ms "
                    f"(ratio {r['numpy_without_tf'] / r['keras']:.2f})"),
        Figure("record floor", r["products"] * 1000, r["keras"] * 1000, "ms", "none (informative)", 0,
               "info", note="the recurrent products U·h alone (2000 float32 matrix-vector products, "
                            "1024×256), which every NumPy recording computes"),
        Figure("record, verified", r["record_verified"] * 1000, r["keras"] * 1000, "ms",
               "none (informative)", math.inf, "info",
               note="keras.record(verify=True): capture + NumPy + Keras check"),
    ]


def bench_large(plan: Plan, big: Path, small: Path) -> list[Figure]:
    big_runs, small_runs = _first_frames([("lstm", big), ("lstm", small)], plan.large_reps)
    for r in big_runs + small_runs:
        if r.get("screen") != "DebuggerScreen":
            warn(f"first frame was {r.get('screen')}, not the debugger")
    a = statistics.median(r["first_frame"] for r in big_runs) * 1000
    b = statistics.median(r["first_frame"] for r in small_runs) * 1000
    rss = max(r["VmHWM"] for r in big_runs) / MB
    rss_small = max(r["VmHWM"] for r in small_runs) / MB
    last = big_runs[-1]
    log(f"large trace: first frame {[round(r['first_frame'] * 1000) for r in big_runs]} ms vs "
        f"{[round(r['first_frame'] * 1000) for r in small_runs]} ms; peak RSS {rss:.0f} MB "
        f"(at first frame: anon {last['RssAnon'] / MB:.0f} MB, file-backed {last['RssFile'] / MB:.0f} MB)")
    return [
        Figure("large trace", a, b, "ms", "ratio ≤ 1.2", 1.2, "ratio"),
        Figure("large trace RSS", rss, rss_small, "MB", "value ≤ 250 MB", 250, "value",
               note=f"anon {last['RssAnon'] / MB:.0f} MB + file {last['RssFile'] / MB:.0f} MB"),
    ]


def bench_steps(plan: Plan, big: Path, small: Path) -> list[Figure]:
    a = child("steps", str(big), str(plan.jumps))
    b = child("steps", str(small), str(plan.jumps))
    log(f"random steps: {a['wall_per_jump'] * 1000:.2f} ms/jump on T={a['steps']} "
        f"(median {a['median_jump'] * 1000:.2f}, max {a['max_jump'] * 1000:.1f}), "
        f"{b['wall_per_jump'] * 1000:.2f} ms/jump on T={b['steps']}")
    return [Figure("random steps", a["wall_per_jump"] * 1000, b["wall_per_jump"] * 1000, "ms",
                   "ratio ≤ 2", 2.0, "ratio")]


def bench_scale(plan: Plan, tmp: Path) -> list[Figure]:
    T = 6000 if plan.quick else 60000
    r = child("scale", str(T), "512", "64", str(tmp / "scale.npz"))
    (tmp / "scale.npz").unlink(missing_ok=True)
    limit = max(1.5 * r["size"], 1024 * MB)
    log(f"record at scale: T={T}, trace {r['size'] / MB:.0f} MB, peak RSS {r['peak'] / MB:.0f} MB "
        f"(limit {limit / MB:.0f} MB), {r['time']:.1f} s, after importing TensorFlow and building the model "
        f"{r['tf'] / MB:.0f} MB; verified by {r['verified_by']} at {r['ratio']:.3g} of the bound")
    return [
        Figure("record at scale RSS", r["peak"] / MB, limit / MB, "MB", "ratio ≤ 1", 1.0, "ratio",
               note=f"LSTM(512), D=64, T={T}: trace {r['size'] / MB:.0f} MB; TensorFlow imported and the "
                    f"model built: {r['tf'] / MB:.0f} MB resident before recording "
                    f"(Python + NumPy + the input: {r['start'] / MB:.0f} MB)"),
        Figure("record at scale time", r["time"], None, "s", "none (informative)", 0, "info",
               note=f"keras.record(..., out=...), verified ({r['verified_by']})"),
    ]


def bench_long(plan: Plan, tmp: Path) -> list[Figure]:
    from lstm_tui.core.trace import load

    shape = load(BUNDLED_TRACE).layers[0]
    long, wide = tmp / "long.npz", tmp / "long_wide.npz"
    write_forward_trace(long, T=60_000, H=shape.units, D=shape.input_dim)
    H = 64 if plan.quick else 512
    size = write_tiled_trace(wide, T=60_000, H=H, D=64)
    presses, warmup = (40, 8) if plan.quick else (200, 20)
    rounds: dict[str, list[dict[str, Any]]] = {"long": [], "bundled": []}
    for _ in range(plan.key_rounds):
        rounds["long"].append(child("long", str(long), str(presses), str(warmup), "keys"))
        rounds["bundled"].append(child("long", str(BUNDLED_TRACE), str(presses), str(warmup), "keys"))
    s = child("long", str(wide), str(presses), str(warmup), "scan")
    long.unlink(missing_ok=True)
    wide.unlink(missing_ok=True)
    ms = 1000
    a = statistics.median(r["cpu_per_press"] for r in rounds["long"]) * ms
    b = statistics.median(r["cpu_per_press"] for r in rounds["bundled"]) * ms
    if not s["in_worker"]:
        warn("long trace: the breakpoint scan did not run in a worker")
    log(f"long trace: {a:.2f} ms CPU per press on T=60000 (H={shape.units}) vs {b:.2f} ms on the bundled "
        f"trace; rounds {[round(r['cpu_per_press'] * ms, 2) for r in rounds['long']]} vs "
        f"{[round(r['cpu_per_press'] * ms, 2) for r in rounds['bundled']]}; H={H} ({size / MB:.0f} MB): "
        f"{s['cpu_per_press'] * ms:.2f} ms; scan of {LONG_CONDITION!r} {s['scan_time']:.2f} s "
        f"({s['hits']} hits), largest stall {s['stall_during_scan'] * ms:.1f} ms vs "
        f"{s['stall_without_scan'] * ms:.1f} ms without, {s['moved_during_scan']} steps taken during it")
    return [
        Figure("long trace key press", a, b, "ms CPU", "ratio ≤ 1.5", 1.5, "ratio",
               note=f"T = 60 000 against the bundled 3-step trace, both H = {shape.units}; on T = 60 000 "
                    f"with H = {H} ({size / MB:.0f} MB mapped): {s['cpu_per_press'] * ms:.1f} ms"),
        Figure("long trace scan stall", s["stall_during_scan"] * ms, s["stall_without_scan"] * ms, "ms",
               "ratio ≤ 2", 2.0, "ratio",
               note=f"largest event-loop stall while the breakpoint scan runs ({s['scan_time']:.1f} s, from "
                    f"disk; {s['moved_during_scan']} → presses moved the debugger meanwhile), against the "
                    f"same presses with no scan"),
    ]


def bench_query(plan: Plan) -> list[Figure]:
    r = child("query", "def", "100" if plan.quick else "500", "10" if plan.quick else "40")
    if not r["agree"]:
        warn("Predictor.top and model.predict disagree on the best letter's probability")
    log(f"query: top {r['top'] * 1000:.3f} ms, predict {r['predict'] * 1000:.1f} ms")
    return [Figure("query", r["top"] * 1000, r["predict"] * 1000, "ms", "ratio ≤ 0.1", 0.1, "ratio")]


def bench_session(plan: Plan) -> list[Figure]:
    n = plan.session_presses
    warmup = 50 if plan.quick else 100
    budget = 0.0 if plan.full_session else plan.session_budget
    # Memory only, no timing: the two sessions run side by side.
    procs = {kind: subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", "session", kind, str(n), str(warmup),
         str(budget)], cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for kind in ("lstm", "bare")}
    results = {}
    for kind, proc in procs.items():
        out, err = proc.communicate(timeout=1800)
        results[kind] = _parse_result(subprocess.CompletedProcess(proc.args, proc.returncode, out, err),
                                      f"child session {kind}")
    a, b = results["lstm"], results["bare"]
    note = f"{a['presses']} presses"
    growth, base = a["growth"] / MB, b["growth"] / MB
    if a["presses"] < n:
        # The app is too slow for the whole session within the time budget:
        # the growth is scaled linearly to n presses, and says so.
        growth *= n / max(a["presses"], 1)
        note = (f"extrapolated to {n} presses from {a['presses']} "
                f"({a['wall_per_press'] * 1000:.0f} ms/press; --full-session runs them all)")
        warn(f"long session: only {a['presses']} of {n} presses fitted the time budget; {note}")
    if b["presses"] < n:
        base *= n / max(b["presses"], 1)
    log(f"long session: lstm-tui {a['rss_before'] / MB:.1f} → {a['rss_after'] / MB:.1f} MB over "
        f"{a['presses']} presses ({a['wall_per_press'] * 1000:.1f} ms/press); bare "
        f"{b['rss_before'] / MB:.1f} → {b['rss_after'] / MB:.1f} MB ({b['wall_per_press'] * 1000:.1f} ms/press)")
    return [Figure("long session", growth, base, "MB", "value ≤ 10 MB", 10, "value", note=note)]


def bench_wire(plan: Plan) -> list[Figure]:
    import bench_wire as bw

    cycles = 3 if plan.quick else 10
    figures = []
    for size in ((120, 40), (80, 24)):
        ours, textual = bw.steps(size, False, cycles), bw.steps(size, True, cycles)
        # The issue's 8 000 bytes at 120×40, scaled by area.
        limit = round(8000 * size[0] * size[1] / (120 * 40))
        log(f"wire {size[0]}×{size[1]}: {ours['bytes']:.0f} B per step ({ours['changed']:.0f} cells changed, "
            f"floor {ours['floor']:.0f} B), Textual's own {textual['bytes']:.0f} B; first frame "
            f"{ours['first']} B vs {textual['first']} B")
        figures.append(Figure(
            f"step bytes {size[0]}×{size[1]}", ours["bytes"], ours["floor"], "B", f"value ≤ {limit}", limit, "value",
            note=f"median of {ours['steps']} → steps, {ours['changed']:.0f} cells changed; baseline: the least "
                 f"those cells need; Textual's own renderer: {textual['bytes']:.0f} B "
                 f"(first frame {ours['first']} B vs {textual['first']} B)"))
    return figures


def bench_slow_link(plan: Plan, tmp: Path, step_bytes: float | None) -> list[Figure]:
    import bench_wire as bw

    from lstm_tui.core.trace import load

    shape = load(BUNDLED_TRACE).layers[0]
    path = tmp / "slow_link.npz"
    write_forward_trace(path, T=400, H=shape.units, D=shape.input_dim)
    ours, textual = bw.slow_link(path, False), bw.slow_link(path, True)
    rate, delay = 125_000.0, 0.05
    if step_bytes is None:
        step_bytes = bw.steps((120, 40), False, 2)["bytes"]
    one_frame = step_bytes / rate + delay
    for r in (ours, textual):
        if not r["reached"]:
            warn(f"slow link: the client's screen never showed step {r['keys']}")
    log(f"slow link: settled {ours['settle']:.2f} s after the last key ({ours['bytes'] / 1000:.0f} kB), "
        f"Textual's own renderer {textual['settle']:.2f} s ({textual['bytes'] / 1000:.0f} kB)")
    return [Figure("slow link settle", ours["settle"], one_frame, "s", "value ≤ 1 s", 1.0, "value",
                   note=f"→ held at 30 keys/s for 5 s over 1 Mbit/s, 100 ms RTT: {ours['bytes'] / 1000:.0f} kB "
                        f"written; Textual's own renderer: {textual['settle']:.1f} s, "
                        f"{textual['bytes'] / 1000:.0f} kB; baseline: one step's frame on the link")]


NAMES = ("startup", "keys", "record", "scale", "large", "steps", "long", "query", "session", "wire",
         "slowlink")


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        from importlib.metadata import version

        textual = version("textual")
    except Exception:
        textual = "?"
    return (f"{cores} cores, {model}, Python {platform.python_version()}, textual {textual}, "
            f"{platform.system()} {platform.release()}")


def table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "baseline", "ratio", "target", "met")]
    for f in figures:
        rows.append((f.name, f"{_fmt(f.value)} {f.unit}",
                      "–" if f.baseline is None else f"{_fmt(f.baseline)} {f.unit}",
                      _fmt(f.ratio), f.target, {True: "yes", False: "NO", None: "–"}[f.met]))
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions")
    parser.add_argument("--only", help="comma-separated figures: " + ",".join(NAMES))
    parser.add_argument("--full-session", action="store_true",
                        help="run every press of the long session, however long it takes")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    if ns.child:
        run_child(ns.child[0], ns.child[1:])
        return 0
    if Path.cwd().resolve() != ROOT:
        warn(f"run this from the repository root ({ROOT}); continuing there")
        os.chdir(ROOT)
    selected = NAMES if not ns.only else tuple(n.strip() for n in ns.only.split(",") if n.strip())
    unknown = [n for n in selected if n not in NAMES]
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    plan = Plan(quick=ns.quick, session_budget=20.0 if ns.quick else 45.0,
                full_session=ns.full_session)
    print(f"machine: {machine()}", flush=True)
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    started = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="lstm-tui-bench-") as tmpdir:
        tmp = Path(tmpdir)
        big = small = None
        if "large" in selected or "steps" in selected:
            big, small = tmp / "large.npz", tmp / "small.npz"
            t = time.perf_counter()
            size = write_tiled_trace(big, T=plan.large_T, H=1024, D=1024)
            size_small = write_tiled_trace(small, T=plan.small_T, H=1024, D=1024)
            log(f"wrote {size / 2**30:.3f} GiB and {size_small / 1e6:.2f} MB traces "
                f"in {time.perf_counter() - t:.1f} s")
        for name in NAMES:
            if name not in selected:
                continue
            t = time.perf_counter()
            log(f"{name} …")
            try:
                if name == "startup":
                    figures += bench_startup(plan)
                elif name == "keys":
                    figures += bench_keys(plan, tmp)
                elif name == "record":
                    figures += bench_record(plan)
                elif name == "scale":
                    figures += bench_scale(plan, tmp)
                elif name == "large":
                    figures += bench_large(plan, big, small)
                elif name == "steps":
                    figures += bench_steps(plan, big, small)
                elif name == "query":
                    figures += bench_query(plan)
                elif name == "long":
                    figures += bench_long(plan, tmp)
                elif name == "session":
                    figures += bench_session(plan)
                elif name == "wire":
                    figures += bench_wire(plan)
                elif name == "slowlink":
                    step = next((f.value for f in figures if f.name == "step bytes 120×40"), None)
                    figures += bench_slow_link(plan, tmp, step)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                warn(f"{name} failed: {e}")
            log(f"{name} took {time.perf_counter() - t:.1f} s")
    print()
    print(table(figures))
    for f in figures:
        if f.note:
            print(f"  {f.name}: {f.note}")
    print(f"(total {time.perf_counter() - started:.0f} s{', --quick' if ns.quick else ''}; load average "
          f"after: {' '.join(f'{v:.2f}' for v in os.getloadavg())})")
    print()
    for f in figures:
        print(f.json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
