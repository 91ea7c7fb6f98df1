"""The screen under stress: thousands of seeded random keys and resizes on
hostile traces.

The traces hold what a debugger meets in the wild and a demo never shows:
NaN and ±Inf in every vector, in the weights, in h0/c0 and in the readout,
a layer that is NaN throughout, one step of one unit of one input, a
reversed masked layer, no tokens, no weights, no readout, and tokens, layer
names, sources and vocabulary that look like markup (``[/]``,
``[@click=app.quit]``), hold escape sequences and control characters, or
are wide (``漢字``), joined (emoji ZWJ sequences), combining or 200 cells
long.

A seeded driver presses every key the debugger binds (and follows it into
the dialog it opens: digits and garbage into "go to step", a bogus or a
hostile path into "open", letters in and out of the vocabulary into the
model panel, text into the palette), unbound keys and stray text, and
resizes the terminal between 10×3 and 250×70. After every key the app must
still run, no worker may have failed other than by refusing bad input, and
the step, unit and layer must be in range — and equal to what the key
should have made of them. After every resize the screen must show where
the debugger stands: the status line's step, and below 40×10 the "too
small" marker; every row exactly as wide as the terminal, and no control
character on it.

Keys are posted straight to the app, and the test waits until no message
is queued or halfway through its handler anywhere (rather than for the
process to look idle on the wall clock), and the screen is repainted four
times a second instead of 60: that is what makes thousands of keys fit in
a few seconds per trace. Every resize does a full repaint and reads the
screen. Opening and closing a dialog costs as much as a hundred plain keys
(the screen under it is laid out again), so dialogs come every so many
keys rather than at random.

The focused tests after it pin down each bug the stress found.
"""

from __future__ import annotations

import asyncio
import random
import unicodedata
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from conftest import FUZZ_CASES
from rich.cells import cell_len
from textual import events
from textual.command import CommandPalette
from textual.geometry import Size
from textual.keys import _character_to_key, _get_unicode_name_from_key
from textual.message_pump import MessagePump
from textual.widgets import Input
from textual.worker import WorkerCancelled, WorkerFailed, WorkerState
from textual.worker_manager import WorkerManager
from tui_helpers import screen_text, widget_lines

from lstm_tui.core.codec import ALPHABET, encode
from lstm_tui.core.lstm import GATES, LSTMCell
from lstm_tui.core.trace import Layer, Trace, TraceError
from lstm_tui.tui import draw
from lstm_tui.tui.app import DebuggerScreen, make_app
from lstm_tui.tui.dialogs import GoToStepScreen, OpenTraceScreen
from lstm_tui.tui.explain import ExplainPane
from lstm_tui.tui.help import HelpScreen
from lstm_tui.tui.model_panel import ModelPanel, pnext_lines
from lstm_tui.tui.timeline import Timeline
from lstm_tui.tui.too_small import MIN_HEIGHT, MIN_WIDTH
from lstm_tui.tui.vector_pane import VectorPane

#: Strings a trace file may hold where the screen shows text.
NASTY = [
    "[", "]", "[b]bold[/b]", "[link=x]", "[/]", "[@click=app.quit]x[/]", "$accent", "[red]",
    "\x1b[31m", "\x1b]0;title\x1b\\", "a\x00b\x07c\x08d\re\nf\tg", "漢字", "🙂",
    "👩\u200d👩\u200d👧", "e\u0301\u0301\u0301", "", "x" * 200, "\u202eevil", "\u200b", "\\", " ",
]

POISON = (np.nan, np.inf, -np.inf, 1e300, -1e300, -0.0)


def poison(a: np.ndarray, rng: np.random.Generator, share: float = 0.3) -> np.ndarray:
    """A copy of ``a`` with about ``share`` of its entries NaN, ±Inf or huge."""
    a = np.array(a, dtype=np.float64)
    flat = a.reshape(-1)
    if flat.size:
        idx = rng.choice(flat.size, size=max(1, int(flat.size * share)), replace=False)
        flat[idx] = rng.choice(POISON, size=idx.size)
    return a


