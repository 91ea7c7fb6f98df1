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

import numpy as np
import pytest
from catalogue_scan import PACKAGE, SCREEN, all_texts, texts, untranslated
from textual.dom import DOMNode
from textual.widgets import Input, Static
from tui_helpers import CountingLoader, letters_trace, screen_text, two_layer_trace

import lstm_tui.tui
from lstm_tui.core.text import Message
from lstm_tui.core.trace import Layer, Trace
from lstm_tui.debug.conditions import Condition, ConditionError
from lstm_tui.debug.health import scan
from lstm_tui.tui import catalogue
from lstm_tui.tui.app import make_app
from lstm_tui.tui.catalogue import PT, language, language_from_environment, say, set_language, tr
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


# -- the debugger's words: condition errors and health findings ------------------------------

#: A condition for every error the parser and the binding give, on a letters
#: trace without a readout (8 units, 26 inputs): the breakpoint dialog shows
#: each as "column N: why".
BAD_CONDITIONS = [
    "", "f[7 < 0.05", "f[0] < 1e5x", "f[0] < 1٣", "token == 'a", "f[0] = 1", "f[0] < 1 & nan", "f[0] ! 1",
    "f[0] | nan", "f[0] % 2", "f[0] ^ 2", "f[٣] < 1", "f[0] @ 1", "(f[0] < 1", "max(f < 1", "f[0] < 1)",
    "f[0] < 1 nan", "t(1) > 0", "f(0) > 1", "-token == 1", "not f[0]", "f[0] <", "f[0] < )", "max > 1",
    "maxx(f) > 1", "zzzz(f) > 1", "hh[0] > 1", "zzz > 1", "any(f)", "max() > 1", "abs(f[0], f[1]) > 1",
    "sum(t) > 1", "t[0] > 1", "f[] > 1", "f[1.5] > 1", "f[1234567890123456789] > 1", "f[0] + nan > 1",
    "'a' + 1 > 1", "f[0] + 1 + token > 1", "any((f > 0) + 1 > 1)", "nan and f[0]", "nan or nan or 1", "nan == 1",
    "3 == token", "t == 'a'", "argmax(f) < 'a'", "f[0] == 'a'", "f[token] > 1", "f[f] > 1", "f[t:2] > 1",
    "f[t > 1",
    "token < 'a'", "max(f[0], token) > 1", "f > 0.5", "f", "t", "token", "f[99] > 1", "f[0:1][5] > 1",
    "any(f[2:99] > 1)", "any(f[5:2] > 1)", "any(f + x > 1)", "any(f + f + x > 1)", "p[0] > 0.5",
    "(" * 120 + "f[0]" + ")" * 120 + " > 1", "f" * 100_001,
]
#: Texts no condition reaches: Python's own recursion limit, which the
#: parser's depth limit keeps far away; a vector of strings (there is none).
UNREACHED_CONDITION_ERRORS = {"the condition is nested too deeply", "strings"}


def _templates(message: object) -> set[str]:
    """The templates of a ``Message`` and of the Messages among its values."""
    if not isinstance(message, Message):
        return set()
    return {message.template}.union(*(_templates(v) for v in message.values.values()))


def _condition_error(text: str, trace) -> ConditionError:
    with pytest.raises(ConditionError) as e:
        Condition.parse(text).check(trace, 0)
    return e.value


def test_every_condition_error_reads_in_portuguese():
    trace = letters_trace(readout=False)
    no_inputs = letters_trace(readout=False)
    no_inputs.layers[0].x = no_inputs.layers[0].x[:, :0]
    errors = [_condition_error(text, trace) for text in BAD_CONDITIONS]
    errors.append(_condition_error("any(x > 1)", no_inputs))  # 'x' is empty
    errors.append(_condition_error("argmax(p) == 'A'", letters_trace()))  # not in its vocabulary
    english = [str(e) for e in errors]
    set_language("pt")
    catalogue.MISSES.clear()
    for e in errors:
        shown = say(e)
        assert shown.startswith(f"coluna {e.column}: ") and shown == say(e.args[0]), shown
        assert say(e.message) != e.message, e.message  # translated, not left in English
    assert not catalogue.MISSES, sorted(catalogue.MISSES)
    written = {text for text, _ in texts(PACKAGE / "debug" / "conditions.py")}
    reached = set().union(*(_templates(e.args[0]) for e in errors))
    assert written - reached == UNREACHED_CONDITION_ERRORS
    set_language("en")
    assert [say(e) for e in errors] == english  # the command line's English, unchanged


