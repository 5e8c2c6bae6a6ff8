"""Attribute and consent commands: declare, publish (encrypted), grant, revoke, read, log, erase."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from exchange.domain import consent as rules
from exchange.domain import members as member_rules
from exchange.domain.consent import AttributeType, Consent, Declaration, Purpose, Value
from exchange.domain.errors import ExchangeError, InvalidArgument, NotFound, require
from exchange.secrets.envelope import (
    WrappedKey,
    decrypt_value,
    encrypt_value,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from exchange.secrets.erasure_ledger import ErasureLedger
from exchange.secrets.keyring import Keyring
from exchange.service import erasure
from exchange.service.authentication import Caller
from exchange.service.erasure import Erasure
from exchange.service.members import pairwise_id
from exchange.service.standing import standing_of
from exchange.store.consent_repo import ConsentRepository
from exchange.store.ids import new_id
from exchange.store.members_repo import MemberRepository

Signer = Callable[[bytes], tuple[bytes, str]]  # document -> (signature, key id)


@dataclass(frozen=True, slots=True)
class SignedConsent:
    """A consent with the receipt the hub signed."""

    consent: Consent
    receipt: bytes
    signature: bytes
    key_id: str


@dataclass(frozen=True, slots=True)
class AttributeRead:
    """What a reader got: covered values, and the keys withheld with reasons."""

    values: dict[str, Value]
    withheld: dict[str, str]


def _member(connection: Connection, caller: Caller, member_ref: str) -> str:
    """The member behind one of the caller's accounts, if the caller stands with them; erased members are gone."""
    repository = MemberRepository(connection)
    member_id = repository.member_of(caller.principal, member_ref)
    if member_id is None or repository.is_erased(member_id):
        raise NotFound("MEMBER_NOT_FOUND", "the hub knows no such member of yours", field="member_ref")
    member_rules.require_standing(caller.principal, standing_of(connection, member_id))
    return member_id


def _aad(member_id: str, partner_id: str, key: str) -> bytes:
    return f"coalition-attribute-v1|{member_id}|{partner_id}|{key}".encode()


def _encode(value: Value) -> bytes:
    return json.dumps(value.isoformat() if isinstance(value, dt.date) else value).encode("utf-8")


def _decode(declaration_type: AttributeType, raw: bytes) -> Value:
    value = json.loads(raw.decode("utf-8"))
    if declaration_type is AttributeType.DATE:
        return dt.date.fromisoformat(value)
    require(isinstance(value, str | int | bool), "a stored attribute decodes to its type")
    return value  # type: ignore[no-any-return]


def _data_key(connection: Connection, keyring: Keyring, member_id: str, *, create: bool) -> bytes | None:
    repository = ConsentRepository(connection)
    wrapped, destroyed = repository.wrapped_key(member_id)
    if destroyed:
        return None
    if wrapped is None:
        if not create:
            return None
        data_key = new_data_key()
        repository.store_wrapped_key(member_id, wrap_data_key(keyring, data_key, member_id=member_id).to_bytes())
        return data_key
    return unwrap_data_key(keyring, WrappedKey.from_bytes(wrapped), member_id=member_id)


def declare(
    connection: Connection, caller: Caller, key: str, type_: AttributeType | None, description: str
) -> Declaration:
    """Declare (or re-describe) an attribute the caller shares."""
    declaration = rules.declare(caller.principal, key, type_, description)
    repository = ConsentRepository(connection)
    existing = repository.declaration(caller.principal, declaration.key)
    if existing is not None and existing.type is not declaration.type:
        raise InvalidArgument(
            "ATTRIBUTE_TYPE_FIXED", f"attribute {key!r} is already declared as {existing.type.value}", field="type"
        )
    repository.declare(declaration)
    return declaration


def publish(
    connection: Connection, caller: Caller, member_ref: str, values: dict[str, Value], keyring: Keyring, now_ms: int
) -> list[str]:
    """Store values of the caller's declared attributes for one of its members, sealed."""
    if not 1 <= len(values) <= rules.MAX_KEYS_PER_CALL:
        raise InvalidArgument("INVALID_VALUES", f"publish 1 to {rules.MAX_KEYS_PER_CALL} values", field="values")
    member_id = _member(connection, caller, member_ref)
    repository = ConsentRepository(connection)
    checked = {
        rules.parse_key(k, field="values"): rules.check_value(repository.declaration(caller.principal, k), k, v)
        for k, v in values.items()
    }
    data_key = _data_key(connection, keyring, member_id, create=True)
    require(data_key is not None, "a member that is not erased has a data key")
    assert data_key is not None
    for key, value in checked.items():
        sealed = encrypt_value(data_key, _encode(value), aad=_aad(member_id, caller.principal, key))
        repository.put_value(member_id, caller.principal, key, sealed, now_ms)
    return list(checked)


def _require_standing(connection: Connection, member_id: str, partner_ids: tuple[str, ...], field: str) -> None:
    """Each brand must stand with the member (exchange.domain.members.standing_partners)."""
    standing = standing_of(connection, member_id)
    for partner_id in partner_ids:
        member_rules.require_standing(partner_id, standing, field=field)


