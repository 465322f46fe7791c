"""Bounded intake and a health probe.

A refused delivery now keeps an excerpt of its body with the whole body's size and SHA-256
(``body_size``, ``body_sha256``, ``body_kept``); older rows keep what they stored, with those
columns empty. ``refusal_windows`` counts refused deliveries per source and rate-limit window;
``health_probes`` holds the row ``/healthz`` rewrites. The new index lets pruning find old
refused deliveries without reading the verified ones.

Revision ID: 0005_bounded_intake
Revises: 0004_examplepay
Create Date: 2026-12-03 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_bounded_intake'
down_revision = '0004_examplepay'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('refusal_windows',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('not_stored', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'window_start')
    )
    op.create_table('health_probes',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('body_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('body_kept', sa.Integer(), nullable=True))
        batch_op.create_index('ix_notifications_verified_received', ['verified', 'received_at'], unique=False)


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_verified_received')
        batch_op.drop_column('body_kept')
        batch_op.drop_column('body_sha256')
        batch_op.drop_column('body_size')

    op.drop_table('health_probes')
    op.drop_table('refusal_windows')
