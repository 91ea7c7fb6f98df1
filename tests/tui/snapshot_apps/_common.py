"""Shared by the snapshot apps: makes ``tui_helpers`` importable when the
snapshot plugin runs an app file on its own (it adds only this folder)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
