"""``hailops radar track PATH PATH... [--sounding PATH] [--h0 M --h20 M]``: tracks as JSON.

Detects the cells of every volume, orders the volumes by the scan time read from the files
(not by argument order), tracks them (:mod:`radar.tracking`, with the phase-correlation first
guess from the composite reflectivity) and nowcasts the active tracks (:mod:`radar.nowcast`).
Prints ``{"tracks": [{"id", "cells": [{"scan_time", "centroid": [lon, lat], "mesh_mm",
"max_dbz", "area_km2", ...}], "speed_mps", "direction_deg", "trend", "nowcast": [{"lead_min",
"centroid", "polygon": GeoJSON Polygon, ...}], ...}], "volumes": [...], "radar": {...}}``.

Exit status as for ``radar detect``: 0 success; 2 bad input (fewer than two volumes, a
missing or unreadable volume or sounding, inconsistent levels, volumes of different radars or
with the same scan time, bad options) with exactly one line on stderr; 1 an unexpected
internal error, also one line.  Imports no web framework.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from radar.cliutil import ArgParser, UsageError, add_level_options, resolve_levels, run_command

if TYPE_CHECKING:
    from radar.detect import VolumeResult
    from radar.model import TemperatureLevels
    from radar.nowcast import TrackNowcast
    from radar.tracking import Track

PROG = "hailops radar track"
SAME_RADAR_KM = 2.0  # volumes whose radar positions differ by more are different radars


def _parser() -> ArgParser:
    parser = ArgParser(
        prog=PROG,
        description="Track hail cells through radar volumes; print tracks and nowcasts as JSON.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="radar volumes (any order)")
    add_level_options(parser)
    return parser


def _detect_all(paths: Sequence[str], levels: TemperatureLevels) -> list[VolumeResult]:
    from pyproj import Geod

    from radar.detect import detect_volume

    if len(paths) < 2:
        raise UsageError("give at least two volumes to track")
    for path in paths:
        if not os.path.isfile(path):
            raise UsageError(f"{path}: no such file")
    results = sorted((detect_volume(p, levels) for p in paths), key=lambda r: r.scan_time)
    geod = Geod(ellps="WGS84")
    first = results[0]
    for earlier, later in zip(results, results[1:], strict=False):
        if later.scan_time == earlier.scan_time:
            raise UsageError(
                f"{earlier.source} and {later.source} have the same scan time "
                f"{_iso(later.scan_time)}"
            )
    for result in results[1:]:
        _, _, dist = geod.inv(first.radar.lon, first.radar.lat, result.radar.lon, result.radar.lat)
        if dist > SAME_RADAR_KM * 1000.0:
            raise UsageError(
                f"{result.source} is from another radar than {first.source} "
                f"({dist / 1000.0:.0f} km apart); track one radar at a time"
            )
    return results


def run_tracking(results: Sequence[VolumeResult]) -> tuple[list[Track], list[TrackNowcast]]:
    """Track time-ordered detection results; return all tracks and the active nowcasts."""
    from radar.nowcast import nowcast_tracks
    from radar.tracking import ReflectivityGrid, Tracker

    tracker = Tracker()
    for result in results:
        field = ReflectivityGrid.from_projected(
            result.composite_dbz, result.x_m, result.y_m, (result.radar.lon, result.radar.lat)
        )
        tracker.update(result.cells, result.scan_time, field=field)
    tracks = list(tracker.state.tracks)
    return tracks, nowcast_tracks(tracks)


def tracks_document(
    results: Sequence[VolumeResult], tracks: Sequence[Track], nowcasts: Sequence[TrackNowcast]
) -> dict[str, Any]:
    """The JSON document printed by ``radar track``."""
    by_id = {n.track_id: n for n in nowcasts}
    cells = {c.id: c for r in results for c in r.cells}
    site = results[0].radar
    return {
        "radar": {"name": site.name, "lon": site.lon, "lat": site.lat, "alt_m": site.alt_m},
        "levels": {
            "h0_m": results[0].levels.h0_m,
            "h20_m": results[0].levels.h20_m,
            "source": results[0].levels.source,
        },
        "volumes": [
            {
                "path": r.source,
                "scan_time": _iso(r.scan_time),
                "n_cells": len(r.cells),
                "complete": r.complete,
                "sweeps_expected": r.sweeps_expected,
                "sweeps_read": r.sweeps_read,
            }
            for r in results
        ],
        "tracks": [_with_verdicts(_track_json(t, by_id.get(t.id)), cells) for t in tracks],
    }


def _with_verdicts(track: dict[str, Any], cells: dict[str, Any]) -> dict[str, Any]:
    """Each observation's ``verdict`` and ``sampling`` (issue 14), from its detected cell."""
    for item in track["cells"]:
        cell = cells.get(item["cell_id"])
        item["verdict"] = (
            cell.verdict if cell is not None else ("hail" if item["hail"] else "no_hail")
        )
        item["sampling"] = list(cell.sampling) if cell is not None else []
    return track


