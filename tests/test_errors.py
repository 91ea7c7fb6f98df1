"""One error base: every error the program reports is an ``LstmTuiError``
with a one-line message and an exit code, and the command line catches
that one type."""

from __future__ import annotations

import pytest

from lstm_tui import errors


def test_every_reported_error_is_one_type_with_an_exit_code():
    from lstm_tui.cli import Failure
    from lstm_tui.core.trace import TraceError
    from lstm_tui.debug.breakpoints import SearchError
    from lstm_tui.debug.conditions import ConditionError
    from lstm_tui.debug.diff import Incomparable
    from lstm_tui.keras import BridgeError, VerificationError

    for cls, code in [(TraceError, 2), (ConditionError, 2), (Incomparable, 2), (SearchError, 2),
                      (BridgeError, 2), (VerificationError, 1), (Failure, 2)]:
        assert issubclass(cls, errors.LstmTuiError), cls
        assert cls.code == code, cls
    # The ones that were ValueErrors still are, for callers that catch that.
    assert issubclass(ConditionError, ValueError) and issubclass(Incomparable, ValueError)
    assert str(TraceError("a.npz", "no such file")) == "a.npz: no such file"
    assert str(ConditionError("expected ']'", "f[7 < 1", 4)) == "column 4: expected ']'"


def test_an_error_raised_anywhere_ends_the_command_in_one_line(capsys, monkeypatch):
    import lstm_tui.cli as cli

    def deep(*_a, **_k):
        raise errors.LstmTuiError("something the core refused", code=1)
    monkeypatch.setattr(cli, "_load", deep)
    with pytest.raises(SystemExit) as e:
        cli.main(["print", "x.npz"])
    assert e.value.code == 1
    assert capsys.readouterr().err == "lstm-tui: error: something the core refused\n"
