"""Joint membership messages and the domain's values, both ways (the terms are validated on the way in)."""

from __future__ import annotations

from coalition.exchange.v1 import common_pb2
from coalition.exchange.v1 import memberships_pb2 as pb
from exchange.api.translate import timestamp, timestamp_ms
from exchange.domain.errors import InvalidArgument
from exchange.domain.membership_agreements import Grant, MembershipAgreement
from exchange.domain.membership_terms import (
    Benefit,
    FixedShare,
    FreeDelivery,
    MembershipTerms,
    PartnerMembership,
    PartnerTerms,
    PercentageDiscount,
    PriceTier,
    RatioShare,
    RefundRule,
    Share,
    TermLength,
    TermOffer,
    TextBenefit,
    VoucherFunding,
    VoucherPeriod,
    Vouchers,
    validate_terms,
)
from exchange.domain.memberships import PaidTerm
from exchange.domain.money import Ratio
from exchange.service.membership_benefits import SignedPass, VoucherView
from exchange.service.memberships import MembershipView

TERM_TO_PROTO = {TermLength.MONTHLY: pb.TERM_LENGTH_MONTHLY, TermLength.YEARLY: pb.TERM_LENGTH_YEARLY}
TERM_FROM_PROTO = {v: k for k, v in TERM_TO_PROTO.items()}
REFUND_TO_PROTO = {RefundRule.NONE: pb.REFUND_RULE_NONE, RefundRule.PRO_RATA: pb.REFUND_RULE_PRO_RATA}
REFUND_FROM_PROTO = {v: k for k, v in REFUND_TO_PROTO.items()}
PERIOD_TO_PROTO = {VoucherPeriod.WEEKLY: pb.VOUCHER_PERIOD_WEEKLY, VoucherPeriod.MONTHLY: pb.VOUCHER_PERIOD_MONTHLY}
PERIOD_FROM_PROTO = {v: k for k, v in PERIOD_TO_PROTO.items()}
FUNDING_TO_PROTO = {
    VoucherFunding.PARTNER: pb.VOUCHER_FUNDING_PARTNER,
    VoucherFunding.SELLER: pb.VOUCHER_FUNDING_SELLER,
}
FUNDING_FROM_PROTO = {v: k for k, v in FUNDING_TO_PROTO.items()}


def term_from_proto(value: int, field: str) -> TermLength:
    """A term length from the wire, or InvalidArgument INVALID_TERM."""
    if value not in TERM_FROM_PROTO:
        raise InvalidArgument("INVALID_TERM", "term must be MONTHLY or YEARLY", field=field)
    return TERM_FROM_PROTO[value]  # type: ignore[index]


def _enum(table: dict[int, object], value: int, reason: str, field: str) -> object:
    if value not in table:
        raise InvalidArgument(reason, f"{field} is not a known value", field=field)
    return table[value]


def benefit_from_proto(m: pb.Benefit, field: str) -> Benefit:
    """A benefit from the wire (validate_terms checks its values)."""
    kind = m.WhichOneof("kind")
    if kind == "partner_membership":
        return PartnerMembership(m.partner_membership.name)
    if kind == "discount":
        return PercentageDiscount(m.discount.basis_points, m.discount.cap_minor or None)
    if kind == "vouchers":
        v = m.vouchers
        period = _enum(PERIOD_FROM_PROTO, v.period, "INVALID_VOUCHERS", f"{field}.vouchers.period")  # type: ignore[arg-type]
        funded = _enum(FUNDING_FROM_PROTO, v.funded_by, "INVALID_VOUCHERS", f"{field}.vouchers.funded_by")  # type: ignore[arg-type]
        return Vouchers(v.per_period, period, v.value_minor, v.validity_days, funded)  # type: ignore[arg-type]
    if kind == "free_delivery":
        return FreeDelivery()
    if kind == "text":
        return TextBenefit(m.text.text)
    raise InvalidArgument("INVALID_BENEFIT", "a benefit names exactly one kind", field=field)


