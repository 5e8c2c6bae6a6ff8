"""Interleavings the random bank run seldom hits: a retry racing its own, still running, first attempt.

A row lock held by a separate database session stands for load (a lock wait, a slow disk, the
hub's own serialization retries): the first attempt arrives in time and then waits; the
brand's retry of the same operation arrives after a deadline, reads the old state, and is
refused; then the first attempt commits. The hub has told the brand "refused" about an
operation that happened.

To be deterministic and quick the hub runs in this process, on a PostgreSQL cluster of our own,
with a clock the race moves past the deadline and without its background expiry sweep (with
the sweep running, as in `coalition serve`, the sweep sometimes wins the row after the lock is
released, expires the credit and makes the first attempt fail too: then the answers agree).

    ack      AcknowledgeInstruction of a credit, the same instruction and reference, across the
             credit deadline: the retry gets CREDIT_DEADLINE_PASSED ("take the points back"),
             yet the conversion is COMPLETED and will be settled.
    convert  Convert with the same quote, member references and idempotency key (identical
             bytes but the signature) across the quote's expiry: the retry gets QUOTE_EXPIRED,
             yet the conversion exists, and the next retry with that key returns it.
    resend   the SDK's own resend of an acknowledgement (the very same bytes and nonce) while
             the original is committing: the resend gets CREDIT_DEADLINE_PASSED, the original
             ACKNOWLEDGED; the promise "a resend gets the first answer" does not hold.

Usage: .venv/bin/python -m faults.races [--scenario ack|convert|resend|all]
Exit code 1 when a race shows the inconsistency, 0 when every retry's answer agreed with what
happened.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy

from coalition.exchange.v1 import instructions_pb2
from exchange.api.response_signing import HubSigner
from exchange.api.server import HubConfig, HubServer
from exchange.secrets.keyring import Keyring
from exchange.service.authentication import OperatorKey
from exchange.service.conversions import ConversionPolicy
from exchange.store import migrate
from exchange.store.database import Database
from exchange.store.tables import instructions, quotes, request_nonces
from faults.postgres import Cluster
from faults.workload import TARGET, Brand, build_coalition, client_of
from partner_sdk import ExchangeClient, ExchangeError, Instruction, generate_private_key, public_key_bytes, signing
from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.operator import operator_key_id

CREDIT_DEADLINE_MS = 60_000
QUOTE_TTL_MS = 60_000
FIRST_ATTEMPT_TIMEOUT_S = 60.0
WAITER_TIMEOUT_S = 10.0  # for the first attempt to reach the locked row
SCENARIOS = ("ack", "convert", "resend")
RESEND_TRIALS = 10
ACKNOWLEDGE = "/coalition.exchange.v1.InstructionService/AcknowledgeInstruction"


class ShiftedClock:
    """The wall clock plus an offset the race moves (hub and clients read the same one)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def now_ms(self) -> int:
        """Return the shifted time."""
        return time.time_ns() // 1_000_000 + self.offset_ms


@dataclass(frozen=True)
class RaceResult:
    """What each attempt was told and what the database holds afterwards."""

    scenario: str
    answers: dict[str, str]  # first, retry, again -> "OK <state>" or "<code> <reason>"
    database: dict[str, str]
    inconsistent: bool  # the retry was refused, yet the operation happened


def _answer(call: Callable[[], str]) -> str:
    try:
        return f"OK {call()}"
    except ExchangeError as exc:
        return f"{exc.code} {exc.reason}"


class _Blocker:
    """A separate session holding a lock (a row FOR UPDATE, or an uncommitted row) until released."""

    def __init__(self, url: str, statement: sqlalchemy.Executable, params: dict[str, object] | None = None) -> None:
        self.engine = sqlalchemy.create_engine(url)
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.connection.execute(statement, params or {})

    @classmethod
    def row(cls, url: str, table: sqlalchemy.Table, column: str, value: str) -> _Blocker:
        """Hold one row's lock."""
        return cls(url, sqlalchemy.select(table.c[column]).where(table.c[column] == value).with_for_update())

    def wait_for_waiters(self, count: int = 1, *, unless_done: threading.Thread | None = None) -> None:
        """Return once this many other sessions wait for a lock (or the given thread has finished)."""
        deadline = time.monotonic() + WAITER_TIMEOUT_S
        with self.engine.connect() as watcher:
            while time.monotonic() < deadline:
                if unless_done is not None and not unless_done.is_alive():
                    return
                waiting = watcher.execute(
                    sqlalchemy.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                ).scalar_one()
                if waiting >= count:
                    return
                watcher.rollback()
                time.sleep(0.02)
        raise RuntimeError(f"{count} session(s) never came to wait on the held lock")

    def release(self) -> None:
        self.transaction.rollback()
        self.connection.close()
        self.engine.dispose()


