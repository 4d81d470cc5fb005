"""transitions may carry the client's race and ethnicity (OMB SPD 15 minimum categories),
where a county opts in (analytics.record_race_ethnicity)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: not recorded (every existing transition, and every one where the county has
    # not opted in). A JSON list of category codes, never free text.
    with op.batch_alter_table('transitions') as batch:
        batch.add_column(sa.Column('race_ethnicity', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('transitions') as batch:
        batch.drop_column('race_ethnicity')
