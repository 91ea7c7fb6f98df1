"""Reading a Keras model's weights from its ``.keras`` file without
TensorFlow, and running it in NumPy.

The light install (``pip install lstm-tui``, no extras) has no TensorFlow,
yet the model panel and ``lstm-tui predict`` must answer next-letter queries
of the shipped model. A ``.keras`` file is a zip of ``config.json`` (the
layers and their settings, JSON) and ``model.weights.h5`` (the variables,
HDF5): both can be read with the standard library, NumPy and h5py. Only
numbers and known fields are read; nothing in the file is ever run (no
pickle, no Python code from the config, no custom object).

What it reads: a ``Sequential`` of an ``InputLayer``, one or more ``LSTM``
layers (any built-in activations, ``use_bias``, ``return_sequences``,
``go_backwards``), ``Dropout`` (the identity at inference) and a last
``Dense`` layer; float32 or float64. Anything else raises ``Unreadable``
naming the layer or setting, and the caller may load the model through
Keras instead when TensorFlow is installed. A file that is damaged (not a
zip, no weights, a variable of the wrong shape or type) raises
``BridgeError``: Keras could not load it either.

Where Keras 3 keeps each layer's variables (``keras.src.saving.saving_lib``):
``layers/<name>/vars/<k>`` for a Dense layer and
``layers/<name>/cell/vars/<k>`` for an LSTM, ``<name>`` the layer's class in
snake case made unique in the model's order (``lstm``, ``lstm_1``, ...: not
the layer's own name, which is kept in the ``vars`` group's ``name``
attribute and checked against the config), ``<k>`` the variable's index
in the order ``get_weights`` gives them.

The vocabulary a model reads and predicts may be stored with it: a
``"vocab"`` entry in the archive's ``metadata.json`` (Keras writes that file
and ignores keys it does not know), a string of one character per class
(``"xyz"``) or a list of one-character strings. ``store_vocab`` writes it;
``read_model`` and ``stored_vocab`` read it. Without one a model over 26
classes reads the letters a–z, as the shipped model does.

This module imports h5py inside the function that reads, and never Keras
or TensorFlow.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..core.lstm import ACTIVATIONS, LSTMCell, Recording, activation, forward
from ..core.trace import Layer, Trace, TraceError, open_regular_file
from .errors import BridgeError, _one_line
from .loading import _check_declared_weights, _checked_archive, _parse_config, _regular_file, _scan_config

#: The weights file inside a .keras archive.
WEIGHTS_MEMBER = "model.weights.h5"
#: Keras' own metadata file inside a .keras archive; it may hold our "vocab".
METADATA_MEMBER = "metadata.json"
#: The most classes a stored vocabulary may name.
MAX_VOCAB = 65536


class Unreadable(BridgeError):
    """A well-formed model the NumPy reader does not read (a layer or a
    setting it does not know): Keras may still load it."""


@dataclass(frozen=True, eq=False)
class ReadLSTM:
    """One LSTM layer as the file gives it: its cell for the core, how it
    runs, and its variables as Keras' ``get_weights`` orders them (kernel,
    recurrent kernel, bias when it has one)."""

    name: str
    cell: LSTMCell
    return_sequences: bool
    go_backwards: bool
    weights: tuple[np.ndarray, ...]


@dataclass(frozen=True, eq=False)
class ReadDense:
    """The last Dense layer: ``y = act(h·kernel + bias)``, kernel (H, V) in
    Keras' layout, bias zeros when the layer has none."""

    name: str
    kernel: np.ndarray
    bias: np.ndarray
    activation: str
    weights: tuple[np.ndarray, ...]

    @property
    def softmax(self) -> bool:
        return self.activation == "softmax"

    def apply(self, h: np.ndarray) -> np.ndarray:
        """The layer on ``h`` (H,) or (T, H), in h's precision, the product
        then the bias as Keras' Dense computes it."""
        z = np.asarray(h) @ self.kernel.astype(h.dtype, copy=False) + self.bias.astype(h.dtype, copy=False)
        return activation(self.activation)(z)


