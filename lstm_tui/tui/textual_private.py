"""Every use of Textual's private API, in one place, each with its reason.

Textual (8.x) is pinned in constraints.txt; when it moves, this module is
the one to read. Nothing else in the package reaches past Textual's public
names.

- The terminal driver (``driver.py``) re-implements ``LinuxDriver``'s input
  loop to decode the keyboard with replacement instead of raising on a byte
  that is not UTF-8; that loop is built from ``loop_last`` and
  ``XTermParser``, which Textual does not export.
- The footer (``footer.py``) finds its key widgets by their class,
  ``FooterKey``, which ``textual.widgets`` does not export; it enables and disables its key widgets in place
  instead of recomposing on every step (a recompose per key press was the
  footer's cost), which needs ``FooterKey``'s private ``_disabled`` flag;
  and it drops the ``data_bind`` callbacks of key widgets it removed, which
  Textual keeps (in a private ``__watchers`` table) until the bound reactive
  next changes.
- The screen in Portuguese (``translated.py``) gives each node its
  bindings with translated descriptions by replacing the bindings in the
  node's private ``_bindings`` map, the one the footer, the help screen, the
  palette and Textual's key panel all read; Textual has no public way to
  change a binding's description after the class is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual._loop import loop_last
from textual._xterm_parser import XTermParser
from textual.binding import Binding
from textual.widgets._footer import FooterKey

__all__ = ["FooterKey", "XTermParser", "drop_stale_watchers", "footer_key_disabled", "loop_last",
           "map_bindings", "set_footer_key_disabled"]


def map_bindings(node: Any, change: Callable[[Binding], Binding]) -> None:
    """Replace every binding of ``node`` (its own copy of its class's
    bindings, made when the node was constructed) by ``change(binding)``."""
    table = node._bindings.key_to_bindings
    for key, bindings in list(table.items()):
        table[key] = [change(binding) for binding in bindings]


def footer_key_disabled(key: Any) -> bool:
    """Whether a ``FooterKey`` is drawn disabled."""
    return bool(key._disabled)


def set_footer_key_disabled(key: Any, disabled: bool) -> None:
    """Draw a ``FooterKey`` enabled or disabled without recomposing the
    footer."""
    key._disabled = disabled
    key.set_class(disabled, "-disabled")


def drop_stale_watchers(owner: Any) -> None:
    """Forget the ``data_bind`` callbacks on ``owner``'s reactives whose
    widgets are no longer mounted (Textual drops them only when the bound
    reactive next changes, so a footer rebuilt on every layer change would
    keep its old key widgets alive)."""
    watchers: dict[str, list[tuple[Any, Any]]] = getattr(owner, "__watchers", {})
    for entries in watchers.values():
        entries[:] = [(node, callback) for node, callback in entries
                      if node is owner or (node.is_attached and not node._closing)]
