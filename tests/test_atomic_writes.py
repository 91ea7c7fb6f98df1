"""A process killed in the middle of writing a trace leaves the old file
intact, or no file: never a partial one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import random_trace
from lstm_tui.trace import load, save

WRITER = """
import sys, numpy as np
from lstm_tui.trace import Layer, Trace, save
T, H = 2000, 1024
a = lambda k: np.full((T, H), k, np.float32)
layer = Layer(x=a(0), f=a(1), i=a(2), c_hat=a(3), c=a(4), o=a(5), h=a(6),
              h0=np.zeros(H, np.float32), c0=np.zeros(H, np.float32), name="big")
print("ready", flush=True)
save(Trace([layer], source="big"), sys.argv[1])
print("done", flush=True)
"""


def kill_mid_write(target: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE,
                             cwd=Path(__file__).resolve().parents[1], text=True)
    assert child.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        temps = [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
        if temps and temps[0].stat().st_size > 4 << 20:  # well into the write
            break
        time.sleep(0.002)
    else:
        child.kill()
        pytest.fail("the writer never started writing")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert temps[0].stat().st_size < 57 << 20  # it really was cut short


def test_kill_during_save_keeps_the_old_file(tmp_path):
    target = tmp_path / "run.npz"
    old = random_trace(seed=3)
    save(old, target)
    before = target.read_bytes()
    kill_mid_write(target)
    assert target.read_bytes() == before
    np.testing.assert_array_equal(load(target).layers[0].h, old.layers[0].h)


def test_kill_during_first_save_leaves_no_file(tmp_path):
    target = tmp_path / "new.npz"
    kill_mid_write(target)
    assert not target.exists()
    # only the hidden temporary file of the killed writer remains
    assert all(p.name.startswith(".new.npz.") for p in tmp_path.iterdir())
