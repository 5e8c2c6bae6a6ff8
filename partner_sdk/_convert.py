"""Protobuf answers to the SDK's core dataclasses and back, every state and kind checked against its Literal.

The settlement, accrual and donation calls convert their own messages (partner_sdk/_client/)
with the same helpers: Names for enums, to_datetime and to_timestamp for times.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Generic, TypeVar, cast, get_args

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from coalition.exchange.v1 import (
    agreements_pb2,
    common_pb2,
    conversions_pb2,
    hub_pb2,
    instructions_pb2,
    members_pb2,
    memberships_pb2,
    redemptions_pb2,
)
from partner_sdk._models import (
    AccessEvent,
    AccessLogEntry,
    Agreement,
    AgreementStatus,
    AgreementTerms,
    AttributeDeclaration,
    AttributeRead,
    AttributeType,
    Capture,
    Consent,
    ConsentEndReason,
    Conversion,
    ConversionAmounts,
    ConversionEvent,
    ConversionReversal,
    ConversionState,
    Erasure,
    Hold,
    HoldState,
    HubInfo,
    Instruction,
    InstructionKind,
    InstructionState,
    KeyState,
    MemberLink,
    Partner,
    PartnerKey,
    PartnerStatus,
    Purpose,
    Quote,
    WithheldReason,
)
from partner_sdk.documents import epoch_ms
from partner_sdk.memberships import (
    Benefit,
    FreeDelivery,
    PartnerMembership,
    PercentageDiscount,
    TextBenefit,
    UnknownBenefit,
    VoucherFunding,
    VoucherPeriod,
    Vouchers,
)

L = TypeVar("L", bound=str)
UNKNOWN = "UNKNOWN"


class Names(Generic[L]):
    """The plain names one Literal of the models allows, read from a protobuf enum or a string field.

    A value the Literal does not name (UNSPECIFIED, or a value of a hub newer than this SDK)
    reads as UNKNOWN, which every such Literal names: a model never holds a name its type
    does not allow.
    """

    def __init__(self, literal: object, enum: EnumTypeWrapper | None = None, prefix: str = "") -> None:
        self.allowed: tuple[L, ...] = get_args(literal)
        self._unknown: L = next(name for name in self.allowed if name == UNKNOWN)
        self._enum = enum
        self._prefix = prefix

    def of(self, value: int) -> L:
        """Return the name of an enum value, without its prefix."""
        if self._enum is None:
            raise AssertionError("these names are read from text, not from an enum")
        try:
            name = str(self._enum.Name(value))
        except ValueError:
            return self._unknown
        return self.of_text(name.removeprefix(self._prefix))

    def of_text(self, text: str) -> L:
        """Return text if the Literal names it, else UNKNOWN."""
        return next((name for name in self.allowed if name == text), self._unknown)


PARTNER_STATUS: Names[PartnerStatus] = Names(PartnerStatus, common_pb2.PartnerStatus, "PARTNER_STATUS_")
KEY_STATE: Names[KeyState] = Names(KeyState, common_pb2.KeyState, "KEY_STATE_")
AGREEMENT_STATUS: Names[AgreementStatus] = Names(AgreementStatus, agreements_pb2.AgreementStatus, "AGREEMENT_STATUS_")
CONVERSION_STATE: Names[ConversionState] = Names(ConversionState, conversions_pb2.ConversionState, "CONVERSION_STATE_")
INSTRUCTION_KIND: Names[InstructionKind] = Names(InstructionKind, instructions_pb2.InstructionKind, "INSTRUCTION_KIND_")
INSTRUCTION_STATE: Names[InstructionState] = Names(
    InstructionState, instructions_pb2.InstructionState, "INSTRUCTION_STATE_"
)
HOLD_STATE: Names[HoldState] = Names(HoldState, redemptions_pb2.HoldState, "HOLD_STATE_")
ATTRIBUTE_TYPE: Names[AttributeType] = Names(AttributeType, members_pb2.AttributeType, "ATTRIBUTE_TYPE_")
PURPOSE: Names[Purpose] = Names(Purpose, members_pb2.Purpose, "PURPOSE_")
CONSENT_END_REASON: Names[ConsentEndReason] = Names(ConsentEndReason)
WITHHELD_REASON: Names[WithheldReason] = Names(WithheldReason)
ACCESS_EVENT: Names[AccessEvent] = Names(AccessEvent)
VOUCHER_PERIOD: Names[VoucherPeriod] = Names(VoucherPeriod, memberships_pb2.VoucherPeriod, "VOUCHER_PERIOD_")
VOUCHER_FUNDING: Names[VoucherFunding] = Names(VoucherFunding, memberships_pb2.VoucherFunding, "VOUCHER_FUNDING_")


def to_datetime(stamp: Timestamp) -> datetime:
    """Return a protobuf Timestamp as an aware UTC datetime."""
    return _time(stamp)


def _time(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def to_timestamp(moment: datetime) -> Timestamp:
    """Return a protobuf Timestamp for an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("pass a timezone-aware datetime (for example datetime.now(timezone.utc))")
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def _optional_time(message: Message, name: str) -> datetime | None:
    return _time(getattr(message, name)) if message.HasField(name) else None


