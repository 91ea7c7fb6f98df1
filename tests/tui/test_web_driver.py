"""The browser's driver writes each packet whole, whichever thread writes it
(``tui.web_driver``): a screen update and a chunk of a screenshot being
delivered, written at the same moment, must not interleave on the pipe to
textual-serve."""

from __future__ import annotations

import threading
import time

from textual import constants
from textual.drivers import web_driver

from lstm_tui.core.demo import seed_trace
from lstm_tui.tui.app import make_app
from lstm_tui.tui.web_driver import SerialWebDriver


def packets(stream: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of each packet: a type byte, a 4-byte length, the payload."""
    out = []
    at = 0
    while at < len(stream):
        kind, size = stream[at:at + 1], int.from_bytes(stream[at + 1:at + 5], "big")
        out.append((kind, stream[at + 5:at + 5 + size]))
        at += 5 + size
    return out


async def test_packets_from_two_threads_arrive_whole(monkeypatch):
    # The driver's reader of the browser's input is not needed (and stdin here is not a pipe).
    monkeypatch.setattr(web_driver, "InputReader", lambda: None)
    written = bytearray()

    def write_in_two_parts(data: bytes) -> None:
        # What a pipe may do with a write larger than PIPE_BUF: let another
        # writer's bytes in between the parts.
        half = len(data) // 2
        written.extend(data[:half])
        time.sleep(0.0005)
        written.extend(data[half:])

    driver = SerialWebDriver(make_app(seed_trace(), load_model=False), size=(80, 24))
    driver._write = write_in_two_parts  # the pipe, replaced by one that splits writes
    chunk = b"y" * 65536

    def screen() -> None:
        for _ in range(40):
            driver.write("x" * 5000)

    def deliveries() -> None:
        for _ in range(40):
            driver.write_binary_encoded(("deliver_chunk", "key", chunk))
            driver.write_meta({"type": "open_url", "url": "http://127.0.0.1/", "new_tab": True})

    threads = [threading.Thread(target=screen), threading.Thread(target=deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = packets(bytes(written))
    assert sorted({kind for kind, _ in found}) == [b"D", b"M", b"P"]
    assert [payload for kind, payload in found if kind == b"D"] == [b"x" * 5000] * 40
    assert all(chunk in payload for kind, payload in found if kind == b"P")
    assert sum(kind == b"P" for kind, _ in found) == 40
    assert sum(kind == b"M" for kind, _ in found) == 40


def test_the_app_runs_in_a_browser_on_the_serial_driver(monkeypatch):
    # What textual-serve's TEXTUAL_DRIVER sets (Textual reads it at import).
    monkeypatch.setattr(constants, "DRIVER", "textual.drivers.web_driver:WebDriver")
    assert make_app(seed_trace(), load_model=False).get_driver_class() is SerialWebDriver
