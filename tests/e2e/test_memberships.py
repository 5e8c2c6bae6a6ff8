"""Joint paid membership, end to end through the SDK on both databases.

Stride sells "Coalition Plus" with Voltline (5 % off and a monthly voucher) and Brewhaus (a free
coffee a week): yearly at 888.00, or 88.00 for members Stride scores 1,000 or more, monthly at
9.00. Voltline is paid a tenth of every fee, Brewhaus a fixed 5.00 of a yearly fee and 0.50 of
a monthly one; Stride keeps the rest. Cancelling refunds the unused whole days.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from fractions import Fraction

import pytest
import sqlalchemy

from exchange.store.tables import (
    instructions,
    membership_agreements,
    membership_grants,
    memberships,
    movements,
)
from partner_sdk import (
    AlreadyExistsError,
    ExchangeClient,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from partner_sdk.memberships import (
    FixedShare,
    FreeDelivery,
    MembershipTerms,
    PartnerTerms,
    PercentageDiscount,
    PriceTier,
    RatioShare,
    TermOffer,
    TextBenefit,
    Vouchers,
)
from partner_sdk.settlement import verify_statement
from tests.conftest import RunningHub

DAY_MS = 86_400_000
PLUS = "coalition-plus"


def plus_terms(hub: RunningHub, **changes: object) -> MembershipTerms:
    now = hub.clock.now()
    terms = MembershipTerms(
        programme_id=PLUS,
        version=1,
        name="Coalition Plus",
        seller_partner_id="stride",
        currency="EUR",
        offers=(
            TermOffer("MONTHLY", 900),
            TermOffer("YEARLY", 88_800, tiers=(PriceTier(min_score=1_000, fee_minor=8_800),)),
        ),
        partners=(
            PartnerTerms(
                "voltline",
                benefits=(
                    PercentageDiscount(basis_points=500, cap_minor=2_000),
                    Vouchers(1, "MONTHLY", 500, 30, "SELLER"),
                ),
                shares=(("MONTHLY", RatioShare(Fraction(1, 10))), ("YEARLY", RatioShare(Fraction(1, 10)))),
            ),
            PartnerTerms(
                "brewhaus",
                benefits=(TextBenefit("a free coffee every week"), FreeDelivery()),
                shares=(("MONTHLY", FixedShare(50)), ("YEARLY", FixedShare(500))),
            ),
        ),
        refund_rule="PRO_RATA",
        grace_days=7,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=800),
    )
    return replace(terms, **changes)  # type: ignore[arg-type]


@dataclass
class Coalition:
    hub: RunningHub
    stride: ExchangeClient
    voltline: ExchangeClient
    brewhaus: ExchangeClient

    def count(self, table: sqlalchemy.Table) -> int:
        with self.hub.database.engine.connect() as connection:
            return int(connection.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(table)).scalar_one())

    def link(self, partner: ExchangeClient, stride_ref: str, partner_ref: str) -> None:
        code = self.stride.create_link_code(stride_ref)
        partner.redeem_link_code(code.code, member_ref=partner_ref)


@pytest.fixture
def coalition(hub: RunningHub) -> Coalition:
    stride, _ = hub.active_partner("stride")
    voltline, _ = hub.active_partner("voltline")
    brewhaus, _ = hub.active_partner("brewhaus")
    return Coalition(hub, stride, voltline, brewhaus)


@pytest.fixture
def plus(coalition: Coalition) -> Coalition:
    proposed = coalition.stride.propose_membership_agreement(plus_terms(coalition.hub))
    coalition.voltline.sign_membership_agreement(proposed.agreement_id)
    active = coalition.brewhaus.sign_membership_agreement(proposed.agreement_id)
    assert active.status == "ACTIVE"
    return coalition


def test_a_programme_is_active_once_every_partner_signed_the_document_the_seller_signed(coalition: Coalition) -> None:
    proposed = coalition.stride.propose_membership_agreement(plus_terms(coalition.hub))
    assert (proposed.status, proposed.awaiting_partner_ids) == ("PROPOSED", ("brewhaus", "voltline"))
    with pytest.raises(NotFoundError):
        coalition.stride.enrol(PLUS, member_ref="s-1", term="MONTHLY", fee_minor=900)  # not in force yet
    half = coalition.voltline.sign_membership_agreement(proposed.agreement_id)
    assert (half.status, half.awaiting_partner_ids) == ("PROPOSED", ("brewhaus",))
    active = coalition.brewhaus.sign_membership_agreement(proposed.agreement_id)
    assert (active.status, active.awaiting_partner_ids) == ("ACTIVE", ())
    assert [s.partner_id for s in active.signatures] == ["stride", "voltline", "brewhaus"]
    assert active.document == proposed.document
    seen = coalition.voltline.get_membership_agreement(proposed.agreement_id)
    assert (seen.status, seen.document, seen.terms) == ("ACTIVE", proposed.document, proposed.terms)
    assert seen.terms.partners[0].benefits == plus_terms(coalition.hub).partners[1].benefits  # brewhaus sorts first


def test_a_brand_outside_the_programme_neither_reads_nor_signs_it(coalition: Coalition) -> None:
    outsider, _ = coalition.hub.active_partner("pacer")
    proposed = coalition.stride.propose_membership_agreement(plus_terms(coalition.hub))
    with pytest.raises(NotFoundError):
        outsider.get_membership_agreement(proposed.agreement_id)
    with pytest.raises(NotFoundError):
        outsider.sign_membership_agreement(proposed.agreement_id)


def test_terms_whose_shares_exceed_a_fee_are_refused_and_nothing_is_kept(coalition: Coalition) -> None:
    greedy = plus_terms(coalition.hub)
    greedy = replace(
        greedy,
        partners=(
            replace(
                greedy.partners[0], shares=(("MONTHLY", RatioShare(Fraction(1, 10))), ("YEARLY", FixedShare(8_500)))
            ),
            greedy.partners[1],
        ),
    )
    with pytest.raises(InvalidArgumentError) as refused:
        coalition.stride.propose_membership_agreement(greedy)
    assert refused.value.reason == "SHARES_EXCEED_FEE"  # 85.00 + 5.00 of the 88.00 tier
    assert coalition.count(membership_agreements) == 0


def test_a_member_enrolled_at_the_score_price_is_granted_at_a_linked_partner_and_waits_at_another(
    plus: Coalition,
) -> None:
    plus.link(plus.voltline, "s-1", "v-1")
    enrolled = plus.stride.enrol(PLUS, member_ref="s-1", term="YEARLY", score=1_200, fee_minor=8_800)
    assert (enrolled.state, enrolled.member_ref, enrolled.programme_name) == ("ACTIVE", "s-1", "Coalition Plus")
    assert {g.partner_id: g.state for g in enrolled.grants} == {"brewhaus": "AWAITING_LINK", "voltline": "PENDING"}
    (grant,) = plus.voltline.pull_instructions(wait_s=0)
    assert (grant.kind, grant.member_ref, grant.points, grant.membership_id, grant.programme_id) == (
        "BENEFIT_GRANT",
        "v-1",
        0,
        enrolled.membership_id,
        PLUS,
    )
    assert grant.benefits == plus_terms(plus.hub).partners[0].benefits
    assert grant.honoured_until == enrolled.terms[0].ends_at
    assert plus.brewhaus.pull_instructions(wait_s=0) == ()
    plus.voltline.acknowledge_instruction(grant.instruction_id, partner_reference="volt-plus-1")
    seen = plus.voltline.get_membership(enrolled.membership_id)
    assert (seen.member_ref, [(g.partner_id, g.state) for g in seen.grants]) == ("v-1", [("voltline", "HONOURED")])
    assert plus.brewhaus.get_membership(enrolled.membership_id).member_ref == ""  # not linked there yet

    plus.link(plus.brewhaus, "s-1", "b-1")  # the waiting grant goes out once the member links
    (late,) = plus.brewhaus.pull_instructions(wait_s=0)
    assert (late.kind, late.member_ref, late.benefits) == (
        "BENEFIT_GRANT",
        "b-1",
        plus_terms(plus.hub).partners[1].benefits,
    )
    assert plus.stride.get_membership(enrolled.membership_id).grants[0].state == "PENDING"


def test_each_refusal_of_an_enrolment_is_typed_and_writes_nothing(plus: Coalition) -> None:
    before = (plus.count(memberships), plus.count(instructions), plus.count(movements))
    cases = [
        (dict(fee_minor=88_800, score=1_200), FailedPreconditionError, "FEE_MISMATCH"),
        (dict(fee_minor=8_800), FailedPreconditionError, "FEE_MISMATCH"),  # no score, no discount
        (dict(fee_minor=8_800, score=1_200, programme_id="no-such-plan"), NotFoundError, "PROGRAMME_NOT_FOUND"),
        (dict(fee_minor=8_800, score=1_200, member_ref=""), InvalidArgumentError, None),
    ]
    for options, error, reason in cases:
        asked = {"programme_id": PLUS, "member_ref": "s-2", "term": "YEARLY", **options}
        programme = asked.pop("programme_id")
        with pytest.raises(error) as refused:
            plus.stride.enrol(programme, **asked)  # type: ignore[arg-type]
        if reason is not None:
            assert refused.value.reason == reason, options
    with pytest.raises(PermissionDeniedError):
        plus.voltline.enrol(PLUS, member_ref="v-2", term="MONTHLY", fee_minor=900)  # a partner does not sell it
    assert (plus.count(memberships), plus.count(instructions), plus.count(movements)) == before


def test_a_member_is_enrolled_once_for_any_time_and_a_retry_gets_the_same_membership(plus: Coalition) -> None:
    first = plus.stride.enrol(PLUS, member_ref="s-3", term="MONTHLY", fee_minor=900, idempotency_key="enrol-s-3")
    again = plus.stride.enrol(PLUS, member_ref="s-3", term="MONTHLY", fee_minor=900, idempotency_key="enrol-s-3")
    assert again.membership_id == first.membership_id
    with pytest.raises(AlreadyExistsError) as refused:
        plus.stride.enrol(PLUS, member_ref="s-3", term="YEARLY", fee_minor=88_800)
    assert refused.value.reason == "ALREADY_ENROLLED"
    assert plus.count(memberships) == 1


def test_a_cancellation_refunds_the_unused_days_takes_back_the_shares_and_revokes_the_benefits(plus: Coalition) -> None:
    plus.link(plus.voltline, "s-4", "v-4")
    enrolled = plus.stride.enrol(PLUS, member_ref="s-4", term="YEARLY", score=1_200, fee_minor=8_800)
    (grant,) = plus.voltline.pull_instructions(wait_s=0)
    plus.voltline.acknowledge_instruction(grant.instruction_id, partner_reference="volt-plus-4")
    plus.hub.clock.advance(100 * DAY_MS + 3_600_000)  # 100 whole days and an hour used
    cancelled = plus.stride.cancel_membership(enrolled.membership_id, idempotency_key="cancel-s-4")
    days = (enrolled.terms[0].ends_at - enrolled.terms[0].starts_at).days
    refund = 8_800 * (days - 101) // days  # the day begun is not refunded
    assert (cancelled.state, cancelled.terms[0].refund_minor) == ("CANCELLED", refund)
    assert cancelled.honoured_until is None and cancelled.ended_at is not None
    (revoke,) = plus.voltline.pull_instructions(wait_s=0)
    assert (revoke.kind, revoke.member_ref, revoke.membership_id) == ("BENEFIT_REVOKE", "v-4", enrolled.membership_id)
    assert {g.partner_id: g.state for g in cancelled.grants} == {"brewhaus": "REVOKED", "voltline": "REVOKED"}
    with pytest.raises(FailedPreconditionError) as twice:
        plus.stride.cancel_membership(enrolled.membership_id)
    assert twice.value.reason == "ALREADY_CANCELLED"

    operator = plus.hub.operator()
    closed, _, _ = operator.close_period(operator.get_period().period_id)
    statement = verify_statement(
        plus.voltline.get_statement(f"stm-{closed.period_id[4:]}-voltline"), plus.hub.hub_public_key
    )
    (line,) = statement.counterparties
    voltline_share = 880  # a tenth of 88.00
    voltline_back = voltline_share * refund // 8_800
    assert (line.counterparty, line.money_receivable_minor - line.money_payable_minor) == (
        "stride",
        voltline_share - voltline_back,
    )
    kinds = sorted(m.kind for m in plus.voltline.iter_statement_movements(f"stm-{closed.period_id[4:]}-voltline"))
    assert kinds == ["MEMBERSHIP_FEE_REFUND", "MEMBERSHIP_FEE_SHARE"]


def test_a_failed_renewal_keeps_benefits_through_the_grace_then_the_membership_lapses(plus: Coalition) -> None:
    plus.link(plus.voltline, "s-5", "v-5")
    enrolled = plus.stride.enrol(PLUS, member_ref="s-5", term="MONTHLY", fee_minor=900)
    (grant,) = plus.voltline.pull_instructions(wait_s=0)
    plus.voltline.acknowledge_instruction(grant.instruction_id, partner_reference="volt-plus-5")
    in_grace = plus.stride.report_renewal_failure(enrolled.membership_id)
    assert in_grace.state == "IN_GRACE"
    assert in_grace.grace_until == enrolled.terms[0].ends_at + timedelta(days=7)
    (extended,) = plus.voltline.pull_instructions(wait_s=0)
    assert (extended.kind, extended.honoured_until) == ("BENEFIT_GRANT", in_grace.grace_until)
    plus.voltline.acknowledge_instruction(extended.instruction_id, partner_reference="volt-plus-5b")
    plus.hub.clock.advance(40 * DAY_MS)
    assert plus.hub.server.expire_overdue_once() >= 1
    lapsed = plus.stride.get_membership(enrolled.membership_id)
    assert (lapsed.state, lapsed.ended_at) == ("LAPSED", in_grace.grace_until)
    (revoke,) = plus.voltline.pull_instructions(wait_s=0)
    assert (revoke.kind, revoke.honoured_until) == ("BENEFIT_REVOKE", in_grace.grace_until)
    with pytest.raises(FailedPreconditionError) as late:
        plus.stride.renew_membership(enrolled.membership_id, term="MONTHLY", fee_minor=900)
    assert late.value.reason == "MEMBERSHIP_LAPSED"


def test_a_renewal_pays_the_shares_again_and_tells_each_partner_the_new_end(plus: Coalition) -> None:
    plus.link(plus.voltline, "s-6", "v-6")
    enrolled = plus.stride.enrol(PLUS, member_ref="s-6", term="MONTHLY", fee_minor=900)
    (grant,) = plus.voltline.pull_instructions(wait_s=0)
    plus.voltline.acknowledge_instruction(grant.instruction_id, partner_reference="volt-plus-6")
    plus.hub.clock.advance(20 * DAY_MS)
    renewed = plus.stride.renew_membership(
        enrolled.membership_id, term="MONTHLY", fee_minor=900, idempotency_key="renew-s-6"
    )
    assert [t.starts_at for t in renewed.terms] == [enrolled.terms[0].starts_at, enrolled.terms[0].ends_at]
    (again,) = plus.voltline.pull_instructions(wait_s=0)
    assert (again.kind, again.honoured_until) == ("BENEFIT_GRANT", renewed.terms[1].ends_at)
    with plus.hub.database.engine.connect() as connection:
        shares = connection.execute(
            sqlalchemy.select(movements.c.target_partner_id, movements.c.amount_minor).where(
                movements.c.kind == "MEMBERSHIP_FEE_SHARE"
            )
        ).all()
    assert sorted(shares) == [("brewhaus", 50), ("brewhaus", 50), ("voltline", 90), ("voltline", 90)]
    assert plus.count(membership_grants) == 2
