"""audit checkpoints: verified prefixes of the hash chain

Revision ID: 0004_i16_audit_checkpoints
Revises: 0003_i16_indexes
Create Date: 2026-11-29 22:20:00
"""
from alembic import op
import sqlalchemy as sa
import command.models

revision = '0004_i16_audit_checkpoints'
down_revision = '0003_i16_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('at', command.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('audit_checkpoints')