def _fraction(ratio: common_pb2.Ratio) -> Fraction:
    return Fraction(ratio.numerator, ratio.denominator)


def to_ratio(value: Fraction) -> common_pb2.Ratio:
    """Return a Ratio message for an exact fraction (in lowest terms)."""
    value = Fraction(value)
    return common_pb2.Ratio(numerator=value.numerator, denominator=value.denominator)


def partner(message: common_pb2.Partner) -> Partner:
    """Convert a Partner message."""
    return Partner(
        partner_id=message.partner_id,
        display_name=message.display_name,
        point_currency=message.point_currency,
        settlement_currency=message.settlement_currency,
        point_value_minor=Fraction(message.point_value_minor.numerator, message.point_value_minor.denominator),
        status=PARTNER_STATUS.of(message.status),
        keys=tuple(
            PartnerKey(
                key_id=key.key_id,
                public_key=key.public_key,
                fingerprint=key.fingerprint,
                state=KEY_STATE.of(key.state),
                created_at=_time(key.created_at),
                not_after=_time(key.not_after) if key.HasField("not_after") else None,
                revoked_at=_time(key.revoked_at) if key.HasField("revoked_at") else None,
            )
            for key in message.keys
        ),
        created_at=_time(message.created_at),
        status_changed_at=_time(message.status_changed_at),
        status_reason=message.status_reason,
        kind="CHARITY" if message.kind == common_pb2.PARTNER_KIND_CHARITY else "BRAND",
    )


def hub_info(message: hub_pb2.GetHubInfoResponse) -> HubInfo:
    """Convert a GetHubInfoResponse."""
    return HubInfo(
        hub_key_id=message.hub_key_id,
        hub_public_key=message.hub_public_key,
        hub_key_fingerprint=message.hub_key_fingerprint,
        timestamp_window_s=message.timestamp_window_seconds,
        max_request_bytes=message.max_request_bytes,
        server_time=_time(message.server_time),
        version=message.version,
    )


def agreement_terms(message: agreements_pb2.AgreementTerms) -> AgreementTerms:
    """Convert an AgreementTerms message."""
    fee = message.WhichOneof("fee")
    return AgreementTerms(
        source_partner_id=message.source_partner_id,
        target_partner_id=message.target_partner_id,
        version=message.version,
        rate=_fraction(message.rate),
        min_source_points=message.min_source_points,
        max_source_points=message.max_source_points,
        source_increment=message.source_increment,
        member_daily_cap_source_points=message.member_daily_cap_source_points,
        fee_basis_points=message.fee_basis_points if fee == "fee_basis_points" else None,
        fee_fixed_points=message.fee_fixed_points if fee == "fee_fixed_points" else None,
        valid_from=_time(message.valid_from),
        valid_until=_time(message.valid_until),
        settlement_price_minor=_fraction(message.settlement_price_minor),
        settlement_currency=message.settlement_currency,
    )


