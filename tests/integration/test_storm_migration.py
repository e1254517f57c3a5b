"""Migration 0008 (issue 11): storms for the cells stored before it, on SQLite and
PostgreSQL — each (world, track) becomes one storm with its scans, the number of its track
id and the track's latest review; every such cell links to it; downgrade drops it again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command as alembic_command

from command.cli import alembic_config
from command.models import UTCDateTime

T0 = datetime(2026, 7, 12, 7, 0, tzinfo=UTC)


def _cells_table(meta: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    vols = sa.Table(
        "radar_volumes",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String),
        sa.Column("filename", sa.String),
        sa.Column("status", sa.String),
        sa.Column("scan_time", UTCDateTime),
        sa.Column("drill_id", sa.String),
        sa.Column("received_at", UTCDateTime),
    )
    cells = sa.Table(
        "cells",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("volume_id", sa.Integer),
        sa.Column("cell_id", sa.String),
        sa.Column("track_id", sa.String),
        sa.Column("scan_time", UTCDateTime),
        sa.Column("feature", sa.JSON),
        sa.Column("hail", sa.Boolean),
        sa.Column("review", sa.String),
        sa.Column("reviewed_by", sa.String),
        sa.Column("review_reason", sa.Text),
        sa.Column("drill_id", sa.String),
    )
    return vols, cells


def test_existing_cells_get_their_storms(app_config, app):
    from command.extensions import get_db

    with app.app_context():
        get_db().drop_all()
    url = app_config["database_url"]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    cfg = alembic_config(url)
    alembic_command.upgrade(cfg, "0007_i10_drill_runs")
    vols, cells = _cells_table(sa.MetaData())
    rows = [  # (volume, minutes, track, review, by, reason, drill)
        (1, 0, "T0003", "confirmed", "zhang", "", None),
        (1, 0, "T0009", "new", None, None, None),
        (2, 6, "T0003", "new", None, None, None),
        (2, 6, "T0009", "dismissed", "li", "弱回波", None),
        (3, 0, "T0003", "new", None, None, "D1"),  # a drill's own T0003
        (2, 6, None, "new", None, None, None),  # an untracked cell
    ]
    with engine.begin() as conn:
        for vid, minutes, drill in ((1, 0, None), (2, 6, None), (3, 0, "D1")):
            conn.execute(
                vols.insert().values(
                    id=vid,
                    sha256=str(vid),
                    filename=f"v{vid}",
                    status="processed",
                    drill_id=drill,
                    scan_time=T0 + timedelta(minutes=minutes),
                    received_at=T0,
                )
            )
        for n, (vid, minutes, track, review, by, reason, drill) in enumerate(rows, 1):
            conn.execute(
                cells.insert().values(
                    id=n,
                    volume_id=vid,
                    cell_id=f"C{n}",
                    track_id=track,
                    scan_time=T0 + timedelta(minutes=minutes),
                    feature={},
                    hail=True,
                    review=review,
                    reviewed_by=by,
                    review_reason=reason,
                    drill_id=drill,
                )
            )
    alembic_command.upgrade(cfg, "head")
    with engine.connect() as conn:
        storms = {
            (r.drill_key, r.track_id): r
            for r in conn.execute(
                sa.text(
                    "SELECT id, drill_key, track_id, number, review, reviewed_by, review_note, "
                    "last_cell_id FROM storm_tracks"
                )
            )
        }
        links = dict(conn.execute(sa.text("SELECT cell_id, storm_id FROM cells")).all())
    assert set(storms) == {("", "T0003"), ("", "T0009"), ("D1", "T0003")}
    live3, live9, drill3 = storms["", "T0003"], storms["", "T0009"], storms["D1", "T0003"]
    assert (live3.number, live3.review, live3.reviewed_by, live3.last_cell_id) == (
        3,
        "confirmed",
        "zhang",
        "C3",
    )
    assert (live9.number, live9.review, live9.review_note) == (9, "dismissed", "弱回波")
    assert (drill3.number, drill3.review) == (3, "new")  # numbers are per world
    assert links == {
        "C1": live3.id,
        "C2": live9.id,
        "C3": live3.id,
        "C4": live9.id,
        "C5": drill3.id,
        "C6": None,
    }
    alembic_command.downgrade(cfg, "0007_i10_drill_runs")
    with engine.connect() as conn:
        assert "storm_tracks" not in sa.inspect(conn).get_table_names()
        assert "storm_id" not in {c["name"] for c in sa.inspect(conn).get_columns("cells")}
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
