"""Attribute declarations, sealed values, member data keys, consents and the access log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from exchange.domain.consent import EVENT_READ, AttributeType, Consent, Declaration, Purpose
from exchange.secrets.envelope import WrappedKey
from exchange.store.tables import access_log, attribute_declarations, attribute_values, consents, member_keys


class ConsentRepository:
    """Member data through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    # declarations --------------------------------------------------------------------------
    def declare(self, declaration: Declaration) -> None:
        """Insert or update a declaration (its type can't change once declared)."""
        found = self.declaration(declaration.partner_id, declaration.key)
        if found is None:
            self._db.execute(
                insert(attribute_declarations).values(
                    partner_id=declaration.partner_id,
                    key=declaration.key,
                    type=declaration.type.value,
                    description=declaration.description,
                )
            )
        else:
            self._db.execute(
                update(attribute_declarations)
                .where(
                    attribute_declarations.c.partner_id == declaration.partner_id,
                    attribute_declarations.c.key == declaration.key,
                )
                .values(description=declaration.description)
            )

    def declaration(self, partner_id: str, key: str) -> Declaration | None:
        """Return one declaration, or None."""
        row = self._db.execute(
            select(attribute_declarations).where(
                attribute_declarations.c.partner_id == partner_id, attribute_declarations.c.key == key
            )
        ).first()
        return Declaration(row.partner_id, row.key, AttributeType(row.type), row.description) if row else None

    def declared_keys(self, partner_id: str) -> set[str]:
        """Return the keys a brand has declared."""
        rows = self._db.execute(
            select(attribute_declarations.c.key).where(attribute_declarations.c.partner_id == partner_id)
        ).all()
        return {r.key for r in rows}

    # member data keys ----------------------------------------------------------------------
    def wrapped_key(self, member_id: str) -> tuple[bytes | None, bool]:
        """Return (wrapped data key or None, whether it was destroyed)."""
        row = self._db.execute(select(member_keys).where(member_keys.c.member_id == member_id)).first()
        if row is None:
            return None, False
        return (bytes(row.wrapped_key) if row.wrapped_key is not None else None), row.destroyed_at_ms is not None

    def store_wrapped_key(self, member_id: str, wrapped: bytes) -> None:
        """Store a new member's wrapped data key."""
        self._db.execute(insert(member_keys).values(member_id=member_id, wrapped_key=wrapped))

    def destroy_key(self, member_id: str, now_ms: int) -> None:
        """Forget a member's data key for good (crypto-shredding), and the sealed values with it."""
        if self._db.execute(select(member_keys.c.member_id).where(member_keys.c.member_id == member_id)).first():
            self._db.execute(
                update(member_keys)
                .where(member_keys.c.member_id == member_id)
                .values(wrapped_key=None, destroyed_at_ms=now_ms)
            )
        else:
            self._db.execute(insert(member_keys).values(member_id=member_id, wrapped_key=None, destroyed_at_ms=now_ms))
        self._db.execute(delete(attribute_values).where(attribute_values.c.member_id == member_id))

    # values --------------------------------------------------------------------------------
    def put_value(self, member_id: str, partner_id: str, key: str, sealed: bytes, now_ms: int) -> None:
        """Store or replace one sealed value."""
        where = (
            attribute_values.c.member_id == member_id,
            attribute_values.c.partner_id == partner_id,
            attribute_values.c.key == key,
        )
        if self._db.execute(select(attribute_values.c.key).where(*where)).first():
            self._db.execute(update(attribute_values).where(*where).values(sealed=sealed, updated_at_ms=now_ms))
        else:
            self._db.execute(
                insert(attribute_values).values(
                    member_id=member_id, partner_id=partner_id, key=key, sealed=sealed, updated_at_ms=now_ms
                )
            )

    def values(self, member_id: str, partner_id: str, keys: tuple[str, ...]) -> dict[str, bytes]:
        """Return the sealed values of these keys that exist."""
        rows = self._db.execute(
            select(attribute_values.c.key, attribute_values.c.sealed).where(
                attribute_values.c.member_id == member_id,
                attribute_values.c.partner_id == partner_id,
                attribute_values.c.key.in_(keys),
            )
        ).all()
        return {r.key: bytes(r.sealed) for r in rows}

    # consents ------------------------------------------------------------------------------
    def add_consent(self, consent: Consent, receipt: bytes, signature: bytes, key_id: str) -> None:
        """Record a consent with its signed receipt."""
        self._db.execute(
            insert(consents).values(
                consent_id=consent.consent_id,
                member_id=consent.member_id,
                source_partner_id=consent.source_partner_id,
                grantee_partner_id=consent.grantee_partner_id,
                attribute_keys=",".join(consent.attribute_keys),
                purpose=consent.purpose.value,
                granted_at_ms=consent.granted_at_ms,
                expires_at_ms=consent.expires_at_ms,
                granted_via=consent.granted_via,
                receipt=receipt,
                receipt_signature=signature,
                receipt_key_id=key_id,
            )
        )

    def consents_of(self, member_id: str) -> list[tuple[Consent, bytes, bytes, str]]:
        """Return a member's consents with their receipts, oldest first."""
        rows = self._db.execute(
            select(consents).where(consents.c.member_id == member_id).order_by(consents.c.granted_at_ms)
        ).all()
        return [(_consent(r._mapping), bytes(r.receipt), bytes(r.receipt_signature), r.receipt_key_id) for r in rows]

    def revoke(self, consent: Consent) -> None:
        """Record a revocation."""
        self._db.execute(
            update(consents)
            .where(consents.c.consent_id == consent.consent_id, consents.c.revoked_at_ms.is_(None))
            .values(revoked_at_ms=consent.revoked_at_ms, end_reason=consent.end_reason)
        )

    # access log ----------------------------------------------------------------------------
    def log_read(
        self,
        *,
        member_id: str,
        at_ms: int,
        reader: str,
        source: str,
        purpose: Purpose | None,
        returned: list[str],
        withheld: list[str],
        event: str = EVENT_READ,
        reason: str = "",
        consent_id: str = "",
    ) -> None:
        """Append one event to the member's access log: a read, a refused read, or a consent's end."""
        self._db.execute(
            insert(access_log).values(
                member_id=member_id,
                at_ms=at_ms,
                reader_partner_id=reader,
                source_partner_id=source,
                purpose=purpose.value if purpose is not None else "",
                returned_keys=",".join(returned),
                withheld_keys=",".join(withheld),
                event=event,
                reason=reason,
                consent_id=consent_id,
            )
        )

    def access_log_of(self, member_id: str) -> list[Any]:
        """Return a member's access log rows, oldest first."""
        return list(
            self._db.execute(
                select(access_log).where(access_log.c.member_id == member_id).order_by(access_log.c.entry_id)
            ).all()
        )


