"""Recommendations for a stored volume: its hail cells, their nowcast paths, the site
registry (with a drill's readiness overrides) and the sites already engaged."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from command.codec import decode
from command.deployment import deployment
from command.models import OperationRecord, RadarVolume
from command.sitestore import load_sites, stock
from dispatch import lifecycle as lc
from dispatch.recommend import CellPath, RecommendationSet, RecommendConfig, recommend
from radar.detect import geojson_to_cells
from radar.model import TemperatureLevels
from sites.model import Readiness

ENGAGED_STATES = (
    "authorized",
    "clearance_requested",
    "cleared",
    "ordered",
    "acknowledged",
    "firing",
)


def volume_cells(vol: RadarVolume) -> list[Any]:
    fc = {
        "type": "FeatureCollection",
        "features": [c.feature for c in vol.cells],
        "properties": {
            "scan_time": vol.scan_time.isoformat() if vol.scan_time else None,
            "radar": vol.radar,
            "h0_m": vol.levels["h0_m"],
            "h20_m": vol.levels["h20_m"],
            "levels_source": vol.levels["source"],
        },
    }
    return geojson_to_cells(fc)


def cell_paths(vol: RadarVolume, cells: list[Any]) -> dict[str, CellPath]:
    by_cell = {t.get("cell_id"): t for t in (vol.tracks or [])}
    paths = {}
    for cell in cells:
        nowcast = (by_cell.get(cell.id) or {}).get("nowcast")
        if nowcast and nowcast.get("steps"):
            times = [datetime.fromisoformat(nowcast["issued_at"])] + [
                datetime.fromisoformat(s["valid_time"]) for s in nowcast["steps"]
            ]
            positions = [tuple(cell.centroid)] + [tuple(s["centroid"]) for s in nowcast["steps"]]
            paths[cell.id] = CellPath(cell.id, tuple(times), tuple(positions))
    return paths


def last_firing(
    session: Session, drill_id: str | None, now: datetime, cooldown_min: float
) -> dict[str, datetime]:
    """When each site's last firing ended, for the sites that completed an operation within
    ``cooldown_min`` of ``now`` (or after it: the scan time lags the clock): the firing
    report's end time, else the completion's time."""
    since = now - timedelta(minutes=cooldown_min)
    q = select(OperationRecord.site_code, OperationRecord.data).where(
        OperationRecord.state == lc.OperationState.COMPLETED.value,
        OperationRecord.updated_at >= since,
    )  # completion <= updated_at: a safe prefilter
    q = (
        q.where(OperationRecord.drill_id.is_(None))
        if drill_id is None
        else q.where(OperationRecord.drill_id == drill_id)
    )
    out: dict[str, datetime] = {}
    for code, data in session.execute(q):
        op = decode(lc.Operation, data)
        ended = (
            op.report.ended_at
            if op.report is not None
            else next((h.at for h in op.history if h.state == lc.OperationState.COMPLETED), None)
        )
        if ended is not None and (code not in out or ended > out[code]):
            out[code] = ended
    return out


def reviews_of(session: Session, vol: RadarVolume) -> dict[str, str]:
    """Cell id → the review its storm carries (the cell's own for a cell without a storm)."""
    from command.storms import storms_of_volume

    storms = storms_of_volume(session, vol)
    return {
        c.cell_id: (storms[c.storm_id].review if c.storm_id in storms else c.review)
        for c in vol.cells
    }


def recommend_for_volume(
    session: Session,
    vol: RadarVolume,
    overrides: dict[str, str] | None = None,
    config: RecommendConfig | None = None,
) -> RecommendationSet:
    """Recommendations for the hail cells of ``vol`` at its scan time; its "cannot tell"
    cells come back in ``to_review`` (threats to review, never engaged automatically).
    The storms' reviews mark unconfirmed storms and leave dismissed ones out; a site that
    fired within the re-engagement cooldown is not recommended (``dispatch.recommend``,
    steps 7 and 8)."""
    config = config or RecommendConfig()
    cells = [c for c in volume_cells(vol) if c.hail or c.verdict == "cannot_tell"]
    sites = load_sites(session)
    if vol.drill_id is not None:
        # A drill uses its own ammunition ledger and its injected readiness changes.
        sites = [
            dataclasses.replace(
                s,
                ammunition=stock(session, s.code, vol.drill_id),
                readiness=Readiness((overrides or {}).get(s.code, s.readiness.value)),
            )
            for s in sites
        ]
    q = select(OperationRecord.site_code).where(OperationRecord.state.in_(ENGAGED_STATES))
    q = (
        q.where(OperationRecord.drill_id.is_(None))
        if vol.drill_id is None
        else q.where(OperationRecord.drill_id == vol.drill_id)
    )
    engaged = set(session.scalars(q))
    levels = TemperatureLevels(vol.levels["h0_m"], vol.levels["h20_m"], vol.levels["source"])
    dep = deployment()
    assert vol.scan_time is not None
    return recommend(
        cells,
        sites,
        levels,
        vol.scan_time,
        paths=cell_paths(vol, cells),
        no_fire_areas=dep.core.no_fire_geometries(),
        threat_areas=list(dep.county_polygons().values()),
        engaged=engaged,
        config=config,
        reviews=reviews_of(session, vol),
        last_firing=last_firing(session, vol.drill_id, vol.scan_time, config.reengage_cooldown_min),
    )


def recommend_config(settings: Any) -> RecommendConfig:
    """The recommendation's settings (``HAILOPS_REENGAGE_COOLDOWN_MIN``)."""
    return RecommendConfig(reengage_cooldown_min=settings.reengage_cooldown_min)
