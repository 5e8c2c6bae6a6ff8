"""The coalition and its clients: conversions, redemptions and acknowledgements, each recorded.

One target brand and several source brands, each source with an accepted agreement to the
target. Worker threads act as source brands' backends: convert (quote, then convert with an
idempotency key) or redeem (authorise a hold, the target captures parts of it, the source
sometimes voids the rest). Consumer threads act as the brands' instruction loops: the target
acknowledges its credits, the sources their refunds and releases. Some work is wrong on
purpose, so refusals happen too: a quote used twice, a member past the daily cap, a hold above
the agreement's maximum, a capture larger than what is left, an acknowledgement after the
credit deadline. And some deliveries are "lost" (never acknowledged) so the hub redelivers them.

Every call is retried until it gets an answer: the SDK resends the same bytes on UNAVAILABLE,
ABORTED and DEADLINE_EXCEEDED; above it, on any answer that says nothing (INTERNAL too, which
the hub gives while the database is away), the worker calls again with the same idempotency
key (a new signature and nonce), or resends the same signed bytes where a call has no key.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import TypeVar

import grpc

from coalition.exchange.v1 import redemptions_pb2
from faults.history import AMBIGUOUS_CODES, OK, REFUSED, UNKNOWN, History, Op
from partner_sdk import (
    AgreementTerms,
    ExchangeClient,
    ExchangeError,
    Instruction,
    OperatorClient,
    RetryPolicy,
    generate_private_key,
    signing,
)
from partner_sdk.client import MAX_MESSAGE_BYTES
from partner_sdk.errors import ResponseVerificationError
from partner_sdk.keys import Ed25519PrivateKey

T = TypeVar("T")

TARGET = "bank-target"
DAILY_CAP_SOURCE_POINTS = 50_000
MAX_SOURCE_POINTS = 100_000
WHALE_POINTS = 30_000  # a whale's second conversion of the day is past the cap
# The SDK resends the same bytes this long; past it the worker calls again itself.
SDK_RETRY = RetryPolicy(max_attempts=25, initial_backoff_s=0.05, max_backoff_s=1.0, total_timeout_s=30.0)
CALL_TIMEOUT_S = 10.0
OP_GIVE_UP_S = 200.0  # a signature stays valid 300 s; a worker stops asking after this long
HARNESS_BACKOFF_S = (0.05, 1.0)
PULL_MAX = 10  # acknowledged one by one: a batch must be done well inside its lease
PULL_WAIT_S = 1
VOID_REASON = "member cancelled at checkout"


@dataclass(frozen=True)
class Brand:
    """A partner and its signing key."""

    partner_id: str
    key: Ed25519PrivateKey


@dataclass
class BrandBooks:
    """What the brands' own ledgers did, per conversion: points credited at the target, refunded at the source.

    Each consumer applies an instruction to these books before it answers the hub (once per
    instruction id, as an idempotent brand ledger does), including the credits it holds back to
    acknowledge after their deadline: applied, but unacknowledged when the deadline passes.
    """

    credited: dict[str, int] = field(default_factory=dict)  # conversion id -> target points, net of take-backs
    refunded: dict[str, int] = field(default_factory=dict)  # conversion id -> source points given back
    applied: set[str] = field(default_factory=set)
    taken_back: int = 0

    def apply(self, instruction: Instruction) -> None:
        """Apply one instruction, once."""
        if instruction.instruction_id in self.applied or not instruction.conversion_id:
            return
        self.applied.add(instruction.instruction_id)
        conversion = instruction.conversion_id
        if instruction.kind == "CREDIT":
            self.credited[conversion] = self.credited.get(conversion, 0) + instruction.points
        elif instruction.kind == "REFUND" and not instruction.reversal_id:
            self.refunded[conversion] = self.refunded.get(conversion, 0) + instruction.points
        elif instruction.kind == "CREDIT_CANCELLED" and instruction.cancels_instruction_id in self.applied:
            self.credited[conversion] = self.credited.get(conversion, 0) - instruction.points
            self.taken_back += 1


@dataclass(frozen=True)
class Mix:
    """How often each kind of work and each deliberate mistake happens."""

    convert: float = 0.6  # else redeem
    reuse_quote: float = 0.04
    whale: float = 0.03
    above_maximum: float = 0.03
    over_capture: float = 0.06
    void: float = 0.5
    lose_delivery: float = 0.05
    late_ack: float = 0.02


def lease_s(credit_deadline_s: int) -> int:
    """How long a pulled instruction stays hidden: a third of the credit deadline, 5 to 30 s."""
    return min(30, max(5, credit_deadline_s // 3))


def agreement_terms(source: str) -> AgreementTerms:
    """Terms of a source brand's agreement with the target."""
    now = datetime.now(UTC)
    return AgreementTerms(
        source_partner_id=source,
        target_partner_id=TARGET,
        version=1,
        rate=Fraction(3, 2),
        min_source_points=10,
        max_source_points=MAX_SOURCE_POINTS,
        source_increment=1,
        member_daily_cap_source_points=DAILY_CAP_SOURCE_POINTS,
        fee_basis_points=100,
        fee_fixed_points=None,
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(days=30),
        settlement_price_minor=Fraction(1, 2),
        settlement_currency="EUR",
    )


