"""The gRPC floor: a no-op unary call against one Python gRPC server process, driven like the hub."""

from __future__ import annotations

import collections
import multiprocessing
import os
import time
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc

from bench.clients import CLIENT_START_TIMEOUT_S, FLOOR_METHOD, ClientJob, Clients, ClientThreads
from bench.cpu import CpuSnapshot
from bench.hub import free_port
from bench.latency import percentile, round_or_none


class _Echo(grpc.GenericRpcHandler):  # type: ignore[type-arg]  # generic in the stubs only
    """FLOOR_METHOD answers with its request's bytes: no protobuf, no signature, no database."""

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[bytes, bytes] | None:
        if handler_call_details.method != FLOOR_METHOD:
            return None
        return grpc.unary_unary_rpc_method_handler(lambda request, _context: request)


def _floor_server(port: int, workers: int, ready: Any, stop: Any) -> None:
    """A spawned process serving _Echo the way the hub serves: grpc.server on a pool of `workers` threads."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="floor-rpc"))
    server.add_generic_rpc_handlers((_Echo(),))
    if server.add_insecure_port(f"127.0.0.1:{port}") == 0:
        raise OSError(f"the floor server cannot listen on port {port}")
    server.start()
    ready.set()
    stop.wait()
    server.stop(1).wait()


@dataclass
class FloorResult:
    """A no-op unary call against one Python gRPC server process (see bench/README.md for each figure)."""

    clients: int
    client_processes: int
    server_workers: int
    window_s: float
    calls: int
    calls_per_s: float
    conversions_per_s_ceiling: float  # calls_per_s ÷ 2: a conversion is two calls
    p50_ms: float | None
    p99_ms: float | None
    server_cpu_us_per_call: float | None
    server_cores: float
    client_cpu_us_per_call: float | None
    client_cores: float
    other_cores: float
    machine_busy_pct: float
    errors: dict[str, int] = field(default_factory=dict)


def measure_floor(
    *, clients: int, client_processes: int, workers: int, warmup_s: float, duration_s: float
) -> FloorResult:
    """Drive the no-op server with the main run's client threads and processes; measure after a warm-up."""
    context = multiprocessing.get_context("spawn")
    port = free_port()
    ready, stop = context.Event(), context.Event()
    server = context.Process(target=_floor_server, args=(port, workers, ready, stop), name="grpc-floor", daemon=True)
    server.start()
    try:
        if not ready.wait(timeout=CLIENT_START_TIMEOUT_S) or server.pid is None:
            raise RuntimeError(f"the floor server did not start (exit code {server.exitcode})")
        job = ClientJob(kind="floor", target=f"127.0.0.1:{port}")
        pool = Clients(job, clients=clients, processes=client_processes, runner=ClientThreads)
        try:
            time.sleep(warmup_s)
            before = CpuSnapshot.take(server.pid, None, pool.cpu_s)
            time.sleep(duration_s)
            after = CpuSnapshot.take(server.pid, None, pool.cpu_s)
        finally:
            done, failures = pool.stop()
    finally:
        stop.set()
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
            server.join()
    window = after.at - before.at
    latencies = sorted((end - began) * 1000 for began, _, end in done if before.at <= end < after.at)
    calls = len(latencies)
    server_s = after.hub_s - before.hub_s
    client_s = after.client_s - before.client_s
    busy = (after.machine[0] - before.machine[0]) / max(1.0, after.machine[1] - before.machine[1])
    calls_per_s = calls / window
    return FloorResult(
        clients=clients,
        client_processes=pool.processes,
        server_workers=workers,
        window_s=round(window, 3),
        calls=calls,
        calls_per_s=round(calls_per_s, 1),
        conversions_per_s_ceiling=round(calls_per_s / 2, 1),
        p50_ms=round_or_none(percentile(latencies, 0.50), 3),
        p99_ms=round_or_none(percentile(latencies, 0.99), 3),
        server_cpu_us_per_call=round(server_s * 1e6 / calls, 1) if calls else None,
        server_cores=round(server_s / window, 2),
        client_cpu_us_per_call=round(client_s * 1e6 / calls, 1) if calls else None,
        client_cores=round(client_s / window, 2),
        other_cores=round(max(0.0, busy * (os.cpu_count() or 1) - (server_s + client_s) / window), 2),
        machine_busy_pct=round(100 * busy, 1),
        errors=dict(collections.Counter(reason for at, reason in failures if before.at <= at < after.at)),
    )