def hostile_layer(rng: np.random.Generator, T: int, D: int, H: int, *, name: str = "lstm",
                  all_nan: bool = False, weights: bool = True, reversed: bool = False,
                  mask: np.ndarray | None = None, dtype=np.float64) -> Layer:
    """A layer of random values with NaN and ±Inf in every vector, in h0 and
    c0 and in the weights (or NaN everywhere)."""
    def values(shape, lo, hi):
        a = np.full(shape, np.nan) if all_nan else poison(rng.uniform(lo, hi, shape), rng)
        return a.astype(dtype)

    cell = None
    if weights:
        W, U, b = ({g: values(shape, -1, 1) for g in GATES} for shape in ((H, D), (H, H), (H,)))
        cell = LSTMCell(W=W, U=U, b=b)
    return Layer(x=values((T, D), -2, 2), f=values((T, H), 0, 1), i=values((T, H), 0, 1),
                 c_hat=values((T, H), -1, 1), c=values((T, H), -3, 3), o=values((T, H), 0, 1),
                 h=values((T, H), -1, 1), h0=values((H,), -1, 1), c0=values((H,), -1, 1),
                 mask=mask, name=name, reversed=reversed, cell=cell)


def poisoned_trace(seed: int = 1, T: int | None = None, D: int = 5, V: int = len(NASTY)) -> Trace:
    """NaN and ±Inf everywhere, a second layer (float16) that is NaN
    throughout, every nasty string as a token, vocabulary label, name and
    source. ``D`` = 0 (no inputs) and ``V`` = 0 (a readout of no outputs)
    are allowed by the format too."""
    rng = np.random.default_rng(seed)
    T = T or len(NASTY)
    probs = poison(rng.dirichlet(np.ones(max(V, 1)), T)[:, :V], rng)
    probs[min(2, T - 1)] = np.nan  # a step whose readout is NaN throughout
    return Trace(
        layers=[hostile_layer(rng, T, D, 6, name="[b]poisoned[/b] \x1b[31m漢"),
                hostile_layer(rng, T, 6, 3, name="[/]\n", all_nan=True, dtype=np.float16)],
        tokens=np.array([NASTY[k % len(NASTY)] for k in range(T)]),
        probs=probs, vocab=np.array([NASTY[k % len(NASTY)] for k in range(V)]),
        source="[red]hostile[/red] \x1b[2J\nsecond line 漢字🙂",
    )


def minimal_trace() -> Trace:
    """One step, one unit, one input, a readout of one label."""
    rng = np.random.default_rng(2)
    cell = LSTMCell(W={g: rng.normal(size=(1, 1)) for g in GATES},
                    U={g: rng.normal(size=(1, 1)) for g in GATES},
                    b={g: rng.normal(size=1) for g in GATES})
    rec = cell.forward(np.array([[0.5]]), dtype=np.float64)
    return Trace(layers=[Layer.from_recording(rec, name="[@click=app.quit]one[/]", cell=cell)],
                 tokens=np.array(["[b]bold[/b]"]), probs=np.array([[1.0]]), vocab=np.array(["🙂"]),
                 source="[/]")


def reversed_masked_trace() -> Trace:
    """Two recorded layers, the second running backwards, both masked, with
    nasty tokens and a nasty vocabulary."""
    rng = np.random.default_rng(3)
    T = 2 * len(NASTY) + 3
    x = rng.normal(size=(T, 4))
    mask = rng.uniform(size=T) > 0.3
    cells = [LSTMCell(W={g: rng.normal(0, 0.6, (h, d)) for g in GATES},
                      U={g: rng.normal(0, 0.6, (h, h)) for g in GATES},
                      b={g: rng.normal(0, 0.2, h) for g in GATES}) for h, d in ((7, 4), (2, 7))]
    rec0 = cells[0].forward(x, mask=mask, dtype=np.float64)
    rec1 = cells[1].forward(rec0.h[::-1], mask=~mask[::-1], dtype=np.float64)
    return Trace(
        layers=[Layer.from_recording(rec0, name="forward [link=x]", cell=cells[0]),
                Layer.from_recording(rec1, name="backward[/]", cell=cells[1], reversed=True)],
        tokens=np.array([NASTY[(7 * k) % len(NASTY)] for k in range(T)]),
        probs=rng.dirichlet(np.ones(len(NASTY)), T), vocab=np.array(NASTY), source="two layers",
    )


def bare_trace() -> Trace:
    """No tokens, no weights, no readout, no source; NaN and Inf inside."""
    rng = np.random.default_rng(4)
    return Trace(layers=[hostile_layer(rng, 13, 3, 4, weights=False)], source="")


TRACES = {
    "poisoned": poisoned_trace,
    "minimal": minimal_trace,
    "reversed_masked": reversed_masked_trace,
    "bare": bare_trace,
}


class Refused(Exception):
    """What the fake model raises for a text it will not record."""