def _whole_ms(moment: datetime) -> Timestamp:
    """Agreement times are whole milliseconds, as in the signed document (sub-millisecond parts are dropped)."""
    stamp = Timestamp()
    stamp.FromMilliseconds(epoch_ms(moment))
    return stamp


def agreement_terms_to_proto(terms: AgreementTerms) -> agreements_pb2.AgreementTerms:
    """Return the AgreementTerms message for terms (the fee oneof set only when there is a fee)."""
    if terms.fee_basis_points is not None and terms.fee_fixed_points is not None:
        raise ValueError("set at most one of fee_basis_points and fee_fixed_points")
    message = agreements_pb2.AgreementTerms(
        source_partner_id=terms.source_partner_id,
        target_partner_id=terms.target_partner_id,
        version=terms.version,
        rate=to_ratio(terms.rate),
        min_source_points=terms.min_source_points,
        max_source_points=terms.max_source_points,
        source_increment=terms.source_increment,
        member_daily_cap_source_points=terms.member_daily_cap_source_points,
        valid_from=_whole_ms(terms.valid_from),
        valid_until=_whole_ms(terms.valid_until),
        settlement_price_minor=to_ratio(terms.settlement_price_minor),
        settlement_currency=terms.settlement_currency,
    )
    if terms.fee_basis_points is not None:
        message.fee_basis_points = terms.fee_basis_points
    elif terms.fee_fixed_points is not None:
        message.fee_fixed_points = terms.fee_fixed_points
    return message


def agreement(message: agreements_pb2.Agreement) -> Agreement:
    """Convert an Agreement message."""
    return Agreement(
        agreement_id=message.agreement_id,
        terms=agreement_terms(message.terms),
        status=AGREEMENT_STATUS.of(message.status),
        document=message.document,
        proposer_key_id=message.proposer_key_id,
        proposer_signature=message.proposer_signature,
        acceptor_key_id=message.acceptor_key_id,
        acceptor_signature=message.acceptor_signature,
        proposed_at=_time(message.proposed_at),
        accepted_at=_optional_time(message, "accepted_at"),
        status_changed_at=_time(message.status_changed_at),
        status_reason=message.status_reason,
        suspended_by=message.suspended_by,
    )


def conversion_amounts(message: conversions_pb2.ConversionAmounts) -> ConversionAmounts:
    """Convert a ConversionAmounts message."""
    return ConversionAmounts(
        source_points_requested=message.source_points_requested,
        fee_points=message.fee_points,
        source_points_converted=message.source_points_converted,
        source_points_debited=message.source_points_debited,
        source_points_not_taken=message.source_points_not_taken,
        target_points=message.target_points,
        settlement_amount_minor=message.settlement_amount_minor,
        settlement_currency=message.settlement_currency,
        rate=_fraction(message.rate),
    )


def quote(message: conversions_pb2.Quote) -> Quote:
    """Convert a Quote message."""
    return Quote(
        quote_id=message.quote_id,
        agreement_id=message.agreement_id,
        agreement_version=message.agreement_version,
        source_partner_id=message.source_partner_id,
        target_partner_id=message.target_partner_id,
        amounts=conversion_amounts(message.amounts),
        created_at=_time(message.created_at),
        expires_at=_time(message.expires_at),
    )


