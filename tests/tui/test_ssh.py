"""lstm-tui over a real SSH connection, as a user on a remote box runs it.

An OpenSSH server is started on 127.0.0.1 for the test, as the current user,
with keys made for it in a temporary directory; ``ssh -t`` runs lstm-tui on
it from a pseudo-terminal (rendered by pyte, a terminal emulator) and from
inside tmux. Keys step the debugger, and ``q`` must hand the terminal back
clean: the main screen restored and every mouse mode switched off, or the
user's shell is left receiving mouse reports as garbage text.

The tests skip when sshd, ssh or tmux is missing, except where they are
required: ``.ci/run`` installs Debian's openssh-server, openssh-client and
tmux and sets ``LSTM_TUI_TEST_SSH=required`` (``CI`` being set counts too),
so a failed install fails the run instead of passing it silently.
"""

from __future__ import annotations

import codecs
import fcntl
import os
import re
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyte
import pytest

pytestmark = pytest.mark.ssh

REPO = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"
#: The venv's own lstm-tui: the remote login has its own PATH, which need
#: not contain this interpreter's bin directory.
LSTM_TUI = Path(sys.executable).parent / "lstm-tui"
#: The README's advice: Debian's sshd does not accept COLORTERM from the
#: client, so the remote command sets it, or Textual falls back to 256 colours.
REMOTE = f"cd {shlex.quote(str(REPO))} && COLORTERM=truecolor exec {shlex.quote(str(LSTM_TUI))}"
#: Generous bounds on waiting for the screen: a slow CI machine starts
#: Python, Textual and the trace in a few seconds.
TIMEOUT = 30.0
COLS, ROWS = 80, 24

#: Private modes a terminal keeps on once set, so Textual switching one of
#: them on means it has to switch it off again: the alternate screen, mouse
#: reporting (1000 clicks, 1002/1003 motion, 1005/1006/1015/1016 encodings),
#: focus events, bracketed paste, in-band resize. Cursor visibility (25) and
#: line wrap (7) end switched *on*, as a shell expects.
LEFT_ON_IS_DIRTY = {1049, 1000, 1002, 1003, 1005, 1006, 1015, 1016, 1004, 2004, 2048}
ENDS_ON = {7, 25}


def required() -> bool:
    return os.environ.get("LSTM_TUI_TEST_SSH") == "required" or bool(os.environ.get("CI"))


def need(*programs: str) -> None:
    """Skip (or fail, where the SSH test is required) when a program is missing."""
    missing = [p for p in programs if not (os.access(p, os.X_OK) if p.startswith("/") else shutil.which(p))]
    if missing:
        why = (f"{', '.join(missing)} not installed (Debian: apt-get install openssh-server "
               "openssh-client tmux; .ci/run does it)")
        if required():
            pytest.fail(why)
        pytest.skip(why)


