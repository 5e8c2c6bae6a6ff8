"""Where the command line writes: one rich Console, as wide as the terminal, or wide enough when piped.

Piped into a file or another program, rich would lay tables out for 80 columns and cut long ids
short with an ellipsis; a clerk who saves the output needs them whole. So when stdout is not a
terminal (and COLUMNS does not say otherwise) the console is PIPED_WIDTH wide: tables still take
only the width they need.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

PIPED_WIDTH = 240


def stdout_console() -> Console:
    """The console for a command's output on stdout."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return Console()
    return Console(width=PIPED_WIDTH)
