"""Reading and writing partners and their keys."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from exchange.domain.money import Ratio
from exchange.domain.partners import Partner, PartnerKey, PartnerKind, PartnerStatus
from exchange.store.precompiled import Precompiled
from exchange.store.tables import partner_keys, partners, registry_events

# Every signed call reads its caller, and a movement (a reversal, a refund, a redemption) both its
# partners: the hot statements, each a partner row per key (keys outer-joined, newest first), so
# one statement reads both.
_KEY_COLUMNS = ("key_id", "public_key", "created_at_ms", "not_after_ms", "revoked_at_ms", "revoke_reason")
_WITH_KEYS = (
    select(partners, *(partner_keys.c[name].label(f"key_{name}") for name in _KEY_COLUMNS))
    .select_from(partners.outerjoin(partner_keys, partner_keys.c.partner_id == partners.c.partner_id))
    .order_by(partners.c.partner_id, partner_keys.c.created_at_ms.desc(), partner_keys.c.key_id)
)
_GET = Precompiled(_WITH_KEYS.where(partners.c.partner_id == bindparam("partner_id")))
_GET_PAIR = Precompiled(_WITH_KEYS.where(partners.c.partner_id.in_([bindparam("first"), bindparam("second")])))


@dataclass(frozen=True, slots=True)
class RegistryEvent:
    """One thing that happened in the registry."""

    event_id: int
    at_ms: int
    actor: str
    partner_id: str
    kind: str
    detail: str


class PartnerRepository:
    """Partners as domain objects, loaded and saved whole through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def get(self, partner_id: str) -> Partner | None:
        """Return the partner with its keys, or None."""
        return _with_keys(_GET.all(self._db, partner_id=partner_id)).get(partner_id)

    def get_pair(self, first: str, second: str) -> tuple[Partner | None, Partner | None]:
        """Return two partners with their keys (in one statement), None for one not found."""
        found = _with_keys(_GET_PAIR.all(self._db, first=first, second=second))
        return found.get(first), found.get(second)

    def without_keys(self, partner_ids: Collection[str]) -> dict[str, Partner]:
        """These partners as found (none for an id not found), without their keys: for what a movement names."""
        if not partner_ids:
            return {}
        rows = self._db.execute(select(partners).where(partners.c.partner_id.in_(sorted(partner_ids)))).all()
        return {row.partner_id: partner_from_row(row._mapping, ()) for row in rows}

    def list_page(self, *, after: str, limit: int, status: PartnerStatus | None) -> list[Partner]:
        """Return up to limit partners with partner_id > after, in partner_id order."""
        query = select(partners).where(partners.c.partner_id > after).order_by(partners.c.partner_id).limit(limit)
        if status is not None:
            query = query.where(partners.c.status == status.value)
        rows = self._db.execute(query).all()
        keys = self._keys_of([row.partner_id for row in rows])
        return [partner_from_row(row._mapping, keys.get(row.partner_id, ())) for row in rows]

    def add(self, partner: Partner) -> None:
        """Insert a new partner and its keys."""
        self._db.execute(insert(partners).values(**_partner_columns(partner)))
        self._insert_keys(partner.partner_id, partner.keys)

    def save(self, partner: Partner) -> None:
        """Write an existing partner's changed fields and keys (keys are never deleted)."""
        columns = _partner_columns(partner)
        del columns["partner_id"]
        self._db.execute(update(partners).where(partners.c.partner_id == partner.partner_id).values(**columns))
        stored = {k.key_id: k for k in self._keys_of([partner.partner_id]).get(partner.partner_id, ())}
        self._insert_keys(partner.partner_id, [k for k in partner.keys if k.key_id not in stored])
        for key in partner.keys:
            old = stored.get(key.key_id)
            if old is not None and old != key:
                self._db.execute(
                    update(partner_keys)
                    .where(partner_keys.c.partner_id == partner.partner_id, partner_keys.c.key_id == key.key_id)
                    .values(
                        not_after_ms=key.not_after_ms, revoked_at_ms=key.revoked_at_ms, revoke_reason=key.revoke_reason
                    )
                )

    def record_event(self, *, at_ms: int, actor: str, partner_id: str, kind: str, detail: str = "") -> None:
        """Append a registry event."""
        self._db.execute(
            insert(registry_events).values(at_ms=at_ms, actor=actor, partner_id=partner_id, kind=kind, detail=detail)
        )

    def events(self, *, limit: int) -> list[RegistryEvent]:
        """Return the first limit registry events in the order they happened."""
        rows = self._db.execute(select(registry_events).order_by(registry_events.c.event_id).limit(limit)).all()
        return [RegistryEvent(r.event_id, r.at_ms, r.actor, r.partner_id, r.kind, r.detail) for r in rows]

    def _insert_keys(self, partner_id: str, keys: list[PartnerKey] | tuple[PartnerKey, ...]) -> None:
        if keys:
            self._db.execute(
                insert(partner_keys),
                [
                    {
                        "partner_id": partner_id,
                        "key_id": k.key_id,
                        "public_key": k.public_key,
                        "created_at_ms": k.created_at_ms,
                        "not_after_ms": k.not_after_ms,
                        "revoked_at_ms": k.revoked_at_ms,
                        "revoke_reason": k.revoke_reason,
                    }
                    for k in keys
                ],
            )

    def _keys_of(self, partner_ids: list[str]) -> dict[str, tuple[PartnerKey, ...]]:
        if not partner_ids:
            return {}
        rows = self._db.execute(
            select(partner_keys)
            .where(partner_keys.c.partner_id.in_(partner_ids))
            .order_by(partner_keys.c.created_at_ms.desc(), partner_keys.c.key_id)
        ).all()
        found: dict[str, list[PartnerKey]] = {}
        for row in rows:
            found.setdefault(row.partner_id, []).append(_key(row._mapping))
        return {pid: tuple(keys) for pid, keys in found.items()}


