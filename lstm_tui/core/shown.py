"""Arithmetic as the screen writes it: do the rounded numbers on screen
still add up?

The explain pane writes every number to 4 decimals. Rounded terms do not
always add up to the rounded sum (``-1.0705 + -0.0710 + 0.0000`` is
``-1.1415``, while the sum of the unrounded terms is ``-1.1414``), and a
student checking the screen with a calculator must not find a slip. The
pane's rule: every number shown is the true value rounded, the same
wherever it appears; where the numbers *as written* do not give the
result *as written*, the step is written with ≈ instead of = (and a note
says why). These functions decide which, in exact decimal arithmetic on
the written numbers, so a test can check the screen's own text.

A written number that is not finite (``NaN``, ``+Inf``) has no decimal
arithmetic to check: the step keeps its "=", and the number its warning
colour.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

import numpy as np

from .lstm import GATE_WIDE, activation


def decimal(text: str) -> Decimal | None:
    """A written number as an exact decimal; None when it is not a finite
    number (``NaN``, ``+Inf``, anything else)."""
    try:
        d = Decimal(text.strip().replace("−", "-"))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def last_place(text: str) -> Decimal:
    """The unit in the last place of a written number: ``0.0001`` for
    ``-1.0705``, ``100`` for ``1.235e+05``."""
    d = decimal(text)
    if d is None:
        return Decimal(0)
    return Decimal(1).scaleb(d.as_tuple().exponent)  # type: ignore[arg-type]


def adds_up(terms: Sequence[str], total: str) -> bool:
    """Whether the written ``terms`` add up exactly to the written
    ``total``. True when any of them is not a finite number."""
    values = [decimal(t) for t in terms]
    whole = decimal(total)
    if whole is None:
        return True
    exact = Decimal(0)
    for v in values:
        if v is None:
            return True
        exact += v
    return exact == whole


def multiplies_to(a: str, b: str, product: str) -> bool:
    """Whether the written ``product`` is ``a × b`` (as written) rounded to
    its own last place: ``0.2421 × (-0.0355) = -0.0086`` holds, since the
    exact product is -0.00859455."""
    x, y, p = decimal(a), decimal(b), decimal(product)
    if x is None or y is None or p is None:
        return True
    return abs(x * y - p) * 2 <= last_place(product)


def maps_to(name: str, argument: str, value: str) -> bool:
    """Whether the activation ``name`` at the written ``argument`` gives the
    written ``value`` to its last place: ``σ(-1.1414) = 0.2421``. An
    activation that spans a gate (softmax) cannot be checked from one unit's
    argument: True."""
    z, v = decimal(argument), decimal(value)
    if z is None or v is None or name in GATE_WIDE:
        return True
    with np.errstate(all="ignore"):
        exact = float(activation(name)(np.array([float(z)]))[0])
    if not np.isfinite(exact):
        return False
    # The activation's own float64 rounding is far below the last place.
    return abs(Decimal(exact) - v) * 2 <= last_place(value) * (1 + Decimal("1e-9"))
