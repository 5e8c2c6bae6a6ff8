"""Agreements, quotes, conversions and instructions: protobuf <-> domain."""

from __future__ import annotations

from coalition.exchange.v1 import agreements_pb2, common_pb2, conversions_pb2, instructions_pb2, redemptions_pb2
from exchange.api.membership_translate import benefit_message
from exchange.api.translate import timestamp, timestamp_ms
from exchange.domain.agreements import Agreement, AgreementStatus, AgreementTerms, validate_terms
from exchange.domain.conversions import Conversion, ConversionState, Quote
from exchange.domain.errors import InvalidArgument
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState
from exchange.domain.money import Ratio
from exchange.domain.pricing import ConversionAmounts
from exchange.domain.redemptions import Hold, HoldState
from exchange.domain.status_match import Match

AGREEMENT_STATUS_TO_PROTO = {
    AgreementStatus.PROPOSED: agreements_pb2.AGREEMENT_STATUS_PROPOSED,
    AgreementStatus.ACTIVE: agreements_pb2.AGREEMENT_STATUS_ACTIVE,
    AgreementStatus.SUSPENDED: agreements_pb2.AGREEMENT_STATUS_SUSPENDED,
    AgreementStatus.TERMINATED: agreements_pb2.AGREEMENT_STATUS_TERMINATED,
    AgreementStatus.SUPERSEDED: agreements_pb2.AGREEMENT_STATUS_SUPERSEDED,
}
AGREEMENT_STATUS_FROM_PROTO = {v: k for k, v in AGREEMENT_STATUS_TO_PROTO.items()}
CONVERSION_STATE_TO_PROTO = {
    ConversionState.PENDING_CREDIT: conversions_pb2.CONVERSION_STATE_PENDING_CREDIT,
    ConversionState.COMPLETED: conversions_pb2.CONVERSION_STATE_COMPLETED,
    ConversionState.REJECTED: conversions_pb2.CONVERSION_STATE_REJECTED,
    ConversionState.EXPIRED: conversions_pb2.CONVERSION_STATE_EXPIRED,
    ConversionState.REFUNDED: conversions_pb2.CONVERSION_STATE_REFUNDED,
}
CONVERSION_STATE_FROM_PROTO = {v: k for k, v in CONVERSION_STATE_TO_PROTO.items()}
INSTRUCTION_KIND_TO_PROTO = {
    InstructionKind.CREDIT: instructions_pb2.INSTRUCTION_KIND_CREDIT,
    InstructionKind.REFUND: instructions_pb2.INSTRUCTION_KIND_REFUND,
    InstructionKind.RELEASE: instructions_pb2.INSTRUCTION_KIND_RELEASE,
    InstructionKind.CREDIT_CANCELLED: instructions_pb2.INSTRUCTION_KIND_CREDIT_CANCELLED,
    InstructionKind.BENEFIT_GRANT: instructions_pb2.INSTRUCTION_KIND_BENEFIT_GRANT,
    InstructionKind.BENEFIT_REVOKE: instructions_pb2.INSTRUCTION_KIND_BENEFIT_REVOKE,
    InstructionKind.TIER_MATCHED: instructions_pb2.INSTRUCTION_KIND_TIER_MATCHED,
    InstructionKind.TIER_MATCH_ENDED: instructions_pb2.INSTRUCTION_KIND_TIER_MATCH_ENDED,
}
HOLD_STATE_TO_PROTO = {
    HoldState.OPEN: redemptions_pb2.HOLD_STATE_OPEN,
    HoldState.CAPTURED: redemptions_pb2.HOLD_STATE_CAPTURED,
    HoldState.VOIDED: redemptions_pb2.HOLD_STATE_VOIDED,
    HoldState.EXPIRED: redemptions_pb2.HOLD_STATE_EXPIRED,
}
INSTRUCTION_STATE_TO_PROTO = {
    InstructionState.PENDING: instructions_pb2.INSTRUCTION_STATE_PENDING,
    InstructionState.ACKNOWLEDGED: instructions_pb2.INSTRUCTION_STATE_ACKNOWLEDGED,
    InstructionState.REJECTED: instructions_pb2.INSTRUCTION_STATE_REJECTED,
    InstructionState.CANCELLED: instructions_pb2.INSTRUCTION_STATE_CANCELLED,
}


def ratio_message(ratio: Ratio) -> common_pb2.Ratio:
    """Return a Ratio message."""
    return common_pb2.Ratio(numerator=ratio.numerator, denominator=ratio.denominator)


