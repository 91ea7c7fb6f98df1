"""The whole sequence at a glance: one vector as units × time, a heat map.

``O`` opens it for the focused vector pane's vector (x f i ĉ c o h). It
takes the place of the pane grid and the slot under it, so at 80×24 it gets
a dozen rows (two dozen units) and at 120×40 three times that; the status
line, the timeline and the model panel stay.

Time runs left to right, one column a step: a column is exact (no step is
hidden behind another's maximum), and a long trace scrolls instead. Units
run down, two a row: the upper half block ``▀`` takes the even unit's
colour as its foreground and the odd unit's as its background. Colours are
on the vector's fixed scale, the panes' own (``runs.stats``): gates 0…1 and
ĉ, h −1…1 when the activations fix them, x and c from the trace; unsigned
scales fade from the background to ``$primary``, signed ones to
``$primary`` above zero and ``$accent`` below. NaN and ±Inf take
``$error``. The title holds the legend and the value under the cursor.

The cursor is the overview's own: it follows the screen's view (t, unit)
whenever that changes, and the arrow keys (h j k l) move it without moving
the screen; its half cell is drawn in the foreground colour, the screen's
own position (when the cursor has left it) in a muted one. Enter goes
there and returns to the panes; a click goes there and stays.

Line API, and nothing is O(T): every frame reads one rectangle, the steps
and units on screen (``debug.window``), once; rows are cached as ``Strip``s
under keys with a generation counter (what the rows show: trace, layer,
run, vector, scale, theme) and the marks that fall in that row, so moving
the cursor redraws two rows and scrolling reads one new rectangle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.color import Color
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..core.scales import Scale
from ..core.vocabulary import SUBSCRIPTED
from ..debug.session import View
from ..debug.window import Window, window
from . import draw, runs
from .catalogue import N_, tr
from .refusals import Refusal, action_state
from .translated import Translated
from .view import ShowsView

#: Colour levels on each side of zero (0 is the background itself).
LEVELS = 8
#: Codes of a half cell besides the levels: ``1…LEVELS`` positive,
#: ``NEG + 1…NEG + LEVELS`` negative.
NEG = LEVELS
WARN = 2 * LEVELS + 1  # NaN, ±Inf
BLANK = WARN + 1  # no such unit, or a step run B does not have
CURSOR = BLANK + 1  # the overview's cursor
HERE = CURSOR + 1  # where the screen stands, when the cursor has left it
CODES = HERE + 1
#: The glyph of every cell: upper half = even unit (foreground colour),
#: lower half = odd unit (background colour).
UPPER = "▀"
#: The axis's mark over the cursor's column.
MARK = "▼"
#: Steps between tick labels on the axis.
TICK = 10

CURSOR_GROUP = Binding.Group(N_("cursor"))


def codes(values: np.ndarray, scale: Scale) -> np.ndarray:
    """The colour code of every value (see ``LEVELS``, ``WARN``) on
    ``scale``: how far along the scale it lies, in ``LEVELS`` steps, signed
    when the scale is; values beyond the scale take its end."""
    v = np.asarray(values, np.float64)
    out = np.empty(v.shape, np.int8)
    finite = np.isfinite(v)
    w = np.where(finite, v, 0.0)
    if scale.signed:
        span = np.where(w >= 0, scale.hi, -scale.lo)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(span > 0, np.abs(w) / span, 0.0)
        level = np.rint(np.clip(frac, 0.0, 1.0) * LEVELS).astype(np.int8)
        out[...] = np.where((w < 0) & (level > 0), NEG + level, level)
    else:
        width = scale.hi - scale.lo
        frac = (w - scale.lo) / width if width > 0 else np.zeros_like(w)
        out[...] = np.rint(np.clip(frac, 0.0, 1.0) * LEVELS).astype(np.int8)
    out[~finite] = WARN
    return out


def axis(x0: int, span: int, steps: int, mark: int | None) -> str:
    """Tick labels for the steps ``x0`` … ``x0 + span - 1``: the first step
    on screen always (so the window says where it is), then every ``TICK``
    steps where a label fits with a blank before it; ``MARK`` over column
    ``mark`` with blanks beside it."""
    cells = [" "] * span
    end = min(x0 + span, steps)
    wanted = [x0] + list(range((x0 // TICK + 1) * TICK, end, TICK))
    for step in wanted:
        label, col = str(step), step - x0
        if col + len(label) > span or any(c != " " for c in cells[max(col - 1, 0): col + len(label)]):
            continue
        cells[col: col + len(label)] = list(label)
    if mark is not None and 0 <= mark < span:
        cells[mark] = MARK
        for side in (mark - 1, mark + 1):
            if 0 <= side < span:
                cells[side] = " "
    return "".join(cells)


@dataclass(frozen=True)
class _Frame:
    """What every line of one frame shares: where the window starts, how
    big it is, and the values in it (read once per frame)."""

    key: tuple[object, ...]
    #: (generation, steps and rows) of the rectangle read; None: none.
    rect: tuple[int, int, int, int, int] | None
    x0: int
    y0: int
    span: int
    rows: int
    label_width: int
    data: Window | None
    codes: np.ndarray | None


class Overview(Translated, ShowsView, ScrollView, can_focus=True, inherit_bindings=False):
    """One vector of the layer shown, every step and unit, as a heat map."""

    BINDING_GROUP_TITLE = "Overview"
    BINDINGS = [
        Binding("left,h", "move(-1, 0)", "Cursor back a step", id="overview_left", group=CURSOR_GROUP),
        Binding("right,l", "move(1, 0)", "Cursor forward a step", id="overview_right", group=CURSOR_GROUP),
        Binding("up,k", "move(0, -1)", "Cursor up a unit", id="overview_up", group=CURSOR_GROUP),
        Binding("down,j", "move(0, 1)", "Cursor down a unit", id="overview_down", group=CURSOR_GROUP),
        Binding("pageup", "page(-1)", "Cursor back a screenful", id="overview_page_back", show=False),
        Binding("pagedown", "page(1)", "Cursor forward a screenful", id="overview_page_forward", show=False),
        Binding("home", "end(-1)", "Cursor to the first step", id="overview_first", show=False),
        Binding("end", "end(1)", "Cursor to the last step", id="overview_last", show=False),
        Binding("enter", "go", "Go there", id="overview_go",
                tooltip="Go to the cursor's step and unit, and back to the panes"),
        Binding("escape", "close", "Close", id="overview_close", tooltip="Close the overview (O too)"),
    ]

    COMPONENT_CLASSES = {
        "overview--label",
        "overview--cursor-label",
        "overview--axis",
        "overview--positive",
        "overview--negative",
        "overview--warning",
        "overview--cursor",
        "overview--here",
    }

    DEFAULT_CSS = """
    Overview {
        border: none;
        border-top: solid $panel-lighten-2;
        border-title-align: left;
        border-title-color: $foreground;
        background: $background;
        overflow-x: auto;
        overflow-y: auto;
        scrollbar-size: 1 1;
        & > .overview--label { color: $text-muted; }
        & > .overview--cursor-label { color: $accent; text-style: bold; }
        & > .overview--axis { color: $text-muted; }
        & > .overview--positive { color: $primary; }
        & > .overview--negative { color: $accent; }
        & > .overview--warning { color: $error; }
        & > .overview--cursor { color: $foreground; }
        & > .overview--here { color: $foreground 45%; }
    }
    Overview:focus {
        border-top: heavy $accent;
        border-title-color: $accent;
        border-title-style: bold;
        background-tint: $foreground 0%;
    }
    """

    @dataclass
    class Picked(Message):
        """Go to step ``t`` and ``unit`` (None: the overview of x, whose rows
        are inputs, not units, picks a step only). ``close``: and back to
        the panes."""

        t: int
        unit: int | None
        close: bool

    @dataclass
    class Closed(Message):
        """The overview asks to be closed (Escape)."""

    #: What is shown (bound to the debugger screen's ``view``): the cursor
    #: follows its (t, unit).
    view: reactive[View | None] = reactive(None, repaint=False)
    #: The vector shown: one of x f i c_hat c o h (set by the screen's ``O``).
    vector: reactive[str] = reactive("f", init=False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        #: The overview's own cursor: (step, row of the vector).
        self.cursor_t = 0
        self.cursor_unit = 0
        #: One more whenever what the rows show changes (view data, vector,
        #: scale, theme): the first part of every cache key.
        self._generation = 0
        self._data_key: tuple[object, ...] | None = None
        self._lines: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._frame: _Frame | None = None
        #: The cursor moved since the widget last scrolled to it with a size.
        self._follow_pending = False
        self._palette: list[Style] | None = None
        self._styles: dict[str, Style] | None = None
        self._pair_styles: dict[int, Style] = {}
        #: Every rectangle read, (start, stop, first, last): the tests check
        #: that scrolling a long trace reads the window, not the trace.
        self.windows_read: list[tuple[int, int, int, int]] = []

    # -- what is shown ------------------------------------------------------------

    def _array_shape(self) -> tuple[int, int]:
        layer = self._layer()
        if layer is None:
            return 0, 0
        shape = layer.vector(self.vector).shape
        return int(shape[0]), int(shape[1])

    @property
    def _scale(self) -> Scale:
        assert self.trace is not None
        return runs.stats(self.trace, self.other, self.run, self.layer_index, self.vector).scale

    def _data_changed(self) -> None:
        """Forget every row if what they show changed (the generation is
        bumped only then: stepping keeps the cached rows)."""
        key = (self.trace, self.other, self.run, self.layer_index, self.vector,
               None if self.trace is None else self._scale)
        if key != self._data_key:
            self._data_key = key
            self._generation += 1
            self._frame = None
        steps, rows = self._array_shape()
        size = Size(self._label_width(rows) + steps, (rows + 1) // 2 + 1)
        if self.virtual_size != size:
            self.virtual_size = size

    @staticmethod
    def _label_width(rows: int) -> int:
        return len(str(max(rows - 1, 0))) + 1

    def follow_view(self) -> None:
        """Put the cursor where the screen stands (for x, whose rows are
        inputs, the selected unit's row when there is one)."""
        steps, rows = self._array_shape()
        self.cursor_t = min(self.t, max(steps - 1, 0))
        self.cursor_unit = min(self.unit, max(rows - 1, 0))

    def show_vector(self, vector: str) -> None:
        """Show ``vector``, the cursor where the screen stands (``O`` again)."""
        if vector != self.vector:
            self.vector = vector  # redraws, and the cursor follows the view
        elif self._view_drawn:
            self.follow_view()
            self._cursor_moved()

    def _redraw_view(self, old: View | None = None, new: View | None = None) -> None:
        self._data_changed()
        self.follow_view()
        self._cursor_moved()

    def watch_view(self, old: View | None, new: View | None) -> None:
        self._view_changed(old, new)

    def watch_vector(self) -> None:
        self._view_changed()

    def refresh_scale(self) -> None:
        """The screen's scales worker finished: redraw on the real scale."""
        if self._view_drawn:
            self._data_changed()
            self._update_title()
            self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._generation += 1
        self._palette = None
        self._styles = None
        self._pair_styles.clear()
        self._frame = None

    def on_resize(self, event: events.Resize) -> None:
        if self._view_drawn:
            self._update_title()
            self.keep_cursor_visible()

    # -- the cursor --------------------------------------------------------------

    def _cursor_moved(self) -> None:
        self._update_title()
        # Scrolled to the cursor now if the widget has its size, and again
        # before the next frame is read: just shown, it has none yet, and a
        # first frame drawn at the old place would read a window for nothing.
        self._follow_pending = True
        self.keep_cursor_visible()
        self.refresh()

    def _span(self) -> int:
        _, rows = self._array_shape()
        return max(self.scrollable_content_region.width - self._label_width(rows), 1)

    def _visible_rows(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def keep_cursor_visible(self) -> None:
        """Scroll both ways just enough that the cursor's cell is on screen,
        with a few steps of context ahead of it when the trace goes on."""
        if not self.is_mounted or self.scrollable_content_region.width <= 0:
            return
        span, height = self._span(), self._visible_rows()
        x0, y0 = round(self.scroll_offset.x), round(self.scroll_offset.y)
        margin = min(4, span // 4)
        t, row = self.cursor_t, self.cursor_unit // 2
        if t < x0 + margin:
            x0 = t - margin
        elif t >= x0 + span - margin:
            x0 = t - span + margin + 1
        if row < y0:
            y0 = row
        elif row >= y0 + height:
            y0 = row - height + 1
        steps, _ = self._array_shape()
        x0 = max(0, min(x0, steps - span))
        y0 = max(0, y0)
        if (x0, y0) != (round(self.scroll_offset.x), round(self.scroll_offset.y)):
            self.scroll_to(x=x0, y=y0, animate=False, immediate=True)

    def why_not(self, action: str, parameters: tuple[object, ...]) -> Refusal | None:
        """Why a key of the overview cannot act (the screen's status line
        says it, as for every refused key)."""
        steps, rows = self._array_shape()
        if action in ("move", "page", "end"):
            dt = int(parameters[0]) if parameters else 0  # type: ignore[call-overload]
            du = int(parameters[1]) if action == "move" and len(parameters) > 1 else 0  # type: ignore[call-overload]
            if dt < 0 and self.cursor_t <= 0:
                return Refusal(tr("overview: already at the first step"))
            if dt > 0 and self.cursor_t >= steps - 1:
                return Refusal(tr("overview: already at the last step"))
            if du < 0 and self.cursor_unit <= 0:
                return Refusal(tr("overview: already at the first row"))
            if du > 0 and self.cursor_unit >= rows - 1:
                return Refusal(tr("overview: already at the last row"))
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action_state(self.why_not(action, parameters))

    def move_cursor(self, t: int, unit: int) -> None:
        """Put the overview's cursor at step ``t``, row ``unit`` (clamped);
        the screen does not move until Enter."""
        steps, rows = self._array_shape()
        self.cursor_t = max(0, min(int(t), steps - 1))
        self.cursor_unit = max(0, min(int(unit), rows - 1))
        self._cursor_moved()
        self.refresh_bindings()

    def action_move(self, dt: int, du: int) -> None:
        self.move_cursor(self.cursor_t + dt, self.cursor_unit + du)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_t + direction * self._span(), self.cursor_unit)

    def action_end(self, direction: int) -> None:
        steps, _ = self._array_shape()
        self.move_cursor(0 if direction < 0 else steps - 1, self.cursor_unit)

    def action_go(self) -> None:
        self.post_message(self.Picked(self.cursor_t, None if self.vector == "x" else self.cursor_unit, True))

    def action_close(self) -> None:
        self.post_message(self.Closed())

    def cell_of(self, t: int, unit: int) -> tuple[int, int] | None:
        """(x, y) in the widget's content of the half cell of step ``t`` and
        row ``unit``, or None when it is not on screen."""
        _, rows = self._array_shape()
        x = self._label_width(rows) + t - round(self.scroll_offset.x)
        y = 1 + unit // 2 - round(self.scroll_offset.y)
        if not (self._label_width(rows) <= x < self.scrollable_content_region.width
                and 1 <= y < self.scrollable_content_region.height):
            return None
        return x, y

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or self.trace is None:
            return
        steps, rows = self._array_shape()
        t = round(self.scroll_offset.x) + offset.x - self._label_width(rows)
        if not 0 <= t < steps or offset.x < self._label_width(rows):
            return
        unit = self.cursor_unit if offset.y == 0 else 2 * (round(self.scroll_offset.y) + offset.y - 1)
        if unit >= rows:
            return
        if offset.y > 0 and self.cursor_unit // 2 == unit // 2:
            unit = self.cursor_unit  # the same cell: keep the half chosen with the keys
        self.move_cursor(t, unit)
        self.post_message(self.Picked(t, None if self.vector == "x" else unit, False))

    # -- title ---------------------------------------------------------------------

    def _update_title(self) -> None:
        self.border_title = self._title()

    def _title(self) -> Content:
        """The longest title that fits: what it shows, the cursor's value,
        the legend, and how time is laid out; parts are dropped whole."""
        symbol = SUBSCRIPTED.get(self.vector, self.vector)
        head: list[tuple[str, str] | str] = [(symbol, "bold"), " " + tr("overview")]
        if self.trace is None or self._layer() is None:
            return Content.assemble(*head)
        if self.other is not None:
            head.append((f" {runs.LABELS[self.run]}", "bold reverse"))
        steps, rows = self._array_shape()
        value = window(self.trace, self.other, self.run, self.layer_index, self.vector,
                       self.cursor_t, self.cursor_t + 1, self.cursor_unit, self.cursor_unit + 1).values
        shown = runs.fmt(self.run, self.other, float(value[0, 0])) if value.size else "—"
        what = tr("row {row}", row=self.cursor_unit) if self.vector == "x" else \
            tr("unit {unit}", unit=self.cursor_unit)
        cursor = f"  t = {self.cursor_t} · {what}: {shown}"
        legend = self._legend()
        layout = ("  " + tr("a column a step, two units a row"), "dim")
        candidates = [[*head, cursor, *legend, layout], [*head, cursor, *legend], [*head, cursor], head]
        room = self.size.width - 2
        contents = [Content.assemble(*c) for c in candidates]
        for content in contents:
            if content.cell_length <= room:
                return content
        return contents[-1]

    def _legend(self) -> list[tuple[str, str] | str]:
        """``0 ░░░░ 1  NaN ░``: the scale's ends around swatches of its colours."""
        palette = self._colours()
        scale = self._scale

        def swatch(code: int) -> tuple[str, str]:
            return "█", palette[code]

        lo, hi = scale.lo, scale.hi
        out: list[tuple[str, str] | str] = ["  "]
        if scale.signed:
            out += [f"{_short(lo)} ", *(swatch(NEG + k) for k in (8, 6, 4, 2)), swatch(0),
                    *(swatch(k) for k in (2, 4, 6, 8)), f" {_short(hi)}"]
        else:
            out += [f"{_short(lo)} ", *(swatch(k) for k in (0, 2, 4, 6, 8)), f" {_short(hi)}"]
        out += ["  NaN ", swatch(WARN)]
        return out

    # -- colours -------------------------------------------------------------------

    def _colours(self) -> list[str]:
        """The colour of every code, as hex, for the current theme."""
        if self._palette is None:
            self._build_palette()
        assert self._hex is not None
        return self._hex

    _hex: list[str] | None = None

    def _build_palette(self) -> None:
        base = self.rich_style
        background = Color.from_rich_color(base.bgcolor) if base.bgcolor is not None else Color(0, 0, 0)

        def colour(name: str) -> Color:
            style = self.get_component_rich_style(name)
            return Color.from_rich_color(style.color) if style.color is not None else Color(255, 255, 255)

        positive, negative = colour("overview--positive"), colour("overview--negative")
        colours = [background] * CODES
        for k in range(1, LEVELS + 1):
            colours[k] = background.blend(positive, k / LEVELS)
            colours[NEG + k] = background.blend(negative, k / LEVELS)
        colours[WARN] = colour("overview--warning")
        colours[CURSOR] = colour("overview--cursor")
        colours[HERE] = colour("overview--here")
        self._hex = [c.hex for c in colours]
        self._palette = [Style(color=c.rich_color) for c in colours]

    def _pair_style(self, top: int, bottom: int) -> Style:
        """The style of a cell whose upper half is ``top`` and lower half
        ``bottom`` (codes)."""
        key = top * CODES + bottom
        found = self._pair_styles.get(key)
        if found is None:
            if self._palette is None:
                self._build_palette()
            assert self._palette is not None
            found = self._pair_styles[key] = Style(color=self._palette[top].color,
                                                   bgcolor=self._palette[bottom].color)
        return found

    def _line_styles(self) -> dict[str, Style]:
        if self._styles is None:
            base = self.rich_style
            self._styles = {
                "base": base,
                "label": base + draw.component_style(self, "overview--label"),
                "cursor-label": base + draw.component_style(self, "overview--cursor-label"),
                "axis": base + draw.component_style(self, "overview--axis"),
            }
        return self._styles

    # -- drawing -------------------------------------------------------------------

    def _frame_now(self) -> _Frame:
        """The frame's window, read once: the steps and rows on screen."""
        width = self.scrollable_content_region.width
        height = self.scrollable_content_region.height
        if self._follow_pending and width > 0:
            self._follow_pending = False
            self.keep_cursor_visible()
        x0, y0 = round(self.scroll_offset.x), round(self.scroll_offset.y)
        key = (self._generation, x0, y0, width, height)
        frame = self._frame
        if frame is not None and frame.key == key:
            return frame
        steps, rows = self._array_shape()
        label_width = self._label_width(rows)
        span = max(width - label_width, 1)
        visible = max(height - 1, 0)
        data = found = None
        if self.trace is not None and steps and rows and visible:
            first, last = 2 * y0, min(2 * (y0 + visible), rows)
            stop = min(x0 + span, steps)
            rect = (self._generation, x0, stop, first, last)
            if last > first and stop > x0 and frame is not None and frame.rect == rect:
                data, found = frame.data, frame.codes  # resized, the same rectangle
            elif last > first and stop > x0:
                data = window(self.trace, self.other, self.run, self.layer_index, self.vector,
                              x0, stop, first, last)
                self.windows_read.append((x0, stop, first, last))
                found = codes(data.values, self._scale)
                found[data.missing, :] = BLANK
        else:
            rect = None
        self._frame = frame = _Frame(key, rect, x0, y0, span, visible, label_width, data, found)
        return frame

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        styles = self._line_styles()
        if width <= 0 or self.trace is None:
            return Strip.blank(max(width, 0), styles["base"])
        frame = self._frame_now()
        steps, rows = self._array_shape()
        x0, span = frame.x0, frame.span
        here_t, here_unit = (self.t, self.unit) if self.vector != "x" else (self.t, -1)
        if y == 0:
            mark = self.cursor_t - x0
            key: tuple[object, ...] = (self._generation, "axis", x0, width, mark)
            strip = self._lines.get(key)
            if strip is None:
                text = " " * frame.label_width + axis(x0, span, steps, mark)
                strip = Strip([Segment(text, styles["axis"])]).crop_extend(0, width, styles["base"])
                self._lines[key] = strip
            return strip
        row = frame.y0 + y - 1
        # Textual may ask for the line under a horizontal scrollbar too.
        if row >= (rows + 1) // 2 or y > frame.rows or frame.codes is None:
            return Strip.blank(width, styles["base"])
        units = (2 * row, 2 * row + 1)
        marks = (self.cursor_t - x0 if self.cursor_unit in units else None,
                 self.cursor_unit % 2 if self.cursor_unit in units else None,
                 here_t - x0 if here_unit in units else None,
                 here_unit % 2 if here_unit in units else None)
        key = (self._generation, row, x0, width, marks)
        strip = self._lines.get(key)
        if strip is None:
            strip = self._row_strip(frame, row, rows, marks, width)
            self._lines[key] = strip
        return strip

    def _row_strip(self, frame: _Frame, row: int, rows: int, marks: tuple[int | None, ...],
                   width: int) -> Strip:
        styles = self._line_styles()
        assert frame.codes is not None
        local = row - frame.y0
        columns = frame.codes.shape[0]
        top = frame.codes[:, 2 * local].copy()
        bottom = frame.codes[:, 2 * local + 1].copy() if 2 * local + 1 < frame.codes.shape[1] \
            else np.full(columns, BLANK, np.int8)
        here_col, here_half, cursor_col, cursor_half = marks[2], marks[3], marks[0], marks[1]
        for col, half, code in ((here_col, here_half, HERE), (cursor_col, cursor_half, CURSOR)):
            if col is not None and 0 <= col < columns:
                (top if half == 0 else bottom)[col] = code
        pairs = top.astype(np.int32) * CODES + bottom
        edges = [0, *(np.flatnonzero(np.diff(pairs)) + 1).tolist(), columns]
        label_style = styles["cursor-label"] if cursor_col is not None else styles["label"]
        segments = [Segment(f"{2 * row:>{frame.label_width - 1}} ", label_style)]
        for a, b in zip(edges, edges[1:]):
            if b > a:
                segments.append(Segment(UPPER * (b - a), self._pair_style(int(top[a]), int(bottom[a]))))
        return Strip(segments).crop_extend(0, width, styles["base"])


def _short(v: float) -> str:
    """A scale's end as the legend writes it: 1, -1, 3.42."""
    return str(int(v)) if v == int(v) and abs(v) < 1e6 else f"{v:.3g}"
