"""SVG snapshots of the lesson (``lstm-tui lesson``): every stage in English
at 120×40, two in Portuguese, and the 80×24 layout.

Regenerate after an intended change with ``pytest
tests/tui/test_lesson_snapshots.py --snapshot-update`` and look at the SVGs
before committing them."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstm_tui.tui import catalogue

LESSON = Path(__file__).parent / "snapshot_apps" / "lesson_app.py"


@pytest.fixture
def portuguese():
    catalogue.set_language("pt")
    yield
    catalogue.set_language("en")


@pytest.mark.parametrize("stage", range(1, 8))
def test_lesson_stage_120x40(snap_compare, stage):
    assert snap_compare(LESSON, press=["enter"] * (stage - 1), terminal_size=(120, 40))


def test_lesson_stage_3_portuguese_120x40(snap_compare, portuguese):
    assert snap_compare(LESSON, press=["enter"] * 2, terminal_size=(120, 40))


def test_lesson_stage_7_portuguese_80x24(snap_compare, portuguese):
    assert snap_compare(LESSON, press=["enter"] * 6, terminal_size=(80, 24))


def test_lesson_stage_6_80x24(snap_compare):
    """The h line is below explain's first rows at 80×24: scrolled into view."""
    assert snap_compare(LESSON, press=["enter"] * 5, terminal_size=(80, 24))
