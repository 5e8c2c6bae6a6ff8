"""status match: tier ladders, members' tiers (sealed), match agreements, matches; match instructions

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 18:00:00.000000

Instructions gain a sixth origin, a status match, whose TIER_MATCHED and TIER_MATCH_ENDED name the
match and move no points. The CHECKs' texts are copied here, not imported: a migration stays what
it was.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

ORIGIN_IDS_BEFORE = (
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
ORIGIN_IDS = ORIGIN_IDS_BEFORE[:-1] + (
    ")"
    " OR (origin_kind = 'MATCH' AND conversion_id = '' AND reversal_id = '' AND hold_id = '' AND award_id = ''"
    " AND membership_id = '')"
)
NO_MATCH_ID = "(origin_kind = 'MATCH') = (match_id <> '')"
POINTS_BEFORE = "(origin_kind = 'MEMBERSHIP' AND points = 0) OR (origin_kind <> 'MEMBERSHIP' AND points > 0)"
POINTS = (
    "(origin_kind IN ('MEMBERSHIP', 'MATCH') AND points = 0)"
    " OR (origin_kind NOT IN ('MEMBERSHIP', 'MATCH') AND points > 0)"
)


def upgrade() -> None:
    op.create_table('tier_ladders',
    sa.Column('partner_id', sa.String(length=32), nullable=False),
    sa.Column('tiers', sa.Text(), nullable=False),
    sa.Column('updated_at_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('partner_id', name=op.f('pk_tier_ladders'))
    )
    op.create_table('member_tiers',
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('partner_id', sa.String(length=32), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('published_at_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('member_id', 'partner_id', name=op.f('pk_member_tiers'))
    )
    op.create_table('match_agreements',
    sa.Column('agreement_id', sa.String(length=40), nullable=False),
    sa.Column('recogniser_partner_id', sa.String(length=32), nullable=False),
    sa.Column('attester_partner_id', sa.String(length=32), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=False),
    sa.Column('proposer_key_id', sa.String(length=64), nullable=False),
    sa.Column('proposer_signature', sa.LargeBinary(), nullable=False),
    sa.Column('acceptor_key_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('acceptor_signature', sa.LargeBinary(), server_default='', nullable=False),
    sa.Column('proposed_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('accepted_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('status_changed_at_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('agreement_id', name=op.f('pk_match_agreements')),
    sa.UniqueConstraint('recogniser_partner_id', 'attester_partner_id', 'version', name=op.f('uq_match_agreements_recogniser_partner_id'))
    )
    op.create_table('status_matches',
    sa.Column('match_id', sa.String(length=40), nullable=False),
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('recogniser_partner_id', sa.String(length=32), nullable=False),
    sa.Column('attester_partner_id', sa.String(length=32), nullable=False),
    sa.Column('agreement_version', sa.BigInteger(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('challenge', sa.Text(), server_default='', nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('started_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('ends_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('match_ends_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('tier_holds_until_ms', sa.BigInteger(), nullable=False),
    sa.Column('challenge_pending', sa.Integer(), nullable=False),
    sa.Column('ended_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('end_reason', sa.String(length=32), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('match_id', name=op.f('pk_status_matches'))
    )
    op.create_index('ix_status_matches_pair_member', 'status_matches', ['recogniser_partner_id', 'attester_partner_id', 'member_id'], unique=False)
    op.create_index('ix_status_matches_member_state', 'status_matches', ['member_id', 'state'], unique=False)
    op.create_index('ix_status_matches_state_ends', 'status_matches', ['state', 'ends_at_ms'], unique=False)
    with op.batch_alter_table('instructions') as batch:
        batch.add_column(sa.Column('match_id', sa.String(length=40), server_default='', nullable=False))
        batch.drop_constraint(op.f('ck_instructions_origin_names_its_ids'), type_='check')
        batch.drop_constraint(op.f('ck_instructions_points_unless_benefit'), type_='check')
        batch.create_check_constraint(op.f('ck_instructions_origin_names_its_ids'), sa.text(ORIGIN_IDS))
        batch.create_check_constraint(op.f('ck_instructions_points_unless_benefit'), sa.text(POINTS))
        batch.create_check_constraint(op.f('ck_instructions_match_names_its_id'), sa.text(NO_MATCH_ID))


def downgrade() -> None:
    with op.batch_alter_table('instructions') as batch:
        batch.drop_constraint(op.f('ck_instructions_match_names_its_id'), type_='check')
        batch.drop_constraint(op.f('ck_instructions_points_unless_benefit'), type_='check')
        batch.drop_constraint(op.f('ck_instructions_origin_names_its_ids'), type_='check')
        batch.create_check_constraint(op.f('ck_instructions_points_unless_benefit'), sa.text(POINTS_BEFORE))
        batch.create_check_constraint(op.f('ck_instructions_origin_names_its_ids'), sa.text(ORIGIN_IDS_BEFORE))
        batch.drop_column('match_id')
    op.drop_index('ix_status_matches_state_ends', table_name='status_matches')
    op.drop_index('ix_status_matches_member_state', table_name='status_matches')
    op.drop_index('ix_status_matches_pair_member', table_name='status_matches')
    op.drop_table('status_matches')
    op.drop_table('match_agreements')
    op.drop_table('member_tiers')
    op.drop_table('tier_ladders')
