"""What goes down the wire to the terminal: only the cells that changed.

Textual writes every segment of every region it repaints, each with its full
colour codes and a reset after it. One → step repaints about a third of the
screen that way (some 26 KB at 120×40 in truecolor) although a few hundred
cells change, and over SSH on a slow link the screen falls seconds behind a
held key. ``Cells`` keeps what the terminal shows (a character and a pen per
cell), takes each frame Textual composes, and writes only the cells that
differ: a cursor move where a run of changed cells starts, colour codes only
where the pen changes from the cell written before, and the characters.

``Pacer`` draws fewer frames while a key repeats: a held → arrives 30 times a
second, and each frame waits until the one before it has had time to cross a
slow link (its bytes at ``RATE``), so the screen never queues up seconds of
frames behind the key; a single key press is drawn at once.

The app's display hook (``textual_private.CellDiffingDisplay``) hands
frames over as lines of Rich segments; the colour codes are Textual's own
(``Strip.render_ansi``), so a cell looks the same either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.cells import cell_len
from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

#: The pen of a cell: its attribute codes (bold, italic, …), foreground and
#: background codes, and its hyperlink (Rich's OSC 8 link and id), as SGR
#: parameter strings exactly as Textual writes them.
Pen = tuple[tuple[str, ...], str | None, str | None, str | None, str | None]

DEFAULT_PEN: Pen = ((), None, None, None, None)
#: A cell whose content the terminal may show anything for (never written,
#: or the screen was resized or handed to another program).
UNKNOWN = None

COLOR_SYSTEMS = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT,
                 "truecolor": ColorSystem.TRUECOLOR, "windows": ColorSystem.WINDOWS}


def pen_of(ansi: str, link: str | None = None, link_id: str | None = None) -> Pen:
    """Split Textual's SGR parameters for a style (``Strip.render_ansi``)
    into attributes, foreground and background, so a change of colour alone
    is written as that colour alone."""
    if not ansi and not link:
        return DEFAULT_PEN
    codes = ansi.split(";") if ansi else []
    attrs: list[str] = []
    fg = bg = None
    k = 0
    while k < len(codes):
        code = codes[k]
        if code in ("38", "48"):
            # 38;5;n or 38;2;r;g;b: one colour, several parameters.
            n = 3 if k + 1 < len(codes) and codes[k + 1] == "5" else 5
            value = ";".join(codes[k:k + n])
            if code == "38":
                fg = value
            else:
                bg = value
            k += n
            continue
        number = int(code)
        if 30 <= number <= 39 or 90 <= number <= 97:
            fg = code
        elif 40 <= number <= 49 or 100 <= number <= 107:
            bg = code
        else:
            attrs.append(code)
        k += 1
    return (tuple(attrs), fg, bg, link, link_id)


def sgr(old: Pen, new: Pen) -> str:
    """The shortest of two ways from pen ``old`` to pen ``new``: a reset and
    all of ``new``, or only what changed (when no attribute is switched off;
    the codes that switch one off differ between terminals)."""
    out = ""
    if old[3] != new[3]:
        if old[3]:
            out += "\x1b]8;;\x1b\\"
        if new[3]:
            out += f"\x1b]8;id={new[4]};{new[3]}\x1b\\"
    attrs, fg, bg = new[0], new[1], new[2]
    full = ["0", *attrs, *(c for c in (fg, bg) if c)]
    if set(old[0]) - set(attrs):
        codes = full
    else:
        codes = [a for a in attrs if a not in old[0]]
        if fg != old[1]:
            codes.append(fg or "39")
        if bg != old[2]:
            codes.append(bg or "49")
        if len(";".join(codes)) > len(";".join(full)):
            codes = full
    if codes:
        out += "\x1b[" + ";".join(codes) + "m"
    return out


def move(x: int, y: int) -> str:
    """The cursor to column ``x``, row ``y`` (from 0)."""
    return f"\x1b[{y + 1}H" if x == 0 else f"\x1b[{y + 1};{x + 1}H"


#: Unchanged cells between two changed runs on a row are written again when
#: there are at most this many (cheaper than a cursor move that skips them).
GAP = 3


class Cells:
    """The terminal's cells as last written (``shown``) and as the frames
    composed since want them (``wanted``); ``flush`` writes the difference.

    A wide character (CJK, most emoji: two columns) sits in its first cell;
    the second holds "" with the same pen. A cell of ``shown`` is
    ``UNKNOWN`` until written: after ``forget`` (the terminal was handed to
    another program, or the app asked for a full repaint) and after a
    resize, every cell is written again."""

    def __init__(self, color_system: str | None = "truecolor") -> None:
        self.width = 0
        self.height = 0
        #: Whether the app was asked to repaint the whole screen since the
        #: last resize (``textual_private.CellDiffingDisplay``).
        self.asked_for_all = False
        self.color_system = color_system
        self._pens: dict[Style, Pen] = {}
        self.wanted_text: list[list[str | None]] = []
        self.wanted_pen: list[list[Pen | None]] = []
        self.shown_text: list[list[str | None]] = []
        self.shown_pen: list[list[Pen | None]] = []
        #: Rows painted since the last flush, with the columns painted.
        self._dirty: dict[int, tuple[int, int]] = {}

    # -- state ------------------------------------------------------------

    def resize(self, width: int, height: int) -> None:
        """A screen of ``width`` × ``height`` that shows nothing known."""
        self.width, self.height = width, height
        self.asked_for_all = False
        self.wanted_text = [[UNKNOWN] * width for _ in range(height)]
        self.wanted_pen = [[UNKNOWN] * width for _ in range(height)]
        self.forget()

    def forget(self) -> None:
        """The terminal may show anything now: the next flush writes every
        cell the frames want, changed or not."""
        self.shown_text = [[UNKNOWN] * self.width for _ in range(self.height)]
        self.shown_pen = [[UNKNOWN] * self.width for _ in range(self.height)]
        self._dirty = {y: (0, self.width) for y in range(self.height)}

    @property
    def complete(self) -> bool:
        """Whether every cell of the screen has been painted by a frame."""
        return all(UNKNOWN not in row for row in self.wanted_text)

    @property
    def pending(self) -> bool:
        """Whether frames were painted since the last flush."""
        return bool(self._dirty)

    def set_color_system(self, color_system: str | None) -> None:
        if color_system != self.color_system:
            self.color_system = color_system
            self._pens.clear()
            self.forget()

    def _pen(self, style: Style | None) -> Pen:
        if style is None:
            return DEFAULT_PEN
        pen = self._pens.get(style)
        if pen is None:
            system = COLOR_SYSTEMS.get(self.color_system or "", ColorSystem.TRUECOLOR)
            link = style.link
            pen = self._pens[style] = pen_of(Strip.render_ansi(style, system), link,
                                             style.link_id if link else None)
        return pen

    # -- frames in ----------------------------------------------------------

    def paint(self, x: int, y: int, segments: Iterable[Segment]) -> None:
        """What a frame writes at column ``x`` of row ``y``, as the terminal
        would lay it out: each character in the next cell (two for a wide
        one), a zero-width one joined to the cell before it."""
        if not 0 <= y < self.height:
            return
        text_row, pen_row = self.wanted_text[y], self.wanted_pen[y]
        width = self.width
        start = x
        for text, style, control in segments:
            if control or not text:
                continue
            pen = self._pen(style)
            if text.isascii() and text.isprintable():
                end = min(x + len(text), width)
                if end > x:
                    text_row[x:end] = text[:end - x]
                    pen_row[x:end] = [pen] * (end - x)
                x = end
                if x >= width:
                    break
                continue
            for char in text:
                w = cell_len(char)
                if w == 0:
                    if x > start and text_row[x - 1] is not None:
                        k = x - 1 if text_row[x - 1] != "" else x - 2
                        text_row[k] = (text_row[k] or "") + char
                    continue
                if x + w > width:
                    x = width
                    break
                text_row[x] = char
                pen_row[x] = pen
                if w == 2:
                    text_row[x + 1] = ""
                    pen_row[x + 1] = pen
                x += w
            if x >= width:
                break
        if x > start:
            old = self._dirty.get(y)
            self._dirty[y] = (start, x) if old is None else (min(old[0], start), max(old[1], x))

    # -- the difference out ---------------------------------------------------

    def _changed(self, y: int, x0: int, x1: int) -> list[int]:
        wt, wp, st, sp = self.wanted_text[y], self.wanted_pen[y], self.shown_text[y], self.shown_pen[y]
        changed = set()
        for x in range(x0, x1):
            if wt[x] is UNKNOWN:
                continue
            if wt[x] != st[x] or wp[x] != sp[x]:
                changed.add(x)
        if not changed:
            return []
        # A wide character is written whole: if either of its cells changed,
        # now or in what the terminal shows, both are written again.
        for x in list(changed):
            for row in (wt, st):
                if row[x] == "" and x > 0:
                    changed.add(x - 1)
                if x + 1 < self.width and row[x + 1] == "":
                    changed.add(x + 1)
        return sorted(x for x in changed if wt[x] is not UNKNOWN)

    def flush(self) -> str:
        """The escape sequence that brings the terminal from ``shown`` to
        ``wanted``; ``shown`` is ``wanted`` afterwards. Starts and ends with
        the default pen, as Textual's own frames do."""
        out: list[str] = []
        pen = DEFAULT_PEN
        cursor: tuple[int, int] | None = None
        for y in sorted(self._dirty):
            x0, x1 = self._dirty[y]
            changed = self._changed(y, x0, x1)
            if not changed:
                continue
            wt, wp, st, sp = self.wanted_text[y], self.wanted_pen[y], self.shown_text[y], self.shown_pen[y]
            runs: list[list[int]] = [[changed[0], changed[0]]]
            for x in changed[1:]:
                if x - runs[-1][1] - 1 <= GAP and all(wt[g] is not UNKNOWN for g in range(runs[-1][1] + 1, x)):
                    runs[-1][1] = x
                else:
                    runs.append([x, x])
            for a, b in runs:
                if cursor != (a, y):
                    if cursor is not None and cursor[1] == y and cursor[0] < a:
                        n = a - cursor[0]
                        out.append("\x1b[C" if n == 1 else f"\x1b[{n}C")
                    else:
                        out.append(move(a, y))
                for x in range(a, b + 1):
                    char = wt[x]
                    if char == "":
                        continue  # the second cell of a wide character
                    cell_pen = wp[x]
                    assert char is not None and cell_pen is not None
                    if cell_pen != pen:
                        out.append(sgr(pen, cell_pen))
                        pen = cell_pen
                    out.append(char)
                st[a:b + 1] = wt[a:b + 1]
                sp[a:b + 1] = wp[a:b + 1]
                # After the last column the cursor waits to wrap: its place
                # is not one to count on.
                cursor = (b + 1, y) if b + 1 < self.width else None
        self._dirty = {}
        if pen != DEFAULT_PEN:
            out.append(sgr(pen, DEFAULT_PEN))
        return "".join(out)


