"""The `coalition` console script: the CLI, or a clear message if the hub extra is not installed.

`pip install coalition-exchange` (the SDK alone) installs the script too; without the hub's
dependencies it says how to get them instead of failing with a traceback.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run the CLI."""
    if sys.argv[1:2] != ["serve"]:
        # gRPC core writes its own lines to stderr (for example about its poller at exit, under load),
        # and reads GRPC_VERBOSITY once, when first imported: a command other than serve (whose log
        # takes those lines in, exchange.logs) says what went wrong in one line of its own instead.
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    try:
        from exchange.cli.main import app
    except ImportError as missing:
        sys.stderr.write(
            f"coalition: the hub's command line needs the [hub] extra ({missing.name} is missing):\n"
            "    pip install 'coalition-exchange[hub]'\n"
            "Brands integrating with the hub need only the SDK: import partner_sdk.\n"
        )
        raise SystemExit(1) from None
    app()