@dataclass(frozen=True, eq=False)
class ModelWeights:
    """A model read from its file: LSTM layers in the order they run, and
    its last Dense layer (None when it has none). ``run`` and ``output``
    compute it in NumPy."""

    path: Path
    name: str
    input_dim: int
    dtype: np.dtype
    lstms: tuple[ReadLSTM, ...]
    head: ReadDense | None
    #: The layers after the input, as "LSTM → Dropout → Dense(softmax)".
    shape: str
    #: The vocabulary stored with the model (``metadata.json``'s "vocab"),
    #: one character per class; None when it stores none.
    vocab: str | None = None

    def get_weights(self) -> list[np.ndarray]:
        """Every variable in the order Keras' ``model.get_weights()`` gives."""
        out = [w for layer in self.lstms for w in layer.weights]
        return out + (list(self.head.weights) if self.head is not None else [])

    def passes(self, x: np.ndarray) -> list[Recording]:
        """Every LSTM layer over ``x`` (T, D), in the model's order: a
        backwards layer reads its input from the last position, and hands
        on its outputs in the order it computed them, as Keras 3 does."""
        x = np.asarray(x, self.dtype)
        if x.ndim != 2 or x.shape[1] != self.input_dim:
            raise BridgeError(f"{self.path}: input of shape {x.shape}; the model takes (T, {self.input_dim})")
        recs = []
        for layer in self.lstms:
            steps = np.ascontiguousarray(x[::-1]) if layer.go_backwards else x
            rec = forward(layer.cell, steps, dtype=self.dtype)
            recs.append(rec)
            x = rec.h
        return recs

    def output(self, x: np.ndarray) -> np.ndarray:
        """What Keras' ``model(x[None])[0]`` gives: the head on the last
        LSTM's last h, or on every step's with ``return_sequences``."""
        h = self.passes(x)[-1].h
        h = h if self.lstms[-1].return_sequences else h[-1]
        return self.head.apply(h) if self.head is not None else h

    def run(self, x: np.ndarray, *, tokens: Sequence[str] | None = None, vocab: Sequence[str] | None = None,
            source: str = "", meta: dict[str, Any] | None = None) -> Trace:
        """A forward pass over ``x`` as a trace, as ``record`` lays one out:
        a layer per LSTM (a backwards one ``reversed``, its steps in the
        order it ran), and with a softmax head the readout at every step of
        the last layer and the head's weights (``readout/W``, ``/b``)."""
        recs = self.passes(x)
        layers = [Layer.from_recording(rec, name=ly.name, cell=ly.cell, reversed=ly.go_backwards)
                  for rec, ly in zip(recs, self.lstms)]
        probs = labels = W = b = None
        extra = dict(meta or {})
        if self.head is not None and self.head.softmax:
            probs = self.head.apply(recs[-1].h)
            V = self.head.kernel.shape[1]
            labels = np.array(list(vocab) if vocab is not None and len(vocab) == V else
                              [str(k) for k in range(V)], dtype=str)
            W = np.ascontiguousarray(self.head.kernel.T)
            b = np.asarray(self.head.bias)
            extra["readout"] = self.head.name
        return Trace(layers=layers, tokens=None if tokens is None else np.array(list(tokens), dtype=str),
                     probs=probs, vocab=labels, readout_W=W, readout_b=b, source=source, meta=extra)


# --------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------


def read_model(path: str | os.PathLike) -> ModelWeights:
    """Read the model in the ``.keras`` file at ``path`` without TensorFlow.

    The archive gets the checks ``load_model`` gives it (a regular file,
    every member's declared size, no Lambda layer or custom object, no more
    declared weights than the file holds); then every variable is checked
    for its place, shape and type before it is read. Raises ``Unreadable``
    for a model this reader does not read, ``BridgeError`` for a damaged
    file; each one line naming the file."""
    p = Path(path)
    what = str(path)
    st = _regular_file(what, p)
    if p.suffix.lower() != ".keras":
        if p.suffix.lower() in (".h5", ".hdf5"):
            raise Unreadable(f"{what}: a legacy .h5 model; only .keras files are read without TensorFlow")
        raise BridgeError(f"{what}: not a Keras model file (expected a .keras file, or a legacy .h5)")
    with _archive(what, p, st) as (zf, raw, weights_bytes):
        config = _parse_config(what, raw)
        _scan_config(what, config)
        _check_declared_weights(what, config, weights_bytes)
        plan = _plan(what, config)
        if WEIGHTS_MEMBER not in zf.namelist():
            raise BridgeError(f"{what}: the archive has no {WEIGHTS_MEMBER} (a model without weights)")
        # Bounded: the member's declared size passed the checks above.
        data = zf.read(WEIGHTS_MEMBER)
        vocab = _vocab_in(what, zf)
    model = _read_weights(what, p, plan, data)
    return model if vocab is None else replace(model, vocab=vocab)


