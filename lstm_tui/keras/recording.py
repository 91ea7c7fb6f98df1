"""Recording a Keras model's LSTM layers as a trace, and verifying the
recording against Keras.

How a recording is made (``record``):

1. The model runs once, eagerly, on the one sequence, with every LSTM layer's
   ``call`` wrapped so that it hands over what Keras really fed it: the input
   sequence, the mask Keras propagated (``Masking``, ``mask_zero``), the
   initial state (explicit, or the variables of a stateful layer). Nothing
   about the model is changed; the wrappers are removed and stateful layers'
   states restored afterwards.
2. Each LSTM is recomputed in NumPy from its weights (``lstm.forward``), which
   records every gate.
3. The recomputation is checked against Keras' own compiled computation of
   the same layer (a copy of the layer with ``return_sequences`` and
   ``return_state`` on, run through ``tf.function``). Where that sequence
   check fails because rounding grows along the sequence (unbounded
   activations, long chaotic runs), each step is checked on its own: Keras'
   cell is fed the recorded previous state, so error cannot accumulate and a
   correct recording is never rejected, while a wrong weight or activation
   still shows at the first step.

This module imports Keras and TensorFlow only inside functions.
"""

from __future__ import annotations

import contextlib
import os
import warnings
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.bounds import recompute, rounding_bounds
from ..core.codec import ALPHABET, WINDOW, encode
from ..core.lstm import ACTIVATIONS, GATES, LSTMCell, Pass, Recording, projection_rows, readout_check, softmax_head
from ..core.numeric import abs_difference, blocks
from ..core.progress import Progress
from ..core.trace import (
    Layer,
    MemoryTraceWriter,
    Trace,
    trace_meta,
    write_trace,
)
from ..core.trace import load as load_trace
from .errors import BridgeError, VerificationError, _one_line
from .loading import MODEL_FILE, _resolve, default_model_path
from .quiet import _keras

#: What the bundled default trace reads: the notebook's own question ("A rede
#: acha que depois de 'def' vem ..."), one of the windows the model was
#: trained on, so the first screen shows the model doing what it learnt.
DEFAULT_TRACE_TEXT = "def"
#: The source line of the bundled default trace.
DEFAULT_TRACE_SOURCE = f"keras: {MODEL_FILE} on {DEFAULT_TRACE_TEXT!r}"


# Activations that keep c and h bounded, so float32 rounding cannot grow
# along a sequence; with others the step-by-step check is expected.
_BOUNDED = {"sigmoid", "tanh", "hard_sigmoid", "softsign", "hard_tanh", "sparse_sigmoid",
            "softmax", "sparsemax"}



@dataclass
class _Target:
    """A layer whose calls are captured: a plain LSTM (or RNN(LSTMCell)), or
    a Bidirectional whose two halves are LSTMs."""

    layer: Any
    halves: list[Any]  # the LSTM layers that become trace layers
    bidirectional: bool


def _walk(layer: Any, seen: set[int]) -> Iterator[Any]:
    for sub in getattr(layer, "layers", None) or []:
        if id(sub) in seen:
            continue
        seen.add(id(sub))
        yield sub
        if hasattr(sub, "layers") and not hasattr(sub, "cell"):
            yield from _walk(sub, seen)


def _activation_name(keras: Any, what: str, layer: Any, which: str) -> str:
    fn = getattr(layer.cell, which)
    try:
        name = keras.activations.serialize(fn)
    except Exception:  # not serializable: certainly not a built-in
        name = None
    if isinstance(name, str) and name in ACTIVATIONS:
        return name
    shown = name if isinstance(name, str) else getattr(fn, "__name__", type(fn).__name__)
    raise BridgeError(f"{what}: layer {layer.name!r} ({type(layer).__name__}) is not supported: "
                      f"{which} {shown!r} is not one of the built-in activations lstm-tui knows")


def _is_lstm_like(keras: Any, what: str, layer: Any) -> bool:
    """True for keras.layers.LSTM and RNN(LSTMCell); BridgeError for the LSTM
    variants that cannot be recomputed; False for every other layer."""
    L = keras.layers
    conv = tuple(c for c in (getattr(L, n, None) for n in ("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")) if c)
    kind = f"layer {layer.name!r} ({type(layer).__name__})"
    if conv and isinstance(layer, conv):
        raise BridgeError(f"{what}: {kind} is not supported: convolutional LSTMs are not "
                          "recorded (only LSTM, RNN(LSTMCell) and Bidirectional of them)")
    if isinstance(layer, L.LSTM) and type(layer) is not L.LSTM:
        raise BridgeError(f"{what}: {kind} is not supported: a custom subclass of LSTM; "
                          "its computation may differ from the LSTM equations")
    if not isinstance(layer, L.RNN):
        return False
    cell = layer.cell
    if type(cell) is L.LSTMCell:
        return True
    if isinstance(cell, L.LSTMCell):
        raise BridgeError(f"{what}: {kind} is not supported: custom cell "
                          f"{type(cell).__name__} (a subclass of LSTMCell)")
    if isinstance(cell, L.StackedRNNCells) or isinstance(cell, (list, tuple)):
        cells = getattr(cell, "cells", cell)
        if any(isinstance(c, L.LSTMCell) for c in cells):
            raise BridgeError(f"{what}: {kind} is not supported: stacked LSTM cells in one RNN "
                              "(use one LSTM layer per cell)")
        return False
    module = type(cell).__module__ or ""
    if not (module == "keras" or module.startswith("keras.")):
        raise BridgeError(f"{what}: {kind} is not supported: custom cell {type(cell).__name__}")
    return False  # GRU, SimpleRNN...: not an LSTM, just a layer on the way


