"""The life of a conversion: states, who moves it where, and its history."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from exchange.domain.agreements import Agreement
from exchange.domain.errors import FailedPrecondition, NotFound, PermissionDenied
from exchange.domain.partners import Partner
from exchange.domain.pricing import ConversionAmounts, ReversalAmounts

HUB_ACTOR = "hub"
DEFAULT_CREDIT_DEADLINE_MS = 15 * 60 * 1000
QUOTE_TTL_MS = 60_000


class ConversionState(enum.Enum):
    """Where a conversion stands."""

    PENDING_CREDIT = "PENDING_CREDIT"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    REFUNDED = "REFUNDED"


# Who may move a conversion from one state to another; nothing else is allowed.
TRANSITIONS: dict[ConversionState, frozenset[ConversionState]] = {
    ConversionState.PENDING_CREDIT: frozenset(
        {ConversionState.COMPLETED, ConversionState.REJECTED, ConversionState.EXPIRED}
    ),
    ConversionState.REJECTED: frozenset({ConversionState.REFUNDED}),
    ConversionState.EXPIRED: frozenset({ConversionState.REFUNDED}),
    ConversionState.COMPLETED: frozenset(),
    ConversionState.REFUNDED: frozenset(),
}

# States in which the member's points count against daily caps (the conversion stands).
STANDING_STATES = frozenset({ConversionState.PENDING_CREDIT, ConversionState.COMPLETED})


@dataclass(frozen=True, slots=True)
class ConversionEvent:
    """One state change, kept forever."""

    at_ms: int
    actor: str
    from_state: ConversionState | None
    to_state: ConversionState
    note: str = ""


@dataclass(frozen=True, slots=True)
class Reversal:
    """A reversal of part of a completed conversion."""

    reversal_id: str
    amounts: ReversalAmounts
    reason: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class Quote:
    """A priced, single-use offer to convert."""

    quote_id: str
    agreement_id: str
    agreement_version: int
    source_partner_id: str
    target_partner_id: str
    amounts: ConversionAmounts
    created_at_ms: int
    expires_at_ms: int
    used_by: str | None = None


@dataclass(frozen=True, slots=True)
class Conversion:
    """A conversion with its history and reversals."""

    conversion_id: str
    quote_id: str
    agreement_id: str
    agreement_version: int
    source_partner_id: str
    target_partner_id: str
    source_member_ref: str
    target_member_ref: str
    amounts: ConversionAmounts
    state: ConversionState
    credit_deadline_ms: int
    created_at_ms: int
    history: tuple[ConversionEvent, ...] = ()
    reversals: tuple[Reversal, ...] = field(default=())

    def is_party(self, partner_id: str) -> bool:
        """Return whether the partner is the source or the target."""
        return partner_id in (self.source_partner_id, self.target_partner_id)

    def reversed_so_far(self) -> ReversalAmounts:
        """Return the sum of the reversals so far."""
        return ReversalAmounts(
            sum(r.amounts.target_points for r in self.reversals),
            sum(r.amounts.source_points for r in self.reversals),
            sum(r.amounts.settlement_amount_minor for r in self.reversals),
        )


def require_usable_quote(quote: Quote | None, caller: str, quote_id: str, now_ms: int) -> Quote:
    """Return the quote if the caller may convert against it now, or raise saying why not."""
    if quote is None or quote.source_partner_id != caller:
        raise NotFound("QUOTE_NOT_FOUND", f"no quote {quote_id!r}", field="quote_id")
    if quote.used_by is not None:
        raise FailedPrecondition("QUOTE_ALREADY_USED", f"quote {quote_id!r} was already used", field="quote_id")
    if now_ms >= quote.expires_at_ms:
        raise FailedPrecondition(
            "QUOTE_EXPIRED", f"quote {quote_id!r} has expired; ask for a new one", field="quote_id", final=True
        )
    return quote


def move(conversion: Conversion, to_state: ConversionState, *, actor: str, at_ms: int, note: str = "") -> Conversion:
    """Move a conversion to another state, appending the event, or raise FailedPrecondition."""
    if to_state not in TRANSITIONS[conversion.state]:
        raise FailedPrecondition(
            f"CONVERSION_{conversion.state.value}",
            f"conversion {conversion.conversion_id!r} is {conversion.state.value} and cannot become {to_state.value}",
        )
    event = ConversionEvent(at_ms, actor, conversion.state, to_state, note)
    return replace(conversion, state=to_state, history=(*conversion.history, event))


def require_reversible(conversion: Conversion, caller: str) -> None:
    """Only the target partner reverses, and only a COMPLETED conversion."""
    if caller != conversion.target_partner_id:
        raise PermissionDenied(
            "NOT_TARGET_PARTNER", "only the target partner, which credited the member, reverses a conversion"
        )
    if conversion.state is not ConversionState.COMPLETED:
        raise FailedPrecondition(
            "CONVERSION_NOT_COMPLETED", f"conversion {conversion.conversion_id!r} is {conversion.state.value}"
        )


@dataclass(frozen=True, slots=True)
class ConversionParties:
    """What a conversion is made against, read with the source brand's row lock (None when not found).

    The partners come without their keys: a conversion does not need them.
    """

    source: Partner
    quote: Quote | None
    agreement: Agreement | None
    target: Partner | None
