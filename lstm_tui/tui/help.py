"""The help screen: every key, read from the bindings themselves.

Nothing here lists keys by hand. The rows come from the live bindings maps
of the debugger screen, the model panel and the app, so a key rebound with
``App.set_keymap`` shows its new key here, in the footer and in the command
palette alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Static

#: Binding id → help section; ids not listed fall under "Other".
SECTIONS = {
    "step_back": "Stepping", "step_forward": "Stepping", "first_step": "Stepping",
    "last_step": "Stepping", "page_back": "Stepping", "page_forward": "Stepping",
    "goto": "Stepping",
    "unit_up": "Units and layers", "unit_down": "Units and layers",
    "layer_prev": "Units and layers", "layer_next": "Units and layers",
    "next_pane": "Panes", "previous_pane": "Panes", "zoom": "Panes",
    "show_explain": "Panes", "show_breakpoints": "Panes", "show_health": "Panes",
    "show_watches": "Panes",
    "explain_up": "Explain pane", "explain_down": "Explain pane",
    "add_breakpoint": "Debugging", "continue": "Debugging", "continue_back": "Debugging",
    "search": "Debugging", "search_next": "Debugging", "search_previous": "Debugging",
    "watch": "Debugging", "cycle_run": "Debugging", "first_divergence": "Debugging",
    "list_up": "Breakpoints, health and watches panes",
    "list_down": "Breakpoints, health and watches panes",
    "breakpoint_toggle": "Breakpoints, health and watches panes",
    "breakpoint_delete": "Breakpoints, health and watches panes",
    "breakpoint_goto": "Breakpoints, health and watches panes",
    "finding_goto": "Breakpoints, health and watches panes",
    "watch_goto": "Breakpoints, health and watches panes",
    "watch_remove": "Breakpoints, health and watches panes",
    "focus_model": "Model panel", "model_leave": "Model panel",
    "open_trace": "App", "toggle_theme": "App", "save_screenshot": "App",
    "help": "App", "command_palette": "App", "quit": "App",
}
ORDER = ("Stepping", "Units and layers", "Debugging", "Panes", "Explain pane",
         "Breakpoints, health and watches panes",
         "Model panel", "App", "Other")

#: Keys kept free for features that are designed but not built yet, so no
#: one binds them to something else meanwhile (none at the moment).
RESERVED: tuple[tuple[str, str], ...] = ()


@dataclass
class KeyRow:
    """One action and every key bound to it."""

    keys: list[str]
    description: str
    section: str
    binding: Binding


def key_rows(nodes: Iterable[DOMNode]) -> list[KeyRow]:
    """Rows for every described, non-system binding of ``nodes``, one row per
    binding id (or action), keys merged, sections in help order."""
    rows: dict[str, KeyRow] = {}
    for node in nodes:
        app = node.app
        # The keys in force: the class's bindings with the app's keymap
        # applied, as Textual does when it builds the binding chain.
        bindings = node._bindings.copy()
        if app._keymap:
            bindings.apply_keymap(app._keymap)
        for _key, binding in bindings:
            if binding.system or not binding.description:
                continue
            ident = binding.id or binding.action
            display = app.get_key_display(binding)
            if ident in rows:
                if display not in rows[ident].keys:
                    rows[ident].keys.append(display)
                continue
            section = SECTIONS.get(binding.id or "", "Other")
            if binding.action in ("quit", "app.quit"):
                section = "App"
            if binding.action == "command_palette":
                section = "App"
            # On this app's bindings (those with an id) a tooltip is the long
            # description; the footer shows the short one. Textual's own
            # tooltips (ctrl+q's) are hover text, not names.
            description = (binding.tooltip if binding.id else "") or binding.description
            rows[ident] = KeyRow([display], description, section, binding)
    for row in rows.values():
        # Plain keys before chords: "q ^q", not "^q q".
        row.keys.sort(key=lambda k: len(k) > 1 and ("^" in k or "+" in k))
    ordered = sorted(rows.values(), key=lambda r: ORDER.index(r.section))
    return ordered


def help_text(rows: list[KeyRow], notes: Iterable[str] = ()) -> Content:
    """The help screen's body."""
    width = max([len(" ".join(r.keys)) for r in rows] + [len(keys) for keys, _ in RESERVED]) + 2
    lines: list[Content] = []
    section = None
    for row in rows:
        if row.section != section:
            if lines:
                lines.append(Content(""))
            lines.append(Content.styled(row.section, "bold $accent"))
            section = row.section
        lines.append(Content.assemble(("  " + " ".join(row.keys)).ljust(width + 2), row.description))
    if RESERVED:
        lines += [Content(""), Content.styled("Reserved (coming)", "bold $accent")]
    for keys, what in RESERVED:
        lines.append(Content.assemble(("  " + keys).ljust(width + 2), (what, "$text-muted")))
    for note in notes:
        lines += [Content(""), Content(note)]
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    """Every key of the debugger. Escape, q or ? close it."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss_help", "Close help", id="help_close"),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > VerticalScroll {
            width: 72;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: round $accent;
            background: $surface;
            padding: 0 1;
        }
    }
    """

    def __init__(self, body: Content) -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "keys"
            box.border_subtitle = "Esc, q or ? to close"
            yield Static(self.body, id="help-body")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
