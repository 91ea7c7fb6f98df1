"""Everything that touches Keras and TensorFlow, one module a job:

- ``quiet``: importing TensorFlow once, silently, inside a function;
- ``loading``: opening a model file safely (no code runs, no unbounded
  allocation);
- ``recording``: finding the LSTM layers, capturing what Keras feeds them,
  recomputing them in NumPy as a trace and verifying it against Keras;
- ``training``: retraining the seed notebook's next-letter model;
- ``weights``: reading a ``.keras`` file's weights without TensorFlow (h5py)
  and running the model in NumPy;
- ``predictor``: the model panel's NumPy next-letter queries.

Importing this package (or any of its modules) imports no TensorFlow: that
happens inside the functions that need it, and TensorFlow is an extra
(``lstm-tui[keras]``): ``require_tensorflow`` refuses in one line, naming
the pip command, what needs it when it is absent. Every error is a
``BridgeError`` (an ``LstmTuiError``) with a one-line message.
"""

from __future__ import annotations

from .errors import BridgeError, NeedsTensorFlow, VerificationError
from .loading import MODEL_FILE, default_model_path, load_model
from .predictor import Predictor
from .quiet import INSTALL_KERAS, require_tensorflow, tensorflow_available
from .recording import (
                     DEFAULT_TRACE_SOURCE,
                     DEFAULT_TRACE_TEXT,
                     make_default_trace,
                     record,
                     record_text,
                     trained_on,
                     trained_steps,
)
from .training import train
from .weights import ModelWeights, Unreadable, read_model

__all__ = [
    "DEFAULT_TRACE_SOURCE",
    "DEFAULT_TRACE_TEXT",
    "INSTALL_KERAS",
    "MODEL_FILE",
    "BridgeError",
    "ModelWeights",
    "NeedsTensorFlow",
    "Predictor",
    "Unreadable",
    "VerificationError",
    "default_model_path",
    "load_model",
    "make_default_trace",
    "record",
    "read_model",
    "record_text",
    "require_tensorflow",
    "tensorflow_available",
    "train",
    "trained_on",
    "trained_steps",
]
