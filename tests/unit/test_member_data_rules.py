"""The rules of member data, alone: standing, who grants, what an ended link ends, what answers are kept."""

from __future__ import annotations

import pytest

from exchange.domain import consent as rules
from exchange.domain.consent import Consent, Purpose
from exchange.domain.errors import PermissionDenied
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin, cancel, take_back
from exchange.domain.members import Link, require_standing, standing_partners
from exchange.service.stored_answers import Answer, answer_of, refusal_for

DAY_MS = 86_400_000


def _link(a: str, b: str, *, ended: bool = False) -> Link:
    return Link(f"lnk-{a}-{b}", "mbr-1", a, b, 0, ended_at_ms=1 if ended else None)


def _consent(source: str, grantee: str, **changes: object) -> Consent:
    fields: dict[str, object] = {
        "consent_id": f"cst-{source}-{grantee}",
        "member_id": "mbr-1",
        "source_partner_id": source,
        "grantee_partner_id": grantee,
        "attribute_keys": ("shoe_size",),
        "purpose": Purpose.SERVICE,
        "granted_at_ms": 0,
        "expires_at_ms": DAY_MS,
        "granted_via": source,
        **changes,
    }
    return Consent(**fields)  # type: ignore[arg-type]


def test_brands_stand_with_a_member_through_live_links_and_the_first_brand_always() -> None:
    links = [_link("stride", "voltline"), _link("stride", "brewhaus", ended=True)]
    assert standing_partners("stride", links) == {"stride", "voltline"}
    assert standing_partners("voltline", [_link("voltline", "stride", ended=True)]) == {"voltline"}


def test_a_brand_that_does_not_stand_is_refused_as_not_linked() -> None:
    with pytest.raises(PermissionDenied) as refused:
        require_standing("brewhaus", frozenset({"stride"}))
    assert refused.value.reason == "MEMBER_NOT_LINKED"


def test_an_ended_link_ends_the_consents_whose_grantee_or_source_lost_standing() -> None:
    consents = [
        _consent("stride", "voltline"),
        _consent("stride", "brewhaus"),
        _consent("brewhaus", "stride"),
        _consent("stride", "voltline", consent_id="cst-lapsed", expires_at_ms=10),
        _consent("stride", "voltline", consent_id="cst-revoked", revoked_at_ms=5, end_reason="REVOKED"),
    ]
    ended = rules.left_without_standing(consents, frozenset({"stride", "voltline"}), now_ms=100)
    assert [(c.consent_id, c.end_reason, c.revoked_at_ms) for c in ended] == [
        ("cst-stride-brewhaus", "UNLINKED", 100),
        ("cst-brewhaus-stride", "UNLINKED", 100),
    ]


@pytest.mark.parametrize("via", ["voltline", "brewhaus"])
def test_only_the_source_brand_records_a_grant_of_its_attributes(via: str) -> None:
    with pytest.raises(PermissionDenied) as refused:
        rules.grant(
            consent_id="cst-1",
            member_id="mbr-1",
            source="stride",
            grantee="voltline",
            keys=("shoe_size",),
            purpose=Purpose.SERVICE,
            expires_at_ms=DAY_MS,
            via=via,
            declared={"shoe_size"},
            now_ms=0,
        )
    assert refused.value.reason == "GRANT_NOT_BY_SOURCE"


def test_a_read_of_a_source_that_no_longer_stands_is_withheld_with_that_reason() -> None:
    reasons = rules.withhold_reasons(
        ("shoe_size",),
        consents=[_consent("stride", "voltline")],
        declared={"shoe_size"},
        reader="voltline",
        source="stride",
        purpose=Purpose.SERVICE,
        now_ms=1,
        source_stands=False,
    )
    assert reasons == {"shoe_size": "SOURCE_NOT_LINKED"}


def _credit(delivered: int) -> Instruction:
    return Instruction(
        "ins-1", "voltline", InstructionKind.CREDIT, InstructionState.PENDING, "v-1", 150, "VOLT",
        Origin.conversion("cnv-1"), 0,
        deadline_ms=10, delivery_count=delivered,
    )  # fmt: skip


def test_a_cancelled_credit_is_taken_back_only_if_it_was_delivered() -> None:
    assert take_back(cancel(_credit(0), reason="late"), instruction_id="ins-2", now_ms=11) is None
    back = take_back(cancel(_credit(2), reason="late"), instruction_id="ins-2", now_ms=11)
    assert back is not None
    assert (back.kind, back.state, back.cancels_instruction_id, back.member_ref, back.points, back.deadline_ms) == (
        InstructionKind.CREDIT_CANCELLED,
        InstructionState.PENDING,
        "ins-1",
        "v-1",
        150,
        None,
    )


def _tag(ref: str) -> str:
    return f"tag-of-{ref}"


@pytest.mark.parametrize(
    ("keeps", "refs", "expected"),
    [
        (True, set(), Answer(b"body")),
        (True, {"m-1"}, Answer(b"body", member_tag="tag-of-m-1")),
        (True, {"m-1", "m-2"}, Answer(b"body", kept=False)),
        (False, set(), Answer(b"body", kept=False)),
    ],
    ids=["no member", "one member, tagged", "several members", "values or a secret"],
)
def test_what_of_an_answer_is_kept(keeps: bool, refs: set[str], expected: Answer) -> None:
    answer = answer_of(b"body", keeps_member_data=keeps, member_refs=refs, tag=_tag)
    assert answer == expected
    assert answer.stored_body == (b"body" if expected.kept else b"")


def test_an_answer_not_kept_or_erased_stands_in_with_a_refusal() -> None:
    not_kept, erased = refusal_for("NOT_KEPT"), refusal_for("ERASED")
    assert not_kept is not None and not_kept.reason == "ANSWER_NOT_KEPT"
    assert erased is not None and erased.reason == "MEMBER_ERASED"
    assert refusal_for("OK") is None
