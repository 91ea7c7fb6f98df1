"""Everything that touches Keras and TensorFlow: loading a model safely,
recording its LSTM layers as a trace, training the seed's next-letter model
and the fast NumPy predictor behind the model panel.

TensorFlow takes seconds to import and prints C++ log lines while it does, so
this module imports it only inside functions (``_keras()``), once, with the log
level raised and the process's stderr silenced for the length of the import.
Importing ``lstm_tui.keras_bridge`` itself costs nothing.

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

The bridge answers with ``BridgeError``, whose message is one line,
``<what>: <why>``, for every model it cannot load or record.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import sys
import tempfile
import threading
import warnings
import weakref
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .demo import ALPHABET, WINDOW, decode, encode, next_letter_dataset
from .check import rounding_bounds
from .errors import LstmTuiError
from .lstm import ACTIVATIONS, LSTMCell, Recording, forward, readout_check
from .numeric import abs_difference, blocks
from .trace import Layer, Trace, TraceError, require_regular_file, write_atomically

__all__ = [
    "BridgeError",
    "Predictor",
    "VerificationError",
    "default_model_path",
    "load_model",
    "make_default_trace",
    "record",
    "record_text",
    "train",
]

#: Where the trained seed model ships (package data).
MODEL_FILE = "next_letter.keras"
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


class BridgeError(LstmTuiError):
    """A model that cannot be loaded, recorded or trained. ``str()`` is one
    line, ``<what>: <why>``; the CLI prints it after ``lstm-tui: error:``
    and exits with ``code``."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class VerificationError(BridgeError):
    """The recomputed recording differs from Keras beyond the tolerance: a
    comparison that found a difference (the CLI's exit 1), as opposed to a
    model or input that cannot be recorded at all (exit 2)."""

    code = 1


def _one_line(e: BaseException, limit: int = 300) -> str:
    """An exception as a short single line (Keras' messages run to
    paragraphs; the first sentences say what went wrong)."""
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------
# Importing Keras quietly
# --------------------------------------------------------------------------

