"""The hub's tables (SQLAlchemy Core). Alembic migrations must match this file: CI runs alembic check.

Times are BIGINT milliseconds since the Unix epoch, UTC, so SQLite and PostgreSQL agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

partners = Table(
    "partners",
    metadata,
    Column("partner_id", String(32), primary_key=True),
    Column("display_name", String(100), nullable=False),
    Column("point_currency", String(10), nullable=False),
    Column("settlement_currency", String(3), nullable=False),
    Column("point_value_numerator", BigInteger, nullable=False),
    Column("point_value_denominator", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", String(500), nullable=False, server_default=""),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("status_changed_at_ms", BigInteger, nullable=False),
    CheckConstraint("point_value_numerator > 0 AND point_value_denominator > 0", name="point_value_positive"),
    CheckConstraint("status IN ('PENDING', 'ACTIVE', 'SUSPENDED')", name="status_known"),
)

partner_keys = Table(
    "partner_keys",
    metadata,
    Column("partner_id", String(32), primary_key=True),
    Column("key_id", String(64), primary_key=True),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("not_after_ms", BigInteger, nullable=True),
    Column("revoked_at_ms", BigInteger, nullable=True),
    Column("revoke_reason", String(500), nullable=False, server_default=""),
    ForeignKeyConstraint(["partner_id"], ["partners.partner_id"], ondelete="CASCADE"),
)

# One row per accepted request nonce, kept for the timestamp window (plus a margin) so that a
# replay is refused across restarts and replicas, and a resend gets the first answer back.
request_nonces = Table(
    "request_nonces",
    metadata,
    Column("principal", String(32), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("method", String(200), nullable=False),
    Column("request_sha256", String(64), nullable=False),
    Column("received_at_ms", BigInteger, nullable=False),
    # "OK", or the name of the ExchangeError class the first attempt raised.
    Column("outcome", String(32), nullable=False),
    Column("response_body", LargeBinary, nullable=False),
    Column("error_reason", String(64), nullable=False, server_default=""),
    Column("error_message", Text, nullable=False, server_default=""),
    Column("error_field", String(100), nullable=False, server_default=""),
    Index("ix_request_nonces_received_at_ms", "received_at_ms"),
)

# What happened in the registry, in order: the demonstration and staff read it; the
# tamper-evident audit log will chain these.
registry_events = Table(
    "registry_events",
    metadata,
    Column("event_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("actor", String(32), nullable=False),
    Column("partner_id", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("detail", String(500), nullable=False, server_default=""),
    Index("ix_registry_events_partner_id", "partner_id"),
)
