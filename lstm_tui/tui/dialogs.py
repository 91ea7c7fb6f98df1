"""Small modal dialogs: go to a step, open a trace file, add a breakpoint,
search tokens, and the notice that the trace's file changed underneath.

Each returns its answer through ``dismiss`` (None when cancelled with
Escape); the screen that pushed it decides what to do with it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.validation import Integer
from textual.widgets import Input, Label, Static

from ..debug.conditions import MAX_LENGTH, Condition, ConditionError
from .catalogue import N_, say, tr
from .translated import Translated


class _Dialog(Translated, ModalScreen):
    """A one-input dialog in a bordered box."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog_cancel")]

    DEFAULT_CSS = """
    _Dialog {
        align: center middle;
        & > Vertical {
            width: 60;
            max-width: 100%;
            height: auto;
            border: round $accent;
            background: $surface;
            padding: 0 1;
        }
        & Label { width: 1fr; }
        & .-hint { color: $text-muted; }
        & .-error { color: $error; text-style: bold; }
    }
    """

    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_error_at(self, field: str, message: object, column: int, source: str) -> None:
        """A parser's error under the field ``#{field}-input``: "column N:
        why", then the text with a caret under the column (plain text: the
        text may hold "["; ``pointer_window``: the part of a long text
        around the column), and the field's cursor put there."""
        self.query_one(f"#{field}-error", Static).update(
            Content(tr("column {column}: {message}", column=column, message=say(message)))
            + f"\n{pointer_window(source, column)}")
        entry = self.query_one(f"#{field}-input", Input)
        entry.cursor_position = min(max(column - 1, 0), len(entry.value))


class _GoToNumber(_Dialog):
    """Ask for a number in 0…count-1: a step (``g``) or a unit (``u``).
    Enter on nothing closes it like Esc; a number out of range is said
    under the field and the dialog stays."""

    #: The subclass's words (marked for the catalogue) and its field's id.
    TITLE = ""
    HINT = ""
    RANGE = ""
    NOT_A = ""
    FIELD = ""

    def __init__(self, count: int, current: int) -> None:
        super().__init__()
        self.count = count
        self.current = current

    def compose(self) -> ComposeResult:
        last = self.count - 1
        with Vertical() as box:
            box.border_title = tr(self.TITLE)
            yield Label(Content(tr(self.HINT, last=last, now=self.current)), classes="-hint")
            yield Input(
                placeholder=f"0…{last}",
                type="integer",
                validators=[Integer(minimum=0, maximum=last, failure_description=tr(self.RANGE, last=last))],
                validate_on=["submitted"],
                id=f"{self.FIELD}-input",
            )
            yield Label("", id=f"{self.FIELD}-error", classes="-error")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        # Blank first: the validator fails an empty field too, and Enter on
        # nothing typed closes the dialog like Esc rather than scolding.
        if not event.value.strip():
            self.dismiss(None)
            return
        result = event.validation_result
        if result is not None and not result.is_valid:
            why = "; ".join(result.failure_descriptions) or tr(self.NOT_A)
            self.query_one(f"#{self.FIELD}-error", Label).update(Content(why))
            return
        self.dismiss(int(event.value))


class GoToStepScreen(_GoToNumber):
    """Ask for a step number in 0…T-1."""

    TITLE = N_("go to step")
    HINT = N_("step 0…{last} (now {now}); Enter to go, Esc to cancel")
    RANGE = N_("a step between 0 and {last}")
    NOT_A = N_("not a step")
    FIELD = "goto"


class GoToUnitScreen(_GoToNumber):
    """Ask for a unit number in 0…H-1."""

    TITLE = N_("go to unit")
    HINT = N_("unit 0…{last} (now {now}); Enter to go, Esc to cancel")
    RANGE = N_("a unit between 0 and {last}")
    NOT_A = N_("not a unit")
    FIELD = "unit"


