"""instructions: cancels_instruction_id, for CREDIT_CANCELLED instructions

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('instructions') as batch:
        batch.add_column(sa.Column('cancels_instruction_id', sa.String(length=40), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('instructions') as batch:
        batch.drop_column('cancels_instruction_id')