def _vocab_in(what: str, zf: zipfile.ZipFile) -> str | None:
    """The "vocab" of an open archive's metadata.json (whose size
    ``_checked_archive`` checked), or None. A vocabulary that is not one
    distinct character per class is refused: queries would be answered
    in the wrong letters."""
    if METADATA_MEMBER not in zf.namelist():
        return None
    try:
        meta = json.loads(zf.read(METADATA_MEMBER))
    except (ValueError, RecursionError) as e:
        raise BridgeError(f"{what}: {METADATA_MEMBER} is not valid JSON ({_one_line(e)})") from None
    found = meta.get("vocab") if isinstance(meta, dict) else None
    if found is None:
        return None
    if isinstance(found, list) and all(isinstance(v, str) for v in found):
        letters = found
    elif isinstance(found, str):
        letters = list(found)
    else:
        raise BridgeError(f"{what}: {METADATA_MEMBER}: 'vocab' must be a string or a list of strings")
    if not letters or len(letters) > MAX_VOCAB or any(len(v) != 1 or not v.isprintable() for v in letters):
        raise BridgeError(f"{what}: {METADATA_MEMBER}: 'vocab' must name each class with one printable "
                          f"character (1 to {MAX_VOCAB} of them)")
    if len(set(letters)) != len(letters):
        twice = next(v for v in letters if letters.count(v) > 1)
        raise BridgeError(f"{what}: {METADATA_MEMBER}: 'vocab' names {twice!r} twice")
    return "".join(letters)


def stored_vocab(path: str | os.PathLike) -> str | None:
    """The vocabulary stored with the model at ``path`` (None when it
    stores none, or is not a .keras archive), without reading its weights."""
    p = Path(path)
    what = str(path)
    if p.suffix.lower() != ".keras":
        return None
    with _archive(what, p, _regular_file(what, p)) as (zf, _, _):
        return _vocab_in(what, zf)


@contextlib.contextmanager
def _archive(what: str, p: Path, st: os.stat_result) -> Iterator[tuple[zipfile.ZipFile, bytes, int]]:
    """The model file opened once, as a regular file checked on the
    descriptor (the archive checked is the archive read), with its config
    and the weights' declared size; a damaged file is one line naming it."""
    try:
        with open_regular_file(p, "Keras model file") as fp, zipfile.ZipFile(fp) as zf:
            raw, weights_bytes = _checked_archive(what, zf, st.st_size)
            yield zf, raw, weights_bytes
    except TraceError as e:
        raise BridgeError(f"{what}: {e.why}") from None
    except zipfile.BadZipFile:
        raise BridgeError(f"{what}: not a Keras model file (not a .keras zip archive)") from None
    except OSError as e:
        raise BridgeError(f"{what}: {e.strerror or _one_line(e)}") from None


def store_vocab(path: str | os.PathLike, vocab: str) -> None:
    """Store ``vocab`` (one character per class, in the order of the
    model's outputs) with the .keras model at ``path``: the archive is
    written again beside it with metadata.json's "vocab" set, then renamed
    into place, so an interrupted write leaves the model as it was."""
    p = Path(path)
    if not vocab or len(set(vocab)) != len(vocab):
        raise BridgeError(f"{path}: a vocabulary names each class once, with one character: {vocab!r}")
    tmp = p.with_name(f".{p.name}.vocab-tmp")
    try:
        with zipfile.ZipFile(p) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
            names = src.namelist()
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename == METADATA_MEMBER:
                    meta = json.loads(data)
                    data = json.dumps({**(meta if isinstance(meta, dict) else {}), "vocab": vocab}).encode()
                out.writestr(info, data)
            if METADATA_MEMBER not in names:
                out.writestr(METADATA_MEMBER, json.dumps({"vocab": vocab}))
        os.replace(tmp, p)
    except (OSError, zipfile.BadZipFile, ValueError) as e:
        tmp.unlink(missing_ok=True)
        raise BridgeError(f"{path}: cannot store the vocabulary: {_one_line(e)}") from None


