"""Keys that cannot act, and why: one answer for the footer and the status line.

Textual asks a node's ``check_action`` whether a key can act: True runs it,
None shows the key dimmed in the footer, False leaves it out of the footer.
A dimmed key's press runs nothing, though, and a key that does nothing and
says nothing reads as a broken key (→ at the last step, ``c`` with no
breakpoint, ``]`` on a one-layer trace).

So a node whose keys can be refused (the debugger screen, the explain pane)
decides in one method, ``why_not(action, parameters)``: a ``Refusal`` with
the reason, or None when the key can act (the screen asks its session,
``debug.session.DebugSession.why_not``, for every move). Its ``check_action`` is
``action_state(self.why_not(...))``, so the footer dims exactly the keys that
would be refused; and the app, before it runs a key's action, asks the same
method and puts the reason in the status line instead (``refusal_for``,
``LstmTuiApp.run_action``). The next key that acts takes the reason away.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from textual.actions import parse as parse_action

from ..debug.session import Refusal

__all__ = ["Refusal", "Refuses", "action_state", "refusal_for"]


def action_state(refusal: Refusal | None) -> bool | None:
    """``check_action``'s answer for a key ``why_not`` refused (or not)."""
    if refusal is None:
        return True
    return False if refusal.hidden else None


@runtime_checkable
class Refuses(Protocol):
    """A node that says why its keys cannot act."""

    def why_not(self, action: str, parameters: tuple[object, ...]) -> Refusal | None: ...


def refusal_for(action: Any, namespace: Any) -> Refusal | None:
    """Why ``namespace`` refuses ``action`` now (a key's action string run
    on the node it is bound to), or None: it can act, or does not say."""
    if isinstance(action, str) and isinstance(namespace, Refuses):
        destination, name, parameters = parse_action(action)
        if not destination:
            return namespace.why_not(name, parameters)
    return None