def build_coalition(
    target: str, *, hub_public_key: bytes, operator_key: Ed25519PrivateKey, sources: int
) -> list[Brand]:
    """Register and approve the target and the source brands, agree source -> target; return [target, *sources]."""
    brands = [Brand(TARGET, generate_private_key())]
    brands += [Brand(f"bank-src-{i}", generate_private_key()) for i in range(sources)]
    with OperatorClient(target, private_key=operator_key, hub_public_key=hub_public_key) as operator:
        for index, brand in enumerate(brands):
            with client_of(target, brand, hub_public_key) as client:
                client.register(
                    display_name=brand.partner_id.title(),
                    point_currency="BNKT" if index == 0 else f"BS{index}",
                    settlement_currency="EUR",
                    point_value_minor=Fraction(1, 2),
                )
            operator.approve(brand.partner_id)
    with client_of(target, brands[0], hub_public_key) as target_client:
        for brand in brands[1:]:
            with client_of(target, brand, hub_public_key) as source:
                proposed = source.propose_agreement(agreement_terms(brand.partner_id))
            target_client.accept_agreement(proposed.agreement_id)
    return brands


def client_of(target: str, brand: Brand, hub_public_key: bytes, channel: grpc.Channel | None = None) -> ExchangeClient:
    """An SDK client of one brand, with the retry policy and call deadline of the fault test."""
    return ExchangeClient(
        target,
        partner_id=brand.partner_id,
        key_id="k1",
        private_key=brand.key,
        hub_public_key=hub_public_key,
        timeout_s=CALL_TIMEOUT_S,
        retry=SDK_RETRY,
        channel=channel,
    )


