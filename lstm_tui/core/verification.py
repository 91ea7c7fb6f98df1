"""What a recording says of its own verification, for people and scripts.

A recording from Keras keeps, per layer, how it was compared with Keras
(``verified_by``: "sequence", Keras' own pass over the whole sequence; or
"step", Keras' cell fed each recorded state, when rounding that grows along
the sequence made the first check too strict), the largest difference
(``verified_max_abs_error``) and that difference as a fraction of what float
rounding allows there (``verified_bound_ratio``, at most 1); and the same of
its readout in ``meta``. ``lstm-tui record`` prints it at the end: one line
a layer, or with ``--json`` one object.

This module imports only the standard library.
"""

from __future__ import annotations

from typing import Any

from .trace import Trace


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def verification(trace: Trace) -> dict[str, Any]:
    """``{"layers": [...], "readout": {...} or None}``: per layer its
    index, name, units, whether it ran reversed, ``verified_by`` ("sequence",
    "step", or None when it was not verified), ``max_abs_error`` and
    ``bound_ratio`` (None when not verified) and, for a layer verified step
    by step, ``sequence_max_abs_error``, for one verified as a sequence,
    ``step_max_abs_error`` and ``step_bound_ratio`` (the step check, run on
    every chunk too); the readout's name and the same figures."""
    layers = []
    for k, layer in enumerate(trace.layers):
        by = layer.info.get("verified_by")
        entry: dict[str, Any] = {
            "layer": k,
            "name": layer.name,
            "units": layer.units,
            "reversed": bool(layer.reversed),
            "verified_by": by if by in ("sequence", "step") else None,
            "max_abs_error": _number(layer.info.get("verified_max_abs_error")),
            "bound_ratio": _number(layer.info.get("verified_bound_ratio")),
        }
        for key in ("sequence_max_abs_error", "step_max_abs_error", "step_bound_ratio"):
            if key in layer.info:
                entry[key] = _number(layer.info[key])
        layers.append(entry)
    readout = None
    name = trace.meta.get("readout")
    if isinstance(name, str):
        err = _number(trace.meta.get("readout_verified_max_abs_error"))
        readout = {"name": name, "verified": err is not None, "max_abs_error": err,
                   "bound_ratio": _number(trace.meta.get("readout_verified_bound_ratio"))}
    return {"layers": layers, "readout": readout}


def _difference(err: float | None, ratio: float | None) -> str:
    text = f"largest difference {err:.2g}"
    if ratio is not None:
        text += f" ({ratio:.2g} of the rounding bound)"
    return text


def verification_lines(report: dict[str, Any]) -> list[str]:
    """``verification``'s report as one line a layer and one for the readout:
    ``layer 0 lstm (32 units): verified as a sequence, largest difference
    2.4e-07 (0.018 of the rounding bound)``."""
    lines = []
    for e in report["layers"]:
        what = f"layer {e['layer']} {e['name']} ({e['units']} units{', reversed' if e['reversed'] else ''})"
        if e["verified_by"] == "sequence":
            how = f"verified as a sequence, {_difference(e['max_abs_error'], e['bound_ratio'])}"
            if e.get("step_max_abs_error") is not None:
                how += f"; step by step, {_difference(e['step_max_abs_error'], e.get('step_bound_ratio'))}"
        elif e["verified_by"] == "step":
            how = f"verified step by step, {_difference(e['max_abs_error'], e['bound_ratio'])}"
            if e.get("sequence_max_abs_error") is not None:
                how += (f"; as a sequence it drifted by {e['sequence_max_abs_error']:.2g}, beyond what rounding "
                        "allows a whole pass")
        else:
            how = "not verified against Keras"
        lines.append(f"{what}: {how}")
    r = report["readout"]
    if r is not None:
        how = f"verified, {_difference(r['max_abs_error'], r['bound_ratio'])}" if r["verified"] else "not verified"
        lines.append(f"readout {r['name']}: {how}")
    return lines