@dataclass(frozen=True)
class _Planned:
    """A layer of the config, before its weights are read: where Keras kept
    its variables and what they must look like."""

    cls: str
    name: str
    place: str  # the layer's group inside the weights file
    group: str  # the group of its variables
    config: dict[str, Any]
    shapes: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class _Plan:
    name: str
    input_dim: int
    dtype: np.dtype
    layers: tuple[_Planned, ...]
    shape: str  # "LSTM → Dropout → Dense(softmax)"


def _snake_case(name: str) -> str:
    """Keras' ``naming.to_snake_case``: how it names a layer's place in the
    weights file after its class."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _input_dim(shape: Any) -> int | None:
    if isinstance(shape, list) and len(shape) == 3 and type(shape[-1]) is int and shape[-1] > 0:
        return int(shape[-1])
    return None


def _dtype(what: str, label: str, cfg: dict[str, Any]) -> np.dtype:
    """The float type a layer computes in, from its dtype policy (a name, or
    a ``DTypePolicy`` with one); float32 when the config does not say."""
    policy = cfg.get("dtype")
    name = policy
    if isinstance(policy, dict):
        inner = policy.get("config")
        name = inner.get("name") if isinstance(inner, dict) else None
    if policy is None:
        return np.dtype(np.float32)
    if name in ("float32", "float64"):
        return np.dtype(str(name))
    raise Unreadable(f"{what}: {label} computes in {name!r}; only float32 and float64 are read "
                     "without TensorFlow")


def _flag(what: str, label: str, cfg: dict[str, Any], key: str, default: bool = False) -> bool:
    value = cfg.get(key, default)
    if type(value) is not bool:
        raise BridgeError(f"{what}: {label} has {key}={value!r}; expected true or false")
    return value


def _units(what: str, label: str, cfg: dict[str, Any]) -> int:
    units = cfg.get("units")
    if type(units) is not int or units <= 0:
        raise BridgeError(f"{what}: {label} has units={units!r}; expected a positive whole number")
    return units


def _activation(what: str, label: str, cfg: dict[str, Any], key: str, default: str) -> str:
    name = cfg.get(key, default)
    if not isinstance(name, str) or name not in ACTIVATIONS:
        shown = name if isinstance(name, str) else type(name).__name__
        raise Unreadable(f"{what}: {label} has {key} {shown!r}, not one of the built-in activations "
                         "lstm-tui knows")
    return name


def _plan(what: str, config: Any) -> _Plan:
    """The model's layers from its config, checked: the shape this reader
    reads, each layer's settings, and the shapes its variables must have."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise BridgeError(f"{what}: config.json does not describe a model")
    cls = config.get("class_name")
    body = config["config"]
    if cls != "Sequential":
        raise Unreadable(f"{what}: a {cls} model; only Sequential models are read without TensorFlow")
    layers = body.get("layers")
    if not isinstance(layers, list) or not all(isinstance(ly, dict) for ly in layers):
        raise BridgeError(f"{what}: config.json lists no layers")
    D = _input_dim(body.get("build_input_shape")) or _input_dim((config.get("build_config") or {})
                                                                .get("input_shape"))
    model_dtype = None
    planned: list[_Planned] = []
    used: dict[str, int] = {}
    width = D  # what the next layer is fed, per step
    sequence = True  # whether that is a sequence (False: one vector)
    kinds: list[str] = []
    for k, node in enumerate(layers):
        kind = node.get("class_name")
        cfg = node.get("config")
        if not isinstance(kind, str) or not isinstance(cfg, dict):
            raise BridgeError(f"{what}: layer {k} of config.json has no class or config")
        name = cfg.get("name")
        name = name if isinstance(name, str) else f"#{k}"
        label = f"layer {name!r} ({kind})"
        if kind == "InputLayer":
            if k != 0:
                raise BridgeError(f"{what}: {label} is not the first layer")
            shape = cfg.get("batch_shape", cfg.get("batch_input_shape"))
            D = width = _input_dim(shape)
            if D is None:
                raise Unreadable(f"{what}: {label} takes {shape!r}; only sequences of feature vectors "
                                 "(None, T, D) are read without TensorFlow")
            continue
        if width is None:
            raise Unreadable(f"{what}: config.json does not say how wide the model's input is")
        # The weights file names a layer's place after its class, counted in
        # the model's order (``saving_lib._save_container_state``).
        base = _snake_case(kind)
        if base in used:
            used[base] += 1
            place = f"layers/{base}_{used[base]}"
        else:
            used[base] = 0
            place = f"layers/{base}"
        if not sequence and kind != "Dropout" and kind != "Dense":
            raise BridgeError(f"{what}: {label} follows a layer that returns only its last step")
        if kind == "LSTM":
            if any(kd.startswith("Dense") for kd in kinds):
                raise Unreadable(f"{what}: {label} follows a Dense layer; the reader takes "
                                 "LSTM layers, then one Dense layer")
            for key in ("stateful", "return_state"):
                if _flag(what, label, cfg, key):
                    raise Unreadable(f"{what}: {label} has {key}=True; not read without TensorFlow")
            H = _units(what, label, cfg)
            _activation(what, label, cfg, "activation", "tanh")
            _activation(what, label, cfg, "recurrent_activation", "sigmoid")
            shapes: tuple[tuple[int, ...], ...] = ((width, 4 * H), (H, 4 * H))
            if _flag(what, label, cfg, "use_bias", True):
                shapes += ((4 * H,),)
            _flag(what, label, cfg, "go_backwards")
            sequence = _flag(what, label, cfg, "return_sequences")
            planned.append(_Planned(kind, name, place, place + "/cell/vars", cfg, shapes))
            width = H
            kinds.append("LSTM")
        elif kind == "Dense":
            if not kinds or any(kd.startswith("Dense") for kd in kinds):
                raise Unreadable(f"{what}: {label} is not the one layer after the LSTM layers; the reader "
                                 "takes LSTM layers, then one Dense layer")
            # Quantized and LoRA Dense layers keep other variables.
            for key in ("quantization_config", "lora_rank"):
                if cfg.get(key) not in (None, 0):
                    raise Unreadable(f"{what}: {label} has {key}={cfg.get(key)!r}; not read without TensorFlow")
            V = _units(what, label, cfg)
            act = _activation(what, label, cfg, "activation", "linear")
            shapes = ((width, V),)
            if _flag(what, label, cfg, "use_bias", True):
                shapes += ((V,),)
            planned.append(_Planned(kind, name, place, place + "/vars", cfg, shapes))
            width = V
            kinds.append(f"Dense({act})")
        elif kind == "Dropout":
            kinds.append("Dropout")  # the identity at inference; it has no variables
            continue
        else:
            raise Unreadable(f"{what}: {label} is not read without TensorFlow (the reader takes "
                             "LSTM, Dropout and one last Dense layer)")
        dt = _dtype(what, label, cfg)
        if model_dtype is not None and dt != model_dtype:
            raise Unreadable(f"{what}: {label} computes in {dt}, the layers before it in {model_dtype}")
        model_dtype = dt
    if not any(p.cls == "LSTM" for p in planned):
        raise Unreadable(f"{what}: no LSTM layer; the reader takes LSTM layers, then one Dense layer")
    assert D is not None and model_dtype is not None
    name = body.get("name")
    return _Plan(name if isinstance(name, str) else "model", D, model_dtype, tuple(planned), " → ".join(kinds))


