"""The screen and the files under it: a trace file that changes while it is
open, a screenshot that cannot be written, a FIFO given to ``o``, a very long
breakpoint condition, and errors from workers told in one line.

A memory-mapped trace whose file is truncated kills the process with SIGBUS
at the first read of a page past the new end, so the tests that truncate a
mapped trace would end the test run itself if the screen read it again: they
pass only if the screen let go of it first.
"""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest
from textual import events
from textual.widgets import Input
from tui_helpers import screen_text

from lstm_tui.core.demo import seed_trace
from lstm_tui.core.trace import Layer, Trace, TraceError
from lstm_tui.core.trace import load as load_trace
from lstm_tui.debug.conditions import MAX_LENGTH
from lstm_tui.tui import app as tui_app
from lstm_tui.tui import draw, files
from lstm_tui.tui.app import make_app
from lstm_tui.tui.dialogs import POINTER_WIDTH, AddBreakpointScreen, FileChangedScreen, OpenTraceScreen
from lstm_tui.tui.files import Placeholder, error_line, is_mapped

SIZE = (80, 24)


def random_trace(T: int = 4000, H: int = 8, D: int = 4, seed: int = 0, source: str = "test: random") -> Trace:
    """Gate-like values (0…1) for every vector: big enough that the last
    step's rows lie in the second half of the file."""
    rng = np.random.default_rng(seed)

    def a(width: int) -> np.ndarray:
        return rng.uniform(0, 1, (T, width))

    layer = Layer(x=a(D), f=a(H), i=a(H), c_hat=a(H), c=a(H), o=a(H), h=a(H), h0=np.zeros(H), c0=np.zeros(H),
                  name="lstm")
    return Trace(layers=[layer], tokens=np.array([f"w{t}" for t in range(T)]), source=source)


@pytest.fixture
def mapped(monkeypatch):
    """Keep every trace memory-mapped, as a file too large for memory is."""
    monkeypatch.setattr(files, "IN_MEMORY_BELOW", 0)


def saved(tmp_path, name: str = "run.npz", **kw) -> tuple[str, int]:
    path = tmp_path / name
    random_trace(**kw).save(path)
    return str(path), path.stat().st_size


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


