"""What the hub keeps of a call's first answer, so that member data never waits in it.

The first answer to a signed call is kept under its nonce (``request_nonces``) and, for calls
with an idempotency key, under the key (``idempotency_keys``), so that a resend or a retry gets
the same answer without the call running twice. Answers can carry member data, and these tables
outlive the member (idempotency keys are never pruned), so the rule is:

- An answer that holds attribute values or a secret (``ReadAttributes``, ``CreateLinkCode``,
  the member's consents, links and access log), or that names more than one member (a page of
  conversions, a batch of instructions), is **not kept**. The record says ``NOT_KEPT`` and
  holds no body; a resend is told ``FAILED_PRECONDITION ANSWER_NOT_KEPT``: the call happened
  once, and the caller asks again with a new request (the SDK does this by itself). These are
  reads, or calls that are safe to repeat (a second link code), so nothing happens twice.
- An answer that names exactly one member reference (always the caller's own: a conversion, a
  hold, a donation) is **kept**, with the keyed tag of that reference
  (``exchange.secrets.pairwise.member_tag``). Erasing the member empties every kept answer with
  one of the member's tags (outcome ``ERASED``), as it replaces the reference in the conversion
  and hold rows; a resend then gets ``NOT_FOUND MEMBER_ERASED``.
- An answer that names no member is kept as it is.

Why not seal kept answers under the member's data key: values are never kept, so what remains is
the caller's own member reference, which the conversion and hold rows hold in clear for as long
as the member exists and which erasure scrubs from both by the same rule. Sealing would add a
data-key lookup to every conversion for no reference that isn't already in the row beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from exchange.domain.errors import ExchangeError, FailedPrecondition, NotFound, revive

OUTCOME_OK = "OK"
OUTCOME_NOT_KEPT = "NOT_KEPT"
OUTCOME_ERASED = "ERASED"
ANSWER_NOT_KEPT = "ANSWER_NOT_KEPT"


@dataclass(frozen=True, slots=True)
class Answer:
    """A call's answer and what may be kept of it."""

    body: bytes
    kept: bool = True
    member_tag: str = ""
    subject: str = ""  # the id of what the call acted on, for the audit log (exchange.api.answer_subject)

    @property
    def outcome(self) -> str:
        """The outcome to record: OK, or NOT_KEPT."""
        return OUTCOME_OK if self.kept else OUTCOME_NOT_KEPT

    @property
    def stored_body(self) -> bytes:
        """The bytes to record: the body if kept, else nothing."""
        return self.body if self.kept else b""


def answer_of(
    body: bytes, *, keeps_member_data: bool, member_refs: Collection[str], tag: Callable[[str], str]
) -> Answer:
    """Decide what of an answer is kept (see the module docstring).

    Args:
        body: The serialized answer.
        keeps_member_data: False for methods whose answers hold values or secrets: never kept.
        member_refs: The distinct member references the answer names.
        tag: The keyed tag of one of the caller's member references.
    """
    if not keeps_member_data or len(member_refs) > 1:
        return Answer(body, kept=False)
    if member_refs:
        (member_ref,) = member_refs
        return Answer(body, member_tag=tag(member_ref))
    return Answer(body)


def replayed(outcome: str, body: bytes, reason: str, message: str, field: str) -> bytes:
    """Return a recorded answer again, or raise what stands in for it.

    Raises:
        ExchangeError: the recorded refusal, ANSWER_NOT_KEPT, or MEMBER_ERASED.
    """
    if outcome == OUTCOME_OK:
        return body
    raise refusal_for(outcome) or revive(outcome, reason, message, field)


def refusal_for(outcome: str) -> ExchangeError | None:
    """The refusal that stands in for an answer that was not kept or was erased, else None."""
    if outcome == OUTCOME_NOT_KEPT:
        return FailedPrecondition(
            ANSWER_NOT_KEPT,
            "this request was answered once; its answer held member data and is not kept: "
            "send the request again as a new request (new nonce)",
        )
    if outcome == OUTCOME_ERASED:
        return NotFound("MEMBER_ERASED", "this request's answer named a member who has since been erased")
    return None