def conversion(message: conversions_pb2.Conversion) -> Conversion:
    """Convert a Conversion message, with its history and reversals."""
    return Conversion(
        conversion_id=message.conversion_id,
        quote_id=message.quote_id,
        agreement_id=message.agreement_id,
        agreement_version=message.agreement_version,
        source_partner_id=message.source_partner_id,
        target_partner_id=message.target_partner_id,
        source_member_ref=message.source_member_ref,
        target_member_ref=message.target_member_ref,
        amounts=conversion_amounts(message.amounts),
        state=CONVERSION_STATE.of(message.state),
        history=tuple(
            ConversionEvent(
                at=_time(event.at),
                actor=event.actor,
                from_state=CONVERSION_STATE.of(event.from_state) if event.from_state else None,
                to_state=CONVERSION_STATE.of(event.to_state),
                note=event.note,
            )
            for event in message.history
        ),
        credit_deadline=_time(message.credit_deadline),
        created_at=_time(message.created_at),
        reversals=tuple(
            ConversionReversal(
                reversal_id=reversal.reversal_id,
                target_points=reversal.target_points,
                source_points=reversal.source_points,
                settlement_amount_minor=reversal.settlement_amount_minor,
                reason=reversal.reason,
                at=_time(reversal.at),
            )
            for reversal in message.reversals
        ),
    )


def conversion_state(state: str) -> conversions_pb2.ConversionState:
    """Return the ConversionState value for a name such as "PENDING_CREDIT" (ValueError if unknown)."""
    return cast(
        conversions_pb2.ConversionState, _enum_value(conversions_pb2.ConversionState, "CONVERSION_STATE_", state)
    )


def agreement_status(status: str) -> agreements_pb2.AgreementStatus:
    """Return the AgreementStatus value for a name such as "ACTIVE" (ValueError if unknown)."""
    return cast(
        agreements_pb2.AgreementStatus, _enum_value(agreements_pb2.AgreementStatus, "AGREEMENT_STATUS_", status)
    )


def _enum_value(enum: EnumTypeWrapper, prefix: str, name: str) -> int:
    names = [value.name for value in enum.DESCRIPTOR.values]
    known = [n.removeprefix(prefix) for n in names if n != prefix + "UNSPECIFIED"]
    if name not in known:
        raise ValueError(f"unknown value {name!r}; expected one of {', '.join(known)}")
    return int(enum.Value(prefix + name))


def instruction(message: instructions_pb2.Instruction) -> Instruction:
    """Convert an Instruction message."""
    return Instruction(
        instruction_id=message.instruction_id,
        kind=INSTRUCTION_KIND.of(message.kind),
        state=INSTRUCTION_STATE.of(message.state),
        member_ref=message.member_ref,
        points=message.points,
        point_currency=message.point_currency,
        conversion_id=message.conversion_id,
        created_at=_time(message.created_at),
        deadline=_optional_time(message, "deadline"),
        delivery_count=message.delivery_count,
        partner_reference=message.partner_reference,
        reason=message.reason,
        reversal_id=message.reversal_id,
        hold_id=message.hold_id,
        cancels_instruction_id=message.cancels_instruction_id,
        award_id=message.award_id,
        membership_id=message.membership_id,
        programme_id=message.programme_id,
        benefits=tuple(benefit(b) for b in message.benefits),
        honoured_from=_optional_time(message, "honoured_from"),
        honoured_until=_optional_time(message, "honoured_until"),
        match_id=message.match_id,
        attester_partner_id=message.attester_partner_id,
        attester_tier=message.attester_tier,
        matched_tier=message.matched_tier,
        match_ends_at=_optional_time(message, "match_ends_at"),
    )


def benefit(message: memberships_pb2.Benefit) -> Benefit:
    """Convert a Benefit message (its oneof kind); a kind newer than this SDK is an UnknownBenefit."""
    kind = message.WhichOneof("kind")
    if kind == "partner_membership":
        return PartnerMembership(message.partner_membership.name)
    if kind == "discount":
        cap = message.discount.cap_minor
        return PercentageDiscount(message.discount.basis_points, cap if cap else None)
    if kind == "vouchers":
        v = message.vouchers
        return Vouchers(
            per_period=v.per_period,
            period=VOUCHER_PERIOD.of(v.period),
            value_minor=v.value_minor,
            validity_days=v.validity_days,
            funded_by=VOUCHER_FUNDING.of(v.funded_by),
        )
    if kind == "free_delivery":
        return FreeDelivery()
    if kind == "text":
        return TextBenefit(message.text.text)
    return UnknownBenefit()


