"""Season statistics from the record: one hail season (1 June – 30 September, Beijing time)
of live operations, or one drill — with last season beside this one.  The computations are
``dispatch.season``'s; this module reads the tables and lays the figures out for the page,
the charts and the CSV/XLSX export.  Airspace approval delay comes first: it is what loses
storms in this practice."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from command.models import AmmunitionEntry, CellRecord, GroundReportRecord
from command.office.records import STEPS, load_operations, scope_filter
from command.timefmt import BEIJING
from dispatch.season import (
    approval_delays,
    hail_days,
    operations_by,
    rounds_by_type,
    step_summary,
)


def season_bounds(year: int) -> tuple[datetime, datetime]:
    return (
        datetime(year, 6, 1, tzinfo=BEIJING).astimezone(UTC),
        datetime(year, 10, 1, tzinfo=BEIJING).astimezone(UTC),
    )


def _ledger(
    session: Session, drill_id: str | None, start: datetime | None, end: datetime | None
) -> dict[str, dict[str, int]]:
    q = select(AmmunitionEntry).where(
        AmmunitionEntry.drill_id.is_(None)
        if drill_id is None
        else (AmmunitionEntry.drill_id.is_(None) | (AmmunitionEntry.drill_id == drill_id))
    )
    stock: Counter[str] = Counter()
    restocked: Counter[str] = Counter()
    for e in session.scalars(q):
        stock[e.ammo_type] += e.delta
        in_scope = (start is None or e.at >= start) and (end is None or e.at < end)
        if e.reason == "restock" and in_scope and e.drill_id == drill_id:
            restocked[e.ammo_type] += e.delta
    return {"stock": dict(sorted(stock.items())), "restocked": dict(sorted(restocked.items()))}


def figures(
    session: Session, *, year: int | None = None, drill_id: str | None = None
) -> dict[str, Any]:
    """The statistics of one season (``year``) of live operations or of one drill."""
    from command.office.verify import verify_scope

    start, end = season_bounds(year) if year is not None else (None, None)
    details = load_operations(session, start, end, drill_id)
    rows = [d.row for d in details]
    approvals = approval_delays([a for d in details for a in d.approvals])
    q = select(CellRecord.scan_time).where(
        CellRecord.hail.is_(True), scope_filter(CellRecord.drill_id, drill_id)
    )
    g = select(GroundReportRecord.observed_at).where(
        scope_filter(GroundReportRecord.drill_id, drill_id)
    )
    if start is not None:
        q = q.where(CellRecord.scan_time >= start, CellRecord.scan_time < end)
        g = g.where(GroundReportRecord.observed_at >= start, GroundReportRecord.observed_at < end)
    radar_days = hail_days(session.scalars(q), BEIJING)
    ground_days = hail_days(session.scalars(g), BEIJING)
    scores = verify_scope(session, start, end, drill_id)
    ledger = _ledger(session, drill_id, start, end)
    return {
        "scope": {
            "year": year,
            "drill_id": drill_id,
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
        },
        "approvals": [a.as_dict() for a in approvals],
        "operations": {
            "total": len(rows),
            "fired": sum(r.fired for r in rows),
            "by_county": operations_by(rows, "county"),
            "by_site": operations_by(rows, "site"),
            "by_month": operations_by(rows, "month", BEIJING),
        },
        "rounds": {"used": rounds_by_type(rows), **ledger},
        "hail_days": {
            "radar": [d.isoformat() for d in radar_days],
            "ground": [d.isoformat() for d in ground_days],
            "all": sorted({d.isoformat() for d in radar_days + ground_days}),
        },
        "warnings": {
            k: {kk: vv for kk, vv in v.as_dict().items() if kk != "matches"}
            for k, v in scores.items()
        },
        "steps": step_summary(rows, STEPS),
    }


def comparison(session: Session, year: int) -> dict[str, Any]:
    return {"this": figures(session, year=year), "last": figures(session, year=year - 1)}


# --- export ---------------------------------------------------------------------------------


def table_rows(
    this: dict[str, Any], last: dict[str, Any] | None
) -> list[tuple[str, str, Any, Any]]:
    """(section, item, this, last) rows: the one layout of CSV and XLSX."""
    out: list[tuple[str, str, Any, Any]] = []

    def lastv(path: list[str], default: Any = None) -> Any:
        node: Any = last
        for p in path:
            if not isinstance(node, dict) or p not in node:
                return default
            node = node[p]
        return node

    last_app = {a["authority"]: a for a in (last or {}).get("approvals", [])}
    for a in this["approvals"]:
        for k in ("requests", "granted", "denied", "pending", "median_s", "p90_s", "max_s"):
            out.append(
                (
                    "airspace_approval",
                    f"{a['authority']}.{k}",
                    a[k],
                    last_app.get(a["authority"], {}).get(k),
                )
            )
    for key in ("by_county", "by_site", "by_month"):
        items = set(this["operations"][key]) | set(lastv(["operations", key], {}) or {})
        for item in sorted(items):
            out.append(
                (
                    f"operations_{key}",
                    item,
                    this["operations"][key].get(item, 0),
                    (lastv(["operations", key], {}) or {}).get(item, 0) if last else None,
                )
            )
    for key in ("used", "stock", "restocked"):
        items = set(this["rounds"][key]) | set(lastv(["rounds", key], {}) or {})
        for item in sorted(items):
            out.append(
                (
                    f"rounds_{key}",
                    item,
                    this["rounds"][key].get(item, 0),
                    (lastv(["rounds", key], {}) or {}).get(item, 0) if last else None,
                )
            )
    out.append(
        (
            "hail_days",
            "count",
            len(this["hail_days"]["all"]),
            len(lastv(["hail_days", "all"], []) or []) if last else None,
        )
    )
    for kind in ("warnings", "operations"):
        for k in (
            "reports",
            "predictions",
            "hits",
            "misses",
            "false_alarms",
            "pod",
            "far",
            "csi",
            "mean_lead_time_s",
        ):
            out.append(
                (f"verification_{kind}", k, this["warnings"][kind][k], lastv(["warnings", kind, k]))
            )
    for step, v in this["steps"].items():
        for k in ("n", "mean_s", "median_s", "p90_s"):
            out.append(("response_steps", f"{step}.{k}", v[k], lastv(["steps", step, k])))
    return out


def to_csv(rows: list[tuple[str, str, Any, Any]], labels: tuple[str, str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "item", labels[0], labels[1]])
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue()


def to_xlsx(rows: list[tuple[str, str, Any, Any]], labels: tuple[str, str]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    first = True
    sections: dict[str, list[tuple[str, Any, Any]]] = {}
    for section, item, a, b in rows:
        sections.setdefault(section, []).append((item, a, b))
    for section, items in sections.items():
        ws = wb.active if first else wb.create_sheet()
        first = False
        ws.title = section[:31]
        ws.append(["item", labels[0], labels[1]])
        for item, a, b in items:
            ws.append([item, a, b])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
