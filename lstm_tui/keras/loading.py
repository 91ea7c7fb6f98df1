"""Loading a Keras model file safely: only regular files, every zip member's
declared size checked, a config that declares more weights than the file
holds refused, Lambda layers and custom objects refused by name before Keras
sees the file, then ``safe_mode=True``.

This module imports Keras and TensorFlow only inside functions.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

from ..core.trace import (
    TraceError,
    require_regular_file,
)
from .errors import BridgeError, _one_line
from .quiet import _keras

#: Where the trained seed model ships (package data).
MODEL_FILE = "next_letter.keras"


def default_model_path() -> Path:
    """The trained seed model shipped with the package (no TensorFlow
    import)."""
    return Path(__file__).resolve().parents[1] / "models" / MODEL_FILE


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
            raw, weights = _checked_archive(what, zf, size)
    except zipfile.BadZipFile:
        raise BridgeError(f"{what}: not a Keras model file (not a .keras zip archive)") from None
    except OSError as e:
        raise BridgeError(f"{what}: {e.strerror or _one_line(e)}") from None
    return _parse_config(what, raw), weights


def _checked_archive(what: str, zf: zipfile.ZipFile, size: int) -> tuple[bytes, int]:
    """config.json's bytes and the declared size of model.weights.h5 (0 when
    there is none) of an open .keras archive of ``size`` bytes, after
    checking every member's declared size (a zip bomb is refused before
    anything is inflated) and that no member name appears twice (two
    config.json, one read by Keras and another by the NumPy reader, could
    show each a different model)."""
    infos = zf.infolist()
    names = [i.filename for i in infos]
    if "config.json" not in names:
        raise BridgeError(f"{what}: not a Keras model (the archive has no config.json)")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise BridgeError(f"{what}: the archive holds {twice[0]!r} twice (a damaged or crafted archive)")
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
    return raw, weights


def _parse_config(what: str, raw: bytes) -> Any:
    try:
        return json.loads(raw)
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
