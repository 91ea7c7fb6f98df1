"""What the catalogue test reads from the source: every English text the
screen translates, and every string literal of the screen that looks like
English prose but is not passed through the catalogue.

Read with ``ast``, never by importing, so a text counts wherever it is
written: ``tr("...")``, ``N_("...")``, ``Message("...")`` (the debugger's
and the core's words, ``core.text.Message``), and the descriptions, tooltips
and group labels of ``Binding``s.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "lstm_tui"
SCREEN = PACKAGE / "tui"

#: Calls whose first argument is an English text to translate.
TRANSLATING = {"tr", "N_", "Message"}
#: Keyword arguments of ``Binding`` that are shown.
BINDING_TEXTS = {"description", "tooltip"}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _literals(node: ast.expr | None) -> Iterator[str]:
    """The strings ``node`` may be: a literal, either branch of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)


def texts(path: Path) -> Iterator[tuple[str, int]]:
    """(English text, line) of every text ``path`` hands to the catalogue."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in TRANSLATING and node.args:
            for text in _literals(node.args[0]):
                yield text, node.lineno
        elif name == "Binding":
            if len(node.args) >= 3:
                for text in _literals(node.args[2]):
                    yield text, node.lineno
            for kw in node.keywords:
                if kw.arg in BINDING_TEXTS:
                    for text in _literals(kw.value):
                        yield text, node.lineno
        elif name == "Group" and node.args:  # Binding.Group("step"): the footer's label
            for text in _literals(node.args[0]):
                yield text, node.lineno


def all_texts(roots: tuple[Path, ...] = (PACKAGE,)) -> dict[str, str]:
    """English text → where it is first written, over every module below ``roots``."""
    found: dict[str, str] = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            for text, line in texts(path):
                found.setdefault(text, f"{path.relative_to(PACKAGE.parent)}:{line}")
    return found


# -- strings of the screen that look like prose but are not translated ---------

#: Two words of letters with a space between: what a person reads.
PROSE = re.compile(r"[A-Za-z]{2,}[ ,:;'][ ]?[A-Za-z]{2,}")
#: Calls whose string arguments are for programmers, logs or Textual's
#: internals, never shown: errors of misuse, queries, CSS, worker names.
NOT_SHOWN_CALLS = {"ValueError", "TypeError", "KeyError", "RuntimeError", "AssertionError", "NotImplementedError",
                   "query", "query_one", "set_class", "add_class", "remove_class", "has_class",
                   "get_component_rich_style", "component_style", "run_worker", "work", "getLogger", "warn",
                   "Binding", "Group", "tr", "N_", "Message", "say", "log", "debug", "info", "warning"}
#: Keyword arguments that are never shown.
NOT_SHOWN_KEYWORDS = {"description", "group", "name", "id", "classes", "key", "tooltip", "exit_on_error",
                      # what a failed write names, inside the core's error (an OS error's words stay as they are)
                      "what"}
#: Assignments whose strings are CSS or identifiers.
NOT_SHOWN_TARGETS = {"DEFAULT_CSS", "CSS", "COMPONENT_CLASSES", "ALLOW_IN_MAXIMIZED_VIEW", "AUTO_FOCUS",
                     "__all__", "TITLE"}


def untranslated(path: Path) -> Iterator[tuple[str, int]]:
    """(string, line) of literals in ``path`` that read like English prose
    and reach no catalogue call: docstrings, CSS, errors of misuse and the
    arguments listed above excepted."""
    if path.name == "catalogue.py":
        return  # the Portuguese table itself
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()

    def skip_all(node: ast.AST) -> None:
        for sub in ast.walk(node):
            skip.add(id(sub))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip_all(first)  # a docstring
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skip_all(node)  # a string statement: an attribute's docstring
        if isinstance(node, ast.Call):
            if _name(node.func) in NOT_SHOWN_CALLS:
                skip_all(node)
            for kw in node.keywords:
                if kw.arg in NOT_SHOWN_KEYWORDS:
                    skip_all(kw.value)
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in NOT_SHOWN_TARGETS for t in targets):
                skip_all(node)
        if isinstance(node, ast.Raise):
            skip_all(node)
        if isinstance(node, ast.Compare):  # ``origin.startswith(...)``-like tests, ``== "delta"``
            skip_all(node)
        if isinstance(node, ast.Subscript):  # dict keys: ``SEVERITY["error"]``
            skip_all(node.slice)
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if PROSE.search(node.value):
            yield node.value, node.lineno
