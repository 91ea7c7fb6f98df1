"""The debugger's logic, in NumPy alone: breakpoint conditions
(``conditions``, ``breakpoints``), the health scan (``health``), comparing
two runs (``diff``) and recomputing a run from its weights (``check``).

It builds on the core and knows nothing of the screen or of Keras: every
module imports only the standard library, NumPy and ``lstm_tui.core``.
"""
