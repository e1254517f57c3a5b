"""sessions end at logout and deactivation (users.session_version); tokens expire

Revision ID: 0005_i13_identity
Revises: 0004_i16_audit_checkpoints
Create Date: 2026-11-29 21:50:00
"""
import sqlalchemy as sa
from alembic import op

import command.models

revision = '0005_i13_identity'
down_revision = '0004_i16_audit_checkpoints'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer(), nullable=False,
                                   server_default="1"))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", command.models.UTCDateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
