"""The core stays free of Textual and Keras; replay never imports TensorFlow."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

def _modules(*packages: str) -> list[str]:
    """Every module of ``packages``, found on disk: a new module is covered
    without editing a list."""
    out = []
    for package in packages:
        folder = ROOT / package.replace(".", "/")
        out.append(package)
        out.extend(f"{package}.{p.stem}" for p in sorted(folder.glob("*.py")) if p.stem != "__init__")
    return out


#: Modules that must import neither Keras nor TensorFlow (nor, but for the
#: CLI, Textual) when imported: the core and debug layers, the Keras package
#: itself (it imports TensorFlow only inside functions), the CLI, and serve's
#: server (textual-serve and aiohttp only when it runs).
CORE = ["lstm_tui", "lstm_tui.errors", "lstm_tui.cli", "lstm_tui.web",
        *_modules("lstm_tui.core", "lstm_tui.debug", "lstm_tui.keras")]


def test_the_module_list_is_found_on_disk():
    assert {"lstm_tui.core.trace", "lstm_tui.debug.diff", "lstm_tui.keras.recording"} <= set(CORE)


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
