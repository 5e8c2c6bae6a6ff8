"""member data at rest: stored answers tagged or not kept, consent endings, refused reads, link-code guesses

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# Answers recorded before this revision were kept whole, attribute values and member references
# included. They can't be tagged with their member here (that takes the keyring), so the answers of
# every method whose answer may carry member data are dropped: a resend or a retry with the same
# idempotency key is told ANSWER_NOT_KEPT (see exchange.service.stored_answers).
_MEMBER_DATA_METHODS = (
    "/coalition.exchange.v1.MemberService/",
    "/coalition.exchange.v1.ConversionService/",
    "/coalition.exchange.v1.RedemptionService/",
    "/coalition.exchange.v1.InstructionService/",
    "/coalition.exchange.v1.DonationService/",
)


def upgrade() -> None:
    for table in ('request_nonces', 'idempotency_keys'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('member_tag', sa.String(length=64), server_default='', nullable=False))
            batch.create_index(f'ix_{table}_member_tag', ['member_tag'], unique=False)
        for prefix in _MEMBER_DATA_METHODS:
            op.execute(
                sa.text(
                    f"UPDATE {table} SET response_body = :empty, outcome = 'NOT_KEPT' "
                    "WHERE outcome = 'OK' AND method LIKE :prefix"
                ).bindparams(sa.bindparam('empty', b'', type_=sa.LargeBinary), prefix=prefix + '%')
            )
    with op.batch_alter_table('consents') as batch:
        batch.add_column(sa.Column('end_reason', sa.String(length=32), server_default='', nullable=False))
    op.execute("UPDATE consents SET end_reason = 'REVOKED' WHERE revoked_at_ms IS NOT NULL")
    with op.batch_alter_table('access_log') as batch:
        batch.add_column(sa.Column('event', sa.String(length=24), server_default='READ', nullable=False))
        batch.add_column(sa.Column('reason', sa.String(length=64), server_default='', nullable=False))
        batch.add_column(sa.Column('consent_id', sa.String(length=40), server_default='', nullable=False))
    with op.batch_alter_table('members') as batch:
        batch.add_column(sa.Column('erased_by', sa.String(length=32), server_default='', nullable=False))
    op.create_table('link_code_failures',
    sa.Column('failure_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('partner_id', sa.String(length=32), nullable=False),
    sa.Column('at_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('failure_id', name=op.f('pk_link_code_failures'))
    )
    op.create_index('ix_link_code_failures_partner_at', 'link_code_failures', ['partner_id', 'at_ms'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_link_code_failures_partner_at', table_name='link_code_failures')
    op.drop_table('link_code_failures')
    with op.batch_alter_table('members') as batch:
        batch.drop_column('erased_by')
    with op.batch_alter_table('access_log') as batch:
        batch.drop_column('consent_id')
        batch.drop_column('reason')
        batch.drop_column('event')
    with op.batch_alter_table('consents') as batch:
        batch.drop_column('end_reason')
    for table in ('idempotency_keys', 'request_nonces'):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f'ix_{table}_member_tag')
            batch.drop_column('member_tag')
