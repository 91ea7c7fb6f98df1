"""One error base for everything lstm-tui reports.

Every error the program means to report — a trace that does not load, a
condition that does not parse, two runs that cannot be compared, a model
the Keras bridge cannot record — is an ``LstmTuiError``: a one-line message
(``str(error)``) and the exit code the command line ends with. The command
line catches this one type and prints ``lstm-tui: error: <message>``; the
screen shows the same message in its status line or a notice. Anything else
that escapes is a bug, reported as such.

This module imports only the standard library.
"""

from __future__ import annotations

#: Exit codes: 1 a check or comparison found a difference, 2 bad input.
EXIT_DIFFERENT = 1
EXIT_BAD_INPUT = 2


class LstmTuiError(Exception):
    """An error to report in one line; ``code`` is the command line's exit
    code (2, bad input, unless a subclass or the raiser says otherwise)."""

    code: int = EXIT_BAD_INPUT

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
