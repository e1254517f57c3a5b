"""drills owned by the scheduler (runner, heartbeat, progress, end reason), event ground
truth, standing agreements made inside a drill

Revision ID: 0007_i10_drill_runs
Revises: 0006_i11_escalations
"""
import sqlalchemy as sa
from alembic import op

import command.models

revision = "0007_i10_drill_runs"
down_revision = "0006_i11_escalations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drills", schema=None) as batch_op:
        batch_op.add_column(sa.Column("runner", sa.String(length=96), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", command.models.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("end_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("drill_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reports", sa.JSON(), nullable=True))
    with op.batch_alter_table("standing_agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drill_id", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_standing_agreements_drill_id"), ["drill_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("standing_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standing_agreements_drill_id"))
        batch_op.drop_column("drill_id")
    with op.batch_alter_table("drill_events", schema=None) as batch_op:
        batch_op.drop_column("reports")
    with op.batch_alter_table("drills", schema=None) as batch_op:
        batch_op.drop_column("end_reason")
        batch_op.drop_column("progress")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("runner")