def benefit_to_proto(value: Benefit) -> memberships_pb2.Benefit:
    """Return the Benefit message for a benefit (a discount's cap None is 0 on the wire).

    Raises:
        ValueError: the benefit, or one of its names, is UNKNOWN (newer than this SDK).
    """
    if isinstance(value, PartnerMembership):
        return memberships_pb2.Benefit(partner_membership=memberships_pb2.PartnerMembershipBenefit(name=value.name))
    if isinstance(value, PercentageDiscount):
        return memberships_pb2.Benefit(
            discount=memberships_pb2.DiscountBenefit(basis_points=value.basis_points, cap_minor=value.cap_minor or 0)
        )
    if isinstance(value, Vouchers):
        return memberships_pb2.Benefit(
            vouchers=memberships_pb2.VouchersBenefit(
                per_period=value.per_period,
                period=cast(
                    memberships_pb2.VoucherPeriod,
                    _enum_value(memberships_pb2.VoucherPeriod, "VOUCHER_PERIOD_", value.period),
                ),
                value_minor=value.value_minor,
                validity_days=value.validity_days,
                funded_by=cast(
                    memberships_pb2.VoucherFunding,
                    _enum_value(memberships_pb2.VoucherFunding, "VOUCHER_FUNDING_", value.funded_by),
                ),
            )
        )
    if isinstance(value, FreeDelivery):
        return memberships_pb2.Benefit(free_delivery=memberships_pb2.FreeDeliveryBenefit())
    if isinstance(value, TextBenefit):
        return memberships_pb2.Benefit(text=memberships_pb2.TextBenefit(text=value.text))
    raise ValueError("a benefit of a kind newer than this SDK (UnknownBenefit) can't be sent")


def hold(message: redemptions_pb2.Hold) -> Hold:
    """Convert a Hold message."""
    return Hold(
        hold_id=message.hold_id,
        agreement_id=message.agreement_id,
        source_partner_id=message.source_partner_id,
        target_partner_id=message.target_partner_id,
        source_member_ref=message.source_member_ref,
        authorized_points=message.authorized_points,
        captured_points=message.captured_points,
        released_points=message.released_points,
        state=HOLD_STATE.of(message.state),
        created_at=_time(message.created_at),
        expires_at=_time(message.expires_at),
        rate=_fraction(message.rate),
        settlement_currency=message.settlement_currency,
        captures=tuple(
            Capture(
                capture_id=c.capture_id,
                source_points=c.source_points,
                target_points_value=c.target_points_value,
                settlement_amount_minor=c.settlement_amount_minor,
                target_reference=c.target_reference,
                at=_time(c.at),
            )
            for c in message.captures
        ),
    )


def member_link(message: members_pb2.Link) -> MemberLink:
    """Convert a Link message."""
    return MemberLink(
        link_id=message.link_id,
        counterparty_id=message.counterparty_id,
        pairwise_member_id=message.pairwise_member_id,
        linked_at=_time(message.linked_at),
        ended_at=_optional_time(message, "ended_at"),
        ended_by=message.ended_by,
        end_reason=message.end_reason,
    )


def attribute_type(name: str) -> members_pb2.AttributeType:
    """Return the AttributeType value for a name such as "TEXT" (ValueError if unknown)."""
    return cast(members_pb2.AttributeType, _enum_value(members_pb2.AttributeType, "ATTRIBUTE_TYPE_", name))