def _read_weights(what: str, path: Path, plan: _Plan, data: bytes) -> ModelWeights:
    import h5py  # a base dependency; imported here to keep ``lstm_tui.keras`` light

    try:
        with h5py.File(io.BytesIO(data), "r") as f:
            arrays = [_variables(what, h5py, f, layer, plan.dtype) for layer in plan.layers]
    except BridgeError:
        raise
    except Exception as e:  # h5py raises OSError, KeyError, ValueError, TypeError for bad files
        raise BridgeError(f"{what}: {WEIGHTS_MEMBER} is not a readable weights file ({_one_line(e)})") from None
    lstms: list[ReadLSTM] = []
    head = None
    for layer, ws in zip(plan.layers, arrays):
        cfg = layer.config
        if layer.cls == "LSTM":
            cell = LSTMCell.from_keras(ws[0], ws[1], ws[2] if len(ws) > 2 else None,
                                       activation=cfg.get("activation", "tanh"),
                                       recurrent_activation=cfg.get("recurrent_activation", "sigmoid"))
            lstms.append(ReadLSTM(layer.name, cell, bool(cfg.get("return_sequences", False)),
                                  bool(cfg.get("go_backwards", False)), ws))
        else:
            bias = ws[1] if len(ws) > 1 else np.zeros(ws[0].shape[1], ws[0].dtype)
            head = ReadDense(layer.name, ws[0], bias, str(cfg.get("activation", "linear")), ws)
    return ModelWeights(path=path, name=plan.name, input_dim=plan.input_dim, dtype=plan.dtype,
                        lstms=tuple(lstms), head=head, shape=plan.shape)


