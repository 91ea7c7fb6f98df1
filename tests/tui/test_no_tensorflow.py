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

import pytest

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


CHILD_PANEL_WITHOUT_TENSORFLOW = textwrap.dedent(
    """
    import asyncio, json
    from lstm_tui.core.demo import seed_trace
    from lstm_tui.tui.app import make_app
    from lstm_tui.tui.model_panel import ModelPanel

    async def main():
        app = make_app(seed_trace())  # the real loader, the shipped model
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("m")
            panel = app.screen.query_one(ModelPanel)
            for _ in range(200):
                await pilot.pause(0.05)
                if panel.predictor is not None or panel._failed is not None:
                    break
            await pilot.press("d", "e", "f")
            await pilot.pause()
            top = str(panel.query_one("#model-top").content).splitlines()
            probs = panel.predictor.probs("def").tolist()
            await pilot.press("enter")
            for _ in range(100):
                await pilot.pause(0.05)
                if app.debugger.trace.source == "live: def":
                    break
            trace = app.debugger.trace
            return {"failed": panel._failed, "top": top, "probs": probs, "source": trace.source,
                    "readout": trace.probs is not None and trace.readout_W is not None,
                    "last": trace.probs[-1].tolist()}

    result = asyncio.run(main())
    result["heavy"] = sorted(m for m in sys.modules
                             if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "jax", "torch"))
    print(json.dumps(result))
    """
)


def test_the_model_panel_answers_without_tensorflow():
    """The light install: TensorFlow cannot be imported, and the panel still
    answers 'def' → 'g' and records a live pass, with the weights read from
    the model file. Its numbers are those of the reader in this process
    (tests/keras/test_weights.py: the reader is Keras' numbers)."""
    import numpy as np
    from no_tensorflow import run_code

    from lstm_tui.keras import Predictor

    out = run_code(CHILD_PANEL_WITHOUT_TENSORFLOW, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["failed"] is None and result["heavy"] == []
    here = Predictor.load()
    p = here.probs("def")
    assert result["top"][0].startswith("'g'") and f"{p.max():.4f}" in result["top"][0]
    assert np.array_equal(np.asarray(result["probs"], p.dtype), p)
    assert result["source"] == "live: def" and result["readout"]
    assert np.array_equal(np.asarray(result["last"], p.dtype), here.record("def").probs[-1])


@pytest.mark.slow
def test_the_panels_answer_without_tensorflow_is_keras_answer():
    """The same probability as Keras' own, by the core's rounding rule."""
    from no_tensorflow import run_code

    from lstm_tui.core.bounds import rounding_bounds
    from lstm_tui.core.codec import encode
    from lstm_tui.core.lstm import readout_check
    from lstm_tui.core.numeric import abs_difference, beyond
    from lstm_tui.keras import Predictor, default_model_path, load_model

    out = run_code(CHILD_PANEL_WITHOUT_TENSORFLOW, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    model = load_model(default_model_path())
    keras_p = model.predict(encode("def")[None], verbose=0)[0]
    predictor = Predictor.load()
    trace = predictor.record("def")
    h = trace.layers[0].h[-1]
    # Keras' pass and the reader's each round along the three steps: the
    # head sees h known to the free-running bound, then rounds itself.
    drift = rounding_bounds(trace.layers[0], free_running=True)["h"][-1] @ abs(predictor.kernel)
    p, tol = readout_check(h, predictor.kernel, predictor.bias, h.dtype)
    bound = 2 * tol + p * (drift + drift.max())
    assert not beyond(abs_difference(result["probs"], keras_p), bound).any()
    assert f"{keras_p.max():.4f}" in result["top"][0]
