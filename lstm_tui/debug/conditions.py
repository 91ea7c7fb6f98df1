"""Data breakpoints: a small expression language over the vectors at step t.

A condition such as ``f[7] < 0.05`` or ``max(abs(c)) > 5`` is true or false at
each step of a trace. The debugger stops where it holds (``c`` continues to
the next hit); ``lstm-tui find`` lists the steps.

Grammar
=======

::

    condition  := expr                                  (true/false per step)
    expr       := expr 'or' expr | expr 'and' expr | 'not' expr
                | sum (CMP sum)*                        chained: 0.1 < f[7] < 0.9
    CMP        := '<' | '<=' | '>' | '>=' | '==' | '!='
    sum        := sum ('+' | '-') term | term
    term       := term ('*' | '/') unary | unary
    unary      := ('-' | '+') unary | power
    power      := postfix ('**' unary)?                 right-associative
    postfix    := atom ('[' index ']')*
    index      := INT | INT? ':' INT? | expr            INT := '-'? digits
    atom       := NUMBER | STRING | NAME | FUNC '(' expr (',' expr)* ')'
                | '(' expr ')'

Precedence, loosest first: ``or``, ``and``, ``not``, comparisons, ``+ -``,
``* /``, unary ``-``, ``**``, indexing. ``-2**2`` is -4, as in Python.

Numbers are decimal (``5``, ``0.05``, ``.5``, ``1e-3``); strings are quoted
with ``'`` or ``"`` (backslash escapes the quote and itself).

Names (all at the current step t, of the layer being debugged):

========== ====================================================================
x f i      the layer's input, forget gate, input gate,
c_hat c    candidate, cell state,
o h        output gate and hidden state (vectors)
h_prev     h and c of the step before (h0 and c0 at t = 0)
c_prev
p          the readout probabilities at t (an error if the trace has none)
p_prev     the readout at t-1; it does not exist at t = 0, so a condition
           that mentions ``p_prev`` is false at step 0
token      the token the layer read at t (position T-1-t for a reversed
           layer); ``''`` when the trace has no tokens
next       the token the layer reads at its next step, t+1 (for a reversed
           layer that is position T-2-t: the one it reads next, not the one
           after in the text); ``''`` at the last step and without tokens
t  T       the step number and the number of steps
nan        true at steps where any vector of the layer (x f i c_hat c o h)
           holds a NaN or ±Inf
inf        infinity (a number)
========== ====================================================================

Indexing picks units: ``f[7]``, ``h[-1]`` (counting from the end), ``h[0:4]``
(a slice is a smaller vector). An index outside the vector is an error, not
an empty result.

An index may also be an expression giving one number per step:
``p[argmax(p)]`` is the top probability, ``h[argmax(abs(c))]`` the hidden
value of the unit with the largest cell state. It is checked at each step,
where no error can stop the scan: at a step where it is not a whole number
inside the vector (counting from the end when negative, as above) the
value is NaN, so a comparison with it is false there (``!=`` true), as with
any NaN; indexing true/false values gives false there. Slice bounds stay
whole numbers (a slice's size may not change from step to step).

Letters: a string compared with an index names an entry of the trace's
vocabulary (``readout/vocab``): ``argmax(p) == 'd'`` holds where the top
prediction is 'd', ``argmax(p) == next`` where the model predicted the token
it reads next, ``argmax(p_prev) == token`` where it had predicted this one.
The index side must give whole numbers (``argmax``, ``argmin``, ``count``,
``t``, arithmetic on those), not be a constant (``token == 3`` stays an
error), and only ``==`` and ``!=`` compare them. A letter not in the
vocabulary, or a trace with no vocabulary, is an error with the column of
the string; an index outside the vocabulary at some step names no entry
(``==`` is false there, ``!=`` true). Vocabulary entries may be longer than
one letter (words): the string must be one of them, whole.

Arithmetic, comparisons, ``and``, ``or``, ``not`` work elementwise, a number
pairing with every element of a vector; two vectors must have the same size.
The whole condition must be one true/false per step: a vector result is an
error (wrap it in ``any(...)`` or ``all(...)``).

Functions: ``abs(v)``, ``isnan(v)``, ``isinf(v)`` elementwise; ``max(v)``,
``min(v)``, ``mean(v)``, ``sum(v)``, ``std(v)``, ``norm(v)`` (Euclidean),
``argmax(v)``, ``argmin(v)`` reduce a vector to a number; ``any(b)``,
``all(b)``, ``count(b)`` reduce a vector of true/false. ``max(a, b, ...)``
and ``min(a, b, ...)`` with several arguments work elementwise.

Step to step: ``delta(v)`` is v at t minus v at t-1, for any numbers (a
vector, ``max(abs(c))``, ``p[3]``): ``delta(c)`` is ``c - c_prev``,
``max(abs(delta(h))) > 0.5`` finds a jump of the hidden state. At t = 0 the
value before is the state before the sequence where there is one: ``c0``
for c and ``h0`` for h (so ``delta(c)`` is ``c - c_prev`` at every step) and
-1 for t; anything else has no value before step 0 (x, the gates, p, an
earlier ``delta``...), so its delta is NaN at step 0 and a comparison with it
is false there.

NaN: NumPy's rules. A comparison with NaN is false (``!=`` is true), a
reduction over a vector holding NaN is NaN (``argmax`` points at the NaN).
Use ``nan`` or ``isnan(...)`` to find NaN. Division by zero gives ±Inf.

Numbers and indices are written with the ASCII digits 0-9 only (``f[١]`` is
an error, not unit 1).

Limits: a condition is at most ``MAX_LENGTH`` characters and nests at most
``MAX_DEPTH`` levels (parentheses, unary operators, calls, indexing, ``**``);
beyond either it is an error with a column, never a crash. A chain of one
operator (``a or b or c ...``, ``x + y - z ...``, ``0 < a < b ...``) is one
flat node however long it is, parsed, checked and evaluated in a loop, so its
length is limited only by ``MAX_LENGTH``.

Errors raise ``ConditionError``, whose ``column`` counts from 1. A missing
closing bracket is reported where it should go: in ``f[7 < 0.05`` that is
column 4, just after the ``7``. Parsing checks the syntax, the names and the
types (numbers, true/false, strings; vector or one value per step);
evaluation against a trace checks the sizes: index ranges, vectors of
different sizes, a readout that is not there.

How it runs: the expression is parsed into a small tree (no ``eval``) and
evaluated on many steps at once, block by block of rows: a vector name is the
(rows, units) slice of the recorded array, a scalar is (rows, 1), and
reductions run along the units. Only the rows and units a condition mentions
are read, so a memory-mapped trace is never copied whole, and the pages a
block read are handed back to the system after it (``release_pages``): a
scan of a file larger than memory does not keep it resident.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.lstm import VECTORS
from ..core.numeric import blocks
from ..core.text import Message
from ..core.trace import Layer, Trace, release_pages
from ..errors import LstmTuiError
from .health import nonfinite_rows

#: Rows per block times the widest vector: bounds the temporary arrays an
#: evaluation makes, whatever the length of the trace.
BLOCK_ELEMENTS = 1 << 20

#: The longest condition accepted, in characters.
MAX_LENGTH = 100_000
#: The deepest nesting accepted, both of the parser's recursion (parentheses,
#: unary operators, call arguments, right operands) and of the tree it builds
#: (operators of different precedence inside one another, calls, indexing,
#: ``**``). Flat chains of one operator do not nest. Keeps every recursive
#: walk far below Python's recursion limit.
MAX_DEPTH = 100
#: Values cached per block (the same unit read by several terms), in bytes.
CACHE_BYTES = 64 << 20
#: The last line of defence's words, where Python's own recursion limit is hit.
TOO_DEEP = Message("the condition is nested too deeply")


class ConditionError(LstmTuiError, ValueError):
    """A condition that does not parse or does not fit the trace.

    ``column`` counts from 1 (it may be one past the end: "the condition ends
    too early"); ``str()`` is one line, ``column N: why``; ``pointer()`` gives
    the source with a caret under the column."""

    def __init__(self, message: str, source: str, column: int):
        self.message = message
        self.source = source
        self.column = column
        super().__init__(Message("column {column}: {message}", column=column, message=message))

    def pointer(self) -> str:
        """Two lines: the condition, and a caret under the column."""
        # Keep tabs as tabs so the caret lines up whatever the tab width.
        pad = "".join("\t" if ch == "\t" else " " for ch in self.source[: self.column - 1])
        return f"{self.source}\n{pad}^"


# --------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # "num", "str", "name", "op", "end"
    text: str
    start: int  # offsets into the source, 0-based
    end: int
    value: Any = None


# ASCII digits only: \d and str.isdigit() would take ١ or ５ for digits.
_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WORDISH = re.compile(r"[\w.]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_OPS = ("**", "<=", ">=", "==", "!=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",", ":")
_KEYWORDS = {"and", "or", "not"}
# Characters people reach for from other languages, and what to write instead.
_HINTS = {"=": Message("use '==' to compare"), "!": Message("use 'not'"), "&": Message("use 'and'"),
          "|": Message("use 'or'"), "%": Message("there is no '%' operator"), "^": Message("use '**' for powers")}


def _clip(text: str, limit: int = 60) -> str:
    """``text`` for a one-line message: a long one is cut in the middle."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    return f"{text[:head]}…{text[len(text) - (limit - head - 1):]}"


def _tokenize(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos, n = 0, len(src)
    while pos < n:
        ch = src[pos]
        if ch.isspace():
            pos += 1
            continue
        m = _NUMBER.match(src, pos)
        if m:
            end = m.end()
            if end < n and (src[end].isalnum() or src[end] in "_."):
                bad = _WORDISH.match(src, pos).group()  # type: ignore[union-attr]
                digits = any(c.isdigit() and not c.isascii() for c in bad)
                raise ConditionError(Message("malformed number {number}; digits are 0-9" if digits else
                                             "malformed number {number}", number=_clip(repr(bad))), src, pos + 1)
            text = m.group()
            toks.append(_Tok("num", text, pos, end, float(text)))
            pos = end
            continue
        m = _NAME.match(src, pos)
        if m:
            kind = "op" if m.group() in _KEYWORDS else "name"
            toks.append(_Tok(kind, m.group(), pos, m.end()))
            pos = m.end()
            continue
        if ch in "'\"":
            out, j = [], pos + 1
            while j < n and src[j] != ch:
                if src[j] == "\\" and j + 1 < n and src[j + 1] in ("\\", "'", '"'):
                    j += 1
                out.append(src[j])
                j += 1
            if j >= n:
                raise ConditionError(Message("string has no closing {quote}", quote=ch), src, pos + 1)
            toks.append(_Tok("str", src[pos:j + 1], pos, j + 1, "".join(out)))
            pos = j + 1
            continue
        op = next((o for o in _OPS if src.startswith(o, pos)), None)
        if op is None:
            hint: Message | None = _HINTS.get(ch)
            if hint is None and ch.isdigit():
                hint = Message("numbers and indices are written with the digits 0-9")
            raise ConditionError(Message("unexpected character {ch!r}: {hint}", ch=ch, hint=hint) if hint else
                                 Message("unexpected character {ch!r}", ch=ch), src, pos + 1)
        toks.append(_Tok("op", op, pos, pos + len(op)))
        pos += len(op)
    toks.append(_Tok("end", "", n, n))
    return toks


# --------------------------------------------------------------------------
# The tree. Every node knows its kind ("num", "bool", "str"), whether it is a
# vector (one value per unit) or one value per step, and where it is in the
# source, so errors found later still point at the right column.
# --------------------------------------------------------------------------


@dataclass(eq=False)
class _Node:
    start: int
    end: int
    kind: str
    vector: bool
    integer: bool = field(default=False, kw_only=True)  # for display: counts, indices
    depth: int = field(default=1, kw_only=True)  # of the tree below and including it
    # The span without the parentheses around it, when it has some: the
    # node's text with them, for messages, and without, for display.
    bare: tuple[int, int] | None = field(default=None, kw_only=True)

    @property
    def col(self) -> int:
        return self.start + 1


@dataclass(eq=False)
class _Const(_Node):
    value: Any = None


@dataclass(eq=False)
class _Name(_Node):
    name: str = ""


@dataclass(eq=False)
class _Unary(_Node):
    op: str = "-"
    operand: _Node = None  # type: ignore[assignment]


@dataclass(eq=False)
class _Binary(_Node):
    """A chain of operators of one precedence, applied left to right:
    ``a + b - c`` is ((a + b) - c), ``a or b or c`` one node, not a tree as
    deep as the chain is long."""

    ops: list[str] = field(default_factory=list)
    op_cols: list[int] = field(default_factory=list)
    operands: list[_Node] = field(default_factory=list)


@dataclass(eq=False)
class _Compare(_Node):
    ops: list[str] = field(default_factory=list)
    op_cols: list[int] = field(default_factory=list)
    operands: list[_Node] = field(default_factory=list)
    #: Per comparison: which operand (0 left, 1 right) is an index to read
    #: as a vocabulary entry, the other being a string; None for none.
    letters: list[int | None] = field(default_factory=list)


@dataclass(eq=False)
class _Call(_Node):
    func: str = ""
    args: list[_Node] = field(default_factory=list)


@dataclass(eq=False)
class _Index(_Node):
    target: _Node = None  # type: ignore[assignment]
    index: int | tuple[int | None, int | None] = 0  # int, or (start, stop) of a slice
    index_col: int = 0
    #: An index computed at each step (``p[argmax(p)]``), instead of ``index``.
    at: _Node | None = None


#: name -> (kind, vector)
_NAMES: dict[str, tuple[str, bool]] = {
    **{v: ("num", True) for v in VECTORS},
    "h_prev": ("num", True), "c_prev": ("num", True),
    "p": ("num", True), "p_prev": ("num", True),
    "token": ("str", False), "next": ("str", False), "t": ("num", False), "T": ("num", False),
    "nan": ("bool", False), "inf": ("num", False),
}

_ELEMENTWISE = {"abs": ("num", "num"), "isnan": ("num", "bool"), "isinf": ("num", "bool")}
_REDUCE_NUM = {"max", "min", "mean", "sum", "std", "norm", "argmax", "argmin"}
_REDUCE_BOOL = {"any", "all", "count"}
#: Functions of the value at t and at t-1 (one row more is read per block).
_STEPWISE = {"delta"}
_FUNCS = sorted({*_ELEMENTWISE, *_REDUCE_NUM, *_REDUCE_BOOL, *_STEPWISE})
#: The names whose value before step 0 is known (h0, c0, and t = -1): a
#: ``delta`` of them is a number at step 0 too.
_BEFORE_START = {"h", "c", "t", "T"}

# Messages, as the words of the errors they go into: the screen translates them with the error.
_KIND_WORD = {"num": Message("a number"), "bool": Message("true/false"), "str": Message("a string")}
_VECTOR_WORD = {"num": Message("a vector of numbers"), "bool": Message("a vector of true/false"),
                "str": Message("strings")}

# Pratt binding powers (left, right). Left-associative operators have
# left < right; '**' has left > right, so it groups to the right.
_INFIX = {
    "or": (1, 2), "and": (3, 4),
    "<": (7, 8), "<=": (7, 8), ">": (7, 8), ">=": (7, 8), "==": (7, 8), "!=": (7, 8),
    "+": (9, 10), "-": (9, 10), "*": (11, 12), "/": (11, 12),
    "**": (16, 15),
    "[": (17, 0),
}
_NOT_BP = 5
_UNARY_BP = 13
_COMPARE = {"<", "<=", ">", ">=", "==", "!="}


def _describe(node: _Node) -> Message:
    return (_VECTOR_WORD if node.vector else _KIND_WORD)[node.kind]


def _needs_numbers(op: str, side: _Node) -> Message:
    """An arithmetic operator given something other than numbers."""
    return Message("{op!r} needs numbers, not {what} (count(...) counts true values)" if side.kind == "bool" else
                   "{op!r} needs numbers, not {what}", op=op, what=_describe(side))


class _Parser:
    def __init__(self, src: str):
        self.src = src
        if len(src) > MAX_LENGTH:
            raise ConditionError(Message("the condition is {n} characters long; at most {limit} are accepted",
                                         n=len(src), limit=MAX_LENGTH), src, MAX_LENGTH + 1)
        self.toks = _tokenize(src)
        self.pos = 0
        self.level = 0  # how deep expr() is in its own recursion

    # -- helpers ---------------------------------------------------------

    def peek(self) -> _Tok:
        return self.toks[self.pos]

    def advance(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def error(self, message: str, column: int) -> ConditionError:
        return ConditionError(message, self.src, column)

    def text(self, node: _Node) -> str:
        """The node's text, for a message (a long one cut short)."""
        return _clip(self.src[node.start:node.end])

    @staticmethod
    def found(tok: _Tok) -> str:
        return Message("the end of the condition") if tok.kind == "end" else _clip(repr(tok.text))

    def too_deep(self, column: int) -> ConditionError:
        return self.error(Message("the condition is nested too deeply (more than {depth} levels of parentheses, "
                                  "operators, calls or indexing)", depth=MAX_DEPTH), column)

    def made(self, node: _Node, children: list[_Node], column: int) -> _Node:
        """``node``, its depth set from its ``children``; refused at
        ``column`` when that is more than ``MAX_DEPTH``."""
        node.depth = 1 + max((c.depth for c in children), default=0)
        if node.depth > MAX_DEPTH:
            raise self.too_deep(column)
        return node

    def expect(self, op: str, closing: Message | None = None) -> _Tok:
        """The next token, which must be ``op``; ``closing`` says what it
        would close ("the '(' at column 3")."""
        tok = self.peek()
        if tok.kind == "op" and tok.text == op:
            return self.advance()
        # Point where the missing token belongs: right after the previous one.
        prev_end = self.toks[self.pos - 1].end if self.pos else 0
        found = self.found(tok)
        raise self.error(Message("expected {op!r} to close {what}, found {found}", op=op, what=closing, found=found)
                         if closing is not None else Message("expected {op!r}, found {found}", op=op, found=found),
                         prev_end + 1)

    # -- the Pratt loop ----------------------------------------------------

    def parse(self) -> _Node:
        if self.peek().kind == "end":
            raise self.error(Message("empty condition"), 1)
        node = self.expr(0)
        tok = self.peek()
        if tok.kind != "end":
            if tok.kind == "op" and tok.text in (")", "]"):
                raise self.error(Message("unmatched {bracket!r}", bracket=tok.text), tok.start + 1)
            raise self.error(Message("expected an operator or the end of the condition, found {found}",
                                     found=self.found(tok)), tok.start + 1)
        return node

    def expr(self, min_bp: int) -> _Node:
        # Each level of parentheses, unary operator, call argument or right
        # operand recurses once more: counted, so that ((((...)))) stops
        # with a column long before Python's own limit.
        if self.level >= MAX_DEPTH:
            raise self.too_deep(self.peek().start + 1)
        self.level += 1
        try:
            return self.infix(self.prefix(), min_bp)
        finally:
            self.level -= 1

    def infix(self, left: _Node, min_bp: int) -> _Node:
        chain: _Compare | None = None  # the comparison built in this loop, to chain onto
        built: _Binary | None = None  # the operator chain built in this loop, to extend
        while True:
            tok = self.peek()
            if tok.kind != "op" or tok.text not in _INFIX:
                if tok.kind == "op" and tok.text == "(":
                    raise self.error(Message("{what} is not a function", what=self.text(left)), tok.start + 1)
                break
            lbp, rbp = _INFIX[tok.text]
            if lbp < min_bp:
                break
            self.advance()
            if tok.text == "[":
                left = self.index(left, tok)
                chain = built = None
                continue
            right = self.expr(rbp)
            if tok.text in _COMPARE:
                if chain is not None and chain is left:
                    chain.operands.append(right)
                    chain.ops.append(tok.text)
                    chain.op_cols.append(tok.start + 1)
                    self.check_compare(chain, -1)
                    chain.end = right.end
                    chain.depth = max(chain.depth, right.depth + 1)
                    if chain.depth > MAX_DEPTH:
                        raise self.too_deep(tok.start + 1)
                    continue
                left = chain = self.compare(left, tok, right)
                built = None
                continue
            chain = None
            if built is not None and built is left and _INFIX[built.ops[0]] == _INFIX[tok.text]:
                self.extend(built, tok, right)
                continue
            if tok.text in ("and", "or"):
                left = self.logic(left, tok, right)
            else:
                left = self.arith(left, tok, right)
            # ** is right-associative: its node is never extended.
            built = left if tok.text != "**" and isinstance(left, _Binary) else None
        return left

    def prefix(self) -> _Node:
        tok = self.advance()
        if tok.kind == "num":
            integer = re.fullmatch(r"[0-9]+", tok.text) is not None
            return _Const(tok.start, tok.end, "num", False, value=tok.value, integer=integer)
        if tok.kind == "str":
            return _Const(tok.start, tok.end, "str", False, value=tok.value)
        if tok.kind == "name":
            return self.name(tok)
        if tok.kind == "op":
            if tok.text == "(":
                inner = self.expr(0)
                close = self.expect(")", Message("the '(' at column {column}", column=tok.start + 1))
                # The parentheses belong to the node's span, so that the text
                # of an operation around it is whole: "(a + b) * c".
                if inner.bare is None:
                    inner.bare = (inner.start, inner.end)
                inner.start, inner.end = tok.start, close.end
                return inner
            if tok.text in ("-", "+"):
                operand = self.expr(_UNARY_BP)
                if operand.kind != "num":
                    raise self.error(Message("unary {op!r} needs a number, not {what}", op=tok.text,
                                             what=_describe(operand)), tok.start + 1)
                return self.made(_Unary(tok.start, operand.end, "num", operand.vector, op=tok.text,
                                        operand=operand, integer=operand.integer), [operand], tok.start + 1)
            if tok.text == "not":
                operand = self.expr(_NOT_BP)
                if operand.kind != "bool":
                    raise self.error(Message("'not' needs true/false, not {what}", what=_describe(operand)),
                                     tok.start + 1)
                return self.made(_Unary(tok.start, operand.end, "bool", operand.vector, op="not",
                                        operand=operand), [operand], tok.start + 1)
        if tok.kind == "end":
            prev_end = self.toks[self.pos - 2].end if self.pos >= 2 else 0
            raise self.error(Message("the condition ends too early: expected a value"), prev_end + 1)
        raise self.error(Message("expected a value, found {found}", found=self.found(tok)), tok.start + 1)

    def name(self, tok: _Tok) -> _Node:
        name = tok.text
        is_call = self.peek().kind == "op" and self.peek().text == "("
        if name in _FUNCS:
            if not is_call:
                raise self.error(Message("{name} is a function: write {name}(...)", name=name), tok.start + 1)
            return self.call(tok)
        if name in _NAMES:
            if is_call:
                why = (Message("{name} is not a function; index it with {name}[...]", name=name) if _NAMES[name][1]
                       else Message("{what} is not a function", what=name))
                raise self.error(why, self.peek().start + 1)
            kind, vector = _NAMES[name]
            if name == "inf":
                return _Const(tok.start, tok.end, "num", False, value=float("inf"))
            return _Name(tok.start, tok.end, kind, vector, name=name, integer=name in ("t", "T"))
        close = difflib.get_close_matches(name, [*_NAMES, *_FUNCS], n=1, cutoff=0.6)
        if not close and name.lower() in _NAMES:
            close = [name.lower()]
        values = {"name": _clip(repr(name)), "close": close[0] if close else None}
        if is_call:
            raise self.error(Message("unknown function {name} (did you mean {close!r}?); functions are {names}" if close
                                     else "unknown function {name}; functions are {names}",
                                     names=", ".join(_FUNCS), **values), tok.start + 1)
        raise self.error(Message("unknown name {name} (did you mean {close!r}?); names are {names}" if close
                                 else "unknown name {name}; names are {names}", names=", ".join(_NAMES), **values),
                         tok.start + 1)

    def call(self, name_tok: _Tok) -> _Node:
        open_tok = self.advance()  # '('
        args: list[_Node] = []
        if not (self.peek().kind == "op" and self.peek().text == ")"):
            while True:
                args.append(self.expr(0))
                if self.peek().kind == "op" and self.peek().text == ",":
                    self.advance()
                    continue
                break
        close = self.expect(")", Message("{name}( at column {column}", name=name_tok.text, column=open_tok.start + 1))
        func = name_tok.text
        span = (name_tok.start, close.end)

        def need(kind: str, arg: _Node) -> None:
            if arg.kind != kind:
                need = _KIND_WORD[kind] if kind != "bool" else Message("true/false values")
                raise self.error(Message("{func}() needs {need}, not {what}", func=func, need=need,
                                         what=_describe(arg)), arg.col)

        if not args:
            raise self.error(Message("{func}() needs an argument", func=func), close.start + 1)
        if func in ("max", "min") and len(args) > 1:
            for a in args:
                need("num", a)
            return self.made(_Call(*span, "num", any(a.vector for a in args), func=func, args=args,
                                   integer=all(a.integer for a in args)), args, name_tok.start + 1)
        if len(args) > 1:
            raise self.error(Message("{func}() takes one argument, not {n}", func=func, n=len(args)), args[1].col)
        (arg,) = args
        if func in _STEPWISE:
            need("num", arg)
            return self.made(_Call(*span, "num", arg.vector, func=func, args=args, integer=arg.integer), args,
                             name_tok.start + 1)
        if func in _ELEMENTWISE:
            takes, gives = _ELEMENTWISE[func]
            need(takes, arg)
            return self.made(_Call(*span, gives, arg.vector, func=func, args=args,
                                   integer=arg.integer and gives == "num"), args, name_tok.start + 1)
        need("bool" if func in _REDUCE_BOOL else "num", arg)
        if not arg.vector:
            raise self.error(Message("{func}() needs a vector; {what!r} is one value per step", func=func,
                                     what=self.text(arg)), arg.col)
        kind = "bool" if func in ("any", "all") else "num"
        return self.made(_Call(*span, kind, False, func=func, args=args,
                               integer=func in ("count", "argmax", "argmin")), args, name_tok.start + 1)

    def index(self, target: _Node, open_tok: _Tok) -> _Node:
        if not target.vector:
            raise self.error(Message("{what!r} is one value per step, not a vector: it cannot be indexed",
                                     what=self.text(target)), open_tok.start + 1)
        col = self.peek().start + 1
        if self.computed_index():
            return self.index_at(target, open_tok)
        start = self.integer(optional=True)
        if self.peek().kind == "op" and self.peek().text == ":":
            self.advance()
            stop = self.integer(optional=True)
            index: int | tuple[int | None, int | None] = (start, stop)
        else:
            if start is None:
                tok = self.peek()
                raise self.error(Message("expected an index (a whole number), found {found}", found=self.found(tok)),
                                 tok.start + 1)
            index = start
        close = self.expect("]")
        vector = isinstance(index, tuple)
        return self.made(_Index(target.start, close.end, target.kind, vector, target=target, index=index,
                                index_col=col), [target], open_tok.start + 1)

    def computed_index(self) -> bool:
        """Whether the index ahead is an expression rather than a whole
        number or a slice: anything but ``]``, ``:`` or a number (after an
        optional ``-``) that an arithmetic operator does not follow. So
        ``f[7 < 0.05`` is still a 7 missing its ``]``, and ``h[1 + t]`` an
        expression."""
        j = self.pos
        tok = self.toks[j]
        if tok.kind == "op" and tok.text in ("]", ":"):
            return False
        if tok.kind == "op" and tok.text == "-" and self.toks[j + 1].kind == "num":
            j += 1
        elif tok.kind != "num":
            return True
        after = self.toks[j + 1]
        return after.kind == "op" and after.text in ("+", "-", "*", "/", "**")

    def index_at(self, target: _Node, open_tok: _Tok) -> _Node:
        """``v[expr]``: an index computed at each step."""
        # Arithmetic only (an index is a number): in ``f[argmax(p) > 1`` the
        # '>' is where the ']' is missing.
        at = self.expr(_INFIX["+"][0])
        if at.kind != "num":
            raise self.error(Message("an index must be a number, not {what}", what=_describe(at)), at.col)
        if at.vector:
            raise self.error(Message("an index must be one number per step; {what!r} is a vector",
                                     what=self.text(at)), at.col)
        if self.peek().kind == "op" and self.peek().text == ":":
            raise self.error(Message("slice bounds are whole numbers, not expressions"), at.col)
        close = self.expect("]", Message("the '[' at column {column}", column=open_tok.start + 1))
        return self.made(_Index(target.start, close.end, target.kind, False, target=target, index_col=at.col,
                                at=at), [target, at], open_tok.start + 1)

    def integer(self, optional: bool) -> int | None:
        tok = self.peek()
        sign = 1
        if tok.kind == "op" and tok.text == "-":
            self.advance()
            sign, tok = -1, self.peek()
        elif optional and not (tok.kind == "num"):
            return None
        if tok.kind != "num":
            raise self.error(Message("expected an index (a whole number), found {found}", found=self.found(tok)),
                             tok.start + 1)
        if not re.fullmatch(r"[0-9]+", tok.text):
            raise self.error(Message("an index must be a whole number, not {number}", number=_clip(tok.text)),
                             tok.start + 1)
        if len(tok.text) > 18:
            raise self.error(Message("index {number} is too large", number=_clip(tok.text, 24)), tok.start + 1)
        self.advance()
        return sign * int(tok.text)

    # -- typing of operators ------------------------------------------------

    def arith(self, left: _Node, tok: _Tok, right: _Node) -> _Node:
        for side in (left, right):
            if side.kind != "num":
                raise self.error(_needs_numbers(tok.text, side), tok.start + 1)
        integer = left.integer and right.integer and tok.text in ("+", "-", "*")
        return self.made(_Binary(left.start, right.end, "num", left.vector or right.vector, ops=[tok.text],
                                 op_cols=[tok.start + 1], operands=[left, right], integer=integer),
                         [left, right], tok.start + 1)

    def logic(self, left: _Node, tok: _Tok, right: _Node) -> _Node:
        for side in (left, right):
            if side.kind != "bool":
                raise self.error(Message("{op!r} needs true/false on both sides, not {what}", op=tok.text,
                                         what=_describe(side)), tok.start + 1)
        return self.made(_Binary(left.start, right.end, "bool", left.vector or right.vector, ops=[tok.text],
                                 op_cols=[tok.start + 1], operands=[left, right]), [left, right], tok.start + 1)

    def extend(self, chain: _Binary, tok: _Tok, right: _Node) -> None:
        """One more operand for a chain of operators of one precedence: the
        same checks as for the first, on the new operand."""
        if chain.kind == "bool":
            if right.kind != "bool":
                raise self.error(Message("{op!r} needs true/false on both sides, not {what}", op=tok.text,
                                         what=_describe(right)), tok.start + 1)
        elif right.kind != "num":
            raise self.error(_needs_numbers(tok.text, right), tok.start + 1)
        chain.ops.append(tok.text)
        chain.op_cols.append(tok.start + 1)
        chain.operands.append(right)
        chain.end = right.end
        chain.vector = chain.vector or right.vector
        chain.integer = chain.integer and right.integer and tok.text in ("+", "-", "*")
        chain.depth = max(chain.depth, right.depth + 1)
        if chain.depth > MAX_DEPTH:
            raise self.too_deep(tok.start + 1)

    def compare(self, left: _Node, tok: _Tok, right: _Node) -> _Compare:
        node = _Compare(left.start, right.end, "bool", False, ops=[tok.text], op_cols=[tok.start + 1],
                        operands=[left, right])
        self.check_compare(node, 0)
        self.made(node, [left, right], tok.start + 1)
        return node

    def check_compare(self, node: _Compare, k: int) -> None:
        k = k % len(node.ops)
        a, b, op, col = node.operands[k], node.operands[k + 1], node.ops[k], node.op_cols[k]
        del node.letters[k:]
        node.letters.append(None)
        if {a.kind, b.kind} == {"num", "str"}:
            side = 0 if a.kind == "num" else 1
            index, text = (a, b) if side == 0 else (b, a)
            # A constant is never an index here: ``token == 3`` is a slip.
            constant = not any(isinstance(n, _Name) for n in _walk(index))
            if index.integer and not constant:
                if op not in ("==", "!="):
                    raise self.error(Message("{op!r} cannot order letters; compare an index with a letter using "
                                             "== or !=", op=op), col)
                node.letters[k] = side
                node.vector = node.vector or index.vector
                return
            if not constant:
                raise self.error(Message("{what!r} is not an index (a whole number per step): only an index, such "
                                         "as argmax(p), compares with a letter of the vocabulary",
                                         what=self.text(index)), col)
        if a.kind != b.kind:
            nan = any(isinstance(s, _Name) and s.name == "nan" for s in (a, b))
            raise self.error(Message("cannot compare {a} with {b}; 'nan' alone is true where the layer holds NaN or "
                                     "Inf, isnan(...) tests a value" if nan else "cannot compare {a} with {b}",
                                     a=_describe(a), b=_describe(b)), col)
        if a.kind != "num" and op not in ("==", "!="):
            raise self.error(Message("{op!r} compares numbers; {what} can only be tested with == or !=", op=op,
                                     what=_KIND_WORD[a.kind]), col)
        node.vector = node.vector or a.vector or b.vector


# --------------------------------------------------------------------------
# Binding to a trace: sizes and index ranges
# --------------------------------------------------------------------------


def vocabulary_label(vocab: list[str], limit: int = 40) -> str:
    """A vocabulary in a few characters: ``a–z`` for a run of consecutive
    letters, the letters themselves (``xyz``), or words with spaces;
    a long one cut short."""
    if vocab and all(len(v) == 1 for v in vocab):
        if len(vocab) > 3 and all(ord(b) - ord(a) == 1 for a, b in zip(vocab, vocab[1:])):
            return f"{vocab[0]}–{vocab[-1]}"
        return _clip("".join(vocab), limit)
    return _clip(" ".join(vocab), limit)


def _different_sizes(a: str, wa: int, b: str, wb: int) -> Message:
    """Two vectors an operation pairs element by element that do not pair."""
    return Message("vectors of different sizes: {a} has {wa} values, {b} has {wb}", a=a, wa=wa, b=b, wb=wb)


class _Binding:
    """What a condition's tree means for one layer of one trace: the width of
    every vector node and the resolved slice of every index, checked before
    any data is read."""

    def __init__(self, cond: Condition, trace: Trace, layer: int):
        if not 0 <= layer < len(trace.layers):
            raise ValueError(f"no layer {layer} (the trace has {len(trace.layers)})")
        self.cond = cond
        self.trace = trace
        self.layer: Layer = trace.layers[layer]
        self.T = trace.steps
        self.width: dict[int, int | None] = {}
        self.select: dict[int, slice] = {}
        self.max_width = 1
        #: The trace's vocabulary as strings, read once when a comparison
        #: reads letters (None: not needed, or the trace has none).
        self.vocab: np.ndarray | None = None
        #: The ``delta`` arguments whose value before step 0 is known.
        self.before_start: set[int] = set()
        #: Called before each block is read (``evaluate``'s ``check``).
        self.check: Callable[[], None] | None = None
        #: Called after each block of the top-level pass with (steps done,
        #: T) (``evaluate``'s ``progress``).
        self.progress: Callable[[int, int], None] | None = None
        self.bind(cond.root)

    def error(self, message: str, column: int) -> ConditionError:
        return ConditionError(message, self.cond.source, column)

    def bind_letters(self, text: _Node) -> None:
        """A string compared with an index: the trace must have a
        vocabulary, and a written letter must be in it."""
        if self.trace.vocab is None:
            raise self.error(Message("{what} is compared with an index, which reads the trace's vocabulary; this "
                                     "trace has none (no readout/vocab member)", what=_clip(self.cond.text(text))),
                             text.col)
        if self.vocab is None:
            self.vocab = np.asarray(self.trace.vocab).astype(str)
        if isinstance(text, _Const) and text.value not in set(self.vocab.tolist()):
            raise self.error(Message("{letter} is not in the vocabulary ({vocab})", letter=_clip(repr(text.value)),
                                     vocab=vocabulary_label(self.vocab.tolist())), text.col)

    def name_width(self, node: _Name) -> int | None:
        name = node.name
        if name == "x":
            return self.layer.input_dim
        if name in VECTORS or name in ("h_prev", "c_prev"):
            return self.layer.units
        if name in ("p", "p_prev"):
            if self.trace.probs is None:
                raise self.error(Message("{name}: this trace has no readout (no readout/probs member)", name=name),
                                 node.col)
            return int(np.shape(self.trace.probs)[1])
        return None

    def bind(self, node: _Node) -> int | None:
        w = self._bind(node)
        if w is not None:
            if w == 0:
                raise self.error(Message("{what} is empty", what=_clip(repr(self.cond.text(node)))), node.col)
            self.max_width = max(self.max_width, w)
        self.width[id(node)] = w
        return w

    def same(self, nodes: list[_Node], widths: list[int | None], col: int) -> int | None:
        sized = [(n, w) for n, w in zip(nodes, widths) if w is not None]
        for (n1, w1), (n2, w2) in zip(sized, sized[1:]):
            if w1 != w2:
                raise self.error(_different_sizes(_clip(self.cond.text(n1)), w1, _clip(self.cond.text(n2)), w2),
                                 col)
        return sized[0][1] if sized else None

    def _bind(self, node: _Node) -> int | None:
        if isinstance(node, _Const):
            return None
        if isinstance(node, _Name):
            return self.name_width(node)
        if isinstance(node, _Unary):
            return self.bind(node.operand)
        if isinstance(node, _Binary):
            # Left to right, as it is evaluated: each operand against what
            # the chain before it gives.
            src, operands = self.cond.source, node.operands
            acc = self.bind(operands[0])
            for k in range(1, len(operands)):
                w = self.bind(operands[k])
                if acc is not None and w is not None and acc != w:
                    before = _clip(src[operands[0].start:operands[k - 1].end])
                    raise self.error(_different_sizes(before, acc, _clip(self.cond.text(operands[k])), w),
                                     node.op_cols[k - 1])
                acc = w if acc is None else acc
            return acc
        if isinstance(node, _Compare):
            ws = [self.bind(n) for n in node.operands]
            for k, col in enumerate(node.op_cols):
                self.same(node.operands[k:k + 2], ws[k:k + 2], col)
                side = node.letters[k]
                if side is not None:
                    self.bind_letters(node.operands[k + 1 - side])  # the string, across from the index
            return self.same(node.operands, ws, node.op_cols[0])
        if isinstance(node, _Call):
            if node.func in _STEPWISE:
                (arg,) = node.args
                inside = list(_walk(arg))
                if not any(isinstance(n, _Call) and n.func in _STEPWISE for n in inside) and all(
                        n.name in _BEFORE_START for n in inside if isinstance(n, _Name)):
                    self.before_start.add(id(arg))
            ws = [self.bind(a) for a in node.args]
            w = self.same(node.args, ws, node.col)
            return w if node.vector else None
        if isinstance(node, _Index):
            w = self.bind(node.target)
            assert w is not None  # the parser only lets vectors be indexed
            if node.at is not None:
                self.bind(node.at)  # one number per step (the parser checked): checked at each step
                return None
            what = _clip(self.cond.text(node.target))
            units = Message("{what} has {w} value (0…{last}, or -{w}…-1 from the end)" if w == 1 else
                            "{what} has {w} values (0…{last}, or -{w}…-1 from the end)", what=what, w=w, last=w - 1)
            if isinstance(node.index, int):
                k = node.index
                if not -w <= k < w:
                    raise self.error(Message("index {k} is out of range: {units}", k=k, units=units), node.index_col)
                k %= w
                self.select[id(node)] = slice(k, k + 1)
                return None
            start, stop = node.index
            for bound in (start, stop):
                if bound is not None and not -w <= bound <= w:
                    raise self.error(Message("slice bound {bound} is out of range: {units}", bound=bound,
                                             units=units), node.index_col)
            s = slice(start, stop)
            a, b, _ = s.indices(w)
            if b <= a:
                raise self.error(Message("the slice {what} is empty ({units})", what=_clip(self.cond.text(node)),
                                         units=units), node.index_col)
            self.select[id(node)] = slice(a, b)
            return b - a
        raise AssertionError(type(node))


# --------------------------------------------------------------------------
# Evaluation, one block of rows at a time
# --------------------------------------------------------------------------

_ALL = slice(None)


class _Block:
    """Evaluates the tree on steps [a, b). Values are 2-D: (rows, units) for
    vectors, (rows, 1) for one value per step, or a plain Python constant."""

    def __init__(self, binding: _Binding, a: int, b: int):
        self.bd = binding
        self.a, self.b = a, b
        self.cache: dict[tuple[str, int | None, int | None], np.ndarray] = {}
        self.cached = 0  # bytes in the cache, at most CACHE_BYTES
        self.read: set[str] = set()  # the names whose rows this block read

    def source(self, name: str, sel: slice) -> np.ndarray:
        key = (name, sel.start, sel.stop)
        got = self.cache.get(key)
        if got is None:
            self.read.add(name)
            got = self._source(name, sel)
            if self.cached + got.nbytes <= CACHE_BYTES:
                self.cache[key] = got
                self.cached += got.nbytes
        return got

    def release(self) -> None:
        """Hand back the pages of a mapped trace this block read, once done
        with them: a scan of the whole file does not keep it resident."""
        layer, a, b, trace = self.bd.layer, self.a, self.b, self.bd.trace
        for name in self.read:
            if name in VECTORS:
                release_pages(np.asarray(layer.vector(name))[a:b])
            elif name in ("h_prev", "c_prev"):
                release_pages(np.asarray(layer.vector(name[0]))[max(0, a - 1):b])
            elif name in ("p", "p_prev") and trace.probs is not None:
                release_pages(np.asarray(trace.probs)[max(0, a - 1):b])
            elif name == "nan":
                for v in VECTORS:
                    release_pages(np.asarray(layer.vector(v))[a:b])
            elif name == "token" and trace.tokens is not None:
                lo, hi = (self.bd.T - b, self.bd.T - a) if layer.reversed else (a, b)
                release_pages(np.asarray(trace.tokens)[lo:hi])
            elif name == "next" and trace.tokens is not None:
                lo, hi = (max(0, self.bd.T - b - 1), self.bd.T - a - 1) if layer.reversed else (a + 1, b + 1)
                release_pages(np.asarray(trace.tokens)[lo:hi])

    def _source(self, name: str, sel: slice) -> np.ndarray:
        layer, a, b = self.bd.layer, self.a, self.b
        if a < 0:
            return self._before_start(name, sel)
        # float64 copies of the selected rows and units only: float16 data
        # would overflow in c * c, and a mapped array stays on disk.
        if name in VECTORS:
            return np.asarray(layer.vector(name)[a:b, sel], np.float64)
        if name in ("h_prev", "c_prev", "p", "p_prev"):
            if name == "p":
                return np.asarray(self.bd.trace.probs[a:b, sel], np.float64)  # type: ignore[index]
            if name == "p_prev":
                base = self.bd.trace.probs
                assert base is not None  # a condition on p is refused for a trace without one
                first = np.full(np.shape(base)[1], np.nan)  # no readout before step 0
            else:
                base = layer.vector(name[0])
                first = layer.h0 if name == "h_prev" else layer.c0
            if a > 0:
                return np.asarray(base[a - 1:b - 1, sel], np.float64)
            rows = np.asarray(base[0:b - 1, sel], np.float64)
            return np.vstack([np.asarray(first, np.float64)[None, sel], rows])
        if name == "token":
            tokens = self.bd.trace.tokens
            if tokens is None:
                return np.full((b - a, 1), "", dtype="<U1")
            pos = np.arange(a, b)
            if layer.reversed:
                pos = self.bd.T - 1 - pos
            return np.asarray(tokens)[pos][:, None]
        if name == "next":
            tokens = self.bd.trace.tokens
            if tokens is None:
                return np.full((b - a, 1), "", dtype="<U1")
            step = np.arange(a + 1, b + 1)
            last = step >= self.bd.T  # the last step reads nothing after it
            pos = np.where(last, 0, self.bd.T - 1 - step if layer.reversed else step)
            return np.where(last, "", np.asarray(tokens)[pos])[:, None]
        if name == "t":
            return np.arange(a, b, dtype=np.float64)[:, None]
        if name == "T":
            return np.full((b - a, 1), float(self.bd.T))
        if name == "nan":
            return nonfinite_rows(layer, a, b)[:, None]
        raise AssertionError(name)

    def _before_start(self, name: str, sel: slice) -> np.ndarray:
        """Row -1, the state before the sequence, for a ``delta`` at t = 0:
        only the names of ``_BEFORE_START`` are read here."""
        layer = self.bd.layer
        if name in ("h", "c"):
            return np.asarray(layer.h0 if name == "h" else layer.c0, np.float64)[None, sel]
        if name == "t":
            return np.full((1, 1), -1.0)
        if name == "T":
            return np.full((1, 1), float(self.bd.T))
        raise AssertionError(name)

    def rows(self, node: _Node) -> np.ndarray:
        """``node``'s value as a float array of (rows, width)."""
        width = self.bd.width.get(id(node)) or 1
        return np.broadcast_to(np.asarray(self.ev(node), np.float64), (self.b - self.a, width))

    def delta(self, arg: _Node) -> np.ndarray:
        """``arg`` at each step minus ``arg`` at the step before: one block
        of one row more, [a-1, b), so a block's first row reads the row
        before it (in the previous block) too."""
        a, b = self.a, self.b
        if a > 0:
            wider = _Block(self.bd, a - 1, b)
            try:
                values = wider.rows(arg)
            finally:
                wider.release()
            return values[1:] - values[:-1]
        now = self.rows(arg)
        if id(arg) in self.bd.before_start:
            first = _Block(self.bd, -1, 0).rows(arg)  # h0, c0: nothing mapped is read
        else:
            first = np.full((1, now.shape[1]), np.nan)
        return now - np.vstack([first, now[:-1]])

    def letters(self, values: Any) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary entry each index names, and where it names one
        (a whole number inside the vocabulary)."""
        vocab = self.bd.vocab
        assert vocab is not None  # bound by bind_letters
        k = np.asarray(values, np.float64)
        ok = np.isfinite(k) & (k == np.floor(k)) & (k >= 0) & (k < len(vocab))
        return vocab[np.where(ok, k, 0).astype(np.int64)], ok

    def top(self, node: _Node) -> np.ndarray:
        value = self.ev(node)
        return np.broadcast_to(np.asarray(value, dtype=bool), (self.b - self.a, 1))[:, 0]

    def ev(self, node: _Node) -> Any:
        return _EVAL[type(node)](self, node)

    def ev_const(self, node: _Const) -> Any:
        return node.value

    def ev_name(self, node: _Name) -> Any:
        return self.source(node.name, _ALL)

    def ev_unary(self, node: _Unary) -> Any:
        v = self.ev(node.operand)
        if node.op == "not":
            return np.logical_not(v)
        return -v if node.op == "-" else v

    # Chains are evaluated in a loop holding two values at a time, never a
    # list of every operand's values: a chain of thousands stays small.

    def ev_binary(self, node: _Binary) -> Any:
        out = self.ev(node.operands[0])
        for op, operand in zip(node.ops, node.operands[1:]):
            out = _BINARY[op](out, self.ev(operand))
        return out

    def ev_compare(self, node: _Compare) -> Any:
        out: Any = True
        left = self.ev(node.operands[0])
        for k, (op, operand) in enumerate(zip(node.ops, node.operands[1:])):
            right = self.ev(operand)
            side = node.letters[k]
            # NumPy's == on str arrays is elementwise, as on numbers; the
            # ufuncs np.equal & co. only take strings from NumPy 2 on.
            if side is not None:
                words, named = self.letters(left if side == 0 else right)
                other = right if side == 0 else left
                same = words == other
                test = (same & named) if op == "==" else (~same | ~named)
            elif node.operands[k].kind == "str":
                test = (left == right) if op == "==" else (left != right)
            else:
                test = _BINARY[op](left, right)
            out = np.logical_and(out, test)
            left = right
        return out

    def ev_call(self, node: _Call) -> Any:
        f = node.func
        if f == "delta":
            return self.delta(node.args[0])
        if len(node.args) > 1:
            pick = np.maximum if f == "max" else np.minimum
            out = self.ev(node.args[0])
            for a in node.args[1:]:
                out = pick(out, self.ev(a))
            return out
        return _FUNCTIONS[f](self.ev(node.args[0]))

    def ev_index(self, node: _Index) -> Any:
        if node.at is not None:
            return self.ev_index_at(node, node.at)
        sel = self.bd.select[id(node)]
        target = node.target
        if isinstance(target, _Name):
            # Read just the selected units of the recorded array.
            return self.source(target.name, sel)
        return self.ev(target)[:, sel]


    def ev_index_at(self, node: _Index, at: _Node) -> np.ndarray:
        """``v[expr]``: at each step the element the index names; NaN
        (false for true/false values) where it names none."""
        rows = self.b - self.a
        width = self.bd.width[id(node.target)]
        assert width is not None  # the parser only lets vectors be indexed
        values = np.broadcast_to(np.asarray(self.ev(node.target)), (rows, width))
        k = np.broadcast_to(np.asarray(self.ev(at), np.float64), (rows, 1))[:, 0]
        ok = np.isfinite(k) & (k == np.floor(k)) & (k >= -width) & (k < width)
        picked = values[np.arange(rows), np.where(ok, k, 0).astype(np.int64) % width]
        missing = False if node.kind == "bool" else np.nan
        return np.where(ok, picked, missing)[:, None]


def _argreduce(f: Callable[..., np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda v: f(v, axis=1)[:, None].astype(np.float64)


_FUNCTIONS: dict[str, Callable[[np.ndarray], Any]] = {
    "abs": np.abs,
    "isnan": np.isnan,
    "isinf": np.isinf,
    "max": lambda v: np.max(v, axis=1, keepdims=True),
    "min": lambda v: np.min(v, axis=1, keepdims=True),
    "mean": lambda v: np.mean(v, axis=1, keepdims=True),
    "sum": lambda v: np.sum(v, axis=1, keepdims=True),
    "std": lambda v: np.std(v, axis=1, keepdims=True),
    "norm": lambda v: np.sqrt(np.sum(v * v, axis=1, keepdims=True)),
    "argmax": _argreduce(np.argmax),
    "argmin": _argreduce(np.argmin),
    "any": lambda v: np.any(v, axis=1, keepdims=True),
    "all": lambda v: np.all(v, axis=1, keepdims=True),
    "count": lambda v: np.sum(v, axis=1, keepdims=True, dtype=np.int64).astype(np.float64),
}

_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "**": np.power,
    "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
    "==": np.equal, "!=": np.not_equal,
    "and": np.logical_and, "or": np.logical_or,
}

_EVAL: dict[type, Callable[[_Block, Any], Any]] = {
    _Const: _Block.ev_const, _Name: _Block.ev_name, _Unary: _Block.ev_unary,
    _Binary: _Block.ev_binary, _Compare: _Block.ev_compare, _Call: _Block.ev_call,
    _Index: _Block.ev_index,
}


def _run(binding: _Binding, node: _Node, out: np.ndarray, top: bool) -> None:
    # Evaluating holds about one block-sized value per level of the tree:
    # deep trees get smaller blocks.
    width = binding.max_width * max(1, node.depth // 8)
    with np.errstate(all="ignore"):
        for a, b in blocks(binding.T, width, BLOCK_ELEMENTS, binding.check):
            block = _Block(binding, a, b)
            try:
                if top:
                    out[a:b] = block.top(node)
                else:
                    out[a:b] = np.broadcast_to(np.asarray(block.ev(node), np.float64), (b - a, 1))[:, 0]
            finally:
                block.release()
            if top and binding.progress is not None:
                binding.progress(b, binding.T)


# --------------------------------------------------------------------------
# The public API
# --------------------------------------------------------------------------


def _children(node: _Node) -> list[_Node]:
    if isinstance(node, _Unary):
        return [node.operand]
    if isinstance(node, (_Binary, _Compare)):
        return node.operands
    if isinstance(node, _Call):
        return node.args
    if isinstance(node, _Index):
        return [node.target] if node.at is None else [node.target, node.at]
    return []


def _walk(node: _Node) -> Iterator[_Node]:
    """Every node of the tree, parents first, left to right (without
    recursion)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(_children(n)))


@dataclass(frozen=True, eq=False)
class Condition:
    """A parsed condition; ``evaluate`` tells at which steps of a trace it
    holds. Parsing checks syntax, names and types, so a ``Condition`` that
    exists can only fail on a trace it does not fit (sizes, no readout)."""

    source: str
    root: _Node = field(repr=False)
    #: the names the condition mentions (``{"f", "p_prev"}`` ...)
    names: frozenset[str] = field(repr=False)

    def __eq__(self, other: object) -> bool:
        # Same text, same condition: lets a screen key its cached hits by it.
        return isinstance(other, Condition) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    @classmethod
    def parse(cls, source: str) -> Condition:
        try:
            root = _Parser(source).parse()
        except RecursionError:  # MAX_DEPTH keeps far from it; a last line of defence
            raise ConditionError(TOO_DEEP, source, 1) from None
        if root.vector:
            if root.kind == "bool":
                why = Message("condition gives a vector; wrap it in any(...) or all(...)")
            else:
                why = Message("condition gives a vector of numbers; compare it and wrap it in any(...) or all(...), "
                              "or reduce it first, e.g. max(...) > 1")
            raise ConditionError(why, source, root.col)
        if root.kind == "num":
            raise ConditionError(Message("condition gives a number, not true/false; compare it, e.g. {example} > 0.5",
                                         example=source[root.start:root.end]), source, root.col)
        if root.kind == "str":
            raise ConditionError(Message("condition gives a string, not true/false; compare it, e.g. token == 'a'"),
                                 source, root.col)
        names = frozenset(n.name for n in _walk(root) if isinstance(n, _Name))
        return cls(source, root, names)

    def text(self, node: _Node) -> str:
        return self.source[node.start:node.end]

    def check(self, trace: Trace, layer: int = 0) -> None:
        """Raise ``ConditionError`` if the condition does not fit ``layer`` of
        ``trace`` (an index out of range, vectors of different sizes, no
        readout), without evaluating it."""
        self._bind(trace, layer)

    def _bind(self, trace: Trace, layer: int) -> _Binding:
        try:
            return _Binding(self, trace, layer)
        except RecursionError:  # the tree is at most MAX_DEPTH deep: not expected
            raise ConditionError(TOO_DEEP, self.source, 1) from None

    def _run(self, binding: _Binding, node: _Node, out: np.ndarray, top: bool) -> None:
        try:
            _run(binding, node, out, top)
        except RecursionError:
            raise ConditionError(TOO_DEEP, self.source, 1) from None

    def evaluate(self, trace: Trace, layer: int = 0, check: Callable[[], None] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """(T,) bool: whether the condition holds at each step. ``check`` is
        called before each block of steps is read; raise from it to stop.
        ``progress`` is called after each block with (steps done, T): a
        screen scanning a long trace in a thread says how far it got."""
        binding = self._bind(trace, layer)
        binding.check = check
        binding.progress = progress
        out = np.empty(binding.T, dtype=bool)
        self._run(binding, self.root, out, top=True)
        if "p_prev" in self.names:
            out[0] = False  # there is no readout before step 0
        return out

    def bare_text(self, node: _Node) -> str:
        a, b = node.bare or (node.start, node.end)
        return self.source[a:b]

    def _terms(self) -> dict[str, _Node]:
        out: dict[str, _Node] = {}

        def visit(node: _Node) -> None:
            if isinstance(node, _Compare):
                for n in node.operands:
                    mentions = {m.name for m in _walk(n) if isinstance(m, _Name)} - {"t", "T"}
                    if n.kind == "num" and not n.vector and mentions:
                        out.setdefault(self.bare_text(n), n)
            elif isinstance(node, _Binary) and node.kind == "bool":
                for n in node.operands:
                    visit(n)
            elif isinstance(node, _Unary) and node.op == "not":
                visit(node.operand)

        visit(self.root)
        return out

    def terms(self) -> list[str]:
        """The values worth showing beside a hit: the numeric operands of
        the condition's comparisons that depend on the step (``f[7]``,
        ``max(abs(c))``, ``argmax(p_prev)``), as written, without
        repetitions. Not ``t`` itself, nor anything inside a function call."""
        return list(self._terms())

    def values(self, trace: Trace, layer: int = 0) -> dict[str, np.ndarray]:
        """Each of ``terms()`` evaluated at every step: text -> (T,) float
        (NaN where it mentions ``p_prev`` at step 0)."""
        binding = self._bind(trace, layer)
        result = {}
        for text, node in self._terms().items():
            out = np.empty(binding.T, dtype=np.float64)
            self._run(binding, node, out, top=False)
            if any(isinstance(m, _Name) and m.name == "p_prev" for m in _walk(node)):
                out[0] = np.nan
            result[text] = out
        return result

    def reads_vocabulary(self, term: str) -> bool:
        """Whether ``term`` (one of ``terms()``) is an index into the
        readout's vocabulary: ``argmax`` or ``argmin`` of ``p`` or ``p_prev``,
        or an index compared with a letter. ``find`` shows it as the entry
        it names."""
        node = self._terms().get(term)
        if node is None:
            return False
        if isinstance(node, _Call) and node.func in ("argmax", "argmin"):
            (arg,) = node.args
            if isinstance(arg, _Name) and arg.name in ("p", "p_prev"):
                return True
        return any(n.operands[k + side] is node for n in _walk(self.root) if isinstance(n, _Compare)
                   for k, side in enumerate(n.letters) if side is not None)

    def is_integer(self, term: str) -> bool:
        """Whether ``term`` (one of ``terms()``) only takes whole values (a
        count, an argmax, a step): for display."""
        node = self._terms().get(term)
        return bool(node is not None and node.integer)


def find(trace: Trace, source: str | Condition, layer: int = 0) -> np.ndarray:
    """The steps (ascending ints) where the condition holds."""
    cond = source if isinstance(source, Condition) else Condition.parse(source)
    return np.flatnonzero(cond.evaluate(trace, layer))


def next_hit(hits: np.ndarray, t: int, backwards: bool = False) -> int | None:
    """The first step after ``t`` (before ``t`` when ``backwards``) where the
    condition holds, or None. ``hits`` is either ``evaluate()``'s (T,) bool
    array or ``find()``'s ascending steps. ``t`` may lie outside 0…T-1:
    ``next_hit(hits, -1)`` is the first hit."""
    hits = np.asarray(hits)
    if hits.dtype == bool:
        if backwards:
            before = np.flatnonzero(hits[: max(0, t)])
            return int(before[-1]) if len(before) else None
        after = np.flatnonzero(hits[max(0, t + 1):])
        return int(after[0]) + max(0, t + 1) if len(after) else None
    if backwards:
        k = int(np.searchsorted(hits, t, side="left"))
        return int(hits[k - 1]) if k > 0 else None
    k = int(np.searchsorted(hits, t, side="right"))
    return int(hits[k]) if k < len(hits) else None
