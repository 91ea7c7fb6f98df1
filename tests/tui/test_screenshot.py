"""``lstm-tui screenshot``: the screen at a place, as SVG or PNG, without a
terminal; and ``view --step --unit --layer --break`` opening there.

The SVGs are read as text: Textual writes each terminal row as ``<text>``
elements clipped to that row, spaces as no-break spaces."""

from __future__ import annotations

import html
import re
import shutil
import struct
import sys
from pathlib import Path

import pytest
from conftest import random_trace

from lstm_tui.cli import main
from lstm_tui.core.demo import seed_trace
from lstm_tui.core.trace import save
from lstm_tui.tui import catalogue
from lstm_tui.tui.app import make_app
from lstm_tui.tui.draw import fmt
from lstm_tui.tui.lesson import LessonScreen


@pytest.fixture(autouse=True)
def english():
    catalogue.set_language("en")
    yield
    catalogue.set_language("en")


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    out, err = capsys.readouterr()
    return e.value.code, out, err


def svg_rows(svg: str) -> list[str]:
    """The SVG's terminal rows as text (spaces as spaces)."""
    rows: dict[int, list[str]] = {}
    for m in re.finditer(r'<text [^>]*clip-path="url\(#[^)]*-line-(\d+)\)"[^>]*>(.*?)</text>', svg):
        rows.setdefault(int(m[1]), []).append(html.unescape(m[2]))
    return ["".join(parts).replace("\xa0", " ") for _, parts in sorted(rows.items())]


@pytest.fixture
def seed(tmp_path) -> Path:
    return save(seed_trace(), tmp_path / "seed.npz")


def test_svg_at_a_step_and_unit(capsys, tmp_path, seed):
    out = tmp_path / "step.svg"
    code, _, err = run(capsys, "screenshot", str(seed), "--step", "2", "--unit", "1", "-o", str(out))
    assert code == 0, err
    assert err.startswith(f"wrote {out}: 120x40, step 2, unit 1")
    svg = out.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    rows = svg_rows(svg)
    assert len(rows) == 40
    assert "t = 2 of 0…2" in rows[0]
    trace = seed_trace()
    text = "\n".join(rows)
    # The panes show step 2 (every unit), explain unit 1 at step 2.
    for vector in ("f", "i", "c", "h"):
        assert fmt(float(trace.layers[0].vector(vector)[2][1])) in text
    assert "unit 1 · t = 2" in text
    assert "model off" in text  # the panel never loads a model here
    assert not list(tmp_path.glob(".*"))  # no temporary file left beside it


def test_size_layer_and_diff(capsys, tmp_path):
    a = save(random_trace(seed=1, layers=2, T=6), tmp_path / "a.npz")
    b = save(random_trace(seed=2, layers=2, T=6), tmp_path / "b.npz")
    out = tmp_path / "diff.svg"
    code, _, err = run(capsys, "screenshot", str(a), "--layer", "1", "--step", "4", "--size", "100x30",
                       "--diff", str(b), "-o", str(out))
    assert code == 0, err
    rows = svg_rows(out.read_text(encoding="utf-8"))
    assert len(rows) == 30
    assert "t = 4 of 0…5" in rows[0] and "layer 1" in rows[0]
    assert "diff vs" in rows[0]


def test_the_lesson_in_portuguese(capsys, tmp_path):
    out = tmp_path / "lesson.svg"
    code, _, err = run(capsys, "screenshot", "--lesson-stage", "4", "--lang", "pt", "-o", str(out))
    assert code == 0, err
    text = "\n".join(svg_rows(out.read_text(encoding="utf-8")))
    assert "lição 4 de 7" in text
    assert "4. Atualização da memória" in text
    assert "t = 1 of 0…2" in text or "t = 1 de 0…2" in text