def grant(
    connection: Connection,
    caller: Caller,
    *,
    member_ref: str,
    source: str,
    grantee: str,
    keys: list[str],
    purpose: Purpose | None,
    expires_at_ms: int,
    secret: bytes,
    sign: Signer,
    now_ms: int,
) -> SignedConsent:
    """Record a consent the member gave in the caller's app to the caller's own attributes, with a signed receipt."""
    member_id = _member(connection, caller, member_ref)
    _require_standing(connection, member_id, (grantee,), "grantee_partner_id")
    repository = ConsentRepository(connection)
    consent = rules.grant(
        consent_id=new_id("cst"),
        member_id=member_id,
        source=source,
        grantee=grantee,
        keys=rules.parse_keys(keys),
        purpose=purpose,
        expires_at_ms=expires_at_ms,
        via=caller.principal,
        declared=repository.declared_keys(source),
        now_ms=now_ms,
    )
    receipt = rules.receipt(consent, pairwise_member_id=pairwise_id(secret, caller.principal, member_id))
    signature, key_id = sign(receipt)
    repository.add_consent(consent, receipt, signature, key_id)
    return SignedConsent(consent, receipt, signature, key_id)


def revoke(connection: Connection, caller: Caller, member_ref: str, consent_id: str, now_ms: int) -> SignedConsent:
    """Revoke one of the member's consents, at once."""
    member_id = _member(connection, caller, member_ref)
    repository = ConsentRepository(connection)
    found = {c.consent_id: (c, r, s, k) for c, r, s, k in repository.consents_of(member_id)}
    current = found.get(consent_id)
    revoked = rules.revoke(current[0] if current else None, member_id, consent_id, now_ms)
    repository.revoke(revoked)
    assert current is not None
    return SignedConsent(revoked, current[1], current[2], current[3])


def list_consents(connection: Connection, caller: Caller, member_ref: str) -> list[SignedConsent]:
    """All the member's consents (through any brand with an account for them)."""
    member_id = _member(connection, caller, member_ref)
    return [SignedConsent(c, r, s, k) for c, r, s, k in ConsentRepository(connection).consents_of(member_id)]


def read(
    connection: Connection,
    caller: Caller,
    *,
    pairwise_member_id: str,
    source: str,
    purpose: Purpose | None,
    keys: list[str],
    keyring: Keyring,
    now_ms: int,
) -> AttributeRead:
    """Return the attributes a live consent covers for this reader and purpose; log the read either way.

    Once the pairwise id names a member, every outcome is in the member's access log: a refusal as
    a whole (the reader no longer linked, an unknown purpose, malformed keys) is logged as
    READ_REFUSED and raised as a final refusal, so the entry commits with it.
    """
    members = MemberRepository(connection)
    member_id = members.member_by_pairwise(caller.principal, pairwise_member_id)
    if member_id is None or members.is_erased(member_id):
        raise NotFound("MEMBER_NOT_FOUND", "no member of yours has this pairwise id", field="pairwise_member_id")
    repository = ConsentRepository(connection)

    def log(returned: list[str], withheld: list[str], event: str = rules.EVENT_READ, reason: str = "") -> None:
        repository.log_read(
            member_id=member_id,
            at_ms=now_ms,
            reader=caller.principal,
            source=source,
            purpose=purpose,
            returned=returned,
            withheld=withheld,
            event=event,
            reason=reason,
        )

    standing = standing_of(connection, member_id)
    try:
        member_rules.require_standing(caller.principal, standing, field="pairwise_member_id")
        if purpose is None:
            raise InvalidArgument("UNKNOWN_PURPOSE", "purpose must be one of the fixed list", field="purpose")
        wanted = rules.parse_keys(keys)
    except ExchangeError as refusal:
        log([], [], rules.EVENT_READ_REFUSED, refusal.reason)
        refusal.final = True
        raise
    withheld = rules.withhold_reasons(
        wanted,
        consents=[c for c, *_ in repository.consents_of(member_id)],
        declared=repository.declared_keys(source),
        reader=caller.principal,
        source=source,
        purpose=purpose,
        now_ms=now_ms,
        source_stands=source in standing,
    )
    covered = tuple(k for k in wanted if k not in withheld)
    values: dict[str, Value] = {}
    if covered:
        data_key = _data_key(connection, keyring, member_id, create=False)
        sealed = repository.values(member_id, source, covered) if data_key is not None else {}
        for key in covered:
            declaration = repository.declaration(source, key)
            if key not in sealed or declaration is None or data_key is None:
                withheld[key] = "NO_VALUE"
                continue
            values[key] = _decode(
                declaration.type, decrypt_value(data_key, sealed[key], aad=_aad(member_id, source, key))
            )
    log(list(values), list(withheld))
    return AttributeRead(values, withheld)


def access_log(connection: Connection, caller: Caller, member_ref: str) -> list[object]:
    """Who read what about the member, oldest first."""
    member_id = _member(connection, caller, member_ref)
    return ConsentRepository(connection).access_log_of(member_id)


def erase(
    connection: Connection,
    caller: Caller,
    member_ref: str,
    now_ms: int,
    secret: bytes,
    ledger: ErasureLedger | None,
) -> Erasure:
    """Forget a member at the request the caller forwarded (see exchange.service.erasure)."""
    member_id = _member(connection, caller, member_ref)
    return erasure.erase(connection, member_id, by=caller.principal, now_ms=now_ms, secret=secret, ledger=ledger)