@dataclass
class Server:
    port: int
    key: Path

    def ssh(self, *options: str) -> list[str]:
        """The client command line a user would type, with throwaway trust:
        the host key is new every run, so it is neither checked nor stored."""
        return ["ssh", "-t", "-p", str(self.port), "-i", str(self.key),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
                *options, "127.0.0.1", REMOTE]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Server]:
    """sshd on 127.0.0.1 for this test alone: its own host key, one
    authorised user key (the current user's login), no PAM (it would want
    the system's login set-up), and StrictModes off because pytest's
    temporary directories are not the 0700 ~/.ssh it insists on."""
    need(SSHD, "ssh", "ssh-keygen")
    if os.geteuid() == 0:
        # Debian's sshd running as root chroots its pre-authentication child
        # into /run/sshd, which systemd creates at boot; containers lack it.
        try:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        except OSError as e:
            pytest.skip(f"sshd as root needs /run/sshd: {e}")
    # (Run as another user sshd does not chroot and can log in only that user.)
    for name in ("host", "user"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"lstm-tui test {name}",
                        "-f", str(tmp_path / name)], check=True)
    (tmp_path / "authorized_keys").write_bytes((tmp_path / "user.pub").read_bytes())
    log = tmp_path / "sshd.log"
    for _attempt in range(3):  # the free port may be taken before sshd binds it
        port = free_port()
        config = tmp_path / "sshd_config"
        config.write_text(
            f"ListenAddress 127.0.0.1\nPort {port}\n"
            f"HostKey {tmp_path / 'host'}\n"
            f"AuthorizedKeysFile {tmp_path / 'authorized_keys'}\n"
            f"PidFile {tmp_path / 'sshd.pid'}\n"
            "StrictModes no\nUsePAM no\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\n"
            # No message of the day or last login: the screen holds only the app's output.
            "PrintMotd no\nPrintLastLog no\n"
        )
        with log.open("wb") as err:
            proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL,
                                    stdout=err, stderr=err, start_new_session=True)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None and b"Server listening" not in log.read_bytes():
            time.sleep(0.05)
        if b"Server listening" in log.read_bytes() and proc.poll() is None:
            break
        stop(proc)
    else:
        pytest.fail(f"sshd did not start:\n{log.read_text(errors='replace')}")
    try:
        yield Server(port, tmp_path / "user")
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """End sshd and the sessions it forked (its process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class Screen(pyte.Screen):
    """pyte's screen plus the alternate screen (private mode 1049, as xterm
    does it), which pyte lacks: switching it on saves the main screen and the
    cursor and clears; switching it off brings them back. Without it, a
    terminal left in the alternate screen would look no different."""

    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines)
        self.main: dict[int, dict] | None = None

    def set_mode(self, *modes: int, **kwargs) -> None:
        if kwargs.get("private") and 1049 in modes and self.main is None:
            self.save_cursor()
            self.main = {y: dict(line) for y, line in self.buffer.items()}
            self.erase_in_display(2)
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs) -> None:
        if kwargs.get("private") and 1049 in modes and self.main is not None:
            self.buffer.clear()
            for y, chars in self.main.items():
                self.buffer[y].update(chars)
            self.main = None
            self.dirty.update(range(self.lines))
            self.restore_cursor()
        super().reset_mode(*modes, **kwargs)

    def private_modes(self) -> set[int]:
        """The private modes now on (pyte keeps them shifted by 5 bits)."""
        return {mode >> 5 for mode in self.mode if mode >= 32}

    def text(self) -> str:
        return "\n".join(self.display)


class Terminal:
    """``ssh -t`` in a pseudo-terminal of COLS × ROWS, its output kept raw
    and fed to a Screen."""

    def __init__(self, command: list[str], before: str) -> None:
        self.screen = Screen(COLS, ROWS)
        self.stream = pyte.Stream(self.screen)
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        # What the user's shell showed before they ran ssh: it must be there
        # again after the app quits.
        self.stream.feed(before)
        self.initial_modes = self.screen.private_modes()
        self.out = bytearray()
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        # ssh passes TERM to the remote pty; COLORTERM it drops (see REMOTE).
        env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8"}
        self.proc = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)

    def read(self, timeout: float) -> bool:
        """Take what has arrived within ``timeout``; False once ssh has closed the pty."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every process on the pty has exited
            return False
        if not chunk:
            return False
        self.out.extend(chunk)
        self.stream.feed(self.decoder.decode(chunk))
        return True

    def wait_for(self, what: str, ok: Callable[[str], bool]) -> None:
        """Read until the screen satisfies ``ok``, at most TIMEOUT seconds."""
        deadline = time.monotonic() + TIMEOUT
        while not ok(self.screen.text()):
            assert time.monotonic() < deadline and self.read(0.1), \
                f"waited for {what}; the screen shows:\n{self.screen.text()}"

    def press(self, key: bytes) -> None:
        os.write(self.master, key)

    def wait_exit(self) -> int:
        """Read everything to the end and return ssh's exit code."""
        deadline = time.monotonic() + TIMEOUT
        while self.read(0.1):
            if self.proc.poll() is not None and not select.select([self.master], [], [], 0)[0]:
                break
            assert time.monotonic() < deadline, f"ssh did not exit; the screen shows:\n{self.screen.text()}"
        return self.proc.wait(timeout=TIMEOUT)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)


def header(text: str) -> str:
    return text.splitlines()[0]


def private_modes(out: bytes) -> tuple[set[int], dict[int, str]]:
    """The private modes the output ever switched on, and each mode's last
    switch (``h`` on, ``l`` off); ``ESC [ ? 1000 ; 1006 h`` switches both."""
    switched_on: set[int] = set()
    last: dict[int, str] = {}
    for match in re.finditer(rb"\x1b\[\?([0-9;]+)([hl])", out):
        for mode in filter(None, match.group(1).split(b";")):
            last[int(mode)] = match.group(2).decode()
            if match.group(2) == b"h":
                switched_on.add(int(mode))
    return switched_on, last


PROMPT = "user@laptop:~$ ssh -t host lstm-tui"