def channel(target: str, interceptor: grpc.UnaryUnaryClientInterceptor[bytes, bytes]) -> grpc.Channel:
    """A client's own connection (round robin over several replicas), reconnecting quickly after a kill."""
    plain = grpc.insecure_channel(
        target,
        options=[
            ("grpc.use_local_subchannel_pool", 1),
            ("grpc.lb_policy_name", "round_robin"),
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    return grpc.intercept_channel(plain, interceptor)


class Workload:
    """The clients' threads, sharing one history and one budget of operations."""

    def __init__(
        self,
        *,
        target: str,
        brands: list[Brand],
        hub_public_key: bytes,
        history: History,
        interceptor: grpc.UnaryUnaryClientInterceptor[bytes, bytes],
        operations: int,
        seed: str,
        mix: Mix | None = None,
        credit_deadline_s: int = 900,
    ) -> None:
        self.target = target
        self.brands = brands
        self.hub_public_key = hub_public_key
        self.history = history
        self.interceptor = interceptor
        self.operations = operations
        self.seed = seed
        self.mix = mix or Mix()
        self.credit_deadline_s = credit_deadline_s
        # Short, so lost deliveries come back well before the credit deadline.
        self.lease_s = lease_s(credit_deadline_s)
        self.stop_work = threading.Event()  # workers: no new operations
        self.stop_consumers = threading.Event()
        self.channels: list[grpc.Channel] = []
        # Credits held back to acknowledge late: instruction id -> (partner, when in epoch seconds).
        self.parked: dict[str, tuple[str, float]] = {}
        self.books = BrandBooks()
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- plumbing

    def client(self, brand: Brand) -> ExchangeClient:
        """An SDK client of its own (own connection, faulty like every other)."""
        own = channel(self.target, self.interceptor)
        with self._lock:
            self.channels.append(own)
        return client_of(self.target, brand, self.hub_public_key, own)

    def close(self) -> None:
        """Close every client connection."""
        for own in self.channels:
            own.close()

    def budget_left(self) -> bool:
        """Whether workers may start another operation."""
        return not self.stop_work.is_set() and self.history.started < self.operations

    def answer(self, op: Op, call: Callable[[], T]) -> T | None:
        """Call until the hub answers; record the outcome; return the result if it was acknowledged."""
        given_up_at = time.monotonic() + OP_GIVE_UP_S
        rng = random.Random(f"{self.seed}:{op.op_id}")
        while True:
            op.calls += 1
            try:
                result = call()
            except ResponseVerificationError as exc:
                self.history.violation(f"op {op.op_id} {op.kind}: an answer failed verification: {exc!r}")
                self.history.finish(op, UNKNOWN, code=exc.code, reason=exc.reason)
                return None
            except ExchangeError as exc:
                if exc.code not in AMBIGUOUS_CODES:
                    self.history.finish(op, REFUSED, code=exc.code, reason=exc.reason)
                    return None
                self.history.count(f"ambiguous.{exc.code}")
                if time.monotonic() > given_up_at:
                    self.history.finish(op, UNKNOWN, code=exc.code, reason=exc.reason)
                    return None
                self.history.count("retries.client_calls")
                time.sleep(rng.uniform(*HARNESS_BACKOFF_S))
                continue
            self.history.finish(op, OK)
            return result

    def unrecorded(self, call: Callable[[], T]) -> T | None:
        """A call whose effect is not checked (a quote, a pull): retried the same way, None if refused."""
        given_up_at = time.monotonic() + OP_GIVE_UP_S
        while True:
            try:
                return call()
            except ExchangeError as exc:
                if exc.code not in AMBIGUOUS_CODES or time.monotonic() > given_up_at:
                    self.history.count(f"side_calls.failed.{exc.reason or exc.code}")
                    return None
                self.history.count(f"ambiguous.{exc.code}")
                self.history.count("retries.client_calls")
                time.sleep(random.uniform(*HARNESS_BACKOFF_S))

    # ----------------------------------------------------------------- workers

    def worker(self, index: int) -> None:
        """A source brand's backend: convert or redeem until the budget is spent."""
        rng = random.Random(f"{self.seed}:worker:{index}")
        sources = self.brands[1:]
        source = self.client(sources[index % len(sources)])
        target = self.client(self.brands[0])
        n = 0
        while self.budget_left():
            n += 1
            tag = f"{index}-{n}"
            if rng.random() < self.mix.convert:
                self._convert(source, rng, tag)
            else:
                self._redeem(source, target, rng, tag)

    def _convert(self, source: ExchangeClient, rng: random.Random, tag: str) -> None:
        whale = rng.random() < self.mix.whale
        points = WHALE_POINTS if whale else rng.randint(10, 5_000)
        member = f"whale-{tag.split('-')[0]}" if whale else f"m-{tag}"
        quote = self.unrecorded(lambda: source.quote_conversion(TARGET, points))
        if quote is None:
            return
        op = self.history.new(
            "convert", source.partner_id, key=f"cnv-{self.seed}-{tag}", quote_id=quote.quote_id, member_ref=member,
            points=points,
        )  # fmt: skip
        done = self.answer(
            op,
            lambda: source.convert(
                quote.quote_id, source_member_ref=member, target_member_ref=f"t-{tag}", idempotency_key=op.key
            ),
        )
        if done is None:
            return
        op.result_id, op.result_state = done.conversion_id, done.state
        if done.quote_id != quote.quote_id or done.amounts != quote.amounts:
            self.history.violation(f"op {op.op_id}: the conversion answered is not the one quoted: {done!r}")
        if rng.random() < self.mix.reuse_quote and self.budget_left():
            again = self.history.new(
                "convert", source.partner_id, key=f"cnv-{self.seed}-{tag}-again", quote_id=quote.quote_id,
                member_ref=member, points=points,
            )  # fmt: skip
            reused = self.answer(
                again,
                lambda: source.convert(
                    quote.quote_id, source_member_ref=member, target_member_ref=f"t-{tag}", idempotency_key=again.key
                ),
            )
            if reused is not None:
                again.result_id, again.result_state = reused.conversion_id, reused.state

    def _redeem(self, source: ExchangeClient, target: ExchangeClient, rng: random.Random, tag: str) -> None:
        points = MAX_SOURCE_POINTS + 1 if rng.random() < self.mix.above_maximum else rng.randint(100, 5_000)
        expires_in_s = 60 if rng.random() < 0.2 else 0
        op = self.history.new(
            "authorize", source.partner_id, key=f"hold-{self.seed}-{tag}", member_ref=f"h-{tag}", points=points
        )
        hold = self.answer(
            op,
            lambda: source.authorize_hold(
                TARGET, points, source_member_ref=op.member_ref, expires_in_s=expires_in_s, idempotency_key=op.key
            ),
        )
        if hold is None:
            return
        op.result_id = op.hold_id = hold.hold_id
        op.result_state = hold.state
        remaining = hold.remaining_points
        for j in range(rng.choice((0, 1, 1, 2, 3))):
            if remaining <= 0 or not self.budget_left():
                break
            if rng.random() < self.mix.over_capture:
                amount = remaining + 1
            elif rng.random() < 0.25:
                amount = remaining
            else:
                amount = rng.randint(1, max(1, remaining // 2))
            key = f"cap-{self.seed}-{tag}-{j}"
            capture = self.history.new("capture", TARGET, key=key, hold_id=hold.hold_id, reference=key, points=amount)
            captured = self.answer(
                capture,
                lambda amount=amount, key=key: target.capture_hold(  # type: ignore[misc]
                    hold.hold_id, amount, target_reference=key, idempotency_key=key
                ),
            )
            if captured is None:
                continue
            mine = [c for c in captured.captures if c.target_reference == key]
            if len(mine) != 1 or mine[0].source_points != amount:
                self.history.violation(f"op {capture.op_id}: the capture answered is not the one asked: {captured!r}")
                continue
            capture.result_id, capture.result_state = mine[0].capture_id, captured.state
            remaining = captured.remaining_points
        if rng.random() < self.mix.void and self.budget_left():
            void = self.history.new("void", source.partner_id, hold_id=hold.hold_id)
            voided = self.answer(void, self._same_bytes_void(source, hold.hold_id))
            if voided is not None:
                void.result_state = redemptions_pb2.HoldState.Name(voided.hold.state).removeprefix("HOLD_STATE_")

    @staticmethod
    def _same_bytes_void(client: ExchangeClient, hold_id: str) -> Callable[[], redemptions_pb2.VoidHoldResponse]:
        """VoidHold has no idempotency key: sign it once and resend those very bytes until answered."""
        method = "/coalition.exchange.v1.RedemptionService/VoidHold"
        transport = client.transport
        body = redemptions_pb2.VoidHoldRequest(hold_id=hold_id, reason=VOID_REASON).SerializeToString()
        headers = signing.sign_request(
            transport.private_key,
            method=method,
            principal=transport.principal,
            key_id=transport.key_id,
            body=body,
            timestamp_ms=transport.clock_ms(),
        )
        return lambda: transport.send(
            method, body, headers.as_metadata(), headers.nonce, redemptions_pb2.VoidHoldResponse
        )

    # ----------------------------------------------------------------- instruction consumers

    def consumer(self, index: int, brands: list[Brand]) -> None:
        """An instruction loop for these brands: pull, acknowledge (or lose, or hold back a credit)."""
        rng = random.Random(f"{self.seed}:consumer:{index}")
        clients = [self.client(brand) for brand in brands]
        while not self.stop_consumers.is_set():
            got = 0
            for client in clients:
                pulled = self.unrecorded(
                    lambda client=client: client.pull_instructions(  # type: ignore[misc]
                        max_instructions=PULL_MAX,
                        wait_s=PULL_WAIT_S if len(clients) == 1 else 0,
                        lease_s=self.lease_s,
                    )
                )
                for instruction in pulled or ():
                    got += 1
                    self._consume(client, instruction, rng)
                self._late_acks(client)
            if not got and len(clients) > 1:
                self.stop_consumers.wait(0.2)

    def _consume(self, client: ExchangeClient, instruction: Instruction, rng: random.Random) -> None:
        self.history.count(f"instructions.delivered.{instruction.kind}")
        if instruction.delivery_count > 1:
            self.history.count("instructions.redelivered")
        with self._lock:
            if instruction.instruction_id in self.parked:
                return
        roll = rng.random()
        if roll < self.mix.lose_delivery:
            self.history.count("instructions.lost_on_purpose")
            return
        with self._lock:
            self.books.apply(instruction)  # the brand's own ledger first, then the answer to the hub
        late = roll < self.mix.lose_delivery + self.mix.late_ack
        if late and instruction.kind == "CREDIT" and instruction.deadline is not None and not self.stop_work.is_set():
            with self._lock:
                self.parked[instruction.instruction_id] = (client.partner_id, instruction.deadline.timestamp() + 1.0)
            return
        self._acknowledge(client, instruction.instruction_id)

    def _late_acks(self, client: ExchangeClient) -> None:
        now = time.time()
        with self._lock:
            due = [i for i, (owner, at) in self.parked.items() if owner == client.partner_id and at <= now]
            for instruction_id in due:
                del self.parked[instruction_id]
        for instruction_id in due:
            self.history.count("instructions.acknowledged_late_on_purpose")
            self._acknowledge(client, instruction_id)

    def _acknowledge(self, client: ExchangeClient, instruction_id: str) -> None:
        reference = f"ack-{instruction_id}"
        op = self.history.new("ack", client.partner_id, instruction_id=instruction_id, reference=reference)
        done = self.answer(op, lambda: client.acknowledge_instruction(instruction_id, partner_reference=reference))
        if done is not None:
            op.result_state = done.state
            if done.state != "ACKNOWLEDGED" or done.partner_reference != reference:
                self.history.violation(f"op {op.op_id}: the acknowledgement answered {done!r}")

    def parked_count(self) -> int:
        """Credits still held back for a late acknowledgement."""
        with self._lock:
            return len(self.parked)
