"""money positions: running sums of the ledger's money postings

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('money_positions',
    sa.Column('owner', sa.String(length=32), nullable=False),
    sa.Column('currency', sa.String(length=10), nullable=False),
    sa.Column('counterparty', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('owner', 'currency', 'counterparty', name=op.f('pk_money_positions'))
    )
    # Backfill from the ledger as it stands: the same sums the hub used to compute per conversion.
    op.execute(
        "INSERT INTO money_positions (owner, currency, counterparty, amount) "
        "SELECT owner, currency, counterparty, SUM(amount) FROM ledger_entries "
        "WHERE account_kind IN ('MONEY_RECEIVABLE', 'MONEY_PAYABLE') "
        "GROUP BY owner, currency, counterparty"
    )


def downgrade() -> None:
    op.drop_table('money_positions')
