"""Pictures of the screen without a terminal, for slides and handouts.

``render_svg`` builds the debugger (or the lesson) with ``make_app`` at a
given place, runs it headless at a given size, waits until nothing is left
to draw (workers done, animations over, no cursor blinking) and returns
Textual's SVG export of the screen. ``to_png`` turns that SVG into a PNG
with whichever converter is at hand: ``rsvg-convert`` (librsvg), else the
``cairosvg`` package; with neither it says how to get one.

The model panel never loads a model here (``load_model=False``): a picture
must not wait for TensorFlow, nor import it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from textual.widgets import Input

from ..core.trace import Trace
from ..errors import LstmTuiError
from .app import make_app


class ScreenshotError(LstmTuiError):
    """A picture that cannot be made (exit 2)."""


async def _settle(app: object, pilot: object) -> None:
    """Wait until the screen is drawn as it will stay: the panes' first
    draws, the scans and other workers, any scheduled animation."""
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    for _ in range(3):  # a worker's result may start a redraw, or another worker
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.wait_for_scheduled_animations()
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False  # a caret caught mid-blink differs from one picture to the next
    await pilot.pause()


async def _shoot(trace: Trace, size: tuple[int, int], **place: object) -> str:
    app = make_app(trace, load_model=False, **place)  # type: ignore[arg-type]
    async with app.run_test(size=size) as pilot:
        await _settle(app, pilot)
        return app.export_screenshot()


def render_svg(trace: Trace, *, size: tuple[int, int] = (120, 40), layer: int = 0, step: int = 0,
               unit: int = 0, diff: Trace | None = None, lesson_stage: int | None = None) -> str:
    """The screen at (``layer``, ``step``, ``unit``) of ``trace`` as an SVG
    document, ``size`` columns × rows; with ``diff``, compared with that
    run; with ``lesson_stage``, the lesson at that stage. Notifications
    (transient) are not drawn."""
    return asyncio.run(_shoot(trace, size, layer=layer, step=step, unit=unit, diff=diff,
                              lesson_stage=lesson_stage))


def png_converter() -> str | None:
    """"rsvg-convert" or "cairosvg", whichever is available first, or None."""
    if shutil.which("rsvg-convert"):
        return "rsvg-convert"
    try:
        import cairosvg  # noqa: F401
    except ImportError:
        return None
    return "cairosvg"


def require_png_converter() -> str:
    """``png_converter()``, or a ``ScreenshotError`` that says how to get
    one (a command-line message: English, like every CLI error)."""
    converter = png_converter()
    if converter is None:
        raise ScreenshotError("no SVG to PNG converter: install rsvg-convert (apt install librsvg2-bin) "
                              "or cairosvg (pip install cairosvg), or write an .svg")
    return converter


def to_png(svg: str) -> bytes:
    """``svg`` as PNG bytes; ``ScreenshotError`` when no converter is at
    hand or the converter fails."""
    converter = require_png_converter()
    if converter == "cairosvg":
        import cairosvg

        return bytes(cairosvg.svg2png(bytestring=svg.encode("utf-8")))
    with tempfile.TemporaryDirectory(prefix="lstm-tui-") as folder:
        source, target = Path(folder, "screen.svg"), Path(folder, "screen.png")
        source.write_text(svg, encoding="utf-8")
        done = subprocess.run(["rsvg-convert", "-f", "png", "-o", os.fspath(target), os.fspath(source)],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or not target.exists():
            raise ScreenshotError("rsvg-convert could not convert the screen: "
                                  + (" ".join(done.stderr.split()) or f"exit status {done.returncode}"))
        return target.read_bytes()
