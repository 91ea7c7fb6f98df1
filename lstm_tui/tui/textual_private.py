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
- The cell-diffing renderer (``wire.py``) takes each frame before Textual
  turns it into escape sequences: ``CellDiffingDisplay`` overrides
  ``App._display``, the one method every frame passes through, and reads the
  compositor's updates (``LayoutUpdate``: whole lines from a column;
  ``ChopsUpdate``: pieces of lines within spans), whose classes live in the
  private ``textual._compositor``. Textual has no hook between composing a
  frame and writing it, and no public way to write less than the regions it
  repainted. What it writes then is a ``CompositorUpdate`` of our own, so
  Textual's synchronized output, cursor placement and flushing stay its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.segment import Segment
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual._loop import loop_last
from textual._xterm_parser import XTermParser
from textual.binding import Binding
from textual.widgets._footer import FooterKey

__all__ = ["CellDiffingDisplay", "FooterKey", "XTermParser", "drop_stale_watchers", "footer_key_disabled",
           "loop_last", "map_bindings", "set_footer_key_disabled", "update_lines"]


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


def update_lines(update: Any) -> Iterator[tuple[int, int, list[Segment]]]:
    """The pieces of lines a compositor update writes, as (column, row,
    segments), exactly where Textual's own ``render_segments`` writes them
    (Textual 8: ``LayoutUpdate`` writes each line whole from the region's
    column; ``ChopsUpdate`` writes each chop that meets a dirty span, cut at
    the span's end)."""
    if isinstance(update, LayoutUpdate):
        x = update.region.x
        for y, line in enumerate(update.strips, update.region.y):
            yield x, y, [segment for strip in line for segment in strip]
    elif isinstance(update, ChopsUpdate):
        for y, x1, x2 in update.spans:
            for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items()):
                if strip is None or x > x2 or end <= x1:
                    continue
                if not (x2 > x >= x1 and end <= x2):
                    strip = strip.crop(0, min(end, x2) - x)
                yield x, y, list(strip)


class _CellsFlush(CompositorUpdate):
    """A frame for ``App._display`` to write: the cells that changed."""

    def __init__(self, cells: Any, pacer: Any) -> None:
        self.cells = cells
        self.pacer = pacer

    def render_segments(self, console: Console) -> str:
        self.cells.set_color_system(console.color_system)
        text = self.cells.flush()
        self.pacer.flushed(len(text.encode("utf-8")), time.monotonic())
        return text


class CellDiffingDisplay:
    """Mixin for the App (before ``App`` in its bases): frames go through
    the driver's ``wire.Cells`` and ``wire.Pacer`` when the driver has them
    (``driver.OwnDescriptorDriver``), else to Textual as they are (headless
    tests, the web driver, inline mode)."""

    _wire_flush_at: float | None = None

    def _display(self, screen: Any, renderable: Any) -> None:
        app: Any = self
        driver = app._driver
        cells = getattr(driver, "cells", None)
        pacer = getattr(driver, "pacer", None)
        if cells is None or pacer is None or app.is_inline or app._batch_count \
                or not isinstance(renderable, (LayoutUpdate, ChopsUpdate)):
            super()._display(screen, renderable)  # type: ignore[misc]
            return
        width, height = app.size
        if (width, height) != (cells.width, cells.height):
            cells.resize(width, height)  # the terminal may have rewrapped its old cells
        for x, y, segments in update_lines(renderable):
            cells.paint(x, y, segments)
        if not cells.asked_for_all and not cells.complete:
            # A part of the screen no frame has painted since a resize: ask
            # Textual for the whole screen rather than leave it unknown.
            cells.asked_for_all = True
            app.screen.refresh()
        now = time.monotonic()
        delay = pacer.delay(now)
        if delay > 0:
            # A key repeats: this frame joins the next paced one.
            if self._wire_flush_at is None:
                self._wire_flush_at = now + delay
                asyncio.get_running_loop().call_later(delay, self._wire_flush)
            return
        super()._display(screen, _CellsFlush(cells, pacer))  # type: ignore[misc]

    def _wire_flush(self) -> None:
        app: Any = self
        self._wire_flush_at = None
        driver = app._driver
        cells = getattr(driver, "cells", None)
        if cells is not None and cells.pending and app._running and not app._exit:
            super()._display(app.screen, _CellsFlush(cells, driver.pacer))  # type: ignore[misc]

    def redraw(self) -> None:
        """Write every cell again, whatever the terminal shows now (after
        another program wrote over it)."""
        app: Any = self
        cells = getattr(app._driver, "cells", None)
        if cells is not None:
            cells.forget()
        app.refresh()
