"""The model side panel: ask the next-letter model what comes after some text.

Type letters and the top five next letters appear with their probabilities,
updated on every keystroke (``Predictor.top`` is plain NumPy, fast enough
for that). Enter records a live forward pass of the typed text and hands it
to the debugger. Below, the trace's own description when its meta has one
(the bundled trace says what the model was trained on), and, when the trace
has a readout, a mini timeline of its top prediction per step; a trace whose
meta lists ``trained_steps`` has every other step's prediction marked as
outside the model's training (a window not yet full, say).

The model's weights are read from its file in NumPy (``keras.weights``):
no TensorFlow, so the light install (no ``keras`` extra) answers queries
and records passes too. Only a model that reader does not read is loaded
through Keras, which imports TensorFlow: seconds of work, and something a
user replaying a trace file should never pay for. So the bridge is imported
only inside a thread worker, and the worker starts only when the panel is
first used (focused), or after an idle delay if the app asks for
preloading. Errors from that worker (a model that needs TensorFlow where it
is not installed, a bad model file) are shown in the panel, and the rest of
the app carries on.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from ..core import numeric
from ..core.text import Message as Words
from ..core.trace import Trace
from ..debug.session import View
from ..errors import LstmTuiError
from . import draw
from .catalogue import say, tr
from .files import error_line
from .messages import TraceReady
from .translated import Translated
from .view import ShowsView

TOP_K = 5
BAR_WIDTH = 13
#: The longest description shown from a trace's meta (it comes from a file).
DESCRIPTION_MAX = 300
#: Seconds between showing "loading model…" and starting the bridge.
BRIDGE_START_DELAY = 0.15


class Predictor(Protocol):
    """What the panel needs of ``lstm_tui.keras.Predictor``."""

    vocab: str
    path: Path

    def top(self, text: str, k: int = 5) -> list[tuple[str, float]]: ...

    def record(self, text: str) -> Trace: ...


#: ``loader(path)``, or ``loader(path, vocab=...)`` with the vocabulary of
#: a trace recorded from that model (used when the model stores none).
PredictorLoader = Callable[..., Predictor]


def load_bridge_predictor(path: str | os.PathLike[str] | None, vocab: str | None = None) -> Predictor:
    """The real loader: the Keras bridge reads the model's weights from its
    file (and imports TensorFlow only for a model its reader does not
    read). Runs in a thread worker, never on the UI thread."""
    from ..keras import Predictor as BridgePredictor

    return BridgePredictor.load(path, vocab=vocab)


def trace_vocabulary(trace: Trace | None) -> tuple[str, str] | None:
    """(the model file a trace was recorded from, its readout's vocabulary
    as one string) when the trace says both and every entry is one
    character (the panel types letters); None otherwise."""
    if trace is None or trace.vocab is None:
        return None
    model = trace.meta.get("model")
    vocab = [str(v) for v in np.asarray(trace.vocab)]
    if not isinstance(model, str) or not vocab or any(len(v) != 1 for v in vocab):
        return None
    return model, "".join(vocab)


def same_model(named: str, path: str | os.PathLike[str] | None) -> bool:
    """Whether the file a trace names is the panel's model (``path``, or
    the shipped model when None). Touches the file system: call it from a
    worker."""
    if path is None:
        from ..keras.loading import default_model_path

        path = default_model_path()
    try:
        return os.path.samefile(named, path)
    except (OSError, ValueError):
        return False


def _vocab_label(vocab: str) -> str:
    if len(vocab) > 3 and all(ord(b) - ord(a) == 1 for a, b in zip(vocab, vocab[1:])):
        return f"{vocab[0]}–{vocab[-1]}"
    shown = vocab if len(vocab) <= 30 else vocab[:29] + "…"
    return draw.printable(shown)


def _error_line(error: BaseException) -> str:
    """One line for the panel: an ``LstmTuiError`` (the bridge's
    ``BridgeError`` among them) speaks for itself, in the screen's language
    when it was raised with a ``Message`` (a model that needs TensorFlow);
    anything else is ``Type: first line`` (``files.error_line``)."""
    if isinstance(error, LstmTuiError) and error.args and isinstance(error.args[0], Words):
        return say(error)
    return error_line(error)


class ModelPanel(Translated, ShowsView, Vertical, can_focus=False):
    """The side panel that queries the next-letter model."""

    BINDING_GROUP_TITLE = "Model panel"

    BINDINGS = [
        Binding("escape", "leave", "Back to the panes", id="model_leave"),
    ]

    DEFAULT_CSS = """
    ModelPanel {
        & > Input { margin: 1 0; }
        & > #model-status { color: $text-muted; height: auto; }
        & > #model-status.-error { color: $error; text-style: bold; }
        & > #model-top { height: auto; min-height: 5; }
        & > #model-about { height: auto; margin-top: 1; color: $text-muted; }
        & > #model-pnext { height: auto; margin-top: 1; }
    }
    """

    #: What is shown (bound to the debugger screen's ``view``): its trace
    #: for the P(next) mini line, its step marked on it.
    view: reactive[View | None] = reactive(None, repaint=False)

    @dataclass
    class Loaded(Message):
        """The model finished loading (posted from the loader thread)."""

        predictor: Any

    @dataclass
    class Recorded(Message):
        """A live forward pass finished (posted from the recorder thread)."""

        trace: Trace
        text: str

    @dataclass
    class Leave(Message):
        """The user wants to go back to the panes (Escape)."""

    def __init__(
        self,
        *,
        model_path: str | os.PathLike[str] | None = None,
        loader: PredictorLoader | None = None,
        enabled: bool = True,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.model_path = model_path
        self.loader: PredictorLoader = loader or load_bridge_predictor
        self.enabled = enabled
        self.predictor: Predictor | None = None
        self.load_worker: Worker[None] | None = None
        self.record_worker: Worker[None] | None = None
        self._failed: str | None = None
        #: (trace, t, width) of the readout on screen (None: no readout).
        self._pnext_shown: tuple[Any, ...] | None = None
        #: How many lines the readout has on screen (a change needs a layout).
        self._pnext_height = 0
        #: The trace whose description is on screen.
        self._about_shown: Any = None
        self._pnext_done = False
        self._loading = False
        # Before loading: the model it will load; off: none.
        name = Path(model_path).stem if model_path is not None else "next_letter"
        self._title(name if enabled else None)

    def _title(self, name: str | None) -> None:
        """``model: NAME``, the model's file name without its extension, or
        ``model: none`` when there is no model (off, or it failed to load)."""
        shown = draw.printable(name) if name is not None else tr("none")  # a file name may hold anything
        self.border_title = Content.assemble((tr("model"), "bold"), ": ", shown)

    def compose(self) -> ComposeResult:
        yield Input(placeholder=tr("type letters…"), id="model-input", select_on_focus=False,
                    compact=True)
        yield Static(id="model-status")
        yield Static(id="model-top")
        yield Static(id="model-about")
        yield Static(id="model-pnext")

    def on_mount(self) -> None:
        if not self.enabled:
            self._status(tr("model off: this session does not load the model"))
        else:
            self._status(tr("type letters to ask the model (it loads on first use)"))
        self._update_about()
        self._update_pnext()

    # -- loading ---------------------------------------------------------------

    def ensure_model(self) -> None:
        """Start loading the model unless it is loaded, loading, failed or off."""
        if not self.enabled or self.predictor is not None or self._failed is not None:
            return
        if self._loading:
            return
        self._loading = True
        self._status(tr("loading model…"))
        self.query_one("#model-top").loading = True
        if self.loader is load_bridge_predictor:
            # The bridge silences file descriptor 2 while TensorFlow imports
            # (its C++ start-up noise would scribble over the screen), and
            # Textual draws on that same descriptor: give the "loading" frame
            # a moment to reach the terminal first.
            self.set_timer(BRIDGE_START_DELAY, self._start_load)
        else:
            self._start_load()

    def _start_load(self) -> None:
        self.load_worker = self._load(trace_vocabulary(self.trace))

    @work(thread=True, exclusive=True, exit_on_error=False, group="model",
          description="Loading the next-letter model")
    def _load(self, recorded: tuple[str, str] | None) -> None:
        # The trace shown was recorded from this very model: its vocabulary
        # is the model's, should the model not store one.
        if recorded is not None and same_model(recorded[0], self.model_path):
            predictor = self.loader(self.model_path, vocab=recorded[1])
        else:
            predictor = self.loader(self.model_path)
        self.post_message(self.Loaded(predictor))

    def on_descendant_focus(self) -> None:
        # First use of the panel is the moment to pay for TensorFlow.
        self.ensure_model()

    def _repaint_after_bridge(self) -> None:
        """Redraw the whole screen once the bridge is done: frames drawn
        while it had file descriptor 2 silenced never reached the terminal."""
        if self.loader is load_bridge_predictor:
            self.app.screen.refresh()

    def on_model_panel_loaded(self, message: Loaded) -> None:
        message.stop()
        self._loading = False
        self._repaint_after_bridge()
        self.predictor = message.predictor
        self.query_one("#model-top").loading = False
        path = getattr(self.predictor, "path", None)
        if path is not None:
            self._title(Path(path).stem)
        self._status(tr("vocabulary {vocab} · Enter records a pass", vocab=_vocab_label(self.predictor.vocab)))
        self.query_text(self.query_one("#model-input", Input).value)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures land: loading or recording."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if event.worker.group == "model":
            self._loading = False
            self._repaint_after_bridge()
            self._failed = _error_line(error) if error is not None else tr("unknown error")
            self._title(None)
            self.query_one("#model-top").loading = False
            self._status(tr("model failed to load: {why}", why=self._failed), error=True)
        elif event.worker.group == "record":
            self.query_one("#model-top").loading = False
            msg = _error_line(error) if error is not None else tr("unknown error")
            self._status(tr("could not record: {why}", why=msg), error=True)

    # -- querying --------------------------------------------------------------

    def _status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#model-status", Static)
        status.update(Content(text))
        status.set_class(error, "-error")

    def bad_chars(self, text: str) -> list[str]:
        if self.predictor is None:
            return []
        vocab = set(self.predictor.vocab)
        return [ch for ch in dict.fromkeys(text) if ch not in vocab]

    @on(Input.Changed, "#model-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_text(event.value)

    def query_text(self, text: str) -> None:
        """Show the model's top next letters after ``text``."""
        top = self.query_one("#model-top", Static)
        if self.predictor is None:
            if self._failed is None and self.enabled:
                self.ensure_model()
            top.update("")
            return
        if not text:
            top.update("")
            self._status(tr("vocabulary {vocab} · Enter records a pass", vocab=_vocab_label(self.predictor.vocab)))
            return
        bad = self.bad_chars(text)
        if bad:
            top.update("")
            shown = ", ".join(draw.quote(ch) for ch in bad)
            self._status(tr("{letters} not in the vocabulary {vocab}", letters=shown,
                            vocab=_vocab_label(self.predictor.vocab)),
                         error=True)
            return
        try:
            results = self.predictor.top(text, k=TOP_K)
        except Exception as error:  # a bridge failure must not take the app down
            top.update("")
            self._status(_error_line(error), error=True)
            return
        self._status(tr("after {text}:", text=draw.quote(text)))
        top.update(Content("\n").join(self._result_line(ch, p) for ch, p in results))

    @staticmethod
    def _result_line(ch: str, p: float) -> Content:
        frac = min(max(p, 0.0), 1.0) if draw.is_finite(p) else 0.0
        eighths = int(round(frac * BAR_WIDTH * 8))
        full, part = divmod(eighths, 8)
        bar = "█" * full + (draw.EIGHTHS[part] if part else "")
        return Content.assemble(
            (draw.quote(ch).ljust(5), "bold"), draw.fmt(p).rjust(7), " ", (bar, "$primary"),
        )

    @on(Input.Submitted, "#model-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        if self.predictor is None or not text or self.bad_chars(text):
            if self.predictor is None and self.enabled and self._failed is None:
                self._status(tr("the model is still loading…"))
            return
        self._status(tr("recording a forward pass of {text}…", text=draw.quote(text)))
        self.record_worker = self._record(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="record",
          description="Recording a live forward pass")
    def _record(self, text: str) -> None:
        assert self.predictor is not None
        trace = self.predictor.record(text)
        # A newer Enter replaced this pass (exclusive worker): drop it.
        if not get_current_worker().is_cancelled:
            self.post_message(self.Recorded(trace, text))

    def on_model_panel_recorded(self, message: Recorded) -> None:
        message.stop()
        self._status(tr("recorded {text}: now in the debugger", text=draw.quote(message.text)))
        self.post_message(TraceReady(message.trace, f"live: {message.text}"))

    def action_leave(self) -> None:
        self.post_message(self.Leave())

    # -- P(next) per step ------------------------------------------------------

    def watch_view(self, old: View | None, new: View | None) -> None:
        if old is None or new is None or old.trace is not new.trace:
            self._update_about()
        self._update_pnext()

    def on_resize(self) -> None:
        self._update_pnext()

    def _update_about(self) -> None:
        """The trace's description (from its meta), or nothing."""
        if not self.is_mounted or (self.trace is self._about_shown and self._about_shown is not None):
            return
        self._about_shown = self.trace
        widget = self.query_one("#model-about", Static)
        text = None if self.trace is None else trace_description(self.trace)
        widget.update(Content(text or ""))
        widget.display = text is not None

    def _update_pnext(self) -> None:
        if not self.is_mounted:
            return
        trace = self.trace
        readout = trace is not None and trace.probs is not None
        width = max(self.content_region.width, 8)
        # What the readout shows depends on these alone: a step of a trace
        # without one, or a repeat, must not update (a Static update is a
        # layout pass of the screen).
        shown = (trace, self.t, width) if readout else None
        if shown == self._pnext_shown and self._pnext_done:
            return
        self._pnext_shown, self._pnext_done = shown, True
        widget = self.query_one("#model-pnext", Static)
        if not readout:
            if widget.display:
                widget.update("")
                widget.display = False
            return
        first = not widget.display or not widget.content
        widget.display = True
        # The same lines at every step of a trace: only the first update (or
        # a trace with more or fewer lines) needs a layout.
        assert trace is not None  # ``readout`` says it has one
        content = pnext_lines(trace, self.t, width)
        height = len(content.split("\n"))
        widget.update(content, layout=bool(first) or height != self._pnext_height)
        self._pnext_height = height


_TOP: weakref.WeakKeyDictionary[Trace, tuple[range, list[str], np.ndarray]] = weakref.WeakKeyDictionary()


def top_in_window(trace: Trace, window: range) -> tuple[list[str], np.ndarray]:
    """The readout's most likely output ("?" when no output is a number)
    and its probability at each step of ``window``. Only those rows are
    read: a readout of 10⁷ steps stays on disk, and each window is read
    once while it stays on screen."""
    cached = _TOP.get(trace)
    if cached is not None and cached[0] == window:
        return cached[1], cached[2]
    assert trace.probs is not None
    best, p = numeric.top_choice(trace.probs[window.start:window.stop])
    vocab = None if trace.vocab is None else trace.vocab
    labels = ["?" if k < 0 or vocab is None or k >= len(vocab) else str(vocab[k]) for k in best]
    _TOP[trace] = (window, labels, p)
    return labels, p


def trace_description(trace: Trace) -> str | None:
    """The ``description`` string of the trace's meta, on one line, with
    nothing a terminal would act on; None when there is none."""
    text = trace.meta.get("description")
    if not isinstance(text, str) or not text.strip():
        return None
    text = draw.printable(" ".join(text.split()))
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"


_TRAINED: weakref.WeakKeyDictionary[Trace, frozenset[int] | None] = weakref.WeakKeyDictionary()


def trained_steps(trace: Trace) -> frozenset[int] | None:
    """The steps whose prediction the model was trained to make (the meta's
    ``trained_steps``): every other step asks it something it never saw in
    training. None when the trace does not say (nothing is marked). Read
    once per trace: the list may be as long as the trace."""
    if trace in _TRAINED:
        return _TRAINED[trace]
    steps = trace.meta.get("trained_steps")
    found = None
    if isinstance(steps, list) and all(type(k) is int for k in steps):
        found = frozenset(k for k in steps if 0 <= k < trace.steps)
    _TRAINED[trace] = found
    return found


#: How the letters row draws a step outside the model's training.
UNTRAINED_STYLE = "$foreground-muted"


def pnext_lines(trace: Trace, t: int, width: int) -> Content:
    """``P(next) per step``: the top prediction's letter and a bar on 0…1 for
    a window of steps around t, with ▲ under t. When the trace lists its
    ``trained_steps``, the letters of the others are dimmed and a line under
    t's prediction says whether it is one the model was trained to make."""
    assert trace.probs is not None
    T = int(np.shape(trace.probs)[0])
    t = min(max(t, 0), T - 1)
    span = max(width, 1)
    x0 = max(0, min(t - span // 2, T - span))
    window = range(x0, min(x0 + span, T))
    labels, p = top_in_window(trace, window)
    trained = trained_steps(trace)
    letters = Content.assemble(*(
        draw.one_cell(labels[k - x0]) if trained is None
        else (draw.one_cell(labels[k - x0]), "bold" if k in trained else UNTRAINED_STYLE)
        for k in window))
    sparks = "".join(draw.spark(float(p[k - x0]), draw.GATE_SCALE) for k in window)
    marker = "".join("▲" if k == t else " " for k in window)
    head = Content.assemble((tr("P(next) per step"), "bold"), "\n",
                            f"t = {t}: {draw.quote(labels[t - x0])} {draw.fmt(float(p[t - x0]))}")
    col = t - x0
    spark_line = Content.assemble(sparks[:col], (sparks[col], "reverse bold"), sparks[col + 1:])
    spark_line = spark_line.stylize("$primary", 0, len(sparks))
    lines = [head, letters, spark_line, Content(marker)]
    if trained is not None:
        # Right under the step's prediction, which it qualifies.
        lines.insert(1, Content.styled(tr("as in training"), "bold $text-success") if t in trained
                     else Content.styled(tr("outside its training"), "italic $text-warning"))
    return Content("\n").join(lines)