_import_lock = threading.Lock()
_modules: tuple[Any, Any] | None = None


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration.

    TensorFlow's C++ start-up messages (oneDNN, CUDA probing) are written
    before its log level is read, so TF_CPP_MIN_LOG_LEVEL cannot stop them;
    only the descriptor itself can. Used around the import alone: everything
    written to stderr in that moment is lost, so keep the window short.
    """
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to protect
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _keras() -> tuple[Any, Any]:
    """(tensorflow, keras), imported once, quietly, with the TensorFlow
    backend. Safe to call from a worker thread."""
    global _modules
    if _modules is not None:
        return _modules
    with _import_lock:
        if _modules is not None:
            return _modules
        # Must be set before TensorFlow is first imported to take effect.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        if "keras" not in sys.modules:
            os.environ["KERAS_BACKEND"] = "tensorflow"
        try:
            with _stderr_silenced(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import tensorflow as tf
                import keras
        except ImportError as e:
            raise BridgeError(f"tensorflow: cannot import it ({_one_line(e)}); "
                              "install it with: pip install tensorflow") from None
        if keras.backend.backend() != "tensorflow":
            raise BridgeError(f"keras: the {keras.backend.backend()!r} backend is active; lstm-tui needs "
                              "'tensorflow' (unset KERAS_BACKEND or import lstm-tui before keras)")
        tf.get_logger().setLevel("ERROR")
        try:
            from absl import logging as absl_logging

            absl_logging.set_verbosity(absl_logging.ERROR)
        except ImportError:  # absl comes with TensorFlow; be lenient anyway
            pass
        _modules = (tf, keras)
        return _modules


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def default_model_path() -> Path:
    """The trained seed model shipped with the package (no TensorFlow
    import)."""
    return Path(__file__).resolve().parent / "models" / MODEL_FILE


def _scan_config(what: str, config: Any) -> None:
    """Refuse what safe loading would refuse, in our own words, before Keras
    sees the file: Lambda layers (Python code inside the model) and custom
    classes or functions (code that would have to be imported)."""

    def walk(node: Any, owner: str | None) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, owner)
            return
        if not isinstance(node, dict):
            return
        cls = node.get("class_name")
        cfg = node.get("config")
        name = cfg.get("name") if isinstance(cfg, dict) else None
        label = f"layer {name!r} ({cls})" if isinstance(name, str) else f"{cls}"
        if isinstance(cls, str) and cls.rpartition(".")[2] == "Lambda":
            # "Lambda", "layers.Lambda", "keras.layers.Lambda": all spell the class
            raise BridgeError(f"{what}: {label} is not supported: it holds Python code, "
                              "and a model file is never allowed to run code (safe mode)")
        if cls == "__lambda__":
            where = f" in {owner}" if owner else ""
            raise BridgeError(f"{what}: a Python lambda{where} is not supported: "
                              "a model file is never allowed to run code (safe mode)")
        module = node.get("module")
        registered = node.get("registered_name")
        if isinstance(cls, str) and isinstance(module, str):
            builtin = module == "keras" or module.startswith("keras.") or module == "builtins"
            if not builtin:
                raise BridgeError(f"{what}: {label} is a custom object from module {module!r}: "
                                  "only built-in Keras layers and functions are loaded (safe mode)")
        if isinstance(registered, str) and ">" in registered:
            raise BridgeError(f"{what}: {label} is a custom object {registered!r}: "
                              "only built-in Keras layers and functions are loaded (safe mode)")
        for key, value in node.items():
            if key != "class_name":
                walk(value, label if isinstance(name, str) else owner)

    walk(config, None)


#: A .keras archive's members are inflated by Keras; a member may claim at
#: most this many times its compressed size (deflate cannot do better than
#: about 1032:1) and all of them together at most this many times the file's
#: size plus ``INFLATE_SLACK``: a zip bomb is refused before Keras reads it.
MAX_DEFLATE_RATIO = 1100
INFLATE_FACTOR = 32
INFLATE_SLACK = 64 << 20
#: Bytes a declared weight takes at the least (float16): a config whose
#: layers declare more weights than the weights file can hold is refused
#: before Keras allocates them.
MIN_WEIGHT_BYTES = 2
#: Room for the weights file's own structure (HDF5 headers, names).
WEIGHTS_SLACK = 1 << 20


def _regular_file(what: str, p: Path) -> os.stat_result:
    """The file's status, after refusing anything that is not a regular
    file (``trace.require_regular_file``): a FIFO would block the first read
    forever, a device such as /dev/zero never ends."""
    if p.is_dir():
        raise BridgeError(f"{what}: is a directory; expected a .keras model file "
                          "(TensorFlow SavedModel directories are not supported)")
    try:
        return require_regular_file(p, "Keras model file")
    except TraceError as e:
        raise BridgeError(f"{what}: {e.why}") from None


def load_model(path: str | os.PathLike) -> Any:
    """Load a Keras model file (``.keras``, or legacy ``.h5``) safely:
    ``safe_mode=True``, ``compile=False``, after refusing ourselves what
    would run code (Lambda layers, custom objects) and what would allocate
    without bound (a special file, a zip bomb, a config that declares more
    weights than the file holds). Raises ``BridgeError`` naming the file."""
    p = Path(path)
    what = str(path)
    st = _regular_file(what, p)
    suffix = p.suffix.lower()
    if suffix in (".h5", ".hdf5"):
        config = _h5_config(what, p)
        weights_bytes = st.st_size
    elif suffix == ".keras":
        config, weights_bytes = _keras_zip_config(what, p, st.st_size)
    else:
        raise BridgeError(f"{what}: not a Keras model file (expected a .keras file, or a legacy .h5)")
    _scan_config(what, config)
    _check_declared_weights(what, config, weights_bytes)
    _, keras = _keras()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Resolved, so that Keras never reads it as a remote (gs://, hf://) path.
            model = keras.saving.load_model(str(p.resolve()), safe_mode=True, compile=False)
    except BridgeError:
        raise
    except Exception as e:  # Keras raises a zoo of types for bad files
        raise BridgeError(f"{what}: cannot load the model ({_one_line(e)})") from None
    if not isinstance(model, keras.Model):
        raise BridgeError(f"{what}: holds a {type(model).__name__}, not a Keras model")
    return model


def _keras_zip_config(what: str, p: Path, size: int) -> tuple[Any, int]:
    """The archive's config and the uncompressed size of its weights file,
    after checking every member's declared size."""
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            if "config.json" not in names:
                raise BridgeError(f"{what}: not a Keras model (the archive has no config.json)")
            total = 0
            for info in infos:
                if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
                    raise BridgeError(f"{what}: member {info.filename!r} claims {info.file_size} bytes but "
                                      f"stores {info.compress_size} (a damaged or crafted archive)")
                if info.file_size > MAX_DEFLATE_RATIO * max(info.compress_size, 1):
                    raise BridgeError(f"{what}: member {info.filename!r} would inflate {info.compress_size} bytes "
                                      f"to {info.file_size} (a zip bomb?)")
                total += info.file_size
            if total > INFLATE_FACTOR * size + INFLATE_SLACK:
                raise BridgeError(f"{what}: its members would inflate to {total} bytes from a file of {size} "
                                  "(a zip bomb?)")
            info = zf.getinfo("config.json")
            if info.file_size > 64 << 20:
                raise BridgeError(f"{what}: config.json is implausibly large ({info.file_size} bytes)")
            raw = zf.read("config.json")
            weights = next((i.file_size for i in infos if i.filename == "model.weights.h5"), 0)
    except zipfile.BadZipFile:
        raise BridgeError(f"{what}: not a Keras model file (not a .keras zip archive)") from None
    except OSError as e:
        raise BridgeError(f"{what}: {e.strerror or _one_line(e)}") from None
    try:
        return json.loads(raw), weights
    except (ValueError, RecursionError) as e:
        raise BridgeError(f"{what}: config.json is not valid JSON ({_one_line(e)})") from None


