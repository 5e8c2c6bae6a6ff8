"""InstructionLoop: apply the hub's credit, refund, release, cancellation, benefit and tier instructions with a handler.

The hub delivers each instruction at least once: until it is acknowledged or rejected it comes
back on a later pull, after its lease. The loop runs your handler, then acknowledges with the
reference the handler returns, or rejects with the reason it raises::

    class Ledger:
        def credit(self, instruction: Instruction) -> str:
            # Idempotent on instruction.instruction_id: a unique constraint in your ledger.
            return my_ledger.credit_once(instruction.instruction_id, instruction.member_ref, instruction.points)

        def refund(self, instruction: Instruction) -> str:
            return my_ledger.refund_once(instruction.instruction_id, instruction.member_ref, instruction.points)

        def release(self, instruction: Instruction) -> str:
            # Points reserved for instruction.hold_id that were not captured.
            return my_ledger.unreserve_once(instruction.instruction_id, instruction.hold_id, instruction.points)

        def cancel_credit(self, instruction: Instruction) -> str:
            # The hub cancelled the credit instruction.cancels_instruction_id after delivering it
            # (its deadline passed before an acknowledgement reached the hub) and refunded the
            # source: take those points back if you applied them; a no-op if you never did.
            return my_ledger.reverse_once(instruction.instruction_id, instruction.cancels_instruction_id)

    stop = threading.Event()
    state = SqliteLoopState("var/stride-instructions.sqlite3")  # or MemoryLoopState(), the default
    threading.Thread(target=InstructionLoop(client, Ledger(), state=state).run, args=(stop,)).start()

Exactly once: the loop records (in its LoopState) what it did with each instruction, so a
redelivered one is acknowledged again with the same reference without calling the handler
twice, and an acknowledgement or rejection the hub did not take (it, its database or the
network was down) is sent again before the next pull, with capped backoff, until the hub
answers for good; it does not wait for a redelivery, which never comes once a credit's deadline
has passed. Each resend is signed anew: the hub answers a second acknowledgement of the same
instruction as already acknowledged, which the loop counts as done. The default MemoryLoopState
is lost when the process restarts; SqliteLoopState keeps it in a file. Either way your handler
must be idempotent on ``instruction.instruction_id`` (for example a unique constraint in your
own ledger) and return the same reference when it sees an id again: the process can die between
applying an instruction and recording that it did.

If a credit's answer still has not reached the hub by the credit's deadline, the hub cancels
the credit, refunds the source brand, and sends a CREDIT_CANCELLED instruction naming the
credit, so the target takes the points back (``cancel_credit``) and the member is not paid twice.

A partner of a joint paid membership (partner_sdk.memberships) also gives its handler
``grant_benefit`` and ``revoke_benefit``: BENEFIT_GRANT says to honour instruction.benefits for
instruction.member_ref from honoured_from until honoured_until (a renewal sends another grant
with the new end), BENEFIT_REVOKE to stop honouring instruction.membership_id's benefits from
honoured_until::

        def grant_benefit(self, instruction: Instruction) -> str:
            return perks.honour_once(instruction.instruction_id, instruction.member_ref,
                                     instruction.membership_id, instruction.benefits, instruction.honoured_until)

        def revoke_benefit(self, instruction: Instruction) -> str:
            return perks.end_once(instruction.instruction_id, instruction.membership_id, instruction.honoured_until)

A recogniser of status matches (partner_sdk.status_match) also gives its handler
``tier_matched`` and ``tier_match_ended``: TIER_MATCHED says to recognise instruction.member_ref
at instruction.matched_tier until instruction.match_ends_at (their instruction.attester_tier at
instruction.attester_partner_id was matched), TIER_MATCH_ENDED that the match instruction.match_id
ended at match_ends_at, for instruction.reason::

        def tier_matched(self, instruction: Instruction) -> str:
            return tiers.recognise_once(instruction.instruction_id, instruction.member_ref, instruction.match_id,
                                        instruction.matched_tier, instruction.match_ends_at)

        def tier_match_ended(self, instruction: Instruction) -> str:
            return tiers.end_once(instruction.instruction_id, instruction.match_id, instruction.match_ends_at)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from partner_sdk._loop_state import LoopOutcome, LoopState, MemoryLoopState
from partner_sdk._models import Instruction
from partner_sdk.errors import (
    AbortedError,
    DeadlineExceededError,
    ExchangeError,
    FailedPreconditionError,
    UnavailableError,
)
from partner_sdk.retry import RetryPolicy

__all__ = [
    "ALREADY_ACKNOWLEDGED",
    "LOOP_BACKOFF",
    "REMEMBERED_INSTRUCTIONS",
    "InstructionHandler",
    "InstructionLoop",
    "InstructionSource",
    "RejectInstruction",
]

REMEMBERED_INSTRUCTIONS = 10_000
"""How many handled instruction ids the loop remembers by default (least recently seen dropped first)."""

LOOP_BACKOFF = RetryPolicy(initial_backoff_s=0.5, max_backoff_s=30.0)
"""The loop's pause after a pull fails transiently: full jitter, doubling, capped at 30 s."""

