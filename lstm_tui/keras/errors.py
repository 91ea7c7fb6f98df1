"""The Keras package's errors: a model that cannot be loaded, recorded or
trained, and a recording that disagrees with Keras.

This module imports only the standard library.
"""

from __future__ import annotations

from ..core.text import Message, one_line
from ..errors import LstmTuiError


class BridgeError(LstmTuiError):
    """A model that cannot be loaded, recorded or trained. ``str()`` is one
    line, ``<what>: <why>``; the CLI prints it after ``lstm-tui: error:``
    and exits with ``code``."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class VerificationError(BridgeError):
    """The recomputed recording differs from Keras beyond the tolerance: a
    comparison that found a difference (the CLI's exit 1), as opposed to a
    model or input that cannot be recorded at all (exit 2)."""

    code = 1


class NeedsTensorFlow(BridgeError):
    """A model only Keras can load, and TensorFlow is not installed (the
    light install). Its message is a ``Message``, so the model panel shows
    it in the screen's language; ``why`` says what the NumPy reader could
    not read."""

    def __init__(self, why: str, command: str):
        LstmTuiError.__init__(self, Message("{why}; loading it through Keras needs TensorFlow: {command}",
                                            why=" ".join(str(why).split()), command=command))


def _one_line(e: BaseException, limit: int = 300) -> str:
    """An exception as a short single line (Keras' messages run to
    paragraphs; the first sentences say what went wrong)."""
    return one_line(e, limit)
