"""instructions: origin_kind, and a CHECK that each names its origin's id alone

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 09:00:00.000000

Every instruction so far was part of a conversion, a reversal of one, a hold or an award, told
apart by which optional id was set. The kind is now written down, backfilled from those ids
(an award's credit and take-back, a hold's release, a reversal's refund, which also names its
conversion, and otherwise the conversion's own instructions), and the database keeps the ids
consistent with it. The CHECK's text is copied here, not imported: a migration stays what it was.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

ORIGIN_IDS = (
    "(origin_kind = 'CONVERSION' AND conversion_id <> '' AND reversal_id = '' AND hold_id = '' AND award_id = '')"
    " OR (origin_kind = 'REVERSAL' AND conversion_id <> '' AND reversal_id <> '' AND hold_id = '' AND award_id = '')"
    " OR (origin_kind = 'HOLD' AND conversion_id = '' AND reversal_id = '' AND hold_id <> '' AND award_id = '')"
    " OR (origin_kind = 'AWARD' AND conversion_id = '' AND reversal_id = '' AND hold_id = '' AND award_id <> '')"
)

BACKFILL = """
UPDATE instructions SET origin_kind = CASE
    WHEN award_id <> '' THEN 'AWARD'
    WHEN hold_id <> '' THEN 'HOLD'
    WHEN reversal_id <> '' THEN 'REVERSAL'
    WHEN conversion_id <> '' THEN 'CONVERSION'
END
"""


def upgrade() -> None:
    with op.batch_alter_table('instructions') as batch:
        batch.add_column(sa.Column('origin_kind', sa.String(length=16), nullable=True))
    op.execute(BACKFILL)
    bind = op.get_bind()
    orphans = bind.execute(sa.text("SELECT instruction_id FROM instructions WHERE origin_kind IS NULL LIMIT 5")).all()
    if orphans:
        raise RuntimeError(f"instructions with no conversion, reversal, hold or award id: {[r[0] for r in orphans]}")
    # SQLite rebuilds the table here (it cannot add a constraint in place); the rebuild keeps the
    # table's other CHECK (points > 0), which batch mode reflects by name.
    with op.batch_alter_table('instructions') as batch:
        batch.alter_column('origin_kind', existing_type=sa.String(length=16), nullable=False)
        batch.create_check_constraint(op.f('ck_instructions_origin_names_its_ids'), sa.text(ORIGIN_IDS))


def downgrade() -> None:
    with op.batch_alter_table('instructions') as batch:
        batch.drop_constraint(op.f('ck_instructions_origin_names_its_ids'), type_='check')
        batch.drop_column('origin_kind')
