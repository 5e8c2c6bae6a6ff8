"""py-spy on the hub: started for a window, its raw stacks summarised into buckets and hub functions."""

from __future__ import annotations

import collections
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def start_py_spy(
    pid: int, out_dir: Path, backend: str, clients: int, duration_s: float, *, subprocesses: bool = False
) -> tuple[subprocess.Popen[bytes], Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"hub-{backend}-{clients}c.txt"
    py_spy = Path(sys.executable).parent / "py-spy"
    command = [
        str(py_spy), "record", "--pid", str(pid), "--duration", str(max(1, int(duration_s))),
        "--rate", "100", "--nonblocking", "--gil", "--format", "raw", "--output", str(out),
        *(["--subprocesses"] if subprocesses else []),  # the workers of `serve --processes N`
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out


# Where a sample's time goes: the first rule matching a frame, from the leaf up, names its bucket.
PROFILE_BUCKETS = (
    ("Ed25519 + SHA-256 (partner_sdk.signing, response signing)", ("partner_sdk/signing.py", "cryptography/")),
    ("psycopg (driver: send, receive, adapt)", ("psycopg/", "psycopg_binary")),
    ("SQLAlchemy (compile, execute, rows, pool)", ("sqlalchemy/",)),
    ("logging (one JSON line per call)", ("logging/", "exchange/logs.py", "json/")),
    ("Prometheus metrics", ("prometheus_client/",)),
    ("protobuf", ("google/protobuf/",)),
    ("gRPC Python layer", ("grpc/", "grpc_")),
    ("hub code (api, service, domain, store)", ("exchange/",)),
    ("thread pool, other stdlib", ("concurrent/", "threading.py", "queue.py", "uuid.py", "secrets.py")),
)


def summarise_profile(path: Path) -> dict[str, Any]:
    """Collapse py-spy's raw stacks into buckets and the hub functions with the most inclusive samples."""
    buckets: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        bucket = "other"
        for frame in reversed(frames):
            match = next((name for name, needles in PROFILE_BUCKETS if any(n in frame for n in needles)), None)
            if match:
                bucket = match
                break
        buckets[bucket] += count
        hub_frames = {re.sub(r":\d+\)$", ")", f) for f in frames if "exchange/" in f or "partner_sdk/" in f}
        for frame in hub_frames:
            inclusive[frame.replace(str(ROOT) + "/", "")] += count
    return {
        "samples": total,
        "buckets_pct": {k: round(100 * v / total, 1) for k, v in buckets.most_common()} if total else {},
        "hub_functions_inclusive_pct": {k: round(100 * v / total, 1) for k, v in inclusive.most_common(20)}
        if total
        else {},
    }