def _group(what: str, h5py: Any, f: Any, path: str, label: str) -> Any:
    """The group at ``path``, reached through hard links only (an external
    link would open another file, a soft link could point anywhere in this
    one); None when it is not there."""
    node = f
    for part in path.split("/"):
        link = node.get(part, getlink=True) if isinstance(node, h5py.Group) else None
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            raise BridgeError(f"{what}: {WEIGHTS_MEMBER} reaches {label}'s weights through a link "
                              f"({type(link).__name__}); only plain groups are read")
        node = node[part]
    if not isinstance(node, h5py.Group):
        raise BridgeError(f"{what}: {WEIGHTS_MEMBER}'s {path!r} is not a group")
    return node


def _variables(what: str, h5py: Any, f: Any, layer: _Planned, dtype: np.dtype) -> tuple[np.ndarray, ...]:
    """A layer's variables, each checked before it is read: reached through
    hard links only (``_group``), stored in the file itself (not in an
    external file, not a virtual dataset), contiguous (no filter to run),
    of the layer's float type and of the shape its config implies."""
    label = f"layer {layer.name!r} ({layer.cls})"
    node = _group(what, h5py, f, layer.group, label)
    if node is None:
        raise BridgeError(f"{what}: {WEIGHTS_MEMBER} has no weights for {label} (no {layer.group!r})")
    # The layer's own group carries the name of the layer it was saved from
    # (an LSTM's cell has a name of its own, "lstm_cell"): a file whose
    # config and weights disagree on the order of the layers is refused.
    own = _group(what, h5py, f, layer.place + "/vars", label)
    stored = None if own is None else own.attrs.get("name")
    if isinstance(stored, bytes):
        stored = stored.decode("utf-8", "replace")
    if stored is not None and stored != layer.name:
        raise BridgeError(f"{what}: {WEIGHTS_MEMBER} holds the weights of {str(stored)!r} where "
                          f"{label}'s should be")
    keys = sorted(node.keys())
    expected = [str(k) for k in range(len(layer.shapes))]
    if keys != sorted(expected):
        raise BridgeError(f"{what}: {WEIGHTS_MEMBER} holds {len(keys)} variables for {label}; "
                          f"its config implies {len(expected)}")
    out = []
    for k, shape in enumerate(layer.shapes):
        link = node.get(str(k), getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise BridgeError(f"{what}: {WEIGHTS_MEMBER} reaches variable {k} of {label} through a link "
                              f"({type(link).__name__}); only plain datasets are read")
        ds = node[str(k)]
        if not isinstance(ds, h5py.Dataset):
            raise BridgeError(f"{what}: variable {k} of {label} is not a dataset")
        if ds.is_virtual or ds.external:
            raise BridgeError(f"{what}: variable {k} of {label} is stored outside the file; refused")
        if ds.chunks is not None:
            raise Unreadable(f"{what}: variable {k} of {label} is stored chunked or compressed, "
                             "which Keras does not write; not read without TensorFlow")
        if ds.dtype != dtype:
            raise BridgeError(f"{what}: variable {k} of {label} is {ds.dtype}; the layer computes in {dtype}")
        if tuple(ds.shape) != shape:
            raise BridgeError(f"{what}: variable {k} of {label} has shape {tuple(ds.shape)}; its config "
                              f"implies {shape}")
        out.append(np.asarray(ds[()], dtype))
    return tuple(out)
