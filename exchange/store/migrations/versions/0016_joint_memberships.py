"""joint memberships: agreements and their signatures, memberships, partners' grants, vouchers; benefit instructions

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 17:00:00.000000

Instructions gain a fifth origin, a membership, whose BENEFIT_GRANT and BENEFIT_REVOKE name the
membership and the programme, carry the benefits and their time, and move no points. The CHECKs'
texts are copied here, not imported: a migration stays what it was.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

ORIGIN_IDS_BEFORE = (
    "(origin_kind = 'CONVERSION' AND conversion_id <> '' AND reversal_id = '' AND hold_id = '' AND award_id = '')"
    " OR (origin_kind = 'REVERSAL' AND conversion_id <> '' AND reversal_id <> '' AND hold_id = '' AND award_id = '')"
    " OR (origin_kind = 'HOLD' AND conversion_id = '' AND reversal_id = '' AND hold_id <> '' AND award_id = '')"
    " OR (origin_kind = 'AWARD' AND conversion_id = '' AND reversal_id = '' AND hold_id = '' AND award_id <> '')"
)
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
)
POINTS_UNLESS_BENEFIT = "(origin_kind = 'MEMBERSHIP' AND points = 0) OR (origin_kind <> 'MEMBERSHIP' AND points > 0)"


WIDENED = (  # (table, column, nullable)
    ('ledger_entries', 'transaction_kind', False),
    ('movements', 'kind', False),
    ('reconciliation_lines', 'kind', False),
    ('reconciliation_breaks', 'hub_kind', True),
)


def upgrade() -> None:
    for table, column, nullable in WIDENED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column, existing_type=sa.String(length=16), type_=sa.String(length=32), existing_nullable=nullable
            )
    op.create_table('membership_agreements',
    sa.Column('agreement_id', sa.String(length=40), nullable=False),
    sa.Column('programme_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('seller_partner_id', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=False),
    sa.Column('proposed_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('status_changed_at_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('agreement_id', name=op.f('pk_membership_agreements')),
    sa.UniqueConstraint('programme_id', 'version', name=op.f('uq_membership_agreements_programme_id'))
    )
    op.create_table('membership_agreement_signatures',
    sa.Column('agreement_id', sa.String(length=40), nullable=False),
    sa.Column('partner_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('signed_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['membership_agreements.agreement_id'], name=op.f('fk_membership_agreement_signatures_agreement_id_membership_agreements')),
    sa.PrimaryKeyConstraint('agreement_id', 'partner_id', name=op.f('pk_membership_agreement_signatures'))
    )
    op.create_table('memberships',
    sa.Column('membership_id', sa.String(length=40), nullable=False),
    sa.Column('programme_id', sa.String(length=64), nullable=False),
    sa.Column('seller_partner_id', sa.String(length=32), nullable=False),
    sa.Column('member_ref', sa.String(length=128), nullable=False),
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('refund_rule', sa.String(length=16), nullable=False),
    sa.Column('grace_days', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('paid_terms', sa.Text(), nullable=False),
    sa.Column('state_changed_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('grace_until_ms', sa.BigInteger(), nullable=True),
    sa.Column('ended_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('honoured_until_ms', sa.BigInteger(), nullable=False),
    sa.Column('vouchers_due_at_ms', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('membership_id', name=op.f('pk_memberships'))
    )
    op.create_index('ix_memberships_vouchers_due', 'memberships', ['vouchers_due_at_ms'], unique=False)
    op.create_index('ix_memberships_member', 'memberships', ['seller_partner_id', 'programme_id', 'member_ref'], unique=False)
    op.create_index('ix_memberships_state_until', 'memberships', ['state', 'honoured_until_ms'], unique=False)
    op.create_table('membership_grants',
    sa.Column('membership_id', sa.String(length=40), nullable=False),
    sa.Column('partner_id', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('honoured_until_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.membership_id'], name=op.f('fk_membership_grants_membership_id_memberships')),
    sa.PrimaryKeyConstraint('membership_id', 'partner_id', name=op.f('pk_membership_grants'))
    )
    op.create_index('ix_membership_grants_member_state', 'membership_grants', ['member_id', 'state'], unique=False)
    op.create_table('vouchers',
    sa.Column('voucher_id', sa.String(length=128), nullable=False),
    sa.Column('membership_id', sa.String(length=40), nullable=False),
    sa.Column('funder_partner_id', sa.String(length=32), nullable=False),
    sa.Column('honouring_partner_id', sa.String(length=32), nullable=False),
    sa.Column('member_ref', sa.String(length=128), nullable=False),
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('value_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('issued_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('expires_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('redeemed_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('reference', sa.String(length=128), server_default='', nullable=False),
    sa.CheckConstraint('value_minor > 0', name=op.f('ck_vouchers_value_positive')),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.membership_id'], name=op.f('fk_vouchers_membership_id_memberships')),
    sa.PrimaryKeyConstraint('voucher_id', name=op.f('pk_vouchers'))
    )
    op.create_index('ix_vouchers_membership_issued', 'vouchers', ['membership_id', 'issued_at_ms'], unique=False)
    op.create_index('ix_vouchers_state_expires', 'vouchers', ['state', 'expires_at_ms'], unique=False)
    # SQLite rebuilds the table here (it cannot change a constraint in place).
    with op.batch_alter_table('instructions') as batch:
        batch.add_column(sa.Column('membership_id', sa.String(length=40), server_default='', nullable=False))
        batch.add_column(sa.Column('programme_id', sa.String(length=64), server_default='', nullable=False))
        batch.add_column(sa.Column('benefits', sa.Text(), server_default='', nullable=False))
        batch.add_column(sa.Column('honoured_from_ms', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('honoured_until_ms', sa.BigInteger(), nullable=True))
        batch.drop_constraint(op.f('ck_instructions_origin_names_its_ids'), type_='check')
        batch.drop_constraint(op.f('ck_instructions_points_positive'), type_='check')
        batch.create_check_constraint(op.f('ck_instructions_origin_names_its_ids'), sa.text(ORIGIN_IDS))
        batch.create_check_constraint(op.f('ck_instructions_points_unless_benefit'), sa.text(POINTS_UNLESS_BENEFIT))


def downgrade() -> None:
    with op.batch_alter_table('instructions') as batch:
        batch.drop_constraint(op.f('ck_instructions_points_unless_benefit'), type_='check')
        batch.drop_constraint(op.f('ck_instructions_origin_names_its_ids'), type_='check')
        batch.create_check_constraint(op.f('ck_instructions_points_positive'), sa.text('points > 0'))
        batch.create_check_constraint(op.f('ck_instructions_origin_names_its_ids'), sa.text(ORIGIN_IDS_BEFORE))
        batch.drop_column('honoured_until_ms')
        batch.drop_column('honoured_from_ms')
        batch.drop_column('benefits')
        batch.drop_column('programme_id')
        batch.drop_column('membership_id')
    op.drop_index('ix_vouchers_state_expires', table_name='vouchers')
    op.drop_index('ix_vouchers_membership_issued', table_name='vouchers')
    op.drop_table('vouchers')
    op.drop_index('ix_membership_grants_member_state', table_name='membership_grants')
    op.drop_table('membership_grants')
    op.drop_index('ix_memberships_vouchers_due', table_name='memberships')
    op.drop_index('ix_memberships_state_until', table_name='memberships')
    op.drop_index('ix_memberships_member', table_name='memberships')
    op.drop_table('memberships')
    op.drop_table('membership_agreement_signatures')
    op.drop_table('membership_agreements')
    for table, column, nullable in WIDENED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column, existing_type=sa.String(length=32), type_=sa.String(length=16), existing_nullable=nullable
            )
