"""Joint paid membership, end to end through the SDK on both databases: Coalition Plus (tests/e2e/plus_programme.py)."""

from __future__ import annotations

from dataclasses import replace
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
    FailedPreconditionError,
    Instruction,
    InstructionLoop,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    verify_membership_pass,
)
from partner_sdk.memberships import FixedShare, RatioShare
from partner_sdk.settlement import verify_statement
from tests.e2e.plus_programme import DAY_MS, PLUS, Coalition, plus_terms


def test_a_programme_is_active_once_every_partner_signed_the_document_the_seller_signed(plus_brands: Coalition) -> None:
    proposed = plus_brands.stride.propose_membership_agreement(plus_terms(plus_brands.hub))
    assert (proposed.status, proposed.awaiting_partner_ids) == ("PROPOSED", ("brewhaus", "voltline"))
    with pytest.raises(NotFoundError):
        plus_brands.stride.enrol(PLUS, member_ref="s-1", term="MONTHLY", fee_minor=900)  # not in force yet
    half = plus_brands.voltline.sign_membership_agreement(proposed.agreement_id)
    assert (half.status, half.awaiting_partner_ids) == ("PROPOSED", ("brewhaus",))
    active = plus_brands.brewhaus.sign_membership_agreement(proposed.agreement_id)
    assert (active.status, active.awaiting_partner_ids) == ("ACTIVE", ())
    assert [s.partner_id for s in active.signatures] == ["stride", "voltline", "brewhaus"]
    assert active.document == proposed.document
    seen = plus_brands.voltline.get_membership_agreement(proposed.agreement_id)
    assert (seen.status, seen.document, seen.terms) == ("ACTIVE", proposed.document, proposed.terms)
    assert seen.terms.partners[0].benefits == plus_terms(plus_brands.hub).partners[1].benefits  # brewhaus sorts first


def test_a_brand_outside_the_programme_neither_reads_nor_signs_it(plus_brands: Coalition) -> None:
    outsider, _ = plus_brands.hub.active_partner("pacer")
    proposed = plus_brands.stride.propose_membership_agreement(plus_terms(plus_brands.hub))
    with pytest.raises(NotFoundError):
        outsider.get_membership_agreement(proposed.agreement_id)
    with pytest.raises(NotFoundError):
        outsider.sign_membership_agreement(proposed.agreement_id)


def test_terms_whose_shares_exceed_a_fee_are_refused_and_nothing_is_kept(plus_brands: Coalition) -> None:
    greedy = plus_terms(plus_brands.hub)
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
        plus_brands.stride.propose_membership_agreement(greedy)
    assert refused.value.reason == "SHARES_EXCEED_FEE"  # 85.00 + 5.00 of the 88.00 tier
    assert plus_brands.count(membership_agreements) == 0


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