def _last_dim(node: dict[str, Any]) -> int:
    """The last dimension of a layer's input from its build config (0 when
    the config does not say)."""
    build = node.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    if isinstance(shape, list) and shape and isinstance(shape[-1], int) and shape[-1] > 0:
        return shape[-1]
    return 0


def _declared_weights(node: Any) -> int:
    """A lower bound on the number of weights the layers of a model config
    declare: LSTM 4·H·(D + H + 1), GRU 3·H·(D + H + 2), SimpleRNN
    H·(D + H + 1), Dense V·(H + 1), Embedding N·D (an input size the config
    does not give counts as 0; a Bidirectional counts its layer twice).
    Other layers count 0."""
    if isinstance(node, list):
        return sum(_declared_weights(item) for item in node)
    if not isinstance(node, dict):
        return 0
    cls, cfg = node.get("class_name"), node.get("config")
    if isinstance(cfg, dict):
        def num(key: str) -> int:
            v = cfg.get(key)
            return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 0

        units, d = num("units"), _last_dim(node)
        if cls in ("LSTM", "LSTMCell"):
            return 4 * units * (d + units + 1)
        if cls in ("GRU", "GRUCell"):
            return 3 * units * (d + units + 2)
        if cls in ("SimpleRNN", "SimpleRNNCell"):
            return units * (d + units + 1)
        if cls == "Dense":
            return units * (d + 1)
        if cls == "Embedding":
            return num("input_dim") * num("output_dim")
        if cls == "Bidirectional":
            inner = _declared_weights(cfg.get("layer"))
            back = cfg.get("backward_layer")
            return inner + (_declared_weights(back) if back is not None else inner)
    return sum(_declared_weights(v) for k, v in node.items() if k != "class_name")


def _check_declared_weights(what: str, config: Any, weights_bytes: int) -> None:
    """Refuse a config that declares more weights than the file holds: Keras
    would allocate them all (a 120 KB file saying LSTM(20000) asks for 6 GB)
    before it found the weights missing."""
    declared = _declared_weights(config)
    need = declared * MIN_WEIGHT_BYTES
    if need > weights_bytes + WEIGHTS_SLACK:
        raise BridgeError(f"{what}: its layers declare {declared:,} weights (at least {need:,} bytes), "
                          f"but the file holds {weights_bytes:,} bytes of weights")