def _track_json(track: Track, nowcast: TrackNowcast | None) -> dict[str, Any]:
    motion, trend = track.motion, track.trend
    return {
        "id": track.id,
        "active": track.active,
        "parent_id": track.parent_id,
        "merged_into": track.merged_into,
        "children": list(track.children),
        "end_reason": track.end_reason,
        "first_detected": _iso(track.first_time),
        "age_s": track.age_s(),
        "cells": [
            {
                "scan_time": _iso(p.scan_time),
                "cell_id": p.cell_id,
                "centroid": [_num(p.centroid[0], 5), _num(p.centroid[1], 5)],
                "mesh_mm": _num(p.mesh_mm, 1),
                "max_dbz": _num(p.max_dbz, 1),
                "area_km2": _num(p.area_km2, 1),
                "top45_km": _num(p.top45_km, 2),
                "vil_kgm2": _num(p.vil_kgm2, 1),
                "hail": p.hail,
            }
            for p in track.observations
        ],
        "speed_mps": _num(motion.speed_mps, 2),
        "direction_deg": _num(motion.direction_deg, 1),
        "motion_scatter_mps": _num(motion.scatter_mps, 2),
        "motion_source": motion.source,
        "trend": trend.overall,
        "trends": {
            "mesh": trend.mesh,
            "top45": trend.top45,
            "vil": trend.vil,
            "max_dbz": trend.max_dbz,
            "mesh_mm_per_h": _num(trend.mesh_mm_per_h, 1),
            "top45_km_per_h": _num(trend.top45_km_per_h, 2),
            "vil_kgm2_per_h": _num(trend.vil_kgm2_per_h, 1),
            "max_dbz_per_h": _num(trend.max_dbz_per_h, 1),
        },
        "nowcast": (
            [
                {
                    "lead_min": step.lead_min,
                    "valid_time": _iso(step.valid_time),
                    "centroid": [_num(step.centroid[0], 5), _num(step.centroid[1], 5)],
                    "radius_m": _num(step.radius_m, 0),
                    "polygon": {
                        "type": "Polygon",
                        "coordinates": [[[_num(x, 5), _num(y, 5)] for x, y in step.polygon]],
                    },
                }
                for step in nowcast.steps
            ]
            if nowcast is not None
            else []
        ),
    }


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _track(args: Any) -> str:
    levels = resolve_levels(args)
    results = _detect_all(args.paths, levels)
    for r in results:
        if not r.complete:
            print(
                f"{PROG}: warning: {r.source}: incomplete volume ({r.sweeps_read} of "
                f"{r.sweeps_expected if r.sweeps_expected is not None else '?'} sweeps): "
                f"{' '.join(str(r.incomplete_reason).split())}",
                file=sys.stderr,
            )
    tracks, nowcasts = run_tracking(results)
    return json.dumps(
        tracks_document(results, tracks, nowcasts), ensure_ascii=False, allow_nan=False
    )


def track_main(argv: Sequence[str] | None = None) -> int:
    """Run ``hailops radar track`` with ``argv`` (the arguments after ``track``)."""
    return run_command(PROG, _parser(), argv, _track)


if __name__ == "__main__":
    sys.exit(track_main())
