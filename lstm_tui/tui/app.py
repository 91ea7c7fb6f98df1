"""The lstm-tui application: the debugger screen, its keys, and ``make_app``.

The debugger screen owns the state — which ``trace``, which layer
(``layer_index``: the name ``layer`` is taken, ``Widget.layer`` is the CSS
layer Textual composites by), the step ``t`` and the selected ``unit`` — as
reactives whose validators clamp them into range. Every pane receives them through ``data_bind`` and redraws
itself; panes never change them directly but post messages (``messages``).

Every key is a ``Binding`` with a description and an id. The footer, the
help screen (``help``) and the command palette (``commands``) are all read
from these bindings, and ``check_action`` dims the keys that cannot act
(stepping back at t = 0, ``[`` on the first layer).

Keys ``b``, ``c``, ``C``, ``/``, ``n``, ``N`` and ``w`` are deliberately left
unbound: they are reserved for breakpoints, search and watches.

Nothing here imports TensorFlow or Keras: the model panel does that in a
thread worker, on first use only (see ``model_panel``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from textual import events, work
from textual.actions import parse as parse_action
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.driver import Driver
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

from ..trace import Trace, TraceError
from ..trace import load as load_trace
from .commands import DebuggerCommands, binding_command
from .dialogs import GoToStepScreen, OpenTraceScreen
from .explain import ExplainPane
from .help import HelpScreen, help_text, key_rows
from .messages import StepPicked, TraceReady, UnitPicked
from .model_panel import ModelPanel, PredictorLoader
from .status import StatusLine, layer_label
from .timeline import Timeline
from .vector_pane import VectorPane

#: The seven vectors, in the order the notebook prints them.
PANES = ("x", "f", "i", "c_hat", "c", "o", "h")

#: Below this width the model panel is hidden; ``m`` shows it as an overlay.
WIDE = 100
#: Heights at which the layout changes: panes in 4 columns (2 rows) below
#: TALL, and a shorter explain pane below SHORT.
SHORT = 28
TALL = 36

STEP = Binding.Group("step")
UNIT = Binding.Group("unit")
LAYER = Binding.Group("layer")


def _clamp(value: int, lo: int, hi: int) -> int:
    return max(lo, min(value, hi))


class DebuggerScreen(Screen[None]):
    """The main screen: the seven panes, explain, timeline and model panel."""

    AUTO_FOCUS = "#pane-f"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-tiny"), (SHORT, "-short"), (TALL, "-tall")]

    BINDINGS = [
        Binding("left,h", "step(-1)", "Step back", id="step_back", group=STEP),
        Binding("right,l", "step(1)", "Step forward", id="step_forward", group=STEP),
        Binding("home", "first_step", "First step", id="first_step", show=False),
        Binding("end", "last_step", "Last step", id="last_step", show=False),
        Binding("pageup", "step(-10)", "Back 10 steps", id="page_back", show=False),
        Binding("pagedown", "step(10)", "Forward 10 steps", id="page_forward", show=False),
        Binding("up,k", "unit(-1)", "Previous unit", id="unit_up", group=UNIT),
        Binding("down,j", "unit(1)", "Next unit", id="unit_down", group=UNIT),
        Binding("left_square_bracket", "layer(-1)", "Previous layer", id="layer_prev", group=LAYER),
        Binding("right_square_bracket", "layer(1)", "Next layer", id="layer_next", group=LAYER),
        Binding("g", "goto", "Go to step", id="goto"),
        Binding("tab", "app.focus_next", "Next pane", id="next_pane", show=False),
        Binding("shift+tab", "app.focus_previous", "Previous pane", id="previous_pane", show=False),
        Binding("z", "zoom", "Zoom pane", id="zoom", show=False),
        Binding("m", "focus_model", "Model panel", id="focus_model"),
        Binding("o", "open_trace", "Open trace file", id="open_trace", show=False),
        Binding("ctrl+t", "toggle_theme", "Toggle theme", id="toggle_theme", show=False),
        Binding("ctrl+s", "save_screenshot", "Save screenshot", id="save_screenshot", show=False),
        Binding("question_mark", "help", "Help", id="help"),
    ]

    # Not reactive(bindings=True): that would rebuild the footer on every
    # step. ``_refresh_keys`` does it only when a key becomes (un)available.

    #: The trace being debugged; replaced by opening a file or a live pass.
    trace: reactive[Trace] = reactive(None)  # type: ignore[arg-type]
    #: Index of the layer on screen (clamped to the trace's layers).
    layer_index: reactive[int] = reactive(0)
    #: The current step, 0 … T-1 (clamped).
    t: reactive[int] = reactive(0)
    #: The selected unit of the current layer (clamped).
    unit: reactive[int] = reactive(0)

    def __init__(
        self,
        trace: Trace,
        *,
        model_path: str | os.PathLike[str] | None = None,
        load_model: bool = True,
        predictor_loader: PredictorLoader | None = None,
        model_autoload: float | None = None,
    ) -> None:
        super().__init__()
        self.set_reactive(DebuggerScreen.trace, trace)
        self.model_path = model_path
        self.load_model = load_model
        self.predictor_loader = predictor_loader
        self.model_autoload = model_autoload
        self._last_pane: Widget | None = None
        self._key_state: tuple[bool, ...] | None = None

    # -- layout ----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        state = (DebuggerScreen.trace, DebuggerScreen.layer_index, DebuggerScreen.t, DebuggerScreen.unit)
        yield StatusLine(id="status").data_bind(DebuggerScreen.trace, DebuggerScreen.layer_index,
                                                DebuggerScreen.t)
        with Horizontal(id="body"):
            with Vertical(id="main"):
                with Grid(id="panes"):
                    for vector in PANES:
                        yield VectorPane(vector).data_bind(*state)
                yield ExplainPane(id="explain").data_bind(*state)
                yield Timeline(id="timeline").data_bind(*state)
            yield ModelPanel(
                model_path=self.model_path,
                loader=self.predictor_loader,
                enabled=self.load_model,
                id="model",
            ).data_bind(DebuggerScreen.trace, DebuggerScreen.t)
        yield Footer()

    def on_mount(self) -> None:
        self.fit_panes()
        if self.load_model and self.model_autoload is not None:
            self.set_timer(self.model_autoload, self.model_panel.ensure_model)

    @property
    def model_panel(self) -> ModelPanel:
        return self.query_one("#model", ModelPanel)

    # -- state -----------------------------------------------------------------

    def validate_layer_index(self, layer: int) -> int:
        return _clamp(layer, 0, len(self.trace.layers) - 1)

    def validate_t(self, t: int) -> int:
        return _clamp(t, 0, self.trace.steps - 1)

    def validate_unit(self, unit: int) -> int:
        layers = self.trace.layers
        return _clamp(unit, 0, layers[_clamp(self.layer_index, 0, len(layers) - 1)].units - 1)

    def watch_layer_index(self) -> None:
        # Layers may differ in width: re-clamp the unit into the new one.
        self.unit = self.unit
        self.fit_panes()
        self._refresh_keys()

    def watch_trace(self) -> None:
        self.fit_panes()
        self._refresh_keys()

    def watch_t(self) -> None:
        self._refresh_keys()

    def watch_unit(self) -> None:
        self._refresh_keys()

    def _refresh_keys(self) -> None:
        """Re-check which keys can act (footer dimming) when that changed:
        at the first or last step, unit or layer."""
        trace = self.trace
        layer = trace.layers[_clamp(self.layer_index, 0, len(trace.layers) - 1)]
        state = (self.t <= 0, self.t >= trace.steps - 1, self.unit <= 0, self.unit >= layer.units - 1,
                 self.layer_index <= 0, self.layer_index >= len(trace.layers) - 1)
        if state != self._key_state:
            self._key_state = state
            self.refresh_bindings()

    def on_resize(self, event: events.Resize) -> None:
        # The breakpoint classes (and so the pane grid) may just have changed.
        self.call_after_refresh(self.fit_panes)
        # A narrow footer leaves out the palette key (help lists it) so the
        # debugger's own keys fit in 80 columns.
        self.query_one(Footer).show_command_palette = event.size.width >= WIDE

    def fit_panes(self) -> None:
        """Cap the pane grid at what its rows can show: a small layer leaves
        the rest of the height to the explain pane instead of blank rows."""
        if not self.is_mounted or self.trace is None:
            return
        layer = self.trace.layers[_clamp(self.layer_index, 0, len(self.trace.layers) - 1)]
        # Rows of the grid (+1 for each pane's title rule): the first holds
        # x_t, whose length is the input's, the others only units.
        first = max(layer.units, layer.input_dim) + 1
        other = layer.units + 1
        needs = [first, other, other] if self.has_class("-tall") else [first, other]
        panes = self.query_one("#panes")
        # Shared in proportion to need, and never more than needed in all.
        panes.styles.grid_rows = " ".join(f"{n}fr" for n in needs)
        panes.styles.max_height = sum(needs)

    def set_trace(self, trace: Trace) -> None:
        """Debug ``trace`` from its first step, first layer, first unit."""
        self.trace = trace
        self.layer_index = 0
        self.t = 0
        self.unit = 0

    # -- keys ------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """None (shown dimmed, does nothing) for keys that cannot act now."""
        trace = self.trace
        if trace is None:
            return True
        last_t = trace.steps - 1
        if action == "step":
            delta = int(parameters[0]) if parameters else 0  # type: ignore[call-overload]
            if (delta < 0 and self.t <= 0) or (delta > 0 and self.t >= last_t):
                return None
        elif action == "first_step":
            return True if self.t > 0 else None
        elif action == "last_step":
            return True if self.t < last_t else None
        elif action == "goto":
            return True if last_t > 0 else None
        elif action == "unit":
            delta = int(parameters[0]) if parameters else 0  # type: ignore[call-overload]
            units = trace.layers[self.layer_index].units
            if (delta < 0 and self.unit <= 0) or (delta > 0 and self.unit >= units - 1):
                return None
        elif action == "layer":
            delta = int(parameters[0]) if parameters else 0  # type: ignore[call-overload]
            if (delta < 0 and self.layer_index <= 0) or (delta > 0 and self.layer_index >= len(trace.layers) - 1):
                return None
        return True

    def action_step(self, delta: int) -> None:
        self.t += delta

    def action_first_step(self) -> None:
        self.t = 0

    def action_last_step(self) -> None:
        self.t = self.trace.steps - 1

    def action_unit(self, delta: int) -> None:
        self.unit += delta

    def action_layer(self, delta: int) -> None:
        self.layer_index += delta

    def switch_layer(self, k: int) -> None:
        self.layer_index = k

    def action_goto(self) -> None:
        def go(step: int | None) -> None:
            if step is not None:
                self.t = step

        self.app.push_screen(GoToStepScreen(self.trace.steps, self.t), go)

    def action_zoom(self) -> None:
        """Maximize the focused pane, or restore the layout (like tmux's zoom)."""
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None and not isinstance(self.focused, Input):
            self.maximize(self.focused)

    def action_focus_model(self) -> None:
        panel = self.model_panel
        panel.add_class("-shown")  # matters only when narrow: shows the overlay
        panel.query_one("#model-input", Input).focus()

    def on_model_panel_leave(self, message: ModelPanel.Leave) -> None:
        message.stop()
        self.model_panel.remove_class("-shown")
        self.focus_panes()

    def focus_panes(self) -> None:
        target = self._last_pane if self._last_pane is not None and self._last_pane.is_mounted \
            else self.query_one("#pane-f")
        target.focus()

    def on_descendant_focus(self, event: Any) -> None:
        widget = event.widget if hasattr(event, "widget") else None
        if isinstance(widget, (VectorPane, ExplainPane, Timeline)):
            self._last_pane = widget

    def action_help(self) -> None:
        rows = key_rows([self, self.model_panel, self.app])
        notes = ["Arrow keys act wherever the focus is, except in the model panel's input "
                 "(Esc leaves it)."]
        self.app.push_screen(HelpScreen(help_text(rows, notes)))

    def action_open_trace(self) -> None:
        def opened(path: str | None) -> None:
            if path:
                self.open_trace(path)

        self.app.push_screen(OpenTraceScreen(), opened)

    @work(thread=True, exclusive=True, exit_on_error=False, group="trace",
          description="Opening a trace file")
    def open_trace(self, path: str) -> None:
        """Load a trace file off the UI thread (a compressed trace is read
        whole); the result arrives as a ``TraceReady`` message."""
        trace = load_trace(os.path.expanduser(path))
        self.post_message(TraceReady(trace, str(path)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "trace" and event.state == WorkerState.ERROR:
            error = event.worker.error
            why = str(error) if isinstance(error, TraceError) else f"{type(error).__name__}: {error}"
            # One line, and the trace on screen stays.
            self.notify(why.splitlines()[0] if why else "unknown error",
                        title="could not open the trace", severity="error")

    def action_toggle_theme(self) -> None:
        self.app.theme = "textual-light" if self.app.current_theme.dark else "textual-dark"

    def action_save_screenshot(self) -> None:
        path = self.app.save_screenshot()
        self.notify(f"saved {path}", title="screenshot")

    # -- messages from the panes -------------------------------------------------

    def on_unit_picked(self, message: UnitPicked) -> None:
        self.unit = message.unit

    def on_step_picked(self, message: StepPicked) -> None:
        self.t = message.t

    def on_trace_ready(self, message: TraceReady) -> None:
        message.stop()
        self.set_trace(message.trace)
        self.notify(message.origin, title="trace opened")
        if message.origin.startswith("live:"):
            self.model_panel.remove_class("-shown")
            self.focus_panes()

    # -- command palette -----------------------------------------------------------

    def palette_commands(self) -> Iterator[tuple[str, Callable[[], Any], str]]:
        """(name, callback, help) for the palette: the bindings that can act
        now, then one entry per layer."""
        for row in key_rows([self]):
            _, name, params = parse_action(row.binding.action)
            if not self.check_action(name, params):
                continue
            yield row.description, binding_command(self, row.binding.action), "key " + " ".join(row.keys)
        for k, layer in enumerate(self.trace.layers):
            here = " (current)" if k == self.layer_index else ""
            yield (f"Switch to {layer_label(k, layer)}", partial(self.switch_layer, k),
                   f"show layer {k}{here}")


class LstmTuiApp(App[None]):
    """A terminal step-through debugger for LSTM forward passes."""

    CSS_PATH = "app.tcss"
    TITLE = "lstm-tui"
    COMMANDS = App.COMMANDS | {DebuggerCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+p", "command_palette", "Command palette", id="command_palette",
                show=False, priority=True),
    ]

    def __init__(
        self,
        trace: Trace,
        *,
        model_path: str | os.PathLike[str] | None = None,
        title: str | None = None,
        load_model: bool = True,
        predictor_loader: PredictorLoader | None = None,
        model_autoload: float | None = None,
    ) -> None:
        super().__init__()
        self._initial_trace = trace
        self._screen_options = dict(
            model_path=model_path,
            load_model=load_model,
            predictor_loader=predictor_loader,
            model_autoload=model_autoload,
        )
        if title:
            self.title = title

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        # Only Textual's own Linux/macOS driver: not Windows, and not a driver
        # chosen with TEXTUAL_DRIVER.
        if driver.__module__ == "textual.drivers.linux_driver" and driver.__name__ == "LinuxDriver":
            from .driver import OwnDescriptorDriver

            return OwnDescriptorDriver
        return driver

    def get_default_screen(self) -> Screen[Any]:
        return DebuggerScreen(self._initial_trace, **self._screen_options)  # type: ignore[arg-type]

    @property
    def debugger(self) -> DebuggerScreen:
        """The debugger screen (the bottom of the screen stack)."""
        screen = self.screen_stack[0]
        assert isinstance(screen, DebuggerScreen)
        return screen


def make_app(
    trace: Trace,
    *,
    model_path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    load_model: bool = True,
    predictor_loader: PredictorLoader | None = None,
    model_autoload: float | None = None,
) -> LstmTuiApp:
    """Build the debugger for ``trace``.

    ``model_path`` is the Keras model the side panel queries (None: the
    bundled next-letter model). ``load_model=False`` never loads it (no
    TensorFlow at all); by default it loads the first time the panel is
    used, or ``model_autoload`` seconds after start when that is set.
    ``predictor_loader`` replaces the Keras bridge (tests use a fake).
    """
    return LstmTuiApp(
        trace,
        model_path=Path(model_path) if model_path is not None else None,
        title=title,
        load_model=load_model,
        predictor_loader=predictor_loader,
        model_autoload=model_autoload,
    )
