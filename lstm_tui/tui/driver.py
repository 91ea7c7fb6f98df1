"""A terminal driver that draws through its own file descriptor.

Textual's Linux driver writes the screen to ``sys.__stderr__``, file
descriptor 2. Importing TensorFlow (when the model panel first loads its
model) prints C++ start-up lines on descriptor 2 that no log level can stop,
so the Keras bridge points descriptor 2 at /dev/null for the length of the
import. Drawing through a duplicate of the terminal's descriptor keeps the
screen alive meanwhile: the "loading model…" indicator animates and keys
show their effect instead of freezing the picture for seconds.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from textual.drivers.linux_driver import LinuxDriver


class OwnDescriptorDriver(LinuxDriver):
    """LinuxDriver writing to ``dup(2)`` rather than to descriptor 2 itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stream = sys.__stderr__
        try:
            fd = os.dup(stream.fileno())
        except (AttributeError, OSError, ValueError):
            return  # no usable stderr: keep Textual's own choice
        self._file = os.fdopen(fd, "w", encoding=getattr(stream, "encoding", None) or "utf-8",
                               errors="replace")
