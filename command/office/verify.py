"""Ground reports verify warnings and operations, per event and per season, with the same
verification the drill report uses (``dispatch.verification``).

Predictions built from the record:

* a **warning** (audit ``warning.issue``) names counties: one prediction per (warning,
  county), the county's outline, valid from ``sent`` to ``expires``; a report verifies it
  when it lies inside that county (``WARNING_RULES``: 0 km) in that time;
* an **operation** aims at a cell: a circle of ``OPERATION_RADIUS_KM`` round the cell's
  centroid at detection, valid from the operation's window start to 30 min after its end
  (hail falls downstream of the seeding); ``OPERATION_RULES`` adds no further distance.
  Operations that never fired (denied, cancelled, expired before firing) are left out: they
  made no claim on the ground.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shapely.geometry import MultiPolygon
from sqlalchemy import select
from sqlalchemy.orm import Session

from command.codec import decode
from command.models import AuditRecord, CellRecord, GroundReportRecord, OperationRecord
from dispatch import lifecycle as lc
from dispatch.hailsize import to_hail_report
from dispatch.verification import MatchRules, Prediction, Scores, verify

WARNING_RULES = MatchRules(distance_km=0.0)
OPERATION_RULES = MatchRules(distance_km=0.0)
OPERATION_RADIUS_KM = 15.0
OPERATION_AFTER = timedelta(minutes=30)


def _scope(column: Any, drill_id: str | None) -> Any:
    return column.is_(None) if drill_id is None else column == drill_id


def _ring(geom: Any) -> tuple[tuple[float, float], ...]:
    if isinstance(geom, MultiPolygon):
        geom = max(geom.geoms, key=lambda g: g.area)
    return tuple((float(x), float(y)) for x, y in geom.exterior.coords)


def warning_predictions(
    session: Session, start: datetime | None, end: datetime | None, drill_id: str | None
) -> list[Prediction]:
    from command.deployment import deployment

    polys = deployment().county_polygons()
    q = select(AuditRecord).where(
        AuditRecord.action == "warning.issue", _scope(AuditRecord.drill_id, drill_id)
    )
    if start is not None:
        q = q.where(AuditRecord.at >= start)
    if end is not None:
        q = q.where(AuditRecord.at <= end)
    out = []
    for rec in session.scalars(q.order_by(AuditRecord.id)):
        w = rec.after or {}
        sent = datetime.fromisoformat(w["sent"])
        expires = datetime.fromisoformat(w["expires"])
        for county in w.get("counties", []):
            if county in polys:
                out.append(
                    Prediction(
                        id=f"{w.get('identifier', rec.id)}:{county}",
                        valid_from=sent,
                        valid_until=expires,
                        polygon=_ring(polys[county]),
                        issued_at=sent,
                        kind="warning",
                    )
                )
    return out


def _fired(op: lc.Operation) -> bool:
    return op.report is not None or any(h.state == lc.S.FIRING for h in op.history)


def operation_predictions(
    session: Session, start: datetime | None, end: datetime | None, drill_id: str | None
) -> list[Prediction]:
    q = select(OperationRecord).where(_scope(OperationRecord.drill_id, drill_id))
    if start is not None:
        q = q.where(OperationRecord.created_at >= start)
    if end is not None:
        q = q.where(OperationRecord.created_at <= end)
    out = []
    for rec in session.scalars(q.order_by(OperationRecord.created_at)):
        op = decode(lc.Operation, rec.data)
        if not _fired(op):
            continue
        cell = session.scalars(
            select(CellRecord)
            .where(CellRecord.cell_id == op.cell_id, _scope(CellRecord.drill_id, drill_id))
            .limit(1)
        ).first()
        if cell is None:
            continue
        lon, lat = cell.feature["properties"]["centroid"]
        out.append(
            Prediction(
                id=op.id,
                valid_from=op.window.start,
                valid_until=op.window.end + OPERATION_AFTER,
                lat=float(lat),
                lon=float(lon),
                radius_km=OPERATION_RADIUS_KM,
                issued_at=op.history[0].at,
                kind="operation",
            )
        )
    return out


def hail_reports(reports: list[GroundReportRecord]) -> list[Any]:
    return [
        to_hail_report(str(r.id), r.observed_at, r.lat, r.lon, r.size_class, r.place)
        for r in reports
    ]


def verify_scope(
    session: Session, start: datetime | None, end: datetime | None, drill_id: str | None
) -> dict[str, Scores]:
    """Warnings and operations of one event (a drill, a day) or a season against the ground
    reports of the same scope."""
    from command.office.ground import reports_between

    reports = hail_reports(reports_between(session, start, end, drill_id))
    return {
        "warnings": verify(
            warning_predictions(session, start, end, drill_id), reports, WARNING_RULES
        ),
        "operations": verify(
            operation_predictions(session, start, end, drill_id), reports, OPERATION_RULES
        ),
    }
