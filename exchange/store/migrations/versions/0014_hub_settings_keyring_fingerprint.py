"""hub_settings: the keyring fingerprint every replica must match

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 10:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hub_settings',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_hub_settings'))
    )


def downgrade() -> None:
    op.drop_table('hub_settings')