def _check_lstm(keras: Any, what: str, layer: Any) -> None:
    kind = f"layer {layer.name!r} ({type(layer).__name__})"
    policy = getattr(layer, "dtype_policy", None)
    compute, variable = layer.compute_dtype, layer.variable_dtype
    if compute != variable:
        name = getattr(policy, "name", compute)
        raise BridgeError(f"{what}: {kind} is not supported: mixed precision "
                          f"(policy {name!r}); record a float32 copy of the model")
    if compute not in ("float32", "float64"):
        raise BridgeError(f"{what}: {kind} is not supported: dtype {compute} "
                          "(only float32 and float64 are recorded)")
    _activation_name(keras, what, layer, "activation")
    _activation_name(keras, what, layer, "recurrent_activation")
    states = getattr(layer, "states", None)
    if getattr(layer, "stateful", False) and states:
        batch = int(np.shape(states[0])[0])
        if batch != 1:
            raise BridgeError(f"{what}: {kind} is not supported: stateful with batch size {batch}; "
                              "a recording runs one sequence (batch size 1)")


def _targets(keras: Any, what: str, model: Any) -> list[_Target]:
    L = keras.layers
    found: list[_Target] = []
    kinds: list[str] = []
    layer: Any
    for layer in _walk(model, set()):
        if not isinstance(layer, L.InputLayer):
            kinds.append(type(layer).__name__)
        if isinstance(layer, L.Bidirectional):
            halves = [layer.forward_layer, layer.backward_layer]
            lstm = [_is_lstm_like(keras, what, h) for h in halves]
            if all(lstm):
                for h in halves:
                    _check_lstm(keras, what, h)
                found.append(_Target(layer, halves, True))
            elif any(lstm):
                raise BridgeError(f"{what}: layer {layer.name!r} (Bidirectional) is not supported: "
                                  "one half is an LSTM and the other is not")
        elif isinstance(layer, getattr(L, "TimeDistributed", ())) and _is_lstm_like(keras, what,
                                                                                  getattr(layer, "layer", None)):
            raise BridgeError(f"{what}: layer {getattr(layer, 'name', '?')!r} (TimeDistributed) is not supported: "
                              "an LSTM applied per time step")
        elif _is_lstm_like(keras, what, layer):
            _check_lstm(keras, what, layer)
            found.append(_Target(layer, [layer], False))
    if not found:
        shown = ", ".join(dict.fromkeys(kinds)) or "no layers"
        raise BridgeError(f"{what}: has no LSTM layer to record (found: {shown})")
    return found


@dataclass
class _Call:
    """One call of a wrapped layer, as NumPy arrays (batch axis kept)."""

    layer: Any
    order: int
    x: np.ndarray
    mask: np.ndarray | None = None
    initial_state: list[np.ndarray] | None = None
    output: Any = None


def _to_numpy(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_to_numpy(v) for v in value]
    return np.asarray(value)


def _first(value: Any) -> Any:
    while isinstance(value, (list, tuple)):
        if not value:
            return None
        value = value[0]
    return value


#: Each recorded layer's ``call`` as a TensorFlow graph function, kept for
#: as long as the layer lives (traced once per input signature).
_GRAPH_CALLS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _graph_call(layer: Any) -> Callable[..., Any]:
    """``layer.call`` compiled with ``tf.function``. Called eagerly, an LSTM
    layer runs its loop one operation at a time: seconds for a few thousand
    steps, where the graph takes milliseconds (the same kernels, the same
    numbers)."""
    found = _GRAPH_CALLS.get(layer)
    if found is None:
        tf, _ = _keras()
        # Through a weak reference: the function must not keep the layer
        # (its key here) alive.
        ref = weakref.ref(layer)
        method = type(layer).call

        def call(*args: Any, **kwargs: Any) -> Any:
            return method(ref(), *args, **kwargs)

        found = _GRAPH_CALLS[layer] = tf.function(call, reduce_retracing=True)
    return found


@contextlib.contextmanager
def _wrapped(layers: Sequence[Any], calls: list[_Call], counter: list[int],
             graph: bool = False) -> Iterator[None]:
    """Wrap each layer's ``call`` (an instance attribute shadows the class's
    method; Keras' ``__call__`` looks it up on the instance) to record its
    inputs and output; unwrap afterwards whatever happens. ``counter`` numbers
    the calls, shared between wrappings so their order can be compared.
    ``graph``: run each layer's own call as a graph (``_graph_call``)."""

    def make(layer: Any) -> Callable[..., Any]:
        original = _graph_call(layer) if graph else layer.call

        def call(*args: Any, **kwargs: Any) -> Any:
            seq = args[0] if args else kwargs.get("sequences", kwargs.get("inputs"))
            init = kwargs.get("initial_state")
            if init is None and len(args) > 1:
                init = args[1]
            if init is None:
                init = _stateful_states(layer)
            mask = kwargs.get("mask")
            out = original(*args, **kwargs)
            counter[0] += 1
            calls.append(_Call(layer, counter[0], np.asarray(seq),
                               mask=None if _first(mask) is None else np.asarray(_first(mask), bool),
                               initial_state=_to_numpy(list(init)) if init is not None else None,
                               output=_to_numpy(out)))
            return out

        return call

    done = []
    try:
        for layer in layers:
            layer.call = make(layer)
            done.append(layer)
        yield
    finally:
        for layer in done:
            try:
                del layer.call
            except AttributeError:
                pass


