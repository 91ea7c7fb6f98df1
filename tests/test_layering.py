"""The core stays free of Textual and Keras; replay never imports TensorFlow."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CORE = ["lstm_tui", "lstm_tui.lstm", "lstm_tui.trace", "lstm_tui.demo", "lstm_tui.check",
        "lstm_tui.conditions", "lstm_tui.health", "lstm_tui.diff", "lstm_tui.breakpoints",
        "lstm_tui.cli", "lstm_tui.keras_bridge"]


def loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(r.stdout.split())


@pytest.mark.parametrize("module", CORE)
def test_importing_does_not_pull_heavy_modules(module):
    mods = loaded_after(f"import {module}")
    assert "tensorflow" not in mods and "keras" not in mods
    if module != "lstm_tui.cli":
        assert "textual" not in mods


def test_print_and_check_paths_never_import_tensorflow():
    mods = loaded_after(
        "import sys, contextlib, io\n"
        "from lstm_tui.cli import main\n"
        "for args in (['print', 'traces/seed_demo.npz'], ['check', 'traces/seed_demo.npz']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try: main(args)\n"
        "        except SystemExit as e: assert e.code == 0, e.code\n"
    )
    assert not mods & {"tensorflow", "keras", "textual"}


def test_import_linter_contracts():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a test dependency"
    r = subprocess.run([lint], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "KEPT" in r.stdout and "BROKEN" not in r.stdout
