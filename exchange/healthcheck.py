"""A container health probe that costs little: `python -m exchange.healthcheck HOST:PORT`.

Docker runs the HEALTHCHECK every few seconds in every replica. `coalition health` imports the
whole command line (typer, rich, SQLAlchemy...) for one gRPC call; this imports only grpc and
grpc_health. It asks grpc.health.v1 and exits 0 only when the answer is SERVING: 1 for any other
answer or no answer, 2 for a usage error. One line on stdout says which (Docker keeps it).
"""

from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

DEFAULT_TIMEOUT_S = 3.0
# Docker's HEALTHCHECK --timeout kills the probe after this long anyway; a longer wait is a mistake.
MAX_TIMEOUT_S = 60.0


def check(target: str, *, service: str = "", timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[bool, str]:
    """Ask target's health service about service ('' for the whole hub); return (serving, what to print)."""
    with grpc.insecure_channel(target) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
            )
        except grpc.RpcError as error:
            return False, f"NOT SERVING: {error.code().name if isinstance(error, grpc.Call) else error}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    return answer.status == health_pb2.HealthCheckResponse.SERVING, status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m exchange.healthcheck", description="Exit 0 only if the hub at TARGET is SERVING."
    )
    parser.add_argument("target", metavar="HOST:PORT", help="the hub's gRPC address (plaintext)")
    parser.add_argument("--service", default="", help="a service name to ask about; default: the whole hub")
    parser.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S, help="give up after this long")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the probe; return the exit status."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    if not 0 < arguments.timeout_s <= MAX_TIMEOUT_S:
        parser.error(f"--timeout-s must be more than 0 and at most {MAX_TIMEOUT_S:g}")
    serving, line = check(arguments.target, service=arguments.service, timeout_s=arguments.timeout_s)
    print(line)
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main())
