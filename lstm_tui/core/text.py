"""Text from files and the command line, made safe to print.

A trace's layer names, tokens and vocabulary, a model's layer names and a
file path all come from outside. Written raw to a terminal, an escape
sequence among them retitles the window, clears the screen or worse
(``\\e]0;PWNED\\a\\e[2J``); a bidirectional override reorders what is shown;
a lone surrogate cannot even be encoded. ``escape_controls`` writes each
such character as a visible Python-style escape, so what is printed is what
the file holds, and nothing in it acts on the terminal.

This module imports only the standard library.
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL; the invisible direction marks and overrides
# (U+200E/F, U+202A–E, U+2066–9); line and paragraph separators; lone
# surrogates (which a well-formed string never holds).
_CONTROLS = "\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff"
_PATTERNS: dict[str, re.Pattern[str]] = {}


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def escape_controls(s: str, keep: str = "") -> str:
    """``s`` with every control character (except those in ``keep``, such
    as ``"\\n\\t"`` for multi-line output) written as ``\\xNN`` or
    ``\\uNNNN``."""
    pattern = _PATTERNS.get(keep)
    if pattern is None:
        allowed = "".join(re.escape(k) for k in keep)
        pattern = re.compile(f"(?![{allowed}])[{_CONTROLS}]" if allowed else f"[{_CONTROLS}]")
        _PATTERNS[keep] = pattern
    return pattern.sub(_escape, s)


def one_line(what: object, limit: int | None = None) -> str:
    """A message, or an exception's, on one line: whitespace runs (newlines
    included) become one space; an exception with no message is named by
    its type; past ``limit`` characters it is cut with "…" (Keras' messages
    run to paragraphs; their first sentences say what went wrong)."""
    text = " ".join(str(what).split())
    if not text and isinstance(what, BaseException):
        text = type(what).__name__
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


class Message(str):
    """Text for a person that a screen may show in another language.

    The string itself is the English text, so the command line prints it,
    tests compare it and code that wants a ``str`` gets one; beside it the
    message keeps the English ``template`` it was made from and the
    ``values`` filled into it, for the screen's catalogue to look the
    template up and fill the values into the translation
    (``Message("already at the last step (t = {t})", t=25)``). The core and
    the debugger cannot import the screen, so this is how their words reach
    it unflattened. A value may itself be a ``Message`` (a fragment such as
    "a number"), translated with it.
    """

    template: str
    values: dict[str, object]

    def __new__(cls, template: str, /, **values: object) -> Message:
        self = super().__new__(cls, template.format(**values) if values else template)
        self.template = template
        self.values = values
        return self

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled (a worker's exception crossing a process) as plain text.
        return (str, (str(self),))
