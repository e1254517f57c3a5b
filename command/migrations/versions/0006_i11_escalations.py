"""escalations: raised steps of the escalation ladders and who acknowledged them

Revision ID: 0006_i11_escalations
Revises: 0005_i13_identity
Create Date: 2026-11-29 22:10:00
"""
from alembic import op
import sqlalchemy as sa
import command.models

revision = '0006_i11_escalations'
down_revision = '0005_i13_identity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('operation_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('raised_at', command.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('info', sa.JSON(), nullable=False),
    sa.Column('acked_by', sa.String(length=64), nullable=True),
    sa.Column('acked_at', command.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('drill_id', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('operation_id', 'kind', 'step', name='uq_escalation_step')
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalations_operation_id'), ['operation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalations_drill_id'), ['drill_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalations_drill_id'))
        batch_op.drop_index(batch_op.f('ix_escalations_operation_id'))
    op.drop_table('escalations')
