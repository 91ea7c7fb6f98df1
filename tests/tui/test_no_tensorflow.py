"""Opening a trace in the TUI never imports TensorFlow or Keras.

Run in a child interpreter, so nothing this test process already imported
can hide an import: the child builds the app exactly as the CLI does
(default model settings, model panel untouched), drives it headless, and
reports which heavy modules ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from lstm_tui.core.demo import seed_trace
    from lstm_tui.core.trace import load
    from lstm_tui.tui.app import make_app

    async def main(path):
        trace = load(path) if path else seed_trace()
        app = make_app(trace)  # as the CLI does: model panel on, lazily
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("right", "down", "end", "question_mark", "escape", "g", "escape")
            await pilot.pause(0.5)
            shown = "t = " in str(app.screen.query_one("#status").render())
        return shown

    shown = asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
    print(json.dumps({
        "shown": shown,
        "heavy": sorted(m for m in sys.modules
                        if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "jax", "torch")),
        "bridge": "lstm_tui.keras" in sys.modules,
    }))
    """
)


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_running_the_app_on_a_trace_does_not_import_tensorflow(tmp_path):
    from lstm_tui.core.demo import seed_trace

    path = tmp_path / "seed.npz"
    seed_trace().save(path)
    result = run_child(str(path))
    assert result["shown"]
    assert result["heavy"] == []
    assert not result["bridge"]


CHILD_LESSON_AND_SCREENSHOT = textwrap.dedent(
    """
    import asyncio, json, sys
    from lstm_tui.core.demo import seed_trace
    from lstm_tui.tui.app import make_app
    from lstm_tui.tui.lesson import LESSON_STEP

    async def lesson():
        # As ``lstm-tui lesson`` builds it: the model panel on, lazily.
        app = make_app(seed_trace(), step=LESSON_STEP, lesson_stage=1)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*["enter"] * 7, "backspace", "right", "question_mark", "escape")
            await pilot.pause(0.5)
            return app.screen.stage

    stage = asyncio.run(lesson())
    from lstm_tui.cli import main
    try:
        main(["screenshot", sys.argv[1], "--step", "1", "-o", sys.argv[2]])
    except SystemExit as e:
        code = e.code
    print(json.dumps({
        "stage": stage,
        "code": code,
        "heavy": sorted(m for m in sys.modules
                        if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "jax", "torch")),
        "bridge": "lstm_tui.keras" in sys.modules,
    }))
    """
)


def test_the_lesson_and_screenshot_do_not_import_tensorflow(tmp_path):
    from lstm_tui.core.demo import seed_trace

    path = tmp_path / "seed.npz"
    seed_trace().save(path)
    out = subprocess.run([sys.executable, "-c", CHILD_LESSON_AND_SCREENSHOT, str(path), str(tmp_path / "s.svg")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["stage"] == 7  # 7 Enters: stage 1 of t = 2 ... and one Backspace back to 7
    assert result["code"] == 0
    assert (tmp_path / "s.svg").read_text(encoding="utf-8").startswith("<svg")
    assert result["heavy"] == []
    assert not result["bridge"]
