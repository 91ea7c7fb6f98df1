"""The debugger's footer: Textual's ``Footer`` that dims keys in place.

Textual's footer recomposes itself whenever the screen's bindings may have
changed. On the debugger that happens every time a step, unit or layer
reaches an end (``check_action`` dims "step back" at t = 0, ...), so holding
Home/End or → at the last step rebuilt all the key widgets, 50–80 ms each
time. Worse, every rebuilt ``FooterKey`` is bound to the footer's
``compact`` reactive with ``data_bind``, and the footer only forgets such
bindings when ``compact`` changes, which it never does here: each rebuild
kept the old key widgets alive (Textualize/textual#6666), hundreds of MB
over a long session.

So this footer recomposes only when what it shows changes (which keys, their
descriptions, palette key, compact); when only the availability of keys
changed, it flips the ``-disabled`` class of the existing key widgets, a
restyle without layout. Requests are coalesced to one per frame, and after a
recompose the bindings of the removed key widgets are dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import Footer

from .textual_private import FooterKey, drop_stale_watchers, footer_key_disabled, set_footer_key_disabled

if TYPE_CHECKING:
    from textual.screen import Screen


class KeysFooter(Footer):
    """A ``Footer`` that updates dimmed keys in place and does not leak."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: What the last compose showed, minus which keys were enabled.
        self._shape: tuple[Any, ...] | None = None
        #: A sync is scheduled for after the next refresh.
        self._sync_pending = False
        #: How many times the key widgets were rebuilt (tests read it).
        self.recompose_count = 0

    def _current_shape(self) -> tuple[tuple[Any, ...], dict[tuple[str, str], bool]]:
        """(what is shown, enabled by (key, action)) from the screen's bindings."""
        active = self.screen.active_bindings
        shown = tuple((b.key, b.action, b.description, b.group, tooltip)
                      for (_, b, _, tooltip) in active.values() if b.show)
        palette = self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE
        shape = (shown, palette, self.compact)
        enabled = {(b.key, b.action): bool(on) for (_, b, on, _) in active.values()}
        return shape, enabled

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._sync_pending:
            # Several changes in one frame (t and unit both at an end) make one sync.
            self._sync_pending = True
            self.call_after_refresh(self._sync)

    async def _sync(self) -> None:
        self._sync_pending = False
        if not self.is_attached:
            return
        shape, enabled = self._current_shape()
        keys = list(self.query(FooterKey))
        if shape == self._shape and keys:
            for key in keys:
                on = enabled.get((key.key, key.action), True)
                if footer_key_disabled(key) == on:
                    set_footer_key_disabled(key, not on)
            return
        self._shape = shape
        self.recompose_count += 1
        await self.recompose()
        self._drop_stale_watchers()

    def _drop_stale_watchers(self) -> None:
        drop_stale_watchers(self)
