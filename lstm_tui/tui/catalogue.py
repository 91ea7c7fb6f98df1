"""The screen's one message catalogue: every user-visible string of the
screen, in English and in Portuguese (the seed notebook's language).

The English text is the key: code writes ``tr("already at the first step")``
and reads naturally; with Portuguese chosen, ``tr`` returns the entry of
``PT``. Values are filled in after the lookup (``tr("t = {t}", t=3)``), so a
translation may move them, and text from a file (a token, a path) is never
looked up or formatted itself.

The language is one per process, chosen once at start-up: ``--lang`` on the
screen commands, else the locale (``language_from_environment``), else
English. It is a module value rather than something threaded through every
widget because bindings' descriptions, the footer, help and palette are all
read at render time and must agree.

This module imports only the standard library.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: The languages the screen speaks.
LANGUAGES = ("en", "pt")

_current = "en"

#: English text → Portuguese text. Grouped by the part of the screen that
#: shows it; keep each group's entries together.
PT: dict[str, str] = {
    # -- shared words -----------------------------------------------------
}


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """"pt" when the locale asks for Portuguese, else "en".

    The POSIX order: ``LC_ALL`` overrides ``LC_MESSAGES``, which overrides
    ``LANG``; an empty variable counts as unset.
    """
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var)
        if value:
            return "pt" if value.strip().lower().startswith("pt") else "en"
    return "en"


def set_language(lang: str) -> None:
    """Choose the screen's language ("en" or "pt")."""
    global _current
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r} (one of: {', '.join(LANGUAGES)})")
    _current = lang


def language() -> str:
    """The screen's language."""
    return _current


def tr(text: str, /, **values: object) -> str:
    """``text`` in the screen's language, with ``values`` filled in
    (``str.format`` fields). An entry missing from ``PT`` shows the English
    text; the catalogue test fails on it."""
    if _current == "pt":
        text = PT.get(text, text)
    return text.format(**values) if values else text