def terms_from_message(terms: agreements_pb2.AgreementTerms) -> AgreementTerms:
    """Validate the terms a partner sent."""
    for name in ("rate", "settlement_price_minor", "valid_from", "valid_until"):
        if not terms.HasField(name):
            raise InvalidArgument("MISSING_FIELD", f"terms.{name} is required", field=f"terms.{name}")
    for name in ("valid_from", "valid_until"):
        if getattr(terms, name).nanos % 1_000_000:
            raise InvalidArgument(
                "SUB_MILLISECOND_TIME", f"terms.{name} must be a whole millisecond", field=f"terms.{name}"
            )
    fee = terms.WhichOneof("fee")
    return validate_terms(
        source_partner_id=terms.source_partner_id,
        target_partner_id=terms.target_partner_id,
        version=terms.version,
        rate=(terms.rate.numerator, terms.rate.denominator),
        min_source_points=terms.min_source_points,
        max_source_points=terms.max_source_points,
        source_increment=terms.source_increment,
        member_daily_cap_source_points=terms.member_daily_cap_source_points,
        fee_basis_points=terms.fee_basis_points if fee == "fee_basis_points" else None,
        fee_fixed_points=terms.fee_fixed_points if fee == "fee_fixed_points" else None,
        valid_from_ms=timestamp_ms(terms.valid_from, "terms.valid_from"),
        valid_until_ms=timestamp_ms(terms.valid_until, "terms.valid_until"),
        settlement_price_minor=(terms.settlement_price_minor.numerator, terms.settlement_price_minor.denominator),
        settlement_currency=terms.settlement_currency,
    )


def terms_message(terms: AgreementTerms) -> agreements_pb2.AgreementTerms:
    """Return the terms as a message."""
    message = agreements_pb2.AgreementTerms(
        source_partner_id=terms.source_partner_id,
        target_partner_id=terms.target_partner_id,
        version=terms.version,
        rate=ratio_message(terms.rate),
        min_source_points=terms.min_source_points,
        max_source_points=terms.max_source_points,
        source_increment=terms.source_increment,
        member_daily_cap_source_points=terms.member_daily_cap_source_points,
        valid_from=timestamp(terms.valid_from_ms),
        valid_until=timestamp(terms.valid_until_ms),
        settlement_price_minor=ratio_message(terms.settlement_price_minor),
        settlement_currency=terms.settlement_currency,
    )
    if terms.fee_basis_points is not None:
        message.fee_basis_points = terms.fee_basis_points
    elif terms.fee_fixed_points is not None:
        message.fee_fixed_points = terms.fee_fixed_points
    return message


def agreement_message(agreement: Agreement) -> agreements_pb2.Agreement:
    """Return an agreement version as a message."""
    message = agreements_pb2.Agreement(
        agreement_id=agreement.agreement_id,
        terms=terms_message(agreement.terms),
        status=AGREEMENT_STATUS_TO_PROTO[agreement.status],
        document=agreement.document,
        proposer_key_id=agreement.proposer_key_id,
        proposer_signature=agreement.proposer_signature,
        acceptor_key_id=agreement.acceptor_key_id,
        acceptor_signature=agreement.acceptor_signature,
        proposed_at=timestamp(agreement.proposed_at_ms),
        status_changed_at=timestamp(agreement.status_changed_at_ms),
        status_reason=agreement.status_reason,
        suspended_by=agreement.suspended_by,
    )
    if agreement.accepted_at_ms is not None:
        message.accepted_at.CopyFrom(timestamp(agreement.accepted_at_ms))
    return message


def amounts_message(amounts: ConversionAmounts) -> conversions_pb2.ConversionAmounts:
    """Return conversion amounts as a message."""
    return conversions_pb2.ConversionAmounts(
        source_points_requested=amounts.source_points_requested,
        fee_points=amounts.fee_points,
        source_points_converted=amounts.source_points_converted,
        source_points_debited=amounts.source_points_debited,
        source_points_not_taken=amounts.source_points_not_taken,
        target_points=amounts.target_points,
        settlement_amount_minor=amounts.settlement_amount_minor,
        settlement_currency=amounts.settlement_currency,
        rate=ratio_message(amounts.rate),
    )


def quote_message(quote: Quote) -> conversions_pb2.Quote:
    """Return a quote as a message."""
    return conversions_pb2.Quote(
        quote_id=quote.quote_id,
        agreement_id=quote.agreement_id,
        agreement_version=quote.agreement_version,
        source_partner_id=quote.source_partner_id,
        target_partner_id=quote.target_partner_id,
        amounts=amounts_message(quote.amounts),
        created_at=timestamp(quote.created_at_ms),
        expires_at=timestamp(quote.expires_at_ms),
    )