class OpenTraceScreen(_Dialog):
    """Ask for the path of a trace file."""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = tr("open trace file")
            yield Label(tr("path of a .npz trace; Enter to open, Esc to cancel"), classes="-hint")
            if self.app.is_web:
                # In a browser (``lstm-tui serve``) the file is opened by the
                # server's process: a path on the browser's machine means nothing.
                yield Label(tr("paths are on the server: {host}, from {folder}", host=socket.gethostname(),
                               folder=os.getcwd()), classes="-hint", id="open-server", markup=False)
            yield Input(placeholder="traces/example.npz", id="open-input")

    @on(Input.Submitted, "#open-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = event.value.strip()
        self.dismiss(path or None)


class AddBreakpointScreen(_Dialog):
    """Ask for a breakpoint condition; dismiss with it once it parses and
    fits the layer on screen.

    ``check`` is the screen's: it parses the text and binds it to the trace,
    raising ``ConditionError``. An error keeps the dialog open and shows
    where: the condition again with a caret under the column, and the input
    cursor moved there, so the fix is one edit away."""

    def __init__(self, check: Callable[[str], Condition], where: str) -> None:
        super().__init__()
        self.check = check
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = tr("add breakpoint")
            yield Label(Content(tr("stop where this holds on {where}; Enter to add, Esc to cancel",
                                   where=self.where)), classes="-hint")
            yield Label(Content(tr("e.g. f[7] < 0.05   max(abs(c)) > 5   token == 'q'   nan")), classes="-hint")
            # The parser's own limit: a longer paste is refused by the field
            # instead of by the parser.
            yield Input(placeholder="f[0] < 0.05", max_length=MAX_LENGTH, id="breakpoint-input")
            yield Static("", id="breakpoint-error", classes="-error")

    @on(Input.Submitted, "#breakpoint-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        if not text.strip():
            self.dismiss(None)
            return
        try:
            condition = self.check(text)
        except ConditionError as e:
            self.show_error_at("breakpoint", e.message, e.column, e.source)
            return
        self.dismiss(condition)


#: Characters of a condition the error caret line shows (the dialog's width).
POINTER_WIDTH = 54


def pointer_window(source: str, column: int, width: int = POINTER_WIDTH) -> str:
    """The condition and a caret under ``column`` (from 1), as
    ``ConditionError.pointer`` draws them, but at most ``width`` characters
    of it: a long condition (a pasted one can be 100 000 characters) is cut
    to the part around the column, "…" marking what is left out. Tabs and
    other controls are shown as spaces so the caret lines up."""
    text = "".join(" " if ch < " " or ch == "\x7f" else ch for ch in source)
    at = max(column - 1, 0)
    if len(text) + 1 <= width:
        start, end = 0, len(text)
    else:
        start = max(0, min(at - width // 2, len(text) + 1 - width))
        end = start + width
    shown = text[start:end]
    caret = at - start
    if start > 0:
        shown = "…" + shown[1:]
    if end < len(text):
        shown = shown[:-1] + "…"
    return f"{shown}\n{' ' * caret}^"


class FileChangedScreen(_Dialog):
    """Says that the trace's file changed on disk and no longer loads, and
    what can be done: ``o`` dismisses with "open" (the screen then asks for
    another trace), ``q`` quits, Esc closes the message (the screen shows no
    trace, only the layout)."""

    BINDINGS = [
        Binding("o", "choose('open')", "Open another trace", id="changed_open"),
        Binding("q", "app.quit", "Quit", id="changed_quit"),
    ]

    DEFAULT_CSS = """
    FileChangedScreen > Vertical {
        width: 76;
        border: round $error;
    }
    """

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = tr("the trace's file changed")
            # From a file name and the operating system: text, not markup.
            yield Static(Content(self.message), id="changed-message")
            yield Label(Content(tr("o open another trace · q quit · Esc close this message")), classes="-hint")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)


class SearchScreen(_Dialog):
    """Ask for a token search: a substring of the token, case-sensitive, or
    in quotes the whole token."""

    def __init__(self, previous: str = "") -> None:
        super().__init__()
        self.previous = previous

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = tr("search tokens")
            yield Label(Content(tr("part of a token (case-sensitive), or 'quoted' for the whole token; "
                                   "Enter to search, Esc to cancel")), classes="-hint")
            yield Input(value=self.previous, placeholder=tr("the"), id="search-input")

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value if event.value else None)
