"""The breakpoints, health and watches panes.

They share the slot under the vector panes with the explain pane, one at a
time (``E`` ``B`` ``H`` ``W`` on the debugger screen), so the layout that
fits 80×24 stays the same whatever is shown there. Each is a pure view of
state bound down from the debugger screen: the breakpoints with their hit
counts and the watched units come from the debugging session, which owns
them, as one snapshot (``debug.session.Pins``) the screen publishes after
each change; the health findings are the screen's. A key pressed in one
posts a message up and the screen asks the session.

Only ↑ ↓ (k j), Enter and the list's own keys are bound here: ← → and the
other stepping keys still reach the screen, so stepping works wherever the
focus is, as in the other panes.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.content import Content
from textual.coordinate import Coordinate
from textual.reactive import reactive
from textual.widgets import DataTable, OptionList
from textual.widgets.option_list import Option

from ..core.lstm import VECTORS
from ..core.vocabulary import symbol
from ..debug.health import Finding
from ..debug.session import BreakpointStatus, Pins, View
from . import draw, runs
from .catalogue import N_, say, tr
from .messages import BreakpointAction, FindingPicked, WatchAction
from .translated import Translated
from .view import ShowsView

#: The most rows a list asks for (title rule included); more scroll.
MAX_HEIGHT = 12
DIM = "$text-muted"
WARN = "bold $error"


def _fit_height(widget, rows: int) -> None:
    """Ask for no more height than the rows take, so a short list leaves the
    rest of the screen to the vector panes."""
    height = min(max(rows, 1) + 1, MAX_HEIGHT)
    if widget.styles.max_height is None or widget.styles.max_height.value != height:
        widget.styles.max_height = height


def _title(name: str, detail: str = "", hint: str = "") -> Content:
    parts: list[tuple[str, str] | str] = [(name, "bold")]
    if detail:
        parts.append(f"  {detail}")
    if hint:
        parts.append((f"  {hint}", "dim"))
    return Content.assemble(*parts)


#: The help screen's section of the lists' keys.
LISTS_TITLE = "Breakpoints, health and watches panes"


class _DebugList(Translated, OptionList, inherit_bindings=False):
    """An option list without OptionList's Home/End/PgUp/PgDn: those step
    through the trace here, as everywhere on the debugger screen."""

    BINDING_GROUP_TITLE = LISTS_TITLE

    BINDINGS = [
        Binding("up,k", "cursor_up", "Previous item", id="list_up", show=False),
        Binding("down,j", "cursor_down", "Next item", id="list_down", show=False),
    ]

    DEFAULT_CSS = """
    _DebugList {
        height: 1fr;
        min-height: 3;
        padding: 0;
        border: none;
        border-top: solid $panel-lighten-2;
        border-title-align: left;
        border-title-color: $foreground;
        background: $background;
        scrollbar-size-vertical: 1;
        &:focus {
            border: none;
            border-top: heavy $accent;
            border-title-color: $accent;
            border-title-style: bold;
            background-tint: $foreground 0%;
        }
        & > .option-list--option { padding: 0; }
    }
    """

    def _keep_highlight(self, highlighted: int | None) -> None:
        count = self.option_count
        if count and any(not self.get_option_at_index(k).disabled for k in range(count)):
            self.highlighted = min(highlighted if highlighted is not None else 0, count - 1)


class BreakpointList(_DebugList):
    """The breakpoints, each with its hit count on the current layer."""

    # Short words for the footer, the long description as the tooltip (help
    # and the palette show that), as on the debugger screen.
    BINDINGS = [
        Binding("space", "toggle_breakpoint", "On/off", id="breakpoint_toggle",
                tooltip="Enable / disable breakpoint"),
        Binding("x,delete,backspace", "delete", "Delete", id="breakpoint_delete", tooltip="Delete breakpoint"),
        Binding("enter", "select", "Next hit", id="breakpoint_goto", tooltip="Go to the breakpoint's next hit"),
    ]

    #: What the lists show (bound to the debugger screen's ``pins``): this
    #: list shows its breakpoints, in the order added.
    pins: reactive[Pins] = reactive(Pins(), init=False)
    #: What is shown (bound to the debugger screen's ``view``): the hit
    #: counts are for its layer, shown in the title.
    view: reactive[View | None] = reactive(None, init=False)

    def on_mount(self) -> None:
        self._rebuild()

    def watch_pins(self, old: Pins, new: Pins) -> None:
        if old.breakpoints != new.breakpoints:
            self._rebuild()

    @property
    def statuses(self) -> tuple[BreakpointStatus, ...]:
        """One entry per breakpoint, on the layer shown."""
        return self.pins.breakpoints

    def watch_view(self, old: View | None, new: View | None) -> None:
        if old is None or new is None or old.layer != new.layer:
            self._rebuild()

    @property
    def layer_index(self) -> int:
        return 0 if self.view is None else self.view.layer

    def _rebuild(self) -> None:
        keep = self.highlighted
        statuses = self.statuses
        self.clear_options()
        if not statuses:
            self.add_option(Option(Content.styled(
                tr("no breakpoints: b adds one, e.g. f[0] < 0.05 or max(abs(c)) > 5"), DIM), disabled=True))
        for s in statuses:
            mark = ("● ", "bold $error") if s.enabled else ("○ ", DIM)
            if s.hits is None:
                count: tuple[str, str] = (f"  ✗ {say(s.error)}", WARN)
            else:
                hits = tr("{n} hit", n=s.hits) if s.hits == 1 else tr("{n} hits", n=s.hits)
                count = (f"  {hits}", "" if s.enabled else DIM)
            if s.scanning:
                # A long trace: its hits are being found in a worker.
                count = ("  " + tr("scanning…"), DIM)
            source = (s.source, "bold") if s.enabled else (s.source, DIM)
            off = ("  " + tr("off"), DIM) if not s.enabled else ""
            self.add_option(Option(Content.assemble(mark, source, count, off)))
        self._keep_highlight(keep)
        on = sum(s.enabled for s in statuses)
        detail = tr("{n} · {on} on · layer {k}", n=len(statuses), on=on, k=self.layer_index) if statuses else ""
        self.border_title = _title(tr("breakpoints"), detail,
                                   tr("space on/off · x delete · Enter next hit") if statuses else "")
        _fit_height(self, len(statuses))

    def _post(self, action: str) -> None:
        k = self.highlighted
        if k is not None and k < len(self.statuses):
            self.post_message(BreakpointAction(action, k))

    def action_toggle_breakpoint(self) -> None:
        # Not "toggle": that is Textual's own action (toggle an attribute).
        self._post("toggle")

    def action_delete(self) -> None:
        self._post("delete")

    def action_select(self) -> None:
        self._post("goto")


#: How each severity is marked, and in which style; the words go through
#: the catalogue when drawn, padded to one width.
SEVERITY = {"error": (N_("error"), WARN), "warning": (N_("warn"), "bold $warning"), "info": (N_("info"), DIM)}

#: The health list's title counts, singular and plural, per severity.
COUNTED = {"error": (N_("{n} error"), N_("{n} errors")), "warning": (N_("{n} warning"), N_("{n} warnings")),
           "info": (N_("{n} info"), N_("{n} infos"))}


class HealthList(_DebugList):
    """The health scan's findings, errors first; Enter goes to one."""

    BINDINGS = [
        Binding("enter", "select", "Go there", id="finding_goto", tooltip="Go to the finding"),
    ]

    #: The findings, in the order shown; None while the scan runs.
    findings: reactive[tuple[Finding, ...] | None] = reactive(None, init=False)

    def on_mount(self) -> None:
        self._rebuild()

    def watch_findings(self) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        keep = self.highlighted
        findings = self.findings
        self.clear_options()
        # Through the queue, read when it runs: Textual defers a ``loading``
        # set before the widget is mounted, and a deferred True landing after
        # an immediate False would leave the spinner over the findings.
        self.call_later(self._show_scanning)
        if findings is None:
            self.border_title = _title(tr("health"), tr("scanning…"))
            _fit_height(self, 2)
            return
        if not findings:
            self.add_option(Option(Content.styled(tr("nothing found"), DIM), disabled=True))
        words = {s: tr(word) for s, (word, _) in SEVERITY.items()}
        width = max(len(w) for w in words.values())
        for f in findings:
            word, style = SEVERITY.get(f.severity, (f.severity, ""))
            word = words.get(f.severity, word).ljust(width)
            self.add_option(Option(Content.assemble((word, style), "  ", say(f.message))))
        self._keep_highlight(keep)
        counts = [(sum(f.severity == s for f in findings), s) for s in ("error", "warning", "info")]
        detail = " · ".join(tr(COUNTED[s][n != 1], n=n) for n, s in counts if n)
        self.border_title = _title(tr("health"), detail, tr("Enter goes there") if findings else "")
        _fit_height(self, len(findings))

    def _show_scanning(self) -> None:
        self.loading = self.findings is None

    def action_select(self) -> None:
        k = self.highlighted
        if self.findings and k is not None and k < len(self.findings):
            f = self.findings[k]
            # x's index is an input, not a unit: go to the step only.
            unit = None if f.vector == "x" else f.unit
            self.post_message(FindingPicked(f.layer, f.step, unit))