def _variable_value(v: Any) -> np.ndarray:
    # A copy, through the backend (np.array on a Keras variable warns).
    return np.array(v.numpy())


def _stateful_states(layer: Any) -> list[Any] | None:
    halves = [layer.forward_layer, layer.backward_layer] if hasattr(layer, "forward_layer") else [layer]
    if not all(getattr(h, "stateful", False) and h.states for h in halves):
        return None
    return [_variable_value(v) for h in halves for v in h.states]


@dataclass
class _Capture:
    targets: list[tuple[_Target, _Call]]
    dense: list[_Call]
    output: Any


def _capture(keras: Any, what: str, model: Any, targets: list[_Target], batch: np.ndarray) -> _Capture:
    dense_layers = [ly for ly in _walk(model, set()) if isinstance(ly, keras.layers.Dense)]
    target_calls: list[_Call] = []
    dense_calls: list[_Call] = []
    stateful = [h for t in targets for h in t.halves if getattr(h, "stateful", False) and h.states]
    saved = [[_variable_value(v) for v in h.states] for h in stateful]
    try:
        counter = [0]
        with _wrapped([t.layer for t in targets], target_calls, counter, graph=True), \
                _wrapped(dense_layers, dense_calls, counter):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = model(batch, training=False)
    except BridgeError:
        raise
    except Exception as e:
        raise BridgeError(f"{what}: the model did not run on an input of shape "
                          f"{tuple(batch.shape)} ({_one_line(e)})") from None
    finally:
        # A recording looks; it does not advance a stateful model.
        for h, values in zip(stateful, saved):
            for v, value in zip(h.states, values):
                v.assign(value)
    by_layer: dict[int, list[_Call]] = {}
    for c in target_calls:
        by_layer.setdefault(id(c.layer), []).append(c)
    pairs = []
    for t in targets:
        got = by_layer.get(id(t.layer), [])
        if len(got) > 1:
            raise BridgeError(f"{what}: layer {t.layer.name!r} is not supported: it is called "
                              f"{len(got)} times (a shared layer); record each use as its own layer")
        if got:
            pairs.append((t, got[0]))
    if not pairs:
        raise BridgeError(f"{what}: no LSTM layer ran when the model was called")
    pairs.sort(key=lambda tc: tc[1].order)
    return _Capture(pairs, dense_calls, _to_numpy(out))


def _batch(model: Any, what: str, inputs: Any) -> np.ndarray:
    """The one input sequence as a batch of one, with the model's dtype."""
    x = np.asarray(inputs)
    model_inputs = None
    try:
        model_inputs = model.inputs
    except (AttributeError, ValueError):
        pass
    if model_inputs is not None and len(model_inputs) != 1:
        raise BridgeError(f"{what}: has {len(model_inputs)} inputs; only single-input models are recorded")
    spec = model_inputs[0] if model_inputs else None
    rank = len(spec.shape) if spec is not None else None
    if x.dtype.kind not in "biuf":
        raise BridgeError(f"{what}: inputs of dtype {x.dtype} are not numbers")
    if rank is None:
        rank = 2 if x.ndim == 1 or (x.ndim == 2 and x.dtype.kind in "biu" and x.shape[0] == 1) else 3
    if x.ndim == rank - 1:
        x = x[None]
    if x.ndim != rank:
        want = "(T,) ids" if rank == 2 else "(T, D) features"
        raise BridgeError(f"{what}: inputs of shape {np.shape(inputs)} do not fit; the model takes {want} "
                          "(or a batch of one of them)")
    if x.shape[0] != 1:
        raise BridgeError(f"{what}: a batch of {x.shape[0]} sequences; record one sequence at a time")
    if x.shape[1] == 0:
        raise BridgeError(f"{what}: the input sequence is empty (T = 0)")
    if spec is not None:
        want_shape = tuple(spec.shape)
        if rank == 3 and want_shape[-1] is not None and x.shape[-1] != want_shape[-1]:
            raise BridgeError(f"{what}: the input has {x.shape[-1]} features per step; "
                              f"the model takes {want_shape[-1]}")
        dtype = np.dtype(spec.dtype) if spec.dtype else np.dtype(np.float32)
        if dtype.kind in "iu" and x.dtype.kind == "f" and not np.all(np.isfinite(x) & (x == np.round(x))):
            raise BridgeError(f"{what}: the model takes integer ids; the input holds fractions")
        x = x.astype(dtype, copy=False)
    elif x.dtype.kind == "f":
        x = x.astype(np.float32, copy=False)
    return x


def _compute_dtype(layer: Any) -> np.dtype:
    return np.dtype(layer.compute_dtype)


def _cell(keras: Any, what: str, layer: Any) -> LSTMCell:
    weights = layer.get_weights()
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if getattr(layer.cell, "use_bias", True) and len(weights) > 2 else None
    return LSTMCell.from_keras(
        kernel, recurrent, bias,
        activation=_activation_name(keras, what, layer, "activation"),
        recurrent_activation=_activation_name(keras, what, layer, "recurrent_activation"),
    )


