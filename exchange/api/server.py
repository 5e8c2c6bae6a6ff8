"""The hub's gRPC server: signed services, health, reflection, nonce pruning, graceful stop, optional TLS.

Health: the overall status (service "") is liveness, SERVING from start() until stop(); each
service name's status is readiness, SERVING only while the database answers the readiness
probe and the keyring is loaded (exchange.api.readiness), so a load balancer stops routing to a
hub that can't reach its database while its supervisor leaves it running.

Stopping: new calls are refused, in-flight calls get grace_s; then the database statements still
running are cancelled (Database.cancel_in_flight: a call waiting on a row lock rolls back rather
than commit after its caller was cut off), and stop() returns within grace_s + STOP_MARGIN_S.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy import Connection

from exchange.api.accrual_service import ACCRUAL_METHODS, ACCRUAL_SERVICE
from exchange.api.agreement_service import AGREEMENT_METHODS, AGREEMENT_SERVICE
from exchange.api.conversion_service import (
    CONVERSION_METHODS,
    CONVERSION_SERVICE,
    INSTRUCTION_METHODS,
    INSTRUCTION_SERVICE,
)
from exchange.api.dispatch import HubContext, generic_handler
from exchange.api.donation_service import DONATION_METHODS, DONATION_SERVICE
from exchange.api.hub_service import HUB_SERVICE, hub_info_handler
from exchange.api.member_service import MEMBER_METHODS, MEMBER_SERVICE
from exchange.api.membership_service import MEMBERSHIP_METHODS, MEMBERSHIP_SERVICE
from exchange.api.metrics import HubMetrics
from exchange.api.readiness import RateLimitedWarning, Readiness
from exchange.api.redemption_service import REDEMPTION_METHODS, REDEMPTION_SERVICE
from exchange.api.registry_service import OPERATOR_METHODS, OPERATOR_SERVICE, REGISTRY_METHODS, REGISTRY_SERVICE
from exchange.api.response_signing import HubSigner
from exchange.api.server_settings import (
    DEFAULT_GRACE_S,
    DEFAULT_LISTEN,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_WINDOW_S,
    DEFAULT_WORKERS,
    ServerTls,
)
from exchange.api.settlement_service import SETTLEMENT_METHODS, SETTLEMENT_SERVICE
from exchange.api.status_match_service import STATUS_MATCH_METHODS, STATUS_MATCH_SERVICE
from exchange.api.voucher_service import VOUCHER_METHODS, VOUCHER_SERVICE
from exchange.domain.errors import ExchangeError
from exchange.domain.members import FAILED_REDEMPTION_WINDOW_MS
from exchange.secrets.erasure_ledger import ErasureLedger
from exchange.secrets.keyring import Keyring
from exchange.service import (
    accruals,
    audit,
    conversions,
    erasure,
    membership_benefits,
    memberships,
    redemptions,
    status_match,
)
from exchange.service.authentication import Authenticator, OperatorKey
from exchange.service.clock import Clock, SystemClock
from exchange.service.conversions import ConversionPolicy
from exchange.service.ports import UnitOfWork
from exchange.store.accruals_repo import AccrualRepository
from exchange.store.conversions_repo import ConversionRepository
from exchange.store.database import Database
from exchange.store.holds_repo import HoldRepository
from exchange.store.members_repo import prune_failed_guesses
from exchange.store.memberships_repo import MembershipRepository
from exchange.store.nonces_repo import NonceRepository
from exchange.store.status_match_repo import StatusMatchRepository
from exchange.store.unit_of_work import SqlUnitOfWork
from exchange.store.vouchers_repo import VoucherRepository

log = logging.getLogger("exchange.server")

NONCE_PRUNE_INTERVAL_S = 60.0
NONCE_RETENTION_MARGIN_MS = 60_000
EXPIRY_SWEEP_INTERVAL_S = 1.0
JOB_WARNING_INTERVAL_S = 60.0  # while a background job can't reach the database, say so at most this often
EXPIRY_SWEEP_BATCH = 100
# Past grace_s, how long stop() gives cancelled database work to end before closing the pools.
STOP_MARGIN_S = 2.0
CANCEL_AGAIN_S = 0.1  # a transaction between two statements when cancelled is cancelled at its next


@dataclass(frozen=True)
class HubConfig:
    """Everything a hub process needs to serve."""

    database: Database
    operator_keys: list[OperatorKey]
    signer: HubSigner
    listen: str = DEFAULT_LISTEN
    window_s: int = DEFAULT_WINDOW_S
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    workers: int = DEFAULT_WORKERS
    policy: ConversionPolicy = field(default_factory=ConversionPolicy)
    # Expire overdue credits and holds and prune old nonces in background threads. Tests turn
    # this off and call expire_overdue_once / prune_nonces_once themselves, so nothing races them.
    background_sweeps: bool = True
    metrics_listen: str | None = None  # HOST:PORT for /metrics; None serves no metrics
    keyring: Keyring | None = None  # data-protection secrets; without one, MemberService is not served
    # Erasures kept outside the database, beside the keyring; re-applied at start (exchange.service.erasure).
    erasures: ErasureLedger | None = None
    tls: ServerTls | None = None  # None: plaintext gRPC (behind a TLS-terminating proxy, or for tests)
    # Several processes bind one address (serve --processes N, exchange.cli.processes): ask gRPC
    # for SO_REUSEPORT explicitly rather than rely on its default.
    reuse_port: bool = False
    # Quotes and Converts waiting at one moment share a transaction and its commit (exchange.store.group_commit).
    group_commit: bool = True
    # One OpenTelemetry span per call (exchange.api.tracing); None: no tracing.
    tracing: grpc.ServerInterceptor[Any, Any] | None = None


class HubServer:
    """A running hub: start() binds and serves, stop() drains in-flight calls."""

    def __init__(self, config: HubConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        window_ms = config.window_s * 1000
        self.context = HubContext(
            database=config.database,
            authenticator=Authenticator(operator_keys=config.operator_keys, window_ms=window_ms),
            signer=config.signer,
            clock=self.clock,
            policy=config.policy,
            metrics=HubMetrics(config.database),
            keyring=config.keyring,
            erasures=config.erasures,
            mutual_tls=config.tls is not None and config.tls.mutual,
            group_commit=config.group_commit,
        )
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="hub-rpc"),
            interceptors=[config.tracing] if config.tracing is not None else None,
            options=[
                ("grpc.max_receive_message_length", config.max_request_bytes),
                ("grpc.max_send_message_length", 16 * 1024 * 1024),
                # gRPC sets SO_REUSEPORT by default on Linux, which lets a second hub bind the same
                # address and take half the connections: only serve --processes N's workers share one.
                ("grpc.so_reuseport", 1 if config.reuse_port else 0),
            ],
        )
        self._server.add_generic_rpc_handlers(
            (
                generic_handler(REGISTRY_SERVICE, REGISTRY_METHODS, self.context),
                generic_handler(OPERATOR_SERVICE, OPERATOR_METHODS, self.context),
                generic_handler(AGREEMENT_SERVICE, AGREEMENT_METHODS, self.context),
                generic_handler(CONVERSION_SERVICE, CONVERSION_METHODS, self.context),
                generic_handler(INSTRUCTION_SERVICE, INSTRUCTION_METHODS, self.context),
                generic_handler(REDEMPTION_SERVICE, REDEMPTION_METHODS, self.context),
                generic_handler(SETTLEMENT_SERVICE, SETTLEMENT_METHODS, self.context),
                generic_handler(ACCRUAL_SERVICE, ACCRUAL_METHODS, self.context),
                generic_handler(DONATION_SERVICE, DONATION_METHODS, self.context),
                hub_info_handler(self.context, window_ms=window_ms, max_request_bytes=config.max_request_bytes),
            )
        )
        if config.keyring is not None:
            # Members and memberships name members by the hub's pairwise ids: both need the keyring.
            self._server.add_generic_rpc_handlers(
                (
                    generic_handler(MEMBER_SERVICE, MEMBER_METHODS, self.context),
                    generic_handler(MEMBERSHIP_SERVICE, MEMBERSHIP_METHODS, self.context),
                    generic_handler(STATUS_MATCH_SERVICE, STATUS_MATCH_METHODS, self.context),
                    generic_handler(VOUCHER_SERVICE, VOUCHER_METHODS, self.context),
                )
            )
        self._health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        self.services = (
            REGISTRY_SERVICE,
            OPERATOR_SERVICE,
            HUB_SERVICE,
            AGREEMENT_SERVICE,
            CONVERSION_SERVICE,
            INSTRUCTION_SERVICE,
            REDEMPTION_SERVICE,
            SETTLEMENT_SERVICE,
            ACCRUAL_SERVICE,
            DONATION_SERVICE,
            *(
                (MEMBER_SERVICE, MEMBERSHIP_SERVICE, STATUS_MATCH_SERVICE, VOUCHER_SERVICE)
                if config.keyring is not None
                else ()
            ),
        )
        reflection.enable_server_reflection(
            (*self.services, health.SERVICE_NAME, reflection.SERVICE_NAME), self._server
        )
        self.readiness = Readiness(config.database, config.keyring)
        self._stopping = self.context.stopping
        self._job_warnings = RateLimitedWarning(log, JOB_WARNING_INTERVAL_S)
        self._pruner = threading.Thread(target=self._prune_nonces, name="nonce-pruner", daemon=True)
        self._sweeper = threading.Thread(target=self._expire_overdue, name="credit-expiry", daemon=True)
        self.port = 0
        self.metrics_port = 0

    def start(self) -> int:
        """Re-apply erasures a restore rolled back, bind the listen address and serve; return the bound port."""
        self.reapply_erasures()
        tls = self.config.tls
        try:
            if tls is None:
                self.port = self._server.add_insecure_port(self.config.listen)
            else:
                self.port = self._server.add_secure_port(self.config.listen, tls.credentials())
        except RuntimeError:  # gRPC's word for a port it could not bind (in use, or no such address)
            self.port = 0
        if self.port == 0:
            raise OSError(f"cannot listen on {self.config.listen}")
        self._server.start()
        if self.config.metrics_listen and self.context.metrics is not None:
            self.metrics_port = self.context.metrics.serve(self.config.metrics_listen, self.readiness.check)
        self._health.set("", health_pb2.HealthCheckResponse.SERVING)  # liveness
        self.readiness.start(self._set_readiness)  # the first verdict is set before start() returns
        if self.config.background_sweeps:
            self._pruner.start()
            self._sweeper.start()
        return self.port

    def stop(self, grace_s: float = DEFAULT_GRACE_S) -> None:
        """Refuse new calls, let in-flight calls finish for up to grace_s, cancel what still runs, then stop.

        Returns within grace_s + STOP_MARGIN_S even when a call is stuck on a database lock.
        """
        self._stopping.set()
        self.readiness.stop()
        self._health.enter_graceful_shutdown()
        self._server.stop(grace_s).wait()
        database = self.config.database
        deadline = time.monotonic() + STOP_MARGIN_S
        cancelled = database.cancel_in_flight()
        while not database.wait_until_idle(CANCEL_AGAIN_S) and time.monotonic() < deadline:
            cancelled += database.cancel_in_flight()
        if cancelled:
            log.warning(
                "cancelled database work still running after the grace period",
                extra={"grace_s": grace_s, "cancelled": cancelled},
            )
        if self.context.metrics is not None:
            self.context.metrics.stop()
        database.dispose()

    def _set_readiness(self, reason: str | None) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING if reason is None else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in self.services:
            self._health.set(service, status)

    def wait(self) -> None:
        """Block until the server stops."""
        self._server.wait_for_termination()

    def reapply_erasures(self) -> int:
        """Erase again the members the erasure ledger lists and the database does not show erased."""
        if self.config.erasures is None or self.config.keyring is None:
            return 0
        again = erasure.reapply(
            self.config.database, self.config.erasures, self.config.keyring.pairwise_secret, self.clock.now_ms()
        )
        if again:
            log.warning("re-applied erasures a database restore had rolled back", extra={"members": again})
        return again

    def _job(self, name: str, run: Callable[[], int]) -> int:
        """Run one turn of a background job, counted in the metrics (coalition_job_*)."""
        metrics = self.context.metrics
        try:
            done = run()
        except Exception:
            if metrics is not None:
                metrics.job_failed(name)
            raise
        if metrics is not None:
            metrics.job_done(name, done, time.time())
        return done

    def prune_nonces_once(self) -> int:
        """Delete nonces no request inside the window could still carry; return how many."""
        return self._job("prune_nonces", self._prune_nonces_now)

    def _prune_nonces_now(self) -> int:
        cutoff = self.clock.now_ms() - 2 * self.config.window_s * 1000 - NONCE_RETENTION_MARGIN_MS

        guesses_cutoff = self.clock.now_ms() - FAILED_REDEMPTION_WINDOW_MS

        def prune(connection: Connection) -> int:
            prune_failed_guesses(connection, before_ms=guesses_cutoff)  # kept for the whole guess-limit window
            return NonceRepository(connection).prune(received_before_ms=cutoff)

        return self.config.database.run(prune)

    def expire_overdue_once(self) -> int:
        """Do the hub's timed work; return how many things changed (one transaction each, so replicas may race).

        Expire overdue credits, holds, awards and vouchers, lapse memberships whose time is over,
        and issue the vouchers whose period has begun.
        """
        return self._job("expire_overdue", self._expire_overdue_now)

    def _expire_overdue_now(self) -> int:
        now_ms = self.clock.now_ms()
        database = self.config.database
        expired = 0
        sweeps: tuple[tuple[Callable[[Connection], list[str]], Expire], ...] = (
            (lambda c: ConversionRepository(c).overdue(now_ms, EXPIRY_SWEEP_BATCH), conversions.expire_overdue),
            (lambda c: HoldRepository(c).overdue(now_ms, EXPIRY_SWEEP_BATCH), redemptions.expire_overdue),
            (lambda c: AccrualRepository(c).overdue(now_ms, EXPIRY_SWEEP_BATCH), accruals.expire_overdue),
            (lambda c: MembershipRepository(c).due_to_lapse(now_ms, EXPIRY_SWEEP_BATCH), memberships.lapse_overdue),
            (lambda c: StatusMatchRepository(c).due(now_ms, EXPIRY_SWEEP_BATCH), status_match.sweep_match),
            (
                lambda c: VoucherRepository(c).due_memberships(now_ms, EXPIRY_SWEEP_BATCH),
                membership_benefits.issue_due_vouchers,
            ),
            (lambda c: VoucherRepository(c).expired_by(now_ms, EXPIRY_SWEEP_BATCH), membership_benefits.expire_voucher),
        )
        for find, expire_one in sweeps:
            for item_id in database.run(find):
                # Each expiry appends its own audit event, in its transaction.
                expired += database.run(partial(_expire_one, expire_one, item_id, now_ms, self.config.keyring))
        return expired

    def seal_audit_once(self, *, delay_ms: int = audit.SEAL_DELAY_MS) -> int:
        """Link new audit events into the chain and sign its head; return how many were sealed."""
        signer = self.config.signer
        return self._job(
            "seal_audit",
            lambda: audit.seal(
                self.config.database,
                audit.AuditSigner(signer.key_id, signer.private_key.sign),
                self.clock.now_ms(),
                delay_ms=delay_ms,
            ),
        )

    def _expire_overdue(self) -> None:
        while not self._stopping.wait(EXPIRY_SWEEP_INTERVAL_S):
            self._turn("expiring overdue credits", self.expire_overdue_once)
            self._turn("sealing the audit log", self.seal_audit_once)

    def _prune_nonces(self) -> None:
        while not self._stopping.wait(NONCE_PRUNE_INTERVAL_S):
            self._turn("nonce pruning", self.prune_nonces_once)

    def _turn(self, what: str, job: Callable[[], int]) -> None:
        """One turn of a background job: an expected failure (the database away) is one warning line.

        A bug is logged with its traceback.
        """
        try:
            job()
        except ExchangeError as failure:  # e.g. DATABASE_UNAVAILABLE: counted, and said without a traceback
            self._job_warnings.warn(f"{what} failed (%s); will try again", failure.reason)
        except Exception:
            log.exception("%s failed; will try again", what)


Expire = Callable[[UnitOfWork, str, int], int]  # how many it changed (a bool counts 0 or 1)


def _expire_one(expire: Expire, item_id: str, now_ms: int, keyring: Keyring | None, connection: Connection) -> int:
    return int(expire(SqlUnitOfWork(connection, keyring), item_id, now_ms))
