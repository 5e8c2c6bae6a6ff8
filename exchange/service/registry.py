"""Registry commands: register, read, rotate and revoke keys, operator status changes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from exchange.domain import partners as rules
from exchange.domain.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    require,
)
from exchange.domain.partners import Partner, PartnerStatus, Registration
from exchange.service.authentication import Caller
from exchange.service.paging import decode_key_cursor, encode_key_cursor, page_limit
from exchange.store.partners_repo import PartnerRepository
from partner_sdk import signing


@dataclass(frozen=True, slots=True)
class PartnerPage:
    """One page of partners and the token of the next (empty on the last page)."""

    partners: list[Partner]
    next_page_token: str


def check_possession(principal: str, key_id: str, public_key: bytes, proof: bytes, *, field: str) -> None:
    """Refuse a new key unless proof is its signature over the proof-of-possession message."""
    message = signing.possession_message(principal=principal, key_id=key_id, public_key=public_key)
    if len(proof) != signing.SIGNATURE_BYTES or not signing.verify(public_key, proof, message):
        raise InvalidArgument(
            "BAD_POSSESSION_PROOF",
            f"{field} is not a signature of the proof-of-possession message by the new key",
            field=field,
        )


def register_partner(
    connection: Connection, caller: Caller, registration: Registration, possession_proof: bytes, now_ms: int
) -> Partner:
    """Register a PENDING partner; the call must be signed by the key it registers."""
    if caller.principal != registration.partner_id or caller.key_id != registration.key_id:
        raise Unauthenticated(
            "REGISTRANT_MISMATCH", "a registration must be signed as the new partner_id with the new key_id"
        )
    check_possession(
        registration.partner_id,
        registration.key_id,
        registration.public_key,
        possession_proof,
        field="possession_proof",
    )
    repository = PartnerRepository(connection)
    if repository.get(registration.partner_id) is not None:
        raise AlreadyExists(
            "PARTNER_EXISTS", f"partner {registration.partner_id!r} is already registered", field="partner_id"
        )
    partner = rules.new_partner(registration, now_ms)
    repository.add(partner)
    repository.record_event(
        at_ms=now_ms,
        actor=caller.principal,
        partner_id=partner.partner_id,
        kind="REGISTERED",
        detail=registration.key_id,
    )
    return partner


def get_partner(connection: Connection, partner_id: str) -> Partner:
    """Return a partner's public record."""
    rules.parse_partner_id(partner_id)
    partner = PartnerRepository(connection).get(partner_id)
    if partner is None:
        raise NotFound("PARTNER_NOT_FOUND", f"no partner {partner_id!r}", field="partner_id")
    return partner


def list_partners(
    connection: Connection, *, page_size: int, page_token: str, status: PartnerStatus | None
) -> PartnerPage:
    """Return a page of partners in partner_id order."""
    limit = page_limit(page_size)
    after = decode_key_cursor(page_token)
    found = PartnerRepository(connection).list_page(after=after, limit=limit + 1, status=status)
    page = found[:limit]
    next_token = encode_key_cursor(page[-1].partner_id) if len(found) > limit else ""
    return PartnerPage(page, next_token)


def rotate_key(
    connection: Connection,
    caller: Caller,
    *,
    new_key_id: str,
    new_public_key: bytes,
    possession_proof: bytes,
    previous_key_not_after_ms: int | None,
    now_ms: int,
) -> Partner:
    """Add a key for the calling partner; the signing key keeps working until the chosen time."""
    partner = _own_partner(connection, caller)
    rules.parse_key_id(new_key_id, field="new_key.key_id")
    rules.parse_public_key(new_public_key, field="new_key.public_key")
    check_possession(caller.principal, new_key_id, new_public_key, possession_proof, field="possession_proof")
    rotated = rules.rotate_key(
        partner,
        signing_key_id=caller.key_id,
        new_key_id=new_key_id,
        new_public_key=new_public_key,
        previous_key_not_after_ms=previous_key_not_after_ms,
        now_ms=now_ms,
    )
    repository = PartnerRepository(connection)
    repository.save(rotated)
    repository.record_event(
        at_ms=now_ms,
        actor=caller.principal,
        partner_id=partner.partner_id,
        kind="KEY_ROTATED",
        detail=f"{caller.key_id} -> {new_key_id}",
    )
    return rotated


def revoke_key(connection: Connection, caller: Caller, *, key_id: str, reason: str, now_ms: int) -> Partner:
    """Revoke one of the calling partner's keys at once."""
    partner = _own_partner(connection, caller)
    revoked = rules.revoke_key(partner, key_id=key_id, reason=reason, now_ms=now_ms)
    repository = PartnerRepository(connection)
    repository.save(revoked)
    repository.record_event(
        at_ms=now_ms, actor=caller.principal, partner_id=partner.partner_id, kind="KEY_REVOKED", detail=key_id
    )
    return revoked


def change_partner_status(
    connection: Connection, caller: Caller, *, partner_id: str, action: str, reason: str, now_ms: int
) -> Partner:
    """Apply an operator action (approve, suspend, reinstate) to a partner."""
    if not caller.is_operator:
        raise PermissionDenied("OPERATOR_ONLY", f"only the operator may {action} partners")
    if action == "suspend":
        reason = rules.parse_text(reason, field="reason", max_length=rules.REASON_MAX)
    partner = get_partner(connection, partner_id)
    changed = rules.change_status(partner, action, now_ms, reason)
    repository = PartnerRepository(connection)
    repository.save(changed)
    repository.record_event(
        at_ms=now_ms, actor=caller.principal, partner_id=partner_id, kind=changed.status.value, detail=reason
    )
    return changed


def _own_partner(connection: Connection, caller: Caller) -> Partner:
    if caller.is_operator:
        raise PermissionDenied("PARTNERS_ONLY", "the operator has no partner keys to manage here")
    partner = PartnerRepository(connection).get(caller.principal)
    require(partner is not None, "an authenticated partner exists")
    assert partner is not None
    return partner
