"""The radar feed: each new volume in the incoming directory is processed once (content
hash) through detection, tracking and nowcasting; results are persisted, then pushed.
A bad file is moved to quarantine with its reason recorded; the service keeps running.

Nothing valid is lost (issue 12):

* **Complete files only.** A file is read once it has not changed (size and mtime) for
  ``radar_settle_s`` seconds; producers may also write under a temporary name (a leading dot,
  or a ``.part``/``.tmp`` suffix) and rename when done — such names are never read.
* **Transient database errors** (connection lost, lock timeout) leave the file in the incoming
  directory for the next poll; nothing is quarantined for them.
* **A quarantined file dropped in again is tried again** (only processed or late volumes count
  as duplicates).
* **Late scans** (older than, or as old as, the last tracked scan) are stored with status
  ``late``, detected but not tracked, and announced as ``feed.late``; they never replace the
  live picture.
* **Quarantine reasons name the real cause**, also from the isolated reading process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, object_session

from command import audit
from command.isolation import RUNNER, IsolatedCallFailed, call_named
from command.models import CellRecord, RadarVolume, ServiceStatus
from command.push import ROOM_ALL, announce, scoped
from command.settings import Settings
from command.storms import link_storms, storm_name, storm_ref, storms_of_volume
from radar.config import DetectionConfig
from radar.detect import VolumeResult, detect_volume, volume_to_geojson
from radar.errors import RadarError, RadarReadError
from radar.levels import levels_from_sounding, seasonal_default_levels
from radar.model import TemperatureLevels
from radar.nowcast import arrival_times, nowcast_tracks
from radar.tracking import ReflectivityGrid, Tracker, TrackerState, TrackingError
from sites.geometry import engagement_polygon
from sites.model import Site

log = logging.getLogger(__name__)

_PREVIOUS_FIELDS: dict[str, ReflectivityGrid] = {}  # in-process cache for phase correlation


@dataclass(frozen=True)
class IngestOutcome:
    volume_id: int | None
    status: str  # processed | quarantined | duplicate | late
    message: str = ""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def current_levels(settings: Settings, when: datetime | None = None) -> TemperatureLevels:
    if settings.sounding_path is not None:
        try:
            return levels_from_sounding(settings.sounding_path)
        except RadarError as exc:
            log.warning(
                "sounding %s unusable (%s); using seasonal levels", settings.sounding_path, exc
            )
    return seasonal_default_levels(when, h0_m=settings.seasonal_h0_m, h20_m=settings.seasonal_h20_m)


def _tracker_key(drill_id: str | None) -> str:
    return "tracker" if drill_id is None else f"tracker:{drill_id}"


def _load_tracker(session: Session, drill_id: str | None) -> Tracker:
    row = session.get(ServiceStatus, _tracker_key(drill_id))
    state = TrackerState.from_dict(row.info) if row is not None and row.info else TrackerState()
    tracker = Tracker(state=state)
    tracker._prev_field = _PREVIOUS_FIELDS.get(_tracker_key(drill_id))  # noqa: SLF001
    return tracker


def reset_tracker(session: Session, drill_id: str | None) -> None:
    row = session.get(ServiceStatus, _tracker_key(drill_id))
    if row is not None:
        session.delete(row)
        session.flush()
    _PREVIOUS_FIELDS.pop(_tracker_key(drill_id), None)


def record_volume(
    session: Session,
    result: VolumeResult,
    *,
    filename: str,
    sha256: str,
    products_dir: Path,
    processing_ms: float,
    drill_id: str | None = None,
) -> RadarVolume:
    """Track, nowcast, persist and announce one detected volume (caller commits).

    Everything slow (tracking, arrival times, overlays) happens before the first write, so
    the database's write lock (SQLite has one writer) is held only for the inserts."""
    tracker = _load_tracker(session, drill_id)
    field = ReflectivityGrid.from_projected(
        result.composite_dbz, result.x_m, result.y_m, (result.radar.lon, result.radar.lat)
    )
    state = tracker.update(result.cells, result.scan_time, field=field)

    track_of_cell = {
        t.last.cell_id: t.id for t in state.active_tracks if t.last.scan_time == result.scan_time
    }
    nowcasts = {n.track_id: n for n in nowcast_tracks(state.active_tracks)}
    targets = arrival_targets(session)
    tracks_json = []
    for t in state.active_tracks:
        if t.last.scan_time != result.scan_time:
            continue
        item = {
            "id": t.id,
            "cell_id": t.last.cell_id,
            "speed_mps": t.motion.speed_mps,
            "direction_deg": t.motion.direction_deg,
            "trend": t.trend.to_dict(),
            "history": [[p.centroid[0], p.centroid[1]] for p in t.observations],
            "parent_id": t.parent_id,
        }
        if t.id in nowcasts:
            item["nowcast"] = nowcasts[t.id].to_dict()
            if t.last.hail:
                item["arrivals"] = _arrivals(nowcasts[t.id], targets)
        tracks_json.append(item)

    stem = f"{result.scan_time:%Y%m%dT%H%M%SZ}_{sha256[:8]}"
    overlays = result.write_overlays(products_dir, stem=stem)
    fc = volume_to_geojson(result)
    vol = RadarVolume(
        sha256=sha256,
        filename=filename,
        status="processed",
        scan_time=result.scan_time,
        radar={
            "lat": result.radar.lat,
            "lon": result.radar.lon,
            "alt_m": result.radar.alt_m,
            "name": result.radar.name,
            # Completeness, as in the collection's properties (shown in the feed).
            "complete": result.complete,
            "sweeps_expected": result.sweeps_expected,
            "sweeps_read": result.sweeps_read,
            "incomplete_reason": result.incomplete_reason,
        },
        levels={
            "h0_m": result.levels.h0_m,
            "h20_m": result.levels.h20_m,
            "source": result.levels.source,
        },
        products={
            k: (None if v is None else {"file": Path(v["path"]).name, "bounds": v["bounds"]})
            for k, v in overlays.items()
        },
        tracks=tracks_json,
        processing_ms=processing_ms,
        drill_id=drill_id,
    )
    row = session.get(ServiceStatus, _tracker_key(drill_id)) or ServiceStatus(
        name=_tracker_key(drill_id)
    )
    row.info = state.to_dict()
    row.updated_at = datetime.now(UTC)
    session.merge(row)
    _PREVIOUS_FIELDS[_tracker_key(drill_id)] = field
    session.add(vol)
    session.flush()
    records = []
    for feature in fc["features"]:
        feature["properties"]["track_id"] = track_of_cell.get(feature["properties"]["id"])
        records.append(
            CellRecord(
                volume_id=vol.id,
                cell_id=feature["properties"]["id"],
                track_id=feature["properties"]["track_id"],
                scan_time=result.scan_time,
                feature=feature,
                hail=bool(feature["properties"]["hail"]),
                drill_id=drill_id,
            )
        )
    session.add_all(records)
    # Each cell joins its storm and carries the storm's review and name (issue 11).
    link_storms(
        session,
        records,
        {t.id: t for t in state.active_tracks if t.last.scan_time == result.scan_time},
        drill_id,
        result.scan_time if drill_id else datetime.now(UTC),  # a drill's audit on its clock
    )
    audit.append(
        session,
        actor="radar-feed",
        role="system",
        action="volume.ingest",
        object_type="volume",
        object_id=str(vol.id),
        drill_id=drill_id,
        after={
            "file": filename,
            "sha256": sha256,
            "cells": len(fc["features"]),
            "hail_cells": sum(1 for f in fc["features"] if f["properties"]["hail"]),
            "complete": result.complete,
            "sweeps_expected": result.sweeps_expected,
            "sweeps_read": result.sweeps_read,
        },
    )
    session.flush()
    event = volume_event(vol, fc["features"], tracks_json)
    # The hail storms by their one name (language-neutral: number and the forecaster's name).
    event["hail_storms"] = [storm_ref(r.storm) for r in records if r.hail and r.storm]
    announce(session, "volume.new", event, scoped([ROOM_ALL], drill_id))
    from command.office.handover import draft_handovers

    draft_handovers(session, vol)  # joint defence: storms leaving the city within 60 min
    return vol