def _consent(m: Any) -> Consent:
    return Consent(
        consent_id=m["consent_id"],
        member_id=m["member_id"],
        source_partner_id=m["source_partner_id"],
        grantee_partner_id=m["grantee_partner_id"],
        attribute_keys=tuple(k for k in m["attribute_keys"].split(",") if k),
        purpose=Purpose(m["purpose"]),
        granted_at_ms=m["granted_at_ms"],
        expires_at_ms=m["expires_at_ms"],
        granted_via=m["granted_via"],
        revoked_at_ms=m["revoked_at_ms"],
        end_reason=m["end_reason"],
    )


def live_wrapped_keys(connection: Connection, *, after: str, limit: int) -> list[tuple[str, bytes]]:
    """Return up to limit (member id, wrapped key) pairs after a member id, for re-wrapping."""
    rows = connection.execute(
        select(member_keys.c.member_id, member_keys.c.wrapped_key)
        .where(member_keys.c.wrapped_key.is_not(None), member_keys.c.member_id > after)
        .order_by(member_keys.c.member_id)
        .limit(limit)
    ).all()
    return [(r.member_id, bytes(r.wrapped_key)) for r in rows]


def replace_wrapped_key(connection: Connection, member_id: str, wrapped: bytes) -> None:
    """Store a re-wrapped data key (unless it was destroyed meanwhile)."""
    connection.execute(
        update(member_keys)
        .where(member_keys.c.member_id == member_id, member_keys.c.wrapped_key.is_not(None))
        .values(wrapped_key=wrapped)
    )


def wrapped_under(connection: Connection, master_key_id: str) -> int:
    """Count the live data keys wrapped under a master key (its id is in each wrapped key's header)."""
    rows = connection.execute(select(member_keys.c.wrapped_key).where(member_keys.c.wrapped_key.is_not(None)))
    return sum(1 for (blob,) in rows if WrappedKey.from_bytes(bytes(blob)).master_key_id == master_key_id)
