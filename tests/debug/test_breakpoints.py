"""Breakpoints with cached hits, continuing to the next/previous stop, and
token search: the model behind the screen's b, c, C, / n N keys."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_trace

from lstm_tui.core.trace import Layer, Trace
from lstm_tui.debug.breakpoints import (
    Breakpoint,
    HitCache,
    SearchError,
    Stop,
    parse_query,
    token_matches,
)
from lstm_tui.debug.conditions import Condition, ConditionError


def crafted() -> Trace:
    """f[1] is low at steps 2, 5 and 8; h[0] is high at 5 and 9."""
    T, H = 10, 3
    f = np.full((T, H), 0.5)
    f[[2, 5, 8], 1] = 0.01
    h = np.zeros((T, H))
    h[[5, 9], 0] = 0.9
    z = np.zeros((T, H))
    layer = Layer(x=np.zeros((T, 2)), f=f, i=z + 0.5, c_hat=z.copy(), c=z.copy(), o=z + 0.5, h=h,
                  h0=np.zeros(H), c0=np.zeros(H), name="crafted")
    back = Layer(x=np.zeros((T, 2)), f=f.copy(), i=z + 0.5, c_hat=z.copy(), c=z.copy(), o=z + 0.5,
                 h=z.copy(), h0=np.zeros(H), c0=np.zeros(H), name="back", reversed=True)
    return Trace(layers=[layer, back], tokens=np.array(["the", "a", "cat", "sat", "on", "the",
                                                        "mat", "The", " ", "end"]))


def bp(source: str, enabled: bool = True) -> Breakpoint:
    return Breakpoint(Condition.parse(source), enabled)


def test_hits_and_counts():
    cache = HitCache(crafted())
    low = Condition.parse("f[1] < 0.05")
    assert np.flatnonzero(cache.hits(low, 0)).tolist() == [2, 5, 8]
    assert cache.count(low, 0) == 3
    assert cache.error(low, 0) is None


def test_each_condition_and_layer_is_evaluated_once(monkeypatch):
    cache = HitCache(crafted())
    calls = []
    real = Condition.evaluate

    def counting(self, trace, layer=0, **kwargs):
        calls.append((self.source, layer))
        return real(self, trace, layer, **kwargs)

    monkeypatch.setattr(Condition, "evaluate", counting)
    bps = [bp("f[1] < 0.05"), bp("h[0] > 0.5")]
    for t in range(10):
        cache.stop(bps, 0, t)
        cache.stop(bps, 0, t, backwards=True)
        cache.any(bps, 0)
    cache.count(Condition.parse("f[1] < 0.05"), 1)  # same text: same cache entry per layer
    assert sorted(calls) == [("f[1] < 0.05", 0), ("f[1] < 0.05", 1), ("h[0] > 0.5", 0)]
    with pytest.raises(ValueError):
        cache.hits(low := Condition.parse("f[1] < 0.05"), 0).__setitem__(0, True)  # read-only
    assert not cache.hits(low, 0)[0]


def test_stop_forwards_backwards_and_at_the_ends():
    cache = HitCache(crafted())
    bps = [bp("f[1] < 0.05"), bp("h[0] > 0.5")]
    assert cache.stop(bps, 0, 0) == Stop(step=2, index=0, hit=1, hits=3, also=0)
    # both hold at 5: the first in the list is named, the other counted
    assert cache.stop(bps, 0, 2) == Stop(step=5, index=0, hit=2, hits=3, also=1)
    assert cache.stop(bps, 0, 8) == Stop(step=9, index=1, hit=2, hits=2, also=0)
    assert cache.stop(bps, 0, 9) is None  # no wrap-around
    assert cache.stop(bps, 0, 9, backwards=True) == Stop(step=8, index=0, hit=3, hits=3, also=0)
    assert cache.stop(bps, 0, 2, backwards=True) is None
    # the step itself is never a stop: c from a hit moves on
    assert cache.stop(bps, 0, 5).step == 8


def test_disabled_breakpoints_do_not_stop():
    cache = HitCache(crafted())
    bps = [bp("f[1] < 0.05", enabled=False), bp("h[0] > 0.5")]
    assert cache.stop(bps, 0, 0) == Stop(step=5, index=1, hit=1, hits=2, also=0)
    assert np.flatnonzero(cache.any(bps, 0)).tolist() == [5, 9]
    assert cache.stop([bps[0]], 0, 0) is None
    assert bps[0].toggled().enabled and not bps[1].toggled().enabled


def test_a_condition_that_does_not_fit_a_layer_is_an_error_not_a_hit():
    cache = HitCache(crafted())
    wide = Condition.parse("f[5] < 0.05")
    err = cache.error(wide, 0)
    assert isinstance(err, ConditionError) and err.column == 3
    assert cache.count(wide, 0) is None
    with pytest.raises(ConditionError):
        cache.hits(wide, 0)
    bps = [Breakpoint(wide), bp("h[0] > 0.5")]
    assert np.flatnonzero(cache.any(bps, 0)).tolist() == [5, 9]
    assert cache.stop(bps, 0, 0).index == 1


def test_layers_are_cached_apart():
    tr = random_trace(T=12, layers=2)
    cache = HitCache(tr)
    cond = Condition.parse("h[0] > 0")
    for k in (0, 1):
        assert cache.hits(cond, k).tolist() == (tr.layers[k].h[:, 0] > 0).tolist()


@pytest.mark.parametrize("query, exact", [
    ("the", ("the", False)), ("'the'", ("the", True)), ('"a"', ("a", True)),
    ("'", ("'", False)), ("'a\"", ("'a\"", False)), ("''", ("", True)),
])
def test_parse_query(query, exact):
    assert parse_query(query) == exact


@pytest.mark.parametrize("query, steps", [
    ("the", [0, 5]),          # case-sensitive: not "The"
    ("he", [0, 5, 7]),        # substring
    ("'a'", [1]),             # quoted: the whole token only
    ("a", [1, 2, 3, 6]),
    ("' '", [8]),
    ("zebra", []),
])
def test_token_search(query, steps):
    assert np.flatnonzero(token_matches(crafted(), query)).tolist() == steps


def test_token_search_follows_a_reversed_layer():
    # layer 1 runs backwards: its step t read position 9 - t
    assert np.flatnonzero(token_matches(crafted(), "'the'", layer=1)).tolist() == [4, 9]


def test_token_search_errors():
    tr = crafted()
    with pytest.raises(SearchError, match="nothing"):
        token_matches(tr, "")
    tr.tokens = None
    with pytest.raises(SearchError, match="no tokens"):
        token_matches(tr, "a")