def _race(
    first: Callable[[], str], retry: Callable[[], str], lock: _Blocker, clock: ShiftedClock, past_ms: int
) -> dict[str, str]:
    """Start the first attempt (it waits on the lock), move the clock past_ms on, retry, release, ask once more.

    The retry either answers at once (deciding on what it can see) or waits behind the first
    attempt; the lock is released once it has done one or the other.
    """
    answers: dict[str, str] = {}
    original = threading.Thread(target=lambda: answers.__setitem__("first", _answer(first)))
    original.start()
    lock.wait_for_waiters()
    clock.offset_ms += past_ms
    retried = threading.Thread(target=lambda: answers.__setitem__("retry", _answer(retry)))
    retried.start()
    lock.wait_for_waiters(2, unless_done=retried)
    lock.release()
    original.join()
    retried.join()
    answers["again"] = _answer(retry)
    return {name: answers[name] for name in ("first", "retry", "again")}


def late_acknowledgement(
    url: str, clock: ShiftedClock, source: ExchangeClient, target: ExchangeClient, other: ExchangeClient
) -> RaceResult:
    """The ack scenario: one credit acknowledged twice with one reference, across its deadline."""
    quote = source.quote_conversion(TARGET, 1_000)
    conversion = source.convert(quote.quote_id, source_member_ref="m-1", target_member_ref="t-1")
    credit = _credit_of(target, conversion.conversion_id)
    lock = _Blocker.row(url, instructions, "instruction_id", credit.instruction_id)
    answers = _race(
        lambda: (
            target.acknowledge_instruction(
                credit.instruction_id, partner_reference="ledger-42", timeout_s=FIRST_ATTEMPT_TIMEOUT_S
            ).state
        ),
        lambda: (
            other.acknowledge_instruction(
                credit.instruction_id, partner_reference="ledger-42", timeout_s=FIRST_ATTEMPT_TIMEOUT_S
            ).state
        ),
        lock,
        clock,
        CREDIT_DEADLINE_MS + 1_000,
    )
    state = source.get_conversion(conversion.conversion_id).state
    return RaceResult("ack", answers, {"conversion": state}, inconsistent=_disagree(answers, state == "COMPLETED"))


def expired_quote(url: str, clock: ShiftedClock, source: ExchangeClient, other: ExchangeClient) -> RaceResult:
    """The convert scenario: one Convert (same idempotency key) sent twice, across the quote's expiry."""
    quote = source.quote_conversion(TARGET, 1_000)
    lock = _Blocker.row(url, quotes, "quote_id", quote.quote_id)

    def convert(client: ExchangeClient, timeout_s: float | None = None) -> str:
        done = client.convert(
            quote.quote_id,
            source_member_ref="m-2",
            target_member_ref="t-2",
            idempotency_key="order-88231",
            timeout_s=timeout_s,
        )
        return f"{done.conversion_id} {done.state}"

    answers = _race(
        lambda: convert(source, FIRST_ATTEMPT_TIMEOUT_S),
        lambda: convert(other, FIRST_ATTEMPT_TIMEOUT_S),
        lock,
        clock,
        QUOTE_TTL_MS + 1_000,
    )
    happened = [c for c in source.list_conversions().items if c.quote_id == quote.quote_id]
    return RaceResult(
        "convert",
        answers,
        {"conversions_for_the_quote": str(len(happened))},
        inconsistent=_disagree(answers, bool(happened)) or len(happened) > 1,
    )


def resend_across_deadline(url: str, clock: ShiftedClock, source: ExchangeClient, target: ExchangeClient) -> RaceResult:
    """The resend scenario: the SDK's own retry (the very same bytes and nonce) of an ack, across the deadline.

    The original is held between its effect and its commit (an uncommitted row with its nonce
    in another session stands for a slow commit); the resend arrives after the deadline, is
    refused, and both try to record their answer under the nonce. Which of the two records
    first is up to PostgreSQL, so this tries up to RESEND_TRIALS times.
    """
    result = RaceResult("resend", {}, {}, inconsistent=False)
    for trial in range(1, RESEND_TRIALS + 1):
        result = _resend_trial(url, clock, source, target, trial)
        if result.inconsistent:
            break
    return result


