"""people (users), token owners, and the access log of who viewed what

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'users',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('issuer', sa.String(300), nullable=False),
        sa.Column('subject', sa.String(255), nullable=False),
        sa.Column('display_name', sa.String(200), nullable=False),
        sa.Column('email', sa.String(320), nullable=True),
        sa.Column('organization_id', sa.String(64), nullable=True),
        sa.Column('role', sa.String(16), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('issuer', 'subject', name='uq_users_issuer_subject'),
    )
    op.create_table(
        'access_log',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True,
                  autoincrement=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(300), nullable=False),
        sa.Column('actor_id', sa.String(64), nullable=False),
        sa.Column('role', sa.String(16), nullable=False),
        sa.Column('record_kind', sa.String(16), nullable=False),
        sa.Column('record_id', sa.String(64), nullable=False),
        sa.Column('client_ref', sa.String(64), nullable=True),
        sa.Column('via', sa.String(8), nullable=False),
        sa.Column('path', sa.String(300), nullable=False),
    )
    op.create_index('ix_access_log_at', 'access_log', ['at'])
    op.create_index('ix_access_log_client_ref', 'access_log', ['client_ref'])
    with op.batch_alter_table('tokens') as batch:
        batch.add_column(sa.Column('owner', sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tokens') as batch:
        batch.drop_column('owner')
    op.drop_index('ix_access_log_client_ref', 'access_log')
    op.drop_index('ix_access_log_at', 'access_log')
    op.drop_table('access_log')
    op.drop_table('users')
