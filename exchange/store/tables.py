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
    UniqueConstraint,
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
    Column("kind", String(8), nullable=False, server_default="BRAND"),
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
    # The keyed tag of the one member the kept answer names (exchange.service.stored_answers), or "".
    Column("member_tag", String(64), nullable=False, server_default=""),
    Index("ix_request_nonces_received_at_ms", "received_at_ms"),
    Index("ix_request_nonces_member_tag", "member_tag"),
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

agreements = Table(
    "agreements",
    metadata,
    Column("agreement_id", String(40), primary_key=True),
    Column("source_partner_id", String(32), nullable=False),
    Column("target_partner_id", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("rate_numerator", BigInteger, nullable=False),
    Column("rate_denominator", BigInteger, nullable=False),
    Column("min_source_points", BigInteger, nullable=False),
    Column("max_source_points", BigInteger, nullable=False),
    Column("source_increment", BigInteger, nullable=False),
    Column("member_daily_cap_source_points", BigInteger, nullable=False),
    Column("fee_basis_points", Integer, nullable=True),
    Column("fee_fixed_points", BigInteger, nullable=True),
    Column("valid_from_ms", BigInteger, nullable=False),
    Column("valid_until_ms", BigInteger, nullable=False),
    Column("price_numerator", BigInteger, nullable=False),
    Column("price_denominator", BigInteger, nullable=False),
    Column("settlement_currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("document", LargeBinary, nullable=False),
    Column("proposer_key_id", String(64), nullable=False),
    Column("proposer_signature", LargeBinary, nullable=False),
    Column("acceptor_key_id", String(64), nullable=False, server_default=""),
    Column("acceptor_signature", LargeBinary, nullable=False),
    Column("proposed_at_ms", BigInteger, nullable=False),
    Column("accepted_at_ms", BigInteger, nullable=True),
    Column("status_changed_at_ms", BigInteger, nullable=False),
    Column("status_reason", String(500), nullable=False, server_default=""),
    Column("suspended_by", String(32), nullable=False, server_default=""),
    UniqueConstraint("source_partner_id", "target_partner_id", "version", name="uq_agreements_pair_version"),
    Index("ix_agreements_target_partner_id", "target_partner_id"),
)

quotes = Table(
    "quotes",
    metadata,
    Column("quote_id", String(40), primary_key=True),
    Column("agreement_id", String(40), nullable=False),
    Column("agreement_version", Integer, nullable=False),
    Column("source_partner_id", String(32), nullable=False),
    Column("target_partner_id", String(32), nullable=False),
    Column("source_points_requested", BigInteger, nullable=False),
    Column("fee_points", BigInteger, nullable=False),
    Column("source_points_converted", BigInteger, nullable=False),
    Column("target_points", BigInteger, nullable=False),
    Column("settlement_amount_minor", BigInteger, nullable=False),
    Column("settlement_currency", String(3), nullable=False),
    Column("rate_numerator", BigInteger, nullable=False),
    Column("rate_denominator", BigInteger, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    Column("used_by", String(40), nullable=True),
)

conversions = Table(
    "conversions",
    metadata,
    Column("conversion_id", String(40), primary_key=True),
    Column("quote_id", String(40), nullable=False, unique=True),
    Column("agreement_id", String(40), nullable=False),
    Column("agreement_version", Integer, nullable=False),
    Column("source_partner_id", String(32), nullable=False),
    Column("target_partner_id", String(32), nullable=False),
    Column("source_member_ref", String(128), nullable=False),
    Column("target_member_ref", String(128), nullable=False),
    Column("source_points_requested", BigInteger, nullable=False),
    Column("fee_points", BigInteger, nullable=False),
    Column("source_points_converted", BigInteger, nullable=False),
    Column("target_points", BigInteger, nullable=False),
    Column("settlement_amount_minor", BigInteger, nullable=False),
    Column("settlement_currency", String(3), nullable=False),
    Column("rate_numerator", BigInteger, nullable=False),
    Column("rate_denominator", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("credit_deadline_ms", BigInteger, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("utc_day", Integer, nullable=False),
    Index("ix_conversions_member_day", "source_partner_id", "target_partner_id", "source_member_ref", "utc_day"),
    Index("ix_conversions_member_created", "source_partner_id", "source_member_ref", "created_at_ms"),
    Index("ix_conversions_state_deadline", "state", "credit_deadline_ms"),
    Index("ix_conversions_source_created", "source_partner_id", "created_at_ms"),
    Index("ix_conversions_target_created", "target_partner_id", "created_at_ms"),
)

conversion_events = Table(
    "conversion_events",
    metadata,
    Column("event_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("conversion_id", String(40), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("actor", String(32), nullable=False),
    Column("from_state", String(16), nullable=True),
    Column("to_state", String(16), nullable=False),
    Column("note", String(500), nullable=False, server_default=""),
    Index("ix_conversion_events_conversion_id", "conversion_id"),
)

conversion_reversals = Table(
    "conversion_reversals",
    metadata,
    Column("reversal_id", String(40), primary_key=True),
    Column("conversion_id", String(40), nullable=False),
    Column("target_points", BigInteger, nullable=False),
    Column("source_points", BigInteger, nullable=False),
    Column("settlement_amount_minor", BigInteger, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_conversion_reversals_conversion_id", "conversion_id"),
)

# Append-only postings, the record of what the partners owe each other. money_positions keeps their
# running money sums per partner pair for the exposure check; no row is shared by every conversion.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("entry_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("transaction_id", String(40), nullable=False),
    Column("transaction_kind", String(32), nullable=False),
    Column("reference", String(40), nullable=False),
    Column("posted_at_ms", BigInteger, nullable=False),
    Column("owner", String(32), nullable=False),
    Column("account_kind", String(32), nullable=False),
    Column("counterparty", String(32), nullable=False, server_default=""),
    Column("currency", String(10), nullable=False),
    Column("amount", BigInteger, nullable=False),
    CheckConstraint("amount <> 0", name="amount_non_zero"),
    Index("ix_ledger_entries_transaction_id", "transaction_id"),
    Index("ix_ledger_entries_owner_currency", "owner", "currency"),
    Index("ix_ledger_entries_reference", "reference"),
)

# The running sum of ledger_entries' money postings per (owner, currency, counterparty), written
# in the transaction that posts them (exchange.store.ledger_repo): a conversion's exposure check
# reads the source partner's few rows (one per counterparty) instead of summing its whole ledger.
# A row belongs to one pair of partners, so no row is written by every conversion.
money_positions = Table(
    "money_positions",
    metadata,
    Column("owner", String(32), primary_key=True),
    Column("currency", String(10), primary_key=True),
    Column("counterparty", String(32), primary_key=True),
    Column("amount", BigInteger, nullable=False),
)

# An instruction names its origin's id and no other: a conversion's, a reversal's (with the
# conversion it reverses), a hold's or an award's. Migration 0015 writes the same text.
ORIGIN_IDS = (
    "(origin_kind = 'CONVERSION' AND conversion_id <> '' AND reversal_id = '' AND hold_id = '' AND award_id = ''"
    " AND membership_id = '')"
    " OR (origin_kind = 'REVERSAL' AND conversion_id <> '' AND reversal_id <> '' AND hold_id = '' AND award_id = ''"
    " AND membership_id = '')"
    " OR (origin_kind = 'HOLD' AND conversion_id = '' AND reversal_id = '' AND hold_id <> '' AND award_id = ''"
    " AND membership_id = '')"
    " OR (origin_kind = 'AWARD' AND conversion_id = '' AND reversal_id = '' AND hold_id = '' AND award_id <> ''"
    " AND membership_id = '')"
    " OR (origin_kind = 'MEMBERSHIP' AND conversion_id = '' AND reversal_id = '' AND hold_id = '' AND award_id = ''"
    " AND membership_id <> '')"
    " OR (origin_kind = 'MATCH' AND conversion_id = '' AND reversal_id = '' AND hold_id = '' AND award_id = ''"
    " AND membership_id = '')"
)
# A status match, and only one, names its match (and none of the ids above).
NO_MATCH_ID = "(origin_kind = 'MATCH') = (match_id <> '')"
# Points move on every instruction but a membership's benefits and a status match's, which move none.
POINTS_UNLESS_BENEFIT = (
    "(origin_kind IN ('MEMBERSHIP', 'MATCH') AND points = 0)"
    " OR (origin_kind NOT IN ('MEMBERSHIP', 'MATCH') AND points > 0)"
)

instructions = Table(
    "instructions",
    metadata,
    Column("instruction_id", String(40), primary_key=True),
    Column("partner_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("member_ref", String(128), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("point_currency", String(10), nullable=False),
    # What the instruction is part of (exchange.domain.instructions.OriginKind); its id is in the id
    # column of that kind, and ORIGIN_IDS keeps the other ids empty.
    Column("origin_kind", String(16), nullable=False),
    Column("conversion_id", String(40), nullable=False),
    Column("reversal_id", String(40), nullable=False, server_default=""),
    Column("hold_id", String(40), nullable=False, server_default=""),
    Column("award_id", String(40), nullable=False, server_default=""),
    Column("membership_id", String(40), nullable=False, server_default=""),
    Column("match_id", String(40), nullable=False, server_default=""),
    # For a BENEFIT_GRANT or BENEFIT_REVOKE (exchange.domain.instructions.BenefitNotice): the programme,
    # the benefits (JSON, as the agreement document writes them; a grant only) and their time.
    Column("programme_id", String(64), nullable=False, server_default=""),
    Column("benefits", Text, nullable=False, server_default=""),
    Column("honoured_from_ms", BigInteger, nullable=True),
    Column("honoured_until_ms", BigInteger, nullable=True),
    # For a CREDIT_CANCELLED: the delivered credit the hub cancelled, which the partner takes back.
    Column("cancels_instruction_id", String(40), nullable=False, server_default=""),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("deadline_ms", BigInteger, nullable=True),
    Column("delivery_count", Integer, nullable=False, server_default="0"),
    Column("leased_until_ms", BigInteger, nullable=False, server_default="0"),
    Column("partner_reference", String(128), nullable=False, server_default=""),
    Column("reason", String(500), nullable=False, server_default=""),
    CheckConstraint(POINTS_UNLESS_BENEFIT, name="points_unless_benefit"),
    CheckConstraint(ORIGIN_IDS, name="origin_names_its_ids"),
    CheckConstraint(NO_MATCH_ID, name="match_names_its_id"),
    Index("ix_instructions_partner_state", "partner_id", "state", "leased_until_ms"),
    Index("ix_instructions_conversion_id", "conversion_id"),
)

# One row per (calling partner, idempotency key), written with the effect, holding the answer.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("partner_id", String(32), primary_key=True),
    Column("idempotency_key", String(128), primary_key=True),
    Column("method", String(200), nullable=False),
    Column("request_sha256", String(64), nullable=False),
    Column("response_body", LargeBinary, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    # "OK", or the class name of a final refusal (a deadline passed) the key keeps answering.
    Column("outcome", String(32), nullable=False, server_default="OK"),
    Column("error_reason", String(64), nullable=False, server_default=""),
    Column("error_message", Text, nullable=False, server_default=""),
    Column("error_field", String(100), nullable=False, server_default=""),
    Column("member_tag", String(64), nullable=False, server_default=""),
    Index("ix_idempotency_keys_member_tag", "member_tag"),
)

holds = Table(
    "holds",
    metadata,
    Column("hold_id", String(40), primary_key=True),
    Column("agreement_id", String(40), nullable=False),
    Column("source_partner_id", String(32), nullable=False),
    Column("target_partner_id", String(32), nullable=False),
    Column("source_member_ref", String(128), nullable=False),
    Column("authorized_points", BigInteger, nullable=False),
    Column("captured_points", BigInteger, nullable=False),
    Column("released_points", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    Column("rate_numerator", BigInteger, nullable=False),
    Column("rate_denominator", BigInteger, nullable=False),
    Column("price_numerator", BigInteger, nullable=False),
    Column("price_denominator", BigInteger, nullable=False),
    Column("settlement_currency", String(3), nullable=False),
    CheckConstraint("captured_points + released_points <= authorized_points", name="accounted"),
    Index("ix_holds_state_expires", "state", "expires_at_ms"),
)

hold_captures = Table(
    "hold_captures",
    metadata,
    Column("capture_id", String(40), primary_key=True),
    Column("hold_id", String(40), nullable=False),
    Column("source_points", BigInteger, nullable=False),
    Column("target_points_value", BigInteger, nullable=False),
    Column("settlement_amount_minor", BigInteger, nullable=False),
    Column("target_reference", String(128), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_hold_captures_hold_id", "hold_id"),
)

# A member is an internal id; brands know it only through pairwise ids. erased_at_ms marks erasure.
members = Table(
    "members",
    metadata,
    Column("member_id", String(40), primary_key=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("erased_at_ms", BigInteger, nullable=True),
    # The brand that forwarded the member's erasure request.
    Column("erased_by", String(32), nullable=False, server_default=""),
)

member_accounts = Table(
    "member_accounts",
    metadata,
    Column("partner_id", String(32), primary_key=True),
    Column("member_ref", String(128), primary_key=True),
    Column("member_id", String(40), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("pairwise_id", String(40), nullable=False, server_default=""),
    Index("ix_member_accounts_member_id", "member_id"),
    Index("ix_member_accounts_pairwise", "partner_id", "pairwise_id"),
)

member_links = Table(
    "member_links",
    metadata,
    Column("link_id", String(40), primary_key=True),
    Column("member_id", String(40), nullable=False),
    Column("partner_a", String(32), nullable=False),
    Column("partner_b", String(32), nullable=False),
    Column("linked_at_ms", BigInteger, nullable=False),
    Column("ended_at_ms", BigInteger, nullable=True),
    Column("ended_by", String(32), nullable=False, server_default=""),
    Column("end_reason", String(500), nullable=False, server_default=""),
    Index("ix_member_links_member_id", "member_id"),
)

# Codes are stored only as keyed digests: a database reader learns no usable code.
link_codes = Table(
    "link_codes",
    metadata,
    Column("code_digest", String(64), primary_key=True),
    Column("partner_id", String(32), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    Column("used_at_ms", BigInteger, nullable=True),
)
# Facts about this hub's deployment that every replica must agree on (e.g. the keyring's fingerprint).
hub_settings = Table(
    "hub_settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

# Wrong link codes a brand sent, kept for the whole guess-limit window (exchange.domain.members).
link_code_failures = Table(
    "link_code_failures",
    metadata,
    Column("failure_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("partner_id", String(32), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index("ix_link_code_failures_partner_at", "partner_id", "at_ms"),
)

attribute_declarations = Table(
    "attribute_declarations",
    metadata,
    Column("partner_id", String(32), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("type", String(16), nullable=False),
    Column("description", String(500), nullable=False),
)

# Each member's data key, wrapped by a master key of the keyring; erasure deletes it.
member_keys = Table(
    "member_keys",
    metadata,
    Column("member_id", String(40), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("destroyed_at_ms", BigInteger, nullable=True),
)

# Values are AES-GCM sealed under the member's data key; no plaintext is ever stored.
attribute_values = Table(
    "attribute_values",
    metadata,
    Column("member_id", String(40), primary_key=True),
    Column("partner_id", String(32), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
)

consents = Table(
    "consents",
    metadata,
    Column("consent_id", String(40), primary_key=True),
    Column("member_id", String(40), nullable=False),
    Column("source_partner_id", String(32), nullable=False),
    Column("grantee_partner_id", String(32), nullable=False),
    Column("attribute_keys", String(4000), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("granted_at_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    Column("revoked_at_ms", BigInteger, nullable=True),
    Column("granted_via", String(32), nullable=False),
    Column("receipt", LargeBinary, nullable=False),
    Column("receipt_signature", LargeBinary, nullable=False),
    Column("receipt_key_id", String(64), nullable=False),
    # Why it ended before its expiry: REVOKED (by the member), UNLINKED (a brand's link ended), ERASED.
    Column("end_reason", String(32), nullable=False, server_default=""),
    Index("ix_consents_member_id", "member_id"),
)

access_log = Table(
    "access_log",
    metadata,
    Column("entry_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("member_id", String(40), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("reader_partner_id", String(32), nullable=False),
    Column("source_partner_id", String(32), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("returned_keys", String(4000), nullable=False),
    Column("withheld_keys", String(4000), nullable=False),
    # READ (returned and withheld keys), READ_REFUSED (refused before any key was judged), CONSENT_ENDED.
    Column("event", String(24), nullable=False, server_default="READ"),
    Column("reason", String(64), nullable=False, server_default=""),
    Column("consent_id", String(40), nullable=False, server_default=""),
    Index("ix_access_log_member_id", "member_id"),
)

# --- settlement -------------------------------------------------------------------------------

# Exactly one OPEN period at any time (the first is inserted by the migration).
settlement_periods = Table(
    "settlement_periods",
    metadata,
    Column("period_id", String(16), primary_key=True),
    Column("number", Integer, nullable=False, unique=True),
    Column("state", String(8), nullable=False),
    Column("opened_at_ms", BigInteger, nullable=False),
    Column("cutoff_ms", BigInteger, nullable=True),
    Column("closed_at_ms", BigInteger, nullable=True),
    Column("closed_by", String(32), nullable=False, server_default=""),
    Column("movement_count", BigInteger, nullable=False, server_default="0"),
    Column("statement_count", Integer, nullable=False, server_default="0"),
    Index("ix_settlement_periods_state", "state"),
)

# One row per completed movement, written in the transaction that made it final.
movements = Table(
    "movements",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("movement_id", String(40), nullable=False, unique=True),
    Column("period_id", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("source_partner_id", String(32), nullable=False),
    Column("target_partner_id", String(32), nullable=False),
    Column("source_points", BigInteger, nullable=False),
    Column("target_points", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("final_at_ms", BigInteger, nullable=False),
    Index("ix_movements_period_final", "period_id", "final_at_ms"),
    Index("ix_movements_period_source", "period_id", "source_partner_id", "seq"),
    Index("ix_movements_period_target", "period_id", "target_partner_id", "seq"),
)

statements = Table(
    "statements",
    metadata,
    Column("statement_id", String(64), primary_key=True),
    Column("partner_id", String(32), nullable=False),
    Column("period_id", String(16), nullable=False),
    Column("period_number", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("document", LargeBinary, nullable=False),
    Column("document_sha256", String(64), nullable=False),
    Column("previous_statement_sha256", String(64), nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("hub_key_id", String(64), nullable=False),
    UniqueConstraint("partner_id", "sequence", name="uq_statements_partner_sequence"),
    Index("ix_statements_period_id", "period_id"),
)

payment_instructions = Table(
    "payment_instructions",
    metadata,
    Column("instruction_id", String(24), primary_key=True),
    Column("period_id", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payer_partner_id", String(32), nullable=False),
    Column("payee_partner_id", String(32), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("paid_minor", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("paid_minor >= 0 AND paid_minor <= amount_minor", name="paid_within_amount"),
    Index("ix_payment_instructions_payer", "payer_partner_id"),
    Index("ix_payment_instructions_payee", "payee_partner_id"),
)

payments = Table(
    "payments",
    metadata,
    Column("payment_id", String(40), primary_key=True),
    Column("instruction_id", String(24), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("payment_reference", String(128), nullable=False),
    Column("recorded_by", String(32), nullable=False),
    Column("recorded_at_ms", BigInteger, nullable=False),
    CheckConstraint("amount_minor > 0", name="amount_positive"),
    Index("ix_payments_instruction_id", "instruction_id"),
)

disputes = Table(
    "disputes",
    metadata,
    Column("dispute_id", String(40), primary_key=True),
    Column("opened_by", String(32), nullable=False),
    Column("counterparty", String(32), nullable=False),
    Column("movement_id", String(40), nullable=False, server_default=""),
    Column("statement_id", String(64), nullable=False, server_default=""),
    Column("period_id", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("claimed_amount_minor", BigInteger, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("respond_by_ms", BigInteger, nullable=False),
    Column("opened_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("response_note", String(500), nullable=False, server_default=""),
    Column("awarded_amount_minor", BigInteger, nullable=False, server_default="0"),
    Column("resolution_note", String(500), nullable=False, server_default=""),
    Column("adjustment_movement_id", String(40), nullable=False, server_default=""),
    Column("adjustment_period_id", String(16), nullable=False, server_default=""),
    Index("ix_disputes_opened_by", "opened_by", "opened_at_ms"),
    Index("ix_disputes_counterparty", "counterparty", "opened_at_ms"),
)

reconciliations = Table(
    "reconciliations",
    metadata,
    Column("reconciliation_id", String(40), primary_key=True),
    Column("partner_id", String(32), nullable=False),
    Column("period_id", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("started_at_ms", BigInteger, nullable=False),
    Column("finished_at_ms", BigInteger, nullable=True),
    Column("parts", Integer, nullable=False, server_default="0"),
    Column("lines", BigInteger, nullable=False, server_default="0"),
    Column("brand_lines", BigInteger, nullable=False, server_default="0"),
    Column("hub_movements", BigInteger, nullable=False, server_default="0"),
    Column("matched", BigInteger, nullable=False, server_default="0"),
    Column("missing_at_hub", BigInteger, nullable=False, server_default="0"),
    Column("missing_at_brand", BigInteger, nullable=False, server_default="0"),
    Column("amount_mismatch", BigInteger, nullable=False, server_default="0"),
    Column("duplicate", BigInteger, nullable=False, server_default="0"),
    Column("in_other_period", BigInteger, nullable=False, server_default="0"),
    Index("ix_reconciliations_partner_id", "partner_id"),
)

reconciliation_parts = Table(
    "reconciliation_parts",
    metadata,
    Column("reconciliation_id", String(40), primary_key=True),
    Column("part_number", Integer, primary_key=True),
    Column("content_sha256", String(64), nullable=False),
    Column("first_line", BigInteger, nullable=False),
    Column("line_count", BigInteger, nullable=False),
)

# The brand's uploaded records (H, D, T, E), one row per line, compared with movements in SQL.
reconciliation_lines = Table(
    "reconciliation_lines",
    metadata,
    Column("reconciliation_id", String(40), primary_key=True),
    Column("line_number", BigInteger, primary_key=True),
    Column("record_type", String(1), nullable=False),
    Column("movement_id", String(64), nullable=False, server_default=""),
    Column("kind", String(32), nullable=False, server_default=""),
    Column("period_id", String(16), nullable=False, server_default=""),
    Column("partner_id", String(32), nullable=False, server_default=""),
    Column("source_points", BigInteger, nullable=False, server_default="0"),
    Column("target_points", BigInteger, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False, server_default=""),
    Column("amount_minor", BigInteger, nullable=False, server_default="0"),
    Column("record_count", BigInteger, nullable=False, server_default="0"),
    Index("ix_reconciliation_lines_movement", "reconciliation_id", "movement_id"),
)

reconciliation_breaks = Table(
    "reconciliation_breaks",
    metadata,
    Column("reconciliation_id", String(40), primary_key=True),
    Column("movement_id", String(64), primary_key=True),
    Column("line_number", BigInteger, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("hub_kind", String(32), nullable=True),
    Column("hub_period_id", String(16), nullable=True),
    Column("hub_source_points", BigInteger, nullable=True),
    Column("hub_target_points", BigInteger, nullable=True),
    Column("hub_currency", String(3), nullable=True),
    Column("hub_amount_minor", BigInteger, nullable=True),
    Column("brand_kind", String(16), nullable=True),
    Column("brand_period_id", String(16), nullable=True),
    Column("brand_source_points", BigInteger, nullable=True),
    Column("brand_target_points", BigInteger, nullable=True),
    Column("brand_currency", String(3), nullable=True),
    Column("brand_amount_minor", BigInteger, nullable=True),
)

# --- earning at a partner (accrual) -----------------------------------------------------------

accrual_agreements = Table(
    "accrual_agreements",
    metadata,
    Column("agreement_id", String(40), primary_key=True),
    Column("awarder_partner_id", String(32), nullable=False),
    Column("issuer_partner_id", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("activity_types", String(700), nullable=False),
    Column("price_numerator", BigInteger, nullable=False),
    Column("price_denominator", BigInteger, nullable=False),
    Column("settlement_currency", String(3), nullable=False),
    Column("monthly_budget_points", BigInteger, nullable=False),
    Column("monthly_budget_minor", BigInteger, nullable=False),
    Column("member_daily_cap_points", BigInteger, nullable=False),
    Column("valid_from_ms", BigInteger, nullable=False),
    Column("valid_until_ms", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("document", LargeBinary, nullable=False),
    Column("proposer_key_id", String(64), nullable=False),
    Column("proposer_signature", LargeBinary, nullable=False),
    Column("acceptor_key_id", String(64), nullable=False, server_default=""),
    Column("acceptor_signature", LargeBinary, nullable=False),
    Column("proposed_at_ms", BigInteger, nullable=False),
    Column("accepted_at_ms", BigInteger, nullable=True),
    UniqueConstraint("awarder_partner_id", "issuer_partner_id", "version", name="uq_accrual_agreements_pair_version"),
)

awards = Table(
    "awards",
    metadata,
    Column("award_id", String(40), primary_key=True),
    Column("agreement_id", String(40), nullable=False),
    Column("awarder_partner_id", String(32), nullable=False),
    Column("issuer_partner_id", String(32), nullable=False),
    Column("awarder_pairwise_id", String(64), nullable=False),
    Column("issuer_member_ref", String(128), nullable=False),
    Column("activity_type", String(32), nullable=False),
    Column("activity_reference", String(128), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("settlement_amount_minor", BigInteger, nullable=False),
    Column("settlement_currency", String(3), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("utc_month", Integer, nullable=False),
    Column("utc_day", Integer, nullable=False),
    Column("credit_deadline_ms", BigInteger, nullable=False),
    Column("void_reason", String(500), nullable=False, server_default=""),
    CheckConstraint("points > 0", name="points_positive"),
    Index("ix_awards_budget", "awarder_partner_id", "issuer_partner_id", "utc_month"),
    Index("ix_awards_member_day", "awarder_partner_id", "issuer_partner_id", "issuer_member_ref", "utc_day"),
    Index("ix_awards_state_deadline", "state", "credit_deadline_ms"),
)

# --- giving (donations to a charity partner) ----------------------------------------------------

donation_agreements = Table(
    "donation_agreements",
    metadata,
    Column("agreement_id", String(40), primary_key=True),
    Column("brand_partner_id", String(32), nullable=False),
    Column("charity_partner_id", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("value_numerator", BigInteger, nullable=False),
    Column("value_denominator", BigInteger, nullable=False),
    Column("settlement_currency", String(3), nullable=False),
    Column("valid_from_ms", BigInteger, nullable=False),
    Column("valid_until_ms", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("document", LargeBinary, nullable=False),
    Column("proposer_signature", LargeBinary, nullable=False),
    Column("acceptor_signature", LargeBinary, nullable=False),
    Column("proposed_at_ms", BigInteger, nullable=False),
    Column("accepted_at_ms", BigInteger, nullable=True),
    UniqueConstraint("brand_partner_id", "charity_partner_id", "version", name="uq_donation_agreements_pair_version"),
)

donations = Table(
    "donations",
    metadata,
    Column("donation_id", String(40), primary_key=True),
    Column("agreement_id", String(40), nullable=False),
    Column("brand_partner_id", String(32), nullable=False),
    Column("charity_partner_id", String(32), nullable=False),
    Column("member_ref", String(128), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("share_identity", Integer, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("donated_at_ms", BigInteger, nullable=False),
    Column("receipt", LargeBinary, nullable=False),
    Column("receipt_signature", LargeBinary, nullable=False),
    Column("hub_key_id", String(64), nullable=False),
    CheckConstraint("points > 0", name="points_positive"),
    Index("ix_donations_brand", "brand_partner_id", "donated_at_ms"),
    Index("ix_donations_charity", "charity_partner_id", "donated_at_ms"),
)

# --- joint memberships --------------------------------------------------------------------------

# One version of a programme's terms: the canonical document everyone signs is the record of the
# terms (exchange.domain.membership_agreements.terms_of_document reads it back); the columns
# beside it are what queries need.
membership_agreements = Table(
    "membership_agreements",
    metadata,
    Column("agreement_id", String(40), primary_key=True),
    Column("programme_id", String(64), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("seller_partner_id", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("document", LargeBinary, nullable=False),
    Column("proposed_at_ms", BigInteger, nullable=False),
    Column("status_changed_at_ms", BigInteger, nullable=False),
    UniqueConstraint("programme_id", "version"),
)

# Every signature over a version's document, the seller's first (seq 0).
membership_agreement_signatures = Table(
    "membership_agreement_signatures",
    metadata,
    Column("agreement_id", String(40), primary_key=True),
    Column("partner_id", String(32), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("signed_at_ms", BigInteger, nullable=False),
    ForeignKeyConstraint(["agreement_id"], ["membership_agreements.agreement_id"]),
)

# A member's membership of a programme. member_ref is the seller's reference (scrubbed on
# erasure, like every member reference); paid_terms is the list of paid terms (JSON, integers only).
memberships = Table(
    "memberships",
    metadata,
    Column("membership_id", String(40), primary_key=True),
    Column("programme_id", String(64), nullable=False),
    Column("seller_partner_id", String(32), nullable=False),
    Column("member_ref", String(128), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("refund_rule", String(16), nullable=False),
    Column("grace_days", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("paid_terms", Text, nullable=False),
    Column("state_changed_at_ms", BigInteger, nullable=False),
    Column("grace_until_ms", BigInteger, nullable=True),
    Column("ended_at_ms", BigInteger, nullable=True),
    Column("honoured_until_ms", BigInteger, nullable=False),  # covered_until: the sweep lapses past it
    Column("vouchers_due_at_ms", BigInteger, nullable=True),  # the next period whose vouchers are to issue
    Index("ix_memberships_member", "seller_partner_id", "programme_id", "member_ref"),
    Index("ix_memberships_state_until", "state", "honoured_until_ms"),
    Index("ix_memberships_vouchers_due", "vouchers_due_at_ms"),
)

# Each partner's benefits on a membership (exchange.domain.membership_agreements.GrantState).
membership_grants = Table(
    "membership_grants",
    metadata,
    Column("membership_id", String(40), primary_key=True),
    Column("partner_id", String(32), primary_key=True),
    Column("member_id", String(40), nullable=False),
    Column("state", String(16), nullable=False),
    Column("honoured_until_ms", BigInteger, nullable=False),
    ForeignKeyConstraint(["membership_id"], ["memberships.membership_id"]),
    Index("ix_membership_grants_member_state", "member_id", "state"),
)

# Vouchers a membership's benefit gave its member (exchange.domain.vouchers); the id is the code
# the member shows, made from the membership, partner, period and number, so issuing twice is one.
vouchers = Table(
    "vouchers",
    metadata,
    Column("voucher_id", String(128), primary_key=True),
    Column("membership_id", String(40), nullable=True),  # a membership's voucher, or NULL
    Column("agreement_id", String(40), nullable=True),  # a voucher agreement's, or NULL
    Column("funder_partner_id", String(32), nullable=False),
    Column("honouring_partner_id", String(32), nullable=False),
    Column("member_ref", String(128), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("value_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("issued_at_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("redeemed_at_ms", BigInteger, nullable=True),
    Column("reference", String(128), nullable=False, server_default=""),
    CheckConstraint("value_minor > 0", name="value_positive"),
    CheckConstraint("(membership_id IS NULL) <> (agreement_id IS NULL)", name="one_origin"),
    ForeignKeyConstraint(["membership_id"], ["memberships.membership_id"]),
    Index("ix_vouchers_membership_issued", "membership_id", "issued_at_ms"),
    Index("ix_vouchers_state_expires", "state", "expires_at_ms"),
    Index("ix_vouchers_agreement_issued", "agreement_id", "issued_at_ms"),
)

# One version of a pair's voucher agreement with both signatures; the canonical document is the
# record of the terms (exchange.domain.voucher_agreements.terms_of_document reads it back).
voucher_agreements = Table(
    "voucher_agreements",
    metadata,
    Column("agreement_id", String(40), primary_key=True),
    Column("funder_partner_id", String(32), nullable=False),
    Column("honouring_partner_id", String(32), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("document", LargeBinary, nullable=False),
    Column("proposer_key_id", String(64), nullable=False),
    Column("proposer_signature", LargeBinary, nullable=False),
    Column("acceptor_key_id", String(64), nullable=False, server_default=""),
    Column("acceptor_signature", LargeBinary, nullable=False, server_default=""),
    Column("proposed_at_ms", BigInteger, nullable=False),
    Column("status_changed_at_ms", BigInteger, nullable=False),
    UniqueConstraint("funder_partner_id", "honouring_partner_id", "version"),
)


# --- status match -------------------------------------------------------------------------------

# Each brand's tier ladder, lowest first (JSON: [{"code", "name"}, ...]).
tier_ladders = Table(
    "tier_ladders",
    metadata,
    Column("partner_id", String(32), primary_key=True),
    Column("tiers", Text, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
)

# A member's tier at a brand: member data, sealed with the member's data key (its code and dates),
# so an erasure (the key destroyed) leaves nothing readable.
member_tiers = Table(
    "member_tiers",
    metadata,
    Column("member_id", String(40), primary_key=True),
    Column("partner_id", String(32), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    Column("published_at_ms", BigInteger, nullable=False),
)

# One version of a pair's match agreement with both signatures; the canonical document is the record
# of the terms (exchange.domain.status_match_terms.terms_of_document reads it back).
match_agreements = Table(
    "match_agreements",
    metadata,
    Column("agreement_id", String(40), primary_key=True),
    Column("recogniser_partner_id", String(32), nullable=False),
    Column("attester_partner_id", String(32), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("document", LargeBinary, nullable=False),
    Column("proposer_key_id", String(64), nullable=False),
    Column("proposer_signature", LargeBinary, nullable=False),
    Column("acceptor_key_id", String(64), nullable=False, server_default=""),
    Column("acceptor_signature", LargeBinary, nullable=False, server_default=""),
    Column("proposed_at_ms", BigInteger, nullable=False),
    Column("accepted_at_ms", BigInteger, nullable=True),
    Column("status_changed_at_ms", BigInteger, nullable=False),
    UniqueConstraint("recogniser_partner_id", "attester_partner_id", "version"),
)

# A member's status match. The tiers are member data: sealed (JSON {"attester_tier", "matched_tier"}).
status_matches = Table(
    "status_matches",
    metadata,
    Column("match_id", String(40), primary_key=True),
    Column("member_id", String(40), nullable=False),
    Column("recogniser_partner_id", String(32), nullable=False),
    Column("attester_partner_id", String(32), nullable=False),
    Column("agreement_version", BigInteger, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("challenge", Text, nullable=False, server_default=""),  # the terms' challenge (JSON), or empty
    Column("state", String(16), nullable=False),
    Column("started_at_ms", BigInteger, nullable=False),
    Column("ends_at_ms", BigInteger, nullable=False),
    Column("match_ends_at_ms", BigInteger, nullable=False),
    Column("tier_holds_until_ms", BigInteger, nullable=False),  # when the attested tier stops holding (the sweep)
    Column("challenge_pending", Integer, nullable=False),
    Column("ended_at_ms", BigInteger, nullable=True),
    Column("end_reason", String(32), nullable=False, server_default=""),
    Index("ix_status_matches_pair_member", "recogniser_partner_id", "attester_partner_id", "member_id"),
    Index("ix_status_matches_member_state", "member_id", "state"),
    Index("ix_status_matches_state_ends", "state", "ends_at_ms"),
)


# --- audit log ----------------------------------------------------------------------------------

# One row per state change, appended in the transaction that made it (no read of the chain head,
# so writers never contend on it); the sealer later links rows into a hash chain in seq order.
audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("actor", String(32), nullable=False),
    Column("action", String(200), nullable=False),
    Column("subject", String(64), nullable=False, server_default=""),
    Column("request_sha256", String(64), nullable=False, server_default=""),
    Column("response_sha256", String(64), nullable=False, server_default=""),
    Column("entry_sha256", String(64), nullable=True),  # set by the sealer: H(previous entry, this row)
    Index("ix_audit_events_unsealed", "entry_sha256", "seq"),
)

# The chain head the hub signed after each sealing.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("checkpoint_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("head_sha256", String(64), nullable=False),
    Column("sealed_at_ms", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("hub_key_id", String(64), nullable=False),
    Column("signature", LargeBinary, nullable=False),
)