def _resend_trial(
    url: str, clock: ShiftedClock, source: ExchangeClient, target: ExchangeClient, trial: int
) -> RaceResult:
    transport = target.transport
    quote = source.quote_conversion(TARGET, 1_000)
    conversion = source.convert(quote.quote_id, source_member_ref=f"m-3-{trial}", target_member_ref="t-3")
    credit = _credit_of(target, conversion.conversion_id)
    body = instructions_pb2.AcknowledgeInstructionRequest(
        instruction_id=credit.instruction_id, partner_reference="ledger-7"
    ).SerializeToString()
    headers = signing.sign_request(
        transport.private_key,
        method=ACKNOWLEDGE,
        principal=transport.principal,
        key_id=transport.key_id,
        body=body,
        timestamp_ms=transport.clock_ms(),
    )
    placeholder = sqlalchemy.insert(request_nonces).values(
        principal=transport.principal,
        nonce=headers.nonce,
        method="placeholder",
        request_sha256="",
        received_at_ms=0,
        outcome="OK",
        response_body=b"",
    )
    lock = _Blocker(url, placeholder)

    def send() -> str:
        answer = transport.send(
            ACKNOWLEDGE,
            body,
            headers.as_metadata(),
            headers.nonce,
            instructions_pb2.AcknowledgeInstructionResponse,
            timeout_s=FIRST_ATTEMPT_TIMEOUT_S,
        )
        return instructions_pb2.InstructionState.Name(answer.instruction.state).removeprefix("INSTRUCTION_STATE_")

    answers: dict[str, str] = {}
    original = threading.Thread(target=lambda: answers.__setitem__("first", _answer(send)))
    original.start()
    lock.wait_for_waiters(1)
    clock.offset_ms += CREDIT_DEADLINE_MS + 1_000
    resend = threading.Thread(target=lambda: answers.__setitem__("retry", _answer(send)))
    resend.start()
    lock.wait_for_waiters(2)
    lock.release()
    original.join()
    resend.join()
    state = source.get_conversion(conversion.conversion_id).state
    return RaceResult(
        "resend",
        {"first": answers["first"], "retry": answers["retry"]},
        {"conversion": state, "trials": str(trial)},
        inconsistent=_disagree(answers, state == "COMPLETED"),
    )


def _disagree(answers: dict[str, str], happened: bool) -> bool:
    """Whether any attempt was told something the database contradicts.

    That is OK for what did not happen, or a refusal (FAILED_PRECONDITION) for what did; a
    deadline the client gave up on tells nothing.
    """
    told_ok = any(answer.startswith("OK") for answer in answers.values())
    told_refused = any(answer.startswith("FAILED_PRECONDITION") for answer in answers.values())
    return (told_ok and not happened) or (told_refused and happened)


def _credit_of(target: ExchangeClient, conversion_id: str) -> Instruction:
    (credit,) = [i for i in target.pull_instructions(wait_s=0) if i.conversion_id == conversion_id]
    return credit


def _hub(url: str, clock: ShiftedClock, workdir: Path) -> tuple[HubServer, Ed25519PrivateKey, bytes]:
    """A hub in this process without background sweeps; return it, its operator key and its public key."""
    database = Database(url)
    migrate.upgrade(database)
    operator_key, hub_key = generate_private_key(), generate_private_key()
    operator_public = public_key_bytes(operator_key)
    keyring, _ = Keyring.load_or_create(workdir / "keyring.json")
    server = HubServer(
        HubConfig(
            database=database,
            operator_keys=[OperatorKey(operator_key_id(operator_public), operator_public)],
            signer=HubSigner.from_key(hub_key),
            listen="127.0.0.1:0",
            background_sweeps=False,
            keyring=keyring,
            # The races need the retry to reach the database while the first attempt holds its
            # transaction, as a retry sent to another replica does. With group commit, a Convert
            # retried to the same process waits behind the first in its group's queue instead
            # and sees the committed conversion, so the convert race could not be staged here.
            group_commit=False,
            policy=ConversionPolicy(
                quote_ttl_ms=QUOTE_TTL_MS,
                credit_deadline_ms=CREDIT_DEADLINE_MS,
                member_conversions_per_hour=10**9,
            ),
        ),
        clock=clock,
    )
    server.start()
    return server, operator_key, public_key_bytes(hub_key)


def run(scenarios: list[str]) -> list[RaceResult]:
    """Each scenario on one in-process hub on a cluster of its own."""
    clock = ShiftedClock()
    with (
        tempfile.TemporaryDirectory(prefix="coalition-races-") as tmp,
        Cluster() as cluster,
        contextlib.ExitStack() as clients,
    ):
        cluster.create()
        server, operator_key, hub_public_key = _hub(cluster.url, clock, Path(tmp))
        clients.callback(server.stop, 1.0)
        address = f"127.0.0.1:{server.port}"
        target, source = build_coalition(address, hub_public_key=hub_public_key, operator_key=operator_key, sources=1)

        def client(brand: Brand) -> ExchangeClient:
            made = clients.enter_context(client_of(address, brand, hub_public_key))
            made.transport.clock_ms = clock.now_ms
            return made

        results = []
        if "ack" in scenarios:
            results.append(late_acknowledgement(cluster.url, clock, client(source), client(target), client(target)))
        if "convert" in scenarios:
            results.append(expired_quote(cluster.url, clock, client(source), client(source)))
        if "resend" in scenarios:
            results.append(resend_across_deadline(cluster.url, clock, client(source), client(target)))
        return results


def main(argv: list[str] | None = None) -> int:
    """Run the races; print one JSON line each; exit 1 if any showed the inconsistency."""
    parser = argparse.ArgumentParser(prog="python -m faults.races", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=(*SCENARIOS, "all"), default="all")
    args = parser.parse_args(argv)
    results = run(list(SCENARIOS) if args.scenario == "all" else [args.scenario])
    for result in results:
        sys.stdout.write(json.dumps(asdict(result)) + "\n")
    return 1 if any(r.inconsistent for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
