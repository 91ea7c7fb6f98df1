"""One vector of the LSTM cell at the current step: a row per unit.

Each row is ``▶  7  0.8069 │████▍`` — cursor, unit, value to 4 decimals,
and a bar on the vector's fixed scale (see ``draw``). The pane uses
Textual's Line API: a ``ScrollView`` with a ``virtual_size`` of one line
per unit and ``render_line`` returning cached ``Strip``s, so a layer of
1024 units costs the ~20 rows on screen, not 1024 widgets. The cache is
keyed by row and width and thrown away only when what it shows changes:
the trace, layer, step or selected unit, the run compared, the size, or
the theme.

When two runs are compared (``view A --diff B``) the pane shows run A, B
or B − A (``runs``), and its title says which.

A unit pane may be sorted (``sort``, the screen's ``s``): by |value| at the
step, by |B − A| there, or by how often the vector is saturated, in the
order ``debug.ranking`` gives. Each row still starts with its unit's
number, and the selected unit keeps its ▶ wherever its row went; the title
says the sort. x_t, indexed by input, is never sorted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..core.trace import Trace
from ..core.vocabulary import NAME, NOTEBOOK, SUBSCRIPTED
from ..debug import ranking
from ..debug.session import View
from . import draw, runs
from .catalogue import N_, language, tr
from .messages import UnitPicked
from .view import ShowsView, step_only

#: Title of each pane, as the seed notebook names the vectors.
TITLES = {v: (SUBSCRIPTED[v], "" if v == "x" else NAME["en"][v]) for v in SUBSCRIPTED}


def pane_title(vector: str) -> tuple[str, str]:
    """(symbol, name) of a pane in the screen's language: in Portuguese the
    notebook's own word for the vector, the one in its printout's
    parentheses ("f_t (esquece)", "o_t (saída gate)", "h_t (saída bloco)")."""
    symbol, name = TITLES[vector]
    lang = language()
    if name and lang != "en":
        label = NOTEBOOK[lang][vector]
        name = label[label.index("(") + 1 : label.rindex(")")]
    return symbol, name


#: The words a sorted pane's title ends with (``ranking.SORTS``).
SORT_LABELS = {"value": N_("by |value|"), "delta": N_("by |B−A|"), "saturation": N_("by saturation")}

#: Bars never grow past this many cells: a 250-column terminal should show
#: more context, not one enormous bar.
MAX_BAR = 41
#: Below this a bar says nothing; the pane shows numbers only.
MIN_BAR = 3


@dataclass(frozen=True)
class _RowContext:
    """See ``VectorPane._row_context``."""

    width: int
    values: np.ndarray
    cursor: int | None
    scale: draw.Scale
    value_width: int
    index_width: int
    marker: bool
    bar_width: int
    styles: dict[str, Style]
    bars: draw.BarStyles
    cursor_bars: draw.BarStyles
    fmt: Callable[[float], str]
    #: The unit on each row (None: row = unit).
    order: np.ndarray | None = None


#: Row styles by (theme, pane style, cursor style); see ``_row_styles``.
_SHARED_STYLES: dict[tuple[object, ...], dict[str, Style]] = {}


class VectorPane(ShowsView, ScrollView, can_focus=True, inherit_bindings=False):
    """The values of one vector (x, f, i, c_hat, c, o or h) at step ``t``.

    ``inherit_bindings=False`` drops ScrollView's arrow-key scrolling: the
    arrows belong to the debugger (step and unit), and the pane follows the
    selected unit by itself.
    """

    COMPONENT_CLASSES = {
        "vector-pane--index",
        "vector-pane--cursor",
        "vector-pane--bar",
        "vector-pane--bar-negative",
        "vector-pane--axis",
        "vector-pane--warning",
    }

    DEFAULT_CSS = """
    VectorPane {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        & > .vector-pane--index { color: $text-muted; }
        & > .vector-pane--cursor { background: $accent 35%; text-style: bold; }
        & > .vector-pane--bar { color: $primary; }
        & > .vector-pane--bar-negative { color: $secondary; }
        & > .vector-pane--axis { color: $text-muted; }
        & > .vector-pane--warning { color: $error; text-style: bold; }
    }
    """

    #: What is shown: trace, other run, which run, layer, step and the
    #: selected unit (highlighted here, and kept in view); bound to the
    #: debugger screen's (``view``).
    view: reactive[View | None] = reactive(None, repaint=False)
    #: How the rows are ordered (one of ``ranking.SORTS``); bound to the
    #: debugger screen's. x_t stays in input order whatever it says.
    sort: reactive[str] = reactive("index", repaint=False)

    @dataclass
    class SaturationWanted(Message):
        """Sorted by saturation, the pane needs the fractions of layer
        ``layer``, which are too costly to find here (a long layer): the
        screen finds them in a worker and redraws the panes."""

        layer: int

    def __init__(self, vector: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id or f"pane-{vector}", classes=classes)
        if vector not in TITLES:
            raise ValueError(f"unknown vector {vector!r}")
        self.vector = vector
        self._cache: dict[tuple[int, int], Strip] = {}
        self._values: np.ndarray | None = None
        #: The unit on each row when sorted (None: row = unit), and the row
        #: of each unit; worked out once per state (``order``).
        self._order: np.ndarray | None = None
        self._rows: np.ndarray | None = None
        self._order_known = False
        self._row_ctx: _RowContext | None = None
        self._styles: dict[str, Style] | None = None
        #: ``_title_key()`` of the title on show, and the runs it was made for.
        self._title_shown: tuple[object, ...] | None = None
        self._title_runs: tuple[Trace | None, Trace | None] = (None, None)

    # -- state ---------------------------------------------------------------

    def values(self) -> np.ndarray:
        """The vector at the current step, as float64 (read once per step);
        empty when the run shown has no such step (B shorter than A)."""
        if self._values is None:
            layer = self._layer()
            if layer is None or self.trace is None:
                self._values = np.zeros(0)
            else:
                found = runs.values(self.trace, self.other, self.run, self.layer_index, self.vector, self.t)
                self._values = np.zeros(0) if found is None else found
        return self._values

    def stats(self) -> draw.VectorStats:
        """Scale and value width of what is shown (``runs.stats``)."""
        assert self.trace is not None
        return runs.stats(self.trace, self.other, self.run, self.layer_index, self.vector)

    def order(self) -> np.ndarray | None:
        """The unit shown on each row, top to bottom, when the pane is
        sorted; None when rows are in unit order (``ranking.pane_order``)."""
        if not self._order_known:
            self._order_known = True
            self._order = self._rows = None
            if self.view is not None and self.sort != "index" and self.values().shape[0]:
                order = ranking.pane_order(self.sort, self.view.trace, self.other, self.run, self.layer_index,
                                           self.vector, self.t)
                if order is None and self.sort == "saturation" and ranking.saturation_pending(
                        runs.shown_layer(self.view.trace, self.other, self.run, self.layer_index)):
                    self.post_message(self.SaturationWanted(self.layer_index))
                if order is not None and order.shape[0] == self.values().shape[0]:
                    self._order = order
                    self._rows = np.empty_like(order)
                    self._rows[order] = np.arange(order.shape[0])
        return self._order

    def unit_at(self, row: int) -> int:
        """The unit shown on ``row``."""
        order = self.order()
        return row if order is None else int(order[row])

    def row_of(self, unit: int) -> int:
        """The row that shows ``unit``."""
        self.order()
        return unit if self._rows is None else int(self._rows[unit])

    def cursor_row(self) -> int | None:
        """The highlighted row: the selected unit's, or for x_t the hot input
        of a one-hot vector (x has no units of its own)."""
        if self.vector == "x":
            return None if self.run == "delta" and self.other is not None else draw.one_hot_index(self.values())
        if self.view is None:
            return None
        return self.row_of(self.unit) if self.unit < self.values().shape[0] else self.unit

    def _invalidate(self, cursor_moved: bool = True) -> None:
        """Forget the rows drawn for the old state and repaint. The title is
        rebuilt only when something it shows changed, and the pane scrolls
        to the cursor only when the cursor may have moved (``cursor_moved``):
        a step keeps the selected unit, so on → only the numbers change."""
        self._cache.clear()
        self._values = None
        self._order_known = False
        self._row_ctx = None
        layer = self._layer()
        rows = 0 if layer is None else self.values().shape[0]
        if self.virtual_size.height != rows:
            self.virtual_size = Size(1, rows)
        self._update_title()
        self.refresh()
        if cursor_moved:
            self.call_after_refresh(self.keep_cursor_visible)

    def _redraw_view(self, old: View | None = None, new: View | None = None) -> None:
        # x_t's highlighted row is the step's hot input; the others keep
        # theirs when only the step changed, unless sorted by the step's values.
        moved = self.vector == "x" or not step_only(old, new) or self.sort in ("value", "delta")
        self._invalidate(cursor_moved=moved)

    def watch_sort(self, old: str, new: str) -> None:
        if old != new and self.vector != "x" and self.is_mounted and self._view_drawn:
            self._invalidate()

    def _update_title(self) -> None:
        key = self._title_key()
        runs_shown = self._title_runs
        if key != self._title_shown or runs_shown[0] is not self.trace or runs_shown[1] is not self.other:
            self._title_shown = key
            self._title_runs = (self.trace, self.other)
            self.border_title = self._title()

    def _title_key(self) -> tuple[object, ...]:
        """What the title depends on besides the traces themselves (which
        ``_update_title`` compares by identity): the step matters only
        through the mask, the one-hot token of x_t, and whether run B has
        that step."""
        layer = self._layer()
        if layer is None or self.trace is None:
            return (None,)
        t = self.t
        masked = layer.mask is not None and not bool(layer.mask[t])
        hot = None
        if self.vector == "x":
            hot = (draw.one_hot_index(self.values()), t)  # its token is the step's
        past_b = self.other is not None and self.run != "a" and t >= self.other.steps
        scale = None if self.vector == "x" else self.stats().scale
        return (self.layer_index, self.run, self.size.width, masked, hot, past_b, scale, self._sort_shown())

    def _sort_shown(self) -> str:
        """The sort the title names ("index": none)."""
        return "index" if self.vector == "x" else self.sort

    def watch_view(self, old: View | None, new: View | None) -> None:
        self._view_changed(old, new)

    def on_resize(self, event: events.Resize) -> None:
        self._cache.clear()
        self._row_ctx = None
        self._update_title()
        self.call_after_refresh(self.keep_cursor_visible)

    def notify_style_update(self) -> None:
        # Theme or CSS changed: every cached strip has stale colours.
        super().notify_style_update()
        self._cache.clear()
        self._styles = None
        self._row_ctx = None

    def _row_styles(self) -> dict[str, Style]:
        """The Rich styles rows are drawn with, looked up once per theme
        rather than once per row (CSS lookups are the costly part)."""
        if self._styles is None:
            # Every pane has the same component styles over the same
            # background: the first pane's lookups serve the others.
            key = (self.app.theme, self.rich_style, self.get_component_rich_style("vector-pane--cursor"))
            found = _SHARED_STYLES.get(key)
            if found is not None:
                self._styles = found
                return found
            part = partial(draw.component_style, self)
            self._styles = _SHARED_STYLES[key] = {
                "base": self.rich_style,
                "cursor": self.rich_style + self.get_component_rich_style("vector-pane--cursor"),
                "index": part("vector-pane--index"),
                "bar": part("vector-pane--bar"),
                "negative": part("vector-pane--bar-negative"),
                "axis": part("vector-pane--axis"),
                "warning": part("vector-pane--warning"),
            }
        return self._styles

    def keep_cursor_visible(self) -> None:
        """Scroll just enough that the highlighted row is on screen."""
        row = self.cursor_row()
        height = self.scrollable_content_region.height
        if row is None or height <= 0:
            return
        top = round(self.scroll_offset.y)
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False)

    # -- title ---------------------------------------------------------------

    def _title(self) -> Content:
        """The longest title that fits: symbol, name, scale (or for a one-hot
        x_t its token), then "masked"; parts are dropped whole, never cut
        mid-number."""
        symbol, name = pane_title(self.vector)
        layer = self._layer()
        if layer is None:
            return Content(symbol)
        t = self.t
        masked = [(" " + tr("masked"), "italic")] if layer.mask is not None and not bool(layer.mask[t]) else []
        hot = draw.one_hot_index(self.values()) if self.vector == "x" and not (
            self.other is not None and self.run == "delta") else None
        head: list[tuple[str, str] | str] = [(symbol, "bold")]
        if self.other is not None:
            # Which run, on every title: the same pane shows A, B or B − A.
            head.append((f" {runs.LABELS[self.run]}", "bold reverse"))
            if self.run != "a" and t >= self.other.steps:
                return Content.assemble(*head, (" " + tr("B has {steps} steps", steps=self.other.steps), "italic"))
        if hot is not None:
            shown = self.other if self.other is not None and self.run == "b" else self.trace
            token = shown.token(layer.position(t)) if shown is not None else None
            quoted = draw.quote(token) if token is not None else None
            candidates = [
                [*head, " " + tr("{token} (one-hot {hot})", token=quoted, hot=hot), *masked] if quoted
                else [*head, " " + tr("one-hot {hot}", hot=hot), *masked],
                [*head, f" {quoted}", *masked] if quoted else [*head, f" #{hot}", *masked],
                head,
            ]
        else:
            scale = (f" {self.stats().scale.label()}", "dim")
            named = [*head, f" {name}"] if name else head
            sort = self._sort_shown()
            if sort != "index":
                # The sort matters more than the scale: rows out of unit
                # order with no word why would read as a broken pane.
                by = (" · " + tr(SORT_LABELS[sort]), "italic")
                candidates = [[*named, by, scale, *masked], [*named, by, *masked], [*head, by, *masked],
                              [*head, by], head]
            else:
                candidates = [[*named, scale, *masked], [*head, scale, *masked], [*named, *masked], head]
        room = self.size.width - 2  # the rule's end characters
        contents = [Content.assemble(*c) for c in candidates]
        for content in contents:
            if content.cell_length <= room:
                return content
        return contents[-1]

    # -- drawing -------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = y + round(self.scroll_offset.y)
        key = (row, width)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_row(row, width)
            self._cache[key] = strip
        return strip

    def _row_context(self, width: int) -> _RowContext | None:
        """What every row of the current state shares (values, scale,
        column widths, styles), worked out once per state and width rather
        than once per row."""
        ctx = self._row_ctx
        if ctx is not None and ctx.width == width:
            return ctx
        layer = self._layer()
        if layer is None:
            return None
        styles = self._row_styles()
        values = self.values()
        stats = self.stats()
        index_width = len(str(values.shape[0] - 1))
        marker, bar_width = self._layout(width, index_width, stats.value_width)

        def bars(base: Style) -> draw.BarStyles:
            return draw.BarStyles(base=base, positive=styles["bar"], negative=styles["negative"],
                                  axis=styles["axis"], warning=styles["warning"])

        delta = self.other is not None and self.run == "delta"
        self._row_ctx = ctx = _RowContext(
            width=width, values=values, cursor=self.cursor_row(), scale=stats.scale,
            value_width=stats.value_width, index_width=index_width, marker=marker, bar_width=bar_width,
            styles=styles, bars=bars(styles["base"]), cursor_bars=bars(styles["cursor"]),
            fmt=runs.fmt_delta if delta else draw.fmt,
            order=None if self.vector == "x" else self.order(),
        )
        return ctx

    def _render_row(self, row: int, width: int) -> Strip:
        styles = self._row_styles()
        ctx = self._row_context(width) if width > 0 else None
        if ctx is None or row >= ctx.values.shape[0]:
            return Strip.blank(max(width, 0), styles["base"])
        unit = row if ctx.order is None else int(ctx.order[row])
        selected = row == ctx.cursor
        # The cursor's full (not partial) component style: its translucent
        # background is blended over the pane's own.
        base = styles["cursor"] if selected else styles["base"]
        value = float(ctx.values[unit])
        finite = math.isfinite(value)
        value_width = ctx.value_width
        text = ctx.fmt(value).rjust(value_width)
        value_style = base if finite else base + styles["warning"]
        index_style = base + styles["index"]
        index_width = ctx.index_width
        segments: list[Segment] = []
        if ctx.marker:
            segments.append(Segment("▶" if selected else " ", base))
        elif selected:
            # No room for the ▶ column: the unit number in reverse video marks
            # the row instead (reverse survives NO_COLOR, a background not).
            index_style = index_style + Style(reverse=True)
        if index_width + 1 + value_width <= width:
            segments += [
                Segment(f"{unit:>{index_width}}", index_style),
                Segment(" ", base),
                Segment(text, value_style),
            ]
            if ctx.bar_width:
                segments.append(Segment(" ", base))
                segments += draw.bar(value, ctx.scale, ctx.bar_width,
                                     ctx.cursor_bars if selected else ctx.bars)
        elif value_width <= width:
            # Too narrow for unit numbers: the value alone, whole.
            segments = [Segment(text, value_style + (Style(reverse=True) if selected else Style()))]
        else:
            # Narrower than a number: say so rather than print half of one.
            segments = [Segment("…", base)]
        return Strip(segments).adjust_cell_length(width, base)

    @staticmethod
    def _layout(width: int, index_width: int, value_width: int) -> tuple[bool, int]:
        """(show the ▶ column, bar width) for a row ``width`` cells wide.

        The value is never cut; the bar shrinks first, then the ▶ column
        goes so that a narrow pane still gets a bar of a few cells."""
        core = index_width + 1 + value_width
        room = width - core - 1  # the space before the bar
        if room - 1 >= MIN_BAR:
            return True, min(room - 1, MAX_BAR)
        if room >= MIN_BAR:
            return False, min(room, MAX_BAR)
        return width >= core + 1, 0

    def on_click(self, event: events.Click) -> None:
        if self.vector == "x":
            return
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = offset.y + round(self.scroll_offset.y)
        if 0 <= row < self.values().shape[0]:
            self.post_message(UnitPicked(self.unit_at(row)))
