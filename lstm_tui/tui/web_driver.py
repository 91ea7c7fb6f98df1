"""The browser's driver (``lstm-tui serve``): Textual's web driver, with
each packet written whole.

Under textual-serve the app talks to the server through its stdout, in
packets: screen output, meta messages, and the chunks of a file being
delivered to the browser (a screenshot). Textual's ``WebDriver`` writes each
packet with one ``os.write``, from two threads: the app's own (every screen
update) and its input thread (which answers the server's request for the
next chunk of a delivery). A pipe keeps a write in one piece only up to
PIPE_BUF (4 KiB on Linux), and a screenshot's chunk is up to 64 KiB: when a
screen update is written at the same moment (the notice that says the
screenshot was sent, a blinking cursor), the bytes of the two packets
interleave, the server reads a broken packet, the download is cancelled and
the session's stream is out of step. Here the three ways a packet is
written share one lock, so packets reach the server one after another.
"""

from __future__ import annotations

import threading
from typing import Any

from textual.drivers.web_driver import WebDriver


class SerialWebDriver(WebDriver):
    """``WebDriver`` whose packets are written one at a time, whichever
    thread writes them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._packet_lock = threading.Lock()

    def write(self, data: str) -> None:
        with self._packet_lock:
            super().write(data)

    def write_meta(self, data: dict[str, object]) -> None:
        with self._packet_lock:
            super().write_meta(data)

    def write_binary_encoded(self, data: tuple[str | bytes, ...]) -> None:
        with self._packet_lock:
            super().write_binary_encoded(data)
