"""Breakpoint conditions: parsing, errors with their columns, vectorised
evaluation against a per-step reference written with plain Python loops."""

from __future__ import annotations

import math
import statistics
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import random_trace

import lstm_tui.debug.conditions as conditions
from lstm_tui.core.lstm import VECTORS
from lstm_tui.core.trace import Layer, Trace, load, save
from lstm_tui.debug.conditions import Condition, ConditionError, find, next_hit

# --------------------------------------------------------------------------
# The six examples, on a trace made by hand so the answers are known
# --------------------------------------------------------------------------


def crafted() -> Trace:
    T, H, D = 6, 12, 2
    f = np.full((T, H), 0.5)
    f[1, 7], f[3, 7], f[5, 7] = 0.01, 0.04, 0.05  # f[7] < 0.05 at 1 and 3 (0.05 is not < 0.05)
    f[0, :11] = 0.995  # 11 units above 0.99 at step 0
    f[2, :10] = 1.0    # only 10 at step 2
    c = np.zeros((T, H))
    c[0, 1] = 5.0      # not > 5
    c[2, 0] = -6.0
    c[5, 3] = 5.5
    c[4, 2] = np.nan   # the only NaN; max(abs(c)) is NaN there, so false
    z = np.zeros((T, H))
    layer = Layer(x=np.zeros((T, D)), f=f, i=z + 0.5, c_hat=z.copy(), c=c, o=z + 0.5, h=z.copy(),
                  h0=np.zeros(H), c0=np.zeros(H), name="crafted")
    probs = np.full((T, 3), 0.1)
    for t, best in enumerate([0, 0, 1, 1, 2, 0]):
        probs[t, best] = 0.8
    return Trace(layers=[layer], tokens=np.array(list("aqbqcd")), probs=probs, vocab=np.array(list("xyz")))


@pytest.mark.parametrize("source, steps", [
    ("nan", [4]),
    ("f[7] < 0.05", [1, 3]),
    ("max(abs(c)) > 5", [2, 5]),
    ("count(f > 0.99) > 10", [0]),
    ("token == 'q'", [1, 3]),
    ("argmax(p) != argmax(p_prev)", [2, 4, 5]),
])
def test_the_six_examples(source, steps):
    assert find(crafted(), source).tolist() == steps


def test_examples_survive_save_and_memory_mapped_load(tmp_path):
    tr = load(save(crafted(), tmp_path / "crafted.npz"))
    assert find(tr, "f[7] < 0.05").tolist() == [1, 3]
    assert find(tr, "nan or token == 'd'").tolist() == [4, 5]


# --------------------------------------------------------------------------
# Evaluation against a per-step reference
# --------------------------------------------------------------------------


def step_values(tr: Trace, k: int, t: int) -> SimpleNamespace:
    """Everything a condition can name at step t, as Python floats/lists."""
    layer = tr.layers[k]
    s = SimpleNamespace(t=t, T=tr.steps)
    for v in VECTORS:
        setattr(s, v, [float(a) for a in layer.vector(v)[t]])
    s.h_prev = [float(a) for a in (layer.h[t - 1] if t else layer.h0)]
    s.c_prev = [float(a) for a in (layer.c[t - 1] if t else layer.c0)]
    pos = tr.steps - 1 - t if layer.reversed else t
    s.token = "" if tr.tokens is None else str(tr.tokens[pos])
    later = tr.steps - 2 - t if layer.reversed else t + 1  # the position the next step reads
    s.next = "" if tr.tokens is None or t == tr.steps - 1 else str(tr.tokens[later])
    s.f_prev = [float(a) for a in layer.f[t - 1]] if t else None
    s.vocab = None if tr.vocab is None else [str(v) for v in tr.vocab]
    if tr.probs is not None:
        s.p = [float(a) for a in tr.probs[t]]
        s.p_prev = [float(a) for a in tr.probs[t - 1]] if t else None
    return s


def first_index(values, best):
    for k, v in enumerate(values):
        if v == best:
            return k
    raise AssertionError


def mean(v):
    return sum(v) / len(v)


