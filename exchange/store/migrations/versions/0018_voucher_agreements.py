"""voucher agreements; a voucher is a membership's or a voucher agreement's

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('voucher_agreements',
    sa.Column('agreement_id', sa.String(length=40), nullable=False),
    sa.Column('funder_partner_id', sa.String(length=32), nullable=False),
    sa.Column('honouring_partner_id', sa.String(length=32), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=False),
    sa.Column('proposer_key_id', sa.String(length=64), nullable=False),
    sa.Column('proposer_signature', sa.LargeBinary(), nullable=False),
    sa.Column('acceptor_key_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('acceptor_signature', sa.LargeBinary(), server_default='', nullable=False),
    sa.Column('proposed_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('status_changed_at_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('agreement_id', name=op.f('pk_voucher_agreements')),
    sa.UniqueConstraint('funder_partner_id', 'honouring_partner_id', 'version', name=op.f('uq_voucher_agreements_funder_partner_id'))
    )
    # SQLite rebuilds the table here (it cannot change a column or add a constraint in place).
    with op.batch_alter_table('vouchers') as batch:
        batch.alter_column('membership_id', existing_type=sa.String(length=40), nullable=True)
        batch.add_column(sa.Column('agreement_id', sa.String(length=40), nullable=True))
        batch.create_check_constraint(
            op.f('ck_vouchers_one_origin'), sa.text('(membership_id IS NULL) <> (agreement_id IS NULL)')
        )
        batch.create_index('ix_vouchers_agreement_issued', ['agreement_id', 'issued_at_ms'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('vouchers') as batch:
        batch.drop_index('ix_vouchers_agreement_issued')
        batch.drop_constraint(op.f('ck_vouchers_one_origin'), type_='check')
        batch.drop_column('agreement_id')
        batch.alter_column('membership_id', existing_type=sa.String(length=40), nullable=False)
    op.drop_table('voucher_agreements')