ALREADY_ACKNOWLEDGED = "INSTRUCTION_ACKNOWLEDGED"
"""The hub's reason when an instruction was acknowledged already (by another process, or with
another reference): it counts as applied, so on_cancelled is not called for it."""

_TRANSIENT = (UnavailableError, DeadlineExceededError, AbortedError)
_MAX_BACKOFF_STEP = 32  # failures beyond this don't grow the pause bound (and can't overflow it)
_IDLE_PAUSE_S = 1.0  # between empty pulls when the loop does not long-poll (wait_s=0)

_log = logging.getLogger("partner_sdk.instructions")  # its name since 0.1: brands configure it


_HANDLER_METHODS = {
    "CREDIT": "credit",
    "REFUND": "refund",
    "RELEASE": "release",
    "CREDIT_CANCELLED": "cancel_credit",
    "BENEFIT_GRANT": "grant_benefit",
    "BENEFIT_REVOKE": "revoke_benefit",
    "TIER_MATCHED": "tier_matched",
    "TIER_MATCH_ENDED": "tier_match_ended",
}
RESEND_BATCH = 100
"""How many owed answers the loop resends before each pull."""


class RejectInstruction(Exception):
    """Raise from a handler's credit() to refuse the credit; reason goes to the source partner.

    Attributes:
        reason: why, 1 to 500 characters (for example "member unknown").
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InstructionHandler(Protocol):
    """What a brand implements to apply instructions in its own ledger.

    Each method applies one instruction and returns the brand's own reference for it (for
    example its ledger entry id, 1 to 128 characters). Both must be idempotent on
    instruction.instruction_id across process restarts. Any exception other than
    RejectInstruction leaves the instruction unacknowledged; it comes back after its lease.

    ``cancel_credit(instruction) -> str`` takes back a credit the hub cancelled after
    delivering it (CREDIT_CANCELLED, naming the credit in instruction.cancels_instruction_id):
    reverse it if it was applied, do nothing if it was not, and return a reference. A handler
    without it leaves such instructions unacknowledged (they are logged as errors and come back).

    A partner of a joint paid membership also defines ``grant_benefit(instruction) -> str``
    (honour instruction.benefits for the member until instruction.honoured_until; a renewal's
    grant extends it) and ``revoke_benefit(instruction) -> str`` (stop honouring
    instruction.membership_id's benefits from instruction.honoured_until). Like refunds, neither
    can be refused (RejectInstruction leaves them unacknowledged and logged); a handler without
    them leaves such instructions unacknowledged, logged as errors, and they come back.

    A recogniser of status matches also defines ``tier_matched(instruction) -> str`` (recognise
    instruction.member_ref at instruction.matched_tier until instruction.match_ends_at) and
    ``tier_match_ended(instruction) -> str`` (stop recognising the match instruction.match_id
    from instruction.match_ends_at; instruction.reason says why). Like the benefit methods,
    neither can be refused, and a handler without them leaves such instructions unacknowledged.

    A handler may also define ``on_cancelled(instruction, error) -> None``: the loop calls it
    when the hub refuses an acknowledgement with FailedPreconditionError, meaning the hub does
    not count what the handler did (a credit acknowledged after its deadline passed, or one
    another process rejected). A handler with ``cancel_credit`` does not need it: the hub sends
    CREDIT_CANCELLED for every cancelled credit it had delivered, so on_cancelled is then not
    called. It is never called when the instruction was already acknowledged (reason
    INSTRUCTION_ACKNOWLEDGED). Without either, the loop logs the refusal as an error.
    """

    def credit(self, instruction: Instruction) -> str:
        """Credit instruction.points to instruction.member_ref; raise RejectInstruction to refuse."""
        ...

    def refund(self, instruction: Instruction) -> str:
        """Give instruction.points back to instruction.member_ref (a refund can't be refused)."""
        ...

    def release(self, instruction: Instruction) -> str:
        """Release points reserved for instruction.hold_id that were not captured (can't be refused)."""
        ...

    def cancel_credit(self, instruction: Instruction) -> str:
        """Take back the credit instruction.cancels_instruction_id if it was applied (can't be refused)."""
        ...


class InstructionSource(Protocol):
    """The calls the loop needs; ExchangeClient provides them (a test may pass a fake)."""

    def pull_instructions(self, *, max_instructions: int, wait_s: int, lease_s: int) -> tuple[Instruction, ...]:
        """Fetch pending instructions (long poll)."""
        ...

    def acknowledge_instruction(self, instruction_id: str, *, partner_reference: str) -> Instruction:
        """Acknowledge an applied instruction."""
        ...

    def reject_instruction(self, instruction_id: str, *, reason: str) -> Instruction:
        """Refuse a credit instruction."""
        ...


class InstructionLoop:
    """Pulls instructions, applies them with a handler, and acknowledges or rejects them.

    One loop is driven by one thread at a time. Transient failures (UnavailableError,
    DeadlineExceededError, AbortedError) never stop run(): it pauses with capped, jittered
    backoff and pulls again. Any other error from a pull (a revoked key, a suspended partner,
    an unverifiable answer) ends run() with that exception.

    Args:
        client: an ExchangeClient (or anything with its three instruction calls).
        handler: the brand's InstructionHandler.
        max_instructions: the most instructions per pull (at most 200).
        wait_s: how long each pull waits for an instruction to arrive, 0 to 20 seconds.
        lease_s: how long pulled instructions are hidden from other pulls (5 to 300 s); the
            handler should settle a whole pull within it.
        remember: how many handled instruction ids the default MemoryLoopState remembers
            (least recently seen first out), so a redelivery doesn't call the handler again.
        backoff: the pause policy after a transient failure of a pull or of a resent answer.
        logger: where to log; partner_sdk.instructions by default.
        state: where outcomes are kept (a LoopState); a MemoryLoopState by default.
    """

    def __init__(
        self,
        client: InstructionSource,
        handler: InstructionHandler,
        *,
        max_instructions: int = 50,
        wait_s: int = 10,
        lease_s: int = 30,
        remember: int = REMEMBERED_INSTRUCTIONS,
        backoff: RetryPolicy = LOOP_BACKOFF,
        logger: logging.Logger | None = None,
        state: LoopState | None = None,
    ) -> None:
        if remember < 1:
            raise ValueError("remember must be at least 1")
        self._client = client
        self._handler = handler
        self._max_instructions = max_instructions
        self._wait_s = wait_s
        self._lease_s = lease_s
        self._backoff = backoff
        self._log = logger or _log
        self._state: LoopState = state if state is not None else MemoryLoopState(remember)

    @property
    def remembered(self) -> int:
        """How many instruction ids the default in-memory state holds (at most ``remember``)."""
        return len(self._state) if isinstance(self._state, MemoryLoopState) else 0

    @property
    def owed(self) -> int:
        """How many answers (acknowledgements, rejections) the hub has not taken yet."""
        return len(self._state.unanswered(RESEND_BATCH))

    def run(self, stop: threading.Event | None = None) -> None:
        """Resend owed answers, then pull and handle instructions, until stop is set (forever without one).

        A stop set during a long poll takes effect when that pull returns (within wait_s).

        Raises:
            ExchangeError: a pull failed for a reason other than a transient one.
        """
        stop = stop or threading.Event()
        failures = 0
        while not stop.is_set():
            try:
                self.resend_owed()
                pulled, _ = self._pull_and_handle()
            except _TRANSIENT as error:
                failures += 1
                pause = self._backoff.pause_s(min(failures, _MAX_BACKOFF_STEP))
                self._log.warning("the hub is unreachable (%s); retrying in %.1f s", error, pause)
                stop.wait(pause)
                continue
            failures = 0
            if pulled == 0 and self._wait_s <= 0:
                stop.wait(_IDLE_PAUSE_S)

    def run_once(self) -> int:
        """Resend owed answers, pull once and handle what arrived.

        Returns:
            How many instructions were settled by the pull: acknowledged, rejected, or dropped
            because the hub no longer accepts them. Those left unanswered are not counted.

        Raises:
            ExchangeError: a resend or the pull failed (transient failures included: run() retries them).
        """
        self.resend_owed()
        return self._pull_and_handle()[1]

    def resend_owed(self) -> int:
        """Send again every answer the hub has not taken, oldest first; return how many it took.

        Raises:
            UnavailableError, DeadlineExceededError, AbortedError: the hub is still unreachable
                (the answers stay owed).
        """
        taken = 0
        while True:
            owed = self._state.unanswered(RESEND_BATCH)
            if not owed:
                return taken
            for outcome in owed:
                self._log.info("sending the %s of instruction %s again", outcome.action, outcome.instruction_id)
                self._send(outcome)
                taken += 1

    def _pull_and_handle(self) -> tuple[int, int]:
        instructions = self._client.pull_instructions(
            max_instructions=self._max_instructions, wait_s=self._wait_s, lease_s=self._lease_s
        )
        settled = 0
        for instruction in instructions:
            try:
                settled += self._handle(instruction)
            except _TRANSIENT as error:
                self._log.warning(
                    "could not answer instruction %s (%s); the answer is owed and will be sent again",
                    instruction.instruction_id,
                    error,
                )
        return len(instructions), settled

    def _handle(self, instruction: Instruction) -> bool:
        """Apply (or recall) one instruction and answer the hub; return whether it is settled.

        Raises:
            UnavailableError, DeadlineExceededError, AbortedError: the answer did not reach the
                hub; it stays owed in the state.
        """
        instruction_id = instruction.instruction_id
        outcome = self._state.get(instruction_id)
        if outcome is None:
            outcome = self._apply(instruction)
            if outcome is None:
                return False
            self._state.put(outcome)
        elif outcome.action == "drop":
            self._log.warning("instruction %s came back after the hub refused it; ignored", instruction_id)
            return False
        else:
            self._log.info("instruction %s delivered again; answering as before", instruction_id)
        return self._send(outcome, instruction)

    def _apply(self, instruction: Instruction) -> LoopOutcome | None:
        """Run the handler; return the answer to give, or None to leave it unacknowledged."""
        method: Callable[[Instruction], str] | None = getattr(
            self._handler, _HANDLER_METHODS.get(instruction.kind, ""), None
        )
        if method is None:
            self._log.error(
                "instruction %s is a %s, which this handler can't apply (or this SDK does not know); "
                "left unacknowledged",
                instruction.instruction_id,
                instruction.kind,
            )
            return None
        try:
            reference = method(instruction)
        except RejectInstruction as refusal:
            if instruction.kind != "CREDIT":
                self._log.error(
                    "instruction %s is a %s, which can't be refused; left unacknowledged",
                    instruction.instruction_id,
                    instruction.kind,
                )
                return None
            return LoopOutcome(instruction.instruction_id, instruction.kind, "reject", refusal.reason)
        except Exception:
            self._log.exception(
                "the handler failed on instruction %s; it will be delivered again after its lease",
                instruction.instruction_id,
            )
            return None
        if not isinstance(reference, str) or not reference:
            self._log.error(
                "the handler returned %r for instruction %s, not a reference; left unacknowledged",
                reference,
                instruction.instruction_id,
            )
            return None
        return LoopOutcome(instruction.instruction_id, instruction.kind, "acknowledge", reference)

    def _send(self, outcome: LoopOutcome, instruction: Instruction | None = None) -> bool:
        """Send an acknowledgement or rejection; return whether the instruction is settled.

        A transient failure propagates and leaves the answer owed; any definite answer from the
        hub (taken, or refused for good) settles it in the state.

        Raises:
            UnavailableError, DeadlineExceededError, AbortedError: as sent by the hub.
        """
        instruction_id = outcome.instruction_id
        try:
            if outcome.action == "acknowledge":
                self._client.acknowledge_instruction(instruction_id, partner_reference=outcome.text)
            else:
                self._client.reject_instruction(instruction_id, reason=outcome.text)
        except _TRANSIENT:
            raise
        except FailedPreconditionError as error:
            self._state.put(LoopOutcome(instruction_id, outcome.kind, "drop", error.reason, answered=True))
            if outcome.action == "acknowledge" and error.reason != ALREADY_ACKNOWLEDGED:
                self._cancelled(outcome, instruction, error)
            else:
                self._log.warning(
                    "the hub refused to %s instruction %s: %s; dropped", outcome.action, instruction_id, error
                )
            return True
        except ExchangeError as error:
            self._state.put(LoopOutcome(instruction_id, outcome.kind, outcome.action, outcome.text, answered=True))
            self._log.error(
                "the hub refused to %s instruction %s: %s; will answer again when it is redelivered",
                outcome.action,
                instruction_id,
                error,
            )
            return False
        self._state.put(LoopOutcome(instruction_id, outcome.kind, outcome.action, outcome.text, answered=True))
        return True

    def _cancelled(self, outcome: LoopOutcome, instruction: Instruction | None, error: FailedPreconditionError) -> None:
        if hasattr(self._handler, "cancel_credit"):
            self._log.warning(
                "the hub refused the acknowledgement of instruction %s (%s); its CREDIT_CANCELLED "
                "instruction will take the credit back",
                outcome.instruction_id,
                error,
            )
            return
        hook: Callable[[Instruction, ExchangeError], object] | None = getattr(self._handler, "on_cancelled", None)
        if hook is None or instruction is None:
            self._log.error(
                "the hub refused the acknowledgement of %s instruction %s (%s): if it was applied, "
                "undo it (define cancel_credit on the handler to do so automatically)",
                outcome.kind,
                outcome.instruction_id,
                error,
            )
            return
        self._log.warning("the hub refused the acknowledgement of instruction %s: %s", outcome.instruction_id, error)
        try:
            hook(instruction, error)
        except Exception:
            self._log.exception("the handler's on_cancelled failed on instruction %s", outcome.instruction_id)
