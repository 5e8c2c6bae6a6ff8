"""The faults: SIGKILL and restart of hub replicas, a PostgreSQL restart, dropped replies.

Kills and the database restart fire when the run reaches chosen operation counts (drawn from
the seed), so a short run gets them as surely as a long one, and their number is bounded. A
dropped reply is done in the client's channel, below the SDK: either the call goes out with a
deadline of a few milliseconds (shorter than the work, which the hub may finish anyway), or
the call completes and its answer is thrown away (the hub certainly committed). Either way the
SDK sees DEADLINE_EXCEEDED and resends the very same bytes.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import grpc

from faults.history import History
from faults.hubs import Replica
from faults.postgres import Cluster
from partner_sdk import signing

if TYPE_CHECKING:  # generic only in grpc-stubs
    _CallFuture = grpc.CallFuture[Any]
    _Interceptor = grpc.UnaryUnaryClientInterceptor[Any, Any]
else:

    class _CallFuture(grpc.Call, grpc.Future):
        pass

    _Interceptor = grpc.UnaryUnaryClientInterceptor

SHORT_DEADLINE_S = (0.001, 0.005)
MAX_REMEMBERED_NONCES = 200_000  # to tell a first attempt from a resend
DOWNTIME_S = (0.1, 1.5)  # how long a killed replica stays down


# --------------------------------------------------------------------------- dropped replies


@dataclass(frozen=True)
class _CallDetails(grpc.ClientCallDetails):
    method: str
    timeout: float | None
    metadata: Any
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


class _LostReply(grpc.RpcError, _CallFuture):
    """The answer existed but never reached the client: to it, the deadline passed."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.DEADLINE_EXCEEDED

    def details(self) -> str:
        return "the fault test dropped the reply"

    def initial_metadata(self) -> Any:
        return ()

    def trailing_metadata(self) -> Any:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float:
        return 0.0

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return False

    def cancelled(self) -> bool:
        return False

    def running(self) -> bool:
        return False

    def done(self) -> bool:
        return True

    def result(self, timeout: float | None = None) -> Any:
        raise self

    def exception(self, timeout: float | None = None) -> Exception | None:
        return self

    def traceback(self, timeout: float | None = None) -> TracebackType | None:
        return None

    def add_done_callback(self, fn: Callable[[Any], None]) -> None:
        fn(self)


class DropReplies(_Interceptor):
    """Drop a share of first attempts' replies; count resends (the SDK's retries of the same nonce)."""

    def __init__(self, history: History, *, rate: float, seed: str) -> None:
        self.history = history
        self.rate = rate
        self.enabled = True
        self._rng = random.Random(seed)
        self._seen: dict[str, None] = {}
        self._lock = threading.Lock()

    def _first_attempt(self, nonce: str) -> bool:
        with self._lock:
            if nonce in self._seen:
                return False
            self._seen[nonce] = None
            if len(self._seen) > MAX_REMEMBERED_NONCES:
                del self._seen[next(iter(self._seen))]
            return True

    def _counted(self, outcome: grpc.CallFuture[Any]) -> grpc.CallFuture[Any]:
        """Count the hub's answers that were not OK by code (answers.UNAVAILABLE: what a failover costs callers)."""

        def count(done: Any) -> None:
            code = done.code()
            if code is not grpc.StatusCode.OK:
                self.history.count(f"answers.{code.name}")

        outcome.add_done_callback(count)
        return outcome

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Any], grpc.CallFuture[Any]],
        client_call_details: grpc.ClientCallDetails,
        request: Any,
    ) -> grpc.CallFuture[Any]:
        """Send the call; for a share of first attempts, cut its deadline short or throw its answer away."""
        metadata = dict(client_call_details.metadata or ())
        nonce = str(metadata.get(signing.HEADER_NONCE, ""))
        if not nonce:
            return self._counted(continuation(client_call_details, request))
        if not self._first_attempt(nonce):
            self.history.count("retries.sdk_resends")
            return self._counted(continuation(client_call_details, request))
        with self._lock:
            drop = self.enabled and self._rng.random() < self.rate
            short = self._rng.random() < 0.5
            deadline_s = self._rng.uniform(*SHORT_DEADLINE_S)
        if not drop:
            return self._counted(continuation(client_call_details, request))
        if short:
            details = _CallDetails(
                client_call_details.method,
                deadline_s,
                client_call_details.metadata,
                client_call_details.credentials,
                client_call_details.wait_for_ready,
                client_call_details.compression,
            )
            outcome = continuation(details, request)
            if outcome.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
                self.history.count("dropped.short_deadline")
            return outcome
        outcome = continuation(client_call_details, request)
        if outcome.code() is not grpc.StatusCode.OK:
            return outcome
        self.history.count("dropped.answer_lost")
        self.history.count(f"dropped_after_commit.{client_call_details.method.rsplit('/', 1)[-1]}")
        return _LostReply()


