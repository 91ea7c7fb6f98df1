"""``lstm-tui serve``: the debugger in a browser, through textual-serve.

textual-serve runs a command once per browser session (a new process each
time a page connects) and relays its screen and keys over a websocket to
xterm.js in the page. The command here is ``python -m lstm_tui view ...``
with the options ``serve`` was given, so a browser session is the same
debugger a terminal gets; the app knows it runs in a browser (``App.is_web``)
and delivers screenshots to the browser instead of writing them on the
server (``tui.app``).

What this module adds to textual-serve's ``Server``:

- **Its own socket.** It is bound before anything is printed, so a port in
  use is one line and exit 2, not a traceback from inside the web server.
- **A guard against other web pages.** A browser lets any page open a
  websocket to any address, loopback included, and textual-serve does not
  look at who asks: a page on some site the user visits could connect to
  ``ws://127.0.0.1:8000/ws``, type keys into the debugger and read its
  screen (and the debugger opens files). Websocket requests whose ``Origin``
  is not the page's own are refused, and on a loopback bind so are requests
  whose ``Host`` is not a loopback name (a DNS name an attacker points at
  127.0.0.1 would otherwise make its page same-origin).
- **URLs from the request.** The page's websocket address is built from the
  address the browser used (textual-serve builds it from the bind address,
  which for 0.0.0.0 or an IPv6 literal is not one a browser can open).
- **A clean Ctrl+C**: open sessions are closed first (each app is told to
  quit), then the server stops, without waiting out aiohttp's 60 s grace.

This module imports only the standard library until ``serve`` runs; nothing
here imports TensorFlow (the sessions' apps load the model lazily, as in a
terminal).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import shlex
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from .errors import LstmTuiError

#: What to install when textual-serve is missing.
INSTALL = "pip install 'lstm-tui[web]'"
#: How long a stopping server waits for a session's handler once it has been
#: told to close (aiohttp's own default is 60 s).
SHUTDOWN_SECONDS = 5.0


class ServeError(LstmTuiError):
    """``serve`` cannot run: textual-serve missing, an address that cannot
    be bound."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without
    brackets) is this machine only: ``localhost``, 127.0.0.0/8 or ::1."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 literal in brackets."""
    name = host.strip().strip("[]")
    return f"http://[{name}]:{port}" if ":" in name else f"http://{name}:{port}"


def view_command(arguments: Sequence[str], python: str | None = None) -> str:
    """The shell command a browser session runs: ``python -m lstm_tui view``
    with ``arguments``, every word quoted for ``/bin/sh`` (textual-serve
    runs it through a shell; a path may hold spaces or quotes)."""
    return shlex.join([python or sys.executable, "-m", "lstm_tui", "view", *arguments])


def require_textual_serve() -> None:
    """Raise ``ServeError`` naming the pip command when textual-serve is not
    installed (it is an optional extra)."""
    try:
        import textual_serve.server  # noqa: F401
    except ImportError:
        raise ServeError(f"serve needs textual-serve, which is not installed: {INSTALL}") from None


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port``, or ``ServeError`` saying why
    not in one line (the port in use, an address this machine does not have)."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ServeError(f"--host {host}: not an address of this machine ({e.strerror})") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family == socket.AF_INET6:
            # "::" means IPv6 only on this socket, not also IPv4 on some systems.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        # A server just stopped leaves its port in TIME_WAIT: start again at once.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        why = "address already in use (another server? try --port)" if e.errno == 98 else (e.strerror or str(e))
        raise ServeError(f"{url(host, port)}: {why}") from None
    sock.setblocking(False)
    return sock


def serve(command: str, host: str, port: int, *, title: str,
          say: Callable[[str], None], warn: Callable[[str], None]) -> None:
    """Serve ``command`` (``view_command``) on ``host``:``port`` until
    Ctrl+C (SIGINT) or SIGTERM. ``say`` gets the line with the URL once the
    port is bound; ``warn`` the one-line warning for an address other than
    loopback."""
    require_textual_serve()
    sock = bind(host, port)
    server = _server_class()(command, host=host, port=port, title=title)

    def ready() -> None:
        if not is_loopback(host):
            warn(f"anyone who can reach {url(host, port)} can use the app (and read the files it can)")
        say(f"serving the debugger on {url(host, port)} (Ctrl+C stops)")

    server.run(sock, ready)


def _server_class() -> type[Any]:
    """``Server``: textual-serve's, with the guard, the per-request URLs and
    the clean stop (see the module's docstring). Built on first use: the
    module imports without textual-serve."""
    from aiohttp import web
    from aiohttp.web_runner import GracefulExit
    from textual_serve.server import Server as TextualServer

    class Server(TextualServer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.loopback = is_loopback(self.host)
            #: The websocket handlers running, one a browser session.
            self.sessions: set[asyncio.Task[Any]] = set()

        def initialize_logging(self) -> None:
            # textual-serve logs every session at INFO through Rich on
            # stdout; only what went wrong is worth a line, on stderr.
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("lstm-tui serve: %(message)s"))
            log = logging.getLogger("textual-serve")
            log.handlers[:] = [handler]
            log.setLevel(logging.WARNING)
            log.propagate = False

        async def on_startup(self, app: web.Application) -> None:
            """(textual-serve prints its banner here; ``serve`` has said
            what there is to say.)"""

        def refusal(self, request: web.Request) -> str | None:
            """Why ``request`` is refused, or None (the module's docstring
            says why each rule exists)."""
            host = request.host
            if self.loopback and not is_loopback(urlsplit(f"//{host}").hostname or ""):
                return f"{host}: not a loopback name; open {url(self.host, self.port)}"
            origin = request.headers.get("Origin")
            if origin is not None and origin != f"{request.scheme}://{host}":
                return f"a page from {origin} may not connect to the debugger"
            return None

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()

            @web.middleware
            async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
                why = self.refusal(request)
                if why is not None:
                    logging.getLogger("textual-serve").warning("refused %s: %s", request.path, why)
                    raise web.HTTPForbidden(text=why)
                return await handler(request)

            app.middlewares.append(guard)
            app.on_shutdown.append(self._close_sessions)
            return app

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            # textual-serve builds the page's websocket URL from
            # ``public_url``; make it the address this browser used. The
            # page's context is computed before the first await inside,
            # so concurrent requests cannot see each other's value.
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            task = asyncio.current_task()
            assert task is not None
            self.sessions.add(task)
            try:
                return await super().handle_websocket(request)
            finally:
                self.sessions.discard(task)

        async def _close_sessions(self, app: web.Application) -> None:
            # Cancelled, a session's handler closes its websocket and tells
            # its app to quit (textual-serve's own ``finally``).
            sessions = list(self.sessions)
            for task in sessions:
                task.cancel()
            if sessions:
                await asyncio.wait(sessions, timeout=SHUTDOWN_SECONDS)

        def run(self, sock: socket.socket, ready: Callable[[], None]) -> None:
            """Textual-serve's ``serve``, on a socket already bound; ``ready``
            is called once Ctrl+C would stop the server cleanly (before, it
            is Python's KeyboardInterrupt)."""
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)

            def stop() -> None:
                raise GracefulExit()

            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, stop)
            ready()
            try:
                web.run_app(self._make_app(), sock=sock, handle_signals=False, loop=loop, print=None,
                            shutdown_timeout=SHUTDOWN_SECONDS, access_log=None)
            finally:
                with contextlib.suppress(Exception):
                    loop.close()

    return Server
