"""Command palette entries (ctrl+p), made from the debugger's own bindings.

Each binding of the debugger screen that has a description becomes a
command with that description, its key shown as help, and the binding's
action as what it runs — one source of truth for footer, help and palette.
Commands the debugger cannot run right now (``check_action`` says no:
stepping back at t = 0) are left out. On top of those, one command per
layer ("Layer 1: backward_lstm") since ``[``/``]`` only step through them.

Added to the app as ``App.COMMANDS | {DebuggerCommands}``, so Textual's
own commands (theme, quit, keys) stay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content
from textual.markup import escape


class DebuggerCommands(Provider):
    """Palette commands of the debugger screen."""

    def _commands(self) -> Iterator[tuple[str, Callable[[], Any], str]]:
        screen = self.screen
        # Only the debugger screen has these (the palette may be opened
        # from a dialog or the help screen).
        if not hasattr(screen, "palette_commands"):
            return
        yield from screen.palette_commands()

    async def discover(self) -> Hits:
        for name, run, help_text in self._commands():
            # The palette reads a str as markup; a layer's name comes from
            # the trace file and may be "[/]" (a MarkupError) or "[@click=…]".
            yield DiscoveryHit(Content(name), run, text=name, help=escape(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, run, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, highlight(matcher, name), run, text=name, help=escape(help_text))


def highlight(matcher: Matcher, name: str) -> Content:
    """``Matcher.highlight`` for plain text: the matched letters of ``name``
    in the match style, ``name`` itself never parsed as markup."""
    content = Content(name)
    _, offsets = matcher.fuzzy_search.match(matcher.query, name)
    for offset in offsets:
        if not name[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


def binding_command(screen: Any, action: str) -> Callable[[], Any]:
    """A palette callback that runs a binding's action on the screen."""
    return partial(screen.run_action, action)
