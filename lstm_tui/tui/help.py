"""The help screen: every key, read from the bindings themselves.

Nothing here lists keys by hand. The rows come from the live bindings maps
of the debugger screen, the model panel and the app, so a key rebound with
``App.set_keymap`` shows its new key here, in the footer and in the command
palette alike; their sections come from the bindings too (the screen's
titled groups, each widget's ``BINDING_GROUP_TITLE``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Static

from .catalogue import N_, tr
from .translated import Translated

#: The help screen's sections, in order. Which section a key is in comes
#: from the bindings themselves (``binding_section``): the titled groups the
#: debugger screen declares its keys in, and each widget's
#: ``BINDING_GROUP_TITLE``.
ORDER = (N_("Lesson"), N_("Stepping"), N_("Units and layers"), N_("Debugging"), N_("Panes"), N_("Explain pane"),
         N_("Overview"), N_("Breakpoints, health and watches panes"), N_("Model panel"), N_("App"), N_("Other"))

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


def binding_section(node: DOMNode, binding: Binding) -> str:
    """The help section of ``binding`` on ``node``: the titled group the
    node declares it in (``BINDING_SECTIONS``, title → bindings: the
    debugger screen's), else the node's ``BINDING_GROUP_TITLE``; "Other"
    for a key of neither (one Textual binds for every screen)."""
    sections: dict[str, list[Binding]] | None = getattr(node, "BINDING_SECTIONS", None)
    if sections is not None:
        if binding.id:
            for title, group in sections.items():
                if any(b.id == binding.id for b in group):
                    return title
        return "Other"
    return node.BINDING_GROUP_TITLE or "Other"


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
            section = binding_section(node, binding)
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


def help_text(rows: list[KeyRow], notes: Iterable[str] = (), width: int | None = None) -> Content:
    """The help screen's body; with ``width`` (the box's inside), a long
    description wraps under its own column rather than under the keys."""
    keys_width = max([len(" ".join(r.keys)) for r in rows] + [len(keys) for keys, _ in RESERVED]) + 2
    indent = keys_width + 2
    room = None if width is None or width - indent < 20 else width - indent
    lines: list[Content] = []
    section = None
    for row in rows:
        if row.section != section:
            if lines:
                lines.append(Content(""))
            lines.append(Content.styled(tr(row.section), "bold $accent"))
            section = row.section
        first, *more = textwrap.wrap(row.description, room) if room else [row.description]
        lines.append(Content.assemble(("  " + " ".join(row.keys)).ljust(indent), first))
        lines += [Content(" " * indent + line) for line in more]
    if RESERVED:
        lines += [Content(""), Content.styled(tr("Reserved (coming)"), "bold $accent")]
    for keys, what in RESERVED:
        lines.append(Content.assemble(("  " + keys).ljust(indent), (tr(what), "$text-muted")))
    for note in notes:
        wrapped = textwrap.wrap(note, width) if width is not None and width >= 20 else [note]
        lines += [Content(""), *(Content(line) for line in wrapped)]
    return Content("\n").join(lines)


class _HelpBody(Static):
    """The keys, their descriptions wrapped to the width the body has."""

    def __init__(self, rows: list[KeyRow], notes: list[str]) -> None:
        super().__init__(help_text(rows, notes), id="help-body")
        self.rows = rows
        self.notes = notes

    def on_resize(self, event: events.Resize) -> None:
        self.update(help_text(self.rows, self.notes, event.size.width))


class HelpScreen(Translated, ModalScreen[None]):
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

    def __init__(self, rows: list[KeyRow], notes: Iterable[str] = ()) -> None:
        super().__init__()
        self.rows = rows
        self.notes = list(notes)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = tr("keys")
            box.border_subtitle = tr("Esc, q or ? to close")
            yield _HelpBody(self.rows, self.notes)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
