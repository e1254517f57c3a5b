"""indexes for every query a screen or job makes (season scale)

Revision ID: 0003_i16_indexes
Revises: 0002_i15_office
Create Date: 2026-11-29 21:40:00
"""
from alembic import op

revision = '0003_i16_indexes'
down_revision = '0002_i15_office'
branch_labels = None
depends_on = None

# (table, index name, columns): foreign keys, per-world time orders, the warnings filter.
INDEXES = [
    ("cells", "ix_cells_volume_id", ["volume_id"]),
    ("radar_volumes", "ix_radar_volumes_drill_scan_time", ["drill_id", "scan_time"]),
    ("radar_volumes", "ix_radar_volumes_status_id", ["status", "id"]),
    ("audit_log", "ix_audit_log_action_at", ["action", "at"]),
    ("operations", "ix_operations_drill_created", ["drill_id", "created_at"]),
    ("operations", "ix_operations_drill_state", ["drill_id", "state"]),
    ("live_events", "ix_live_events_at", ["at"]),
]


# Single-column indexes made redundant by a composite index that starts with the same column.
REDUNDANT = [
    ("radar_volumes", "ix_radar_volumes_drill_id", ["drill_id"]),
    ("operations", "ix_operations_drill_id", ["drill_id"]),
]


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    for table, name, _columns in REDUNDANT:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for table, name, columns in REDUNDANT:
        op.create_index(name, table, columns, unique=False)
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
