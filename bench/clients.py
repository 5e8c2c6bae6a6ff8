"""Load generation: client threads, in this process or spread over spawned ones, each share run by a runner.

A runner is one process's share of the client threads (`ClientThreads` here: a closed loop of
conversions or no-op calls; bench/open_loop.py and bench/bulk.py have their own). `Clients`
builds one runner per process, starts them all at one instant (`epoch`, CLOCK_MONOTONIC, the
same clock in every process), stops them and gathers their records and failures.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

import grpc
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from bench.brands import SOURCE_POINTS, TARGET_BRAND
from bench.cpu import process_cpu_s
from partner_sdk import ExchangeClient, ExchangeError
from partner_sdk.client import MAX_MESSAGE_BYTES
from partner_sdk.keys import Ed25519PrivateKey

DRAIN_S = 30  # after the window, how long in-flight conversions may finish before the channels close
CLIENT_START_TIMEOUT_S = 120  # spawned client processes import the SDK and build their clients first
FLOOR_METHOD = "/bench.Floor/Echo"
FLOOR_REQUEST_BYTES = 128  # about a conversion request's body; no metadata, no signature

# (began, middle, ended) of one completed loop: for a conversion the middle is when the quote came
# back, for a floor call it is the end. time.perf_counter is CLOCK_MONOTONIC on Linux, one clock
# for every process, so the client processes' figures compare with the window's bounds.
Record = tuple[float, float, float]
Failure = tuple[float, str]  # when, and the reason (exception class, and the hub's reason code)
START_MARGIN_S = 0.05  # the runners start this long after the last one is ready: time to hear the news

RecordT = TypeVar("RecordT")
FailureT = TypeVar("FailureT")


@dataclass(frozen=True)
class ClientJob:
    """What a share of the client threads runs (picklable: it crosses into spawned processes)."""

    kind: str  # "conversion" (quote + convert through the SDK) or "floor" (one no-op call)
    target: str
    run_tag: str = ""
    hub_public_key: bytes | None = None
    brands: tuple[tuple[str, bytes], ...] = ()  # partner id and raw Ed25519 private key
    indices: tuple[int, ...] = ()  # the clients' numbers across all processes
    share: int = 0  # this process's number among `shares` (set by Clients)
    shares: int = 1
    rate_per_s: float = 0.0  # open loop: arrivals per second across all processes
    batch_size: int = 0  # bulk: items per ConvertBatch call


class Runner(Protocol[RecordT, FailureT]):
    """One process's share of the client threads: built (clients made, threads waiting), started, finished."""

    def start(self, epoch: float) -> None:
        """Let the threads go; `epoch` is the instant (time.perf_counter) every process starts from."""

    def finish(self, deadline: float) -> tuple[list[RecordT], list[FailureT]]:
        """Stop, let in-flight work finish until `deadline` (time.monotonic), close; what was done and what failed."""