@pytest.mark.parametrize(("args", "why"), [
    (["--step", "3"], "no step 3 (steps are 0…2)"),
    (["--step", "-1"], "no step -1 (steps are 0…2)"),
    (["--unit", "2"], "no unit 2 on layer 0 (units are 0…1)"),
    (["--layer", "1"], "no layer 1 (the trace has 1)"),
    (["--size", "120"], "--size '120': expected COLUMNSxROWS, e.g. 120x40"),
    (["--size", "30x8"], "--size 30x8: the panes need at least 40x10"),
])
def test_bad_places_are_one_line_errors(capsys, tmp_path, seed, args, why):
    out = tmp_path / "x.svg"
    code, stdout, err = run(capsys, "screenshot", str(seed), *args, "-o", str(out))
    assert code == 2
    assert stdout == ""
    assert err.count("\n") == 1 and err.startswith("lstm-tui: error: ")
    assert why in err
    assert not out.exists()


def test_other_suffixes_and_existing_files_are_refused(capsys, tmp_path, seed):
    code, _, err = run(capsys, "screenshot", str(seed), "-o", str(tmp_path / "x.gif"))
    assert code == 2 and "must end in .svg or .png" in err
    there = tmp_path / "there.svg"
    there.write_text("keep")
    code, _, err = run(capsys, "screenshot", str(seed), "-o", str(there))
    assert code == 2 and "exists already" in err
    assert there.read_text() == "keep"


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="needs rsvg-convert")
def test_png_with_rsvg_convert(capsys, tmp_path, seed):
    svg_out, png_out = tmp_path / "s.svg", tmp_path / "s.png"
    assert run(capsys, "screenshot", str(seed), "--size", "80x24", "-o", str(svg_out))[0] == 0
    code, _, err = run(capsys, "screenshot", str(seed), "--size", "80x24", "-o", str(png_out))
    assert code == 0, err
    data = png_out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    view_box = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg_out.read_text(encoding="utf-8"))
    assert view_box is not None
    assert (width, height) == (round(float(view_box[1])), round(float(view_box[2])))


def test_png_without_a_converter_says_how_to_get_one(capsys, tmp_path, seed, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setitem(sys.modules, "cairosvg", None)  # importing it fails
    out = tmp_path / "s.png"
    code, stdout, err = run(capsys, "screenshot", str(seed), "-o", str(out))
    assert code == 2 and stdout == ""
    assert err == ("lstm-tui: error: no SVG to PNG converter: install rsvg-convert (apt install "
                   "librsvg2-bin) or cairosvg (pip install cairosvg), or write an .svg\n")
    assert not out.exists()


# -- view --step --unit --layer --break -------------------------------------------


async def test_make_app_opens_at_a_place_with_breakpoints():
    from lstm_tui.debug.conditions import Condition

    trace = random_trace(seed=3, layers=2, T=8, H=5)
    condition = Condition.parse("h[0] > 0")
    condition.check(trace, 1)
    app = make_app(trace, load_model=False, layer=1, step=5, unit=3, breakpoints=[condition])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.debugger
        assert (screen.layer_index, screen.t, screen.unit) == (1, 5, 3)
        assert [bp.source for bp in screen.pins.breakpoints] == ["h[0] > 0"]
        assert screen.hit_marks is not None
        assert not isinstance(screen, LessonScreen)


def test_view_checks_its_place_and_breakpoints(capsys, tmp_path, seed, monkeypatch):
    opened: dict[str, object] = {}

    def fake_run(self, *args, **kwargs):
        screen = self.get_default_screen()
        opened.update(place=(screen.session.view.layer, screen.session.view.t, screen.session.view.unit),
                      breaks=[bp.source for bp in screen.session.breakpoints])

    monkeypatch.setattr("lstm_tui.tui.app.LstmTuiApp.run", fake_run)
    code, _, err = run(capsys, "view", str(seed), "--no-model", "--step", "2", "--unit", "1",
                       "--break", "f[0] > 0.5", "--break", "t == 1")
    assert code == 0, err
    assert opened == {"place": (0, 2, 1), "breaks": ["f[0] > 0.5", "t == 1"]}
    code, _, err = run(capsys, "view", str(seed), "--no-model", "--step", "7")
    assert code == 2 and err == f"lstm-tui: error: {seed}: no step 7 (steps are 0…2)\n"
    code, _, err = run(capsys, "view", str(seed), "--no-model", "--break", "f[9] > 0")
    assert code == 2 and err.startswith("lstm-tui: error: --break 'f[9] > 0': ") and err.count("\n") == 1
