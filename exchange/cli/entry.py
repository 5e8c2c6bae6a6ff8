"""The `coalition` console script: the CLI, or a clear message if the hub extra is not installed.

`pip install coalition-exchange` (the SDK alone) installs the script too; without the hub's
dependencies it says how to get them instead of failing with a traceback.

Whatever a person types wrong, the answer is one line on stderr and a non-zero exit: a usage
mistake (an unknown option, a value that is not a number, a file that is not there) exits 2 as
`coalition settlement pay: Invalid value for 'AMOUNT_MINOR': 'ten' is not a valid integer.`;
a failure no command foresaw exits 1 with its one-line reason (set COALITION_DEBUG=1 for the
traceback, for a bug report).
"""

from __future__ import annotations

import os
import sys
import traceback

USAGE_EXIT = 2
UNFORESEEN_EXIT = 1


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
    raise SystemExit(run(app, sys.argv[1:]))


def run(app: object, args: list[str]) -> int:
    """Run the typer app on args and return the exit status, turning every error into one line."""
    from exchange.store.database import one_line

    try:
        status = app(args=args, prog_name="coalition", standalone_mode=False)  # type: ignore[operator]
    except Exception as error:  # the last place an error can become one line
        if _is_usage_error(error):
            return _usage_error(error)
        if type(error).__name__ == "Abort":  # Ctrl-D at a prompt, or a confirmation declined
            sys.stderr.write("coalition: aborted\n")
            return UNFORESEEN_EXIT
        if os.environ.get("COALITION_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(f"coalition: {one_line(error, max_chars=None)}\n")
        return UNFORESEEN_EXIT
    return status if isinstance(status, int) else 0


def _is_usage_error(error: Exception) -> bool:
    """Click's usage errors (typer raises them as they are), recognised without importing click."""
    return hasattr(error, "format_message") and hasattr(error, "exit_code")


def _usage_error(error: Exception) -> int:
    if type(error).__name__ == "NoArgsIsHelpError":  # a group run without a command: its help
        error.show()  # type: ignore[attr-defined]
        return USAGE_EXIT
    context = getattr(error, "ctx", None)
    where = context.command_path if context is not None else "coalition"
    message = " ".join(error.format_message().split())  # type: ignore[attr-defined]
    sys.stderr.write(f"{where}: {message} (see {where} --help)\n")
    return int(error.exit_code)  # type: ignore[attr-defined]