def partner_from_row(m: Any, keys: tuple[PartnerKey, ...]) -> Partner:
    """A partner from its row's columns (by name) and the keys given."""
    return Partner(
        partner_id=m["partner_id"],
        display_name=m["display_name"],
        point_currency=m["point_currency"],
        settlement_currency=m["settlement_currency"],
        point_value_minor=Ratio(m["point_value_numerator"], m["point_value_denominator"]),
        status=PartnerStatus(m["status"]),
        keys=keys,
        created_at_ms=m["created_at_ms"],
        status_changed_at_ms=m["status_changed_at_ms"],
        status_reason=m["status_reason"],
        kind=PartnerKind(m["kind"]),
    )


def _with_keys(rows: list[dict[str, Any]]) -> dict[str, Partner]:
    """Partners from rows of a partner joined with each of its keys (a partner with no key: one row, key None)."""
    found: dict[str, tuple[dict[str, Any], list[PartnerKey]]] = {}
    for row in rows:
        _, keys = found.setdefault(row["partner_id"], (row, []))
        if row["key_key_id"] is not None:
            keys.append(_key({name: row[f"key_{name}"] for name in _KEY_COLUMNS}))
    return {pid: partner_from_row(row, tuple(keys)) for pid, (row, keys) in found.items()}


def _key(m: Any) -> PartnerKey:
    return PartnerKey(
        key_id=m["key_id"],
        public_key=bytes(m["public_key"]),
        created_at_ms=m["created_at_ms"],
        not_after_ms=m["not_after_ms"],
        revoked_at_ms=m["revoked_at_ms"],
        revoke_reason=m["revoke_reason"],
    )


def _partner_columns(partner: Partner) -> dict[str, object]:
    return {
        "partner_id": partner.partner_id,
        "display_name": partner.display_name,
        "point_currency": partner.point_currency,
        "settlement_currency": partner.settlement_currency,
        "point_value_numerator": partner.point_value_minor.numerator,
        "point_value_denominator": partner.point_value_minor.denominator,
        "status": partner.status.value,
        "status_reason": partner.status_reason,
        "created_at_ms": partner.created_at_ms,
        "status_changed_at_ms": partner.status_changed_at_ms,
        "kind": partner.kind.value,
    }
