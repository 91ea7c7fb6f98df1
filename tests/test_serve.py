"""``lstm-tui serve``: the debugger in a browser (textual-serve).

The browser test starts the real server on a free loopback port and opens
it in headless Chromium, Debian's package driven by Playwright (Playwright's
own browser download is never used). The page draws with xterm.js on a
canvas, so there is no text to read in its DOM; the test reads what the
page receives instead: every websocket frame the browser gets is fed to a
terminal emulator (pyte) sized as the page asked, and the frames the page
sends carry the keys typed into it. Requests for anything but the server
(the page links a web font) are refused, so the test stays on 127.0.0.1.

Skipped when Playwright or Chromium is missing, except under CI (the ``CI``
variable set), where that fails: .ci/run installs Chromium.
"""

from __future__ import annotations

import codecs
import html
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "lstm_tui" / "traces" / "next_letter.npz"
#: Where Debian's chromium package puts the browser (the binary, then the wrapper script).
CHROMIUM = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: The longest any one condition is waited for (a start-up, a frame, a download).
PATIENCE = 20.0

pytestmark = pytest.mark.web


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _chromium() -> str | None:
    return next((path for path in CHROMIUM if os.access(path, os.X_OK)), None)


def _need(what: str | None) -> None:
    """Skip for ``what`` missing, or fail under CI, where it must be there."""
    if what is None:
        return
    if _in_ci():
        pytest.fail(f"{what} (CI must have it: .ci/run installs chromium, the test extra playwright)")
    pytest.skip(what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], Any], what: str, pump: Callable[[float], None] = time.sleep,
               timeout: float = PATIENCE) -> Any:
    """``condition()``'s first true value, calling ``pump`` between tries
    (Playwright's sync API delivers events only while one of its calls
    runs); fails naming ``what`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        pump(0.1)


class Server:
    """``lstm-tui serve`` in its own process group, as a terminal runs it:
    Ctrl+C there reaches the server and every session's app at once."""

    def __init__(self, *args: str, cwd: Path):
        self.process = subprocess.Popen([sys.executable, "-m", "lstm_tui", "serve", *args], cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)

    def first_line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def interrupt(self) -> tuple[int, str, str]:
        """Ctrl+C (SIGINT to the process group); the exit code and output."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        out, err = self.process.communicate(timeout=PATIENCE)
        return self.process.returncode, out, err

    def group_gone(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return True
        return False

    def kill(self) -> None:
        if not self.group_gone():
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.returncode is None:
            out, err = self.process.communicate(timeout=PATIENCE)
            print(f"the server's output:\n{out}\n{err}")  # shown by pytest when a test fails


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def starter(*args: str) -> Server:
        try:
            import textual_serve  # noqa: F401
        except ImportError:
            _need("textual-serve is not installed (pip install -e '.[test]')")
        server = Server(*args, cwd=tmp_path)
        servers.append(server)
        return server

    yield starter
    for server in servers:
        server.kill()


class Terminal:
    """The screen the page shows, rebuilt from the frames it receives."""

    def __init__(self) -> None:
        import pyte

        self.pyte = pyte
        self.screen: Any = None
        self.sent: list[Any] = []
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode

    def attach(self, websocket: Any) -> None:
        query = parse_qs(urlsplit(websocket.url).query)
        self.screen = self.pyte.Screen(int(query["width"][0]), int(query["height"][0]))
        self._stream = self.pyte.Stream(self.screen)
        websocket.on("framereceived", self._received)
        websocket.on("framesent", self._sent)

    def _received(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):  # the app's output; text frames are the page's own (pong)
            self._stream.feed(self._decode(payload))

    def _sent(self, payload: str | bytes) -> None:
        message = json.loads(payload)
        self.sent.append(message)
        if message[0] == "resize":
            self.screen.resize(message[1]["height"], message[1]["width"])

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display) if self.screen is not None else ""

    def line(self, part: str) -> str:
        return next((row for row in self.screen.display if part in row), "") if self.screen is not None else ""


def test_the_debugger_in_a_browser(start, tmp_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright is not installed (pip install -e '.[test]')")
    chromium = _chromium()
    _need(None if chromium else f"no chromium at {' or '.join(CHROMIUM)} (apt-get install chromium)")
    # A path a shell would split or choke on: the session's command quotes it.
    folder = tmp_path / "my traces"
    folder.mkdir()
    trace = folder / "it's here.npz"
    shutil.copy(BUNDLED, trace)
    port = free_port()
    server = start(str(trace), "--port", str(port), "--no-model", "--lang", "en")
    url = f"http://127.0.0.1:{port}"
    assert server.first_line() == f"serving the debugger on {url} (Ctrl+C stops)"

    terminal = Terminal()
    downloads: list[Any] = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 800}, accept_downloads=True)
        try:
            # Only other hosts are intercepted: a download whose request was
            # intercepted may be cancelled by Chromium.
            context.route(lambda address: not address.startswith(url + "/"), lambda route: route.abort())
            # The screenshot opens its download in a new tab.
            context.on("page", lambda page: page.on("download", lambda d: downloads.append(d)))
            page = context.new_page()
            page.on("websocket", terminal.attach)
            page.goto(url + "/")

            def pump(seconds: float) -> None:
                page.wait_for_timeout(seconds * 1000)

            # The first frame: the header names the trace and the step.
            header = wait_until(lambda: terminal.line("lstm-tui ·"), "the first frame", pump)
            assert "it's here.npz" in header and "t = 0 of 0…2" in header and "token 'd'" in header
            assert "f_t" in terminal.text and "h_t" in terminal.text

            # The footer fills in once the page has the focus; a typed key steps.
            page.focus("textarea.xterm-helper-textarea")
            footer = wait_until(lambda: terminal.line("q Quit"), "the footer's keys", pump)
            assert "→ step" in footer and "? Help" in footer
            page.keyboard.press("l")
            header = wait_until(lambda: terminal.line("t = 1 of 0…2"), "t = 1 after l", pump)
            assert "token 'e'" in header
            page.keyboard.press("ArrowRight")
            wait_until(lambda: terminal.line("t = 2 of 0…2"), "t = 2 after →", pump)

            # Opening a file says whose files these are.
            page.keyboard.press("o")
            wait_until(lambda: terminal.line("paths are on the server"), "the open dialog", pump)
            assert socket.gethostname() in terminal.text  # (on the same line, or the next)
            page.keyboard.press("Escape")
            wait_until(lambda: not terminal.line("paths are on the server"), "the dialog to close", pump)

            # ctrl+s: the screenshot is downloaded by the browser, not written on the server.
            page.keyboard.press("Control+s")
            download = wait_until(lambda: downloads and downloads[0], "the screenshot's download", pump)
            assert download.suggested_filename.endswith(".svg")
            svg = html.unescape(Path(download.path()).read_text(encoding="utf-8")).replace("\xa0", " ")
            assert svg.startswith("<svg") and "lstm-tui" in svg and "t = 2 of 0…2" in svg
            notice = wait_until(lambda: terminal.line("sent lstm-tui_"), "the notice of the download", pump)
            assert download.suggested_filename in notice  # (the words after it wrap to the next line)
            assert "Saved screenshot" not in terminal.text  # Textual's own notice, in English, is not added
            assert not list(tmp_path.glob("*.svg"))

            # Ctrl+C with the page still connected: the server and every
            # session's app end, cleanly.
            code, out, err = server.interrupt()
        finally:
            context.close()
    assert code == 0, err
    assert "Traceback" not in out + err
    wait_until(server.group_gone, "the sessions' apps to end")


def test_a_non_loopback_address_is_warned_about(start):
    # Stopped as soon as the warning is read: nothing else is reached over it.
    port = free_port()
    server = start("--host", "0.0.0.0", "--port", str(port), "--no-model")
    assert server.first_line() == f"serving the debugger on http://0.0.0.0:{port} (Ctrl+C stops)"
    code, _, err = server.interrupt()
    assert err.splitlines() == [f"lstm-tui: warning: anyone who can reach http://0.0.0.0:{port} can use the app "
                                "(and read the files it can)"]
    assert code == 0


def test_other_pages_and_names_are_refused(start):
    # A page from another site may open a websocket to loopback, and a DNS
    # name pointed at 127.0.0.1 would make its page look same-origin.
    port = free_port()
    server = start("--port", str(port), "--no-model")
    url = f"http://127.0.0.1:{port}"
    assert server.first_line().endswith(f"{url} (Ctrl+C stops)")

    def status(path: str, headers: dict[str, str]) -> int:
        try:
            with urllib.request.urlopen(urllib.request.Request(url + path, headers=headers), timeout=PATIENCE) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    assert status("/", {}) == 200
    assert status("/", {"Host": f"localhost:{port}"}) == 200
    assert status("/", {"Host": f"attacker.example:{port}"}) == 403
    assert status("/ws", {"Origin": "http://attacker.example"}) == 403
    code, _, err = server.interrupt()
    assert code == 0 and "Traceback" not in err


def test_a_port_in_use_is_one_line(start):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start("--port", str(port), "--no-model")
        code, out, err = server.process.wait(timeout=PATIENCE), *server.process.communicate()
    assert code == 2
    assert out == ""
    assert err.splitlines() == [f"lstm-tui: error: http://127.0.0.1:{port}: address already in use "
                                "(another server? try --port)"]


def _child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_without_textual_serve_it_says_which_pip_command():
    # None in sys.modules makes the import fail, as if not installed.
    out = _child("""
        import sys
        sys.modules["textual_serve"] = None
        from lstm_tui.cli import main
        main(["serve", "--port", "1"])
    """)
    assert out.returncode == 2
    assert out.stderr.splitlines() == ["lstm-tui: error: serve needs textual-serve, which is not installed: "
                                       "pip install 'lstm-tui[web]'"]


def test_each_session_runs_view_with_the_options_quoted_and_no_tensorflow(tmp_path):
    # The server is replaced by a stand-in that reports the command it was
    # given and what the process imported by then.
    trace = tmp_path / "a b's.npz"
    shutil.copy(BUNDLED, trace)
    model = tmp_path / "m; rm -rf ~.keras"
    model.write_bytes(b"")
    out = _child("""
        import json, sys
        from lstm_tui import web
        def serve(command, host, port, **kw):
            heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
            print(json.dumps({"command": command, "host": host, "port": port, "heavy": heavy}))
        web.serve = serve
        from lstm_tui.cli import main
        main(["serve", sys.argv[1], "--model", sys.argv[2], "--step", "2", "--break", "-h[0] > 0.5",
              "--lang", "pt", "--port", "8123"])
    """, str(trace), str(model))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["heavy"] == []
    assert (result["host"], result["port"]) == ("127.0.0.1", 8123)
    assert shlex.split(result["command"]) == [sys.executable, "-m", "lstm_tui", "view", str(trace), "--lang", "pt",
                                              "--model", str(model), "--step", "2", "--break=-h[0] > 0.5"]


def test_a_bad_trace_fails_before_serving(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    out = subprocess.run([sys.executable, "-m", "lstm_tui", "serve", str(bad), "--port", str(free_port())],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 2
    assert len(out.stderr.splitlines()) == 1 and out.stderr.startswith(f"lstm-tui: error: {bad}")


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.5.6.7", True), ("::1", True),
                                            ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
                                            ("::", False), ("192.168.1.2", False), ("example.org", False)])
def test_loopback_addresses(host, loopback):
    from lstm_tui.web import is_loopback

    assert is_loopback(host) is loopback


def test_urls_bracket_ipv6():
    from lstm_tui.web import url

    assert url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert url("::1", 8000) == url("[::1]", 8000) == "http://[::1]:8000"
