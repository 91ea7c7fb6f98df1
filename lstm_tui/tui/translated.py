"""Keys described in the screen's language.

Every key is a ``Binding`` whose description the footer, the help screen,
the command palette and Textual's key panel read. Bindings are declared on
classes, in English, when a module is imported, before anyone knows the
language; so each node that declares keys mixes in ``Translated``, which
gives the node, when it is made, its own bindings with the description,
the tooltip (the long description help and the palette show) and the
footer group's label passed through the catalogue (``tr``). The language is
chosen before the app is built (``catalogue.set_language``) and does not
change while it runs, so translating once per node is enough, and in
English nothing is touched.

The catalogue test checks that every class of the screen that declares
``BINDINGS`` mixes this in.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

from textual.binding import Binding

from .catalogue import language, tr
from .textual_private import map_bindings


@cache
def _group(group: Binding.Group, lang: str) -> Binding.Group:
    # One object per group and language: the footer gathers a group's keys
    # by comparing their groups.
    return dataclasses.replace(group, description=tr(group.description))


def translated(binding: Binding) -> Binding:
    """``binding`` with its description, tooltip and group in the screen's
    language."""
    if language() == "en":
        return binding
    group = binding.group
    return dataclasses.replace(
        binding,
        description=tr(binding.description) if binding.description else "",
        tooltip=tr(binding.tooltip) if binding.tooltip else "",
        group=None if group is None else _group(group, language()),
    )


class Translated:
    """Mixin for a Textual node (widget, screen, app) with ``BINDINGS``: put
    it first among the bases. Its keys are described in the screen's
    language."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if language() != "en":
            map_bindings(self, translated)