# --------------------------------------------------------------------------- kills and the database restart


@dataclass(frozen=True)
class Fault:
    """One scheduled fault: at this many finished operations, do this."""

    at_operation: int
    kind: str  # "kill" or "db_restart"


def schedule(operations: int, *, kills: int, db_restarts: int, seed: str) -> list[Fault]:
    """Draw the faults' moments between 10% and 85% of the run (the database restart in the middle half)."""
    rng = random.Random(f"{seed}:schedule")
    low, high = max(1, operations // 10), max(2, operations * 85 // 100)
    faults = [Fault(rng.randint(low, high), "kill") for _ in range(kills)]
    faults += [
        Fault(rng.randint(operations // 4, max(operations // 4, operations * 3 // 4)), "db_restart")
    ] * db_restarts
    return sorted(faults, key=lambda f: f.at_operation)


class Nemesis(threading.Thread):
    """Runs the schedule against the replicas and the database as the run progresses."""

    def __init__(
        self,
        faults: list[Fault],
        *,
        replicas: list[Replica],
        cluster: Cluster,
        history: History,
        progress: Callable[[], int],
        seed: str,
    ) -> None:
        super().__init__(name="nemesis", daemon=True)
        self.faults = faults
        self.replicas = replicas
        self.cluster = cluster
        self.history = history
        self.progress = progress
        self.stop_event = threading.Event()
        self.done: list[str] = []
        self.errors: list[str] = []
        self._rng = random.Random(f"{seed}:nemesis")

    def run(self) -> None:
        """Wait for each fault's moment and cause it (an error ends the schedule and is reported)."""
        for fault in self.faults:
            while self.progress() < fault.at_operation:
                if self.stop_event.wait(0.02):
                    return
            try:
                if fault.kind == "kill":
                    self._kill_one()
                else:
                    self._restart_database()
            except Exception:
                self.errors.append(traceback.format_exc())
                return

    def _kill_one(self) -> None:
        replica = self._rng.choice(self.replicas)
        downtime_s = self._rng.uniform(*DOWNTIME_S)
        with replica.lock:
            replica.kill()
            self.history.count("faults.hub_kills")
            self.done.append(f"{time.strftime('%H:%M:%S')} SIGKILL replica {replica.index} (down {downtime_s:.1f} s)")
            time.sleep(downtime_s)
            replica.start()
            self.history.count("faults.hub_restarts")

    def _restart_database(self) -> None:
        took_s = self.cluster.restart(mode="immediate")
        self.history.count("faults.db_restarts")
        self.done.append(f"{time.strftime('%H:%M:%S')} PostgreSQL restarted (immediate, {took_s:.1f} s)")

    def finish(self) -> None:
        """Stop scheduling, wait for a fault in progress, and bring every replica back up."""
        self.stop_event.set()
        self.join()
        for replica in self.replicas:
            with replica.lock:
                if not replica.alive:
                    replica.start()