def purpose(name: str) -> members_pb2.Purpose:
    """Return the Purpose value for a name such as "PERSONALISED_OFFERS" or "STATUS_MATCH" (ValueError if unknown)."""
    return cast(members_pb2.Purpose, _enum_value(members_pb2.Purpose, "PURPOSE_", name))


def attribute_declaration(message: members_pb2.AttributeDeclaration) -> AttributeDeclaration:
    """Convert an AttributeDeclaration message."""
    return AttributeDeclaration(
        partner_id=message.partner_id,
        key=message.key,
        type=ATTRIBUTE_TYPE.of(message.type),
        description=message.description,
    )


def attribute_value_to_proto(key: str, value: object) -> members_pb2.AttributeValue:
    """Return the AttributeValue message for a str, int, bool or datetime.date (TypeError otherwise)."""
    if isinstance(value, bool):  # before int: a bool is an int
        return members_pb2.AttributeValue(key=key, boolean=value)
    if isinstance(value, int):
        return members_pb2.AttributeValue(key=key, integer=value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return members_pb2.AttributeValue(key=key, date=value.isoformat())
    if isinstance(value, str):
        return members_pb2.AttributeValue(key=key, text=value)
    raise TypeError(f"attribute {key!r}: a value must be a str, int, bool or datetime.date, not {type(value).__name__}")


def attribute_values_to_proto(values: Mapping[str, object]) -> list[members_pb2.AttributeValue]:
    """Return AttributeValue messages for values, in the mapping's order (TypeError on an unsupported value)."""
    return [attribute_value_to_proto(key, value) for key, value in values.items()]


def _attribute_value(message: members_pb2.AttributeValue) -> str | int | bool | date | None:
    kind = message.WhichOneof("value")
    if kind == "text":
        return message.text
    if kind == "integer":
        return message.integer
    if kind == "boolean":
        return message.boolean
    if kind == "date":
        return date.fromisoformat(message.date)
    return None


def attribute_read(message: members_pb2.ReadAttributesResponse) -> AttributeRead:
    """Convert a ReadAttributesResponse (a value of a kind this SDK doesn't know yet is left out)."""
    values: dict[str, str | int | bool | date] = {}
    for item in message.values:
        value = _attribute_value(item)
        if value is not None:
            values[item.key] = value
    return AttributeRead(values=values, withheld={w.key: WITHHELD_REASON.of_text(w.reason) for w in message.withheld})


def consent(message: members_pb2.Consent) -> Consent:
    """Convert a Consent message."""
    return Consent(
        consent_id=message.consent_id,
        source_partner_id=message.source_partner_id,
        grantee_partner_id=message.grantee_partner_id,
        attribute_keys=tuple(message.attribute_keys),
        purpose=PURPOSE.of(message.purpose),
        granted_at=_time(message.granted_at),
        expires_at=_time(message.expires_at),
        revoked_at=_optional_time(message, "revoked_at"),
        granted_via=message.granted_via,
        receipt=message.receipt,
        receipt_signature=message.receipt_signature,
        receipt_key_id=message.receipt_key_id,
        end_reason=CONSENT_END_REASON.of_text(message.end_reason),
    )


def access_log_entry(message: members_pb2.AccessLogEntry) -> AccessLogEntry:
    """Convert an AccessLogEntry message."""
    return AccessLogEntry(
        at=_time(message.at),
        reader_partner_id=message.reader_partner_id,
        source_partner_id=message.source_partner_id,
        purpose=PURPOSE.of(message.purpose),
        returned_keys=tuple(message.returned_keys),
        withheld_keys=tuple(message.withheld_keys),
        event=ACCESS_EVENT.of_text(message.event or "READ"),
        reason=message.reason,
        consent_id=message.consent_id,
    )


def erasure(message: members_pb2.EraseMemberResponse) -> Erasure:
    """Convert an EraseMemberResponse."""
    return Erasure(
        erased_at=_time(message.erased_at),
        links_ended=message.links_ended,
        consents_revoked=message.consents_revoked,
    )