#: The watch table's columns: every vector that has one value per unit.
WATCHED = tuple(v for v in VECTORS if v != "x")
SYMBOLS = {v: symbol(v) for v in WATCHED}
#: Fixed column widths, so the table does not jump as values change:
#: "-13.9123", "+1.23e-06" (a difference), "L1:1023".
VALUE_WIDTH = runs.DELTA_WIDTH
UNIT_WIDTH = 8


class WatchList(Translated, ShowsView, DataTable, inherit_bindings=False):
    """Pinned units, their f i ĉ c o h side by side at the current step.

    x is left out: it is the layer's input, indexed by input, not by unit.
    In a comparison the values are those of the run the panes show."""

    BINDING_GROUP_TITLE = LISTS_TITLE

    BINDINGS = [
        Binding("up,k", "cursor_up", "Previous item", id="list_up", show=False),
        Binding("down,j", "cursor_down", "Next item", id="list_down", show=False),
        Binding("enter", "select_cursor", "Select", id="watch_goto", tooltip="Select the watched unit"),
        Binding("x,delete,backspace", "remove", "Unpin", id="watch_remove", tooltip="Unpin the watched unit"),
    ]

    DEFAULT_CSS = """
    WatchList {
        height: 1fr;
        min-height: 3;
        border: none;
        border-top: solid $panel-lighten-2;
        border-title-align: left;
        border-title-color: $foreground;
        background: $background;
        scrollbar-size-vertical: 1;
        &:focus {
            border-top: heavy $accent;
            border-title-color: $accent;
            border-title-style: bold;
            background-tint: $foreground 0%;
        }
        & > .datatable--header { background: $background; color: $text-muted; }
    }
    """

    #: What is shown (bound to the debugger screen's ``view``).
    view: reactive[View | None] = reactive(None, init=False)
    #: What the lists show (bound to the debugger screen's ``pins``): this
    #: list shows its watched units.
    pins: reactive[Pins] = reactive(Pins(), init=False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False,
                         show_row_labels=False)

    def on_mount(self) -> None:
        self.add_column(tr("unit"), width=UNIT_WIDTH, key="unit")
        for v in WATCHED:
            self.add_column(Text(SYMBOLS[v], justify="right"), width=VALUE_WIDTH, key=v)
        self._view_changed()

    def watch_view(self, old: View | None, new: View | None) -> None:
        self._view_changed(old, new)

    def watch_pins(self, old: Pins, new: Pins) -> None:
        if old.watches != new.watches:
            self._view_changed()

    @property
    def watches(self) -> tuple[tuple[int, int], ...]:
        """(layer, unit) of every pinned unit, in the order pinned."""
        return self.pins.watches

    def _redraw_view(self, old: View | None = None, new: View | None = None) -> None:
        self._refresh_rows()

    def _cells(self, k: int, unit: int) -> list[Text]:
        trace, other, run = self.trace, self.other, self.run
        assert trace is not None
        many = len(trace.layers) > 1
        here = (k, unit) == (self.layer_index, self.unit)
        label = f"{'▶' if here else ' '}{f'L{k}:' if many else ''}{unit}"
        # Rich Text, not Content: the table measures and aligns its cells.
        cells = [Text(label, style="bold" if here else "")]
        t = self.t
        for v in WATCHED:
            row = runs.values(trace, other, run, k, v, t)
            if row is None:
                cells.append(Text("—", style="dim", justify="right"))
                continue
            value = float(row[unit])
            text = runs.fmt(run, other, value)
            # Not-a-number in words and reverse video: it shows without colour.
            cells.append(Text(text, justify="right",
                              style="" if draw.is_finite(value) else "bold reverse"))
        return cells

    def _refresh_rows(self) -> None:
        trace = self.trace
        if trace is None or not self.is_mounted:
            return
        watches = [(k, u) for k, u in self.watches
                   if k < len(trace.layers) and u < trace.layers[k].units]
        keys = [f"{k}:{u}" for k, u in watches]
        current = [str(key.value) for key in self.rows]
        if keys != current:
            cursor = self.cursor_row
            self.clear()
            for key, (k, u) in zip(keys, watches):
                self.add_row(*self._cells(k, u), key=key)
            if keys:
                self.move_cursor(row=min(cursor, len(keys) - 1), animate=False)
        else:
            for key, (k, u) in zip(keys, watches):
                for col, cell in zip(("unit", *WATCHED), self._cells(k, u)):
                    self.update_cell(key, col, cell)
        detail = f"t = {self.t}" + (f" · {runs.LABELS[self.run]}" if self.other is not None else "")
        hint = tr("Enter selects · x unpins") if watches else tr("w pins the selected unit")
        self.border_title = _title(tr("watches"), detail, hint)
        _fit_height(self, len(watches) + 1)  # + the header row

    def _watch_at_cursor(self) -> tuple[int, int] | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value
        k, u = str(key).split(":")
        return int(k), int(u)

    def action_select_cursor(self) -> None:
        found = self._watch_at_cursor()
        if found is not None:
            self.post_message(WatchAction("goto", *found))

    def action_remove(self) -> None:
        found = self._watch_at_cursor()
        if found is not None:
            self.post_message(WatchAction("remove", *found))