def _engagement_area(site: Site, no_fire: tuple[Any, ...]) -> Any:
    key = (site.code, site.lat, site.lon, site.equipment, len(no_fire))
    area = _ENGAGEMENT_CACHE.get(key)
    if area is None:
        area = _ENGAGEMENT_CACHE[key] = engagement_polygon(site, None, no_fire)
    return area


_ENGAGEMENT_CACHE: dict[Any, Any] = {}


def arrival_targets(session: Session) -> dict[str, Any]:
    """Counties (``county:<key>``) and site engagement areas (``site:<code>``) in lon/lat."""
    from command.deployment import deployment
    from command.sitestore import load_sites

    dep = deployment()
    no_fire = tuple(dep.core.no_fire_geometries())
    targets: dict[str, Any] = {f"county:{k}": g for k, g in dep.county_polygons().items()}
    for site in load_sites(session):
        targets[f"site:{site.code}"] = _engagement_area(site, no_fire)
    return targets


def _arrivals(nowcast: Any, targets: dict[str, Any]) -> dict[str, dict[str, str]]:
    """When the hail core is predicted to enter each county and site area within 60 min."""
    out: dict[str, dict[str, str]] = {"counties": {}, "sites": {}}
    for name, when in arrival_times(nowcast, targets).items():
        if when is None:
            continue
        kind, key = name.split(":", 1)
        out["counties" if kind == "county" else "sites"][key] = when.isoformat()
    return out


