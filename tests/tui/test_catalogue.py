"""The screen in Portuguese: the catalogue is complete, and the screen
driven in Portuguese shows no English.

Static: every text the source hands to the catalogue (``tr``, ``N_``, the
debugger's ``Message``s, the bindings' descriptions) has a Portuguese entry
with the same ``{fields}``; no string literal of the screen that reads like
English prose escapes the catalogue; every node that declares keys
translates them. Dynamic: the app runs in Portuguese through its screens
(the debugger, a refusal, the breakpoint dialog with an error, the lists,
help, the palette, the model panel, the diff view) with the catalogue
recording every text it had no entry for, and the text on the terminal is
searched for common English words of the interface.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import string

import pytest
from catalogue_scan import PACKAGE, SCREEN, all_texts, untranslated
from textual.dom import DOMNode
from textual.widgets import Input
from tui_helpers import CountingLoader, letters_trace, screen_text

import lstm_tui.tui
from lstm_tui.core.text import Message
from lstm_tui.tui import catalogue
from lstm_tui.tui.app import make_app
from lstm_tui.tui.catalogue import PT, language, language_from_environment, set_language, tr
from lstm_tui.tui.translated import Translated


def _fields(text: str) -> set[tuple[str, str | None, str | None]]:
    return {(name, conv, spec) for _, name, spec, conv in string.Formatter().parse(text) if name is not None}


# -- static --------------------------------------------------------------------------


def test_every_text_has_a_portuguese_entry_with_the_same_fields():
    texts = all_texts()
    assert len(texts) > 200  # the scan reads the package
    missing = {text: where for text, where in texts.items() if text not in PT}
    assert not missing, "no Portuguese entry in tui/catalogue.py PT for:\n" + "\n".join(
        f"  {where}: {text!r}" for text, where in missing.items())
    wrong = {text: PT[text] for text in PT if _fields(text) != _fields(PT[text])}
    assert not wrong, f"the Portuguese does not have the English's {{fields}}: {wrong}"


def test_portuguese_entries_are_translations():
    # An entry left in English, or empty, is a miss the lookup cannot see.
    same = [k for k, v in PT.items() if not v.strip() or (k == v and re.search(r"[a-z]{4,} [a-z]{3,}", k))]
    assert not same


#: Literals that read like prose but are not shown: style names.
STYLE = re.compile(r"^(\s*(bold|italic|reverse|underline|dim|not|on|\$[\w-]+))+\s*$")


def test_no_english_prose_outside_the_catalogue():
    translated = set(all_texts())
    found = []
    for path in sorted(SCREEN.glob("*.py")):
        for text, line in untranslated(path):
            # A help section's title is written as a key and translated
            # where shown (``help.ORDER`` hands them all to the catalogue).
            if text in translated or STYLE.match(text):
                continue
            found.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}")
    assert not found, "English prose on the screen that is not in tr(...):\n" + "\n".join(found)


def test_every_node_with_keys_translates_them():
    untranslated_keys = []
    for info in pkgutil.iter_modules(lstm_tui.tui.__path__):
        module = importlib.import_module(f"lstm_tui.tui.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, DOMNode) and "BINDINGS" in vars(cls) \
                    and not issubclass(cls, Translated):
                untranslated_keys.append(f"{module.__name__}.{name}")
    assert not untranslated_keys, f"declare keys but do not mix in translated.Translated: {untranslated_keys}"


# -- the catalogue itself ----------------------------------------------------------------


def test_tr_fills_values_into_the_translation_and_records_misses():
    set_language("pt")
    catalogue.MISSES.clear()
    assert tr("already at the last step (t = {t})", t=7) == "já no último passo (t = 7)"
    note = Message("already at the last step (t = {t})", t=7)
    assert note == "already at the last step (t = 7)"  # the CLI's English
    assert tr(note) == "já no último passo (t = 7)"
    nested = Message("search: {why}", why=Message("nothing to search for"))
    assert tr(nested) == "busca: nada para buscar"
    assert tr("no such entry {x}", x=1) == "no such entry 1"
    assert catalogue.MISSES == {"no such entry {x}"}
    set_language("en")
    assert tr(note) == "already at the last step (t = 7)"


@pytest.mark.parametrize(("env", "lang"), [
    ({}, "en"),
    ({"LANG": "pt_BR.UTF-8"}, "pt"),
    ({"LANG": "pt_PT.UTF-8"}, "pt"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "pt_BR.UTF-8"}, "pt"),
    ({"LANG": "pt_BR.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
    ({"LC_MESSAGES": "pt_BR.UTF-8", "LC_ALL": "C"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_ALL": "pt_BR"}, "pt"),
    ({"LANG": "pt_BR.UTF-8", "LC_ALL": ""}, "pt"),  # empty counts as unset
])
def test_the_locale_chooses_the_language(env, lang):
    assert language_from_environment(env) == lang


def test_english_is_the_default():
    assert language() == "en"
    assert tr("Step back") == "Step back"


# -- dynamic: the screen in Portuguese ------------------------------------------------------

#: Words of the interface in English that the Portuguese screen must not show.
ENGLISH = ("step", "steps", "unit", "units", "layer", "forget", "input", "candidate", "cell", "output",
           "hidden", "the", "of", "and", "to", "is", "Quit", "Help", "Break", "continue", "breakpoint",
           "breakpoints", "search", "already", "model", "loading", "health", "watches", "timeline", "keys",
           "Next", "Previous", "Show", "Zoom", "Open", "Save", "Toggle", "found", "nothing", "hit", "hits",
           "stopped", "column", "expected", "Switch", "current", "after", "vocabulary", "warning", "error",
           "explain", "scroll", "masked", "close", "cancel", "largest", "sum", "terms", "weights")
# Not "gate": the notebook's own label for o_t is "saída gate".
WORDS = re.compile(r"(?<![\w\[])(" + "|".join(ENGLISH) + r")(?![\w(\[])", re.IGNORECASE)


def _english(text: str) -> list[str]:
    return sorted({m.group(0) for m in WORDS.finditer(text)})


async def _look(pilot, seen: dict[str, str], name: str) -> None:
    await pilot.pause()
    seen[name] = screen_text(pilot.app)


async def test_the_screen_in_portuguese_has_no_english_and_no_misses():
    seen: dict[str, str] = {}
    catalogue.MISSES.clear()
    app = make_app(letters_trace("abcdefghijkl", units=8), predictor_loader=CountingLoader(), lang="pt")
    async with app.run_test(size=(120, 40)) as pilot:
        await _look(pilot, seen, "debugger")
        await pilot.press("left")  # refused: already at the first step
        await _look(pilot, seen, "refusal")
        assert "já no primeiro passo" in seen["refusal"]
        await pilot.press("b")
        pilot.app.screen.query_one(Input).value = "h[99] > 0.2"
        await pilot.press("enter")
        await _look(pilot, seen, "breakpoint error")
        assert "coluna" in seen["breakpoint error"]
        pilot.app.screen.query_one(Input).value = "h[2] > 0.2"
        await pilot.press("enter", "c")
        await _look(pilot, seen, "breakpoints")
        assert "parado:" in seen["breakpoints"]
        await pilot.press("w", "W")
        await _look(pilot, seen, "watches")
        await pilot.press("H")
        await _look(pilot, seen, "health")
        await pilot.press("question_mark")
        await _look(pilot, seen, "help")
        assert "Passo anterior" in seen["help"]
        await pilot.press("escape", "ctrl+p")
        await _look(pilot, seen, "palette")
        assert "Buscar comandos" in seen["palette"] or "Próximo passo" in seen["palette"]
        await pilot.press("escape", "m")
        await pilot.app.workers.wait_for_complete()
        await pilot.press("d", "e")
        await _look(pilot, seen, "model panel")
    a = letters_trace("abcdefghijkl", units=8)
    b = letters_trace("abcdefxhijkl", units=8, source="run B")
    app = make_app(a, load_model=False, diff=b, lang="pt")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("D")
        await _look(pilot, seen, "diff")
        assert "primeira divergência" in seen["diff"]
        await pilot.press("d", "d", "d")
        await _look(pilot, seen, "diff, each run")
    assert not catalogue.MISSES, f"shown without a Portuguese entry: {sorted(catalogue.MISSES)}"
    english = {name: _english(text) for name, text in seen.items() if _english(text)}
    assert not english, f"English words on the Portuguese screen: {english}"


async def test_pane_titles_use_the_notebooks_words():
    app = make_app(letters_trace("abcdefghijkl", units=8), load_model=False, lang="pt")
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        text = screen_text(pilot.app)
    for title in ("f_t esquece", "i_t entrada", "ĉ_t candidato", "c_t memória", "o_t saída gate",
                  "h_t saída bloco"):
        assert title in text
