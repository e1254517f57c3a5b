"""Hail warnings: built for a cell and counties (CAP 1.2 in ``command.cap``), audited and
announced — live, or inside the cell's drill (where they are scored)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from command import audit
from command.cap import WarningArea, build_warning
from command.deployment import deployment
from command.models import CellRecord
from command.push import ROOM_ALL, announce, room_county, scoped

WARNING_VALID_FOR = timedelta(hours=1)


class WarningInputError(ValueError):
    pass


def build_for_cell(cell: CellRecord, county_keys: list[str], sent: datetime) -> Any:
    known = {c.key: c for c in deployment().counties}
    unknown = [k for k in county_keys if k not in known]
    if not county_keys or unknown:
        raise WarningInputError(
            "one or more county keys required"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    nowcast = next(
        (
            t.get("nowcast")
            for t in (cell.volume.tracks or [])
            if t.get("id") == cell.track_id and cell.track_id
        ),
        None,
    )
    areas = [
        WarningArea(k, known[k].name_zh, known[k].name_en, known[k].adcode, known[k].geometry)
        for k in county_keys
    ]
    return build_warning(
        record_id=cell.id,
        cell_feature=cell.feature,
        nowcast=nowcast,
        areas=areas,
        sent=sent,
        sender="hailops@luliang",
        valid_for=WARNING_VALID_FOR,
    )


def record_warning(
    session: Session,
    cell: CellRecord,
    warning: Any,
    counties: list[str],
    now: datetime,
    actor: str,
    role: str,
) -> dict[str, Any]:
    """Audit and announce an issued warning (caller commits)."""
    from command.storms import storm_name, storm_of_cell, storm_ref

    storm = storm_of_cell(session, cell)
    query = {"counties": ",".join(counties), "sent": now.isoformat()}
    if cell.drill_id:
        query["drill"] = cell.drill_id
    payload = {
        "identifier": warning.identifier,
        "record_id": cell.id,
        "cell_id": cell.cell_id,
        "track_id": cell.track_id,
        "drill_id": cell.drill_id,
        "counties": counties,
        "sent": now.isoformat(),
        "expires": warning.expires.isoformat(),
        "by": actor,
        "mesh_mm": warning.mesh_mm,
        "cap_url": f"/api/cells/{cell.id}/cap.xml?{urlencode(query)}",
        # The storm's one name (issue 11); ``storm`` lets each screen word it in its language.
        "storm_name": storm_name(storm, track_id=cell.track_id, fallback=cell.cell_id),
        "storm": storm_ref(storm),
    }
    audit.append(
        session,
        actor=actor,
        role=role,
        action="warning.issue",
        object_type="warning",
        object_id=warning.identifier,
        after=payload,
        drill_id=cell.drill_id,
        at=now,
    )
    announce(
        session,
        "warning.issue",
        payload,
        scoped([ROOM_ALL] + [room_county(k) for k in counties], cell.drill_id),
    )
    return payload