def volume_payload(vol: RadarVolume) -> dict[str, Any]:
    """The whole volume for the map.  Each cell's properties and each track gain the storm's
    one name (``storm_name``) and review (``storm_review``) as they are now (issue 11)."""
    products = volume_payload_products(vol)
    cells = list(vol.cells) if vol.id else []
    session = object_session(vol)
    storms = storms_of_volume(session, vol) if session is not None and cells else {}
    features, by_track = [], {}
    for c in cells:
        storm = storms.get(c.storm_id or 0)
        name = storm_name(storm, track_id=c.track_id, fallback=c.cell_id)
        review = storm.review if storm is not None else c.review
        features.append(
            {
                **c.feature,
                "properties": {
                    **c.feature["properties"],
                    "storm_name": name,
                    "storm_review": review,
                    "storm_id": c.storm_id,
                },
            }
        )
        if c.track_id:
            by_track[c.track_id] = {"storm_name": name, "storm_review": review}
    return {
        "volume_id": vol.id,
        "file": vol.filename,
        "replay": vol.filename.startswith("DEMO replay"),
        "scan_time": vol.scan_time.isoformat() if vol.scan_time else None,
        "radar": vol.radar,
        "levels": vol.levels,
        "drill_id": vol.drill_id,
        "cells": features,
        "tracks": [
            {
                **t,
                **by_track.get(
                    t.get("id"),
                    {
                        "storm_name": storm_name(
                            None, track_id=t.get("id"), fallback=str(t.get("id") or "")
                        )
                    },
                ),
            }
            for t in vol.tracks or []
        ],
        "products": products,
    }