async def settle(app, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


# -- the trace's file changes underneath -----------------------------------------------


async def test_a_truncated_mapped_trace_is_let_go_of_and_a_dialog_says_why(tmp_path, mapped):
    path, size = saved(tmp_path)
    app = make_app(load_trace(path), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        assert is_mapped(screen.trace)
        await pilot.press("right")
        assert screen.t == 1
        os.truncate(path, size // 2)
        await pilot.press("end")  # would read the last step, past the new end
        await settle(app, pilot)
        assert isinstance(app.screen, FileChangedScreen)
        text = screen_text(app)
        message = " ".join(str(app.screen.query_one("#changed-message").content).split())
        assert message == (f"{path}: the file was truncated from {size} to {size // 2} bytes while open, "
                           "and it no longer loads (not a trace file (not a NumPy .npz archive)).")
        assert "o open another trace · q quit · Esc close this message" in text
        # Nothing on screen reads the old file any more.
        assert isinstance(screen.trace, Placeholder) and not is_mapped(screen.trace)
        assert screen.t == 0 and screen.trace.steps == 1
        await pilot.press("escape")
        assert "the trace's file no longer loads · o opens another" in screen_text(app).splitlines()[0]
        assert "NaN" in screen_text(app)
        # o opens another trace, which replaces the placeholder.
        other, _ = saved(tmp_path, "other.npz", T=10, seed=3, source="other")
        await pilot.press("o")
        assert isinstance(app.screen, OpenTraceScreen)
        app.screen.query_one(Input).value = other
        await pilot.press("enter")
        await settle(app, pilot)
        assert str(screen.trace.path) == other and screen.trace.steps == 10
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0 and app._exception is None


async def test_o_in_the_dialog_asks_for_another_trace(tmp_path, mapped):
    path, size = saved(tmp_path)
    app = make_app(load_trace(path), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        os.truncate(path, 100)
        await pilot.press("right")
        await settle(app, pilot)
        assert isinstance(app.screen, FileChangedScreen)
        await pilot.press("o")
        assert isinstance(app.screen, OpenTraceScreen)
        await pilot.press("escape", "q")
        await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize("how", ["saved over (replaced)", "written in place"])
async def test_a_rewritten_trace_is_loaded_again_where_the_screen_stood(tmp_path, mapped, how, monkeypatch):
    # The key is what finds the change here: the once-a-second check must not
    # find it first (on a loaded machine writing the file can take a second).
    monkeypatch.setattr(tui_app, "FILE_CHECK_SECONDS", 3600.0)
    path, size = saved(tmp_path)
    app = make_app(load_trace(path), load_model=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = app.debugger
        await pilot.press(*["right"] * 5, "down", "down")
        assert (screen.t, screen.unit) == (5, 2)
        new = random_trace(T=6000, seed=1, source="test: the new recording")
        if how == "saved over (replaced)":
            new.save(path)
            why = "the file was replaced by another file"
        else:
            data = (tmp_path / "new.npz")
            new.save(data)
            with open(path, "r+b") as fp:  # the same file, longer now
                fp.write(data.read_bytes())
            why = "the file was rewritten"
        await pilot.press("right")
        await settle(app, pilot)
        assert screen.trace.source == "test: the new recording" and str(screen.trace.path) == path
        assert screen.trace.steps == 6000
        assert (screen.t, screen.unit) == (5, 2)  # the key that found the change was not applied
        assert f"{path}: {why} while open; it was loaded again" in notices(app)
        await pilot.press("right")
        assert screen.t == 6


async def test_a_trace_in_memory_stays_when_its_file_no_longer_loads(tmp_path):
    path, size = saved(tmp_path)
    app = make_app(load_trace(path), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        trace = screen.trace
        assert not is_mapped(trace)  # small: read into memory, nothing to fear
        os.truncate(path, size // 2)
        await pilot.press("end")
        await settle(app, pilot)
        assert screen.trace is trace and screen.t == trace.steps - 1
        expected = (f"{path}: the file was truncated from {size} to {size // 2} bytes while open, and it no longer "
                    "loads (not a trace file (not a NumPy .npz archive)). Still showing the trace as it was "
                    "loaded.")
        assert notices(app) == [expected]
        # Said once, not at every key or every second.
        await pilot.press("home")
        await pilot.pause(1.2)
        await settle(app, pilot)
        assert notices(app) == [expected]
        # The file written again, whole: it loads.
        random_trace(T=7, seed=2).save(path)
        await pilot.press("right")
        await settle(app, pilot)
        assert screen.trace.steps == 7 and screen.t == 1


async def test_a_change_is_found_without_a_key(tmp_path, mapped):
    path, size = saved(tmp_path)
    app = make_app(load_trace(path), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        os.remove(path)
        await pilot.pause(1.5)
        await settle(app, pilot)
        assert isinstance(app.screen, FileChangedScreen)
        message = str(app.screen.query_one("#changed-message").content)
        assert message == f"{path}: the file was removed or renamed while open, and it no longer loads (no such file)."


async def test_the_second_run_changed_closes_or_reloads_the_comparison(tmp_path, mapped):
    a, _ = saved(tmp_path, "a.npz", seed=0)
    b, size_b = saved(tmp_path, "b.npz", seed=1)
    app = make_app(load_trace(a), load_model=False, diff=load_trace(b))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        assert screen.other is not None and screen.run == "delta"
        os.truncate(b, size_b // 2)
        await pilot.press("end")
        await settle(app, pilot)
        assert screen.other is None and screen.run == "a" and str(screen.trace.path) == a
        assert notices(app)[-1] == (f"{b}: the file was truncated from {size_b} to {size_b // 2} bytes while open, "
                                    "and it no longer loads (not a trace file (not a NumPy .npz archive)). "
                                    "The comparison is closed.")
        await pilot.press("end")
        assert screen.t == screen.trace.steps - 1  # A goes on

    random_trace(seed=1).save(b)
    app = make_app(load_trace(a), load_model=False, diff=load_trace(b))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.press("d")  # A, then B
        run = screen.run
        random_trace(seed=5, source="test: B again").save(b)
        await pilot.press("right")
        await settle(app, pilot)
        assert screen.other is not None and screen.other.source == "test: B again"
        assert screen.run == run
        assert f"{b}: the file was replaced by another file while open; it was loaded again" in notices(app)


async def test_a_changed_first_run_comes_back_compared(tmp_path, mapped):
    """A is let go of and loads again: the comparison with B resumes."""
    a, _ = saved(tmp_path, "a.npz", seed=0)
    b, _ = saved(tmp_path, "b.npz", seed=1)
    app = make_app(load_trace(a), load_model=False, diff=load_trace(b))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.debugger
        await pilot.press("right", "right")
        random_trace(seed=7, source="test: A again").save(a)
        await pilot.press("right")
        await settle(app, pilot)
        assert screen.trace.source == "test: A again" and screen.t == 2
        assert screen.other is not None and str(screen.other.path) == b and screen.run == "delta"
        assert "B−A" in screen_text(app) or "diff vs" in screen_text(app)


def test_the_scales_pass_stops_between_blocks():
    T, H = 600_000, 4  # more values in x and c than are scanned before the first frame
    rng = np.random.default_rng(0)
    gate = np.zeros((T, H), np.float32)
    layer = Layer(x=rng.uniform(-3, 3, (T, H)).astype(np.float32), f=gate, i=gate, c_hat=gate,
                  c=rng.uniform(-3, 3, (T, H)).astype(np.float32), o=gate, h=gate,
                  h0=np.zeros(H, np.float32), c0=np.zeros(H, np.float32))
    assert draw.stats_pending(layer)
    calls = []

    def check() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        draw.scan_layer_stats(layer, check)
    assert len(calls) == 2 and draw.stats_pending(layer)  # nothing published
    draw.scan_layer_stats(layer, lambda: None)
    assert not draw.stats_pending(layer)


def test_small_traces_are_read_into_memory_and_keep_their_stamp(tmp_path):
    path, size = saved(tmp_path)
    loaded = load_trace(path)
    assert is_mapped(loaded)
    copy = files.in_memory(loaded)
    assert copy is not loaded and not is_mapped(copy) and copy.stamp == loaded.stamp
    assert np.array_equal(copy.layers[0].h, loaded.layers[0].h) and copy.path == loaded.path
    os.truncate(path, size // 2)
    assert copy.changed_on_disk() == f"the file was truncated from {size} to {size // 2} bytes"
    assert float(copy.layers[0].h[-1, 0]) == float(copy.layers[0].h[-1, 0])  # still readable
    assert files.in_memory(loaded, below=0) is loaded


# -- ctrl+s ------------------------------------------------------------------------------


async def test_ctrl_s_saves_an_svg_and_names_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        shots = list(tmp_path.glob("*.svg"))
        assert len(shots) == 1
        assert shots[0].read_text(encoding="utf-8").startswith("<svg")
        assert notices(app) == [f"saved {shots[0]}"]


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
async def test_ctrl_s_where_nothing_can_be_written_says_so_and_goes_on(tmp_path, monkeypatch, code):
    monkeypatch.chdir(tmp_path)
    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):
        if str(path) in (".", str(tmp_path)) or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(code, os.strerror(code))
        return real_open(path, flags, *args, **kwargs)

    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(os, "open", refusing_open)
        await pilot.press("ctrl+s")
        await pilot.pause()
        monkeypatch.setattr(os, "open", real_open)
        [note] = app._notifications
        assert note.title == "screenshot not saved" and note.severity == "error"
        assert note.message.endswith(f": cannot write the screenshot ({os.strerror(code)})")
        assert note.message.startswith(f"{tmp_path}/lstm-tui_") and ".svg:" in note.message
        assert not list(tmp_path.glob("*.svg"))
        await pilot.press("right")
        assert app.debugger.t == 1 and app.return_code is None


# -- the breakpoint dialog ----------------------------------------------------------------


async def paste(app, pilot, text: str) -> None:
    app.post_message(events.Paste(text))
    await pilot.pause()


async def test_a_pasted_condition_of_500_terms_adds_a_breakpoint():
    condition = " or ".join(["nan"] * 500)
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        assert isinstance(app.screen, AddBreakpointScreen)
        await paste(app, pilot, condition)
        assert app.screen.query_one(Input).value == condition
        await pilot.press("enter")
        await pilot.pause()
        screen = app.debugger
        assert app.screen is screen
        assert [bp.source for bp in screen.session.breakpoints] == [condition]
        assert screen_text(app).splitlines()[0].startswith(" breakpoint nan or nan or nan")
        assert screen.note is not None and screen.note.text.endswith(": 0 hits on layer 0")


async def test_a_long_condition_with_an_error_shows_one_line_around_the_column():
    terms = ["nan"] * 500
    terms[250] = "f[0] <"
    condition = " or ".join(terms)
    column = condition.index("< or") + 3  # the "or" where an operand should be
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        await paste(app, pilot, condition)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AddBreakpointScreen)
        lines = str(app.screen.query_one("#breakpoint-error").content).splitlines()
        assert len(lines) == 3 and lines[0].startswith(f"column {column}: ")
        assert len(lines[1]) <= POINTER_WIDTH and lines[1].startswith("…") and lines[1].endswith("…")
        assert "f[0] < or" in lines[1]
        assert lines[2].strip() == "^" and lines[1][len(lines[2]) - 1 : len(lines[2]) + 1] == "or"
        assert "column" in screen_text(app)


async def test_a_paste_longer_than_the_limit_is_refused_by_the_field():
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        field = app.screen.query_one(Input)
        assert field.max_length == MAX_LENGTH
        await paste(app, pilot, "nan or " * (MAX_LENGTH // 7) + "nan or nan")
        assert field.value == ""
        await paste(app, pilot, "nan")
        await pilot.press("enter")
        await pilot.pause()
        assert [bp.source for bp in app.debugger.session.breakpoints] == ["nan"]


# -- o on things that are not trace files ------------------------------------------------


@pytest.mark.parametrize("spelling", ["absolute", "home"])
async def test_o_on_a_fifo_says_so_and_q_still_quits(tmp_path, monkeypatch, spelling):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    monkeypatch.setenv("HOME", str(tmp_path))
    trace = seed_trace()
    app = make_app(trace, load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        app.screen.query_one(Input).value = str(fifo) if spelling == "absolute" else "~/pipe.npz"
        await pilot.press("enter")
        await settle(app, pilot)
        [note] = app._notifications
        assert note.message == f"{fifo}: not a regular file (a FIFO), so not a trace file"
        assert note.title == "could not open the trace"
        assert app.debugger.trace is trace
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


# -- errors from workers, in one line -----------------------------------------------------


def test_error_line():
    assert error_line(TraceError("/x.npz", "no such file")) == "/x.npz: no such file"
    assert error_line(ValueError("first\nsecond")) == "ValueError: first"
    assert error_line(KeyError()) == "KeyError"
    assert error_line(None) == "unknown error"


@pytest.mark.parametrize("error, shown", [
    (RuntimeError("a [b]bug[/b] in [/]\ntraceback lines"), "RuntimeError: a [b]bug[/b] in [/]"),
    (TraceError("[@click=app.quit].npz", "damaged archive"), "[@click=app.quit].npz: damaged archive"),
])
async def test_worker_errors_are_one_line_of_text(monkeypatch, error, shown):
    def failing(path, *args, **kwargs):
        raise error

    monkeypatch.setattr(tui_app, "load_trace", failing)
    import lstm_tui.debug.health as health

    monkeypatch.setattr(health, "scan", failing)
    monkeypatch.setattr(tui_app, "BIG_TRACE", 0)  # every scan in a worker
    app = make_app(seed_trace(), load_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("o")
        app.screen.query_one(Input).value = "x.npz"
        await pilot.press("enter")
        await settle(app, pilot)
        assert [(n.title, n.message, n.markup) for n in app._notifications] == [
            ("scan failed", shown, False), ("could not open the trace", shown, False)]
        assert app.return_code is None


def test_the_words_for_a_file_that_changed_and_was_loaded_again():
    from lstm_tui.tui.files import Notice, loading_again, reload_notice

    why = "the file was rewritten"
    assert loading_again("a.npz", why) == "a.npz: the file was rewritten; loading it again…"
    assert reload_notice("a", "a.npz", why) == Notice("a.npz: the file was rewritten while open; it was loaded again",
                                                      "trace reloaded")
    assert reload_notice("b", "b.npz", why).title == "second run reloaded"
    gone = "a.npz: the file was rewritten while open, and it no longer loads (no such file)."
    assert reload_notice("a", "a.npz", why, "no such file") == Notice(
        gone + " Still showing the trace as it was loaded.", "trace file changed", "warning", 30)
    assert reload_notice("a", "a.npz", why, "no such file", let_go=True).text == gone  # the dialog's text
    gone = gone.replace("a.npz", "b.npz")
    assert reload_notice("b", "b.npz", why, "no such file") == Notice(
        gone + " Still comparing with the run as it was loaded.", "second run's file changed", "warning", 30)
    assert reload_notice("b", "b.npz", why, "no such file", let_go=True) == Notice(
        gone + " The comparison is closed.", "second run's file changed", "error", 30)
    assert reload_notice("b", "b.npz", why, incomparable="2 layers, not 1") == Notice(
        "b.npz: the file was rewritten while open; it now holds a run that cannot be compared (2 layers, not 1). "
        "The comparison is closed.", "second run's file changed", "warning", 30)
