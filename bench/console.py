"""Where the benchmark's progress lines and tables go: a terminal's width, or 150 columns into a file."""

from __future__ import annotations

import sys

from rich.console import Console

console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