def volume_event(
    vol: RadarVolume, features: list[dict[str, Any]], tracks: list[dict[str, Any]]
) -> dict[str, Any]:
    """What a screen needs to react to a new volume: ids, a summary, overlay URLs and the
    ``url`` of the full volume (cells, tracks, nowcasts) — not the volume itself, which was
    ~260 KB per event (90 % nowcast polygons) in every catch-up and in the stored event."""
    url = f"/api/volumes/{vol.id}" + (f"?drill={vol.drill_id}" if vol.drill_id else "")
    hail = [f["properties"] for f in features if f["properties"].get("hail")]
    return {
        "volume_id": vol.id,
        "file": vol.filename,
        "replay": vol.filename.startswith("DEMO replay"),
        "scan_time": vol.scan_time.isoformat() if vol.scan_time else None,
        "radar": vol.radar,
        "levels": vol.levels,
        "drill_id": vol.drill_id,
        "url": url,
        "cell_count": len(features),
        "hail_cell_count": len(hail),
        "review_cell_count": sum(
            1 for f in features if f["properties"].get("verdict") == "cannot_tell"
        ),
        "complete": (vol.radar or {}).get("complete", True),
        "sweeps_expected": (vol.radar or {}).get("sweeps_expected"),
        "sweeps_read": (vol.radar or {}).get("sweeps_read"),
        "max_mesh_mm": max((p.get("mesh_mm") or 0 for p in hail), default=0),
        "hail_track_ids": sorted(
            {t["id"] for t in tracks if any(p.get("track_id") == t["id"] for p in hail)}
        ),
        "products": volume_payload_products(vol),
    }


def volume_payload_products(vol: RadarVolume) -> dict[str, Any]:
    return {
        key: {"url": f"/products/{value['file']}", "bounds": value["bounds"]}
        for key, value in (vol.products or {}).items()
        if value
    }


def quarantine(
    session: Session,
    path: Path,
    settings: Settings,
    reason: str,
    sha256: str,
    drill_id: str | None = None,
) -> RadarVolume:
    settings.quarantine.mkdir(parents=True, exist_ok=True)
    target = settings.quarantine / path.name
    if target.exists():
        target = settings.quarantine / f"{sha256[:8]}_{path.name}"
    shutil.move(str(path), target)
    target.with_suffix(target.suffix + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    vol = RadarVolume(
        sha256=sha256, filename=path.name, status="quarantined", error=reason, drill_id=drill_id
    )
    session.add(vol)
    session.flush()
    audit.append(
        session,
        actor="radar-feed",
        role="system",
        action="volume.quarantine",
        object_type="volume",
        object_id=str(vol.id),
        after={"file": path.name, "reason": reason},
    )
    announce(session, "feed.quarantine", {"file": path.name, "reason": reason}, [ROOM_ALL])
    return vol


def process_file(
    session: Session, path: Path, settings: Settings, config: DetectionConfig | None = None
) -> IngestOutcome:
    """Process one incoming file (caller commits).  Never raises for bad radar input."""
    sha = sha256_of(path)
    # Only a volume that made it counts: a quarantined one dropped in again is tried again.
    seen = session.scalar(
        select(RadarVolume)
        .where(
            RadarVolume.sha256 == sha,
            RadarVolume.drill_id.is_(None),
            RadarVolume.status.in_(("processed", "late")),
        )
        .limit(1)
    )
    processed_dir = settings.instance_path / "processed"
    if seen is not None:
        processed_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), processed_dir / f"dup_{sha[:8]}_{path.name}")
        return IngestOutcome(
            seen.id, "duplicate", f"{path.name}: already processed as volume {seen.id}"
        )
    started = time.perf_counter()
    try:
        levels, cfg = current_levels(settings), config or DetectionConfig()
        if settings.radar_isolate:
            try:
                result = RUNNER.call(
                    settings.radar_timeout_s, detect_volume, str(path), levels, cfg
                )
            except IsolatedCallFailed as exc:
                # The child's own message names the file already; keep the real cause.
                reason = str(exc).removeprefix(f"{path}: ")
                raise RadarReadError(str(path), reason) from None
        else:
            result = detect_volume(path, levels, cfg)
    except RadarError as exc:
        vol = quarantine(session, path, settings, str(exc), sha)
        log.warning("quarantined %s: %s", path.name, exc)
        return IngestOutcome(vol.id, "quarantined", str(exc))
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    last = _load_tracker(session, None).state.last_scan_time
    if last is not None and result.scan_time <= last:
        return _record_late(session, path, result, sha, processed_dir, last)
    try:
        with session.begin_nested():
            vol = record_volume(
                session,
                result,
                filename=path.name,
                sha256=sha,
                products_dir=settings.products,
                processing_ms=elapsed_ms,
            )
    except TrackingError as exc:  # a state the tracker refuses: the volume is still kept
        vol = quarantine(
            session, path, settings, f"{path}: tracking refused the volume: {exc}", sha
        )
        return IngestOutcome(vol.id, "quarantined", str(exc))
    processed_dir.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), processed_dir / path.name)
    log.info("volume %s %s: %d cells in %.0f ms", vol.id, path.name, len(result.cells), elapsed_ms)
    if not result.complete:
        log.warning(
            "volume %s %s is incomplete (%s of %s sweeps): %s",
            vol.id,
            path.name,
            result.sweeps_read,
            result.sweeps_expected,
            result.incomplete_reason,
        )
    return IngestOutcome(vol.id, "processed", f"{len(result.cells)} cells")