class StressPredictor:
    """A model panel predictor with a hostile streak: its probabilities are
    NaN, ±Inf and out of 0…1, and the passes it records are poisoned
    traces, some without inputs or readout outputs (a text with a "z" it
    refuses, as a failing bridge would)."""

    vocab = ALPHABET
    path = Path("stress_model.keras")

    def top(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        p = [np.nan, np.inf, -np.inf, 2.5, 1e-300, 0.5]
        return [(ALPHABET[(encode(text)[-1].argmax() + j) % 26], p[j]) for j in range(k)]

    def record(self, text: str) -> Trace:
        if "z" in text:
            raise Refused(f"will not record {text!r}\nsecond line")
        trace = poisoned_trace(seed=len(text), T=len(text), D=5 if len(text) % 3 else 0,
                               V=len(NASTY) if len(text) % 2 else 0)
        trace.source = f"live: {text}"
        return trace


#: Keys that are never pressed: they quit (tested apart), suspend or copy.
NEVER = {"q", "ctrl+q", "ctrl+c", "ctrl+z"}
NAV = {"left", "h", "right", "l", "home", "end", "pageup", "pagedown", "up", "k", "down", "j",
       "left_square_bracket", "right_square_bracket"}
#: Keys bound nowhere (at least when this was written) and stray text.
UNBOUND = ["x", "y", "1", "0", "space", "backspace", "delete", "insert", "enter", "escape", "f1",
           "f5", "ctrl+a", "ctrl+e", "ctrl+x", "ctrl+left", "shift+right", "alt+x"]
STRAY_TEXT = "aé漢🙂[]/\\$@#!%*()_-+=~`'\";:,.<>?"
#: Letters for the model panel: in the vocabulary, out of it, and z (refused).
MODEL_TEXT = "abcdefghijklmnoprstuvwxy" * 2 + "z1[] 漢éA!"
#: What "go to step" gets typed into it (its input takes digits and signs).
GOTO_TEXT = ["0", "1", "7", "12", "40", "-1", "-0", "+3", "1_0", "999999999999999999999", "", "abc",
             "٣", "+", "-"]


#: Messages being handled right now, by any message pump.
IN_FLIGHT = [0]


@pytest.fixture(autouse=True)
def count_in_flight(monkeypatch):
    """Count the messages halfway through their handlers, so that
    ``Stress.settle`` can tell a quiet app from one whose queues are only
    empty while a handler awaits."""
    dispatch = MessagePump._dispatch_message

    async def counted(self, message):
        IN_FLIGHT[0] += 1
        try:
            await dispatch(self, message)
        finally:
            IN_FLIGHT[0] -= 1

    monkeypatch.setattr(MessagePump, "_dispatch_message", counted)


def expected_marker(width: int) -> str:
    need = f"{MIN_WIDTH}×{MIN_HEIGHT}"
    for text in (f"terminal too small: need at least {need}", f"too small: need {need}",
                 f"need {need}", need):
        if len(text) <= width:
            return text
    return ""


def key_event(key: str, char: str | None = None) -> events.Key:
    """The event a terminal sends for ``key`` (as ``Pilot.press`` builds it)."""
    if char is None:
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(key))
        except KeyError:
            char = key if len(key) == 1 else None
    return events.Key(key, char)