def sick_trace() -> Trace:
    """One layer with something for every rule of the health scan: NaN in
    h0 and at step 7, a cell state that explodes at step 30 and peaks
    elsewhere, outliers in three input features (one at a single step),
    forget and input gates saturated low, high and both, eight dead units."""
    rng = np.random.RandomState(0)
    T, H, D = 40, 16, 6
    f = rng.uniform(0.3, 0.7, (T, H))
    f[:, 1:3] = 0.999
    f[:, 3] = np.where(np.arange(T) % 2, 0.001, 0.999)
    i = rng.uniform(0.3, 0.7, (T, H))
    i[:, 4:7] = 1e-4
    c = rng.normal(size=(T, H))
    c[30:, 4] = 1e4
    c[35, 6] = 1e5
    h = rng.uniform(-0.5, 0.5, (T, H))
    h[:, 8:] = 1e-5
    h[7, 0] = np.nan
    x = rng.normal(size=(T, D))
    x[10, 1] = 500.0
    x[12:15, 2] = -900.0
    x[20, 3] = 700.0
    layer = Layer(x=x, f=f, i=i, c_hat=rng.uniform(-1, 1, (T, H)), c=c, o=rng.uniform(0, 1, (T, H)), h=h,
                  h0=np.array([np.nan] + [0.0] * (H - 1)), c0=np.zeros(H), name="sick")
    return Trace(layers=[layer], tokens=np.array([chr(97 + t % 26) for t in range(T)]), source="test: sick")


#: Health texts no scan reaches: a cell state cannot explode on the only step
#: there is (that step sets the typical |c|).
UNREACHED_FINDINGS = {"{finding}; beyond on {n} of {live} step"}


def test_every_health_finding_reads_in_portuguese():
    one_step = letters_trace("a", units=4)
    one_step.layers[0].c[0, 0] = np.nan
    found = [*scan(sick_trace()), *scan(sick_trace(), limit=2), *scan(one_step)]
    assert {f.kind for f in found} == {"nan", "exploding_c", "outlier_x", "saturated", "dead", "max_c"}
    assert any(f.count > 1 for f in found)  # the groups' summary lines
    set_language("pt")
    catalogue.MISSES.clear()
    for f in found:
        assert isinstance(f.message, Message) and tr(f.message) != f.message, f.message
    assert not catalogue.MISSES, sorted(catalogue.MISSES)
    written = {text for text, _ in texts(PACKAGE / "debug" / "health.py")}
    reached = set().union(*(_templates(f.message) for f in found))
    assert written - reached == UNREACHED_FINDINGS


async def test_the_debuggers_words_on_the_portuguese_screen():
    """Health findings, condition errors in the dialog and a breakpoint that
    does not fit the layer shown, through the real screen."""
    seen: dict[str, str] = {}
    catalogue.MISSES.clear()
    app = make_app(sick_trace(), load_model=False, lang="pt")
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.press("H", "z")  # the findings, zoomed: every line on screen
        await _look(pilot, seen, "health")
        assert "porta de esquecimento saturada (< 0.01 ou > 0.99)" in seen["health"]
        assert "a memória explode a partir do passo 30" in seen["health"]
        await pilot.press("b")
        for text, why in [("f[7 < 0.05", "esperava ']', encontrou '<'"),
                          ("max(f < 1", "esperava ')' para fechar o max( da coluna 4, encontrou o fim da condição"),
                          ("f[0] = 1", "caractere inesperado '=': use '==' para comparar"),
                          ("count(f) > 1", "precisa de valores verdadeiro/falso, não de um vetor de números"),
                          ("token < 'a'", "uma string só se testa com == ou !="),
                          ("f[0:1][5] > 1", "f[0:1] tem 1 valor (0…0, ou -1…-1 a partir do fim)")]:
            pilot.app.screen.query_one(Input).value = text
            await pilot.press("enter")
            await _look(pilot, seen, text)
            error = " ".join(str(pilot.app.screen.query_one("#breakpoint-error", Static).content).split())
            assert error.startswith("coluna ") and why in error, error
    app = make_app(two_layer_trace(), load_model=False, lang="pt")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")
        pilot.app.screen.query_one(Input).value = "h[5] > 0.1"  # layer 0 has 6 units, layer 1 has 4
        await pilot.press("enter", "right_square_bracket", "B")
        await _look(pilot, seen, "breakpoint on layer 1")
        assert "✗ coluna 3: o índice 5 está fora do intervalo: h tem 4 valores" in seen["breakpoint on layer 1"]
    assert not catalogue.MISSES, f"shown without a Portuguese entry: {sorted(catalogue.MISSES)}"
    # The conditions themselves (f, token, 'a') are the user's, not words of the interface.
    english = {name: _english(text) for name, text in seen.items() if name in ("health", "breakpoint on layer 1")
               and _english(text)}
    assert not english, f"English words on the Portuguese screen: {english}"