def _agreement(pairs: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | float]]) -> tuple[float, float]:
    """The largest |a − b| over ``(a, b, allowed)`` triples, and the largest
    |a − b| as a fraction of what is allowed there (≤ 1: they agree), by the
    core's comparison rule: NaN matches NaN and an infinity the same
    infinity (a debugger must record NaNs faithfully, not reject them); NaN
    against a number never agrees."""
    worst = ratio = 0.0
    for a, b, allowed in pairs:
        err = abs_difference(a, b)
        if err.size == 0:
            continue
        err = np.where(np.isnan(err), np.inf, err)
        bound = np.broadcast_to(np.asarray(allowed, np.float64), err.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(err == 0, 0.0, err / bound)
        worst = max(worst, float(err.max()))
        ratio = max(ratio, float(np.nan_to_num(r, nan=np.inf).max()))
    return worst, ratio


@dataclass
class _Half:
    """One LSTM of the model, ready to record: its weights and what Keras fed
    it, in processing order (``x_steps``, ``mask_steps``) and as Keras
    takes it (positions)."""

    layer: Any
    cell: LSTMCell
    x_positions: np.ndarray  # input in position order, batch of one
    mask_positions: np.ndarray | None
    x_steps: np.ndarray  # (T, D) in processing order
    mask_steps: np.ndarray | None
    h0: np.ndarray
    c0: np.ndarray
    dtype: np.dtype
    backwards: bool

    @property
    def steps(self) -> int:
        return int(self.x_steps.shape[0])

    @property
    def name(self) -> str:
        return str(self.layer.name)


def _prepare_half(keras: Any, what: str, half: Any, call: _Call, state: list[np.ndarray] | None) -> _Half:
    cell = _cell(keras, what, half)
    dtype = _compute_dtype(half)
    x = np.asarray(call.x)
    if x.ndim != 3 or x.shape[0] != 1:
        raise BridgeError(f"{what}: layer {half.name!r} received an input of shape {x.shape}; "
                          "expected (1, T, D)")
    H = cell.units
    h0 = np.zeros(H, dtype) if state is None else np.asarray(state[0], dtype).reshape(-1, H)[0]
    c0 = np.zeros(H, dtype) if state is None else np.asarray(state[1], dtype).reshape(-1, H)[0]
    mask = None if call.mask is None else np.asarray(call.mask, bool).reshape(x.shape[0], -1)[0]
    backwards = bool(half.go_backwards)
    # The trace numbers steps in processing order: a backwards layer's step t
    # read position T-1-t, so its x (and mask) are stored reversed.
    x_steps = np.ascontiguousarray(x[0][::-1] if backwards else x[0]).astype(dtype, copy=False)
    mask_steps = None if mask is None else np.ascontiguousarray(mask[::-1] if backwards else mask)
    return _Half(half, cell, x, mask, x_steps, mask_steps, h0, c0, dtype, backwards)


class _Verifier:
    """The recording of one layer compared with Keras a chunk of steps at a
    time, as the chunks are computed.

    Two checks run on every chunk. The sequence check continues Keras' own
    free-running pass (a copy of the layer that returns its sequence and
    state, compiled once) from the state Keras itself reached at the end of
    the chunk before, and bounds the difference by the rounding of two whole
    passes up to that step. Where rounding amplifies along the sequence
    (unbounded activations, large weights) a correct recording can drift
    beyond that; then the step check decides: Keras' cell fed each recorded
    state, so no error accumulates, and a wrong weight or activation still
    shows at the first step. Both run from the start because the chunks
    before a failing one are gone by then; once the sequence check has
    failed it stops (the layer can only be verified step by step), and once
    both have failed the recording is refused at once."""

    def __init__(self, tf: Any, what: str, half: _Half, tol: float | None):
        self.tf, self.what, self.half, self.tol = tf, what, half, tol
        layer = half.layer
        config = layer.get_config()
        config.update(return_sequences=True, return_state=True, stateful=False, name=f"{layer.name}_check")
        copy = type(layer).from_config(config)
        copy.build((1, None, half.x_positions.shape[2]))
        copy.set_weights(layer.get_weights())
        name = half.dtype.name
        if half.mask_positions is None:
            self._sequence = tf.function(lambda x, h, c: copy(x, initial_state=[h, c], training=False),
                                         reduce_retracing=True)
        else:
            self._sequence = tf.function(
                lambda x, m, h, c: copy(x, mask=m, initial_state=[h, c], training=False), reduce_retracing=True)
        cell = layer.cell
        self._cell = tf.function(lambda x, h, c: cell(x, [h, c], training=False), reduce_retracing=True)
        self.state = (tf.constant(half.h0[None], dtype=name), tf.constant(half.c0[None], dtype=name))
        self.sequence_ok = True
        # The free-running bounds of h and c at the last step checked: a
        # masked step carries that state, drift and all, into the next chunk.
        self.carried: tuple[np.ndarray, np.ndarray] | None = None
        self.seq_err = self.seq_ratio = 0.0
        self.step_err = self.step_ratio = 0.0

    def _keras_sequence(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keras' own h at steps a … b-1 (processing order) and its (h, c)
        after them, continuing its pass from where the last chunk left it."""
        half, tf, name = self.half, self.tf, self.half.dtype.name
        T = half.steps
        # Positions T-b … T-a-1 for a layer that runs backwards (the copy
        # goes backwards too, and returns its sequence in processing order).
        lo, hi = (T - b, T - a) if half.backwards else (a, b)
        x = tf.constant(half.x_positions[:, lo:hi], dtype=name)
        if half.mask_positions is None:
            seq, h, c = self._sequence(x, *self.state)
        else:
            m = tf.constant(half.mask_positions[None, lo:hi])
            seq, h, c = self._sequence(x, m, *self.state)
        self.state = (h, c)
        return np.asarray(seq)[0], np.asarray(h)[0], np.asarray(c)[0]

    def _keras_steps(self, rec: Recording) -> tuple[np.ndarray, np.ndarray]:
        """Keras' cell applied to every step of the chunk at once, each fed
        the recorded x_t and the recorded state before it."""
        name = self.half.dtype.name
        h_prev = np.vstack([rec.h0[None], rec.h[:-1]]).astype(name)
        c_prev = np.vstack([rec.c0[None], rec.c[:-1]]).astype(name)
        _, (h, c) = self._cell(self.tf.constant(np.asarray(rec.x, name)), self.tf.constant(h_prev),
                               self.tf.constant(c_prev))
        return np.asarray(h), np.asarray(c)

    def _bounds(self, rec: Layer, a: int) -> tuple[np.ndarray, ...]:
        """What two correct float computations of each h and c of the chunk
        may differ by (``bounds.rounding_bounds``): as whole passes (up to
        step ``a`` + t), and as steps fed the same state; or ``tol`` when a
        fixed tolerance was asked for."""
        if self.tol is not None:
            full = np.full(rec.h.shape, self.tol)
            return full, full, full, full
        free_h, free_c, step_h, step_c = (np.empty(rec.h.shape) for _ in range(4))
        for s, e in blocks(rec.steps, 6 * rec.units + rec.input_dim):
            checked = recompute(rec, s, e)
            free = rounding_bounds(rec, s, e, free_running=True, start=a, checked=checked)
            step = rounding_bounds(rec, s, e, checked=checked)
            free_h[s:e], free_c[s:e], step_h[s:e], step_c[s:e] = free["h"], free["c"], step["h"], step["c"]
        if rec.mask is not None:
            # A masked step holds the state of the step before: at least
            # that step's bound, wherever the chunk or block began.
            for t in np.flatnonzero(~np.asarray(rec.mask, bool)):
                before = (free_h[t - 1], free_c[t - 1]) if t else self.carried
                if before is not None:
                    np.maximum(free_h[t], before[0], out=free_h[t])
                    np.maximum(free_c[t], before[1], out=free_c[t])
        self.carried = (free_h[-1].copy(), free_c[-1].copy())
        return free_h, free_c, step_h, step_c

    def chunk(self, a: int, rec: Recording) -> None:
        """Check steps a … a+n-1, recorded as ``rec``."""
        half = self.half
        layer = Layer.from_recording(rec, name=half.name, cell=half.cell)
        n = layer.steps
        keep = np.ones(n, bool) if rec.mask is None else np.asarray(rec.mask, bool)
        free_h, free_c, step_h, step_c = self._bounds(layer, a)
        if self.sequence_ok:
            seq, h_end, c_end = self._keras_sequence(a, a + n)
            # Keras' per-step output at a masked step is the previous output
            # or zeros (zero_output_for_mask), not the carried state: compare
            # the steps that ran, plus the states after the chunk, which
            # carry over in both.
            err, ratio = _agreement(iter([(rec.h[keep], seq[keep], free_h[keep]),
                                          (rec.h[-1], h_end, free_h[-1]), (rec.c[-1], c_end, free_c[-1])]))
            self.seq_err, self.seq_ratio = max(self.seq_err, err), max(self.seq_ratio, ratio)
            self.sequence_ok = self.seq_ratio <= 1
        h, c = self._keras_steps(rec)
        err, ratio = _agreement(iter([(rec.h[keep], h[keep], step_h[keep]), (rec.c[keep], c[keep], step_c[keep])]))
        self.step_err, self.step_ratio = max(self.step_err, err), max(self.step_ratio, ratio)
        if not self.sequence_ok and self.step_ratio > 1:
            cell = half.cell
            bounded = cell.activation in _BOUNDED and cell.recurrent_activation in _BOUNDED
            hint = "" if bounded else f" (activation {cell.activation}, recurrent {cell.recurrent_activation})"
            allowed = f"the tolerance {self.tol:g}" if self.tol is not None else "float rounding"
            raise VerificationError(f"{self.what}: layer {half.name!r}: the recording differs from Keras by "
                                    f"{self.seq_err:.3g} over the sequence and {self.step_err:.3g} at a single "
                                    f"step{hint}, {self.step_ratio:.3g} times what {allowed} allows")

    def info(self) -> dict[str, Any]:
        """What the layer's ``meta`` says of its verification."""
        if self.sequence_ok:
            # The step check ran too (chunk by chunk, before the sequence
            # check's verdict was known): say it, since on a long pass the
            # whole-pass bound grows until it says little on its own.
            return {"verified_max_abs_error": self.seq_err, "verified_by": "sequence",
                    "verified_bound_ratio": self.seq_ratio, "step_max_abs_error": self.step_err,
                    "step_bound_ratio": self.step_ratio}
        return {"verified_max_abs_error": self.step_err, "verified_by": "step",
                "verified_bound_ratio": self.step_ratio, "sequence_max_abs_error": self.seq_err}


@dataclass
class _Head:
    """The Dense softmax layer fed by the last LSTM: its weights and what
    Keras computed with it."""

    layer: Any
    kernel: np.ndarray
    bias: np.ndarray
    keras_output: np.ndarray  # (1, V) or (1, T, V)

    def apply(self, h: np.ndarray) -> np.ndarray:
        # The core's readout, as an edited run recomputes it from readout/W, b.
        return softmax_head(h, self.kernel.T, self.bias)


def _find_head(keras: Any, cap: _Capture) -> _Head | None:
    """The Dense softmax layer that reads exactly what the last LSTM layer
    output (directly, or through layers that are identities at inference,
    such as Dropout), if there is one."""
    target, call = cap.targets[-1]
    if target.bidirectional:
        # Its output mixes two layers whose step t are different positions;
        # no single layer's h_t feeds the head.
        return None
    out = _first(call.output)
    if out is None:
        return None
    for d in cap.dense:
        if d.order <= call.order:
            continue
        try:
            act = keras.activations.serialize(d.layer.activation)
        except Exception:
            continue
        if act != "softmax":
            continue
        if d.x.shape == out.shape and np.array_equal(d.x, out, equal_nan=True):
            weights = d.layer.get_weights()
            kernel = weights[0]
            bias = weights[1] if len(weights) > 1 else np.zeros(kernel.shape[1], kernel.dtype)
            return _Head(d.layer, kernel, bias, np.asarray(_first(d.output)))
    return None


def _vocab_for(V: int, vocab: str | None) -> list[str]:
    if vocab is not None and len(vocab) == V:
        return list(vocab)
    if V == len(ALPHABET):
        return list(ALPHABET)
    return [str(k) for k in range(V)]


class _Readout:
    """The head applied to the last layer's h as its chunks come, in blocks
    of rows counted from step 0 (``lstm.projection_rows``: BLAS rounds a row
    of a product by the product's size, so fixed blocks keep the readout
    the same however the steps were cut into chunks), written to
    ``readout/probs`` and, with ``verify``, compared with what Keras' head
    gave at the steps its output covers."""

    def __init__(self, what: str, head: _Head, writer: Any, T: int, dtype: np.dtype, mask: np.ndarray | None,
                 verify: bool, tol: float | None):
        self.what, self.head, self.writer, self.T, self.dtype = what, head, writer, T, dtype
        self.mask, self.verify, self.tol = mask, verify, tol
        self.rows = projection_rows(head.kernel.shape[1], dtype)
        self.pending: list[np.ndarray] = []  # h of steps not yet a whole block
        self.start = 0  # the step the pending rows start at
        self.err = self.ratio = 0.0

    def feed(self, h: np.ndarray) -> None:
        self.pending.append(np.array(h))
        have = sum(len(p) for p in self.pending)
        end = self.start + have
        if have >= self.rows or end == self.T:
            rows = np.concatenate(self.pending)
            whole = have if end == self.T else have - have % self.rows
            for s in range(0, whole, self.rows):
                self._block(self.start + s, rows[s : min(whole, s + self.rows)])
            self.pending = [rows[whole:]] if whole < have else []
            self.start += whole

    def _block(self, a: int, h: np.ndarray) -> None:
        probs = self.head.apply(h)
        self.writer.append("readout/probs", probs)
        if not self.verify:
            return
        # The head as Keras ran it, at the steps its output covers.
        ko = self.head.keras_output[0]
        b = a + len(h)
        if ko.ndim == 1:
            if b != self.T:
                return
            rows: slice | np.ndarray = slice(-1, None)
            theirs = ko[None]
        else:
            rows = slice(None) if self.mask is None else np.asarray(self.mask[a:b], bool)
            theirs = ko[a:b][rows]
        ours = probs[rows]
        bound = (self.tol if self.tol is not None
                 else 2 * readout_check(h[rows], self.head.kernel, self.head.bias, probs.dtype)[1])
        err, ratio = _agreement(iter([(ours, theirs.reshape(ours.shape), bound)]))
        self.err, self.ratio = max(self.err, err), max(self.ratio, ratio)
        if ratio > 1:
            allowed = f"the tolerance {self.tol:g}" if self.tol is not None else "float rounding"
            raise VerificationError(f"{self.what}: readout {self.head.layer.name!r} differs from Keras by "
                                    f"{self.err:.3g}, {ratio:.3g} times what {allowed} allows")


def chunk_steps(units: int, dtype: np.dtype | type | str) -> int:
    """Steps recorded at a time by default: one block of the input
    projection (``lstm.projection_rows``), a few tens of megabytes of gates
    whatever the width."""
    return projection_rows(4 * units, dtype)


def _give_back_freed_memory() -> None:
    """Return to the system the memory Keras' run of the model freed.

    Keras runs an LSTM as a loop that allocates a few small tensors every
    step (tens of thousands of steps: hundreds of megabytes in small
    blocks); freed, they stay in the C allocator's arenas, counted in the
    resident set for the rest of the recording. glibc's ``malloc_trim``
    hands their pages back. Elsewhere (no glibc) this does nothing."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass


def _record_layer(tf: Any, what: str, k: int, layers: int, half: _Half, writer: Any, *, verify: bool,
                  tol: float | None, chunk: int | None, progress: Callable[[Progress], None] | None,
                  readout: _Readout | None) -> dict[str, Any]:
    """Record, write and verify trace layer ``k`` a chunk at a time; its
    entry for ``meta["layers"]``."""
    cell, T, p = half.cell, half.steps, f"layer{k}/"
    H = cell.units
    writer.put(p + "x", half.x_steps)
    writer.put(p + "h0", np.asarray(half.h0, half.dtype))
    writer.put(p + "c0", np.asarray(half.c0, half.dtype))
    if half.mask_steps is not None:
        writer.put(p + "mask", half.mask_steps)
    for g in GATES:
        writer.put(p + f"W_{g}", cell.W[g])
        writer.put(p + f"U_{g}", cell.U[g])
        writer.put(p + f"b_{g}", cell.b[g])
    vectors = ("f", "i", "c_hat", "o", "c", "h")
    for v in vectors:
        writer.reserve(p + v, (T, H), half.dtype)
    run = Pass(cell, half.x_steps, h0=half.h0, c0=half.c0, mask=half.mask_steps, dtype=half.dtype)
    check = _Verifier(tf, what, half, tol) if verify else None
    n = max(1, chunk or chunk_steps(H, half.dtype))
    if progress is not None:
        progress(Progress("record", k, layers, half.name, 0, T))
    for a in range(0, T, n):
        rec = run.run(n)
        for v in vectors:
            writer.append(p + v, getattr(rec, v))
        if check is not None:
            check.chunk(a, rec)
        if readout is not None:
            readout.feed(rec.h)
        if progress is not None:
            progress(Progress("record", k, layers, half.name, a + len(rec.h), T))
    info = check.info() if check is not None else {}
    return {**info, "name": half.name, "units": H, "input_dim": cell.input_dim, "activation": cell.activation,
            "recurrent_activation": cell.recurrent_activation, "reversed": half.backwards}


def _record_into(
    model: Any,
    what: str,
    inputs: Any,
    writer: Any,
    *,
    tokens: Sequence[str] | None,
    verify: bool,
    tol: float | None,
    source: str,
    meta: dict[str, Any],
    vocab: str | None = None,
    chunk: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    keep_output: bool = False,
) -> tuple[_Capture, _Head | None]:
    """Record ``model`` on ``inputs`` into ``writer`` (a ``TraceWriter`` or
    a ``MemoryTraceWriter``): Keras runs the model once to capture what each
    LSTM is fed, then each layer is recomputed, written and verified a chunk
    of steps at a time, so that only a chunk of its gates is ever held."""
    tf, keras = _keras()
    targets = _targets(keras, what, model)
    batch = _batch(model, what, inputs)
    if progress is not None:
        progress(Progress("capture", 0, 0, "", 0, int(batch.shape[1])))
    cap = _capture(keras, what, model, targets, batch)
    halves: list[_Half] = []
    for target, call in cap.targets:
        state = call.initial_state
        for k, half in enumerate(target.halves):
            part = None
            if state is not None:
                part = state[2 * k : 2 * k + 2] if target.bidirectional else state[:2]
                if len(part) != 2:
                    raise BridgeError(f"{what}: layer {half.name!r} got {len(state)} initial states; "
                                      "an LSTM takes two (h and c)")
            halves.append(_prepare_half(keras, what, half, call, part))
    T = halves[0].steps
    for h in halves:
        if h.steps != T:
            raise BridgeError(f"{what}: layer {h.layer.name!r} runs over {h.steps} steps and "
                              f"layer {halves[0].layer.name!r} over {T}; a trace needs one length")
    if tokens is not None:
        tokens = [str(t) for t in tokens]
        if len(tokens) != T:
            raise BridgeError(f"{what}: {len(tokens)} tokens for {T} steps")
        writer.put("tokens", np.array(tokens, dtype=str))
    meta = dict(meta)
    head = _find_head(keras, cap)
    # Keras' outputs have served (the head keeps its own): a (T, H) array
    # each, let go before the long part. The model's output only when the
    # caller asks for it.
    for _, call in cap.targets:
        call.output = None
    cap.dense = []
    if not keep_output:
        cap.output = None
    _give_back_freed_memory()
    readout = None
    if head is not None:
        last = halves[-1]
        V = head.kernel.shape[1]
        writer.reserve("readout/probs", (T, V), last.dtype)
        writer.put("readout/vocab", np.array(_vocab_for(V, vocab), dtype=str))
        writer.put("readout/W", np.ascontiguousarray(head.kernel.T))
        writer.put("readout/b", np.asarray(head.bias))
        readout = _Readout(what, head, writer, T, last.dtype, last.mask_steps, verify, tol)
        meta["readout"] = head.layer.name
    described = []
    for k, half in enumerate(halves):
        described.append(_record_layer(tf, what, k, len(halves), half, writer, verify=verify, tol=tol,
                                       chunk=chunk, progress=progress,
                                       readout=readout if k == len(halves) - 1 else None))
    if readout is not None and verify:
        meta["readout_verified_max_abs_error"] = readout.err
        meta["readout_verified_bound_ratio"] = readout.ratio
    writer.finish(trace_meta(described, source, extra=meta))
    return cap, head


def _record_model(model: Any, what: str, inputs: Any, **kwargs: Any) -> tuple[Trace, _Capture, _Head | None]:
    """``_record_into`` a trace in memory; the trace, what Keras was seen
    computing and the readout head."""
    memory = MemoryTraceWriter()
    cap, head = _record_into(model, what, inputs, memory, keep_output=True, **kwargs)
    assert memory.trace is not None
    return memory.trace, cap, head


def _record(model_or_path: Any, inputs: Any, *, tokens: Sequence[str] | None, verify: bool,
            tol: float | None, source: str | None, vocab: str | None, out: str | os.PathLike | None,
            overwrite: bool, chunk: int | None, progress: Callable[[Progress], None] | None) -> Trace:
    model, what, label = _resolve(model_or_path)
    meta_model = str(model_or_path) if isinstance(model_or_path, (str, os.PathLike)) else model.name
    kwargs: dict[str, Any] = dict(tokens=tokens, verify=verify, tol=tol, source=source or f"keras: {label}",
                                  meta={"model": meta_model}, vocab=vocab, chunk=chunk, progress=progress)
    if out is None:
        return _record_model(model, what, inputs, **kwargs)[0]
    write_trace(out, lambda writer: _record_into(model, what, inputs, writer, **kwargs), overwrite=overwrite)
    return load_trace(out)


def record(
    model_or_path: Any,
    inputs: Any,
    *,
    tokens: Sequence[str] | None = None,
    verify: bool = True,
    tol: float | None = None,
    source: str | None = None,
    out: str | os.PathLike | None = None,
    overwrite: bool = True,
    chunk: int | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Trace:
    """Record every LSTM layer of a Keras model on one input sequence.

    ``inputs`` is (T, D) features, or (T,) integer ids for a model that
    starts with an Embedding; a batch of one, (1, T, D) or (1, T), is
    accepted too. Each LSTM layer (a Bidirectional gives two: Keras' forward
    and backward halves, both fed the same input) becomes a trace layer, in
    the order the model runs them, with the input Keras actually fed it, its
    weights, initial state (zeros, the explicit initial state, or a stateful
    layer's current state; the model's state is left as it was) and mask.

    With ``verify`` each layer is compared with Keras' own compiled
    computation and the largest difference kept in
    ``layer.info["verified_max_abs_error"]`` (and ``"verified_by"``:
    ``"sequence"``, or ``"step"`` when only the step-by-step check holds;
    ``"verified_bound_ratio"``: that difference as a fraction of what is
    allowed). Each value must agree within twice its rounding bound (the
    core's rule, ``numeric``: scaled to the terms that produced it), or
    within ``tol`` when one is given; otherwise it raises
    ``VerificationError`` (a ``BridgeError``).

    When the last LSTM layer (not a Bidirectional) feeds a Dense softmax
    layer, that head is applied to its h at every step as the trace's
    readout (its weights kept as ``readout_W``, ``readout_b``); labels a–z
    when it has 26 outputs, else "0", "1", ...

    ``out``: write the trace to this file as it is computed, and return it
    loaded from there (memory-mapped). The gates of a layer are computed,
    written and verified ``chunk`` steps at a time (by default a few tens of
    megabytes' worth, ``chunk_steps``), so a recording holds about one
    chunk of gates besides what Keras itself holds, however long the
    sequence; the numbers are the same, bit for bit, whatever the chunk. The
    file appears only once complete (``overwrite=False``: only if it does
    not exist yet): a failed or killed recording leaves the old file or none.
    Without ``out``, the trace is built in memory.

    ``progress`` is called with a ``Progress`` before Keras runs the model
    and after every chunk of every layer.
    """
    return _record(model_or_path, inputs, tokens=tokens, verify=verify, tol=tol, source=source, vocab=None,
                   out=out, overwrite=overwrite, chunk=chunk, progress=progress)


def _encode(text: str, vocab: str) -> np.ndarray:
    try:
        return encode(text, vocab)
    except ValueError as e:
        raise BridgeError(f"text {text!r}: {e}") from None


def record_text(
    model_or_path: Any,
    text: str,
    *,
    vocab: str | None = None,
    verify: bool = True,
    source: str | None = None,
    out: str | os.PathLike | None = None,
    overwrite: bool = True,
    chunk: int | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Trace:
    """Record a model on ``text``, one-hot encoded with ``vocab`` (default:
    the vocabulary stored with the model file, else a–z); the tokens are the
    characters of ``text``. ``out``, ``overwrite``, ``chunk`` and
    ``progress`` as for ``record``."""
    if vocab is None and isinstance(model_or_path, (str, os.PathLike)):
        from .weights import stored_vocab

        vocab = stored_vocab(model_or_path)
    vocab = ALPHABET if vocab is None else vocab
    if not text:
        raise BridgeError("text: empty; type at least one letter")
    x = _encode(text, vocab)
    return _record(model_or_path, x, tokens=list(text), verify=verify, tol=None, source=source, vocab=vocab,
                   out=out, overwrite=overwrite, chunk=chunk, progress=progress)


def trained_on(alphabet: str = ALPHABET, window: int = WINDOW) -> str:
    """What the next-letter model was trained on, in one phrase:
    "3-letter windows (abc→d … wxy→z)"."""
    last = len(alphabet) - window - 1

    def example(k: int) -> str:
        return f"{alphabet[k : k + window]}→{alphabet[k + window]}"

    return f"{window}-letter windows ({example(0)} … {example(last)})"


def trained_steps(text: str, alphabet: str = ALPHABET, window: int = WINDOW) -> list[int]:
    """The steps of a pass over ``text`` (from a zero state) at which the
    model stands as it stood in training: at the end of a first window that
    is one of the data set's. Every other step asks it something it never
    saw: a window not yet full, or a state carried on past one."""
    windows = {alphabet[k : k + window] for k in range(len(alphabet) - window)}
    return [window - 1] if text[:window] in windows else []


def make_default_trace() -> Trace:
    """The bundled default trace: the shipped model reading one of its
    training windows, 'def', as the notebook asks it.

    A trace is one sequence with a continuous state, and the model was trained
    on three-letter windows from a zero state, so only the last step (t = 2)
    asks it what it learnt; t = 0 and 1 see a window not yet full. The meta
    says so, for the screen to show: ``description`` (what the model was
    trained on and what the trace reads) and ``trained_steps`` (the steps
    whose prediction is one the model was trained to make).
    """
    text = DEFAULT_TRACE_TEXT
    trace = record_text(default_model_path(), text, source=DEFAULT_TRACE_SOURCE)
    # Package-relative, so the file is the same whichever checkout wrote it.
    trace.meta["model"] = f"lstm_tui/models/{MODEL_FILE}"
    trace.meta["description"] = f"Trained on {trained_on()}; here it reads {text!r}."
    trace.meta["trained_steps"] = trained_steps(text)
    return trace
