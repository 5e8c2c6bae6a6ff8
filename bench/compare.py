"""Before and after, interleaved: bench/run.py on another commit and on this checkout, in turns.

Usage: .venv/bin/python bench/compare.py BEFORE [--pairs N] [--keep DIR] [--before-options "..."]
       [--after-options "..."] [-- run.py options]

This machine's speed drifts by a third within an hour (a shared virtual machine), so a
before/after figure is only worth something when both sides ran under the same drift. This
checks BEFORE (any git revision) out into a temporary worktree, then runs `bench/run.py` N times
(3) on each side in turns (before, after, before, after, ...), the before side from its worktree
with its own code first on PYTHONPATH, both with this checkout's venv. It prints, per figure,
both medians and each pair's after ÷ before, with the gRPC floor's server CPU per call as the
witness of the machine's speed in each run (equal code, so a difference there is the machine).
The run outputs are kept in --keep DIR (a temporary directory otherwise, printed). The worktree
is removed at the end.

--before-options and --after-options add run.py options to one side only, to compare two ways of
running the same code under the same drift: `compare.py HEAD --after-options="--no-group-commit"` (with `=`:
the value starts with dashes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
FIGURES = (
    ("conversions_per_s", "conv/s"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("hub_cpu_ms_per_conversion", "hub CPU ms/conv"),
    ("postgres_cpu_ms_per_conversion", "PG CPU ms/conv"),
    ("client_cpu_ms_per_conversion", "client CPU ms/conv"),
    ("ratio", "conv/s ÷ pgbench tps"),
    ("ceiling_fraction", "conv/s ÷ ceiling"),
    ("sqlite_ceiling_fraction", "SQLite conv/s ÷ its ceiling"),
    ("sqlite_conversions_per_s", "SQLite conv/s"),
    ("open_loop_p99_ms", "open-loop p99 ms"),
    ("open_loop_p999_ms", "open-loop p99.9 ms"),
    ("bulk_conversions_per_s", "bulk conv/s"),
    ("bulk_ratio", "bulk conv/s ÷ pgbench tps"),
    ("bulk_hub_cpu_ms_per_conversion", "bulk hub CPU ms/conv"),
    ("calls_per_group", "calls per group"),
    ("ceiling_conversions_per_s", "ceiling conv/s"),
    ("pgbench_tps", "pgbench tps"),
    ("grpc_floor_server_cpu_us_per_call", "witness: gRPC floor µs/call"),
)

console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)


def run_once(code: Path, output: Path, options: list[str]) -> dict[str, Any]:
    """One bench/run.py with the code of `code` first on the path; its JSON line."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))}
    with output.open("w") as out:
        subprocess.run(
            [sys.executable, str(code / "bench" / "run.py"), *options],
            cwd=code,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )
    last = output.read_text().strip().splitlines()[-1]
    result: dict[str, Any] = json.loads(last)
    return result


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    options: list[str] = []
    if "--" in arguments:
        at = arguments.index("--")
        arguments, options = arguments[:at], arguments[at + 1 :]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", help="the git revision to compare this checkout with")
    parser.add_argument("--pairs", type=int, default=3, help="runs on each side (3)")
    parser.add_argument("--keep", type=Path, help="directory for the runs' outputs")
    parser.add_argument("--before-options", default="", help="run.py options for the before side only")
    parser.add_argument("--after-options", default="", help="run.py options for the after side only")
    args = parser.parse_args(arguments)
    options = options or ["--short"]
    before_options, after_options = [*options, *args.before_options.split()], [*options, *args.after_options.split()]
    keep = args.keep or Path(tempfile.mkdtemp(prefix="bench-compare-"))
    keep.mkdir(parents=True, exist_ok=True)
    worktree = Path(tempfile.mkdtemp(prefix="bench-before-"))
    add = ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(worktree), args.before]
    subprocess.run(add, check=True)
    before: list[dict[str, Any]] = []
    after: list[dict[str, Any]] = []
    try:
        for n in range(1, args.pairs + 1):
            console.print(f"pair {n} of {args.pairs}: before ({args.before}) ...")
            before.append(run_once(worktree, keep / f"before-{n}.txt", before_options))
            console.print(f"pair {n} of {args.pairs}: after (this checkout) ...")
            after.append(run_once(ROOT, keep / f"after-{n}.txt", after_options))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)
    table = Table(
        title=f"{args.before} ({' '.join(before_options)}) → this checkout ({' '.join(after_options)}), "
        f"{args.pairs} interleaved pairs"
    )
    table.add_column("figure")
    table.add_column("before (median)", justify="right")
    table.add_column("after (median)", justify="right")
    table.add_column("after ÷ before, pair by pair", justify="right")
    summary: dict[str, Any] = {
        "before": args.before,
        "pairs": args.pairs,
        "before_options": before_options,
        "after_options": after_options,
        "figures": {},
    }
    for key, label in FIGURES:
        found = [(b.get(key), a.get(key)) for b, a in zip(before, after, strict=True)]
        if any(b is None or a is None for b, a in found):
            continue
        pairs = [(b, a) for b, a in found if b is not None and a is not None]
        ratios = [a / b if b else None for b, a in pairs]
        medians = (statistics.median(b for b, _ in pairs), statistics.median(a for _, a in pairs))
        table.add_row(
            label,
            f"{medians[0]:g}",
            f"{medians[1]:g}",
            "  ".join(f"{r:.2f}" if r is not None else "-" for r in ratios),
        )
        summary["figures"][key] = {"before": medians[0], "after": medians[1], "pair_ratios": ratios}
    console.print(table)
    console.print(f"runs kept in {keep}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