class Stress:
    """Drives one app: random actions, each followed by the invariants."""

    def __init__(self, app, pilot, rng: random.Random, files: list[Path], failed_workers: list):
        self.app = app
        self.pilot = pilot
        self.rng = rng
        self.files = files
        self.failed_workers = failed_workers
        self.keys = 0
        self.resizes = 0
        self.size = app.size
        #: The last keys pressed, for a failure's message.
        self.recent: deque[str] = deque(maxlen=12)

    @property
    def screen(self) -> DebuggerScreen:
        return self.app.debugger

    # -- driving -----------------------------------------------------------------

    def busy(self) -> bool:
        app = self.app
        if IN_FLIGHT[0] or len(app.workers):
            return True
        for screen in (app, *app._screen_stack):
            for node in (screen.walk_children(with_self=True) if screen is not app else [app]):
                if not node._message_queue.empty() or node._pending_message is not None \
                        or node._next_callbacks:
                    return True
        return False

    async def settle(self) -> None:
        """Wait until the app is quiet: no message queued or halfway through
        its handler anywhere, no worker running (a key's effects land a few
        hops later, and an empty queue alone may mean a message is between
        an await and the next)."""
        app = self.app
        for _ in range(100_000):
            if len(app.workers):
                for worker in list(app.workers):
                    try:
                        await worker.wait()
                    except (WorkerCancelled, WorkerFailed):
                        pass  # judged by check(), which sees every failure
            if not self.busy():
                # Once more after a turn of the loop: a message may be on its
                # way from a call_soon.
                await asyncio.sleep(0)
                if not self.busy():
                    return
            await asyncio.sleep(0)
        raise AssertionError("the app never settled")

    async def press(self, key: str, char: str | None = None) -> None:
        # (typed into a field, a q is only a letter)
        assert key not in NEVER or isinstance(self.app.focused, Input), key
        self.recent.append(f"{key} on {type(self.app.screen).__name__}/{type(self.app.focused).__name__}")
        event = key_event(key, char)
        event.set_sender(self.app)
        self.app.post_message(event)
        self.keys += 1
        await self.settle()
        self.check()

    async def type(self, text: str) -> None:
        for ch in text:
            await self.press(ch if ch.isalnum() else _character_to_key(ch), ch)

    async def close_modals(self) -> None:
        """Escape until the debugger is on top again (help, dialogs, palette)."""
        for _ in range(4):
            if self.app.screen is self.screen:
                return
            await self.press("escape")
        assert self.app.screen is self.screen, self.app.screen

    async def repaint(self) -> None:
        """Lay out and paint now, and run what waited for the paint (a
        repaint may change the layout again: the pane grid fits itself)."""
        for _ in range(3):
            screen = self.app.screen
            if not (screen._layout_required or screen._repaint_required or screen._dirty_widgets
                    or screen._callbacks):
                return
            screen._on_timer_update()
            await self.settle()

    async def resize(self, width: int, height: int) -> None:
        # What Pilot.resize_terminal does, without its wait for the process
        # to go idle.
        size = Size(width, height)
        self.app._driver._size = size
        self.app.post_message(events.Resize(size, size))
        self.size = (width, height)
        self.resizes += 1
        # A toast may cover the first row of a tiny terminal for a moment; it
        # is not what is checked here.
        self.app.clear_notifications()
        await self.settle()
        # The app hands a resize to its screens after a debounce timer.
        for _ in range(500):
            if self.app._resize_event is None:
                break
            await asyncio.sleep(0.002)
        await self.settle()
        await self.repaint()
        self.check()
        self.check_screen()

    # -- invariants ----------------------------------------------------------------

    def check(self) -> None:
        app = self.app
        assert app._exception is None, app._exception
        assert app.is_running and app.return_code is None and not app._exit
        for worker in self.failed_workers:
            # The only failures allowed are refusals of bad input: a path that
            # is not a trace, a text the model will not record.
            assert (worker.group == "trace" and isinstance(worker.error, TraceError)) or (
                worker.group == "record" and isinstance(worker.error, Refused)
            ), (worker, worker.error)
        screen = self.screen
        trace = screen.trace
        layers = trace.layers
        assert 0 <= screen.layer_index < len(layers)
        assert 0 <= screen.t < trace.steps
        assert 0 <= screen.unit < layers[screen.layer_index].units
        # The panes see the same state (data binding).
        status = screen.query_one("#status")
        assert (status.t, status.layer_index, status.trace) == (screen.t, screen.layer_index, trace)

    def check_screen(self) -> None:
        """What is on screen after a resize: rows of the terminal's width, no
        control characters, and where the debugger stands."""
        width, height = self.size
        text = screen_text(self.app)
        lines = text.split("\n")[:height]
        assert len(lines) == height, (len(lines), height)
        for line in lines:
            # A wide character cut in half, or counted one cell too few, shows
            # as a row shorter or longer than the terminal.
            assert cell_len(line) == width, (self.size, line)
            bad = [ch for ch in line if unicodedata.category(ch) in ("Cc", "Cf")]
            assert not bad, (bad, line)
        if self.app.screen is not self.screen:
            return
        screen = self.screen
        step = f"t = {screen.t} of 0…{screen.trace.steps - 1}"
        if len(step) <= width:
            assert step in lines[0], (self.size, lines[0])
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            if height >= 2:
                assert lines[1].rstrip() == expected_marker(width), (self.size, lines[:2])
            assert not any("f_t" in line for line in lines), lines
        else:
            assert "too small" not in text
            if screen.has_class("-overview"):
                assert "overview" in lines[1], text  # O: the heat map has the panes' place
            elif screen.maximized is None:
                # (the model panel's overlay may cover all but the first pane)
                assert "x_t" in text or "f_t" in text, text

    # -- actions -------------------------------------------------------------------

    def focus_in_panes(self) -> bool:
        focused = self.app.focused
        return self.app.screen is self.screen and (
            focused is None or isinstance(focused, (VectorPane, ExplainPane, Timeline)))

    async def nav(self, key: str) -> None:
        """A stepping key, and exactly the step, unit and layer it must give."""
        screen = self.screen
        if not self.focus_in_panes():
            await self.press(key)
            return
        trace = screen.trace
        last_t, last_layer = trace.steps - 1, len(trace.layers) - 1
        t, unit, layer = screen.t, screen.unit, screen.layer_index
        delta_t = {"left": -1, "h": -1, "right": 1, "l": 1, "pageup": -10, "pagedown": 10,
                   "home": -t, "end": last_t - t}.get(key, 0)
        t = min(max(t + delta_t, 0), last_t)
        layer = min(max(layer + {"left_square_bracket": -1, "right_square_bracket": 1}.get(key, 0), 0),
                    last_layer)
        d_unit = {"up": -1, "k": -1, "down": 1, "j": 1}.get(key, 0)
        focused = self.app.focused
        order = focused.order() if isinstance(focused, VectorPane) and focused.vector != "x" else None
        if order is not None and d_unit:
            # A sorted pane (s): ↑ ↓ move by row, in the pane's order.
            row = int(np.flatnonzero(order == unit)[0]) + d_unit
            unit = int(order[min(max(row, 0), order.shape[0] - 1)])
        elif not isinstance(focused, ExplainPane):  # there ↑ ↓ scroll the pane
            unit = unit + d_unit
        unit = min(max(unit, 0), trace.layers[layer].units - 1)
        await self.press(key)
        assert (screen.t, screen.unit, screen.layer_index) == (t, unit, layer), self.recent

    async def goto(self) -> None:
        screen = self.screen
        before = screen.t
        if screen.trace.steps == 1:
            in_panes = self.focus_in_panes()
            await self.press("g")
            if in_panes:
                assert self.app.screen is screen  # dimmed with one step: nothing opens
            await self.close_modals()
            return
        await self.press("g")
        if not isinstance(self.app.screen, GoToStepScreen):
            await self.close_modals()  # the key went to a dialog or an input
            return
        if self.rng.random() < 0.3:
            await self.random_size()  # under a dialog
        await self.type(self.rng.choice(GOTO_TEXT))
        value = self.app.screen.query_one(Input).value
        if self.rng.random() < 0.2:
            await self.press("escape")
            assert screen.t == before
            return
        await self.press("enter")
        try:
            wanted = int(value)
        except ValueError:
            wanted = None
        if wanted is not None and 0 <= wanted < screen.trace.steps:
            assert self.app.screen is screen and screen.t == wanted, value
        elif value.strip():
            assert isinstance(self.app.screen, GoToStepScreen), value
            assert str(self.app.screen.query_one("#goto-error").content), value
            await self.press("escape")
            assert screen.t == before
        else:
            assert self.app.screen is screen and screen.t == before
        await self.close_modals()

    async def open_file(self) -> None:
        screen = self.screen
        await self.press("o")
        if not isinstance(self.app.screen, OpenTraceScreen):
            await self.close_modals()
            return
        good = self.rng.random() < 0.3
        path = str(self.rng.choice(self.files)) if good else self.rng.choice(
            ["/nonexistent/[/]x.npz", "~/no such [b]file[/b].npz", "/", "/etc/hostname", "x" * 300,
             "漢字🙂.npz", "[@click=app.quit]"])
        # Typed one key at a time, like a user would (and into the input's
        # own key handling), then submitted; a long path is pasted but for
        # its last letter.
        if len(path) > 40:
            self.app.screen.query_one(Input).value = path[:-1]
            path_end = path[-1]
        else:
            path_end = path
        await self.type(path_end)
        if self.rng.random() < 0.15:
            await self.press("escape")
            await self.close_modals()
            return
        trace = screen.trace
        await self.press("enter")
        await self.close_modals()
        if good:
            assert screen.trace is not trace and str(screen.trace.path) == path
            assert (screen.t, screen.unit, screen.layer_index) == (0, 0, 0)
        else:
            assert screen.trace is trace

    async def model(self) -> None:
        screen = self.screen
        await self.press("m")
        panel = screen.query_one(ModelPanel)
        field = panel.query_one("#model-input", Input)
        if self.app.focused is not field:
            await self.close_modals()  # hidden (too small) or under a dialog
            return
        text = "".join(self.rng.choice(MODEL_TEXT) for _ in range(self.rng.randint(0, 8)))
        await self.type(text)
        if self.rng.random() < 0.3:
            await self.press("backspace")
        if self.rng.random() < 0.4:
            value, trace = field.value, screen.trace
            await self.press("enter")
            if value and set(value) <= set(ALPHABET) and "z" not in value:
                assert screen.trace is not trace and screen.trace.source == f"live: {value}"
                assert screen.t == 0
            else:
                assert screen.trace is trace
        if self.app.focused is field:
            await self.press("escape")
        await self.close_modals()

    async def palette(self) -> None:
        await self.press("ctrl+p")
        if isinstance(self.app.screen, CommandPalette):
            await self.type("".join(self.rng.choice("switchlayer [/]go漢") for _ in range(4)))
        await self.close_modals()

    async def help(self) -> None:
        await self.press("question_mark")
        if isinstance(self.app.screen, HelpScreen):
            if self.rng.random() < 0.3:
                await self.random_size()
            for _ in range(self.rng.randint(0, 3)):
                await self.press(self.rng.choice(["pagedown", "down", "end", "home", "x"]))
        await self.close_modals()

    async def theme(self) -> None:
        dark = self.app.current_theme.dark
        in_panes = self.focus_in_panes()
        await self.press("ctrl+t")
        if in_panes:
            assert self.app.current_theme.dark is not dark

    async def other_binding(self, key: str) -> None:
        """A key of the debugger's that this file knows nothing more about:
        whatever it opens is given some text and closed."""
        await self.press(key)
        if self.app.screen is not self.screen:
            await self.type("".join(self.rng.choice(STRAY_TEXT) for _ in range(3)))
            if self.rng.random() < 0.5:
                await self.press("enter")
        await self.close_modals()

    async def random_size(self) -> None:
        # Weighted to the edges: around the smallest usable size, and the
        # extremes (a repaint of 250×70 costs most of a resize).
        rng = self.rng
        roll = rng.random()
        if roll < 0.4:
            await self.resize(rng.randint(10, MIN_WIDTH + 5), rng.randint(3, MIN_HEIGHT + 2))
        elif roll < 0.85:
            await self.resize(rng.randint(MIN_WIDTH, 130), rng.randint(MIN_HEIGHT, 40))
        else:
            await self.resize(rng.choice([rng.randint(10, 250), 250]), rng.choice([rng.randint(3, 70), 70]))

    async def run(self, actions: int, resize_every: int, dialog_every: int) -> None:
        rng = self.rng
        bound = sorted({key for key, binding in self.screen._bindings if binding.action} - NEVER)
        others = [k for k in bound if k not in NAV | {"g", "o", "m", "question_mark", "ctrl+t",
                                                      "ctrl+p", "ctrl+s"}]
        # Mostly single keys, as a user holds and taps them; now and then a
        # dialog, followed through (opening and closing one costs a hundred
        # single keys: the screen under it is laid out again).
        singles = ["nav"] * 34 + ["other"] * 3 + ["unbound"] * 2 + ["stray"]
        dialogs = [self.goto, self.model, self.open_file, self.palette, self.help, self.model,
                   self.goto]
        for n in range(actions):
            if n % resize_every == 0:
                await self.random_size()
            if n % dialog_every == dialog_every // 2:
                await dialogs[(n // dialog_every) % len(dialogs)]()
                continue
            action = rng.choice(singles)
            if action == "nav":
                await self.nav(rng.choice(sorted(NAV)))
            elif action == "other":
                await self.other_binding(rng.choice(others))
            elif action == "unbound":
                await self.press(rng.choice(UNBOUND))
                await self.close_modals()
            else:
                await self.type(rng.choice(STRAY_TEXT))
                await self.close_modals()
            if rng.random() < 0.004:
                await self.theme()


@pytest.fixture
def failed_workers(monkeypatch) -> list:
    """Every worker that ends in ERROR (they are forgotten once done)."""
    failed: list = []
    remove = WorkerManager._remove_worker

    def spy(self, worker):
        if worker.state == WorkerState.ERROR:
            failed.append(worker)
        remove(self, worker)

    monkeypatch.setattr(WorkerManager, "_remove_worker", spy)
    return failed


@pytest.fixture
def slow_repaint(monkeypatch):
    """Repaint four times a second rather than sixty: keys come faster than
    any user types, and a repaint per key would be most of the run."""
    import textual.screen

    monkeypatch.setattr(textual.screen, "UPDATE_PERIOD", 0.25)


def hostile_files(tmp_path: Path) -> list[Path]:
    """Trace files to open with ``o``: hostile inside and in their names."""
    paths = [tmp_path / "[b]poisoned 漢字.npz", tmp_path / "[@click=app.quit]bare.npz"]
    poisoned_trace(seed=9).save(paths[0])
    bare_trace().save(paths[1])
    return paths


#: Per trace: actions (a key, or a dialog's few), and how often a resize
#: and a dialog come between them.
ACTIONS = 500
RESIZE_EVERY = 32
DIALOG_EVERY = 40


@pytest.mark.parametrize("name", sorted(TRACES))
async def test_random_keys_and_resizes(name, tmp_path, monkeypatch, failed_workers, slow_repaint):
    monkeypatch.chdir(tmp_path)  # where ctrl+s would save its screenshot
    rng = random.Random(f"stress-{name}")
    app = make_app(TRACES[name](), predictor_loader=lambda path: StressPredictor())
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        stress = Stress(app, pilot, rng, hostile_files(tmp_path), failed_workers)
        await stress.settle()
        await stress.press("ctrl+s")
        assert len(list(tmp_path.glob("*.svg"))) == 1
        await stress.run(ACTIONS, RESIZE_EVERY, DIALOG_EVERY)
        await stress.resize(80, 24)
        # q quits cleanly from wherever the stress left the debugger.
        if app.focused is not None and isinstance(app.focused, Input):
            await stress.press("escape")
        event = key_event("q")
        event.set_sender(app)
        app.post_message(event)
        await pilot.pause()
        assert app._exit and app.return_code == 0 and app._exception is None
    FUZZ_CASES["tui stress: keys"] = FUZZ_CASES.get("tui stress: keys", 0) + stress.keys + 1
    FUZZ_CASES["tui stress: resizes"] = FUZZ_CASES.get("tui stress: resizes", 0) + stress.resizes
    FUZZ_CASES["tui stress: traces"] = FUZZ_CASES.get("tui stress: traces", 0) + 1


# -- what the stress found, one test each ---------------------------------------------


def named_trace(*names: str, source: str = "test", vocab: list[str] | None = None) -> Trace:
    """A small recorded trace with one layer per name (2 units, 3 steps)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 2))
    layers = []
    for name in names:
        cell = LSTMCell(W={g: rng.normal(size=(2, x.shape[1])) for g in GATES},
                        U={g: rng.normal(size=(2, 2)) for g in GATES},
                        b={g: rng.normal(size=2) for g in GATES})
        rec = cell.forward(x, dtype=np.float64)
        layers.append(Layer.from_recording(rec, name=name, cell=cell))
        x = rec.h
    probs = None if vocab is None else np.full((3, len(vocab)), 1 / max(len(vocab), 1))
    return Trace(layers=layers, tokens=np.array(["a", "b", "c"]), probs=probs,
                 vocab=None if vocab is None else np.array(vocab, dtype=str), source=source)


async def test_palette_shows_layer_names_as_text_not_markup():
    """A layer called "[/]" crashed the app as the palette opened (the
    palette parses a str as markup); "[@click=app.quit]" would have been a
    link that quits."""
    app = make_app(named_trace("[/]", "[@click=app.quit]x[/]", "[b]bold[/b]"), load_model=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        app.screen.query_one(Input).value = "switch to layer"
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "Switch to layer 0 ([/], 2 units)" in text
        assert "Switch to layer 1 ([@click=app.quit]x[/], 2 units)" in text
        assert "Switch to layer 2 ([b]bold[/b], 2 units)" in text
        app.screen.query_one(Input).value = "switch to layer 1"
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.debugger.layer_index == 1 and app.return_code is None


def test_palette_highlight_keeps_the_text():
    from textual.command import Matcher

    from lstm_tui.tui.commands import highlight

    content = highlight(Matcher("bold"), "[b]bold[/b]")
    assert content.plain == "[b]bold[/b]"
    assert {span.start for span in content.spans} == {3, 4, 5, 6}


async def test_notifications_show_paths_as_text(tmp_path):
    """Opening "/nonexistent/[/]x.npz" crashed the app: its error toast read
    the path as markup."""
    good = tmp_path / "[b]named[red].npz"
    named_trace("lstm").save(good)
    app = make_app(named_trace("lstm"), load_model=False)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        for path in ("/nonexistent/[/]x.npz", str(good)):
            await pilot.press("o")
            app.screen.query_one(Input).value = path
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "/nonexistent/[/]x.npz: no such file" in text
        assert "[b]named[red].npz" in text
        assert app.debugger.trace.path == good and app.return_code is None


def test_printable_escapes_what_a_terminal_would_act_on():
    assert draw.printable("a\x1b[2Jb\nc\td\u202ee\u200bf") == "a\\x1b[2Jb\\nc\\td\\u202ee\\u200bf"
    assert draw.printable("漢字 🙂 é [b]") == "漢字 🙂 é [b]"
    assert [draw.one_cell(s) for s in ("abc", "", "漢", "🙂", "\x1b[31m", "\u200b")] == \
        ["a", " ", "·", "·", "·", "·"]


async def test_names_and_sources_cannot_write_to_the_terminal():
    """A source or layer name with ESC went to the terminal as it was (an
    escape sequence from a file), and a newline in the source pushed the
    step off the one-line status."""
    trace = named_trace("x\ty\x1b]0;owned\x07", source="a\x1b[2Jb\nsecond line",
                        vocab=["\x1b[31m", "漢", "\u200b"])
    app = make_app(trace, predictor_loader=lambda path: StressPredictor())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        lines = text.splitlines()
        assert "a\\x1b[2Jb\\nsec" in lines[0] and "t = 0 of 0…2" in lines[0]
        assert "x\\ty\\x1b]0;owned" in lines[0]
        for line in lines:
            assert cell_len(line) == 120
            assert not [ch for ch in line if unicodedata.category(ch) in ("Cc", "Cf")], line


def test_pnext_letters_one_cell_per_step():
    """A wide (漢), zero-width or empty label shifted every letter after it
    off its step's bar."""
    vocab = ["漢", "🙂", "\u200b", "", "a"]
    trace = named_trace("lstm", vocab=vocab)
    trace.probs = np.eye(5)[[0, 1, 2]]
    content = pnext_lines(trace, 1, 20)
    letters, sparks, marker = str(content).split("\n")[2:]
    assert letters == "···"
    assert cell_len(sparks) == cell_len(marker) == 3 and marker.index("▲") == 1


async def test_readout_with_no_outputs():
    """A readout of shape (T, 0) is valid; the model panel raised on it."""
    trace = named_trace("lstm", vocab=[])
    app = make_app(trace, predictor_loader=lambda path: StressPredictor())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("right")
        await pilot.pause()
        assert app.return_code is None and app._exception is None
        assert "t = 1: '?' NaN" in str(app.screen.query_one("#model-pnext").content)


async def test_too_small_shows_the_step_and_a_marker():
    app = make_app(named_trace("lstm"), load_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab", "z")  # the i_t pane zoomed
        assert app.screen.maximized is not None
        for width, height in ((39, 24), (80, 9), (12, 4), (10, 3), (5, 2)):
            await pilot.resize_terminal(width, height)
            await pilot.pause()
            lines = screen_text(app).split("\n")
            step = f"t = {app.debugger.t} of 0…2"
            assert (step in lines[0]) is (len(step) <= width), lines
            assert lines[1].rstrip() == expected_marker(width) != "", lines
            assert all(line.strip() == "" for line in lines[2:]), lines
        assert app.screen.maximized is None  # the marker, not a zoomed pane
        assert expected_marker(39) == "terminal too small: need at least 40×10"
        await pilot.press("right", "down")  # keys still work
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        text = screen_text(app)
        assert "t = 1 of 0…2" in text.splitlines()[0] and "too small" not in text
        assert "f_t" in text and (app.debugger.t, app.debugger.unit) == (1, 1)
        assert app.focused is app.screen.query_one("#pane-i")  # focus back where it was


async def test_a_zoomed_pane_keeps_the_status_line():
    """A zoomed pane took the whole screen: nothing said which step it was."""
    app = make_app(named_trace("lstm"), load_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("z", "right")
        await pilot.pause()
        lines = screen_text(app).splitlines()
        assert app.screen.maximized is app.screen.query_one("#pane-f")
        assert "t = 1 of 0…2" in lines[0] and "f_t" in lines[1]
        await pilot.press("z")
        assert app.screen.maximized is None


async def test_go_to_step_enter_on_nothing_closes_the_dialog():
    """Enter on an empty "go to step" showed an error instead of closing as
    its code meant to (the validator failed the empty field first)."""
    app = make_app(named_trace("lstm"), load_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("right", "g", "enter")
        assert app.screen is app.debugger and app.debugger.t == 1
        await pilot.press("g", "x", "enter")  # x is not even typed: still nothing
        assert app.screen is app.debugger
        await pilot.press("g", "9", "enter")
        assert isinstance(app.screen, GoToStepScreen)
        assert "a step between 0 and 2" in screen_text(app)


async def test_timeline_window_is_placed_for_the_width_it_is_drawn_at():
    """In a terminal (tmux), stepping while it was too small (the timeline
    hidden, no width) left the timeline's window on the last three steps
    once it grew again: ``f  ×××`` for a trace of 21 steps."""
    app = make_app(poisoned_trace(), load_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        timeline = app.screen.query_one(Timeline)
        await pilot.resize_terminal(30, 8)  # too small: the timeline is hidden
        await pilot.pause()
        assert timeline.size.width == 0
        await pilot.press("end", "left", "left")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        row = widget_lines(timeline)[0]
        assert len(row[3:].rstrip()) == 21, row
