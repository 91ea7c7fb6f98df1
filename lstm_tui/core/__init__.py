"""The core: what a recorded LSTM pass is, in NumPy alone.

The cell and its maths (``lstm``), the trace file format (``trace``), the
shared numeric rules (``numeric``: how two numbers are compared, block
iteration, the top prediction; ``bounds``: the rule applied to a recorded
layer), the text codec of the next-letter model (``codec``), text made safe
to print (``text``) and the seed notebook's example (``demo``).

Everything here imports only the standard library and NumPy (checked by the
import-linter contracts in pyproject.toml and by tests/test_layering.py),
and never the debugging layer above it.
"""
