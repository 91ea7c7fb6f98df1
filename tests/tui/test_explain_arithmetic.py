"""The explain pane's arithmetic as written: parsed back from the text, the
numbers on screen add up (the rule of ``core.shown``).

Every sum the pane writes — a gate's three terms, each gate's two sums term
by term, an expanded gate's products, kept + written — either adds up
exactly in decimal arithmetic on the written numbers and is written "=", or
is written "≈" and misses by no more than half a unit in the last place of
each term (what rounding the terms can do). Every product written "=" is
the product of its written factors, rounded.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from conftest import random_trace

from lstm_tui.core.lstm import GATES
from lstm_tui.core.shown import last_place
from lstm_tui.tui.explain import explanation_lines, fitted_lines

NUMBER = r"\(?(-?[\d.]+(?:e[+-]\d+)?|NaN|[+-]Inf)\)?"
GATE = re.compile(rf"^\S+ = \S+\((?:W\S*|Wx) {NUMBER} \+ (?:U\S*|Uh) {NUMBER} \+ b\S* {NUMBER}\) ([=≈]) "
                  rf"\S+\({NUMBER}\)")
TERMS = re.compile(rf"^(?:W_\w·x_t|U_\w·h_\{{t-1\}}) = (.*) ([=≈]) {NUMBER}(?:   .*)?$")
KEPT = re.compile(rf"([=≈]) {NUMBER} \S+ \+ {NUMBER} \S+ ([=≈]) {NUMBER}")
PRODUCT = re.compile(rf"^\s+j=\d+\s+{NUMBER} ×\s+{NUMBER} ([=≈])\s+{NUMBER}")
MORE = re.compile(rf"^\s+\+ \d+ \S+\s+{NUMBER}$")
SIGMA = re.compile(rf"^\s+Σ \S+ ([=≈]) {NUMBER}$")


def check_sum(terms: list[str], relation: str, total: str, line: str) -> None:
    """The rule for one written sum."""
    if any(t in ("NaN", "+Inf", "-Inf") for t in [*terms, total]):
        return
    written = sum((Decimal(t) for t in terms), Decimal(0))
    if relation == "=":
        assert written == Decimal(total), line
    else:
        assert written != Decimal(total), line
        slack = sum((last_place(t) for t in terms), Decimal(0)) / 2
        assert abs(written - Decimal(total)) <= slack, line


def check_product(a: str, b: str, relation: str, product: str, line: str) -> None:
    exact = Decimal(a) * Decimal(b)
    holds = abs(exact - Decimal(product)) * 2 <= last_place(product)
    assert holds == (relation == "="), line


def check_text(lines: list[str]) -> dict[str, int]:
    """Check every sum and product in the pane's lines; how many of each."""
    seen = {"gate": 0, "terms": 0, "kept": 0, "product": 0, "sigma": 0, "≈": 0}
    block: list[str] = []
    for line in lines:
        if m := GATE.match(line):
            check_sum([m[1], m[2], m[3]], m[4], m[5], line)
            seen["gate"] += 1
        elif m := TERMS.match(line):
            values = [piece.rsplit(" ", 1)[1].strip("()") for piece in m[1].split(" + ")]
            check_sum(values, m[2], m[3], line)
            seen["terms"] += 1
        elif m := KEPT.search(line):
            check_sum([m[2], m[3]], m[4], m[5], line)
            seen["kept"] += 1
        elif m := PRODUCT.match(line):
            check_product(m[1], m[2], m[3], m[4], line)
            block.append(m[4])
            seen["product"] += 1
        elif m := MORE.match(line):
            block.append(m[1])
        elif m := SIGMA.match(line):
            check_sum(block, m[1], m[2], line)
            block = []
            seen["sigma"] += 1
        elif line.lstrip().startswith(("W_", "U_")) and "[" in line and "×" in line:
            block = []  # an expanded sum's header
        seen["≈"] += "≈" in line
    return seen


def unwrapped(content) -> str:
    """A line as one row: a term list wrapped onto rows joined back."""
    return re.sub(r"\n +", " ", content.plain)


@pytest.mark.parametrize("D,H", [(4, 2), (3, 6), (12, 10), (5, 70)])
def test_written_terms_add_up_for_every_gate_and_unit(D, H):
    counts = {"gate": 0, "terms": 0, "kept": 0, "product": 0, "sigma": 0, "≈": 0}
    for seed in range(3):
        trace = random_trace(seed=seed, T=4, D=D, H=H)
        layer = trace.layers[0]
        for t in range(layer.steps):
            for unit in range(H):
                e = layer.explain(t, unit)
                for width, expanded in ((1000, GATES[(t + unit) % 4]), (76, None)):
                    content = explanation_lines(e, layer, trace, width, expanded=expanded, formulas=True)
                    lines = [unwrapped(c) for c in content]
                    seen = check_text([row for line in lines for row in line.split("\n")])
                    for k, v in seen.items():
                        counts[k] += v
                    # The note that explains ≈ is there exactly when one is.
                    note = any(line.startswith("≈ ") for line in lines)
                    assert note == any("≈" in line for line in lines[:-1] if not line.startswith("≈ "))
                    assert seen["gate"] == 4 and seen["terms"] == 8 and seen["kept"] == 1
    # Each kind of sum was met, and ≈ too (the rule was exercised both ways).
    assert all(counts[k] for k in ("gate", "terms", "kept", "sigma", "≈")), counts
    assert counts["product"] >= counts["sigma"]


def test_a_long_sum_is_its_largest_terms_and_the_rest():
    """D = 12 > 8: the three largest input terms and "9 more" with their sum."""
    trace = random_trace(seed=4, T=2, D=12, H=3)
    layer = trace.layers[0]
    e = layer.explain(1, 0)
    lines = [unwrapped(c) for c in fitted_lines(e, layer, trace, 1000)]
    line = next(line for line in lines if line.startswith("W_f·x_t = "))
    assert line.count("x[") == 3 and "9 more" in line
    terms = e.gates["f"].x_terms
    top = [int(j) for j in terms.by_size()[:3]]
    assert [int(j) for j in re.findall(r"x\[(\d+)\]", line)] == top