def benefit_message(benefit: Benefit) -> pb.Benefit:
    """A benefit as a message."""
    if isinstance(benefit, PartnerMembership):
        return pb.Benefit(partner_membership=pb.PartnerMembershipBenefit(name=benefit.name))
    if isinstance(benefit, PercentageDiscount):
        return pb.Benefit(
            discount=pb.DiscountBenefit(basis_points=benefit.basis_points, cap_minor=benefit.cap_minor or 0)
        )
    if isinstance(benefit, Vouchers):
        return pb.Benefit(
            vouchers=pb.VouchersBenefit(
                per_period=benefit.per_period,
                period=PERIOD_TO_PROTO[benefit.period],
                value_minor=benefit.value_minor,
                validity_days=benefit.validity_days,
                funded_by=FUNDING_TO_PROTO[benefit.funded_by],
            )
        )
    if isinstance(benefit, FreeDelivery):
        return pb.Benefit(free_delivery=pb.FreeDeliveryBenefit())
    return pb.Benefit(text=pb.TextBenefit(text=benefit.text))


def _share_from_proto(m: pb.FeeShare, field: str) -> tuple[TermLength, Share]:
    term = term_from_proto(m.term, f"{field}.term")
    amount = m.WhichOneof("amount")
    if amount == "fixed_minor":
        return term, FixedShare(m.fixed_minor)
    if amount == "ratio":
        return term, RatioShare(Ratio.parse(m.ratio.numerator, m.ratio.denominator, field=f"{field}.ratio"))
    raise InvalidArgument("INVALID_SHARE", "a share is a fixed amount or a ratio", field=field)


def terms_from_proto(m: pb.MembershipTerms) -> MembershipTerms:
    """The terms on the wire, validated (exchange.domain.membership_terms.validate_terms)."""
    if not m.HasField("valid_from") or not m.HasField("valid_until"):
        raise InvalidArgument("MISSING_VALIDITY", "valid_from and valid_until are required", field="terms.valid_from")
    return validate_terms(
        programme_id=m.programme_id,
        version=m.version,
        name=m.name,
        seller_partner_id=m.seller_partner_id,
        currency=m.currency,
        offers=[
            TermOffer(
                term_from_proto(o.term, f"terms.offers[{i}].term"),
                o.fee_minor,
                tuple(PriceTier(t.min_score, t.fee_minor) for t in o.tiers),
            )
            for i, o in enumerate(m.offers)
        ],
        partners=[
            PartnerTerms(
                p.partner_id,
                tuple(benefit_from_proto(b, f"terms.partners[{i}].benefits[{j}]") for j, b in enumerate(p.benefits)),
                tuple(_share_from_proto(s, f"terms.partners[{i}].shares[{j}]") for j, s in enumerate(p.shares)),
            )
            for i, p in enumerate(m.partners)
        ],
        refund_rule=_enum(REFUND_FROM_PROTO, m.refund_rule, "INVALID_REFUND_RULE", "terms.refund_rule"),  # type: ignore[arg-type]
        grace_days=m.grace_days,
        valid_from_ms=timestamp_ms(m.valid_from, "terms.valid_from"),
        valid_until_ms=timestamp_ms(m.valid_until, "terms.valid_until"),
    )


def terms_message(t: MembershipTerms) -> pb.MembershipTerms:
    """The terms as a message."""
    return pb.MembershipTerms(
        programme_id=t.programme_id,
        version=t.version,
        name=t.name,
        seller_partner_id=t.seller_partner_id,
        currency=t.currency,
        offers=[
            pb.TermOffer(
                term=TERM_TO_PROTO[o.term],
                fee_minor=o.fee_minor,
                tiers=[pb.PriceTier(min_score=x.min_score, fee_minor=x.fee_minor) for x in o.tiers],
            )
            for o in t.offers
        ],
        partners=[
            pb.PartnerTerms(
                partner_id=p.partner_id,
                benefits=[benefit_message(b) for b in p.benefits],
                shares=[_share_message(term, share) for term, share in p.shares],
            )
            for p in t.partners
        ],
        refund_rule=REFUND_TO_PROTO[t.refund_rule],
        grace_days=t.grace_days,
        valid_from=timestamp(t.valid_from_ms),
        valid_until=timestamp(t.valid_until_ms),
    )


