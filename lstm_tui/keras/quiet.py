"""Importing Keras quietly: TensorFlow takes seconds to import and prints C++
log lines while it does, so it is imported once, inside ``_keras()``, with
the log level raised and the process's stderr silenced for the length of
the import.

This module imports Keras and TensorFlow only inside functions.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

from .errors import BridgeError, _one_line

#: The pip command that adds TensorFlow: the base install replays and
#: analyses traces without it; recording through Keras and training need it.
INSTALL_KERAS = "pip install 'lstm-tui[keras]'"

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
                import keras
                import tensorflow as tf
        except ImportError as e:
            raise BridgeError(f"tensorflow: cannot import it ({_one_line(e)}); "
                              f"install it with: {INSTALL_KERAS}") from None
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


def tensorflow_available() -> bool:
    """Whether TensorFlow and Keras could be imported, found without
    importing them (milliseconds, not seconds): the light install has
    neither. An import hook that refuses them counts as absent."""
    if _modules is not None:
        return True
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("tensorflow", "keras"))
    except (ImportError, ValueError):
        return False


def require_tensorflow(what: str) -> None:
    """Refuse ``what`` (a command, a model) in one line naming the pip
    command that adds TensorFlow, before any work starts, when it is not
    installed."""
    if not tensorflow_available():
        raise BridgeError(f"{what}: needs TensorFlow, which is not installed; add it with: {INSTALL_KERAS}")
