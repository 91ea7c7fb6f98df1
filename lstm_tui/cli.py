"""The ``lstm-tui`` command line.

click only parses arguments and calls the core, the Keras bridge or the app
factory; nothing here computes. Heavy modules (Textual, the bridge and so
TensorFlow) are imported inside the commands that need them, so ``lstm-tui
print`` and ``check`` start fast and never import TensorFlow.

Exit codes: 0 success, 1 a check or comparison found a difference, 2 bad input
(usage, unreadable or invalid file). Errors are one line on stderr,
``lstm-tui: error: <what>: <why>``; ``--debug``, anywhere on the line, shows
the traceback.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from .core.text import escape_controls, one_line
from .core.trace import Trace, open_regular_file, require_regular_file
from .errors import EXIT_BAD_INPUT, EXIT_DIFFERENT, LstmTuiError


class Failure(LstmTuiError):
    """A command's own refusal of its arguments (exit 2 unless said)."""


def _bundled_trace() -> Path:
    return Path(__file__).parent / "traces" / "next_letter.npz"


def _load(path: str | os.PathLike) -> Trace:
    from .core.trace import load

    return load(path)


def _check_model_path(model: str) -> None:
    """Refuse a --model that is missing or not a regular file before
    anything loads (a FIFO would block the model's first read forever)."""
    if not Path(model).exists():
        raise Failure(f"{model}: no such model file")
    require_regular_file(model, "Keras model file")


def _check_output(path: str, force: bool) -> Path:
    out = Path(path)
    if out.exists() and not force:
        raise Failure(f"{out}: exists already (use --force to overwrite)")
    if not out.parent.is_dir():
        raise Failure(f"{out}: no such folder {str(out.parent)!r}")
    return out


def _looks_like_path(word: str) -> bool:
    """Whether a first word that is not a command names a trace file: one
    that exists, or that is spelt like a path (``run.npz``, ``runs/a``), so
    a missing file is reported as such and not as an unknown command."""
    seps = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return word.lower().endswith(".npz") or any(sep in word for sep in seps) or os.path.exists(word)


class _Group(click.Group):
    """``lstm-tui [TRACE] [view options]``: arguments that do not start with a
    command are ``view``'s (as pudb takes a script), so the group dispatches
    them there: ``lstm-tui run.npz``, ``lstm-tui --no-model``. A first word
    that is neither a command nor a path is a mistyped command (``prnt``),
    and is reported as one, with the closest command."""

    GROUP_OPTIONS = ("--debug", "--version", "-h", "--help")

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((k for k, a in enumerate(args) if a not in self.GROUP_OPTIONS), None)
        if first is not None and args[first] not in self.commands:
            word = args[first]
            if not word.startswith("-") and not _looks_like_path(word):
                raise Failure(self._unknown(ctx, word))
            args = args[:first] + ["view"] + args[first:]
        return super().parse_args(ctx, args)

    def _unknown(self, ctx: click.Context, word: str) -> str:
        commands = self.list_commands(ctx)
        close = difflib.get_close_matches(word.lower(), commands, n=1)
        if close:
            return f"{word}: unknown command (did you mean {close[0]!r}?)"
        return f"{word}: unknown command, and no such file (commands: {', '.join(commands)})"