def conversion_message(conversion: Conversion, viewer: str) -> conversions_pb2.Conversion:
    """Return a conversion as the viewer may see it: each side sees only its own member reference."""
    message = conversions_pb2.Conversion(
        conversion_id=conversion.conversion_id,
        quote_id=conversion.quote_id,
        agreement_id=conversion.agreement_id,
        agreement_version=conversion.agreement_version,
        source_partner_id=conversion.source_partner_id,
        target_partner_id=conversion.target_partner_id,
        source_member_ref=conversion.source_member_ref if viewer == conversion.source_partner_id else "",
        target_member_ref=conversion.target_member_ref if viewer == conversion.target_partner_id else "",
        amounts=amounts_message(conversion.amounts),
        state=CONVERSION_STATE_TO_PROTO[conversion.state],
        credit_deadline=timestamp(conversion.credit_deadline_ms),
        created_at=timestamp(conversion.created_at_ms),
    )
    for event in conversion.history:
        message.history.add(
            at=timestamp(event.at_ms),
            actor=event.actor,
            from_state=CONVERSION_STATE_TO_PROTO[event.from_state] if event.from_state else 0,
            to_state=CONVERSION_STATE_TO_PROTO[event.to_state],
            note=event.note,
        )
    for reversal in conversion.reversals:
        message.reversals.add(
            reversal_id=reversal.reversal_id,
            target_points=reversal.amounts.target_points,
            source_points=reversal.amounts.source_points,
            settlement_amount_minor=reversal.amounts.settlement_amount_minor,
            reason=reversal.reason,
            at=timestamp(reversal.at_ms),
        )
    return message


def instruction_message(instruction: Instruction, match: Match | None = None) -> instructions_pb2.Instruction:
    """Return an instruction as a message; a status match's says what the match is (its tiers opened)."""
    message = instructions_pb2.Instruction(
        instruction_id=instruction.instruction_id,
        kind=INSTRUCTION_KIND_TO_PROTO[instruction.kind],
        state=INSTRUCTION_STATE_TO_PROTO[instruction.state],
        member_ref=instruction.member_ref,
        points=instruction.points,
        point_currency=instruction.point_currency,
        conversion_id=instruction.conversion_id,
        created_at=timestamp(instruction.created_at_ms),
        delivery_count=instruction.delivery_count,
        partner_reference=instruction.partner_reference,
        reason=instruction.reason,
        reversal_id=instruction.reversal_id,
        hold_id=instruction.hold_id,
        award_id=instruction.award_id,
        cancels_instruction_id=instruction.cancels_instruction_id,
    )
    if instruction.deadline_ms is not None:
        message.deadline.CopyFrom(timestamp(instruction.deadline_ms))
    notice = instruction.benefit
    if notice is not None:
        message.membership_id = instruction.membership_id
        message.programme_id = notice.programme_id
        message.benefits.extend(benefit_message(b) for b in notice.benefits)
        if notice.honoured_from_ms is not None:
            message.honoured_from.CopyFrom(timestamp(notice.honoured_from_ms))
        message.honoured_until.CopyFrom(timestamp(notice.honoured_until_ms))
    if instruction.match_id:
        message.match_id = instruction.match_id
    if match is not None:
        message.attester_partner_id = match.attester_partner_id
        message.attester_tier = match.attester_tier
        message.matched_tier = match.matched_tier
        ended = match.ended_at_ms if instruction.kind is InstructionKind.TIER_MATCH_ENDED else None
        message.match_ends_at.CopyFrom(timestamp(ended if ended is not None else match.ends_at_ms))
    return message


def hold_message(hold: Hold, viewer: str) -> redemptions_pb2.Hold:
    """Return a hold as the viewer may see it (the member reference only to the source partner)."""
    message = redemptions_pb2.Hold(
        hold_id=hold.hold_id,
        agreement_id=hold.agreement_id,
        source_partner_id=hold.source_partner_id,
        target_partner_id=hold.target_partner_id,
        source_member_ref=hold.source_member_ref if viewer == hold.source_partner_id else "",
        authorized_points=hold.authorized_points,
        captured_points=hold.captured_points,
        released_points=hold.released_points,
        state=HOLD_STATE_TO_PROTO[hold.state],
        created_at=timestamp(hold.created_at_ms),
        expires_at=timestamp(hold.expires_at_ms),
        rate=ratio_message(hold.rate),
        settlement_currency=hold.settlement_currency,
    )
    for taken in hold.captures:
        message.captures.add(
            capture_id=taken.capture_id,
            source_points=taken.source_points,
            target_points_value=taken.target_points_value,
            settlement_amount_minor=taken.settlement_amount_minor,
            target_reference=taken.target_reference,
            at=timestamp(taken.at_ms),
        )
    return message
