"""analytics history: hourly roll-ups, unit snapshots, demand log

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'availability_hours',
        sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
        sa.Column('level', sa.String(length=64), nullable=False),
        sa.Column('area', sa.String(length=100), nullable=False),
        sa.Column('available_seconds', sa.Float(), nullable=False),
        sa.Column('held_seconds', sa.Float(), nullable=False),
        sa.Column('capacity_seconds', sa.Float(), nullable=False),
        sa.Column('zero_seconds', sa.Float(), nullable=False),
        sa.Column('observed_seconds', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('hour', 'level', 'area'),
    )
    op.create_table(
        'unit_snapshots',
        sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('unit_id', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('available', sa.Integer(), nullable=False),
        sa.Column('held', sa.Integer(), nullable=False),
        sa.Column('capacity', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('taken_at', 'unit_id'),
    )
    op.create_table(
        'demand_log',
        sa.Column('id', ID, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('request_id', sa.String(length=32), nullable=False),
        sa.Column('level', sa.String(length=64), nullable=False),
        sa.Column('area', sa.String(length=100), nullable=False),
        sa.Column('matched', sa.Integer(), nullable=False),
        sa.Column('found', sa.Boolean(), nullable=False),
        sa.Column('filters', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_demand_log_at_level', 'demand_log', ['at', 'level'])
    # Measures read holds, transitions and referrals by the time they started.
    op.create_index('ix_holds_created_at', 'holds', ['created_at'])
    op.create_index('ix_transitions_created_at', 'transitions', ['created_at'])
    op.create_index('ix_referrals_created_at', 'referrals', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_referrals_created_at', 'referrals')
    op.drop_index('ix_transitions_created_at', 'transitions')
    op.drop_index('ix_holds_created_at', 'holds')
    op.drop_index('ix_demand_log_at_level', 'demand_log')
    op.drop_table('demand_log')
    op.drop_table('unit_snapshots')
    op.drop_table('availability_hours')