def _h5_config(what: str, p: Path) -> Any:
    try:
        import h5py  # a Keras dependency; imported here to keep the module light
    except ImportError:
        raise BridgeError(f"{what}: reading .h5 models needs h5py (pip install h5py)") from None
    try:
        with h5py.File(p, "r") as f:
            raw = f.attrs.get("model_config")
    except OSError:
        raise BridgeError(f"{what}: not a Keras model file (not an HDF5 file)") from None
    if raw is None:
        raise BridgeError(f"{what}: an HDF5 file without a model (weights only?)")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise BridgeError(f"{what}: its model_config is not valid JSON ({_one_line(e)})") from None


def _resolve(model_or_path: Any) -> tuple[Any, str, str]:
    """(model, what, label): ``what`` names the model in errors, ``label``
    is the file name or model name for the trace's source line."""
    if isinstance(model_or_path, (str, os.PathLike)):
        model = load_model(model_or_path)
        return model, str(model_or_path), Path(model_or_path).name
    _, keras = _keras()
    if not isinstance(model_or_path, keras.Model):
        raise BridgeError(f"{type(model_or_path).__name__}: not a Keras model or a path to one")
    return model_or_path, f"model {model_or_path.name!r}", model_or_path.name


# --------------------------------------------------------------------------
# Finding the LSTM layers
# --------------------------------------------------------------------------


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
        elif isinstance(layer, getattr(L, "TimeDistributed", ())) and _is_lstm_like(keras, what, layer.layer):
            raise BridgeError(f"{what}: layer {layer.name!r} (TimeDistributed) is not supported: "
                              "an LSTM applied per time step")
        elif _is_lstm_like(keras, what, layer):
            _check_lstm(keras, what, layer)
            found.append(_Target(layer, [layer], False))
    if not found:
        shown = ", ".join(dict.fromkeys(kinds)) or "no layers"
        raise BridgeError(f"{what}: has no LSTM layer to record (found: {shown})")
    return found


# --------------------------------------------------------------------------
# Capturing what Keras feeds each LSTM
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------


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
    """One LSTM of the model, recorded: its trace layer and what was needed
    to compute it (kept for verification)."""

    layer: Any
    trace_layer: Layer
    x_positions: np.ndarray  # input in position order, batch of one
    mask_positions: np.ndarray | None
    h0: np.ndarray
    c0: np.ndarray
    dtype: np.dtype


def _record_half(keras: Any, what: str, half: Any, call: _Call, state: list[np.ndarray] | None) -> _Half:
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
    x_steps = x[0][::-1] if backwards else x[0]
    mask_steps = None if mask is None else (mask[::-1] if backwards else mask)
    rec = forward(cell, np.ascontiguousarray(x_steps), h0=h0, c0=c0,
                  mask=None if mask_steps is None else mask_steps.copy(), dtype=dtype)
    trace_layer = Layer.from_recording(rec, name=half.name, cell=cell, reversed=backwards)
    return _Half(half, trace_layer, x, mask, h0, c0, dtype)


