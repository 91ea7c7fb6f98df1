"""lstm-tui: a terminal step-through debugger for LSTM forward passes.

The core (``lstm``, ``trace``, ``demo``) needs only NumPy. ``record`` pulls in
Keras, and only when it is called.
"""

from __future__ import annotations

from typing import Any

from .core.lstm import LSTMCell, Recording, explain, forward
from .core.trace import Layer, Trace, TraceError, load, save

__version__ = "0.1.0"

__all__ = ["LSTMCell", "Layer", "Recording", "Trace", "TraceError", "explain",
           "forward", "load", "record", "save"]


def record(model: Any, inputs: Any, **kwargs: Any) -> Trace:
    """Record every LSTM layer of a Keras model (or a path to one) on
    ``inputs``; see ``lstm_tui.keras.record``. Imports Keras."""
    from .keras import record as _record

    return _record(model, inputs, **kwargs)
