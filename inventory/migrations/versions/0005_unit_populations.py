"""units narrow their program's population; programs gain navigators' attributes and hours

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

UNIT_COLUMNS = (
    ('genders', sa.JSON()), ('age_min', sa.Integer()), ('age_max', sa.Integer()),
    ('wheelchair', sa.Boolean()), ('involuntary', sa.Boolean()), ('secure', sa.Boolean()),
)
PROGRAM_FLAGS = ('harm_reduction', 'telehealth', 'reentry', 'homeless_priority')


def upgrade() -> None:
    # NULL: the unit inherits its program's value (every existing unit does).
    with op.batch_alter_table('units') as batch:
        for name, type_ in UNIT_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    # A literal '0' (false on both backends), not sa.false(): SQLite can add a column with a
    # literal default in place, whereas an expression makes Alembic rebuild the table, which
    # foreign keys from units, holds and referrals refuse.
    with op.batch_alter_table('programs') as batch:
        for name in PROGRAM_FLAGS:
            batch.add_column(sa.Column(name, sa.Boolean(), nullable=False,
                                       server_default='0'))
        batch.add_column(sa.Column('hours', sa.JSON(), nullable=True))  # NULL: always open


def downgrade() -> None:
    with op.batch_alter_table('programs') as batch:
        batch.drop_column('hours')
        for name in PROGRAM_FLAGS:
            batch.drop_column(name)
    with op.batch_alter_table('units') as batch:
        for name, _ in reversed(UNIT_COLUMNS):
            batch.drop_column(name)