def _share_message(term: TermLength, share: Share) -> pb.FeeShare:
    if isinstance(share, FixedShare):
        return pb.FeeShare(term=TERM_TO_PROTO[term], fixed_minor=share.amount_minor)
    ratio = common_pb2.Ratio(numerator=share.ratio.numerator, denominator=share.ratio.denominator)
    return pb.FeeShare(term=TERM_TO_PROTO[term], ratio=ratio)


def agreement_message(a: MembershipAgreement) -> pb.MembershipAgreement:
    """A version of a programme's terms as a message."""
    return pb.MembershipAgreement(
        agreement_id=a.agreement_id,
        terms=terms_message(a.terms),
        status=f"MEMBERSHIP_AGREEMENT_STATUS_{a.status.value}",  # type: ignore[arg-type]
        document=a.document,
        signatures=[
            pb.AgreementSignature(
                partner_id=s.partner_id, key_id=s.key_id, signature=s.signature, signed_at=timestamp(s.signed_at_ms)
            )
            for s in a.signatures
        ],
        awaiting_partner_ids=list(a.awaiting),
        proposed_at=timestamp(a.proposed_at_ms),
    )


def _paid_term_message(t: PaidTerm) -> pb.PaidTerm:
    message = pb.PaidTerm(
        term=TERM_TO_PROTO[t.length],
        starts_at=timestamp(t.start_ms),
        ends_at=timestamp(t.end_ms),
        fee_minor=t.fee_minor,
        terms_version=t.terms_version,
        refund_minor=t.refund_minor,
    )
    if t.score is not None:
        message.score = t.score
    return message


def _grant_message(grant: Grant, benefits: tuple[Benefit, ...]) -> pb.PartnerGrant:
    return pb.PartnerGrant(
        partner_id=grant.partner_id,
        state=f"GRANT_STATE_{grant.state.value}",  # type: ignore[arg-type]
        benefits=[benefit_message(b) for b in benefits],
    )


def membership_message(v: MembershipView) -> pb.Membership:
    """A membership as its caller may see it."""
    m = v.membership
    message = pb.Membership(
        membership_id=m.membership_id,
        programme_id=m.programme_id,
        programme_name=v.programme_name,
        seller_partner_id=m.seller_partner_id,
        member_ref=v.member_ref,
        state=f"MEMBERSHIP_STATE_{m.state.value}",  # type: ignore[arg-type]
        terms=[_paid_term_message(t) for t in m.terms],
        currency=m.currency,
        grants=[_grant_message(g, benefits) for g, benefits in v.grants],
    )
    if m.grace_until_ms is not None:
        message.grace_until.CopyFrom(timestamp(m.grace_until_ms))
    if m.ended_at_ms is not None:
        message.ended_at.CopyFrom(timestamp(m.ended_at_ms))
    else:
        message.honoured_until.CopyFrom(timestamp(m.covered_until_ms))
    return message


def voucher_message(v: VoucherView) -> pb.Voucher:
    """A voucher as its caller may see it."""
    voucher = v.voucher
    message = pb.Voucher(
        voucher_id=voucher.voucher_id,
        membership_id=voucher.membership_id,
        funder_partner_id=voucher.funder_partner_id,
        honouring_partner_id=voucher.honouring_partner_id,
        member_ref=v.member_ref,
        value_minor=voucher.value_minor,
        currency=voucher.currency,
        valid_from=timestamp(voucher.issued_at_ms),
        expires_at=timestamp(voucher.expires_at_ms),
        state=f"VOUCHER_STATE_{voucher.state.value}",  # type: ignore[arg-type]
        reference=voucher.reference,
        agreement_id=voucher.agreement_id,
    )
    if voucher.redeemed_at_ms is not None:
        message.redeemed_at.CopyFrom(timestamp(voucher.redeemed_at_ms))
    return message


def pass_message(signed: SignedPass) -> pb.MembershipPass:
    """A membership pass as a message."""
    return pb.MembershipPass(payload=signed.payload, hub_key_id=signed.hub_key_id, signature=signed.signature)