def raw_private_key(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


class ClientThreads:
    """One process's client threads, each on its own connection, in a closed loop from start() until finish()."""

    def __init__(self, job: ClientJob) -> None:
        self.job = job
        self.records: list[list[Record]] = [[] for _ in job.indices]
        self.failures: list[Failure] = []
        self._stop = threading.Event()  # the threads test it every call: cheaper than a shared semaphore
        self._channels = [client_channel(job.target) for _ in job.indices]
        self._gate = threading.Barrier(len(job.indices) + 1)
        self._threads = [
            threading.Thread(target=self._loop, args=(slot,), name=f"client-{index}", daemon=True)
            for slot, index in enumerate(job.indices)
        ]
        for thread in self._threads:
            thread.start()

    def start(self, epoch: float) -> None:
        """Wait until every thread has built its client, then let them all go (a closed loop: now, not at epoch)."""
        self._gate.wait()

    def finish(self, deadline: float) -> tuple[list[Record], list[Failure]]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for channel in self._channels:
            channel.close()
        return [r for mine in self.records for r in list(mine)], list(self.failures)

    def _loop(self, slot: int) -> None:
        call = self._conversion(slot) if self.job.kind == "conversion" else self._floor_call(slot)
        mine = self.records[slot]
        self._gate.wait()
        n = 0
        while not self._stop.is_set():
            n += 1
            began = time.perf_counter()
            try:
                middle = call(n)
            except ExchangeError as exc:
                self.failures.append((time.perf_counter(), f"{type(exc).__name__}:{exc.reason}"))
                continue
            except Exception as exc:  # a closed channel at the very end, say: count it, don't die
                self.failures.append((time.perf_counter(), type(exc).__name__))
                continue
            mine.append((began, middle, time.perf_counter()))

    def _conversion(self, slot: int) -> Callable[[int], float]:
        job, index = self.job, self.job.indices[slot]
        partner_id, key = job.brands[index % len(job.brands)]
        client = ExchangeClient(
            job.target,
            partner_id=partner_id,
            key_id="k1",
            private_key=Ed25519PrivateKey.from_private_bytes(key),
            hub_public_key=job.hub_public_key,
            channel=self._channels[slot],
        )

        def convert(n: int) -> float:
            quote = client.quote_conversion(TARGET_BRAND, SOURCE_POINTS)
            quoted = time.perf_counter()
            client.convert(
                quote.quote_id,
                source_member_ref=f"m-{job.run_tag}-{index}-{n}",
                target_member_ref=f"t-{job.run_tag}-{index}-{n}",
                idempotency_key=f"bench-{job.run_tag}-{index}-{n}",
            )
            return quoted

        return convert

    def _floor_call(self, slot: int) -> Callable[[int], float]:
        echo = self._channels[slot].unary_unary(FLOOR_METHOD, None, None)  # no serializers: bytes in, bytes out
        body = os.urandom(FLOOR_REQUEST_BYTES)

        def call(_n: int) -> float:
            echo(body, timeout=DRAIN_S)
            return time.perf_counter()

        return call


def _client_process(
    runner: Callable[[ClientJob], Runner[Any, Any]],
    job: ClientJob,
    gate: Any,
    go: Any,
    epoch: Any,
    stop: Any,
    results: Any,
) -> None:
    """A spawned client process: its share of the threads, started with every other process's."""
    threads = runner(job)
    gate.wait(timeout=CLIENT_START_TIMEOUT_S)
    go.wait(timeout=CLIENT_START_TIMEOUT_S)
    threads.start(epoch.value)
    stop.wait()
    results.put(threads.finish(time.monotonic() + DRAIN_S))


class Clients(Generic[RecordT, FailureT]):
    """`clients` client threads: in this process, or spread round-robin over `processes` spawned ones.

    One process's GIL holds its SDK clients (signing, verifying, gRPC) near one core, so with
    several client threads they are spread over processes (multiprocessing's 'spawn': a fresh
    interpreter, nothing of this one's gRPC state). `runner` builds one process's share (a
    top-level class, so that it crosses into the spawned processes). Starts them and returns once
    all are running; `epoch` is the instant they started from.
    """

    def __init__(
        self,
        job: ClientJob,
        *,
        clients: int,
        processes: int,
        runner: Callable[[ClientJob], Runner[RecordT, FailureT]],
    ) -> None:
        self.processes = max(1, min(processes, clients))
        self._local: Runner[RecordT, FailureT] | None = None
        self._spawned: list[multiprocessing.process.BaseProcess] = []
        if self.processes == 1:
            self._local = runner(replace(job, indices=tuple(range(clients))))
            self.epoch = time.perf_counter() + START_MARGIN_S
            self._local.start(self.epoch)
            return
        context = multiprocessing.get_context("spawn")
        self._stop: Any = context.Event()
        self._results = context.Queue()
        gate, go, epoch = context.Barrier(self.processes + 1), context.Event(), context.Value("d", 0.0)
        for share in range(self.processes):
            mine = replace(
                job, indices=tuple(range(share, clients, self.processes)), share=share, shares=self.processes
            )
            process = context.Process(
                target=_client_process,
                args=(runner, mine, gate, go, epoch, self._stop, self._results),
                name=f"clients-{share}",
            )
            process.daemon = True
            process.start()
            self._spawned.append(process)
        try:
            gate.wait(timeout=CLIENT_START_TIMEOUT_S)
        except threading.BrokenBarrierError:
            self._terminate()
            raise RuntimeError("the client processes did not start") from None
        self.epoch = epoch.value = time.perf_counter() + START_MARGIN_S
        go.set()

    def cpu_s(self) -> float:
        """CPU seconds of this process (the coordinator, and the threads if local) and the client processes."""
        return time.process_time() + sum(process_cpu_s(p.pid) for p in self._spawned if p.pid is not None)

    def stop(self) -> tuple[list[RecordT], list[FailureT]]:
        """Stop, let in-flight work finish (up to DRAIN_S), close; every record and failure."""
        if self._local is not None:
            return self._local.finish(time.monotonic() + DRAIN_S)
        self._stop.set()
        records: list[RecordT] = []
        failures: list[FailureT] = []
        try:
            for _ in self._spawned:  # read before joining: a process exits once its results are taken
                done, failed = self._results.get(timeout=DRAIN_S + CLIENT_START_TIMEOUT_S)
                records.extend(done)
                failures.extend(failed)
        finally:
            self._terminate()
        return records, failures

    def _terminate(self) -> None:
        for process in self._spawned:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()


def client_channel(target: str) -> grpc.Channel:
    # Its own subchannel pool: each client gets its own TCP connection, like a separate brand backend.
    return grpc.insecure_channel(
        target,
        options=[
            ("grpc.use_local_subchannel_pool", 1),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
