"""connector: transition timeline, care team, unclaimed and follow-on transitions

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('transitions') as batch:
        batch.alter_column('navigator', existing_type=sa.String(64), nullable=True)
        batch.add_column(sa.Column('previous_id', sa.String(64), nullable=True))
        batch.add_column(sa.Column('created_by', sa.String(64), nullable=True))
        batch.create_index('ix_transitions_previous_id', ['previous_id'])
    op.create_table(
        'transition_events',
        sa.Column('id', BIGINT, primary_key=True, autoincrement=True),
        sa.Column('transition_id', sa.String(64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('actor', sa.String(100), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
    )
    op.create_index('ix_transition_events_transition_id', 'transition_events',
                    ['transition_id'])
    op.create_table(
        'care_team',
        sa.Column('id', BIGINT, primary_key=True, autoincrement=True),
        sa.Column('transition_id', sa.String(64), nullable=False),
        sa.Column('member_id', sa.String(64), nullable=True),
        sa.Column('organization_id', sa.String(64), nullable=True),
        sa.Column('label', sa.String(100), nullable=False),
        sa.Column('release_on_file', sa.Boolean(), nullable=False),
        sa.Column('release_confirmed_by', sa.String(100), nullable=True),
        sa.Column('release_confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('invited_by', sa.String(100), nullable=False),
        sa.Column('invited_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_care_team_transition_id', 'care_team', ['transition_id'])
    op.create_index('ix_care_team_organization_id', 'care_team', ['organization_id'])
    op.create_index('ix_care_team_member', 'care_team', ['member_id', 'removed_at'])


def downgrade() -> None:
    op.drop_index('ix_care_team_member', 'care_team')
    op.drop_index('ix_care_team_organization_id', 'care_team')
    op.drop_index('ix_care_team_transition_id', 'care_team')
    op.drop_table('care_team')
    op.drop_index('ix_transition_events_transition_id', 'transition_events')
    op.drop_table('transition_events')
    with op.batch_alter_table('transitions') as batch:
        batch.drop_index('ix_transitions_previous_id')
        batch.drop_column('created_by')
        batch.drop_column('previous_id')
        batch.alter_column('navigator', existing_type=sa.String(64), nullable=False)
