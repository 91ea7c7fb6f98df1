"""The dialog of ``S`` (save the trace shown), imported when first used:
the first frame does without it (``reach``). ``u``'s dialog is
``dialogs.GoToUnitScreen``, beside ``g``'s, whose code it shares."""

from __future__ import annotations

import os

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Label

from .catalogue import tr
from .dialogs import GoToUnitScreen, _Dialog

__all__ = ["GoToUnitScreen", "SaveTraceScreen"]


class SaveTraceScreen(_Dialog):
    """Ask where to save the trace; dismiss with (path, overwrite). An
    existing file is named in the dialog and replaced only when Enter is
    pressed again on the same path."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what
        #: The existing path Enter was pressed on once (the second press replaces it).
        self._confirm: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = tr("save trace as")
            # From a file name or a live query: text, not markup.
            yield Label(Content(tr("save {what} to a .npz file; Enter to save, Esc to cancel", what=self.what)),
                        classes="-hint")
            yield Input(placeholder="traces/saved.npz", id="save-input")
            yield Label("", id="save-error", classes="-error")

    @on(Input.Changed, "#save-input")
    def _changed(self, event: Input.Changed) -> None:
        if self._confirm is not None and event.value.strip() != self._confirm:
            self._confirm = None
            self.query_one("#save-error", Label).update("")

    @on(Input.Submitted, "#save-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = event.value.strip()
        if not path:
            self.dismiss(None)
            return
        full = os.path.expanduser(path)
        if os.path.isdir(full):
            self.query_one("#save-error", Label).update(Content(tr("{path} is a folder: name a file in it",
                                                                   path=path)))
            return
        if os.path.lexists(full) and self._confirm != path:
            self._confirm = path
            self.query_one("#save-error", Label).update(Content(tr("{path} exists: Enter again to replace it",
                                                                   path=path)))
            return
        self.dismiss((full, self._confirm == path))

