"""idempotency keys keep final refusals

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 09:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('idempotency_keys') as batch:
        batch.add_column(sa.Column('outcome', sa.String(length=32), server_default='OK', nullable=False))
        batch.add_column(sa.Column('error_reason', sa.String(length=64), server_default='', nullable=False))
        batch.add_column(sa.Column('error_message', sa.Text(), server_default='', nullable=False))
        batch.add_column(sa.Column('error_field', sa.String(length=100), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('idempotency_keys') as batch:
        batch.drop_column('error_field')
        batch.drop_column('error_message')
        batch.drop_column('error_reason')
        batch.drop_column('outcome')