def _record_late(
    session: Session,
    path: Path,
    result: VolumeResult,
    sha: str,
    processed_dir: Path,
    last: datetime,
) -> IngestOutcome:
    """A scan not after the last tracked one: kept (detected, untracked), never quarantined."""
    note = (
        f"late scan {result.scan_time.isoformat()}: not after the last tracked scan "
        f"{last.isoformat()}; stored without tracking"
    )
    fc = volume_to_geojson(result)
    vol = RadarVolume(
        sha256=sha,
        filename=path.name,
        status="late",
        scan_time=result.scan_time,
        error=note,
        tracks=[],
        products={},
        radar={
            "lat": result.radar.lat,
            "lon": result.radar.lon,
            "alt_m": result.radar.alt_m,
            "name": result.radar.name,
        },
        levels={
            "h0_m": result.levels.h0_m,
            "h20_m": result.levels.h20_m,
            "source": result.levels.source,
        },
    )
    session.add(vol)
    session.flush()
    audit.append(
        session,
        actor="radar-feed",
        role="system",
        action="volume.late",
        object_type="volume",
        object_id=str(vol.id),
        after={"file": path.name, "sha256": sha, "cells": len(fc["features"]), "note": note},
    )
    announce(
        session,
        "feed.late",
        {
            "file": path.name,
            "volume_id": vol.id,
            "scan_time": result.scan_time.isoformat(),
            "note": note,
        },
        [ROOM_ALL],
    )
    processed_dir.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), processed_dir / path.name)
    log.info("volume %s %s: %s", vol.id, path.name, note)
    return IngestOutcome(vol.id, "late", note)


IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload")


def is_temporary_name(name: str) -> bool:
    """A name a producer writes under before renaming (never read)."""
    return name.startswith(".") or name.endswith(IN_PROGRESS_SUFFIXES)


