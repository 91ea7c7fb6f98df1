"""One vocabulary: what each vector of the cell is called, everywhere.

The panes' titles, the timeline's rows, the explain pane's equations, the
watch list's columns, the health and check reports and ``lstm-tui print``
all read their names and symbols here, so that a name changes in one place
and a language is one more column. The Portuguese words are the seed
notebook's own ("f_t (esquece)", "ĉ_t (candidato)", "c_t (memória)").

This module imports only the standard library.
"""

from __future__ import annotations

#: The recorded vectors of one step, in teaching order.
VECTORS = ("x", "f", "i", "c_hat", "c", "o", "h")

#: The gates, in the order the notebook computes them; the candidate's
#: weight suffix is ``c`` (``W_c``) while its vector is ``c_hat``.
GATES = ("f", "i", "c", "o")
GATE_VECTOR = {"f": "f", "i": "i", "c": "c_hat", "o": "o"}

#: How each vector is written in an equation, and with its time index.
SYMBOL = {"x": "x", "f": "f", "i": "i", "c_hat": "ĉ", "c": "c", "o": "o", "h": "h"}
SUBSCRIPTED = {v: f"{s}_t" for v, s in SYMBOL.items()}

#: Short names (pane titles, lists): language → vector → name.
NAME = {
    "en": {"x": "input", "f": "forget", "i": "input", "c_hat": "candidate", "c": "cell", "o": "output",
           "h": "hidden"},
    "pt": {"x": "entrada", "f": "esquece", "i": "entrada", "c_hat": "candidato", "c": "memória", "o": "saída",
           "h": "oculto"},
}

#: The notebook's own labels of the step printout: language → vector → label.
NOTEBOOK = {
    "en": {"x": "x_t", "f": "f_t (forget)", "i": "i_t (input)", "c_hat": "ĉ_t (candidate)", "c": "c_t (memory)",
           "o": "o_t (output gate)", "h": "h_t (block output)"},
    "pt": {"x": "x_t", "f": "f_t (esquece)", "i": "i_t (entrada)", "c_hat": "ĉ_t (candidato)",
           "c": "c_t (memória)", "o": "o_t (saída gate)", "h": "h_t (saída bloco)"},
}

#: Each gate as the explain pane and the reports name it: language → gate → name.
GATE_NAME = {
    "en": {"f": "forget gate", "i": "input gate", "c": "candidate", "o": "output gate"},
    "pt": {"f": "porta de esquecimento", "i": "porta de entrada", "c": "candidato", "o": "porta de saída"},
}


def symbol(vector: str) -> str:
    """ĉ for ``c_hat``; the name itself for anything else."""
    return SYMBOL.get(vector, vector)


def gate_label(gate: str, lang: str = "en") -> str:
    """"f (forget gate)", "ĉ (candidate)": a gate's symbol and name."""
    return f"{symbol(GATE_VECTOR[gate])} ({GATE_NAME[lang][gate]})"
