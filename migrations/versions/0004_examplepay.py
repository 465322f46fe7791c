"""A second gateway (ExamplePay) chosen per order, its payer, and refunds.

Every existing order and delivery is SparkPay's (the server default).

Revision ID: 0004_examplepay
Revises: 0003_notes
Create Date: 2026-11-27 10:38:22.687468

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_examplepay'
down_revision = '0003_notes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('merchant_refund_no', sa.String(length=50), nullable=False),
    sa.Column('refund_no', sa.String(length=64), nullable=True),
    sa.Column('amount', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=254), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('merchant_refund_no')
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gateway', sa.String(length=16), server_default='sparkpay', nullable=False))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gateway', sa.String(length=16), server_default='sparkpay', nullable=False))
        batch_op.add_column(sa.Column('payer', sa.Text(), nullable=True))



def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('payer')
        batch_op.drop_column('gateway')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('gateway')

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_order_id'))

    op.drop_table('refunds')
