"""Conversion, instruction and agreement rules: every transition and one test per refusal, no I/O."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from exchange.domain import agreements as agreement_rules
from exchange.domain import instructions as instruction_rules
from exchange.domain.agreements import MAX_AGREEMENT_DAYS, Agreement, AgreementStatus, AgreementTerms
from exchange.domain.conversions import (
    HUB_ACTOR,
    TRANSITIONS,
    Conversion,
    ConversionEvent,
    ConversionState,
    Quote,
    move,
    require_reversible,
    require_usable_quote,
)
from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin
from exchange.domain.money import MAX_POINTS, MAX_RATIO_TERM
from exchange.domain.pricing import price_conversion

NOW = 1_800_000_000_000
DAY_MS = 86_400_000
SOURCE = "stride"
TARGET = "bloom"
STRANGER = "voltline"

VALID_TERMS: dict[str, object] = {
    "source_partner_id": SOURCE,
    "target_partner_id": TARGET,
    "version": 1,
    "rate": (3, 2),
    "min_source_points": 100,
    "max_source_points": 10_000,
    "source_increment": 10,
    "member_daily_cap_source_points": 50_000,
    "fee_basis_points": 150,
    "fee_fixed_points": None,
    "valid_from_ms": NOW,
    "valid_until_ms": NOW + 365 * DAY_MS,
    "settlement_price_minor": (1, 2),
    "settlement_currency": "EUR",
}


def terms(**changes: object) -> AgreementTerms:
    return agreement_rules.validate_terms(**{**VALID_TERMS, **changes})  # type: ignore[arg-type]


def agreement(status: AgreementStatus = AgreementStatus.PROPOSED, **changes: object) -> Agreement:
    proposed = Agreement(
        agreement_id="agr_1",
        terms=terms(),
        status=status,
        document=b"terms document",
        proposer_key_id="k1",
        proposer_signature=b"s" * 64,
        proposed_at_ms=NOW,
        status_changed_at_ms=NOW,
    )
    return replace(proposed, **changes)  # type: ignore[arg-type]


def conversion(state: ConversionState = ConversionState.PENDING_CREDIT) -> Conversion:
    return Conversion(
        conversion_id="cnv_1",
        quote_id="quo_1",
        agreement_id="agr_1",
        agreement_version=1,
        source_partner_id=SOURCE,
        target_partner_id=TARGET,
        source_member_ref="member-s",
        target_member_ref="member-t",
        amounts=price_conversion(terms(), 1_000),
        state=state,
        credit_deadline_ms=NOW + 15 * 60_000,
        created_at_ms=NOW,
    )


def quote(**changes: object) -> Quote:
    offer = Quote(
        quote_id="quo_1",
        agreement_id="agr_1",
        agreement_version=1,
        source_partner_id=SOURCE,
        target_partner_id=TARGET,
        amounts=price_conversion(terms(), 1_000),
        created_at_ms=NOW,
        expires_at_ms=NOW + 60_000,
    )
    return replace(offer, **changes)  # type: ignore[arg-type]


def instruction(
    kind: InstructionKind = InstructionKind.CREDIT, state: InstructionState = InstructionState.PENDING
) -> Instruction:
    return Instruction(
        instruction_id="ins_1",
        partner_id=TARGET,
        kind=kind,
        state=state,
        member_ref="member-t",
        points=1_477,
        point_currency="BLOM",
        origin=Origin.conversion("cnv_1"),
        created_at_ms=NOW,
    )


# --- the conversion state machine ------------------------------------------------------------------------

ALL_PAIRS = list(itertools.product(ConversionState, ConversionState))
ALLOWED = [(start, end) for start, end in ALL_PAIRS if end in TRANSITIONS[start]]
DISALLOWED = [(start, end) for start, end in ALL_PAIRS if end not in TRANSITIONS[start]]


def pair_id(pair: tuple[ConversionState, ConversionState]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def test_every_state_has_a_transition_entry_and_finished_states_go_nowhere() -> None:
    assert set(TRANSITIONS) == set(ConversionState)
    assert TRANSITIONS[ConversionState.COMPLETED] == frozenset()
    assert TRANSITIONS[ConversionState.REFUNDED] == frozenset()
    assert len(ALLOWED) == 5


@pytest.mark.parametrize("pair", ALLOWED, ids=pair_id)
def test_an_allowed_transition_moves_the_conversion_and_appends_one_event(
    pair: tuple[ConversionState, ConversionState],
) -> None:
    start, end = pair
    before = replace(conversion(start), history=(ConversionEvent(NOW, SOURCE, None, start),))
    after = move(before, end, actor=HUB_ACTOR, at_ms=NOW + 5, note="deadline passed")
    assert after.state is end
    assert after.history == (*before.history, ConversionEvent(NOW + 5, HUB_ACTOR, start, end, "deadline passed"))
    assert replace(after, state=start, history=before.history) == before


@pytest.mark.parametrize("pair", DISALLOWED, ids=pair_id)
def test_a_disallowed_transition_is_refused_with_the_current_state_and_changes_nothing(
    pair: tuple[ConversionState, ConversionState],
) -> None:
    start, end = pair
    before = conversion(start)
    snapshot = replace(before)
    with pytest.raises(FailedPrecondition) as refused:
        move(before, end, actor=TARGET, at_ms=NOW + 5)
    assert refused.value.reason == f"CONVERSION_{start.value}"
    assert before == snapshot
    assert before.history == ()


def test_a_conversion_keeps_its_whole_history_in_order() -> None:
    rejected = move(conversion(), ConversionState.REJECTED, actor=TARGET, at_ms=NOW + 1, note="no such member")
    refunded = move(rejected, ConversionState.REFUNDED, actor=SOURCE, at_ms=NOW + 2, note="ref-9")
    assert [(e.from_state, e.to_state, e.actor, e.note) for e in refunded.history] == [
        (ConversionState.PENDING_CREDIT, ConversionState.REJECTED, TARGET, "no such member"),
        (ConversionState.REJECTED, ConversionState.REFUNDED, SOURCE, "ref-9"),
    ]


# --- quotes ------------------------------------------------------------------------------------------------


def test_a_fresh_unused_quote_of_the_caller_is_usable() -> None:
    offer = quote()
    assert require_usable_quote(offer, SOURCE, "quo_1", NOW + 59_999) is offer


def test_a_missing_quote_is_not_found() -> None:
    with pytest.raises(NotFound) as refused:
        require_usable_quote(None, SOURCE, "quo_1", NOW)
    assert (refused.value.reason, refused.value.field) == ("QUOTE_NOT_FOUND", "quote_id")


@pytest.mark.parametrize("caller", [TARGET, STRANGER])
def test_another_partners_quote_is_not_found(caller: str) -> None:
    with pytest.raises(NotFound) as refused:
        require_usable_quote(quote(), caller, "quo_1", NOW)
    assert refused.value.reason == "QUOTE_NOT_FOUND"


def test_a_used_quote_is_refused() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        require_usable_quote(quote(used_by="cnv_1"), SOURCE, "quo_1", NOW)
    assert refused.value.reason == "QUOTE_ALREADY_USED"


def test_a_quote_is_expired_at_exactly_its_expiry() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        require_usable_quote(quote(), SOURCE, "quo_1", NOW + 60_000)
    assert refused.value.reason == "QUOTE_EXPIRED"


# --- reversals -------------------------------------------------------------------------------------------


def test_the_target_partner_may_reverse_a_completed_conversion() -> None:
    require_reversible(conversion(ConversionState.COMPLETED), TARGET)


@pytest.mark.parametrize("caller", [SOURCE, STRANGER])
def test_only_the_target_partner_reverses_a_conversion(caller: str) -> None:
    with pytest.raises(PermissionDenied) as refused:
        require_reversible(conversion(ConversionState.COMPLETED), caller)
    assert refused.value.reason == "NOT_TARGET_PARTNER"


@pytest.mark.parametrize("state", [s for s in ConversionState if s is not ConversionState.COMPLETED], ids=str)
def test_only_a_completed_conversion_is_reversed(state: ConversionState) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        require_reversible(conversion(state), TARGET)
    assert refused.value.reason == "CONVERSION_NOT_COMPLETED"


# --- instructions ----------------------------------------------------------------------------------------


def test_acknowledging_a_pending_instruction_records_the_partners_reference() -> None:
    done = instruction_rules.acknowledge(instruction(), reference="  ref-1 ")
    assert (done.state, done.partner_reference) == (InstructionState.ACKNOWLEDGED, "ref-1")


def test_acknowledging_twice_with_the_same_reference_changes_nothing() -> None:
    once = instruction_rules.acknowledge(instruction(), reference="ref-1")
    assert instruction_rules.acknowledge(once, reference="ref-1") == once
    assert instruction_rules.acknowledge(once, reference=" ref-1 ") == once


def test_acknowledging_again_with_another_reference_is_refused() -> None:
    once = instruction_rules.acknowledge(instruction(), reference="ref-1")
    with pytest.raises(FailedPrecondition) as refused:
        instruction_rules.acknowledge(once, reference="ref-2")
    assert refused.value.reason == "INSTRUCTION_ACKNOWLEDGED"


def test_an_empty_reference_is_refused() -> None:
    with pytest.raises(InvalidArgument) as refused:
        instruction_rules.acknowledge(instruction(), reference="  ")
    assert (refused.value.reason, refused.value.field) == ("EMPTY_FIELD", "partner_reference")


def test_a_pending_credit_can_be_rejected_with_a_reason() -> None:
    rejected = instruction_rules.reject(instruction(), reason="unknown member")
    assert (rejected.state, rejected.reason) == (InstructionState.REJECTED, "unknown member")


def test_a_refund_cannot_be_rejected() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        instruction_rules.reject(instruction(InstructionKind.REFUND), reason="no")
    assert refused.value.reason == "ONLY_CREDITS_REJECTABLE"


def test_an_acknowledged_credit_cannot_be_rejected() -> None:
    done = instruction_rules.acknowledge(instruction(), reference="ref-1")
    with pytest.raises(FailedPrecondition) as refused:
        instruction_rules.reject(done, reason="changed my mind")
    assert refused.value.reason == "INSTRUCTION_ACKNOWLEDGED"


def test_a_cancelled_credit_cannot_be_acknowledged_and_the_refusal_says_why_it_was_cancelled() -> None:
    cancelled = instruction_rules.cancel(instruction(), reason="credit deadline passed")
    assert cancelled.state is InstructionState.CANCELLED
    with pytest.raises(FailedPrecondition) as refused:
        instruction_rules.acknowledge(cancelled, reference="ref-1")
    assert refused.value.reason == "INSTRUCTION_CANCELLED"
    assert "credit deadline passed" in refused.value.message


def test_a_cancelled_instruction_cannot_be_cancelled_again() -> None:
    cancelled = instruction_rules.cancel(instruction(), reason="credit deadline passed")
    with pytest.raises(FailedPrecondition) as refused:
        instruction_rules.cancel(cancelled, reason="again")
    assert refused.value.reason == "INSTRUCTION_CANCELLED"


@pytest.mark.parametrize("found", [None, instruction()], ids=["missing", "another-partners"])
def test_an_instruction_of_another_partner_is_not_found(found: Instruction | None) -> None:
    with pytest.raises(NotFound) as refused:
        instruction_rules.require_own(found, STRANGER, "ins_1")
    assert refused.value.reason == "INSTRUCTION_NOT_FOUND"


# --- agreement terms ---------------------------------------------------------------------------------------


def test_valid_terms_are_accepted_with_reduced_ratios() -> None:
    accepted = terms(rate=(6, 4), settlement_price_minor=(2, 4))
    assert (accepted.rate.numerator, accepted.rate.denominator) == (3, 2)
    assert (accepted.settlement_price_minor.numerator, accepted.settlement_price_minor.denominator) == (1, 2)


def test_the_longest_validity_is_accepted() -> None:
    terms(valid_until_ms=NOW + MAX_AGREEMENT_DAYS * DAY_MS)


@pytest.mark.parametrize(
    ("changes", "reason", "field"),
    [
        ({"target_partner_id": SOURCE}, "SAME_PARTNER", "terms.target_partner_id"),
        ({"version": 0}, "INVALID_VERSION", "terms.version"),
        ({"min_source_points": 0}, "NON_POSITIVE_AMOUNT", "terms.min_source_points"),
        ({"min_source_points": MAX_POINTS + 1}, "AMOUNT_TOO_LARGE", "terms.min_source_points"),
        ({"max_source_points": -1}, "NON_POSITIVE_AMOUNT", "terms.max_source_points"),
        ({"max_source_points": MAX_POINTS + 1}, "AMOUNT_TOO_LARGE", "terms.max_source_points"),
        ({"max_source_points": 99}, "MAX_BELOW_MIN", "terms.max_source_points"),
        ({"source_increment": 0}, "NON_POSITIVE_AMOUNT", "terms.source_increment"),
        ({"member_daily_cap_source_points": 0}, "NON_POSITIVE_AMOUNT", "terms.member_daily_cap_source_points"),
        ({"fee_basis_points": -1}, "INVALID_FEE", "terms.fee_basis_points"),
        ({"fee_basis_points": 10_001}, "INVALID_FEE", "terms.fee_basis_points"),
        ({"fee_basis_points": None, "fee_fixed_points": -1}, "INVALID_FEE", "terms.fee_fixed_points"),
        ({"fee_basis_points": None, "fee_fixed_points": 100}, "INVALID_FEE", "terms.fee_fixed_points"),
        ({"valid_until_ms": NOW}, "EMPTY_VALIDITY", "terms.valid_until"),
        ({"valid_until_ms": NOW - 1}, "EMPTY_VALIDITY", "terms.valid_until"),
        ({"valid_until_ms": NOW + MAX_AGREEMENT_DAYS * DAY_MS + 1}, "VALIDITY_TOO_LONG", "terms.valid_until"),
        ({"rate": (0, 1)}, "NON_POSITIVE_RATIO", "terms.rate"),
        ({"rate": (1, -2)}, "NON_POSITIVE_RATIO", "terms.rate"),
        ({"rate": (MAX_RATIO_TERM + 1, 1)}, "RATIO_TOO_LARGE", "terms.rate"),
        ({"settlement_price_minor": (1, 0)}, "NON_POSITIVE_RATIO", "terms.settlement_price_minor"),
        ({"settlement_price_minor": (1, MAX_RATIO_TERM + 1)}, "RATIO_TOO_LARGE", "terms.settlement_price_minor"),
        ({"settlement_currency": "XXX"}, "UNKNOWN_CURRENCY", "terms.settlement_currency"),
        ({"settlement_currency": "eur"}, "UNKNOWN_CURRENCY", "terms.settlement_currency"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_terms_with_a_bad_field_are_refused_naming_the_field(
    changes: dict[str, object], reason: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        terms(**changes)
    assert (refused.value.reason, refused.value.field) == (reason, field)


# --- proposing, accepting, suspending, terminating -------------------------------------------------------------


@pytest.mark.parametrize(("version", "latest"), [(1, None), (3, 2)])
def test_the_source_partner_proposes_the_next_version_in_the_target_partners_currency(
    version: int, latest: int | None
) -> None:
    agreement_rules.check_proposal(terms(version=version), SOURCE, latest, "EUR")


@pytest.mark.parametrize("caller", [TARGET, STRANGER])
def test_only_the_source_partner_proposes(caller: str) -> None:
    with pytest.raises(PermissionDenied) as refused:
        agreement_rules.check_proposal(terms(), caller, None, "EUR")
    assert refused.value.reason == "NOT_SOURCE_PARTNER"


@pytest.mark.parametrize(("version", "latest"), [(2, None), (1, 1), (3, 1), (2, 2)])
def test_a_proposal_must_carry_the_next_version_of_the_pair(version: int, latest: int | None) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        agreement_rules.check_proposal(terms(version=version), SOURCE, latest, "EUR")
    assert (refused.value.reason, refused.value.field) == ("WRONG_VERSION", "terms.version")


def test_a_proposal_must_settle_in_the_target_partners_currency() -> None:
    with pytest.raises(InvalidArgument) as refused:
        agreement_rules.check_proposal(terms(), SOURCE, None, "USD")
    assert (refused.value.reason, refused.value.field) == ("WRONG_SETTLEMENT_CURRENCY", "terms.settlement_currency")


def test_the_target_partner_accepts_a_proposed_agreement() -> None:
    accepted = agreement_rules.accept(agreement(), caller=TARGET, key_id="k9", signature=b"a" * 64, now_ms=NOW + 7)
    assert accepted.status is AgreementStatus.ACTIVE
    assert (accepted.acceptor_key_id, accepted.acceptor_signature) == ("k9", b"a" * 64)
    assert accepted.accepted_at_ms == accepted.status_changed_at_ms == NOW + 7


@pytest.mark.parametrize("caller", [SOURCE, STRANGER])
def test_only_the_target_partner_accepts(caller: str) -> None:
    with pytest.raises(PermissionDenied) as refused:
        agreement_rules.accept(agreement(), caller=caller, key_id="k1", signature=b"a" * 64, now_ms=NOW)
    assert refused.value.reason == "NOT_TARGET_PARTNER"


@pytest.mark.parametrize(
    "status", [s for s in AgreementStatus if s is not AgreementStatus.PROPOSED], ids=lambda s: s.value
)
def test_only_a_proposed_agreement_is_accepted(status: AgreementStatus) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        agreement_rules.accept(agreement(status), caller=TARGET, key_id="k9", signature=b"a" * 64, now_ms=NOW)
    assert refused.value.reason == "AGREEMENT_NOT_PROPOSED"


@pytest.mark.parametrize("suspender", [SOURCE, TARGET])
def test_the_party_that_suspended_an_agreement_resumes_it(suspender: str) -> None:
    suspended = agreement_rules.suspend(
        agreement(AgreementStatus.ACTIVE), caller=suspender, reason=" audit ", now_ms=NOW + 1
    )
    assert (suspended.status, suspended.suspended_by, suspended.status_reason) == (
        AgreementStatus.SUSPENDED,
        suspender,
        "audit",
    )
    resumed = agreement_rules.resume(suspended, caller=suspender, now_ms=NOW + 2)
    assert (resumed.status, resumed.suspended_by, resumed.status_reason) == (AgreementStatus.ACTIVE, "", "")
    assert resumed.status_changed_at_ms == NOW + 2


@pytest.mark.parametrize(("suspender", "other"), [(SOURCE, TARGET), (TARGET, SOURCE)])
def test_only_the_suspender_resumes(suspender: str, other: str) -> None:
    suspended = agreement_rules.suspend(agreement(AgreementStatus.ACTIVE), caller=suspender, reason="x", now_ms=NOW)
    with pytest.raises(PermissionDenied) as refused:
        agreement_rules.resume(suspended, caller=other, now_ms=NOW + 1)
    assert refused.value.reason == "NOT_SUSPENDER"


@pytest.mark.parametrize(
    "status", [s for s in AgreementStatus if s is not AgreementStatus.ACTIVE], ids=lambda s: s.value
)
def test_only_an_active_agreement_is_suspended(status: AgreementStatus) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        agreement_rules.suspend(agreement(status), caller=SOURCE, reason="x", now_ms=NOW)
    assert refused.value.reason == "AGREEMENT_NOT_ACTIVE"


@pytest.mark.parametrize(
    "status", [s for s in AgreementStatus if s is not AgreementStatus.SUSPENDED], ids=lambda s: s.value
)
def test_only_a_suspended_agreement_is_resumed(status: AgreementStatus) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        agreement_rules.resume(agreement(status), caller=SOURCE, now_ms=NOW)
    assert refused.value.reason == "AGREEMENT_NOT_SUSPENDED"


def test_a_suspension_needs_a_reason() -> None:
    with pytest.raises(InvalidArgument) as refused:
        agreement_rules.suspend(agreement(AgreementStatus.ACTIVE), caller=SOURCE, reason=" ", now_ms=NOW)
    assert refused.value.reason == "EMPTY_FIELD"


@pytest.mark.parametrize(
    "status", [AgreementStatus.PROPOSED, AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED], ids=lambda s: s.value
)
def test_an_agreement_not_yet_ended_can_be_terminated(status: AgreementStatus) -> None:
    ended = agreement_rules.terminate(agreement(status), reason="contract ended", now_ms=NOW + 3)
    assert (ended.status, ended.status_reason, ended.status_changed_at_ms) == (
        AgreementStatus.TERMINATED,
        "contract ended",
        NOW + 3,
    )


@pytest.mark.parametrize("status", [AgreementStatus.TERMINATED, AgreementStatus.SUPERSEDED], ids=lambda s: s.value)
def test_an_ended_agreement_cannot_be_terminated_again(status: AgreementStatus) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        agreement_rules.terminate(agreement(status), reason="again", now_ms=NOW)
    assert refused.value.reason == "AGREEMENT_ENDED"


def test_a_superseded_agreement_forgets_who_suspended_it() -> None:
    suspended = agreement(AgreementStatus.SUSPENDED, suspended_by=SOURCE)
    superseded = agreement_rules.supersede(suspended, NOW + 1)
    assert (superseded.status, superseded.suspended_by) == (AgreementStatus.SUPERSEDED, "")


@pytest.mark.parametrize("caller", [SOURCE, TARGET])
def test_an_agreement_is_visible_to_its_parties(caller: str) -> None:
    assert agreement_rules.require_visible(agreement(), caller, "agr_1").agreement_id == "agr_1"


@pytest.mark.parametrize("found", [None, agreement()], ids=["missing", "not-a-party"])
def test_an_agreement_is_not_found_by_anyone_else(found: Agreement | None) -> None:
    with pytest.raises(NotFound) as refused:
        agreement_rules.require_visible(found, STRANGER, "agr_1")
    assert refused.value.reason == "AGREEMENT_NOT_FOUND"


# --- is an agreement usable now? -----------------------------------------------------------------------------


@pytest.mark.parametrize("now_ms", [NOW, NOW + 365 * DAY_MS - 1], ids=["valid-from", "last-millisecond"])
def test_an_active_agreement_is_usable_within_its_validity(now_ms: int) -> None:
    active = agreement(AgreementStatus.ACTIVE)
    assert agreement_rules.require_usable(active, now_ms) is active


def test_without_an_agreement_nothing_is_usable() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        agreement_rules.require_usable(None, NOW)
    assert refused.value.reason == "NO_ACTIVE_AGREEMENT"


@pytest.mark.parametrize(
    "status", [s for s in AgreementStatus if s is not AgreementStatus.ACTIVE], ids=lambda s: s.value
)
def test_an_agreement_that_is_not_active_is_not_usable(status: AgreementStatus) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        agreement_rules.require_usable(agreement(status), NOW + 1)
    assert refused.value.reason == "AGREEMENT_NOT_ACTIVE"


@pytest.mark.parametrize("now_ms", [NOW - 1, NOW + 365 * DAY_MS], ids=["before-valid-from", "at-valid-until"])
def test_an_active_agreement_outside_its_validity_is_not_in_force(now_ms: int) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        agreement_rules.require_usable(agreement(AgreementStatus.ACTIVE), now_ms)
    assert refused.value.reason == "AGREEMENT_NOT_IN_FORCE"
