"""alerts, their deliveries (outbox), Web Push subscriptions, VAPID keys, alert cursor

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'alerts',
        sa.Column('id', BIG_ID, primary_key=True, autoincrement=True),
        sa.Column('event_id', sa.BigInteger(), nullable=False),
        sa.Column('transition_id', sa.String(64), nullable=False),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('recipient', sa.String(64), nullable=False),
        sa.Column('escalation', sa.String(16), nullable=True),
        sa.Column('created_at', AT, nullable=False),
        sa.Column('acknowledged_at', AT, nullable=True),
        sa.Column('acknowledged_by', sa.String(100), nullable=True),
        sa.Column('escalated_at', AT, nullable=True),
        sa.UniqueConstraint('event_id', 'recipient', name='uq_alerts_event_recipient'),
    )
    op.create_index('ix_alerts_recipient_created', 'alerts', ['recipient', 'created_at'])
    op.create_index('ix_alerts_transition_id', 'alerts', ['transition_id'])
    op.create_table(
        'alert_deliveries',
        sa.Column('id', BIG_ID, primary_key=True, autoincrement=True),
        sa.Column('alert_id', sa.BigInteger(), nullable=False),
        sa.Column('channel', sa.String(8), nullable=False),
        sa.Column('target', sa.String(64), nullable=False),
        sa.Column('status', sa.String(8), nullable=False),
        sa.Column('created_at', AT, nullable=False),
        sa.Column('claimed_at', AT, nullable=True),
        sa.Column('sent_at', AT, nullable=True),
        sa.Column('error', sa.String(300), nullable=True),
        sa.UniqueConstraint('alert_id', 'channel', 'target', name='uq_alert_deliveries_target'),
    )
    op.create_index('ix_alert_deliveries_status', 'alert_deliveries', ['status', 'id'])
    op.create_index('ix_alert_deliveries_alert_id', 'alert_deliveries', ['alert_id'])
    op.create_table(
        'push_subscriptions',
        sa.Column('id', sa.String(64), primary_key=True),
        sa.Column('actor_id', sa.String(64), nullable=False),
        sa.Column('role', sa.String(16), nullable=False),
        sa.Column('endpoint', sa.String(1000), nullable=False, unique=True),
        sa.Column('p256dh', sa.String(200), nullable=False),
        sa.Column('auth', sa.String(100), nullable=False),
        sa.Column('created_at', AT, nullable=False),
    )
    op.create_index('ix_push_subscriptions_actor_id', 'push_subscriptions', ['actor_id'])
    op.create_table(
        'vapid_keys',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('private_pem', sa.Text(), nullable=False),
        sa.Column('public_key', sa.String(200), nullable=False),
        sa.Column('created_at', AT, nullable=False),
    )
    cursor = op.create_table(
        'alert_cursor',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('last_event_id', sa.BigInteger(), nullable=False),
    )
    # The one cursor row (inventory/alert_store.py locks it for each pass).
    op.bulk_insert(cursor, [{'id': 1, 'last_event_id': 0}])


def downgrade() -> None:
    for name in ('alert_cursor', 'vapid_keys', 'push_subscriptions', 'alert_deliveries',
                 'alerts'):
        op.drop_table(name)