def test_over_ssh_keys_step_and_q_leaves_the_terminal_clean(sshd: Server):
    """The first frame of the bundled trace arrives through sshd, → and ←
    step, ? opens the help, and q ends ssh with 0 and the terminal as it was."""
    term = Terminal(sshd.ssh(), before=PROMPT + "\r\n")
    try:
        # The frame may arrive in pieces: wait for its last parts too.
        term.wait_for("the first frame", lambda s: "next_letter.npz" in header(s) and "t = 0 of 0…2" in header(s)
                      and "x_t 'd'" in s and "f_t forget" in s and "q Quit" in s.splitlines()[-1])
        assert PROMPT not in term.screen.text()  # drawn on the alternate screen
        # COLORTERM=truecolor in the remote command reached Textual: 24-bit colours.
        assert re.search(rb"\x1b\[[0-9;]*[34]8;2;", term.out)

        term.press(b"\x1b[C")  # →
        term.wait_for("t = 1 after →", lambda s: "t = 1 of 0…2" in header(s))
        assert "'e'" in header(term.screen.text())
        term.press(b"\x1b[C")
        term.wait_for("t = 2 after → →", lambda s: "t = 2 of 0…2" in header(s))
        term.press(b"\x1b[D")  # ←
        term.wait_for("t = 1 after ←", lambda s: "t = 1 of 0…2" in header(s))

        term.press(b"?")
        term.wait_for("the help", lambda s: "Step forward" in s and "Step back" in s)
        term.press(b"?")
        term.wait_for("the help closed", lambda s: "Step forward" not in s)
        assert "t = 1 of 0…2" in header(term.screen.text())

        term.press(b"q")
        code = term.wait_exit()
    finally:
        term.close()
    assert code == 0, term.screen.text()

    # The bytes: every mode that would leave the terminal dirty and that the
    # app switched on, it switched off again, last.
    switched_on, last = private_modes(bytes(term.out))
    dirty = switched_on & LEFT_ON_IS_DIRTY
    assert {1049, 1000, 1003, 1006} <= dirty  # what Textual uses: the check below is not empty
    assert {m: last[m] for m in dirty} == {m: "l" for m in dirty}
    assert {m: last[m] for m in ENDS_ON if m in last} == {m: "h" for m in ENDS_ON if m in last}
    # The terminal: the shell's screen is back as it was, no mode left on.
    after = term.screen.text()
    assert after.splitlines()[0] == PROMPT.ljust(COLS)
    assert "lstm-tui ·" not in after and "x_t" not in after
    assert term.screen.private_modes() == term.initial_modes


def tmux(socket_path: Path, *args: str) -> str:
    return subprocess.run(["tmux", "-S", str(socket_path), *args], check=True, capture_output=True,
                          text=True, timeout=TIMEOUT).stdout


def test_ssh_inside_tmux(sshd: Server, tmp_path: Path):
    """ssh run in a tmux pane (a private tmux server, 80×24): the keys reach
    the app, and after q tmux reports the pane left in the main screen with
    no mouse mode on."""
    need("tmux")
    sock = tmp_path / "tmux.sock"
    conf = tmp_path / "tmux.conf"
    conf.write_text("set -g default-terminal tmux-256color\n")
    # The pane runs ssh as a shell would, says how it ended and stays open
    # (read waits for a line that never comes) so tmux can be asked about
    # it: a pane whose process has exited loses its last output and exit
    # status now and then in tmux 3.3.
    command = f"{shlex.join(sshd.ssh())}; echo ssh exited $?; read line"
    tmux(sock, "-f", str(conf), "new-session", "-d", "-x", str(COLS), "-y", str(ROWS), "-s", "ssh", command)
    try:
        def wait_for(what: str, ok: Callable[[str], bool]) -> str:
            deadline = time.monotonic() + TIMEOUT
            while not ok(screen := tmux(sock, "capture-pane", "-p", "-t", "ssh")):
                assert time.monotonic() < deadline, f"waited for {what}; the pane shows:\n{screen}"
                time.sleep(0.1)
            return screen

        wait_for("the first frame", lambda s: "t = 0 of 0…2" in s and "q Quit" in s)
        tmux(sock, "send-keys", "-t", "ssh", "Right")
        wait_for("t = 1 after →", lambda s: "t = 1 of 0…2" in s)
        tmux(sock, "send-keys", "-t", "ssh", "Left")
        wait_for("t = 0 after ←", lambda s: "t = 0 of 0…2" in s)
        tmux(sock, "send-keys", "-t", "ssh", "q")
        screen = wait_for("ssh to exit", lambda s: "ssh exited" in s)
        assert "ssh exited 0" in screen and "t = 0 of 0…2" not in screen
        state = tmux(sock, "display-message", "-p", "-t", "ssh",
                     "#{alternate_on},#{mouse_standard_flag},#{mouse_button_flag},#{mouse_any_flag},"
                     "#{mouse_sgr_flag}").strip()
        # the main screen, no mouse reporting of any kind
        assert state == "0,0,0,0,0"
    finally:
        subprocess.run(["tmux", "-S", str(sock), "kill-server"], capture_output=True, timeout=TIMEOUT)