def _keras_sequence(tf: Any, half: _Half) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keras' own h at every step (processing order) and final (h, c), from a
    copy of the layer that returns them, run compiled (tf.function)."""
    layer = half.layer
    config = layer.get_config()
    config.update(return_sequences=True, return_state=True, stateful=False, name=f"{layer.name}_check")
    copy = type(layer).from_config(config)
    T, D = half.x_positions.shape[1:]
    copy.build((1, T, D))
    copy.set_weights(layer.get_weights())
    x = tf.constant(half.x_positions, dtype=half.dtype.name)
    h0 = tf.constant(half.h0[None], dtype=half.dtype.name)
    c0 = tf.constant(half.c0[None], dtype=half.dtype.name)
    if half.mask_positions is None:
        run = tf.function(lambda x, h, c: copy(x, initial_state=[h, c], training=False))
        seq, h, c = run(x, h0, c0)
    else:
        m = tf.constant(half.mask_positions[None])
        run = tf.function(lambda x, m, h, c: copy(x, mask=m, initial_state=[h, c], training=False))
        seq, h, c = run(x, m, h0, c0)
    return np.asarray(seq)[0], np.asarray(h)[0], np.asarray(c)[0]


def _keras_steps(tf: Any, half: _Half) -> tuple[np.ndarray, np.ndarray]:
    """Keras' cell applied to every step at once, each fed the recorded x_t
    and the recorded state before it: (h_t, c_t) free of accumulated error."""
    rec = half.trace_layer
    h_prev = np.vstack([rec.h0[None], rec.h[:-1]]).astype(half.dtype.name)
    c_prev = np.vstack([rec.c0[None], rec.c[:-1]]).astype(half.dtype.name)
    cell = half.layer.cell
    run = tf.function(lambda x, h, c: cell(x, [h, c], training=False))
    _, (h, c) = run(tf.constant(np.asarray(rec.x, half.dtype.name)), tf.constant(h_prev), tf.constant(c_prev))
    return np.asarray(h), np.asarray(c)


def _step_bounds(rec: Layer, tol: float | None, free_running: bool) -> tuple[np.ndarray, np.ndarray]:
    """What two correct float computations of each recorded h and c may
    differ by (``check.rounding_bounds``: whole passes when
    ``free_running``, else steps fed the same state), or ``tol`` when a
    fixed tolerance was asked for."""
    if tol is not None:
        return np.full(rec.h.shape, tol), np.full(rec.c.shape, tol)
    bound_h, bound_c = np.empty(rec.h.shape), np.empty(rec.c.shape)
    for a, b in blocks(rec.steps, 6 * rec.units + rec.input_dim):
        bounds = rounding_bounds(rec, a, b, free_running=free_running)
        bound_h[a:b], bound_c[a:b] = bounds["h"], bounds["c"]
    return bound_h, bound_c


def _verify(tf: Any, what: str, half: _Half, tol: float | None) -> None:
    """Compare the NumPy recording with Keras: first Keras' own pass over the
    sequence; where rounding amplified along the sequence (unbounded
    activations, large weights) that can drift apart from a correct
    recording, so then Keras' cell is fed each recorded state and must
    agree step by step. Raises ``VerificationError`` when neither holds."""
    rec = half.trace_layer
    keep = np.ones(rec.steps, bool) if rec.mask is None else np.asarray(rec.mask, bool)
    bound_h, bound_c = _step_bounds(rec, tol, free_running=True)
    seq, h_T, c_T = _keras_sequence(tf, half)
    # Keras' per-step output at a masked step is the previous output or zeros
    # (zero_output_for_mask), not the carried state: compare the steps that
    # ran, plus the final states, which carry over in both.
    err, ratio = _agreement(iter([(rec.h[keep], seq[keep], bound_h[keep]), (rec.h[-1], h_T, bound_h[-1]),
                                  (rec.c[-1], c_T, bound_c[-1])]))
    rec.info["verified_max_abs_error"] = err
    rec.info["verified_by"] = "sequence"
    rec.info["verified_bound_ratio"] = ratio
    if ratio <= 1:
        return
    h, c = _keras_steps(tf, half)
    bound_h, bound_c = _step_bounds(rec, tol, free_running=False)
    step_err, step_ratio = _agreement(iter([(rec.h[keep], h[keep], bound_h[keep]),
                                            (rec.c[keep], c[keep], bound_c[keep])]))
    if step_ratio <= 1:
        rec.info["verified_max_abs_error"] = step_err
        rec.info["verified_by"] = "step"
        rec.info["verified_bound_ratio"] = step_ratio
        rec.info["sequence_max_abs_error"] = err
        return
    bounded = rec.activation in _BOUNDED and rec.recurrent_activation in _BOUNDED
    hint = "" if bounded else f" (activation {rec.activation}, recurrent {rec.recurrent_activation})"
    allowed = f"the tolerance {tol:g}" if tol is not None else "float rounding"
    raise VerificationError(f"{what}: layer {rec.name!r}: the recording differs from Keras by {err:.3g} "
                            f"over the sequence and {step_err:.3g} at a single step{hint}, "
                            f"{step_ratio:.3g} times what {allowed} allows")


def _softmax(z: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(z - np.max(z, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)


@dataclass
class _Head:
    """The Dense softmax layer fed by the last LSTM: its weights and what
    Keras computed with it."""

    layer: Any
    kernel: np.ndarray
    bias: np.ndarray
    keras_output: np.ndarray  # (1, V) or (1, T, V)

    def apply(self, h: np.ndarray) -> np.ndarray:
        z = np.asarray(h) @ self.kernel.astype(h.dtype, copy=False) + self.bias.astype(h.dtype, copy=False)
        return _softmax(z)


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


def _record_model(
    model: Any,
    what: str,
    inputs: Any,
    *,
    tokens: Sequence[str] | None,
    verify: bool,
    tol: float | None,
    source: str,
    meta: dict[str, Any],
    vocab: str | None = None,
) -> tuple[Trace, _Capture, _Head | None]:
    tf, keras = _keras()
    targets = _targets(keras, what, model)
    batch = _batch(model, what, inputs)
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
            halves.append(_record_half(keras, what, half, call, part))
    T = halves[0].trace_layer.steps
    for h in halves:
        if h.trace_layer.steps != T:
            raise BridgeError(f"{what}: layer {h.layer.name!r} runs over {h.trace_layer.steps} steps and "
                              f"layer {halves[0].layer.name!r} over {T}; a trace needs one length")
    if verify:
        for h in halves:
            _verify(tf, what, h, tol)
    if tokens is not None:
        tokens = [str(t) for t in tokens]
        if len(tokens) != T:
            raise BridgeError(f"{what}: {len(tokens)} tokens for {T} steps")
    trace = Trace(
        layers=[h.trace_layer for h in halves],
        tokens=None if tokens is None else np.array(tokens, dtype=str),
        source=source,
        meta=dict(meta),
    )
    head = _find_head(keras, cap)
    if head is not None:
        last = halves[-1].trace_layer
        probs = head.apply(last.h)
        trace.probs = probs
        trace.vocab = np.array(_vocab_for(probs.shape[1], vocab), dtype=str)
        trace.meta["readout"] = head.layer.name
        if verify:
            # The head as Keras ran it, at the steps its output covers.
            ko = head.keras_output[0]
            rows = slice(-1, None) if ko.ndim == 1 else (
                slice(None) if last.mask is None else np.asarray(last.mask, bool))
            ours = probs[rows]
            bound = (tol if tol is not None
                     else 2 * readout_check(last.h[rows], head.kernel, head.bias, probs.dtype)[1])
            err, ratio = _agreement(iter([(ours, ko.reshape(ours.shape), bound)]))
            trace.meta["readout_verified_max_abs_error"] = err
            if ratio > 1:
                allowed = f"the tolerance {tol:g}" if tol is not None else "float rounding"
                raise VerificationError(f"{what}: readout {head.layer.name!r} differs from Keras by {err:.3g}, "
                                        f"{ratio:.3g} times what {allowed} allows")
    return trace, cap, head


def record(
    model_or_path: Any,
    inputs: Any,
    *,
    tokens: Sequence[str] | None = None,
    verify: bool = True,
    tol: float | None = None,
    source: str | None = None,
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
    ``"sequence"``, or ``"step"`` when only the step-by-step check holds).
    Each value must agree within twice its rounding bound (the core's rule,
    ``numeric``: scaled to the terms that produced it), or within ``tol``
    when one is given; otherwise it raises ``VerificationError`` (a
    ``BridgeError``).

    When the last LSTM layer (not a Bidirectional) feeds a Dense softmax
    layer, that head is applied to its h at every step as the trace's
    readout; labels a–z when it has 26 outputs, else "0", "1", ...
    """
    model, what, label = _resolve(model_or_path)
    meta_model = str(model_or_path) if isinstance(model_or_path, (str, os.PathLike)) else model.name
    trace, _, _ = _record_model(model, what, inputs, tokens=tokens, verify=verify, tol=tol,
                                source=source or f"keras: {label}", meta={"model": meta_model})
    return trace


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
) -> Trace:
    """Record a model on ``text``, one-hot encoded with ``vocab`` (default
    a–z); the tokens are the characters of ``text``."""
    vocab = ALPHABET if vocab is None else vocab
    if not text:
        raise BridgeError("text: empty; type at least one letter")
    x = _encode(text, vocab)
    model, what, label = _resolve(model_or_path)
    meta_model = str(model_or_path) if isinstance(model_or_path, (str, os.PathLike)) else model.name
    trace, _, _ = _record_model(model, what, x, tokens=list(text), verify=verify, tol=None,
                                source=source or f"keras: {label}", meta={"model": meta_model},
                                vocab=vocab)
    return trace


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