class RenamedFiles:
    """Files renamed from a temporary name to their final name in the incoming directory, as
    the filesystem watcher saw them: complete at the rename (the documented convention), so
    they skip the settle time.  A file keeps that standing only while its size and mtime are
    those seen at the rename; a later write makes it settle like any other file."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def add(self, path: Path) -> bool:
        try:
            st = path.stat()
        except FileNotFoundError:  # already gone (processed, or moved on)
            return False
        with self._lock:
            self._seen[path.name] = (st.st_size, st.st_mtime_ns)
        return True

    def complete(self, name: str, st: os.stat_result) -> bool:
        with self._lock:
            return self._seen.get(name) == (st.st_size, st.st_mtime_ns)

    def keep_only(self, names: set[str]) -> None:
        """Forget files no longer in the incoming directory."""
        with self._lock:
            for name in set(self._seen) - names:
                del self._seen[name]


def complete_files(
    incoming: Path,
    settle_s: float,
    now: float | None = None,
    renamed: RenamedFiles | None = None,
) -> list[Path]:
    """Files ready to read, oldest first: not under a temporary name, and unchanged for
    ``settle_s`` seconds (any write moves the mtime, so a file still being copied waits) or
    renamed into place from a temporary name (``renamed``)."""
    now = time.time() if now is None else now
    ready = []
    present = set()
    for p in incoming.iterdir():
        if not p.is_file() or is_temporary_name(p.name):
            continue
        try:
            st = p.stat()
        except FileNotFoundError:  # renamed or removed meanwhile
            continue
        present.add(p.name)
        if now - st.st_mtime >= settle_s or (renamed is not None and renamed.complete(p.name, st)):
            ready.append((st.st_mtime, p.name, p))
    if renamed is not None:
        renamed.keep_only(present)
    return [p for _, _, p in sorted(ready)]


def next_settled_at(incoming: Path, settle_s: float) -> datetime | None:
    """When the earliest file still settling becomes complete (``None``: none settling)."""
    if not incoming.is_dir():
        return None
    now = time.time()
    pending = []
    for p in incoming.iterdir():
        if not p.is_file() or is_temporary_name(p.name):
            continue
        try:
            mtime = p.stat().st_mtime
        except FileNotFoundError:
            continue
        if now - mtime < settle_s:
            pending.append(mtime + settle_s)
    return datetime.fromtimestamp(min(pending) + 0.05, UTC) if pending else None


def poll_incoming(app: Flask) -> list[IngestOutcome]:
    """The scheduler job: process every complete file waiting in the incoming directory."""
    from command.extensions import get_db

    settings: Settings = app.config["HAILOPS"]
    incoming = settings.incoming
    incoming.mkdir(parents=True, exist_ok=True)
    outcomes = []
    renamed = app.extensions.get("hailops_feed_renamed")
    for path in complete_files(incoming, settings.radar_settle_s, renamed=renamed):
        with app.app_context(), get_db().session() as session:
            try:
                outcomes.append(process_file(session, path, settings))
                session.commit()
            except DBAPIError as exc:
                # The database, not the file: leave it where it is for the next poll.
                session.rollback()
                log.warning(
                    "database unavailable while processing %s (%s); will retry",
                    path.name,
                    type(exc.orig).__name__ if exc.orig else exc,
                )
                return outcomes
            except Exception as exc:  # noqa: BLE001 - one bad volume must not stop the feed
                log.exception("unexpected failure on %s; quarantining", path.name)
                session.rollback()
                if path.exists():
                    quarantine(
                        session,
                        path,
                        settings,
                        f"{path}: internal error while processing: {type(exc).__name__}: {exc}",
                        sha256_of(path),
                    )
                    session.commit()
    with app.app_context(), get_db().session() as session:
        row = session.get(ServiceStatus, "radar_feed") or ServiceStatus(name="radar_feed")
        row.updated_at = datetime.now(UTC)
        row.info = {"processed_now": len(outcomes)}
        session.merge(row)
        session.commit()
    return outcomes


def warm_up_feed(app: Flask) -> None:
    """At scheduler start, do now what the first volume would otherwise wait for: start the
    reading process and import Py-ART there (about 3 s, :func:`radar.detect.warm_up`; the
    process works on it while this one goes on), then this process's own first-use costs
    (matplotlib's PNG writer for the overlays, the sites' engagement areas for arrival
    times).  Nothing here changes a result."""
    import io

    import matplotlib.image
    import numpy as np

    from command.extensions import get_db
    from command.office.handover import draft_handovers  # noqa: F401
    from radar.detect import warm_up

    settings: Settings = app.config["HAILOPS"]
    started = time.perf_counter()
    if settings.radar_isolate:
        RUNNER.warm(call_named, "radar.detect:warm_up")  # already started by the CLI, maybe
    else:
        warm_up()
    # imsave imports most of matplotlib on its first call (figure, axes): ~0.3 s.
    matplotlib.image.imsave(io.BytesIO(), np.zeros((2, 2, 4)), format="png")
    with app.app_context(), get_db().session() as session:
        arrival_targets(session)
    log.info("radar feed warm in %.1f s", time.perf_counter() - started)
