"""The LSTM cell in NumPy: weights, activations, a recording forward pass and
``explain`` for one unit at one step.

The maths follows the teaching notebook the project grew from, one gate at a
time::

    f_t = σ(W_f·x_t + U_f·h_{t-1} + b_f)        forget gate
    i_t = σ(W_i·x_t + U_i·h_{t-1} + b_i)        input gate
    ĉ_t = tanh(W_c·x_t + U_c·h_{t-1} + b_c)     candidate
    c_t = f_t * c_{t-1} + i_t * ĉ_t             cell update
    o_t = σ(W_o·x_t + U_o·h_{t-1} + b_o)        output gate
    h_t = o_t * tanh(c_t)                       hidden state

σ is the *recurrent activation* and tanh the *activation*, both replaceable
by name, with the definitions Keras 3 uses.

This module imports only the standard library and NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .numeric import (
    ACTIVATION_ULPS,
    activation_bound,
    compute_roundoff,
    dot_bound,
    roundoff,
)

# The gates (GATES: f i c o, the candidate's weights suffixed c), the
# recorded vectors (VECTORS: x f i c_hat c o h) and each gate's vector come
# from the one vocabulary every part of the program reads.
from .vocabulary import GATE_VECTOR, GATES, VECTORS  # noqa: F401

# --------------------------------------------------------------------------
# Activations (Keras 3 definitions)
# --------------------------------------------------------------------------


def sigmoid(x: np.ndarray) -> np.ndarray:
    # The notebook's own formula. exp overflows to inf for very negative x,
    # and 1/(1+inf) is exactly the right limit, 0: silence that warning only.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    # Keras 3 defines hard_sigmoid as relu6(x + 3) / 6 = clip(x/6 + 1/2, 0, 1);
    # Keras 2 used clip(0.2x + 0.5, 0, 1). A trace from Keras 3 needs the new one.
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0).astype(np.asarray(x).dtype, copy=False)


def _elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _gelu(x: np.ndarray) -> np.ndarray:
    # Keras 3's gelu defaults to the exact form (approximate=False).
    return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))).astype(x.dtype, copy=False)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0, x).astype(x.dtype, copy=False)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": sigmoid,
    "tanh": np.tanh,
    "hard_sigmoid": hard_sigmoid,
    "relu": lambda x: np.maximum(x, 0).astype(x.dtype, copy=False),
    "linear": lambda x: x,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "elu": _elu,
    "selu": lambda x: _SELU_SCALE * _elu(x, _SELU_ALPHA),
    "gelu": _gelu,
    "swish": lambda x: x * sigmoid(x),
    "silu": lambda x: x * sigmoid(x),
    "softplus": _softplus,
    "relu6": lambda x: np.clip(x, 0, 6).astype(x.dtype, copy=False),
    "exponential": lambda x: _exp(x),
    "hard_silu": lambda x: x * hard_sigmoid(x),
    "hard_swish": lambda x: x * hard_sigmoid(x),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x).astype(x.dtype, copy=False),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "log_sigmoid": lambda x: -_softplus(-x),
    "hard_tanh": lambda x: np.clip(x, -1, 1).astype(x.dtype, copy=False),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "celu": lambda x: _elu(x, 1.0),
    # The rest of Keras 3's built-ins that an LSTM can use by name. softmax,
    # log_softmax and sparsemax act along the units of a gate (the last axis),
    # as they do in Keras' cell.
    "squareplus": lambda x: ((x + np.sqrt(x * x + 4)) / 2).astype(x.dtype, copy=False),
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)).astype(x.dtype, copy=False),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0).astype(x.dtype, copy=False),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x < 1, (x + 1) ** 2 / 4, x)).astype(x.dtype, copy=False),
    "sparse_sigmoid": lambda x: np.where(x <= -1, 0, np.where(x >= 1, 1, (x + 1) / 2)).astype(x.dtype, copy=False),
    "softmax": lambda x: _softmax(x),
    "log_softmax": lambda x: _log_softmax(x),
    "sparsemax": lambda x: _sparsemax(x),
}

#: How the screen writes each activation in an equation.
SYMBOLS = {"sigmoid": "σ", "tanh": "tanh", "hard_sigmoid": "hσ", "linear": "id"}


def _exp(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.exp(x)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = x - np.max(x, axis=-1, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _softmax(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)


def _sparsemax(x: np.ndarray) -> np.ndarray:
    # Keras 3's formula, step for step (every backend has the same): tau sums
    # the cumulative sums over the whole support, which is not the textbook
    # sparsemax of Martins & Astudillo (2016); a trace must match Keras.
    z = np.sort(x, axis=-1)[..., ::-1]
    cumsum = np.cumsum(z, axis=-1)
    r = np.arange(1, x.shape[-1] + 1, dtype=x.dtype)
    support = z - (cumsum - 1) / r > 0
    k = np.sum(support, axis=-1, keepdims=True).astype(x.dtype)
    tau = (np.sum(np.where(support, cumsum, 0), axis=-1, keepdims=True) - 1) / k
    return np.maximum(x - tau, 0).astype(x.dtype, copy=False)


def activation(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The activation function called ``name`` (Keras 3 spelling)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        known = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {name!r} (known: {known})") from None


def symbol(name: str) -> str:
    """Short name of an activation for equations: σ for sigmoid and so on."""
    return SYMBOLS.get(name, name)


# --------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LSTMCell:
    """Per-gate weights and the two activations of one LSTM layer.

    ``W[g]`` is (H, D), ``U[g]`` is (H, H) and ``b[g]`` is (H,) for each gate
    ``g`` in ``GATES``: gate = act(W·x_t + U·h_{t-1} + b), the notebook's
    convention (PyTorch's too; Keras stores the transpose).
    """

    W: Mapping[str, np.ndarray]
    U: Mapping[str, np.ndarray]
    b: Mapping[str, np.ndarray]
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"

    def __post_init__(self) -> None:
        for g in GATES:
            if g not in self.W or g not in self.U or g not in self.b:
                raise ValueError(f"missing weights for gate {g!r}")
        H, D = np.shape(self.W["f"])
        for g in GATES:
            if np.shape(self.W[g]) != (H, D):
                raise ValueError(f"W_{g} has shape {np.shape(self.W[g])}, expected {(H, D)}")
            if np.shape(self.U[g]) != (H, H):
                raise ValueError(f"U_{g} has shape {np.shape(self.U[g])}, expected {(H, H)}")
            if np.shape(self.b[g]) != (H,):
                raise ValueError(f"b_{g} has shape {np.shape(self.b[g])}, expected {(H,)}")
        activation(self.activation)
        activation(self.recurrent_activation)

    @property
    def units(self) -> int:
        return int(np.shape(self.W["f"])[0])

    @property
    def input_dim(self) -> int:
        return int(np.shape(self.W["f"])[1])

    @classmethod
    def from_keras(
        cls,
        kernel: np.ndarray,
        recurrent_kernel: np.ndarray,
        bias: np.ndarray | None = None,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
    ) -> LSTMCell:
        """From Keras' layout: kernel (D, 4H), recurrent_kernel (H, 4H) and
        bias (4H,), gate blocks in the order i, f, c, o."""
        kernel = np.asarray(kernel)
        recurrent_kernel = np.asarray(recurrent_kernel)
        H = recurrent_kernel.shape[0]
        if kernel.ndim != 2 or kernel.shape[1] != 4 * H or recurrent_kernel.shape != (H, 4 * H):
            raise ValueError(
                f"Keras LSTM weights have shapes {kernel.shape} and {recurrent_kernel.shape}; "
                "expected (D, 4H) and (H, 4H)"
            )
        if bias is None:
            bias = np.zeros(4 * H, dtype=kernel.dtype)
        bias = np.asarray(bias)
        order = ("i", "f", "c", "o")
        blocks = {g: slice(k * H, (k + 1) * H) for k, g in enumerate(order)}
        return cls(
            W={g: np.ascontiguousarray(kernel[:, blocks[g]].T) for g in GATES},
            U={g: np.ascontiguousarray(recurrent_kernel[:, blocks[g]].T) for g in GATES},
            b={g: np.ascontiguousarray(bias[blocks[g]]) for g in GATES},
            activation=activation,
            recurrent_activation=recurrent_activation,
        )

    @classmethod
    def from_torch(
        cls,
        weight_ih: np.ndarray,
        weight_hh: np.ndarray,
        bias_ih: np.ndarray | None = None,
        bias_hh: np.ndarray | None = None,
    ) -> LSTMCell:
        """From PyTorch's layout: weight_ih (4H, D), weight_hh (4H, H) and two
        biases (4H,), gate blocks in the order i, f, g (candidate), o."""
        weight_ih = np.asarray(weight_ih)
        weight_hh = np.asarray(weight_hh)
        H = weight_hh.shape[1]
        if weight_ih.ndim != 2 or weight_ih.shape[0] != 4 * H or weight_hh.shape != (4 * H, H):
            raise ValueError(
                f"PyTorch LSTM weights have shapes {weight_ih.shape} and {weight_hh.shape}; "
                "expected (4H, D) and (4H, H)"
            )
        bias = np.zeros(4 * H, dtype=weight_ih.dtype)
        if bias_ih is not None:
            bias = bias + np.asarray(bias_ih)
        if bias_hh is not None:
            bias = bias + np.asarray(bias_hh)
        order = ("i", "f", "c", "o")
        blocks = {g: slice(k * H, (k + 1) * H) for k, g in enumerate(order)}
        return cls(
            W={g: np.ascontiguousarray(weight_ih[blocks[g]]) for g in GATES},
            U={g: np.ascontiguousarray(weight_hh[blocks[g]]) for g in GATES},
            b={g: np.ascontiguousarray(bias[blocks[g]]) for g in GATES},
        )

    def stacked(self, dtype: np.dtype | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """W (4H, D), U (4H, H), b (4H,) with gate blocks in ``GATES`` order."""
        W = np.concatenate([np.asarray(self.W[g]) for g in GATES], axis=0)
        U = np.concatenate([np.asarray(self.U[g]) for g in GATES], axis=0)
        b = np.concatenate([np.asarray(self.b[g]) for g in GATES], axis=0)
        if dtype is not None:
            W, U, b = W.astype(dtype), U.astype(dtype), b.astype(dtype)
        return W, U, b

    def forward(
        self,
        x: np.ndarray,
        h0: np.ndarray | None = None,
        c0: np.ndarray | None = None,
        mask: np.ndarray | None = None,
        dtype: np.dtype | type | str | None = None,
    ) -> Recording:
        """Run the cell over ``x`` (T, D), recording every vector of every step."""
        return forward(self, x, h0=h0, c0=c0, mask=mask, dtype=dtype)


# --------------------------------------------------------------------------
# The forward pass
# --------------------------------------------------------------------------


@dataclass(eq=False)
class Recording:
    """Every vector of every step of one forward pass: each (T, H) except
    ``x`` (T, D); ``h0``/``c0`` the state before step 0."""

    x: np.ndarray
    f: np.ndarray
    i: np.ndarray
    c_hat: np.ndarray
    c: np.ndarray
    o: np.ndarray
    h: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    mask: np.ndarray | None = None


#: Bytes of input projection (the W·x_t + b of every gate) computed in one
#: matrix product. A longer sequence is projected in blocks of rows that
#: start at step 0, whichever way the pass is cut into chunks: BLAS rounds
#: a row of a product differently depending on how many rows the product
#: has, so a fixed cut is what makes a pass run chunk by chunk (a streamed
#: recording) equal, bit for bit, the same pass run whole.
PROJECTION_BYTES = 16 * 1024 * 1024


def projection_rows(width: int, dtype: np.dtype | type | str) -> int:
    """Rows of one block of a product whose rows are ``width`` values of
    ``dtype``: a power of two from 64 to 4096, about ``PROJECTION_BYTES``.
    A sequence no longer than that is one product, as it always was."""
    rows = PROJECTION_BYTES // max(1, width * np.dtype(dtype).itemsize)
    return int(min(4096, max(64, 1 << max(0, rows.bit_length() - 1))))


def row_blocks(a: int, b: int, rows: int) -> list[tuple[int, int]]:
    """The blocks ``(start, stop)`` of ``rows`` rows, counted from 0, that
    overlap ``a … b-1``."""
    return [(s, s + rows) for s in range(a - a % rows, b, rows)]


#: The vectors a pass can be made to take a value in (``Forced``): the
#: gates, the cell state and the hidden state. x is the pass's input, and
#: an input is edited before the pass, not during it.
FORCED_VECTORS = ("f", "i", "c_hat", "o", "c", "h")


@dataclass(frozen=True)
class Forced:
    """A value a what-if run imposes on one unit of one vector: ``vector``
    [``unit``] = ``value`` at the steps ``start`` … ``stop`` - 1 (``stop``
    None: to the end). The pass sets it where the cell computes that
    vector, so what is computed from it follows: a gate before c and h, c
    before h, h before the next step reads it. At a masked step, where
    nothing is computed, the carried c or h takes the value too."""

    vector: str
    unit: int
    value: float
    start: int
    stop: int | None = None

    def applies(self, step: int) -> bool:
        return self.start <= step and (self.stop is None or step < self.stop)


class Pass:
    """One forward pass of ``cell`` over ``x`` (T, D), run a chunk of steps
    at a time: ``run(n)`` computes the next ``n`` steps, carrying h and c
    from the chunk before. ``forward`` is one ``run`` of every step; a
    recording streamed to a file runs chunks, keeping only one in memory,
    and gets the same numbers bit for bit.

    ``mask`` (T,) bool: where it is false the step is skipped as Keras does,
    h and c carry over from the step before (its gates are still computed
    and recorded, so they can be looked at). ``dtype`` is the arithmetic's
    precision (float32 or float64); by default that of ``x`` when it is a
    float type, else float64.

    ``forced``: values a what-if run imposes on the pass as it runs (see
    ``Forced``); ``seek`` starts it at a later step from a given state.
    """

    def __init__(
        self,
        cell: LSTMCell,
        x: np.ndarray,
        h0: np.ndarray | None = None,
        c0: np.ndarray | None = None,
        mask: np.ndarray | None = None,
        dtype: np.dtype | type | str | None = None,
        forced: Sequence[Forced] = (),
    ) -> None:
        x = np.asarray(x)
        dt = np.dtype(dtype if dtype is not None else x.dtype if x.dtype in (np.float32, np.float64)
                      else np.float64)
        if x.ndim != 2 or x.shape[1] != cell.input_dim:
            raise ValueError(f"input has shape {x.shape}, expected (T, {cell.input_dim})")
        self.dtype = dt
        self.x = x.astype(dt, copy=False)
        self.steps, H = x.shape[0], cell.units
        self.units = H
        self.t = 0  # the next step to run
        W, U, b = cell.stacked(dt)
        self.act = activation(cell.activation)
        self.rec_act = activation(cell.recurrent_activation)
        self.h = np.zeros(H, dt) if h0 is None else np.asarray(h0, dt).reshape(H).copy()
        self.c = np.zeros(H, dt) if c0 is None else np.asarray(c0, dt).reshape(H).copy()
        self.keep = None if mask is None else np.asarray(mask, dtype=bool).reshape(self.steps)
        # Gate blocks reordered f, i, o, ĉ: the three gates that share the
        # recurrent activation are one contiguous slice. Every step writes
        # straight into its row of ``Z`` (pre-activations in, gate values
        # out), ``C`` and ``Hs``: no temporaries per step.
        order = [0, 1, 3, 2]
        W = W.reshape(4, H, -1)[order].reshape(4 * H, -1)
        U = U.reshape(4, H, H)[order].reshape(4 * H, H)
        b = b.reshape(4, H)[order].reshape(4 * H)
        # With the usual σ and tanh, one tanh serves all four blocks: σ(z) =
        # ½ + ½·tanh(z/2), so the gates' rows of W, U and b are halved up
        # front (exact: a power of two) and each step applies tanh once to
        # the whole row, then ½·(·) + ½ to the three gates. That is three
        # array operations where σ alone took four, and the step's cost
        # beside the U·h product is mostly the count of them.
        self.fused = self.rec_act is sigmoid and self.act is np.tanh
        if self.fused:
            half = np.ones(4 * H, dt)
            half[: 3 * H] = 0.5
            W, U, b = W * half[:, None], U * half[:, None], b * half
        self.W, self.U, self.b = W, U, b
        self.rows = projection_rows(4 * H, dt)
        self._block: tuple[int, np.ndarray] | None = None  # the last block of W·x + b
        for force in forced:
            if force.vector not in FORCED_VECTORS or not 0 <= force.unit < H:
                raise ValueError(f"cannot force {force.vector}[{force.unit}] of a layer of {H} units")
        self.forced = tuple(forced)

    def seek(self, t: int, h: np.ndarray | None = None, c: np.ndarray | None = None) -> None:
        """Run on from step ``t`` with the state ``h``, ``c`` (that after
        step t-1; zeros when None): a what-if run starts at its edited step
        from the recorded state before it. The input projection still
        comes in blocks counted from step 0, so the steps that follow are
        those a whole pass from that state computes, bit for bit."""
        if not 0 <= t <= self.steps:
            raise ValueError(f"step {t} outside 0…{self.steps}")
        H, dt = self.units, self.dtype
        self.t = t
        self.h = np.zeros(H, dt) if h is None else np.asarray(h, dt).reshape(H).copy()
        self.c = np.zeros(H, dt) if c is None else np.asarray(c, dt).reshape(H).copy()

    def _force(self, step: int, rows: dict[str, np.ndarray]) -> None:
        """Impose the forced values of ``step`` on the vectors in ``rows``
        (views of that step's row, changed in place)."""
        for force in self.forced:
            row = rows.get(force.vector)
            if row is not None and force.applies(step):
                row[force.unit] = force.value

    def _projection(self, a: int, b: int) -> np.ndarray:
        """W·x_t + b for steps a … b-1 (a new array), from whole blocks."""
        cut = row_blocks(a, b, self.rows)
        if len(cut) == 1 and cut[0][0] == a and min(cut[0][1], self.steps) == b:
            # Exactly one block: it is the result (the usual whole pass of
            # a sequence shorter than a block), with no copy.
            self._block = None
            return self.x[a:b] @ self.W.T + self.b
        Z = np.empty((b - a, 4 * self.units), self.dtype)
        for s, e in cut:
            if self._block is None or self._block[0] != s:
                # The input projection of a block of steps is one matrix
                # product; only the recurrence needs the per-step loop.
                self._block = (s, self.x[s:e] @ self.W.T + self.b)
            block = self._block[1]
            lo, hi = max(a, s), min(b, s + len(block))
            Z[lo - a : hi - a] = block[lo - s : hi - s]
        return Z

    def run(self, n: int | None = None) -> Recording:
        """The next ``n`` steps (all that are left by default), recorded:
        ``h0``/``c0`` of the result are the state before its first step."""
        a = self.t
        b = self.steps if n is None else min(self.steps, a + n)
        H, dtype, keep = self.units, self.dtype, self.keep
        h0, c0 = self.h.copy(), self.c.copy()
        Z = self._projection(a, b) if b > a else np.empty((0, 4 * H), dtype)
        C = np.empty((b - a, H), dtype)
        Hs = np.empty((b - a, H), dtype)
        Uh = np.empty(4 * H, dtype)
        kept = np.empty(H, dtype)
        G, F, I, O, C_hat = Z[:, : 3 * H], Z[:, :H], Z[:, H : 2 * H], Z[:, 2 * H : 3 * H], Z[:, 3 * H :]
        U, act, rec_act, fused, forced = self.U, self.act, self.rec_act, self.fused, bool(self.forced)
        dot, add, multiply, tanh = np.dot, np.add, np.multiply, np.tanh
        h_prev, c_prev = self.h, self.c
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(b - a):
                z = Z[t]
                dot(U, h_prev, out=Uh)
                add(z, Uh, out=z)  # W·x_t + b + U·h_{t-1}
                if fused:
                    tanh(z, out=z)
                    g = G[t]
                    multiply(g, 0.5, out=g)
                    add(g, 0.5, out=g)
                else:  # one gate at a time: softmax-like activations span a gate
                    for k in range(3):
                        gate = z[k * H : (k + 1) * H]
                        gate[:] = rec_act(gate)
                    c_hat = z[3 * H :]
                    c_hat[:] = act(c_hat)
                if forced:  # a gate forced before c and h are computed from it
                    self._force(a + t, {"f": F[t], "i": I[t], "c_hat": C_hat[t], "o": O[t]})
                c, h = C[t], Hs[t]
                if keep is not None and not keep[a + t]:
                    c[:], h[:] = c_prev, h_prev  # a masked step carries the state over
                    if forced:
                        self._force(a + t, {"c": c})
                        self._force(a + t, {"h": h})
                else:
                    multiply(I[t], C_hat[t], out=c)
                    multiply(F[t], c_prev, out=kept)
                    add(c, kept, out=c)  # c_t = f_t * c_{t-1} + i_t * ĉ_t
                    if forced:  # c forced before h is computed from it
                        self._force(a + t, {"c": c})
                    if fused:  # h_t = o_t * tanh(c_t)
                        tanh(c, out=h)
                        multiply(h, O[t], out=h)
                    else:
                        h[:] = O[t] * act(c)
                    if forced:  # h forced: what is stored, and what step t+1 reads
                        self._force(a + t, {"h": h})
                h_prev, c_prev = h, c
        self.h, self.c = h_prev.copy(), c_prev.copy()
        self.t = b
        # The gates are column blocks of Z: views, not copies.
        return Recording(
            x=self.x[a:b],
            f=F,
            i=I,
            c_hat=C_hat,
            c=C,
            o=O,
            h=Hs,
            h0=h0,
            c0=c0,
            mask=None if keep is None else keep[a:b],
        )


def forward(
    cell: LSTMCell,
    x: np.ndarray,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    dtype: np.dtype | type | str | None = None,
) -> Recording:
    """Run ``cell`` over the sequence ``x`` (T, D) and record every gate
    (one ``Pass`` run over every step; see there for ``mask`` and
    ``dtype``)."""
    return Pass(cell, x, h0=h0, c0=c0, mask=mask, dtype=dtype).run()


def softmax_head(h: np.ndarray, W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """A Dense softmax readout, ``p_t = softmax(W·h_t + b)``, of every row of
    ``h`` (T, H) with ``W`` (V, H) and ``b`` (V,) as a trace stores them
    (``readout/W``, ``readout/b``), in ``h``'s precision. The rows are
    taken in blocks counted from row 0 (``projection_rows``), as the
    recording computed them: the same rows give the same bits however
    many there are around them."""
    h = np.asarray(h)
    dt = h.dtype if h.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    # Keras' layout, (H, V) contiguous: the product the recording made.
    kernel = np.ascontiguousarray(np.asarray(W).T, dtype=dt)
    bias = np.zeros(kernel.shape[1], dt) if b is None else np.asarray(b, dt)
    out = np.empty((h.shape[0], kernel.shape[1]), dt)
    rows = projection_rows(kernel.shape[1], dt)
    for s, e in row_blocks(0, h.shape[0], rows):
        out[s:e] = _softmax(np.asarray(h[s:e], dt) @ kernel + bias)
    return out


def step_preactivations(
    cell: LSTMCell, x: np.ndarray, h_prev: np.ndarray, dtype: np.dtype | type | str = np.float64
) -> dict[str, np.ndarray]:
    """Pre-activations of every gate at every step from given inputs and
    previous hidden states (each (T, ·)), vectorised over all steps: used to
    check a recording step by step."""
    W, U, b = cell.stacked(np.dtype(dtype))
    z = np.asarray(x, dtype) @ W.T + np.asarray(h_prev, dtype) @ U.T + b
    H = cell.units
    return {g: z[:, k * H : (k + 1) * H] for k, g in enumerate(GATES)}


@dataclass(frozen=True)
class StepCheck:
    """Steps recomputed from recorded inputs and states, each value with the
    bound on its rounding error (``numeric``'s rule): float64, (T, H).

    ``values`` and ``tol`` hold ``f i c_hat o c h``; ``pre`` and ``pre_tol``
    the pre-activation ``W·x_t + U·h_{t-1} + b`` of each gate (keys ``f i c
    o``), kept so a caller can try one gate's pre-activation under another
    gate's activation (a swapped-weights diagnosis)."""

    values: dict[str, np.ndarray]
    tol: dict[str, np.ndarray]
    pre: dict[str, np.ndarray]
    pre_tol: dict[str, np.ndarray]


def step_check(
    cell: LSTMCell,
    x: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    mask: np.ndarray | None = None,
    stored: np.dtype | type | str = np.float32,
) -> StepCheck:
    """Each vector of each step recomputed in float64 from the recorded
    ``x`` (T, D), ``h_prev`` and ``c_prev`` (T, H) — "teacher forced": no
    rounding piles up along the sequence — with the bound on how far a
    correct recording in ``stored`` precision may lie from it.

    The bound follows the terms, not the result (see ``numeric``): a gate's
    pre-activation may be off by ``(u_store + (D+H+1)·u)·(|W|·|x| + |U|·|h|
    + |b|)``; the activation maps that to the spread of its values; ``c =
    f·c_{t-1} + i·ĉ`` and ``h = o·act(c)`` carry their factors' bounds to
    first order, plus their own rounding. A masked step (``mask`` false)
    carries the state over exactly."""
    f64 = np.float64
    x = np.asarray(x, f64)
    hp = np.asarray(h_prev, f64)
    cp = np.asarray(c_prev, f64)
    u_s, u_c = roundoff(stored), compute_roundoff(stored)
    H, D = cell.units, cell.input_dim
    n = D + H + 1
    W, U, b = cell.stacked(np.dtype(f64))
    with np.errstate(all="ignore"):
        z = x @ W.T + hp @ U.T + b
        terms = np.abs(x) @ np.abs(W).T + np.abs(hp) @ np.abs(U).T + np.abs(b)
        dz = dot_bound(terms, n, u_s, u_c)
    # Where the terms are not finite the values are infinities or NaN that
    # only equality can confirm.
    dz = np.where(np.isfinite(dz), dz, 0.0)
    pre = {g: z[:, k * H : (k + 1) * H] for k, g in enumerate(GATES)}
    pre_tol = {g: dz[:, k * H : (k + 1) * H] for k, g in enumerate(GATES)}
    act, rec_act = activation(cell.activation), activation(cell.recurrent_activation)
    values: dict[str, np.ndarray] = {}
    tol: dict[str, np.ndarray] = {}
    for g in GATES:
        fn = act if g == "c" else rec_act
        values[GATE_VECTOR[g]], tol[GATE_VECTOR[g]] = activation_bound(fn, pre[g], pre_tol[g], u_c, u_s)
    f, i, c_hat, o = values["f"], values["i"], values["c_hat"], values["o"]
    tf, ti, tc, to = tol["f"], tol["i"], tol["c_hat"], tol["o"]
    with np.errstate(all="ignore"):
        keep, write = f * cp, i * c_hat
        c = keep + write
        c_tol = (np.abs(cp) * tf + np.abs(c_hat) * ti + np.abs(i) * tc
                 + (2 * u_c + u_s) * (np.abs(keep) + np.abs(write)) + u_s * np.abs(c))
        c_tol = np.where(np.isfinite(c_tol), c_tol, 0.0)
        act_c, act_c_tol = activation_bound(act, c, c_tol, u_c, 0.0)
        h = o * act_c
        h_tol = np.abs(act_c) * to + np.abs(o) * act_c_tol + (u_c + u_s) * np.abs(h)
        h_tol = np.where(np.isfinite(h_tol), h_tol, 0.0)
    if mask is not None:
        skip = ~np.asarray(mask, bool)
        c[skip], h[skip] = cp[skip], hp[skip]
        c_tol[skip] = h_tol[skip] = 0.0
    values["c"], values["h"] = c, h
    tol["c"], tol["h"] = c_tol, h_tol
    return StepCheck(values, tol, pre, pre_tol)


# --------------------------------------------------------------------------
# explain: one unit at one step, with every term
# --------------------------------------------------------------------------

#: A sum of at most this many products is listed term by term; a longer one
#: as its largest terms and the rest (``Products.listed``). Eight input terms
#: still fit a line or two, and the notebook's cell (D = 4, H = 2) is listed whole.
EVERY_TERM = 8

#: Activations that act along the units of a gate, as Keras' cell applies
#: them: one unit's value needs the whole gate's pre-activations.
GATE_WIDE = frozenset({"softmax", "log_softmax", "sparsemax"})

#: How each activation is defined, for the explain pane's formulas (z is
#: the pre-activation; z_u one unit's, for those that span the gate).
FORMULAS = {
    "sigmoid": "1/(1 + e^(−z))",
    "tanh": "(e^z − e^(−z))/(e^z + e^(−z))",
    # Keras 3's definition, not Keras 2's 0.2z + 0.5 (see hard_sigmoid).
    "hard_sigmoid": "clip(z/6 + 1/2, 0, 1)",
    "relu": "max(z, 0)",
    "linear": "z",
    "softsign": "z/(1 + |z|)",
    "elu": "z (z > 0); e^z − 1 (z ≤ 0)",
    "selu": f"{_SELU_SCALE:.4f}·z (z > 0); {_SELU_SCALE:.4f}·{_SELU_ALPHA:.4f}·(e^z − 1) (z ≤ 0)",
    "gelu": "z·(1 + erf(z/√2))/2",
    "swish": "z·σ(z)",
    "silu": "z·σ(z)",
    "softplus": "log(1 + e^z)",
    "relu6": "min(max(z, 0), 6)",
    "exponential": "e^z",
    "hard_silu": "z·clip(z/6 + 1/2, 0, 1)",
    "hard_swish": "z·clip(z/6 + 1/2, 0, 1)",
    "leaky_relu": "z (z ≥ 0); 0.2·z (z < 0)",
    "mish": "z·tanh(log(1 + e^z))",
    "log_sigmoid": "−log(1 + e^(−z))",
    "hard_tanh": "clip(z, −1, 1)",
    "tanh_shrink": "z − tanh(z)",
    "celu": "z (z > 0); e^z − 1 (z ≤ 0)",
    "squareplus": "(z + √(z² + 4))/2",
    "soft_shrink": "z − 0.5 (z > 0.5); z + 0.5 (z < −0.5); 0 (|z| ≤ 0.5)",
    "hard_shrink": "z (|z| > 0.5); 0 (|z| ≤ 0.5)",
    "sparse_plus": "0 (z ≤ −1); (z + 1)²/4 (−1 < z < 1); z (z ≥ 1)",
    "sparse_sigmoid": "0 (z ≤ −1); (z + 1)/2 (−1 < z < 1); 1 (z ≥ 1)",
    "softmax": "e^(z_u)/Σ_k e^(z_k)",
    "log_softmax": "z_u − log Σ_k e^(z_k)",
    "sparsemax": "max(z_u − τ(z), 0)",
}


def formula(name: str) -> str:
    """``1/(1 + e^(−z))`` for sigmoid: an activation's definition."""
    return FORMULAS.get(name, name)


def exact_sum(values: np.ndarray | list[float]) -> float:
    """The sum of ``values`` correctly rounded (``math.fsum``): the order the
    terms are listed in cannot change it, so a sum and the same terms split
    into "the largest and the rest" agree. Not-finite terms (and a sum that
    overflows) fall back to NumPy's sum, which gives the NaN or infinity."""
    v = np.asarray(values, np.float64)
    if np.isfinite(v).all():
        try:
            return math.fsum(v.tolist())
        except OverflowError:
            pass
    with np.errstate(all="ignore"):
        return float(np.sum(v))


@dataclass(frozen=True)
class Listed:
    """A sum as the explain pane lists it: ``terms`` (index j, product) and,
    when not every term is listed, ``rest``, the sum of the ``rest_count``
    others, so the list still adds up to ``total``."""

    terms: tuple[tuple[int, float], ...]
    rest: float | None
    rest_count: int
    total: float


@dataclass(frozen=True, eq=False)
class Products:
    """One of a gate's sums written out: ``weights[j] × operands[j] =
    products[j]`` for every j (W_g[u, j] × x_t[j], or U_g[u, j] ×
    h_{t-1}[j]), and ``total``, their exact sum (float64: the products of
    float32 values are exact)."""

    weights: np.ndarray
    operands: np.ndarray
    products: np.ndarray
    total: float

    @classmethod
    def of(cls, weights: np.ndarray, operands: np.ndarray) -> Products:
        w = np.asarray(weights, np.float64)
        x = np.asarray(operands, np.float64)
        with np.errstate(all="ignore"):
            p = w * x
        return cls(w, x, p, exact_sum(p))

    def __len__(self) -> int:
        return int(self.products.shape[0])

    def by_size(self) -> np.ndarray:
        """Indices from the largest |product| down; NaN counts as largest
        (the first thing a debugger wants to see), ties in index order."""
        size = np.abs(np.nan_to_num(self.products, nan=np.inf))
        return np.argsort(-size, kind="stable")

    def split(self, top: int) -> Listed:
        """The ``top`` largest products by |product|, largest first, and the
        exact sum of the others (None when there are none). Products that
        are exactly 0 are never among the largest: a one-hot input has one
        term that counts, and listing zeros beside it would say nothing."""
        order = self.by_size()
        nonzero = int(np.count_nonzero(self.products[order[:top]]))
        shown, others = order[:nonzero], order[nonzero:]
        rest = exact_sum(self.products[others]) if others.size else None
        return Listed(tuple((int(j), float(self.products[j])) for j in shown),
                      rest, int(others.shape[0]), self.total)

    def listed(self, top: int = 3) -> Listed:
        """Every term in index order when there are at most ``EVERY_TERM``;
        else the ``top`` largest by |product| and the rest summed."""
        n = len(self)
        if n <= EVERY_TERM:
            return Listed(tuple((j, float(self.products[j])) for j in range(n)), None, 0, self.total)
        return self.split(top)


@dataclass(frozen=True)
class GateTerms:
    """gate = act(W·x_t + U·h_{t-1} + b) for one unit, every term filled in:
    ``wx`` and ``uh`` are the totals of ``x_terms`` and ``h_terms``, the
    products they sum, and ``pre`` is the exact sum of the three."""

    gate: str  # f, i, c, o
    act: str  # activation name
    wx: float
    uh: float
    b: float
    pre: float
    value: float  # act(pre), recomputed
    recorded: float  # the value the trace holds
    x_terms: Products | None = None  # W_g[u, j] × x_t[j]
    h_terms: Products | None = None  # U_g[u, j] × h_{t-1}[j]


@dataclass(frozen=True)
class Explanation:
    """The arithmetic of one unit at one step, in the notebook's order."""

    step: int
    unit: int
    masked: bool
    gates: dict[str, GateTerms] | None  # None when the weights are absent
    f: float
    i: float
    c_hat: float
    o: float
    c_prev: float
    keep: float  # f·c_{t-1}
    write: float  # i·ĉ
    c: float  # keep + write, recomputed
    c_recorded: float
    activation: str
    act_c: float  # act(c)
    h: float  # o·act(c), recomputed
    h_recorded: float
    recurrent_activation: str = "sigmoid"


def explain(
    rec: Recording,
    step: int,
    unit: int,
    cell: LSTMCell | None = None,
    activation_name: str | None = None,
    recurrent_activation_name: str | None = None,
) -> Explanation:
    """Every number behind unit ``unit`` at step ``step`` of ``rec``.

    With ``cell`` each gate's terms W·x_t, U·h_{t-1} and b are recomputed
    from the stored weights and the recorded x_t, h_{t-1}, with every
    product of the two sums (``GateTerms.x_terms``, ``h_terms``); without it
    only the cell and hidden updates can be shown.
    """
    T = rec.h.shape[0]
    if not 0 <= step < T:
        raise IndexError(f"step {step} outside 0…{T - 1}")
    H = rec.h.shape[1]
    if not 0 <= unit < H:
        raise IndexError(f"unit {unit} outside 0…{H - 1}")
    act_name = cell.activation if cell is not None else (activation_name or "tanh")
    rec_name = cell.recurrent_activation if cell is not None else (recurrent_activation_name or "sigmoid")
    act = activation(act_name)
    h_prev = rec.h[step - 1] if step > 0 else rec.h0
    c_prev = rec.c[step - 1] if step > 0 else rec.c0
    masked = rec.mask is not None and not bool(rec.mask[step])
    f, i, c_hat, o = (float(rec.f[step, unit]), float(rec.i[step, unit]),
                      float(rec.c_hat[step, unit]), float(rec.o[step, unit]))
    cp = float(c_prev[unit])
    gates = None
    if cell is not None:
        gates = {}
        x_t = np.asarray(rec.x[step], np.float64)
        hp = np.asarray(h_prev, np.float64)
        for g in GATES:
            x_terms = Products.of(cell.W[g][unit], x_t)
            h_terms = Products.of(cell.U[g][unit], hp)
            b = float(cell.b[g][unit])
            pre = exact_sum([x_terms.total, h_terms.total, b])
            name = cell.activation if g == "c" else cell.recurrent_activation
            with np.errstate(all="ignore"):
                if name in GATE_WIDE:
                    # One unit's value depends on the whole gate's.
                    z = (np.asarray(cell.W[g], np.float64) @ x_t + np.asarray(cell.U[g], np.float64) @ hp
                         + np.asarray(cell.b[g], np.float64))
                    z[unit] = pre
                    value = float(activation(name)(z)[unit])
                else:
                    value = float(activation(name)(np.array([pre]))[0])
            gates[g] = GateTerms(g, name, x_terms.total, h_terms.total, b, pre, value,
                                 float(getattr(rec, GATE_VECTOR[g])[step, unit]), x_terms, h_terms)
    with np.errstate(all="ignore"):
        keep = f * cp
        write = i * c_hat
        c = keep + write
        if act_name in GATE_WIDE:
            c_all = np.array(rec.c[step], np.float64)
            c_all[unit] = c
            act_c = float(act(c_all)[unit])
        else:
            act_c = float(act(np.array([c]))[0])
        h = o * act_c
    return Explanation(
        step=step, unit=unit, masked=masked, gates=gates,
        f=f, i=i, c_hat=c_hat, o=o, c_prev=cp, keep=keep, write=write, c=c,
        c_recorded=float(rec.c[step, unit]), activation=act_name, act_c=act_c, h=h,
        h_recorded=float(rec.h[step, unit]), recurrent_activation=rec_name,
    )


def _float_type(dtype: np.dtype | type | str) -> np.dtype:
    dt = np.dtype(dtype)
    return dt if dt.kind == "f" else np.dtype(np.float64)


def readout_check(
    h: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stored: np.dtype | type | str = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """A softmax head ``p = softmax(h·K + b)`` (``kernel`` (H, V), Keras'
    layout) recomputed in float64, with the rounding bound of each
    probability by ``numeric``'s rule: each logit may be off by ``δ =
    (u_store + (H+1)·u)·(|h|·|K| + |b|)``, which moves ``p_k`` by at most
    ``p_k·(δ_k + max δ)`` to first order."""
    h = np.asarray(h, np.float64)
    K = np.asarray(kernel, np.float64)
    b = np.asarray(bias, np.float64)
    u_s, u_c = roundoff(stored), compute_roundoff(stored)
    with np.errstate(all="ignore"):
        z = h @ K + b
        dz = dot_bound(np.abs(h) @ np.abs(K) + np.abs(b), K.shape[0] + 1, u_s, u_c)
        p = _softmax(z)
        tol = p * (dz + np.max(dz, axis=-1, keepdims=True)) + (ACTIVATION_ULPS * u_c + u_s) * p
    # A probability too small for the stored type may come out as 0.
    tol = np.where(np.isfinite(tol), tol, 0.0) + float(np.finfo(_float_type(stored)).tiny)
    return p, tol
