"""Nowcast: where a tracked cell will be in the next hour, with an honest uncertainty.

Method (TITAN-style linear extrapolation, Dixon & Wiener 1993):

* The cell moves with its track's fitted motion (``Track.motion``, true east/north m/s).
  The forecast outline at lead ``t`` is the current outline translated by ``(u t, v t)`` in a
  local azimuthal equidistant projection near the cell; the forecast centroid likewise.
* Uncertainty radius ``r(t) = r0 + (sigma_v + k * speed) * t`` (metres; ``t`` in seconds):
  ``r0`` covers the centroid and outline error of the current analysis, ``sigma_v`` is the
  track's motion scatter (1-sigma standard error of the fitted velocity, floored at
  ``scatter_floor_mps``) and ``k * speed`` the drift of speed and direction of real storms
  that no history fit can see (``k = 0.1``: a 10 % speed error or a 6° turn).
* The nowcast polygon at a lead is the translated outline buffered by ``r(t)``; the union of
  the polygons swept every minute is the "cone" of the cell's possible path.
* :func:`arrival_times` samples the moving outline every ``step_s`` seconds up to the
  horizon and refines the first contact with each target by bisection to one second.

Extrapolation skill falls quickly after about 30 minutes; the radius grows linearly so the
60-minute polygons are wide on purpose.  Verification on synthetic sequences is in
``radar/NOWCAST.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from bench.reference.tracking_v1 import (
    LocalProjection,
    Track,
    direction_toward_deg,
    grid_motion,
    projection_near,
)

DEFAULT_LEADS_MIN: tuple[int, ...] = (10, 20, 30, 45, 60)


@dataclass(frozen=True)
class NowcastConfig:
    """Nowcast parameters; see the module docstring for the radius formula."""

    leads_min: tuple[int, ...] = DEFAULT_LEADS_MIN
    r0_m: float = 2000.0
    speed_fraction: float = 0.1  # k
    scatter_floor_mps: float = 0.5
    buffer_segments: int = 4  # quarter-circle segments of the buffer
    simplify_m: float = 100.0  # outline simplification tolerance before extrapolation
    horizon_min: float = 60.0
    arrival_step_s: float = 60.0


def uncertainty_radius_m(
    lead_s: float, speed_mps: float, scatter_mps: float, config: NowcastConfig | None = None
) -> float:
    """``r(t) = r0 + (max(sigma_v, floor) + k * speed) * t`` in metres, ``t`` in seconds."""
    config = config or NowcastConfig()
    sigma = max(scatter_mps, config.scatter_floor_mps)
    return config.r0_m + (sigma + config.speed_fraction * speed_mps) * max(lead_s, 0.0)


@dataclass(frozen=True)
class NowcastStep:
    lead_min: float
    valid_time: datetime
    centroid: tuple[float, float]  # (lon, lat)
    outline: tuple[tuple[float, float], ...]  # translated hail-core outline (lon, lat)
    radius_m: float
    polygon: tuple[tuple[float, float], ...]  # outline buffered by radius_m (lon, lat)

    def geojson(self) -> dict[str, Any]:
        """The uncertainty polygon as a GeoJSON Polygon (WGS84 ``[lon, lat]``)."""
        return {"type": "Polygon", "coordinates": [[list(p) for p in self.polygon]]}

    def to_dict(self) -> dict[str, Any]:
        return {
            "lead_min": self.lead_min,
            "valid_time": self.valid_time.isoformat(),
            "centroid": list(self.centroid),
            "radius_m": self.radius_m,
            "polygon": self.geojson(),
        }


@dataclass(frozen=True, eq=False)
class TrackNowcast:
    """The extrapolated future of one track, issued at its last observation."""

    track_id: str
    issued_at: datetime
    centroid: tuple[float, float]
    outline: tuple[tuple[float, float], ...]
    u_mps: float
    v_mps: float
    scatter_mps: float
    steps: tuple[NowcastStep, ...]
    config: NowcastConfig
    _projection: LocalProjection
    _outline_xy: Any  # shapely Polygon in projection metres
    _grid_uv: tuple[float, float]

    @property
    def speed_mps(self) -> float:
        return math.hypot(self.u_mps, self.v_mps)

    @property
    def direction_deg(self) -> float:
        return direction_toward_deg(self.u_mps, self.v_mps)

    def radius_m(self, lead_s: float) -> float:
        return uncertainty_radius_m(lead_s, self.speed_mps, self.scatter_mps, self.config)

    def centroid_at(self, lead_s: float) -> tuple[float, float]:
        cx, cy = self._projection.to_xy(self.centroid[0], self.centroid[1])
        lon, lat = self._projection.to_lonlat(
            cx + self._grid_uv[0] * lead_s, cy + self._grid_uv[1] * lead_s
        )
        return float(lon), float(lat)

    def outlines_at(self, leads_s: Sequence[float], *, buffered: bool = False) -> np.ndarray:
        """Forecast outlines (shapely, lon/lat) at the given leads in seconds."""
        return _to_lonlat(self._outlines_xy(leads_s, buffered), self._projection)

    def _outlines_xy(self, leads_s: Sequence[float], buffered: bool) -> np.ndarray:
        leads = np.asarray(leads_s, float)
        shifts = np.column_stack([self._grid_uv[0] * leads, self._grid_uv[1] * leads])
        polys = _translate_copies(self._outline_xy, shifts)
        if buffered:
            radii = np.array([self.radius_m(t) for t in leads])
            polys = shapely.buffer(polys, radii, quad_segs=self.config.buffer_segments)
        return polys

    def cone(self, *, step_s: float = 60.0) -> BaseGeometry:
        """Union of the buffered outlines swept every ``step_s`` up to the horizon (lon/lat)."""
        leads = np.arange(0.0, self.config.horizon_min * 60.0 + 0.5 * step_s, step_s)
        shifts = np.column_stack([self._grid_uv[0] * leads, self._grid_uv[1] * leads])
        radii = np.array([self.radius_m(t) for t in leads])
        polys = shapely.buffer(
            _translate_copies(self._outline_xy, shifts),
            radii,
            quad_segs=self.config.buffer_segments,
        )
        hulls = [
            shapely.convex_hull(shapely.union(a, b))
            for a, b in zip(polys[:-1], polys[1:], strict=True)
        ] or list(polys)
        return _to_lonlat(np.array([shapely.union_all(hulls)], dtype=object), self._projection)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "track_id": self.track_id,
            "issued_at": self.issued_at.isoformat(),
            "speed_mps": self.speed_mps,
            "direction_deg": self.direction_deg,
            "scatter_mps": self.scatter_mps,
            "steps": [s.to_dict() for s in self.steps],
        }


def nowcast_track(
    track: Track,
    config: NowcastConfig | None = None,
    projection: LocalProjection | None = None,
) -> TrackNowcast:
    """Extrapolate one track from its last observation (see the module docstring)."""
    config = config or NowcastConfig()
    last = track.last
    projection = projection or projection_near(*last.centroid)
    u, v = track.motion.u_mps, track.motion.v_mps
    grid_uv = grid_motion(projection, last.centroid[0], last.centroid[1], u, v)
    outline_xy = _outline_polygon(last.outline, last.centroid, last.area_km2, projection)
    if config.simplify_m > 0:
        outline_xy = shapely.simplify(outline_xy, config.simplify_m, preserve_topology=True)
    base = TrackNowcast(
        track_id=track.id,
        issued_at=last.scan_time,
        centroid=last.centroid,
        outline=last.outline,
        u_mps=u,
        v_mps=v,
        scatter_mps=track.motion.scatter_mps,
        steps=(),
        config=config,
        _projection=projection,
        _outline_xy=outline_xy,
        _grid_uv=grid_uv,
    )
    leads_s = [lead * 60.0 for lead in config.leads_min]
    n = len(leads_s)
    both = _to_lonlat(
        np.concatenate([base._outlines_xy(leads_s, False), base._outlines_xy(leads_s, True)]),
        projection,
    )
    outlines, buffered = both[:n], both[n:]
    cx, cy = projection.to_xy(last.centroid[0], last.centroid[1])
    lon, lat = projection.to_lonlat(
        cx + grid_uv[0] * np.asarray(leads_s), cy + grid_uv[1] * np.asarray(leads_s)
    )
    steps = tuple(
        NowcastStep(
            lead_min=lead,
            valid_time=last.scan_time + timedelta(minutes=lead),
            centroid=(float(lon[i]), float(lat[i])),
            outline=_exterior(outlines[i]),
            radius_m=base.radius_m(leads_s[i]),
            polygon=_exterior(buffered[i]),
        )
        for i, lead in enumerate(config.leads_min)
    )
    return replace(base, steps=steps)


def nowcast_tracks(
    tracks: Iterable[Track], config: NowcastConfig | None = None
) -> list[TrackNowcast]:
    """Nowcasts of the active tracks, sharing one projection.

    The projection origin is the mean last centroid snapped to a 1° grid (so consecutive
    volumes reuse the cached transformer).  Within a radar's reach (≤ 300 km) the aeqd shape
    distortion of a translated outline is below 0.1 %, and the motion vector is converted to
    the grid axes at each cell (:func:`radar.tracking.grid_motion`), so sharing costs no
    accuracy.
    """
    active = [t for t in tracks if t.active]
    if not active:
        return []
    lon = float(np.mean([t.last.centroid[0] for t in active]))
    lat = float(np.mean([t.last.centroid[1] for t in active]))
    projection = projection_near(lon, lat, grid_deg=1.0)
    return [nowcast_track(t, config, projection) for t in active]


def arrival_times(
    track_nowcast: TrackNowcast,
    targets: Mapping[str, BaseGeometry],
    *,
    buffered: bool = False,
    horizon_min: float | None = None,
    step_s: float | None = None,
) -> dict[str, datetime | None]:
    """Predicted time the cell's hail core first touches each target, or ``None``.

    ``targets`` are shapely geometries in lon/lat (county polygons, site engagement areas,
    points).  The moving outline (buffered by ``r(t)`` when ``buffered``) is sampled every
    ``step_s`` seconds from 0 to ``horizon_min``; the first contact is refined by bisection
    to one second.  A target already touched at issue time gets ``issued_at``.
    """
    config = track_nowcast.config
    horizon_s = (config.horizon_min if horizon_min is None else horizon_min) * 60.0
    step = config.arrival_step_s if step_s is None else step_s
    leads = np.arange(0.0, horizon_s + 0.5 * step, step)
    leads = leads[leads <= horizon_s]
    names = list(targets)
    result: dict[str, datetime | None] = dict.fromkeys(names)
    if not names:
        return result
    moving = track_nowcast.outlines_at(leads.tolist(), buffered=buffered)
    tree = shapely.STRtree(moving)
    geoms = np.array([targets[n] for n in names], dtype=object)
    hit_target, hit_step = tree.query(geoms, predicate="intersects")
    first: dict[int, int] = {}
    for ti, si in zip(hit_target.tolist(), hit_step.tolist(), strict=True):
        if ti not in first or si < first[ti]:
            first[ti] = si
    for ti, si in first.items():
        target = geoms[ti]
        if si == 0:
            lead = 0.0
        else:
            lo, hi = float(leads[si - 1]), float(leads[si])
            while hi - lo > 1.0:
                mid = 0.5 * (lo + hi)
                poly = track_nowcast.outlines_at([mid], buffered=buffered)[0]
                if shapely.intersects(poly, target):
                    hi = mid
                else:
                    lo = mid
            lead = hi
        result[names[ti]] = track_nowcast.issued_at + timedelta(seconds=lead)
    return result


# --------------------------------------------------------------------------- helpers


def _outline_polygon(
    outline: Sequence[tuple[float, float]],
    centroid: tuple[float, float],
    area_km2: float,
    projection: LocalProjection,
) -> BaseGeometry:
    cx, cy = projection.to_xy(centroid[0], centroid[1])
    if len(outline) >= 4:
        x, y = projection.to_xy([p[0] for p in outline], [p[1] for p in outline])
        poly = shapely.Polygon(np.column_stack([x, y]))
        if not poly.is_valid:
            poly = shapely.make_valid(poly)
        if not poly.is_empty and poly.area > 0.0:
            return poly
    radius = math.sqrt(max(area_km2, 1e-6) / math.pi) * 1000.0
    return shapely.Point(float(cx), float(cy)).buffer(radius, 16)


def _translate_copies(poly: BaseGeometry, shifts: np.ndarray) -> np.ndarray:
    polys = np.array([poly] * len(shifts), dtype=object)
    if len(polys) == 0:
        return polys
    _, index = shapely.get_coordinates(polys, return_index=True)
    offsets = np.asarray(shifts, float)[index]
    moved: np.ndarray = shapely.transform(polys, lambda coords: coords + offsets)
    return moved


def _to_lonlat(polys: np.ndarray, projection: LocalProjection) -> np.ndarray:
    def inverse(coords: np.ndarray) -> np.ndarray:
        lon, lat = projection.to_lonlat(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    lonlat: np.ndarray = shapely.transform(polys, inverse)
    return lonlat


def _exterior(geom: BaseGeometry) -> tuple[tuple[float, float], ...]:
    """Exterior ring of a polygon (the largest part of a multipolygon), as (lon, lat) tuples."""
    if geom.geom_type == "MultiPolygon" or geom.geom_type == "GeometryCollection":
        parts = [g for g in getattr(geom, "geoms", ()) if g.geom_type == "Polygon"]
        if not parts:
            return ()
        geom = max(parts, key=lambda g: g.area)
    if geom.geom_type != "Polygon" or geom.is_empty:
        return ()
    return tuple(map(tuple, shapely.get_coordinates(geom.exterior).tolist()))
