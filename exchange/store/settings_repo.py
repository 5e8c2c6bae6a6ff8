"""Hub settings: facts about the deployment kept in the database, such as the keyring's fingerprint."""

from __future__ import annotations

from sqlalchemy import Connection, exists, select, text

from exchange.store.tables import hub_settings, member_accounts, member_keys


def setting(connection: Connection, name: str) -> str | None:
    """Return a setting's value, or None."""
    return connection.execute(select(hub_settings.c.value).where(hub_settings.c.name == name)).scalar_one_or_none()


def set_once(connection: Connection, name: str, value: str) -> str:
    """Store a setting unless one is stored already; return the value that stands (first writer wins)."""
    connection.execute(
        text("INSERT INTO hub_settings (name, value) VALUES (:name, :value) ON CONFLICT (name) DO NOTHING"),
        {"name": name, "value": value},
    )
    stored = setting(connection, name)
    assert stored is not None, "a setting just written or found is there"
    return stored


def some_pairwise_id(connection: Connection) -> tuple[str, str, str] | None:
    """One account's (partner id, member id, pairwise id), if any account has a pairwise id."""
    row = connection.execute(
        select(member_accounts.c.partner_id, member_accounts.c.member_id, member_accounts.c.pairwise_id)
        .where(member_accounts.c.pairwise_id != "")
        .limit(1)
    ).first()
    return (row.partner_id, row.member_id, row.pairwise_id) if row is not None else None


def has_members(connection: Connection) -> bool:
    """Whether the hub knows any member (an account or a data key): their ids and keys depend on the keyring."""
    return bool(
        connection.execute(select(exists().select_from(member_accounts))).scalar()
        or connection.execute(select(exists().select_from(member_keys))).scalar()
    )
