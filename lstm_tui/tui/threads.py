"""The threads the app's workers run in, and why none can hold up ``q``.

Textual runs a thread worker (``@work(thread=True)``) in asyncio's default
executor, a ``ThreadPoolExecutor``. Its threads are joined twice on the way
out: by ``asyncio.run`` (``shutdown_default_executor``) before ``App.run``
returns, and by the interpreter at exit. A worker that never returns — a
load stuck on a file served by a hung network mount, a model whose import
waits on a lock — would then keep the process alive after ``q`` with the
terminal already handed back: an app that looks gone and a shell that does
not answer.

So the app installs ``DaemonExecutor`` as its loop's default executor: each
task runs in a daemon thread of its own that nothing joins, and shutting
the executor down does not wait. ``LstmTuiApp.run`` then ends the process
with ``os._exit`` when a worker thread is still running after the app has
closed (terminal restored, Textual's report printed): the interpreter's
normal exit would tear modules down under a thread that is still using them
(a NumPy scan, TensorFlow's import), which can crash or hang at exit; the
app has nothing left to flush by then (every file it writes is written and
synced when the key is pressed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class DaemonExecutor(ThreadPoolExecutor):
    """An executor that runs each task in a new daemon thread and never
    waits for one. (A ``ThreadPoolExecutor`` subclass because asyncio's
    ``set_default_executor`` takes nothing else.)"""

    def __init__(self, name: str = "lstm-tui-worker") -> None:
        super().__init__(max_workers=1, thread_name_prefix=name)
        self._name = name
        self._live: set[threading.Thread] = set()
        self._guard = threading.Lock()
        self._count = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()

        def run() -> None:
            try:
                if not future.set_running_or_notify_cancel():
                    return
                try:
                    result = fn(*args, **kwargs)
                except BaseException as e:  # noqa: BLE001 - handed to the awaiting worker, as the pool does
                    future.set_exception(e)
                else:
                    future.set_result(result)
            finally:
                with self._guard:
                    self._live.discard(thread)

        with self._guard:
            self._count += 1
            thread = threading.Thread(target=run, name=f"{self._name}-{self._count}", daemon=True)
            self._live.add(thread)
        thread.start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Never waits: a thread stuck in a read must not hold the exit."""

    def busy(self) -> bool:
        """Whether a task is still running."""
        with self._guard:
            return any(thread.is_alive() for thread in self._live)