@dataclass
class Pacer:
    """When to write the next frame while a key repeats.

    A key counts as repeating when the same key came less than
    ``REPEAT_GAP`` seconds before it (a terminal's auto-repeat sends 25–40 a
    second; a person pressing again is slower). Meanwhile a frame waits until
    ``MIN_INTERVAL`` has passed since the last one and the last one's bytes
    would have crossed a link of ``RATE`` bytes a second; frames composed in
    between are merged into it (``Cells`` writes only the net difference).
    Otherwise a frame is written at once."""

    RATE: float = 64 * 1024.0
    MIN_INTERVAL: float = 0.1
    REPEAT_GAP: float = 0.15

    last_key: str | None = None
    last_key_at: float = -1e9
    repeating_until: float = -1e9
    last_flush_at: float = -1e9
    last_flush_bytes: int = 0

    def key(self, key: str, now: float) -> None:
        """A key arrived (from the driver's input thread)."""
        if key == self.last_key and now - self.last_key_at < self.REPEAT_GAP:
            self.repeating_until = now + self.REPEAT_GAP
        self.last_key, self.last_key_at = key, now

    def delay(self, now: float) -> float:
        """Seconds to wait before writing a frame composed now (0: write)."""
        if now >= self.repeating_until:
            return 0.0
        interval = max(self.MIN_INTERVAL, self.last_flush_bytes / self.RATE)
        return max(0.0, self.last_flush_at + interval - now)

    def flushed(self, nbytes: int, now: float) -> None:
        self.last_flush_at, self.last_flush_bytes = now, nbytes
