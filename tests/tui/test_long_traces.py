"""Long sequences in the screen (issue 17): a 60 000-step trace opens, steps
and jumps, and the hits of a breakpoint are found in a thread worker that
says how far it got, while the keys go on working.

The trace is a real recording (``LSTMCell.forward``) with H = 4 and D = 3,
written to a file and opened as the command line opens one (a few MB). The
scans are made to take many blocks (``conditions.BLOCK_ELEMENTS``) and made
long (``app.BIG_TRACE`` 0: every breakpoint is scanned in a worker); a test
hook holds the scan after its first block on a ``threading.Event``, so the
tests look at the screen while it runs without timing anything.
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from conftest import random_trace
from textual.widgets import Input
from tui_helpers import screen_text, stops_trace, widget_lines

import lstm_tui.debug.conditions as conditions
import lstm_tui.debug.diff as diff_module
import lstm_tui.tui.app as app_module
from lstm_tui.core.trace import load, save
from lstm_tui.debug.breakpoints import HitCache
from lstm_tui.debug.conditions import Condition
from lstm_tui.debug.diff import max_finite_difference
from lstm_tui.tui import draw, runs
from lstm_tui.tui.app import make_app
from lstm_tui.tui.dialogs import AddBreakpointScreen, GoToStepScreen
from lstm_tui.tui.timeline import Timeline

SIZE = (120, 30)
T = 60_000
H = 4
#: Rows per block of a scan of ``h[3] > ...`` (h is H wide): ten blocks.
ROWS = 6_000
CONDITION = "h[3] > 0.5"


@pytest.fixture(scope="module")
def long_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("long") / "long.npz"
    save(random_trace(seed=4, T=T, D=3, H=H, dtype=np.float32), path)
    return path


@pytest.fixture(scope="module")
def other_file(tmp_path_factory):
    """Another run of the same shape (other weights), to compare with."""
    path = tmp_path_factory.mktemp("long") / "other.npz"
    save(random_trace(seed=5, T=T, D=3, H=H, dtype=np.float32), path)
    return path


def header(app) -> str:
    return screen_text(app).splitlines()[0]


def hits_of(trace) -> np.ndarray:
    """Where ``CONDITION`` holds, computed here with NumPy alone."""
    return np.asarray(trace.layers[0].h[:, 3], np.float64) > 0.5


async def add(pilot, text: str) -> None:
    await pilot.press("b")
    assert isinstance(pilot.app.screen, AddBreakpointScreen)
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


def hits_workers(app) -> list:
    return [w for w in app.debugger.workers if w.name == "run_hits"]


class HeldScan:
    """A test hook on ``HitCache.compute``: the scan of ``trace`` stops
    after its first block (its progress already posted) until ``go`` is
    set; ``held`` is set when it gets there."""

    def __init__(self, monkeypatch, trace=None) -> None:
        self.held, self.go = threading.Event(), threading.Event()
        self.trace = trace
        real = HitCache.compute
        hook = self

        def compute(cache, condition, layer, check=None, progress=None):
            def held_progress(done, total):
                if progress is not None:
                    progress(done, total)
                if (hook.trace is None or cache.trace is hook.trace) and done == ROWS:
                    hook.held.set()
                    assert hook.go.wait(30), "the test never let the scan go on"

            return real(cache, condition, layer, check=check, progress=held_progress)

        monkeypatch.setattr(HitCache, "compute", compute)
        monkeypatch.setattr(conditions, "BLOCK_ELEMENTS", ROWS * H)
        monkeypatch.setattr(app_module, "BIG_TRACE", 0)

    async def wait_held(self, pilot) -> None:
        assert await asyncio.to_thread(self.held.wait, 30)
        await pilot.pause()  # the progress message it posted


async def test_a_long_trace_opens_at_the_first_step_and_jumps(long_file):
    app = make_app(load(long_file), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "t = 0 of 0…59999" in header(app)
        await pilot.press("end")
        assert app.debugger.t == T - 1
        assert "t = 59999 of 0…59999" in header(app)
        await pilot.press("home", "pagedown", "right")
        assert "t = 11 of 0…59999" in header(app)
        await pilot.press("g")
        assert isinstance(app.screen, GoToStepScreen)
        app.screen.query_one(Input).value = "31415"
        await pilot.press("enter")
        await pilot.pause()
        assert app.debugger.t == 31415
        assert "t = 31415 of 0…59999" in header(app)
        # The timeline shows the window around t, its axis numbered there.
        axis = widget_lines(app.debugger.query_one(Timeline))[-1]
        assert "▲" in axis and "31400" in axis


async def test_a_short_scan_is_made_at_once_without_a_worker(long_file):
    """Below the size that needs a worker (H = 4: 240 000 values) the hits
    are found when the breakpoint is added, as before: no progress note."""
    trace = load(long_file)
    hits = hits_of(trace)
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await add(pilot, CONDITION)
        n = int(hits.sum())
        assert f"breakpoint {CONDITION}: {n} hits on layer 0" in header(app)
        assert hits_workers(app) == []
        assert app.debugger.busy == ""
        await pilot.press("c")
        first = int(np.flatnonzero(hits)[0])
        assert app.debugger.t == first


async def test_a_breakpoint_scan_runs_in_a_worker_and_stepping_goes_on(long_file, monkeypatch):
    trace = load(long_file)
    hits = hits_of(trace)
    scan = HeldScan(monkeypatch)
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await add(pilot, CONDITION)
        await scan.wait_held(pilot)
        # Held after one block of ten: the status line says how far it got.
        assert app.debugger.busy == f"scanning 10% for {CONDITION}"
        assert header(app).startswith(f" ⟳ scanning 10% for {CONDITION}")
        [worker] = hits_workers(app)
        assert worker.is_running and worker.group == "scan-hits"
        assert f"{CONDITION}  scanning…" in screen_text(app)
        timeline = app.debugger.query_one(Timeline)
        assert any(line.startswith("b… ") for line in widget_lines(timeline))

        # The keys still act while it runs.
        await pilot.press("right", "right", "left")
        assert app.debugger.t == 1
        assert "t = 1 of 0…59999" in header(app)
        assert worker.is_running and not app.debugger.session.hits.ready(Condition.parse(CONDITION), 0)

        # c waits for the scan and says so; pressed again it says it still waits.
        await pilot.press("c")
        assert header(app).startswith(f" continuing when the scan ends · ⟳ scanning 10% for {CONDITION}")
        await pilot.press("c")
        assert header(app).startswith(" still scanning: continuing when the scan ends · ⟳ scanning 10%")
        assert app.debugger.t == 1

        scan.go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        # The continue ran once the hits were known, from t = 1.
        later = np.flatnonzero(hits[2:]) + 2
        assert len(later) > 0
        stop = int(later[0])
        assert app.debugger.t == stop
        nth, total = int(hits[: stop + 1].sum()), int(hits.sum())
        assert f"stopped: {CONDITION} (hit {nth} of {total})" in header(app)
        assert app.debugger.busy == "" and "⟳" not in header(app)
        assert f"{CONDITION}  {total} hits" in screen_text(app)
        assert app.debugger.hit_marks is not None and not app.debugger.hit_marks.pending
        # The next continue is at once now, and so is the way back.
        await pilot.press("c")
        assert app.debugger.t == int(later[1])
        await pilot.press("C")
        assert app.debugger.t == stop


async def test_a_continue_waiting_for_the_scan_is_dropped_by_a_step(long_file, monkeypatch):
    trace = load(long_file)
    scan = HeldScan(monkeypatch)
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await add(pilot, CONDITION)
        await scan.wait_held(pilot)
        await pilot.press("c", "right")  # the user moved on before the scan ended
        scan.go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.debugger.t == 1
        assert app.debugger.session.hits.ready(Condition.parse(CONDITION), 0)


async def test_a_new_trace_cancels_a_running_scan(long_file, monkeypatch):
    scan = HeldScan(monkeypatch)
    second = stops_trace()  # 3 units: h[0] > 0.5 fits it, holds at steps 5 and 9
    app = make_app(load(long_file), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        scan.trace = app.debugger.trace  # only its scan is held
        await add(pilot, "h[0] > 0.5")
        await scan.wait_held(pilot)
        [old] = hits_workers(app)
        old_cache = app.debugger.session.hits
        app.debugger.set_trace(second)
        await pilot.pause()
        assert old.is_cancelled
        scan.go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        # The old scan stopped at its next block without a result; the new
        # trace's hits were found (in a worker too: BIG_TRACE is 0 here).
        assert not old_cache.ready(Condition.parse("h[0] > 0.5"), 0)
        assert app.debugger.trace is second and app.debugger.busy == ""
        assert "h[0] > 0.5  2 hits" in screen_text(app)
        await pilot.press("c")
        assert app.debugger.t == 5


async def test_the_scale_of_b_minus_a_is_sampled_first_and_scanned_in_a_worker(long_file, other_file, monkeypatch):
    """Comparing two long runs: the B − A bars are first drawn on a scale
    from a sample of steps, and the scales worker then makes the pass."""
    a, b = load(long_file), load(other_file)
    monkeypatch.setattr(draw, "EAGER_VALUES", 0)
    assert runs.delta_pending(a, b)
    app = make_app(a, diff=b, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown_a, shown_b = app.debugger.trace, app.debugger.other
        assert not runs.delta_pending(shown_a, shown_b)
        full = max_finite_difference(shown_a, shown_b, 0, "c")
        assert runs.stats(shown_a, shown_b, "delta", 0, "c").scale == draw.Scale(-full, full)
        assert app.debugger.session.diff_report is not None


async def test_comparing_two_long_runs_says_how_far_it_got(long_file, other_file, monkeypatch):
    """The comparison of two 60 000-step runs (it recomputes every gate)
    runs in a worker that says how far it got; D says it is still
    comparing; the report arrives and the note goes."""
    held, go = threading.Event(), threading.Event()
    real = diff_module.diff

    def held_diff(a, b, tol=None, check=None, progress=None):
        def hold(done, total):
            progress(done, total)
            if not held.is_set():
                held.set()
                assert go.wait(30), "the test never let the comparison go on"

        return real(a, b, tol, check=check, progress=hold)

    monkeypatch.setattr(diff_module, "diff", held_diff)
    # Blocks of 6000 rows (a block holds 6 H + D values a row): ten of them.
    monkeypatch.setattr(diff_module, "BLOCK_ELEMENTS", ROWS * (6 * H + 3))
    app = make_app(load(long_file), diff=load(other_file), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        assert await asyncio.to_thread(held.wait, 30)
        await pilot.pause()
        assert app.debugger.busy == "comparing the runs 10%"
        assert header(app).startswith(" ⟳ comparing the runs 10%")
        await pilot.press("D")
        assert "still comparing the two runs" in header(app)
        await pilot.press("right")
        assert app.debugger.t == 1
        go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.debugger.busy == "" and "⟳" not in header(app)
        report = app.debugger.session.diff_report
        assert report is not None and report.steps_compared == T and report.first is not None
