"""Running lstm-tui as the light install has it: a child interpreter in
which TensorFlow and Keras cannot be imported (an import hook first on
``sys.meta_path`` refuses them, as if they were not installed), so a test
proves what works without them and what says how to add them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Prepended to a child's code: from here on, importing tensorflow or keras
#: raises ModuleNotFoundError, and ``importlib.util.find_spec`` too.
BLOCK = textwrap.dedent(
    """
    import sys

    class _NoTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, _NoTensorFlow())
    """
)

#: The command line, in a child without TensorFlow; the last line of its
#: stdout is JSON: the exit code and which of the heavy modules it imported.
CLI = BLOCK + textwrap.dedent(
    """
    import json
    from lstm_tui.cli import main
    try:
        main(sys.argv[1:])
    except SystemExit as e:
        code = e.code
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
    print(json.dumps({"code": code, "heavy": heavy}))
    """
)


def run_code(code: str, *args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``code`` (after ``BLOCK``) in a child interpreter, with ``args``."""
    return subprocess.run([sys.executable, "-c", BLOCK + code, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def run_cli(*args: str, cwd: Path = ROOT) -> tuple[int, str, str, list[str]]:
    """``lstm-tui ARGS`` without TensorFlow: exit code, stdout (without the
    report line), stderr and the heavy modules it imported."""
    r = subprocess.run([sys.executable, "-c", CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    *out, last = r.stdout.splitlines() or [""]
    try:
        result = json.loads(last)
    except ValueError:
        raise AssertionError(f"the child did not report: {r.stdout!r} {r.stderr!r}") from None
    return result["code"], "".join(line + "\n" for line in out), r.stderr, result["heavy"]