# --------------------------------------------------------------------------
# Training the seed's model
# --------------------------------------------------------------------------


def train(
    out_path: str | os.PathLike,
    *,
    epochs: int = 300,
    seed: int = 0,
    progress: Callable[[int, int, dict[str, float]], None] | None = None,
    overwrite: bool = True,
) -> dict[str, Any]:
    """Train the seed notebook's next-letter model and save it to
    ``out_path`` (a ``.keras`` file), atomically.

    The model is the notebook's, LSTM(32) then Dense(26, softmax), adam,
    categorical cross-entropy, on its 23 windows of three letters; the one
    change is that it takes sequences of any length (``Input((None, 26))``),
    so the debugger can run it over a whole word. ``seed`` makes the run
    reproducible. ``progress(epoch, epochs, logs)`` is called after each
    epoch, epoch counting from 1. ``overwrite=False``: never replace an
    existing file (created exclusively, as traces are). Returns the
    accuracy and loss of the saved model on the data set, and the number of
    epochs.
    """
    target = Path(out_path)
    if target.suffix != ".keras":
        raise BridgeError(f"{out_path}: a model file must end in .keras")
    if not target.parent.is_dir():
        raise BridgeError(f"{out_path}: directory {str(target.parent)!r} does not exist")
    if not isinstance(epochs, int) or epochs < 1:
        raise BridgeError(f"epochs: {epochs!r} is not a positive whole number")
    tf, keras = _keras()
    X, y = next_letter_dataset()
    keras.utils.set_random_seed(seed)
    V = len(ALPHABET)
    model = keras.Sequential(
        [
            keras.Input((None, V), name="letters"),
            keras.layers.LSTM(32, name="lstm"),
            keras.layers.Dense(V, activation="softmax", name="dense"),
        ],
        name="next_letter",
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    callbacks = []
    if progress is not None:

        class _Progress(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                progress(epoch + 1, epochs, {k: float(v) for k, v in (logs or {}).items()})

        callbacks.append(_Progress())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y, epochs=epochs, verbose=0, callbacks=callbacks)
    p = np.asarray(model.predict_on_batch(X), np.float64)
    accuracy = float(np.mean(p.argmax(1) == y.argmax(1)))
    loss = float(-np.mean(np.sum(y * np.log(np.clip(p, 1e-7, 1.0)), axis=1)))
    try:
        write_atomically(target, lambda fp: _save_model_to(model, fp), overwrite, "the model")
    except TraceError as e:
        raise BridgeError(str(e)) from None
    return {"accuracy": accuracy, "loss": loss, "epochs": epochs}


def _save_model_to(model: Any, fp: Any) -> None:
    """Write ``model`` as a .keras archive into the open binary file ``fp``
    (``trace.write_atomically``'s: the model is put in place only once
    complete, a killed save leaves nothing, only a regular file is
    replaced). Keras 3's saving library writes to a file object; the public
    ``model.save`` takes only a path, so where that library is not found the
    model goes through a private temporary directory first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from keras.src.saving import saving_lib  # Keras 3: any binary file object
        except ImportError:
            saving_lib = None
        if saving_lib is not None:
            saving_lib.save_model(model, fp)
            return
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            model.save(path)
            with open(path, "rb") as src:
                shutil.copyfileobj(src, fp)


# --------------------------------------------------------------------------
# The model panel's fast path
# --------------------------------------------------------------------------


@dataclass(eq=False)
class Predictor:
    """Next-letter queries answered in NumPy.

    ``load`` goes through Keras once: it loads the model, checks it is a
    single-input LSTM → Dense(softmax) model over the letters, records it on
    the alphabet (which verifies the NumPy recomputation against Keras), and
    keeps the weights. Every query after that is a NumPy forward pass, no
    Keras call: fast enough for every keystroke.

    Empty text raises ``BridgeError`` ("type at least one letter"): the model
    was trained on windows of letters and has nothing to say before the first.
    """

    cell: LSTMCell
    kernel: np.ndarray  # (H, V)
    bias: np.ndarray  # (V,)
    path: Path
    vocab: str = ALPHABET
    lstm_name: str = "lstm"
    dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float32))
    verified_max_abs_error: float | None = None

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> Predictor:
        path = default_model_path() if path is None else Path(path)
        what = str(path)
        _, keras = _keras()
        model = load_model(path)
        found = [ly for ly in _walk(model, set()) if not isinstance(ly, keras.layers.InputLayer)]
        shape = " → ".join(_describe(keras, ly) for ly in found) or "no layers"
        kinds = [ly for ly in found if not isinstance(ly, keras.layers.Dropout)]
        if not (len(kinds) == 2 and _is_lstm_like(keras, what, kinds[0])
                and isinstance(kinds[1], keras.layers.Dense) and _describe(keras, kinds[1]) == "Dense(softmax)"):
            raise BridgeError(f"{what}: not a next-letter model: expected LSTM → Dense(softmax), found {shape}")
        lstm = kinds[0]
        for flag in ("go_backwards", "stateful"):
            if getattr(lstm, flag, False):
                raise BridgeError(f"{what}: not a next-letter model: its LSTM has {flag}=True")
        V = len(ALPHABET)
        D = lstm.get_weights()[0].shape[0]
        out = kinds[1].get_weights()[0].shape[1]
        if (D, out) != (V, V):
            raise BridgeError(f"{what}: not a next-letter model: it takes {D} features and predicts "
                              f"{out} classes; the letters a–z need {V} and {V}")
        trace, cap, head = _record_model(model, what, encode(ALPHABET), tokens=None, verify=True, tol=None,
                                         source="", meta={})
        if head is None or len(trace.layers) != 1:
            raise BridgeError(f"{what}: not a next-letter model: its LSTM does not feed the "
                              "Dense softmax layer directly")
        # The head must be the model's output, or the NumPy path computes
        # something else than the model.
        final = _first(cap.output)
        same = np.shape(final) == np.shape(head.keras_output) and _agreement(iter([(
            final, head.keras_output, readout_check(trace.layers[0].h[-1], head.kernel, head.bias,
                                                    trace.layers[0].h.dtype)[1])]))[1] <= 1
        if not same:
            raise BridgeError(f"{what}: not a next-letter model: its output is not the Dense softmax layer's")
        layer = trace.layers[0]
        return cls(
            cell=layer.cell,
            kernel=np.asarray(head.kernel),
            bias=np.asarray(head.bias),
            path=path,
            lstm_name=layer.name,
            dtype=np.dtype(lstm.compute_dtype),
            verified_max_abs_error=max(layer.info.get("verified_max_abs_error", 0.0),
                                       trace.meta.get("readout_verified_max_abs_error", 0.0)),
        )

    def _forward(self, text: str) -> Recording:
        if not text:
            raise BridgeError("text: empty; type at least one letter")
        x = _encode(text, self.vocab)
        return forward(self.cell, x, dtype=self.dtype)

    def _head(self, h: np.ndarray) -> np.ndarray:
        return _softmax(h @ self.kernel.astype(h.dtype, copy=False) + self.bias.astype(h.dtype, copy=False))

    def probs(self, text: str) -> np.ndarray:
        """P(next letter) after ``text``, shape (V,)."""
        rec = self._forward(text)
        return self._head(rec.h[-1])

    def top(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most likely next letters, best first."""
        return decode(self.probs(text), self.vocab, top=k)

    def record(self, text: str) -> Trace:
        """A live forward pass over ``text`` as a trace, with the readout at
        every step (the NumPy path, as verified against Keras at load)."""
        rec = self._forward(text)
        layer = Layer.from_recording(rec, name=self.lstm_name, cell=self.cell)
        return Trace(
            layers=[layer],
            tokens=np.array(list(text), dtype=str),
            probs=self._head(rec.h),
            vocab=np.array(list(self.vocab), dtype=str),
            source=f"live: {text}",
            meta={"model": str(self.path)},
        )


def _describe(keras: Any, layer: Any) -> str:
    name = type(layer).__name__
    if isinstance(layer, keras.layers.Dense):
        try:
            act = keras.activations.serialize(layer.activation)
        except Exception:
            act = "custom"
        return f"Dense({act})" if isinstance(act, str) else "Dense(custom)"
    if isinstance(layer, keras.layers.RNN) and type(layer) is keras.layers.RNN:
        return f"RNN({type(layer.cell).__name__})"
    return name
