"""Many conversions from one source in one transaction, set-based: what ConvertBatch's items do.

Each item is the conversion a Convert call would make (unquoted items priced now, as
QuoteConversion would), and fails alone with the refusal that call would get. What differs is
the work per item: the source's row lock is taken once; the quotes, agreements and target
partners of every item are read in a statement each; the three limits' figures are read once,
grouped, and kept running in Python as the items are decided one after another
(exchange.domain.limits.RunningFigures), so each item is checked against what was committed
before and the items accepted before it; and what the accepted items write goes in one
multi-row statement per table. Nothing is written for a refused item, so no savepoint is
needed.

A batch's writes can still fail as a whole (a database error, a NUL in a text that PostgreSQL
refuses: items are checked for those first); the call then fails, and nothing of it is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Connection

from exchange.domain import conversions as rules
from exchange.domain.agreements import Agreement, AgreementStatus, require_usable
from exchange.domain.conversions import Conversion, ConversionEvent, ConversionState, Quote
from exchange.domain.errors import ExchangeError, InvalidArgument, NotFound
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin
from exchange.domain.ledger import LedgerTransaction, conversion_transaction
from exchange.domain.limits import HOUR_MS, ConversionAsk, ConversionLimits, utc_day
from exchange.domain.members import parse_member_ref
from exchange.domain.partners import Partner
from exchange.domain.pricing import price_conversion
from exchange.service import members
from exchange.service.authentication import Caller
from exchange.service.conversions import ConversionPolicy, active_target
from exchange.store.agreements_repo import AgreementRepository
from exchange.store.conversions_repo import ConversionRepository
from exchange.store.ids import new_id
from exchange.store.instructions_repo import InstructionRepository
from exchange.store.ledger_repo import LedgerRepository
from exchange.store.partners_repo import PartnerRepository


@dataclass(frozen=True, slots=True)
class ConversionOrder:
    """One conversion asked for in a batch: a quote to use, or a target and points to price now."""

    source_member_ref: str
    target_member_ref: str = ""
    pairwise_member_id: str = ""
    quote_id: str = ""
    target_partner_id: str = ""
    source_points: int = 0


@dataclass(slots=True)
class _Decided:
    """What a batch has decided so far: the conversions it makes and what each writes."""

    made_quotes: list[tuple[Quote, str]]  # quotes priced by the batch, with the conversion that used each
    used_quotes: list[tuple[str, str]]  # quotes given by id: (quote id, conversion id)
    conversions: list[Conversion]
    transactions: list[LedgerTransaction]
    credits: list[Instruction]


class _Batch:
    """What every item is decided against: the source, its quotes, agreements, targets and running limits."""

    def __init__(
        self,
        connection: Connection,
        caller: Caller,
        orders: Sequence[ConversionOrder],
        *,
        now_ms: int,
        policy: ConversionPolicy,
    ) -> None:
        self.connection = connection
        self.caller = caller
        self.now_ms = now_ms
        self.policy = policy
        conversions = ConversionRepository(connection)
        self.source = conversions.lock_source(caller.principal)
        self.quotes = conversions.quotes_of(caller.principal, {o.quote_id for o in orders if _plain(o.quote_id)})
        unquoted_targets = {o.target_partner_id for o in orders if not o.quote_id and _plain(o.target_partner_id)}
        self.agreements = AgreementRepository(connection).for_batch(
            caller.principal, {q.agreement_id for q in self.quotes.values()}, unquoted_targets
        )
        self.active: dict[str, Agreement] = {
            a.terms.target_partner_id: a
            for a in self.agreements.values()
            if a.terms.source_partner_id == caller.principal and a.status is AgreementStatus.ACTIVE
        }
        self.targets = PartnerRepository(connection).without_keys(
            unquoted_targets | {q.target_partner_id for q in self.quotes.values()}
        )
        currencies = {q.amounts.settlement_currency for q in self.quotes.values()}
        currencies |= {a.terms.settlement_currency for a in self.active.values()}
        self.figures = conversions.running_figures(
            caller.principal,
            {o.source_member_ref for o in orders},
            currencies,
            day=utc_day(now_ms),
            since_ms=now_ms - HOUR_MS,
        )

    def decide(self, order: ConversionOrder, decided: _Decided) -> Conversion:
        """Decide one item, in the order of checks a Convert call makes, and add its writes; or raise why not."""
        if any("\x00" in text for text in (order.quote_id, order.target_partner_id, order.pairwise_member_id)):
            # What PostgreSQL makes of a Convert naming such an id (exchange.service.calls.nul_refusal).
            raise InvalidArgument("INVALID_TEXT", "text must not contain NUL (U+0000) characters")
        offer, made = self._offer(order)
        target_member_ref = self._target_member_ref(order, offer)
        source_member_ref = parse_member_ref(order.source_member_ref, field="source_member_ref")
        target_member_ref = parse_member_ref(target_member_ref, field="target_member_ref")
        # A quote the batch priced passes too: it is the caller's, new and unused.
        offer = rules.require_usable_quote(offer, self.caller.principal, order.quote_id, self.now_ms)
        agreement = require_usable(self.agreements.get(offer.agreement_id), self.now_ms)
        target = active_target(self.targets.get(offer.target_partner_id), offer.target_partner_id)
        self.figures.check_and_count(
            target.partner_id,
            source_member_ref,
            ConversionLimits(
                member_daily_cap_source_points=agreement.terms.member_daily_cap_source_points,
                member_conversions_per_hour=self.policy.member_conversions_per_hour,
                exposure_limit_minor=self.policy.exposure_limit_minor,
            ),
            ConversionAsk(
                source_partner_id=self.source.partner_id,
                source_points_debited=offer.amounts.source_points_debited,
                settlement_amount_minor=offer.amounts.settlement_amount_minor,
                settlement_currency=offer.amounts.settlement_currency,
            ),
        )
        conversion = self._conversion(offer, agreement, target, source_member_ref, target_member_ref)
        if made:
            decided.made_quotes.append((offer, conversion.conversion_id))
        else:
            self.quotes[offer.quote_id] = replace(offer, used_by=conversion.conversion_id)  # for a later item
            decided.used_quotes.append((offer.quote_id, conversion.conversion_id))
        decided.conversions.append(conversion)
        decided.transactions.append(
            conversion_transaction(
                conversion.conversion_id,
                source=self.source.partner_id,
                target=target.partner_id,
                source_currency=self.source.point_currency,
                target_currency=target.point_currency,
                amounts=conversion.amounts,
            )
        )
        decided.credits.append(
            Instruction(
                instruction_id=new_id("ins"),
                partner_id=target.partner_id,
                kind=InstructionKind.CREDIT,
                state=InstructionState.PENDING,
                member_ref=target_member_ref,
                points=conversion.amounts.target_points,
                point_currency=target.point_currency,
                origin=Origin.conversion(conversion.conversion_id),
                created_at_ms=self.now_ms,
                deadline_ms=conversion.credit_deadline_ms,
            )
        )
        return conversion

    def _offer(self, order: ConversionOrder) -> tuple[Quote | None, bool]:
        """The item's quote (None for an id not found), and whether the batch priced it now (an unquoted item)."""
        if order.quote_id:
            if order.target_partner_id or order.source_points:
                raise InvalidArgument(
                    "QUOTED_AND_UNQUOTED",
                    "set quote_id, or target_partner_id and source_points, not both",
                    field="quote_id",
                )
            return self.quotes.get(order.quote_id), False
        agreement = require_usable(self.active.get(order.target_partner_id), self.now_ms)
        amounts = price_conversion(agreement.terms, order.source_points)
        made = Quote(
            quote_id=new_id("quo"),
            agreement_id=agreement.agreement_id,
            agreement_version=agreement.terms.version,
            source_partner_id=self.caller.principal,
            target_partner_id=order.target_partner_id,
            amounts=amounts,
            created_at_ms=self.now_ms,
            expires_at_ms=self.now_ms + self.policy.quote_ttl_ms,
        )
        return made, True

    def _target_member_ref(self, order: ConversionOrder, offer: Quote | None) -> str:
        """The member at the target: as given, or the account linked to the caller's pairwise id."""
        if not order.pairwise_member_id:
            return order.target_member_ref
        if order.target_member_ref:
            raise InvalidArgument(
                "TWO_TARGET_MEMBERS",
                "set target_member_ref or pairwise_member_id, not both",
                field="pairwise_member_id",
            )
        if offer is None:
            raise NotFound("QUOTE_NOT_FOUND", f"no quote {order.quote_id!r}", field="quote_id")
        return members.linked_target_ref(
            self.connection, self.caller, offer.target_partner_id, order.pairwise_member_id
        )

    def _conversion(
        self, offer: Quote, agreement: Agreement, target: Partner, source_member_ref: str, target_member_ref: str
    ) -> Conversion:
        conversion_id = new_id("cnv")
        credit_deadline_ms = self.now_ms + self.policy.credit_deadline_ms
        return Conversion(
            conversion_id=conversion_id,
            quote_id=offer.quote_id,
            agreement_id=agreement.agreement_id,
            agreement_version=agreement.terms.version,
            source_partner_id=self.source.partner_id,
            target_partner_id=target.partner_id,
            source_member_ref=source_member_ref,
            target_member_ref=target_member_ref,
            amounts=offer.amounts,
            state=ConversionState.PENDING_CREDIT,
            credit_deadline_ms=credit_deadline_ms,
            created_at_ms=self.now_ms,
            history=(ConversionEvent(self.now_ms, self.caller.principal, None, ConversionState.PENDING_CREDIT),),
        )