# (condition, the same test written as a loop over plain Python numbers)
REFERENCE = [
    ("f[2] < 0.5", lambda s: s.f[2] < 0.5),
    ("h[-1] > h_prev[-1]", lambda s: s.h[-1] > s.h_prev[-1]),
    ("c[0] - c_prev[0] > 0.05", lambda s: s.c[0] - s.c_prev[0] > 0.05),
    ("max(abs(c)) > 0.3", lambda s: max(abs(v) for v in s.c) > 0.3),
    ("min(c_hat) < -0.4", lambda s: min(s.c_hat) < -0.4),
    ("count(f > 0.5) >= 2", lambda s: sum(1 for v in s.f if v > 0.5) >= 2),
    ("mean(h) > 0", lambda s: mean(s.h) > 0),
    ("sum(i) > 2.5", lambda s: sum(s.i) > 2.5),
    ("std(o) < 0.15", lambda s: statistics.pstdev(s.o) < 0.15),
    ("norm(h) > 0.25", lambda s: math.sqrt(sum(v * v for v in s.h)) > 0.25),
    ("argmax(h) == 1", lambda s: first_index(s.h, max(s.h)) == 1),
    ("argmin(c) >= 2", lambda s: first_index(s.c, min(s.c)) >= 2),
    ("any(f > 0.8) or all(i < 0.5)", lambda s: any(v > 0.8 for v in s.f) or all(v < 0.5 for v in s.i)),
    ("not any(h < 0)", lambda s: not any(v < 0 for v in s.h)),
    ("0.3 < f[0] < 0.6", lambda s: 0.3 < s.f[0] < 0.6),
    ("0.3 < f[0] <= f[1] < 0.9", lambda s: 0.3 < s.f[0] <= s.f[1] < 0.9),
    ("x[0] * 2 + 1 > h[1] / 0.5", lambda s: s.x[0] * 2 + 1 > s.h[1] / 0.5),
    ("f[1] ** 2 > 0.25", lambda s: s.f[1] ** 2 > 0.25),
    ("-h[0] > 0", lambda s: -s.h[0] > 0),
    ("+h[0] >= 0", lambda s: s.h[0] >= 0),
    ("max(h[0:2]) > min(h[2:])", lambda s: max(s.h[0:2]) > min(s.h[2:])),
    ("max(h[:-1]) < h[-1]", lambda s: max(s.h[:-1]) < s.h[-1]),
    ("max(f[0], i[0], o[0]) > 0.6", lambda s: max(s.f[0], s.i[0], s.o[0]) > 0.6),
    ("any(min(f, i) > 0.45)", lambda s: any(min(a, b) > 0.45 for a, b in zip(s.f, s.i))),
    ("any(max(f, 0.6) == f)", lambda s: any(max(a, 0.6) == a for a in s.f)),
    ("any(abs(x) > h[0] + 1)", lambda s: any(abs(v) > s.h[0] + 1 for v in s.x)),
    ("all(o * c_hat < 0.3)", lambda s: all(a * b < 0.3 for a, b in zip(s.o, s.c_hat))),
    ("count(f > i and o > 0.5) == 1", lambda s: sum(1 for a, b, c in zip(s.f, s.i, s.o) if a > b and c > 0.5) == 1),
    ("count(not (h > 0)) == 2", lambda s: sum(1 for v in s.h if not v > 0) == 2),
    ("any((f > 0.5) == (i > 0.5))", lambda s: any((a > 0.5) == (b > 0.5) for a, b in zip(s.f, s.i))),
    ("any((f > 0.5) != (i > 0.5))", lambda s: any((a > 0.5) != (b > 0.5) for a, b in zip(s.f, s.i))),
    ("h[0:3][-1] == h[2]", lambda s: True),
    ("(h[1] - h[0]) * (h[2] - h[3]) > 0", lambda s: (s.h[1] - s.h[0]) * (s.h[2] - s.h[3]) > 0),
    ("t >= 2 and t < T - 1", lambda s: s.t >= 2 and s.t < s.T - 1),
    ("t == 1 or t == 3 and f[0] > 2", lambda s: s.t == 1 or (s.t == 3 and s.f[0] > 2)),
    ("not t == 0", lambda s: s.t != 0),
    ("token == 'w3' or token == \"w1\"", lambda s: s.token in ("w3", "w1")),
    ("token != 'w0'", lambda s: s.token != "w0"),
    ("p[0] > 0.3", lambda s: s.p[0] > 0.3),
    ("argmax(p) != argmax(p_prev)",
     lambda s: s.p_prev is not None and first_index(s.p, max(s.p)) != first_index(s.p_prev, max(s.p_prev))),
    ("max(p) - max(p_prev) > 0.05", lambda s: s.p_prev is not None and max(s.p) - max(s.p_prev) > 0.05),
    ("not argmax(p_prev) == 0", lambda s: s.p_prev is not None and first_index(s.p_prev, max(s.p_prev)) != 0),
    ("any(isnan(c)) or any(isinf(h))", lambda s: False),
    ("nan", lambda s: False),
    # Letters of the vocabulary (a, b, c), the next token, computed indices, delta.
    ("argmax(p) == 'b'", lambda s: s.vocab[first_index(s.p, max(s.p))] == "b"),
    ("argmax(p) != 'a' and 'c' != argmax(p)", lambda s: s.vocab[first_index(s.p, max(s.p))] == "b"),
    ("argmax(p_prev) == 'c'", lambda s: s.p_prev is not None and s.vocab[first_index(s.p_prev, max(s.p_prev))] == "c"),
    ("next == 'w3' or next == 'w5'", lambda s: s.next in ("w3", "w5")),
    ("next == ''", lambda s: s.next == ""),
    ("p[argmax(p)] > 0.5", lambda s: s.p[first_index(s.p, max(s.p))] > 0.5),
    ("h[argmax(abs(c))] > 0", lambda s: s.h[first_index([abs(v) for v in s.c], max(abs(v) for v in s.c))] > 0),
    ("h[t - 2] > 0", lambda s: -len(s.h) <= s.t - 2 < len(s.h) and s.h[s.t - 2] > 0),
    ("x[t / 2] > 0", lambda s: s.t % 2 == 0 and s.t // 2 < len(s.x) and s.x[s.t // 2] > 0),
    ("max(abs(delta(c))) > 0.3", lambda s: max(abs(a - b) for a, b in zip(s.c, s.c_prev)) > 0.3),
    ("delta(h[1]) > 0", lambda s: s.h[1] - s.h_prev[1] > 0),
    ("delta(f[0]) < 0", lambda s: s.f_prev is not None and s.f[0] - s.f_prev[0] < 0),
    ("delta(max(p)) > 0", lambda s: s.p_prev is not None and max(s.p) - max(s.p_prev) > 0),
]


def traces_for_reference():
    yield "float64", random_trace(seed=1, T=9, H=5, D=3, readout=True), 0
    yield "float32 layer 1", random_trace(seed=2, T=7, H=5, D=3, layers=2, dtype=np.float32, readout=True), 1
    rev = random_trace(seed=3, T=8, H=5, D=5, readout=True)
    rev.layers[0].reversed = True
    yield "reversed", rev, 0


@pytest.mark.parametrize("source, ref", REFERENCE, ids=[c for c, _ in REFERENCE])
def test_evaluation_matches_a_per_step_loop(source, ref):
    cond = Condition.parse(source)
    for label, tr, k in traces_for_reference():
        expected = [bool(ref(step_values(tr, k, t))) for t in range(tr.steps)]
        assert cond.evaluate(tr, k).tolist() == expected, label


def test_reference_conditions_are_not_all_trivial():
    """Most reference cases hold at some steps and fail at others."""
    tr, k = next(traces_for_reference())[1:]
    mixed = sum(0 < Condition.parse(c).evaluate(tr, k).sum() < tr.steps for c, _ in REFERENCE)
    assert mixed >= len(REFERENCE) * 0.6


@pytest.mark.parametrize("source", [c for c, _ in REFERENCE])
def test_block_by_block_evaluation_gives_the_same_answer(monkeypatch, source):
    """Blocks of one or two rows: h_prev, p_prev and t cross the block edges."""
    cond = Condition.parse(source)
    tr = random_trace(seed=5, T=11, H=5, D=3, readout=True)
    whole, whole_values = cond.evaluate(tr), cond.values(tr)
    monkeypatch.setattr(conditions, "BLOCK_ELEMENTS", 7)
    assert cond.evaluate(tr).tolist() == whole.tolist()
    blocked = cond.values(tr)
    assert blocked.keys() == whole_values.keys()
    for k in blocked:
        np.testing.assert_array_equal(blocked[k], whole_values[k])


def test_block_edges_with_prev_values(monkeypatch):
    tr = random_trace(seed=6, T=10, H=3, readout=True)
    monkeypatch.setattr(conditions, "BLOCK_ELEMENTS", 3)  # one row per block
    h, c = tr.layers[0].h, tr.layers[0].c
    got = Condition.parse("h_prev[1] == h_prev[1]").evaluate(tr)
    assert got.all()
    vals = Condition.parse("h_prev[1] + c_prev[2] > -100").values(tr)["h_prev[1] + c_prev[2]"]
    assert vals.tolist() == pytest.approx([0.0] + (h[:-1, 1] + c[:-1, 2]).tolist())


def test_arithmetic_precedence_and_constants():
    tr = random_trace(T=2)
    for source in ["-2**2 == -4", "2**-1 == 0.5", "2**3**2 == 512", "1 + 2 * 3 == 7", "(1 + 2) * 3 == 9",
                   "10 - 4 - 3 == 3", "8 / 4 / 2 == 1", "1/0 == inf", "-1/0 == -inf", "1e-3 == 0.001",
                   ".5 == 0.5", "5. == 5", "2E2 == 200", "not 1 > 2", "1 < 2 < 3", "not 1 < 3 < 2"]:
        assert Condition.parse(source).evaluate(tr).tolist() == [True, True], source
    assert Condition.parse("1 > 2 or 2 > 3").evaluate(tr).tolist() == [False, False]


def test_string_literals_and_escapes():
    tr = random_trace(T=4)
    tr.tokens = np.array(["it's", 'say "hi"', "a\\b", "q"])
    assert find(tr, "token == 'it\\'s'").tolist() == [0]
    assert find(tr, 'token == "say \\"hi\\""').tolist() == [1]
    assert find(tr, "token == 'a\\\\b'").tolist() == [2]
    assert find(tr, "token == \"q\" or token == 'nothing'").tolist() == [3]
    assert find(tr, "'a' == 'a' and token != 'q'").tolist() == [0, 1, 2]


def test_token_is_empty_without_tokens_and_follows_a_reversed_layer():
    tr = random_trace(T=4, tokens=False)
    assert find(tr, "token == ''").tolist() == [0, 1, 2, 3]
    tr = random_trace(T=4)
    tr.layers[0].reversed = True  # step t read position 3 - t
    assert find(tr, "token == 'w0'").tolist() == [3]
    assert find(tr, "token == 'w3'").tolist() == [0]


# --------------------------------------------------------------------------
# NaN and infinity
# --------------------------------------------------------------------------


def test_nan_keyword_covers_every_vector_and_infinity():
    tr = random_trace(T=8, H=3, D=2)
    layer = tr.layers[0]
    layer.x[1, 0] = np.nan
    layer.o[3, 2] = np.inf
    layer.h[6, 1] = -np.inf
    assert find(tr, "nan").tolist() == [1, 3, 6]
    assert find(tr, "not nan").tolist() == [0, 2, 4, 5, 7]
    assert find(tr, "any(isnan(x))").tolist() == [1]
    assert find(tr, "any(isinf(o)) or any(isinf(h))").tolist() == [3, 6]
    assert find(tr, "h[1] == -inf").tolist() == [6]


def test_comparisons_with_nan_are_false_except_not_equal():
    tr = random_trace(T=3, H=2)
    tr.layers[0].c[1, 0] = np.nan
    for op in ("<", "<=", ">", ">=", "=="):
        assert 1 not in find(tr, f"c[0] {op} 0").tolist(), op
    assert 1 in find(tr, "c[0] != 0").tolist()
    # a reduction over a vector holding NaN is NaN
    assert 1 not in find(tr, "max(c) > -100").tolist()
    assert 1 in find(tr, "max(c[1:]) > -100").tolist()


def test_p_prev_makes_step_0_false_even_under_not():
    tr = random_trace(T=5, readout=True)
    assert not Condition.parse("not (argmax(p) == argmax(p_prev))").evaluate(tr)[0]
    assert not Condition.parse("p_prev[0] != p_prev[0] or t == 0").evaluate(tr)[0]
    values = Condition.parse("max(p_prev) < 2").values(tr)["max(p_prev)"]
    assert np.isnan(values[0]) and values[1] == pytest.approx(tr.probs[0].max())


def test_float16_values_do_not_overflow():
    tr = random_trace(T=3, H=2, dtype=np.float16)
    tr.layers[0].c[1, 0] = 300  # 300² = 90000 > the largest float16
    assert find(tr, "c[0] * c[0] > 70000").tolist() == [1]
    assert find(tr, "norm(c) > 299").tolist() == [1]


def test_division_by_zero_is_infinite_not_an_error():
    tr = random_trace(T=3, H=2)
    tr.layers[0].h[:, 0] = [0.0, 1.0, -1.0]
    assert find(tr, "1 / h[0] == inf").tolist() == [0]
    assert find(tr, "h[0] / 0 == -inf").tolist() == [2]


# --------------------------------------------------------------------------
# Reading only what the condition mentions
# --------------------------------------------------------------------------


class Spy(np.ndarray):
    """An array that records how it is indexed."""

    keys: list = []

    def __getitem__(self, key):
        Spy.keys.append(key)
        return np.asarray(self).__getitem__(key)


def test_indexing_reads_only_the_unit_not_the_whole_array():
    tr = random_trace(T=6, H=5)
    tr.layers[0].f = tr.layers[0].f.view(Spy)
    Spy.keys = []
    Condition.parse("f[3] < 0.5 and f[-1] > 0.1").evaluate(tr)
    assert Spy.keys == [(slice(0, 6), slice(3, 4)), (slice(0, 6), slice(4, 5))]
    Spy.keys = []
    Condition.parse("f[3] < 0.5 and f[3] > 0.1").evaluate(tr)
    assert len(Spy.keys) == 1  # read once, reused


def test_memory_mapped_trace_is_not_modified(tmp_path):
    path = save(random_trace(T=6, H=3, readout=True), tmp_path / "t.npz")
    tr = load(path)
    before = path.read_bytes()
    assert find(tr, "any(h_prev > 0) or argmax(p) != argmax(p_prev)").size > 0
    assert path.read_bytes() == before


# --------------------------------------------------------------------------
# Errors: syntax, with columns
# --------------------------------------------------------------------------

SYNTAX_ERRORS = [
    ("f[7 < 0.05", 4, "expected ']', found '<'"),
    ("f[7<0.05", 4, "expected ']', found '<'"),
    ("", 1, "empty condition"),
    ("   ", 1, "empty condition"),
    ("f[7] <", 7, "the condition ends too early: expected a value"),
    ("f[7] < < 3", 8, "expected a value, found '<'"),
    ("f[7] > 1)", 9, "unmatched ')'"),
    ("(f[7] > 1", 10, "expected ')' to close the '(' at column 1, found the end of the condition"),
    ("max(c > 1", 10, "expected ')' to close max( at column 4"),
    ("f[1] > 2 3", 10, "expected an operator or the end of the condition, found '3'"),
    ("f[1] = 2", 6, "unexpected character '=': use '==' to compare"),
    ("f[1] > 2 && t > 1", 10, "unexpected character '&': use 'and'"),
    ("!nan", 1, "unexpected character '!': use 'not'"),
    ("f[1] > 2 $", 10, "unexpected character '$'"),
    ("token == 'abc", 10, "string has no closing '"),
    ('token == "abc', 10, 'string has no closing "'),
    ("1.2.3 > 0", 1, "malformed number '1.2.3'"),
    ("f[1] > 1e", 8, "malformed number '1e'"),
    ("f[1] > 2x", 8, "malformed number '2x'"),
    ("foo > 1", 1, "unknown name 'foo'; names are x, f, i, c_hat, c, o, h, h_prev, c_prev"),
    ("F[1] > 1", 1, "unknown name 'F' (did you mean 'f'?)"),
    ("c_hatt[0] > 1", 1, "unknown name 'c_hatt' (did you mean 'c_hat'?)"),
    ("maxx(c) > 1", 1, "unknown function 'maxx' (did you mean 'max'?); functions are abs, all, any"),
    ("f(1) > 0", 2, "f is not a function; index it with f[...]"),
    ("t(1) > 0", 2, "t is not a function"),
    ("(f)(1) > 0", 4, "(f) is not a function"),
    ("max > 2", 1, "max is a function: write max(...)"),
    ("max() > 1", 5, "max() needs an argument"),
    ("abs(c, h) > 1", 8, "abs() takes one argument, not 2"),
    ("f[] > 1", 3, "expected an index (a whole number), found ']'"),
    ("f[1.5] > 1", 3, "an index must be a whole number, not 1.5"),
    ("f[x] > 1", 3, "an index must be one number per step; 'x' is a vector"),
    ("f[-x] > 1", 3, "an index must be one number per step; '-x' is a vector"),
    ("f[token] > 1", 3, "an index must be a number, not a string"),
    ("f[t:3] > 1", 3, "slice bounds are whole numbers, not expressions"),
    ("f[argmax(p) > 1", 12, "expected ']' to close the '[' at column 2, found '>'"),
    ("delta(token) > 1", 7, "delta() needs a number, not a string"),
    ("delta(f > 0) > 1", 7, "delta() needs a number, not a vector of true/false"),
    ("delta(c, h) > 1", 10, "delta() takes one argument, not 2"),
    ("delta > 1", 1, "delta is a function: write delta(...)"),
    ("next(1) > 1", 5, "next is not a function"),
    ("argmax(p) < 'd'", 11, "'<' cannot order letters; compare an index with a letter using == or !="),
    ("p[0] == 'd'", 6, "'p[0]' is not an index (a whole number per step): only an index, such as argmax(p)"),
    ("max(p) != next", 8, "'max(p)' is not an index"),
    ("token == 3", 7, "cannot compare a string with a number"),
    ("-3 == 'd'", 4, "cannot compare a number with a string"),
    ("f[1:2:3][0] > 1", 6, "expected ']', found ':'"),
    ("t[0] > 1", 2, "'t' is one value per step, not a vector: it cannot be indexed"),
    ("f[0][0] > 1", 5, "'f[0]' is one value per step, not a vector"),
    ("and", 1, "expected a value, found 'and'"),
    ("f[0] > 1 and", 13, "the condition ends too early"),
]


@pytest.mark.parametrize("source, column, message", SYNTAX_ERRORS, ids=[s or "empty" for s, _, _ in SYNTAX_ERRORS])
def test_syntax_errors_point_at_the_column(source, column, message):
    with pytest.raises(ConditionError) as e:
        Condition.parse(source)
    assert e.value.column == column
    assert message in e.value.message
    assert str(e.value) == f"column {column}: {e.value.message}"
    assert e.value.source == source
    assert "\n" not in str(e.value)


TYPE_ERRORS = [
    ("f > 0.5", 1, "condition gives a vector; wrap it in any(...) or all(...)"),
    ("(f > 0.5) or nan", 1, "condition gives a vector; wrap it in any(...) or all(...)"),
    ("abs(c)", 1, "condition gives a vector of numbers"),
    ("f[7]", 1, "condition gives a number, not true/false; compare it, e.g. f[7] > 0.5"),
    ("token", 1, "condition gives a string"),
    ("f[1] + (f[2] > 0)", 6, "'+' needs numbers, not true/false (count(...) counts true values)"),
    ("token + 1 > 0", 7, "'+' needs numbers, not a string"),
    ("-nan", 1, "unary '-' needs a number, not true/false"),
    ("not f[0]", 1, "'not' needs true/false, not a number"),
    ("f[0] and nan", 6, "'and' needs true/false on both sides, not a number"),
    ("nan or h", 5, "'or' needs true/false on both sides, not a vector of numbers"),
    ("c[0] == nan", 6, "cannot compare a number with true/false; 'nan' alone is true"),
    ("token == 1", 7, "cannot compare a string with a number"),
    ("token < 'a'", 7, "'<' compares numbers; a string can only be tested with == or !="),
    ("nan < nan", 5, "'<' compares numbers; true/false can only be tested with == or !="),
    ("0 < token < 'a'", 3, "cannot compare a number with a string"),
    ("max(f > 0) > 1", 5, "max() needs a number, not a vector of true/false"),
    ("any(f) ", 5, "any() needs true/false values, not a vector of numbers"),
    ("count(f[1] > 0) > 0", 7, "count() needs a vector; 'f[1] > 0' is one value per step"),
    ("argmax(h[0]) > 1", 8, "argmax() needs a vector; 'h[0]' is one value per step"),
    ("max(f, token) > 1", 8, "max() needs a number, not a string"),
    ("abs(nan)", 5, "abs() needs a number, not true/false"),
]


@pytest.mark.parametrize("source, column, message", TYPE_ERRORS, ids=[s for s, _, _ in TYPE_ERRORS])
def test_type_errors_are_found_when_parsing(source, column, message):
    with pytest.raises(ConditionError) as e:
        Condition.parse(source)
    assert (e.value.column, message in e.value.message) == (column, True), e.value.message


def test_pointer_puts_a_caret_under_the_column():
    with pytest.raises(ConditionError) as e:
        Condition.parse("f[7 < 0.05")
    assert e.value.pointer() == "f[7 < 0.05\n   ^"
    with pytest.raises(ConditionError) as e:
        Condition.parse("f[7] <")
    assert e.value.pointer() == "f[7] <\n      ^"  # one past the end
    with pytest.raises(ConditionError) as e:
        Condition.parse("\tf[1] ? 2")
    assert e.value.pointer() == "\tf[1] ? 2\n\t     ^"  # a tab stays a tab


def test_condition_error_is_a_value_error():
    assert issubclass(ConditionError, ValueError)


# --------------------------------------------------------------------------
# Errors: binding to a trace
# --------------------------------------------------------------------------

BIND_ERRORS = [
    ("f[4] < 0.5", 3, "index 4 is out of range: f has 4 values (0…3, or -4…-1 from the end)"),
    ("f[-5] < 0.5", 3, "index -5 is out of range: f has 4 values"),
    ("x[3] > 0", 3, "index 3 is out of range: x has 3 values (0…2"),
    ("abs(h)[9] > 0", 8, "index 9 is out of range: abs(h) has 4 values"),
    ("max(h[0:9]) > 0", 7, "slice bound 9 is out of range: h has 4 values"),
    ("max(h[3:1]) > 0", 7, "the slice h[3:1] is empty"),
    ("h[1:3][2] > 0", 8, "index 2 is out of range: h[1:3] has 2 values (0…1"),
    ("any(x > h)", 7, "vectors of different sizes: x has 3 values, h has 4"),
    ("any(x + h > 0)", 7, "vectors of different sizes: x has 3 values, h has 4"),
    ("any(max(x, h) > 0)", 5, "vectors of different sizes"),
    ("any(0 < x < h)", 11, "vectors of different sizes: x has 3 values, h has 4"),
    ("p[0] > 0.5", 1, "p: this trace has no readout (no readout/probs member)"),
    ("t > 0 and argmax(p_prev) == 1", 18, "p_prev: this trace has no readout"),
]


@pytest.mark.parametrize("source, column, message", BIND_ERRORS, ids=[s for s, _, _ in BIND_ERRORS])
def test_bind_errors_name_the_index_and_the_size(source, column, message):
    cond = Condition.parse(source)  # parses: the sizes come from the trace
    tr = random_trace(T=3, D=3, H=4)
    for check in (cond.evaluate, cond.check, cond.values):
        with pytest.raises(ConditionError) as e:
            check(tr)
        assert (e.value.column, message in e.value.message) == (column, True), e.value.message


def test_readout_of_other_size_and_x_of_same_size_bind():
    tr = random_trace(T=3, D=4, H=4, readout=True)  # V = 3
    assert Condition.parse("any(x > h)").evaluate(tr).dtype == bool
    with pytest.raises(ConditionError, match="p has 3 values, h has 4"):
        Condition.parse("any(p > h)").evaluate(tr)


def test_layer_out_of_range():
    with pytest.raises(ValueError, match=r"no layer 2 \(the trace has 1\)"):
        Condition.parse("nan").evaluate(random_trace(), layer=2)


def test_the_layer_argument_picks_the_vectors():
    tr = random_trace(T=6, H=3, layers=2)
    for k in (0, 1):
        expected = np.flatnonzero(tr.layers[k].h[:, 0] > 0).tolist()
        assert find(tr, "h[0] > 0", layer=k).tolist() == expected


# --------------------------------------------------------------------------
# The API around evaluation
# --------------------------------------------------------------------------


def test_parse_keeps_source_and_names():
    cond = Condition.parse("argmax(p) != argmax(p_prev) and f[1] > 0")
    assert cond.source == "argmax(p) != argmax(p_prev) and f[1] > 0"
    assert cond.names == {"p", "p_prev", "f"}
    assert repr(cond) == "Condition(source='argmax(p) != argmax(p_prev) and f[1] > 0')"


def test_conditions_with_the_same_text_are_equal():
    assert Condition.parse("f[1] > 0") == Condition.parse("f[1] > 0")
    assert Condition.parse("f[1] > 0") != Condition.parse("f[1] >= 0")
    assert len({Condition.parse("nan"), Condition.parse("nan")}) == 1


def test_absurd_nesting_is_an_error_not_a_crash():
    with pytest.raises(ConditionError, match="nested too deeply"):
        Condition.parse("(" * 5000 + "nan" + ")" * 5000)
    assert Condition.parse("(" * 50 + "nan" + ")" * 50).evaluate(random_trace(T=2)).tolist() == [False, False]


def test_find_accepts_a_condition_or_text():
    tr = crafted()
    assert find(tr, Condition.parse("token == 'q'")).tolist() == [1, 3]
    assert find(tr, "token == 'q'").dtype.kind == "i"


def test_terms_and_values():
    tr = crafted()
    cond = Condition.parse("f[7] < 0.05 and (max(abs(c)) > 5 or count(f > 0.99) > t) and token == 'q' and t > 0")
    assert cond.terms() == ["f[7]", "max(abs(c))", "count(f > 0.99)"]
    values = cond.values(tr)
    assert values["f[7]"].tolist() == [0.995, 0.01, 1.0, 0.04, 0.5, 0.05]
    assert values["count(f > 0.99)"].tolist() == [11, 0, 10, 0, 0, 0]
    assert values["max(abs(c))"][2] == 6.0 and np.isnan(values["max(abs(c))"][4])
    assert [cond.is_integer(term) for term in cond.terms()] == [False, False, True]
    assert Condition.parse("not ((f[1] + f[2]) > 1)").terms() == ["f[1] + f[2]"]
    assert Condition.parse("argmax(p) != argmax(p_prev)").terms() == ["argmax(p)", "argmax(p_prev)"]
    assert Condition.parse("nan").terms() == []
    assert Condition.parse("f[1] > f[1] - 1").terms() == ["f[1]", "f[1] - 1"]


@pytest.mark.parametrize("hits", [
    np.array([False, True, False, False, True, True, False]),
    np.array([1, 4, 5]),
], ids=["bool", "steps"])
def test_next_hit_forwards_and_backwards(hits):
    assert next_hit(hits, 0) == 1
    assert next_hit(hits, 1) == 4
    assert next_hit(hits, 4) == 5
    assert next_hit(hits, 5) is None
    assert next_hit(hits, -1) == 1
    assert next_hit(hits, 5, backwards=True) == 4
    assert next_hit(hits, 4, backwards=True) == 1
    assert next_hit(hits, 1, backwards=True) is None
    assert next_hit(hits, 7, backwards=True) == 5
    assert next_hit(hits, 100, backwards=True) == 5


def test_next_hit_with_no_hits():
    assert next_hit(np.zeros(5, bool), 0) is None
    assert next_hit(np.zeros(5, bool), 4, backwards=True) is None
    assert next_hit(np.array([], dtype=np.int64), 0) is None


# --------------------------------------------------------------------------
# Hostile conditions: long chains, deep nesting, foreign digits, huge text.
# Whatever is pasted into the breakpoint dialog ends in a result or in one
# ConditionError with a column, never in a RecursionError.
# --------------------------------------------------------------------------


def chain_trace() -> Trace:
    return random_trace(seed=8, T=40, H=4, readout=True)


@pytest.mark.parametrize("n", [500, 5000])
@pytest.mark.parametrize("chain, short", [
    (lambda n: " or ".join(["nan"] * n), "nan"),
    (lambda n: " or ".join(["f[0] > 0.9"] * (n - 1) + ["h[1] > 0"]), "f[0] > 0.9 or h[1] > 0"),
    (lambda n: " and ".join(["f[0] < 2"] * (n - 1) + ["h[1] > 0"]), "h[1] > 0"),
    (lambda n: " + ".join(["f[0]"] * n) + " > 0.5 * " + str(n), "f[0] > 0.5"),
    (lambda n: "h[1]" + " + c[2] - c[2]" * (n // 2) + " > 0", "h[1] > 0"),
    (lambda n: "f[0] * " + " * ".join(["1"] * n) + " / " + " / ".join(["1"] * n) + " > 0.5", "f[0] > 0.5"),
    (lambda n: " <= ".join(["-1"] + ["f[1]"] * (n - 2) + ["0.5"]), "-1 <= f[1] <= 0.5"),
    (lambda n: " <= ".join(["f[1]"] * n), "f[1] == f[1]"),
    (lambda n: "max(" + ", ".join(["f[1]"] * (n - 1) + ["f[2]"]) + ") > 0.5", "max(f[1], f[2]) > 0.5"),
    (lambda n: "any(" + " + ".join(["h"] * n) + f" > {n / 4})", "any(h > 0.25)"),
], ids=["or-nan", "or", "and", "plus", "plus-minus", "times-divide", "compare", "compare-equal", "max", "vectors"])
def test_long_chains_of_one_operator(n, chain, short):
    tr = chain_trace()
    source = chain(n)
    expected = Condition.parse(short).evaluate(tr)
    assert 0 < expected.sum() < tr.steps or short == "nan" or short == "f[1] == f[1]"
    cond = Condition.parse(source)
    assert cond.evaluate(tr).tolist() == expected.tolist()
    assert find(tr, cond).tolist() == np.flatnonzero(expected).tolist()
    cond.values(tr)  # the terms beside a hit
    cond.check(tr)


def test_a_long_chain_is_one_flat_node():
    cond = Condition.parse(" or ".join(["nan"] * 5000))
    assert cond.root.depth == 2 and len(cond.root.operands) == 5000
    cond = Condition.parse(" + ".join(["f[0]"] * 5000) + " > 1")
    assert cond.root.depth == 4  # compare > chain > index > name


def test_long_chains_evaluate_in_bounded_memory():
    """Two values at a time, never one per operand: 5000 operands over 2000
    steps would be 80 MB as a list."""
    tr = random_trace(seed=8, T=2000, H=4)
    for source in [" < ".join(["f[1]"] * 5000), " + ".join(["f[0]"] * 5000) + " > 1",
                   "max(" + ", ".join(["f[1]"] * 5000) + ") > 0.5", " or ".join(["f[0] > 0.5"] * 5000)]:
        cond = Condition.parse(source)
        tracemalloc.start()
        try:
            cond.evaluate(tr)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 4 << 20, (source[:30], peak)


def test_the_block_cache_is_bounded(monkeypatch):
    """Many different slices of one vector: cached up to CACHE_BYTES, then
    read each time; the answer is the same."""
    tr = random_trace(seed=8, T=50, H=6)
    source = " or ".join(f"any(h[{a}:{b}] > 0.6)" for a in range(6) for b in range(a + 1, 7))
    whole = Condition.parse(source).evaluate(tr)
    monkeypatch.setattr(conditions, "CACHE_BYTES", 1000)
    assert Condition.parse(source).evaluate(tr).tolist() == whole.tolist()


DEEP = {
    "parentheses": "(" * 1000 + "nan" + ")" * 1000,
    "unary minus": "- " * 1000 + "f[0] > 0",
    "unary plus": "+" * 1000 + "f[0] > 0",
    "not": "not " * 1000 + "nan",
    "power": " ** ".join(["f[0]"] * 1000) + " > 0",
    "indexing": "any(h" + "[0:4]" * 1000 + " > 0)",
    "calls": "abs(" * 1000 + "f[0]" + ")" * 1000 + " > 0",
    "mixed": "(f[0] + " * 1000 + "1" + ")" * 1000 + " > 0",
    "precedence ladders": "(" * 95 + "nan or not f[0] < -f[1] ** 2" + ")" * 95,
}


@pytest.mark.parametrize("source", DEEP.values(), ids=DEEP.keys())
def test_deep_nesting_is_an_error_with_a_column(source):
    with pytest.raises(ConditionError) as e:
        Condition.parse(source)
    assert "nested too deeply" in e.value.message and str(conditions.MAX_DEPTH) in e.value.message
    assert 1 <= e.value.column <= len(source)
    assert "\n" not in str(e.value)


def test_deep_nesting_within_the_limit_is_fine_even_on_a_deep_stack():
    tr = chain_trace()
    sources = ["(" * 90 + "nan" + ")" * 90, "- " * 90 + "f[0] < 0", "not " * 90 + "nan",
               "abs(" * 90 + "f[0]" + ")" * 90 + " > 0", " ** ".join(["f[0]"] * 60) + " > 0"]

    def deep(k):  # as if called from deep inside an application
        return deep(k - 1) if k else [Condition.parse(s).evaluate(tr) for s in sources]

    results = deep(300)
    assert results[0].sum() == 0
    assert results[1].tolist() == Condition.parse("f[0] < 0").evaluate(tr).tolist()
    assert results[2].tolist() == [False] * tr.steps


def test_nesting_limit_column_points_into_the_nesting():
    with pytest.raises(ConditionError) as e:
        Condition.parse("(" * 1000 + "nan" + ")" * 1000)
    assert e.value.column == conditions.MAX_DEPTH + 1  # the first '(' too many


@pytest.mark.parametrize("source, column, message", [
    ("f[١] > 0", 3, "unexpected character '١': numbers and indices are written with the digits 0-9"),
    ("f[0] < ١", 8, "unexpected character '١'"),
    ("f[0] < 1١", 8, "malformed number '1١'; digits are 0-9"),
    ("f[0] < ٠.5", 8, "unexpected character '٠'"),
    ("f[٣:٤][0] > 0", 3, "unexpected character '٣'"),
    ("f[-١] > 0", 4, "unexpected character '١'"),
    ("f[５] > 0", 3, "unexpected character '５'"),
    ("f[0] < ²", 8, "unexpected character '²'"),
    ("f[0] < 1e١", 8, "malformed number '1e١'"),
    ("f[" + "9" * 5000 + "] > 0", 3, "is too large"),
    ("f[0] < 9" + "9" * 99_990, None, None),
])
def test_only_ascii_digits_make_numbers_and_indices(source, column, message):
    if column is None:  # a long number within MAX_LENGTH is just a large number
        assert Condition.parse(source).evaluate(chain_trace()).all()
        return
    with pytest.raises(ConditionError) as e:
        Condition.parse(source)
    assert e.value.column == column
    assert message in e.value.message
    assert len(str(e.value)) < 200


def test_the_longest_condition_accepted():
    ok = " or ".join(["nan"] * 14_000)
    assert len(ok) <= conditions.MAX_LENGTH
    Condition.parse(ok)
    too_long = ok + " or nan" * 10_000
    with pytest.raises(ConditionError) as e:
        Condition.parse(too_long)
    assert e.value.column == conditions.MAX_LENGTH + 1
    assert f"at most {conditions.MAX_LENGTH}" in e.value.message


@pytest.mark.parametrize("source", [
    "(" + " or ".join(["nan"] * 5000) + ")(1)",
    "x" * 50_000 + " > 0",
    "token == '" + "a" * 50_000 + "' 3",
    "(" + " + ".join(["t"] * 5000) + ")[0] > 1",
    "max(" + " + ".join(["t"] * 5000) + ") > 1",
])
def test_messages_quote_long_text_short(source):
    with pytest.raises(ConditionError) as e:
        Condition.parse(source)
    assert len(str(e.value)) < 400, str(e.value)[:500]


def test_mismatched_sizes_in_a_long_chain_name_the_operator():
    tr = random_trace(T=5, H=4, D=3)
    source = " + ".join(["h"] * 300) + " + x > 0"
    with pytest.raises(ConditionError) as e:
        Condition.parse(f"any({source})").check(tr)
    assert e.value.column == len("any(") + source.index(" + x") + 2
    assert "vectors of different sizes" in e.value.message and "has 4 values, x has 3" in e.value.message
    assert len(str(e.value)) < 300


# --------------------------------------------------------------------------
# Scans hand back the pages of a mapped trace as they go
# --------------------------------------------------------------------------


def test_every_block_hands_back_what_it_read(monkeypatch):
    tr = random_trace(seed=2, T=23, H=3, readout=True)
    for v in VECTORS:  # each its own buffer, so that a view tells which it is of
        setattr(tr.layers[0], v, np.ascontiguousarray(tr.layers[0].vector(v)))
    arrays = {**{v: tr.layers[0].vector(v) for v in VECTORS}, "probs": tr.probs, "tokens": tr.tokens}
    released: dict[str, set[int]] = {k: set() for k in arrays}

    def spy(view):
        lo, hi = np.lib.array_utils.byte_bounds(view)
        for k, a in arrays.items():
            a_lo, a_hi = np.lib.array_utils.byte_bounds(a)
            if a_lo <= lo < a_hi:
                row = a.strides[0]
                released[k].update(range((lo - a_lo) // row, (hi - a_lo) // row))

    monkeypatch.setattr(conditions, "release_pages", spy)
    monkeypatch.setattr(conditions, "BLOCK_ELEMENTS", 7)  # several blocks
    Condition.parse("nan or f[1] > 2").evaluate(tr)
    assert all(released[v] == set(range(23)) for v in VECTORS), released
    for k in released:
        released[k].clear()
    Condition.parse("argmax(p_prev) == 1 and h_prev[0] > 0 and token != 'x'").evaluate(tr)
    assert released["probs"] == released["h"] == released["tokens"] == set(range(23))
    assert released["f"] == set()
    for reverse in (False, True):
        tr.layers[0].reversed = reverse
        for k in released:
            released[k].clear()
        # next reads every position but the first one read; delta one row before each block's.
        Condition.parse("next != 'x' and delta(c[0]) > 0 and p[argmax(p)] > 0").evaluate(tr)
        assert released["tokens"] == (set(range(22)) if reverse else set(range(1, 23)))
        assert released["c"] == released["probs"] == set(range(23))


def mapped_rss(path: Path) -> int:
    """Bytes of ``path`` resident in this process, from /proc/self/smaps."""
    total, inside = 0, False
    with open("/proc/self/smaps") as fp:
        for line in fp:
            head = line.split()
            if head and "-" in head[0] and len(head) >= 5 and ":" in head[3]:
                inside = line.rstrip().endswith(str(path))
            elif inside and line.startswith("Rss:"):
                total += int(line.split()[1]) * 1024
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs /proc/self/smaps")
def test_a_scan_of_a_mapped_trace_does_not_stay_resident(tmp_path):
    T, H = 30_000, 64
    rng = np.random.default_rng(0)
    a = lambda: rng.random((T, H), dtype=np.float32)  # noqa: E731
    layer = Layer(x=a(), f=a(), i=a(), c_hat=a(), c=a(), o=a(), h=a(), h0=np.zeros(H, np.float32),
                  c0=np.zeros(H, np.float32), name="big")
    path = save(Trace([layer]), tmp_path / "big.npz")
    size = path.stat().st_size
    tr = load(path)
    assert mapped_rss(path) < size // 8
    assert find(tr, "nan").size == 0
    assert find(tr, "max(abs(c)) > 0.99 or f[3] < 0.01").size > 0
    Condition.parse("max(abs(c)) > 0.99").values(tr)
    assert mapped_rss(path) < size // 8, (mapped_rss(path), size)


# --------------------------------------------------------------------------
# The trace's language: letters, next, computed indices, delta (against NumPy)
# --------------------------------------------------------------------------


def lettered_trace(seed: int = 11, T: int = 23, reversed_: bool = False) -> Trace:
    """A random trace whose tokens are letters of its readout's vocabulary
    (not a–z: a model of its own), so ``argmax(p) == next`` can hold."""
    tr = random_trace(seed=seed, T=T, H=6, D=4, readout=True)
    rng = np.random.default_rng(seed)
    tr.vocab = np.array(["x", "y", "z"])
    tr.tokens = tr.vocab[rng.integers(0, 3, size=T)]
    tr.layers[0].reversed = reversed_
    return tr


@pytest.mark.parametrize("block", [None, 7, 13])  # whole; one row a block; two rows a block
def test_letters_and_next_against_numpy(monkeypatch, block):
    if block is not None:
        monkeypatch.setattr(conditions, "BLOCK_ELEMENTS", block)
    tr = lettered_trace()
    best = tr.vocab[np.argmax(tr.probs, axis=1)]
    nxt = np.append(tr.tokens[1:], "")
    assert find(tr, "argmax(p) == 'y'").tolist() == np.flatnonzero(best == "y").tolist()
    assert find(tr, "argmax(p) != 'y'").tolist() == np.flatnonzero(best != "y").tolist()
    assert find(tr, "argmax(p) == next").tolist() == np.flatnonzero(best == nxt).tolist()
    assert find(tr, "next == argmax(p)").tolist() == np.flatnonzero(best == nxt).tolist()
    hit_before = np.flatnonzero(np.append(False, best[:-1] == tr.tokens[1:]))  # predicted the one read now
    assert find(tr, "argmax(p_prev) == token").tolist() == hit_before.tolist()
    assert find(tr, "next == 'z'").tolist() == np.flatnonzero(nxt == "z").tolist()
    assert find(tr, "next == ''").tolist() == [tr.steps - 1]
    # A chain mixes a letter test with a numeric one.
    top = np.max(tr.probs, axis=1)
    assert find(tr, "0.4 < p[argmax(p)] and argmax(p) == 'x'").tolist() == \
        np.flatnonzero((top > 0.4) & (best == "x")).tolist()


def test_next_on_a_reversed_layer_is_what_it_reads_next():
    tr = lettered_trace(reversed_=True)
    T = tr.steps
    read = tr.tokens[::-1]  # step t of a reversed layer reads position T-1-t
    nxt = np.append(read[1:], "")
    assert find(tr, "next == 'x'").tolist() == np.flatnonzero(nxt == "x").tolist()
    assert find(tr, "next == token").tolist() == np.flatnonzero(nxt == read).tolist()
    assert find(tr, "next == ''").tolist() == [T - 1]


def test_next_without_tokens_is_empty():
    tr = random_trace(T=4, tokens=False)
    assert find(tr, "next == ''").tolist() == [0, 1, 2, 3]


def test_an_index_outside_the_vocabulary_names_no_letter():
    tr = lettered_trace(T=6)
    # t is 0…5; the vocabulary has 3 entries: t names a letter at 0, 1, 2 only.
    assert find(tr, "t == 'z'").tolist() == [2]
    assert find(tr, "t != 'z'").tolist() == [0, 1, 3, 4, 5]
    assert find(tr, "t - 1 == 'x'").tolist() == [1]  # -1 names nothing (no counting from the end)
    with pytest.raises(ConditionError, match="'t / 2' is not an index"):  # not whole numbers
        Condition.parse("t / 2 == 'y'")


def test_words_in_the_vocabulary():
    tr = lettered_trace(T=8)
    tr.vocab = np.array(["the", "cat", "sat"])
    best = tr.vocab[np.argmax(tr.probs, axis=1)]
    assert find(tr, "argmax(p) == 'cat'").tolist() == np.flatnonzero(best == "cat").tolist()


@pytest.mark.parametrize("block", [None, 7])
def test_computed_indices_against_numpy(monkeypatch, block):
    if block is not None:
        monkeypatch.setattr(conditions, "BLOCK_ELEMENTS", block)
    tr = lettered_trace()
    lay, T = tr.layers[0], tr.steps
    rows = np.arange(T)
    values = Condition.parse("p[argmax(p)] > 0 and h[argmax(abs(c))] > -9 and h[t - 3] > -9 and x[t / 2] > -9"
                             ).values(tr)
    np.testing.assert_array_equal(values["p[argmax(p)]"], np.max(tr.probs, axis=1))
    np.testing.assert_array_equal(values["h[argmax(abs(c))]"], lay.h[rows, np.argmax(np.abs(lay.c), axis=1)])
    H, D = lay.units, lay.input_dim
    k = rows - 3  # -3 … T-4: from the end while negative, NaN from H on
    expect = np.where(k < H, lay.h[rows, np.clip(k, -H, H - 1) % H], np.nan)
    np.testing.assert_array_equal(values["h[t - 3]"], expect)
    half = rows / 2
    whole = (half == np.floor(half)) & (half < D)
    expect = np.where(whole, lay.x[rows, np.where(whole, half, 0).astype(int)], np.nan)
    np.testing.assert_array_equal(values["x[t / 2]"], expect)
    # Where the index names no unit the value is NaN: false, and != true.
    assert find(tr, "h[t - 3] == h[t - 3]").tolist() == np.flatnonzero(k < H).tolist()
    assert find(tr, "h[t - 3] != h[t - 3]").tolist() == np.flatnonzero(k >= H).tolist()
    # True/false values indexed: false where the index names no unit.
    pos = lay.h > 0
    got = find(tr, "(h > 0)[t]").tolist()
    assert got == [t for t in range(min(T, H)) if pos[t, t]]


@pytest.mark.parametrize("block", [None, 7, 13, 25])
def test_delta_against_numpy_across_block_edges(monkeypatch, block):
    if block is not None:
        monkeypatch.setattr(conditions, "BLOCK_ELEMENTS", block)
    tr = lettered_trace()
    lay = tr.layers[0]
    c = np.vstack([lay.c0[None], lay.c])  # the state before step 0, then every step
    h = np.vstack([lay.h0[None], lay.h])
    dc, dh = np.diff(c, axis=0), np.diff(h, axis=0)
    nan_row = np.full(1, np.nan)
    cond = Condition.parse("delta(c[2]) > -9 and delta(max(abs(h))) > -9 and delta(f[1]) > -9 and "
                           "delta(p[0]) > -9 and delta(delta(c[1])) > -9 and delta(t * c[0]) > -9 "
                           "and max(abs(delta(c))) > -9")
    got = cond.values(tr)
    np.testing.assert_array_equal(got["delta(c[2])"], dc[:, 2])
    np.testing.assert_array_equal(got["delta(max(abs(h)))"], np.diff(np.max(np.abs(h), axis=1)))
    np.testing.assert_array_equal(got["delta(f[1])"], np.concatenate([nan_row, np.diff(lay.f[:, 1])]))
    np.testing.assert_array_equal(got["delta(p[0])"], np.concatenate([nan_row, np.diff(tr.probs[:, 0])]))
    # delta of a delta has no value before step 0 (it would need c at step -2).
    np.testing.assert_array_equal(got["delta(delta(c[1]))"], np.concatenate([nan_row, np.diff(dc[:, 1])]))
    steps = np.arange(-1, tr.steps)  # t is -1 before step 0
    np.testing.assert_array_equal(got["delta(t * c[0])"], np.diff(steps * c[:, 0]))
    np.testing.assert_array_equal(got["max(abs(delta(c)))"], np.max(np.abs(dc), axis=1))
    # delta(h) is h - h_prev at every step, step 0 included.
    assert cond.evaluate(tr).tolist() == [False] + [True] * (tr.steps - 1)  # delta(f[1]) is NaN at 0
    assert find(tr, "all(delta(h) == h - h_prev) and all(delta(c) == c - c_prev)").tolist() == \
        list(range(tr.steps))
    assert find(tr, "max(abs(delta(h))) > 0.4").tolist() == np.flatnonzero(np.max(np.abs(dh), axis=1) > 0.4).tolist()


def test_delta_reads_one_row_more_of_a_mapped_trace(tmp_path):
    tr = load(save(lettered_trace(), tmp_path / "t.npz"))
    lay = tr.layers[0]
    expect = np.flatnonzero(np.diff(np.vstack([lay.c0[None], lay.c])[:, 3]) > 0)
    assert find(tr, "delta(c[3]) > 0").tolist() == expect.tolist()


LANGUAGE_BIND_ERRORS = [
    ("argmax(p) == 'D'", 14, "'D' is not in the vocabulary (xyz)"),
    ("t == 'a' or argmax(p) == 'w'", 6, "'a' is not in the vocabulary (xyz)"),
    ("'q' != argmax(p_prev)", 1, "'q' is not in the vocabulary (xyz)"),
]


@pytest.mark.parametrize("source, column, message", LANGUAGE_BIND_ERRORS)
def test_a_letter_outside_the_vocabulary_is_an_error_with_its_column(source, column, message):
    cond = Condition.parse(source)  # parses: the vocabulary is the trace's
    with pytest.raises(ConditionError) as e:
        cond.check(lettered_trace())
    assert (e.value.column, e.value.message) == (column, message)


def test_letters_need_a_vocabulary():
    tr = random_trace(T=4)  # no readout, no vocabulary
    for source, column, what in [("t == 'd'", 6, "'d'"), ("argmax(h) == next", 14, "next")]:
        with pytest.raises(ConditionError) as e:
            Condition.parse(source).check(tr)
        assert e.value.column == column
        assert e.value.message == (f"{what} is compared with an index, which reads the trace's vocabulary; "
                                   "this trace has none (no readout/vocab member)")


def test_the_vocabulary_is_named_short():
    from lstm_tui.debug.conditions import vocabulary_label

    assert vocabulary_label(list("abcdefghijklmnopqrstuvwxyz")) == "a–z"
    assert vocabulary_label(list("xyz")) == "xyz"
    assert vocabulary_label(["the", "cat"]) == "the cat"
    assert len(vocabulary_label([f"w{k}" for k in range(100)])) == 40
    tr = lettered_trace()
    tr.vocab = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    with pytest.raises(ConditionError, match=r"'D' is not in the vocabulary \(a–z\)"):
        Condition.parse("argmax(p) == 'D'").check(tr)
