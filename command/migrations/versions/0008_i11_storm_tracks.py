"""storm tracks: one name and one review state per storm (track), carried across scans;
cells link to their storm

Existing cells with a track get their storm: first and last scan, the number from the track
id, and the track's latest review (a cell reviewed in an earlier scan).

Revision ID: 0008_i11_storm_tracks
Revises: 0007_i10_drill_runs
"""
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

import command.models

revision = "0008_i11_storm_tracks"
down_revision = "0007_i10_drill_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storm_tracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.String(length=32), nullable=False),
        sa.Column("drill_id", sa.String(length=32), nullable=True),
        sa.Column("drill_key", sa.String(length=32), nullable=False),
        sa.Column("first_seen", command.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", command.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_cell_id", sa.String(length=64), nullable=False),
        sa.Column("parent_track_id", sa.String(length=32), nullable=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("review", sa.String(length=16), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", command.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("reviewed_hail", sa.Boolean(), nullable=True),
        sa.Column("reviewed_mesh_mm", sa.Float(), nullable=True),
        sa.Column("reopened", sa.String(length=16), nullable=True),
        sa.Column("updated_at", command.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("drill_key", "track_id", "first_seen", name="uq_storm_track"),
    )
    with op.batch_alter_table("storm_tracks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_storm_tracks_drill_id"), ["drill_id"], unique=False)
    with op.batch_alter_table("cells", schema=None) as batch_op:
        batch_op.add_column(sa.Column("storm_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_cells_storm_id"), ["storm_id"], unique=False)
        batch_op.create_foreign_key("fk_cells_storm_id_storm_tracks", "storm_tracks",
                                    ["storm_id"], ["id"], ondelete="SET NULL")
    _backfill()


def _backfill() -> None:
    """A storm for each (world, track) of the cells already stored."""
    bind = op.get_bind()
    utc = command.models.UTCDateTime(timezone=True)
    cells = sa.table("cells", sa.column("id", sa.Integer), sa.column("track_id", sa.String),
                     sa.column("drill_id", sa.String), sa.column("scan_time", utc),
                     sa.column("cell_id", sa.String), sa.column("review", sa.String),
                     sa.column("reviewed_by", sa.String), sa.column("review_reason", sa.Text),
                     sa.column("hail", sa.Boolean), sa.column("storm_id", sa.Integer))
    storms = sa.table("storm_tracks", sa.column("id", sa.Integer),
                      *(sa.column(c, sa.String) for c in (
                          "track_id", "drill_id", "drill_key", "last_cell_id", "review",
                          "reviewed_by", "review_note")),
                      *(sa.column(c, utc) for c in ("first_seen", "last_seen", "updated_at")),
                      sa.column("number", sa.Integer), sa.column("reviewed_hail", sa.Boolean))
    rows = bind.execute(sa.select(cells.c.id, cells.c.track_id, cells.c.drill_id,
                                  cells.c.scan_time, cells.c.cell_id, cells.c.review,
                                  cells.c.reviewed_by, cells.c.review_reason, cells.c.hail)
                        .where(cells.c.track_id.is_not(None))
                        .order_by(cells.c.scan_time, cells.c.id)).all()
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        groups.setdefault((row.drill_id or "", row.track_id), []).append(row)
    used: dict[str, set[int]] = {}
    for (drill_key, track_id), members in groups.items():
        taken = used.setdefault(drill_key, set())
        m = re.fullmatch(r"T0*(\d+)", track_id)
        number = int(m[1]) if m and int(m[1]) not in taken else max(taken, default=0) + 1
        taken.add(number)
        reviewed = [r for r in members if r.review != "new"]
        last_review = reviewed[-1] if reviewed else None
        result = bind.execute(storms.insert().values(
            track_id=track_id, drill_id=drill_key or None, drill_key=drill_key,
            first_seen=members[0].scan_time, last_seen=members[-1].scan_time,
            last_cell_id=members[-1].cell_id, number=number,
            review=last_review.review if last_review else "new",
            reviewed_by=last_review.reviewed_by if last_review else None,
            review_note=last_review.review_reason if last_review else None,
            reviewed_hail=bool(last_review.hail) if last_review else None,
            updated_at=members[-1].scan_time).returning(storms.c.id))
        storm_id = result.scalar_one()
        ids = [r.id for r in members]
        for start in range(0, len(ids), 500):
            bind.execute(cells.update().where(cells.c.id.in_(ids[start:start + 500]))
                         .values(storm_id=storm_id))


def downgrade() -> None:
    with op.batch_alter_table("cells", schema=None) as batch_op:
        batch_op.drop_constraint("fk_cells_storm_id_storm_tracks", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_cells_storm_id"))
        batch_op.drop_column("storm_id")
    with op.batch_alter_table("storm_tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storm_tracks_drill_id"))
    op.drop_table("storm_tracks")
