"""History entries linked to the delivery that caused them; words for people stored as notes.

A history entry's detail, an order's warning and last error, and a delivery's refusal reason
are now stored as a catalogue message with its values (JSON text, shown in the reader's
language); their columns become unbounded text. Older plain-English rows stay readable as they
are. Each history entry made by a delivery, on arrival or replayed, now names it in
``notification_id``; older entries are linked from what they used to say.

Revision ID: 0003_notes
Revises: 0002_leases
Create Date: 2026-11-27 10:40:00

"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_notes'
down_revision = '0002_leases'
branch_labels = None
depends_on = None

FOREIGN_KEY = 'fk_order_events_notification_id_notifications'


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('error', existing_type=sa.VARCHAR(length=512), type_=sa.Text(), existing_nullable=True)

    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notification_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_order_events_notification_id'), ['notification_id'], unique=False)
        batch_op.create_foreign_key(FOREIGN_KEY, 'notifications', ['notification_id'], ['id'])

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('last_error', existing_type=sa.VARCHAR(length=512), type_=sa.Text(), existing_nullable=True)
        batch_op.alter_column('needs_attention', existing_type=sa.VARCHAR(length=512), type_=sa.Text(), existing_nullable=True)

    _link_entries_to_deliveries()


def _link_entries_to_deliveries():
    """Before this revision a delivery's entry said "notification #N" as its actor (on arrival)
    or began its detail with "Replay of notification #N" (a replay)."""
    connection = op.get_bind()
    events = sa.table('order_events', sa.column('id'), sa.column('source'), sa.column('actor'),
                      sa.column('detail'), sa.column('notification_id'))
    known = {row.id for row in connection.execute(sa.text('SELECT id FROM notifications'))}
    rows = connection.execute(sa.select(events.c.id, events.c.source, events.c.actor, events.c.detail)
                              .where(events.c.source.in_(('webhook', 'replay')))).all()
    for row in rows:
        text = row.actor if row.source == 'webhook' else row.detail
        pattern = r'notification #(\d+)$' if row.source == 'webhook' else r'Replay of notification #(\d+)[.:]'
        found = re.match(pattern, text or '')
        if found and int(found.group(1)) in known:
            connection.execute(sa.update(events).where(events.c.id == row.id).values(notification_id=int(found.group(1))))


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('needs_attention', existing_type=sa.Text(), type_=sa.VARCHAR(length=512), existing_nullable=True)
        batch_op.alter_column('last_error', existing_type=sa.Text(), type_=sa.VARCHAR(length=512), existing_nullable=True)

    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_constraint(FOREIGN_KEY, type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_order_events_notification_id'))
        batch_op.drop_column('notification_id')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('error', existing_type=sa.Text(), type_=sa.VARCHAR(length=512), existing_nullable=True)