def convert_all(
    connection: Connection,
    caller: Caller,
    orders: Sequence[ConversionOrder],
    *,
    now_ms: int,
    policy: ConversionPolicy,
) -> list[Conversion | ExchangeError]:
    """Make the conversions of a batch's orders, in order, in the connection's transaction: each, or why not.

    Runs at READ COMMITTED on PostgreSQL, like Convert (exchange.service.conversions.convert):
    the source's row lock, taken first and held to the commit, queues the batch behind the
    source's other conversions and them behind it, and everything the items are checked
    against is read after it.
    """
    batch = _Batch(connection, caller, orders, now_ms=now_ms, policy=policy)
    decided = _Decided([], [], [], [], [])
    outcomes: list[Conversion | ExchangeError] = []
    for order in orders:
        try:
            outcomes.append(batch.decide(order, decided))
        except ExchangeError as refusal:
            outcomes.append(refusal)
    conversions = ConversionRepository(connection)
    conversions.add_quotes(decided.made_quotes)
    conversions.mark_quotes_used(decided.used_quotes)
    conversions.add_many(decided.conversions)
    LedgerRepository(connection).post_many(decided.transactions, now_ms)
    InstructionRepository(connection).add_many(decided.credits)
    return outcomes


def _plain(text: str) -> bool:
    """Whether an id is looked up: one with a NUL is refused by decide, and PostgreSQL would refuse the statement."""
    return bool(text) and "\x00" not in text
