"""The terminal driver: Textual's Linux driver with two changes.

**Its own file descriptor.** Textual's Linux driver writes the screen to
``sys.__stderr__``, file descriptor 2. Importing TensorFlow (when the model
panel first loads its model) prints C++ start-up lines on descriptor 2 that
no log level can stop, so the Keras bridge points descriptor 2 at /dev/null
for the length of the import. Drawing through a duplicate of the terminal's
descriptor keeps the screen alive meanwhile: the "loading model…" indicator
animates and keys show their effect instead of freezing the picture for
seconds.

**Any byte on stdin.** Textual decodes the keyboard as strict UTF-8, so one
byte that is not UTF-8 (an 8-bit Alt key sends ``0xff``-style bytes, a
Latin-1 terminal sends ``é`` as ``0xe9``, line noise over a serial or SSH
link) raises ``UnicodeDecodeError`` in the input thread and ends the app.
Here the decoder replaces such bytes with U+FFFD, which no binding uses:
the key does nothing and the session goes on. ``run_input_thread`` is
Textual's own loop (Textual 8) with only the decoder changed; it has no
hook for the decoder.

**Only the cells that changed.** The driver keeps what the terminal shows
(``wire.Cells``) and when a held key may next be drawn (``wire.Pacer``, told
of every key here, in the input thread, as it arrives); the app's display
hook (``textual_private.CellDiffingDisplay``) writes through them. Starting
or resuming application mode (after ctrl+z, or another program ran in the
terminal) forgets what the terminal shows: the next frame writes every cell.
"""

from __future__ import annotations

import os
import selectors
import sys
import time
from codecs import getincrementaldecoder
from typing import Any

from textual import events
from textual.drivers.linux_driver import LinuxDriver

from .textual_private import XTermParser, loop_last
from .wire import Cells, Pacer


class OwnDescriptorDriver(LinuxDriver):
    """LinuxDriver writing to ``dup(2)`` rather than to descriptor 2 itself,
    and reading the keyboard as UTF-8 with replacement."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cells = Cells()
        self.pacer = Pacer()
        stream = sys.__stderr__
        try:
            fd = os.dup(stream.fileno())  # type: ignore[union-attr]
        except (AttributeError, OSError, ValueError):
            return  # no usable stderr: keep Textual's own choice
        self._file = os.fdopen(fd, "w", encoding=getattr(stream, "encoding", None) or "utf-8",
                               errors="replace")

    def start_application_mode(self) -> None:
        self.cells.forget()
        super().start_application_mode()

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (Textual's loop; the decoder
        replaces bytes that are not UTF-8 instead of raising)."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno = self.fileno
        EVENT_READ = selectors.EVENT_READ
        parser = XTermParser(self._debug)
        feed = parser.feed
        tick = parser.tick
        decode = getincrementaldecoder("utf-8")(errors="replace").decode
        read = os.read

        def process_selector_events(selector_events: list[tuple[selectors.SelectorKey, int]],
                                    final: bool = False) -> None:
            for last, (_selector_key, mask) in loop_last(selector_events):
                if mask & EVENT_READ:
                    unicode_data = decode(read(fileno, 1024 * 4), final=final and last)
                    if not unicode_data:
                        break  # stdin is a pipe that closed
                    for event in feed(unicode_data):
                        if isinstance(event, events.Key):
                            self.pacer.key(event.key, time.monotonic())
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process_selector_events(selector.select(0.1))
            selector.unregister(self.fileno)
            process_selector_events(selector.select(0.1), final=True)
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except Exception:  # EOFError, ParseError: the parser's end of input
                pass
