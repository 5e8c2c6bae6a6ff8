"""Partner and key rules, one test per refusal, no I/O."""

from __future__ import annotations

import pytest

from exchange.domain import partners as rules
from exchange.domain.errors import FailedPrecondition, InvalidArgument, InvariantViolation, NotFound
from exchange.domain.money import Ratio
from exchange.domain.partners import KeyState, PartnerKey, PartnerStatus

NOW = 1_800_000_000_000
HOUR = 3_600_000
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def registration(**changes: object) -> rules.Registration:
    fields: dict[str, object] = {
        "partner_id": "stride",
        "display_name": "Stride",
        "point_currency": "STRD",
        "settlement_currency": "EUR",
        "point_value_numerator": 1,
        "point_value_denominator": 2,
        "key_id": "k1",
        "public_key": KEY,
    }
    fields.update(changes)
    return rules.validate_registration(**fields)  # type: ignore[arg-type]


def active_partner() -> rules.Partner:
    partner = rules.new_partner(registration(), NOW)
    return rules.change_status(partner, "approve", NOW)


def test_a_new_partner_is_pending_with_one_active_key() -> None:
    partner = rules.new_partner(registration(), NOW)
    assert partner.status is PartnerStatus.PENDING
    assert [k.state_at(NOW) for k in partner.keys] == [KeyState.ACTIVE]
    assert partner.point_value_minor == Ratio(1, 2)


def test_display_name_is_stripped() -> None:
    assert registration(display_name="  Stride  ").display_name == "Stride"


@pytest.mark.parametrize(
    ("action", "start", "end"),
    [
        ("approve", PartnerStatus.PENDING, PartnerStatus.ACTIVE),
        ("suspend", PartnerStatus.ACTIVE, PartnerStatus.SUSPENDED),
        ("reinstate", PartnerStatus.SUSPENDED, PartnerStatus.ACTIVE),
    ],
)
def test_operator_transitions(action: str, start: PartnerStatus, end: PartnerStatus) -> None:
    from dataclasses import replace

    partner = replace(rules.new_partner(registration(), NOW), status=start)
    assert rules.change_status(partner, action, NOW + 1, "why").status is end


def test_approving_an_active_partner_is_refused() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        rules.change_status(active_partner(), "approve", NOW)
    assert refused.value.reason == "PARTNER_NOT_PENDING"


def test_rotation_keeps_the_signing_key_until_the_chosen_time() -> None:
    rotated = rules.rotate_key(
        active_partner(),
        signing_key_id="k1",
        new_key_id="k2",
        new_public_key=OTHER_KEY,
        previous_key_not_after_ms=NOW + HOUR,
        now_ms=NOW,
    )
    assert [k.key_id for k in rotated.keys] == ["k2", "k1"]
    old = rotated.key("k1")
    assert old is not None
    assert old.state_at(NOW + HOUR - 1) is KeyState.EXPIRING
    assert old.state_at(NOW + HOUR) is KeyState.EXPIRED


def test_rotation_cannot_extend_an_expiring_key() -> None:
    partner = rules.rotate_key(
        active_partner(),
        signing_key_id="k1",
        new_key_id="k2",
        new_public_key=OTHER_KEY,
        previous_key_not_after_ms=NOW + HOUR,
        now_ms=NOW,
    )
    again = rules.rotate_key(
        partner,
        signing_key_id="k1",
        new_key_id="k3",
        new_public_key=bytes(32),
        previous_key_not_after_ms=NOW + 5 * HOUR,
        now_ms=NOW,
    )
    k1 = again.key("k1")
    assert k1 is not None and k1.not_after_ms == NOW + HOUR


def test_rotation_to_the_same_public_key_is_refused() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        rules.rotate_key(
            active_partner(),
            signing_key_id="k1",
            new_key_id="k2",
            new_public_key=KEY,
            previous_key_not_after_ms=None,
            now_ms=NOW,
        )
    assert refused.value.reason == "PUBLIC_KEY_IN_USE"


def test_rotation_signed_by_an_unusable_key_is_an_invariant_violation() -> None:
    with pytest.raises(InvariantViolation):
        rules.rotate_key(
            active_partner(),
            signing_key_id="nope",
            new_key_id="k2",
            new_public_key=OTHER_KEY,
            previous_key_not_after_ms=None,
            now_ms=NOW,
        )


def test_a_partner_may_hold_a_bounded_number_of_keys() -> None:
    partner = active_partner()
    for i in range(2, rules.MAX_KEYS_PER_PARTNER + 1):
        partner = rules.rotate_key(
            partner,
            signing_key_id=partner.keys[0].key_id,
            new_key_id=f"k{i}",
            new_public_key=bytes([i]) * 32,
            previous_key_not_after_ms=None,
            now_ms=NOW,
        )
    with pytest.raises(FailedPrecondition) as refused:
        rules.rotate_key(
            partner,
            signing_key_id=partner.keys[0].key_id,
            new_key_id="last",
            new_public_key=bytes([99]) * 32,
            previous_key_not_after_ms=None,
            now_ms=NOW,
        )
    assert refused.value.reason == "TOO_MANY_KEYS"


def test_revoking_twice_is_refused() -> None:
    partner = rules.rotate_key(
        active_partner(),
        signing_key_id="k1",
        new_key_id="k2",
        new_public_key=OTHER_KEY,
        previous_key_not_after_ms=None,
        now_ms=NOW,
    )
    revoked = rules.revoke_key(partner, key_id="k1", reason="lost", now_ms=NOW)
    with pytest.raises(FailedPrecondition) as refused:
        rules.revoke_key(revoked, key_id="k1", reason="lost", now_ms=NOW)
    assert refused.value.reason == "KEY_ALREADY_REVOKED"


def test_revoking_an_unknown_key_is_not_found() -> None:
    with pytest.raises(NotFound):
        rules.revoke_key(active_partner(), key_id="k9", reason="x", now_ms=NOW)


def test_revocation_needs_a_reason() -> None:
    with pytest.raises(InvalidArgument) as refused:
        rules.revoke_key(active_partner(), key_id="k1", reason="", now_ms=NOW)
    assert refused.value.field == "reason"


def test_key_states() -> None:
    key = PartnerKey("k", KEY, created_at_ms=NOW, not_after_ms=NOW + 10)
    assert [key.state_at(t) for t in (NOW, NOW + 9, NOW + 10)] == [
        KeyState.EXPIRING,
        KeyState.EXPIRING,
        KeyState.EXPIRED,
    ]
    assert PartnerKey("k", KEY, NOW, revoked_at_ms=NOW).state_at(NOW - 1) is KeyState.REVOKED