class PerksDesk:
    """A partner's benefits desk behind its InstructionLoop: what it honours, per membership, until when."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []  # (kind, instruction id), each time the loop calls the desk
        self.honoured_until: dict[str, object] = {}

    def credit(self, instruction: Instruction) -> str:
        raise AssertionError("a benefits desk is given no points")

    def refund(self, instruction: Instruction) -> str:
        raise AssertionError("a benefits desk is given no points")

    def release(self, instruction: Instruction) -> str:
        raise AssertionError("a benefits desk is given no points")

    def grant_benefit(self, instruction: Instruction) -> str:
        self.calls.append(("grant", instruction.instruction_id))
        self.honoured_until[instruction.membership_id] = instruction.honoured_until
        return f"perk-{len(self.calls)}"

    def revoke_benefit(self, instruction: Instruction) -> str:
        self.calls.append(("revoke", instruction.instruction_id))
        self.honoured_until[instruction.membership_id] = instruction.honoured_until
        return f"perk-{len(self.calls)}"


def test_a_partner_offline_while_grants_pile_up_catches_up_once_each_in_order(plus: Coalition) -> None:
    plus.link(plus.voltline, "s-7", "v-7")
    enrolled = plus.stride.enrol(PLUS, member_ref="s-7", term="MONTHLY", fee_minor=900)  # Voltline is not pulling
    in_grace = plus.stride.report_renewal_failure(enrolled.membership_id)
    renewed = plus.stride.renew_membership(enrolled.membership_id, term="MONTHLY", fee_minor=900)
    desk = PerksDesk()
    loop = InstructionLoop(plus.voltline, desk, wait_s=0)
    assert loop.run_once() == 3
    assert [kind for kind, _ in desk.calls] == ["grant", "grant", "grant"]
    assert desk.honoured_until[enrolled.membership_id] == renewed.terms[-1].ends_at
    assert in_grace.grace_until is not None and renewed.state == "ACTIVE"
    assert loop.run_once() == 0 and len(desk.calls) == 3  # nothing twice
    assert plus.stride.get_membership(enrolled.membership_id).grants[1].state == "HONOURED"  # the latest grant


def test_a_partner_leaving_the_programme_honours_the_term_it_signed_for_then_its_benefits_end(plus: Coalition) -> None:
    plus.link(plus.voltline, "s-8", "v-8")
    plus.link(plus.brewhaus, "s-8", "b-8")
    enrolled = plus.stride.enrol(PLUS, member_ref="s-8", term="MONTHLY", fee_minor=900)
    for partner in (plus.voltline, plus.brewhaus):
        (grant,) = partner.pull_instructions(wait_s=0)
        partner.acknowledge_instruction(grant.instruction_id, partner_reference="plus-s-8")
    without_brewhaus = plus_terms(plus.hub, version=2, partners=plus_terms(plus.hub).partners[:1])
    proposed = plus.stride.propose_membership_agreement(without_brewhaus)
    assert plus.voltline.sign_membership_agreement(proposed.agreement_id).status == "ACTIVE"
    renewed = plus.stride.renew_membership(enrolled.membership_id, term="MONTHLY", fee_minor=900)
    (revoke,) = plus.brewhaus.pull_instructions(wait_s=0)
    assert (revoke.kind, revoke.honoured_until) == ("BENEFIT_REVOKE", enrolled.terms[0].ends_at)
    assert revoke.reason == "the partner left the programme"
    still = verify_membership_pass(
        plus.brewhaus.issue_membership_pass(enrolled.membership_id), plus.hub.hub_public_key, partner_id="brewhaus"
    )  # the term it signed for still runs: its benefits are honoured to its end
    assert (
        still.benefits == plus_terms(plus.hub).partners[1].benefits and still.valid_until <= enrolled.terms[0].ends_at
    )
    (grant,) = plus.voltline.pull_instructions(wait_s=0)
    assert (grant.kind, grant.honoured_until) == ("BENEFIT_GRANT", renewed.terms[1].ends_at)
    assert [t.terms_version for t in renewed.terms] == [1, 2]
    with pytest.raises(NotFoundError):
        plus.brewhaus.get_membership_agreement(proposed.agreement_id)  # not a partner of version 2
    plus.hub.clock.advance(35 * DAY_MS)  # past the term Brewhaus signed for
    with pytest.raises(FailedPreconditionError):
        plus.brewhaus.issue_membership_pass(enrolled.membership_id)


def test_each_linked_brands_app_lists_the_members_membership_with_the_benefits_it_gives_there(plus: Coalition) -> None:
    plus.link(plus.voltline, "s-9", "v-9")
    outsider, _ = plus.hub.active_partner("pacer")
    code = plus.stride.create_link_code("s-9")
    outsider.redeem_link_code(code.code, member_ref="p-9")  # linked, but not in the programme
    enrolled = plus.stride.enrol(PLUS, member_ref="s-9", term="MONTHLY", fee_minor=900)
    (at_stride,) = plus.stride.list_memberships("s-9")
    assert (at_stride.membership_id, at_stride.member_ref) == (enrolled.membership_id, "s-9")
    assert {g.partner_id for g in at_stride.grants} == {"brewhaus", "voltline"}
    (at_voltline,) = plus.voltline.list_memberships("v-9")
    assert (at_voltline.member_ref, [g.partner_id for g in at_voltline.grants]) == ("v-9", ["voltline"])
    assert at_voltline.grants[0].benefits == plus_terms(plus.hub).partners[0].benefits
    assert outsider.list_memberships("p-9") == ()  # a brand outside the programme sees none of it
    with pytest.raises(NotFoundError):
        plus.brewhaus.list_memberships("b-unknown")
