"""``python -m lstm_tui``: the same as the ``lstm-tui`` command."""

from .cli import main

if __name__ == "__main__":
    main()