@click.group(cls=_Group, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.version_option(package_name="lstm-tui", prog_name="lstm-tui")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """A terminal step-through debugger for LSTM forward passes.

    With no command, opens the debugger on TRACE (default: the bundled trace
    of the next-letter model reading 'def', one of the three-letter windows
    it was trained on). --debug may go anywhere on the line."""
    ctx.obj = {"debug": debug}
    if ctx.invoked_subcommand is None:
        ctx.invoke(view)


#: The screen's language: --lang, else the locale (``_use_language``).
_LANG = click.option("--lang", type=click.Choice(["en", "pt"]), default=None,
                     help="The screen's language (default: from the locale, LANG / LC_ALL / "
                          "LC_MESSAGES; pt is the seed notebook's Portuguese).")


def _use_language(lang: str | None) -> None:
    """Speak ``lang`` on the screen, or the locale's language without one."""
    from .tui.catalogue import language_from_environment, set_language

    set_language(lang or language_from_environment())


def _place(path: str | os.PathLike, t: Trace, layer: int | None, step: int | None,
           unit: int | None) -> tuple[int, int, int]:
    """``--layer``, ``--step``, ``--unit`` checked against the trace: (layer,
    step, unit), or a ``Failure`` naming the range."""
    k = _layer_of(str(path), t, 0 if layer is None else layer)
    shown = t.layers[k]
    if step is not None and not 0 <= step < shown.steps:
        raise Failure(f"{path}: no step {step} (steps are 0…{shown.steps - 1})")
    if unit is not None and not 0 <= unit < shown.units:
        raise Failure(f"{path}: no unit {unit} on layer {k} (units are 0…{shown.units - 1})")
    return k, step or 0, unit or 0


def _compared(path: str | os.PathLike, loaded: Trace, diff_with: str | None) -> Trace | None:
    """The second run of ``--diff``, checked against the first."""
    if diff_with is None:
        return None
    from .debug.diff import Incomparable, check_comparable

    other = _load(diff_with)
    try:
        check_comparable(loaded, other)
    except Incomparable as e:
        raise Failure(f"{path} and {diff_with} cannot be compared: {e}") from None
    return other


@cli.command()
@click.argument("trace", required=False, type=click.Path(dir_okay=False))
@click.option("--model", "model", type=click.Path(dir_okay=False), help="Keras model for the side panel.")
@click.option("--no-model", is_flag=True, help="Do not load a model in the side panel.")
@click.option("--diff", "diff_with", type=click.Path(dir_okay=False),
              help="A second run of the same network: step both, show B - A (d switches A, B, B - A).")
@click.option("--step", "step", type=int, help="Open at this step.")
@click.option("--unit", "unit", type=int, help="Open with this unit selected.")
@click.option("--layer", "layer", type=int, help="Open on this layer (0 is nearest the input).")
@click.option("--break", "breaks", multiple=True, metavar="COND",
              help="A breakpoint condition (as b takes it); repeat for more. c goes to the next hit.")
@_LANG
def view(trace: str | None, model: str | None, no_model: bool, diff_with: str | None, step: int | None,
         unit: int | None, layer: int | None, breaks: tuple[str, ...], lang: str | None) -> None:
    """Open the debugger on TRACE."""
    path = Path(trace) if trace else _bundled_trace()
    loaded = _load(path)  # a bad trace fails here, before any screen is drawn
    other = _compared(path, loaded, diff_with)
    k, t, u = _place(path, loaded, layer, step, unit)
    conditions = []
    if breaks:
        from .debug.conditions import Condition, ConditionError

        for text in breaks:
            try:
                condition = Condition.parse(text)
                condition.check(loaded, k)
            except ConditionError as e:
                raise Failure(f"--break {text!r}: {e}") from None
            conditions.append(condition)
    if model is not None:
        _check_model_path(model)
    _use_language(lang)
    from .tui.app import make_app

    app = make_app(loaded, model_path=model, load_model=not no_model, diff=other, breakpoints=conditions,
                   layer=k, step=t, unit=u)
    app.run()
    # Textual prints its own report of a crash; the exit code must say so too
    # (a script or a shell's `&&` must not take a crash for success).
    if app.return_code:
        sys.exit(app.return_code)


@cli.command()
@_LANG
@click.option("--stage", type=click.IntRange(1, 7), default=1, show_default=True,
              help="The stage to start at (1 forget gate … 7 pass the state on).")
@click.option("--no-model", is_flag=True, help="Do not load a model in the side panel.")
def lesson(lang: str | None, stage: int, no_model: bool) -> None:
    """A guided walk through one step of the seed notebook's LSTM, in the
    notebook's order: forget, input, candidate, memory update, output,
    block output, pass the state on. Enter goes on, Backspace goes back;
    the debugger's keys still work."""
    from .core.demo import seed_trace

    _use_language(lang)
    from .tui.app import make_app
    from .tui.lesson import LESSON_STEP

    app = make_app(seed_trace(), load_model=not no_model, step=LESSON_STEP, lesson_stage=stage)
    app.run()
    if app.return_code:
        sys.exit(app.return_code)


@cli.command()
@click.argument("trace", required=False, type=click.Path(dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on. Anything but loopback lets others on the network use the "
                   "debugger (and read the files it can).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--model", "model", type=click.Path(dir_okay=False), help="Keras model for the side panel.")
@click.option("--no-model", is_flag=True, help="Do not load a model in the side panel.")
@click.option("--diff", "diff_with", type=click.Path(dir_okay=False), help="A second run to compare with (B - A).")
@click.option("--step", "step", type=int, help="Open at this step.")
@click.option("--unit", "unit", type=int, help="Open with this unit selected.")
@click.option("--layer", "layer", type=int, help="Open on this layer (0 is nearest the input).")
@click.option("--break", "breaks", multiple=True, metavar="COND", help="A breakpoint condition; repeat for more.")
@_LANG
def serve(trace: str | None, host: str, port: int, model: str | None, no_model: bool, diff_with: str | None,
          step: int | None, unit: int | None, layer: int | None, breaks: tuple[str, ...],
          lang: str | None) -> None:
    """The debugger in a browser (needs the web extra: pip install 'lstm-tui[web]').

    Each page that connects gets its own debugger on TRACE, run on this
    machine: files it opens are this machine's, screenshots (ctrl+s) are
    sent to the browser. Listens on 127.0.0.1 unless --host says otherwise.
    Ctrl+C stops."""
    from . import web

    web.require_textual_serve()  # before anything is loaded
    path = Path(trace) if trace else _bundled_trace()
    loaded = _load(path)  # a bad trace fails here, not in every browser session
    _compared(path, loaded, diff_with)
    k, _, _ = _place(path, loaded, layer, step, unit)
    if breaks:
        from .debug.conditions import Condition, ConditionError

        for text in breaks:
            try:
                Condition.parse(text).check(loaded, k)
            except ConditionError as e:
                raise Failure(f"--break {text!r}: {e}") from None
    if model is not None:
        _check_model_path(model)
    from .tui.catalogue import language_from_environment

    # Absolute paths: a session's process must not depend on where it starts.
    args = [str(path.absolute()), "--lang", lang or language_from_environment()]
    for option, file in (("--model", model), ("--diff", diff_with)):
        if file is not None:
            args += [option, str(Path(file).absolute())]
    for option, number in (("--step", step), ("--unit", unit), ("--layer", layer)):
        if number is not None:
            args += [option, str(number)]
    args += ["--no-model"] if no_model else []
    # ``--break=`` keeps a condition that starts with "-" from reading as an option.
    args += [f"--break={text}" for text in breaks]
    web.serve(web.view_command(args), host, port, title=f"lstm-tui · {path.name}",
              say=lambda line: click.echo(line), warn=lambda line: click.echo(f"lstm-tui: warning: {line}", err=True))


def _size(text: str) -> tuple[int, int]:
    """``120x40`` (or ``120×40``) as (columns, rows), at least what the panes need."""
    from .tui.too_small import MIN_HEIGHT, MIN_WIDTH

    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise Failure(f"--size {text!r}: expected COLUMNSxROWS, e.g. 120x40")
    width, height = (int(p) for p in parts)
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise Failure(f"--size {text}: the panes need at least {MIN_WIDTH}x{MIN_HEIGHT}")
    if width > 1000 or height > 500:
        raise Failure(f"--size {text}: at most 1000x500")
    return width, height


@cli.command()
@click.argument("trace", required=False, type=click.Path(dir_okay=False))
@click.option("--step", "step", type=int, help="The step to show (default 0).")
@click.option("--unit", "unit", type=int, help="The unit to select (default 0).")
@click.option("--layer", "layer", type=int, help="The layer to show (default 0).")
@click.option("--size", "size", default="120x40", show_default=True, help="Columns x rows of the screen.")
@click.option("--diff", "diff_with", type=click.Path(dir_okay=False), help="Compare with a second run (B - A).")
@click.option("--lesson-stage", type=click.IntRange(1, 7), default=None,
              help="The lesson's screen at this stage (1…7); TRACE defaults to the lesson's example.")
@_LANG
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The picture to write: .svg, or .png (needs rsvg-convert or cairosvg).")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def screenshot(trace: str | None, step: int | None, unit: int | None, layer: int | None, size: str,
               diff_with: str | None, lesson_stage: int | None, lang: str | None, output: str,
               force: bool) -> None:
    """Write a picture of the screen at a place of TRACE, drawn without a
    terminal (for slides and handouts): SVG, or PNG when a converter is at
    hand. The model panel is off."""
    out = _check_output(output, force)
    kind = out.suffix.lower()
    if kind not in (".svg", ".png"):
        raise Failure(f"{out}: the picture must end in .svg or .png")
    columns_rows = _size(size)
    if trace is None and lesson_stage is None:
        raise Failure("screenshot: give TRACE (or --lesson-stage for the lesson's example)")
    if trace is None:
        from .core.demo import seed_trace
        from .tui.lesson import LESSON_STEP

        path: str = "the lesson's example"
        loaded = seed_trace()
        step = LESSON_STEP if step is None else step
    else:
        path = trace
        loaded = _load(trace)
    other = _compared(path, loaded, diff_with)
    k, t, u = _place(path, loaded, layer, step, unit)
    from .tui import screenshot as shots

    if kind == ".png":
        shots.require_png_converter()  # before the screen is drawn, and nothing written
    _use_language(lang)
    svg = shots.render_svg(loaded, size=columns_rows, diff=other, lesson_stage=lesson_stage, layer=k, step=t,
                           unit=u)
    data = shots.to_png(svg) if kind == ".png" else svg.encode("utf-8")
    from .core.trace import write_atomically

    write_atomically(out, lambda fp: fp.write(data), overwrite=force, what="the screenshot")
    click.echo(f"wrote {out}: {columns_rows[0]}x{columns_rows[1]}, step {t}, unit {u}, layer {k}", err=True)


@cli.command()
@click.option("--demo", is_flag=True, help="The seed notebook's hand-made LSTM.")
@click.option("--model", "model", type=click.Path(dir_okay=False), help="A Keras model file (.keras).")
@click.option("--text", help="Text to feed the model, one-hot over --vocab.")
@click.option("--vocab", help="The characters of the one-hot encoding (default a–z).")
@click.option("--input", "input_", type=click.Path(dir_okay=False),
              help="A .npy of inputs: (T, D) floats or (T,) integer ids.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Trace file to write.")
@click.option("--no-verify", is_flag=True, help="Keep the recording even if it disagrees with Keras.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--quiet", is_flag=True, help="No progress bar (there is none anyway when stderr is not a terminal).")
@click.option("--json", "as_json", is_flag=True,
              help="Print what was verified as one JSON object instead of one line a layer.")
def record(demo: bool, model: str | None, text: str | None, vocab: str | None, input_: str | None,
           output: str, no_verify: bool, force: bool, quiet: bool, as_json: bool) -> None:
    """Record a forward pass as a trace file.

    A Keras recording is written to OUTPUT as it is computed, a chunk of steps
    at a time (memory stays near the size of the trace, however long), with a
    progress bar on stderr. At the end, one line a layer on stdout says how it
    was verified against Keras and the largest difference (--json: the same as
    JSON)."""
    out = _check_output(output, force)
    if demo:
        if model or text or input_:
            raise Failure("record: --demo takes no --model, --text or --input")
        from .core.demo import seed_trace

        trace = seed_trace()
        # Without --force the file is created exclusively: of two recordings
        # racing to one name, one wins and the other is told it exists.
        trace.save(out, overwrite=force)
    else:
        if not model:
            raise Failure("record: give --demo, or --model with --text or --input")
        if (text is None) == (input_ is None):
            raise Failure("record: give exactly one of --text and --input")
        from . import keras as kb
        from .core.progress import ProgressBar

        # A recording is verified against Keras: the light install (no
        # TensorFlow) is told how to add it before any file is read.
        kb.require_tensorflow("record --model")

        x = _read_npy(input_) if input_ is not None else None
        # The bar draws with \r and an erase: it writes to the terminal
        # itself, not through the stream that escapes control characters
        # (it escapes the layer names it shows).
        stderr = sys.stderr
        raw = stderr._stream if isinstance(stderr, _EscapingStream) else stderr
        bar = ProgressBar(raw, enabled=False if quiet else None,
                          width=shutil.get_terminal_size((80, 24)).columns)
        with bar:
            if text is not None:
                trace = kb.record_text(model, text, vocab=vocab, verify=not no_verify, out=out,
                                       overwrite=force, progress=bar)
            else:
                trace = kb.record(model, x, verify=not no_verify, out=out, overwrite=force, progress=bar)
    from .core.verification import verification, verification_lines

    report = verification(trace)
    if as_json:
        click.echo(json.dumps({"output": str(out), "steps": trace.steps, **report}, ensure_ascii=False))
    else:
        for line in verification_lines(report):
            click.echo(line)
    click.echo(f"wrote {out}: {len(trace.layers)} layer(s), {trace.steps} steps", err=True)


#: How every .npy file starts (``numpy.lib.format``), and every zip (.npz).
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def _read_npy(path: str) -> np.ndarray:
    """The one array of a .npy file. The file is identified by its first
    bytes before NumPy reads it: NumPy takes anything else for a pickle and
    answers with advice about ``allow_pickle``, which is no help here. Its
    header is checked against the file's size before NumPy allocates what
    the header claims."""
    # A FIFO would block the read forever; a device may never end.
    st = require_regular_file(path, "NumPy .npy file")
    header = None
    try:
        with open_regular_file(path, "NumPy .npy file") as f:
            head = f.read(len(_NPY_MAGIC))
            if head == _NPY_MAGIC:
                f.seek(0)
                version = np.lib.format.read_magic(f)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                header = read_header(f, max_header_size=1 << 16), f.tell()
    except OSError as e:
        raise Failure(f"{path}: cannot read it ({e.strerror or _one_line(str(e))})") from None
    except ValueError as e:
        raise Failure(f"{path}: not a readable .npy array ({_one_line(str(e))})") from None
    if head[: len(_ZIP_MAGIC)] == _ZIP_MAGIC:
        raise Failure(f"{path}: expected one .npy array, found an archive (.npz); save one array "
                      "with numpy.save")
    if head != _NPY_MAGIC or header is None:
        raise Failure(f"{path}: not a .npy file (it does not start with NumPy's .npy header; "
                      "save the array with numpy.save)")
    (shape, _, dtype), offset = header
    if dtype.hasobject:
        raise Failure(f"{path}: holds Python objects, not numbers (lstm-tui never unpickles)")
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need > st.st_size - offset:
        raise Failure(f"{path}: its header claims a {dtype} array of shape {tuple(shape)} "
                      f"({need:,} bytes), but the file holds {st.st_size - offset:,}")
    try:
        x = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise Failure(f"{path}: not a readable .npy array ({_one_line(str(e))})") from None
    except (OSError, EOFError) as e:
        raise Failure(f"{path}: not a readable .npy array ({_one_line(str(e))})") from None
    if x.dtype.kind not in "biuf":
        raise Failure(f"{path}: holds {x.dtype} values, not numbers (features or integer ids)")
    return x


@cli.command("print")
@click.argument("trace", type=click.Path(dir_okay=False))
@click.option("--layer", "layer", type=int, help="Only this layer (0 is nearest the input).")
@click.option("--step", "step", type=int, help="Only this step.")
@click.option("--lang", type=click.Choice(["en", "pt"]), default="en", show_default=True,
              help="Labels in English or in the seed notebook's Portuguese.")
def print_(trace: str, layer: int | None, step: int | None, lang: str) -> None:
    """Print the steps as text, as the seed notebook prints them."""
    from .core.demo import print_steps

    t = _load(trace)
    if layer is not None and not 0 <= layer < len(t.layers):
        raise Failure(f"{trace}: no layer {layer} (the trace has {len(t.layers)})")
    if step is not None and not 0 <= step < t.steps:
        raise Failure(f"{trace}: no step {step} (steps are 0…{t.steps - 1})")
    print_steps(t, out=print,
                layers=None if layer is None else [layer],
                steps=None if step is None else [step], lang=lang)


@cli.command()
@click.argument("trace", type=click.Path(dir_okay=False))
@click.option("--tol", type=click.FloatRange(min=0), default=None,
              help="A fixed largest difference accepted, instead of each value's rounding bound "
                   "(float rounding scaled to the terms that produced it).")
def check(trace: str, tol: float | None) -> None:
    """Recompute every step from the stored weights; exit 1 on a mismatch."""
    from .core.trace import verify_checksums
    from .debug.check import check_trace

    t = _load(trace)
    bad = verify_checksums(trace)
    if bad is not None:
        raise Failure(f"{trace}: member {bad!r} fails its CRC-32 checksum (the file is damaged)")
    report = check_trace(t, tol=tol)
    if report.unchecked:
        raise Failure(f"{trace}: {report.unchecked}")
    for line in report.lines():
        click.echo(line)
    if report.mismatch is not None:
        sys.exit(EXIT_DIFFERENT)


def _layer_of(trace: str, t: Trace, layer: int) -> int:
    if not 0 <= layer < len(t.layers):
        raise Failure(f"{trace}: no layer {layer} (the trace has {len(t.layers)})")
    return layer


def _number(value: float, integer: bool) -> str:
    if integer and np.isfinite(value):
        return str(int(value))
    return f"{value:.4f}"


def _entry(value: float, vocab: list[str]) -> str:
    """An index into the readout's vocabulary as the entry it names
    (``'d'``), or as a number where it names none."""
    if np.isfinite(value) and value == int(value) and 0 <= value < len(vocab):
        return repr(vocab[int(value)])
    return _number(value, True)


@cli.command()
@click.argument("trace", type=click.Path(dir_okay=False))
@click.argument("condition")
@click.option("--layer", "layer", type=int, default=0, show_default=True,
              help="The layer whose vectors the condition reads (0 is nearest the input).")
def find(trace: str, condition: str, layer: int) -> None:
    """The steps where CONDITION holds, one a line; exit 1 when none.

    CONDITION is an expression over the vectors at step t, e.g. 'f[7] < 0.05',
    'max(abs(c)) > 5', "token == 'q'", 'nan' (see the README). A condition
    that starts with '-' goes after '--': find T -- '-h[0] > 0.5'."""
    from .debug.conditions import Condition, ConditionError

    try:
        cond = Condition.parse(condition)
    except ConditionError as e:
        raise Failure(f"condition: {e}") from None
    t = _load(trace)
    k = _layer_of(trace, t, layer)
    try:
        hits = cond.evaluate(t, k)
        values = cond.values(t, k)
    except ConditionError as e:
        raise Failure(f"condition: {e}") from None
    steps = np.flatnonzero(hits)
    integer = {term: cond.is_integer(term) for term in values}
    # argmax(p) and the like read as letters when the trace has a vocabulary.
    vocab = None if t.vocab is None else [str(v) for v in np.asarray(t.vocab)]
    letters = {term for term in values if vocab is not None and cond.reads_vocabulary(term)}
    lay = t.layers[k]
    for step in steps:
        parts = [f"t={step}"]
        token = t.token(lay.position(int(step)))
        if token is not None:
            parts.append(f"token {token!r}")
        for term, v in values.items():
            value = float(v[step])
            parts.append(f"{term}={_entry(value, vocab)}" if vocab is not None and term in letters
                         else f"{term}={_number(value, integer[term])}")
        click.echo("  ".join(parts))
    if len(steps):
        click.echo(f"{len(steps)} of {t.steps} steps match", err=True)
    else:
        click.echo(f"no step of {t.steps} matches", err=True)
        sys.exit(EXIT_DIFFERENT)


@cli.command()
@click.argument("trace", type=click.Path(dir_okay=False))
@click.option("--saturation", type=click.FloatRange(0, 0.5, min_open=True), default=0.01, show_default=True,
              help="A gate below this, or above 1 minus this, is saturated.")
@click.option("--most", type=click.FloatRange(0, 1, min_open=True), default=0.9, show_default=True,
              help="Report a gate saturated on at least this fraction of steps.")
@click.option("--dead-tol", type=click.FloatRange(0, min_open=True), default=1e-3, show_default=True,
              help="A unit whose |h| stays below this at every step is dead.")
@click.option("--explode", type=click.FloatRange(1, min_open=True), default=100.0, show_default=True,
              help="Warn where |c| exceeds this many times the layer's typical |c| "
                   "(the median over steps of the largest |c|, at least 1).")
@click.option("--outlier", type=click.FloatRange(0, min_open=True), default=20.0, show_default=True,
              help="Warn where an input lies more than this many typical spreads from its feature's "
                   "median (spread: 1.4826 × the median absolute deviation, at least 1).")
@click.option("--all", "all_", is_flag=True,
              help="List every finding; by default a rule that finds more than 10 units (or inputs) of "
                   "a layer lists the 10 most severe and sums up the rest in one line.")
def health(trace: str, saturation: float, most: float, dead_tol: float, explode: float, outlier: float,
           all_: bool) -> None:
    """NaN/Inf, an exploding cell state, input outliers, saturated gates, dead
    units and the largest |c|, per layer; exit 1 when a NaN or Inf is found
    (warnings are heuristics and leave the exit code at 0)."""
    from .debug.health import scan

    t = _load(trace)
    findings = scan(t, saturation=saturation, most=most, dead_tol=dead_tol, explode=explode, outlier=outlier,
                    limit=None if all_ else 10)
    for f in findings:
        click.echo(f"{f.severity:<8} {f.message}")
    if any(f.kind == "nan" for f in findings):
        sys.exit(EXIT_DIFFERENT)


@cli.command("diff")
@click.argument("a", type=click.Path(dir_okay=False))
@click.argument("b", type=click.Path(dir_okay=False))
@click.option("--tol", type=click.FloatRange(min=0), default=None,
              help="A fixed largest difference counted as equal, instead of each value's rounding "
                   "bound (float rounding scaled to the terms, growing along the sequence).")
def diff_(a: str, b: str, tol: float | None) -> None:
    """Compare two traces of the same network: the first difference in the
    order the model computes, each layer's largest difference and last step
    beyond the tolerance, differing weights and initial states; exit 1 when
    they differ."""
    from .debug.diff import Incomparable, diff

    ta, tb = _load(a), _load(b)
    try:
        report = diff(ta, tb, tol=tol)
    except Incomparable as e:
        raise Failure(f"{a} and {b} cannot be compared: {e}") from None
    for line in report.lines():
        click.echo(line)
    if not report.equal:
        sys.exit(EXIT_DIFFERENT)


@cli.command()
@click.argument("trace", type=click.Path(dir_okay=False))
@click.option("--at", "at", type=int, required=True, help="The step edited (processing order, as on the screen).")
@click.option("--layer", "layer", type=int, default=0, show_default=True,
              help="The layer edited (0 is nearest the input).")
@click.option("--set", "sets", multiple=True, metavar="EDIT",
              help="NAME[I]=V at the step: x f i c_hat c o h, or a weight W_f[3,5] U_o[0,1] b_i[2] (gates f i c "
                   "o) from the step on; repeat for more.")
@click.option("--hold", "holds", multiple=True, metavar="EDIT",
              help="NAME[I]=V at every step from --at to the end (an ablation); repeat for more.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Trace file to write.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--drop-readout", is_flag=True,
              help="Leave the readout out of the edited run when the trace stores no head (readout/W) to "
                   "recompute it.")
@click.option("--tol", type=click.FloatRange(min=0), default=None,
              help="A fixed largest difference counted as equal in the summary, instead of the rounding bound.")
@click.option("--view", "open_view", is_flag=True, help="Open the diff view (A = TRACE, B = OUTPUT) afterwards.")
def edit(trace: str, at: int, layer: int, sets: tuple[str, ...], holds: tuple[str, ...], output: str,
         force: bool, drop_readout: bool, tol: float | None, open_view: bool) -> None:
    """What if: replace a value at step --at and re-run everything computed
    from it, from the stored weights (no TensorFlow); write the edited run to
    OUTPUT and say how long the change lived, per layer.

    c[7]=0 recomputes h at the step; a gate (f i c_hat o) c and h; x the whole
    step; h what the next step reads. Later steps and later layers are re-run,
    and the readout when the trace stores its head."""
    from .debug.edit import EditError, bind, parse_edits, reach
    from .debug.edit import edit as edit_trace

    if not sets and not holds:
        raise Failure("edit: give at least one --set or --hold, e.g. --set 'c[3]=0'")
    out = _check_output(output, force)
    if out.exists() and os.path.exists(trace) and os.path.samefile(out, trace):
        raise Failure(f"{out}: is the trace being edited; write the edited run to another file")
    loaded = _load(trace)
    options: dict[str, str] = {}
    items = []
    for flag, texts, kind in (("--set", sets, "set"), ("--hold", holds, "hold")):
        for text in texts:
            options.setdefault(text, flag)
            try:
                items.extend(parse_edits(text, kind))
            except EditError as e:
                raise Failure(f"{flag} {text!r}: {e}") from None
    try:
        plan = bind(loaded, at, layer, items, drop_readout)
        edited = edit_trace(loaded, plan, origin=trace)
    except EditError as e:
        if e.source is not None:
            raise Failure(f"{options.get(e.source, '--set')} {e.source!r}: {e}") from None
        raise Failure(f"{trace}: {e}") from None
    edited.save(out, overwrite=force)
    lay = loaded.layers[plan.layer]
    click.echo(f"edit: {plan.describe()} ({lay.name}), from {trace}")
    lived = reach(loaded, edited, tol=tol)
    rule = "the rounding bound" if tol is None else f"tolerance {tol:g}"
    for k, span in lived.layers.items():
        name = loaded.layers[k].name
        if span is None:
            click.echo(f"layer {k} ({name}): unchanged (within {rule})")
            continue
        first, last = span
        end = loaded.layers[k].steps - 1
        until = f"t = {last}, the last step" if last == end else f"t = {last}; gone from t = {last + 1}"
        click.echo(f"layer {k} ({name}): differs beyond {rule} from t = {first} to {until}")
    if loaded.probs is not None:
        if edited.probs is None:
            click.echo("readout: left out (--drop-readout: the trace stores no readout/W)")
        elif lived.readout:
            click.echo(f"readout: recomputed; p differs by up to {lived.readout_max_abs:.3g}")
        else:
            click.echo("readout: unchanged")
    click.echo(f"wrote {out}: {len(edited.layers)} layer(s), {edited.steps} steps", err=True)
    click.echo(f"compare: lstm-tui view {shlex.quote(trace)} --diff {shlex.quote(str(out))}")
    if open_view:
        _use_language(None)
        from .tui.app import make_app

        unit = next((a.index[0] for a in plan.assignments if a.name != "x" and not a.weight), 0)
        app = make_app(loaded, load_model=False, diff=_load(out), layer=plan.layer, step=plan.at, unit=unit)
        app.run()
        if app.return_code:
            sys.exit(app.return_code)


@cli.command()
@click.argument("text")
@click.option("--model", "model", type=click.Path(dir_okay=False), help="Keras model (default: bundled).")
@click.option("--top", "top", type=click.IntRange(min=1), default=5, show_default=True)
def predict(text: str, model: str | None, top: int) -> None:
    """Next-letter query: one "letter probability" a line, best first.
    Capitals are read as small letters ("DEF" is "def")."""
    from .core.codec import ALPHABET

    # Checked before the model loads (a model the NumPy reader does not
    # read goes through Keras: TensorFlow, seconds).
    if not text:
        raise Failure("text: empty; type at least one letter")
    letters = set(ALPHABET)
    for k, ch in enumerate(text):
        if ch.lower() not in letters:
            raise Failure(f"text {text!r}: {ch!r} (position {k + 1}) is not a letter a–z")
    if model is not None:
        _check_model_path(model)
    text = text.lower()
    from . import keras as kb

    predictor = kb.Predictor.load(model)
    best = predictor.top(text, top)
    for letter, p in best:
        click.echo(f"{letter} {p:.4f}")


@cli.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Where to write the model (default: next_letter.keras here).")
@click.option("--epochs", type=click.IntRange(min=1), default=300, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def train(output: str | None, epochs: int, seed: int, force: bool) -> None:
    """Retrain the seed notebook's next-letter model."""
    from . import keras as kb

    kb.require_tensorflow("train")
    out = _check_output(output or "next_letter.keras", force)
    if out.suffix != ".keras":  # before the progress bar starts drawing
        raise Failure(f"{out}: a model file must end in .keras")

    with click.progressbar(length=epochs, label="training", file=sys.stderr,
                           show_eta=True, item_show_func=lambda s: s) as bar:
        def progress(epoch: int, total: int, logs: dict[str, Any]) -> None:
            loss, acc = logs.get("loss"), logs.get("accuracy")
            bar.update(1, f"loss {loss:.4f} acc {acc:.2f}" if loss is not None and acc is not None else None)

        result = kb.train(out, epochs=epochs, seed=seed, progress=progress, overwrite=force)
    click.echo(f"wrote {out}: accuracy {result['accuracy']:.3f}, loss {result['loss']:.4f} "
               f"after {result['epochs']} epochs", err=True)


def _split_debug(args: list[str]) -> tuple[bool, list[str]]:
    """``--debug`` wherever it is on the line (``lstm-tui print --debug T``
    as well as ``lstm-tui --debug print T``), and the other arguments. After
    ``--`` every word is an argument, ``--debug`` too."""
    rest: list[str] = []
    debug = False
    for k, a in enumerate(args):
        if a == "--":
            rest.extend(args[k:])
            break
        if a == "--debug":
            debug = True
        else:
            rest.append(a)
    return debug, rest


def _usage_line(e: click.ClickException) -> str:
    """A click usage error as ``<command>: <why>``, on one line."""
    why = _one_line(e.format_message()).rstrip(".")
    why = why[:1].lower() + why[1:]
    ctx = getattr(e, "ctx", None)
    if ctx is not None and ctx.parent is not None and ctx.info_name:
        return f"{ctx.info_name}: {why}"
    return why


class _ReaderGone(Exception):
    """stdout's reader went away (``lstm-tui print T | head``). Not an
    OSError, so that click does not turn it into exit 1 on its way up."""


class _EscapingStream:
    """A text stream that writes control characters as visible escapes
    (``text.escape_controls``; newlines and tabs pass) and what its encoding
    cannot hold as backslash escapes: everything a command prints (names
    and tokens from a trace, paths in error lines) reaches the terminal as
    text, never as an escape sequence, and a latin-1 stdout never turns "ĉ"
    into a traceback. It hides the binary buffer underneath, so click
    cannot write around it."""

    def __init__(self, stream: Any):
        self._stream = stream
        self._encoding = getattr(stream, "encoding", None) or "utf-8"

    def write(self, s: str) -> int:
        s = escape_controls(s, keep="\n\t")
        try:
            return self._stream.write(s)
        except UnicodeEncodeError:
            return self._stream.write(s.encode(self._encoding, "backslashreplace").decode(self._encoding))
        except BrokenPipeError:
            raise _ReaderGone from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise _ReaderGone from None

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":
            raise AttributeError(name)
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; map failures to one line and an exit code."""
    debug, args = _split_debug(sys.argv[1:] if argv is None else list(argv))
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _EscapingStream(sys.stdout), _EscapingStream(sys.stderr)
    try:
        _main(args, debug)
    finally:
        sys.stdout, sys.stderr = streams


def _main(args: list[str], debug: bool) -> None:
    try:
        cli.main(args=["--debug", *args] if debug else args, prog_name="lstm-tui",
                 standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("lstm-tui: aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        if debug:
            raise
        click.echo(f"lstm-tui: error: {_usage_line(e)}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except LstmTuiError as e:
        # Every error the program means to report is one (errors.py).
        if debug:
            raise
        click.echo(f"lstm-tui: error: {_one_line(str(e))}", err=True)
        sys.exit(e.code)
    except KeyboardInterrupt:
        sys.exit(130)
    except (_ReaderGone, BrokenPipeError):
        # The reader went away (``lstm-tui print T | head``): nothing more to
        # say, and nothing to say it to. Point stdout at /dev/null so the
        # interpreter's final flush does not complain either.
        with contextlib.suppress(OSError):
            if sys.__stdout__ is not None:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.__stdout__.fileno())
        sys.exit(0)
    except OSError as e:
        # A file that could not be written or read past the checks above
        # (a full disk, a name too long, a read-only folder).
        if debug:
            raise
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        click.echo(f"lstm-tui: error: {where}{e.strerror or _one_line(str(e))}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except (MemoryError, RecursionError, ValueError) as e:
        # Input that slipped past every check: still one line, not a
        # traceback; --debug shows where.
        if debug:
            raise
        click.echo(f"lstm-tui: error: {type(e).__name__}: {_one_line(str(e)) or 'no detail'} "
                   "(run with --debug for the traceback)", err=True)
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(0)


_one_line = one_line
