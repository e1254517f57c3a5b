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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from radar.tracking import (
    GROWING,
    LocalProjection,
    Track,
    TrackPoint,
    direction_toward_deg,
    projection_near,
    translate_all,
)
from radar.tracking.geometry import _outlines_xy, grid_motions

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


class NowcastStep:
    """One lead of a nowcast.  ``outline`` (the translated hail-core outline) and ``polygon``
    (the outline buffered by ``radius_m``) are (lon, lat) rings; they are kept as arrays and
    turned into tuples only when asked for (the GeoJSON is made from the arrays)."""

    __slots__ = ("lead_min", "valid_time", "centroid", "radius_m", "_outline", "_polygon")

    def __init__(
        self,
        lead_min: float,
        valid_time: datetime,
        centroid: tuple[float, float],
        outline: Any,
        radius_m: float,
        polygon: Any,
    ) -> None:
        self.lead_min = lead_min
        self.valid_time = valid_time
        self.centroid = centroid  # (lon, lat)
        self.radius_m = radius_m
        # a callable: the outline is projected back to lon/lat only when asked for
        self._outline = outline if callable(outline) else np.asarray(outline, float).reshape(-1, 2)
        self._polygon = np.asarray(polygon, float).reshape(-1, 2)

    @property
    def outline(self) -> tuple[tuple[float, float], ...]:
        if callable(self._outline):
            self._outline = self._outline()
        return tuple(map(tuple, self._outline.tolist()))

    @property
    def polygon(self) -> tuple[tuple[float, float], ...]:
        return tuple(map(tuple, self._polygon.tolist()))

    def geojson(self) -> dict[str, Any]:
        """The uncertainty polygon as a GeoJSON Polygon (WGS84 ``[lon, lat]``)."""
        return {"type": "Polygon", "coordinates": [self._polygon.tolist()]}

    def to_dict(self) -> dict[str, Any]:
        return {
            "lead_min": self.lead_min,
            "valid_time": self.valid_time.isoformat(),
            "centroid": list(self.centroid),
            "radius_m": self.radius_m,
            "polygon": self.geojson(),
        }


class TrackNowcast:
    """The extrapolated future of one track, issued at its last observation.

    Nowcasts are computed in batches (:func:`nowcast_tracks`); a handle computes its batch
    the first time anything geometric (``steps``, outlines, arrival times) is asked of it.
    """

    __slots__ = (
        "_batch",
        "_index",
        "config",
        "track_id",
        "issued_at",
        "centroid",
        "outline",
        "u_mps",
        "v_mps",
        "scatter_mps",
    )

    def __init__(self, batch: _Batch, index: int) -> None:
        track = batch.tracks[index]
        last = track.last
        self._batch = batch
        self._index = index
        self.config: NowcastConfig = batch.config
        self.track_id: str = track.id
        self.issued_at: datetime = last.scan_time
        self.centroid: tuple[float, float] = last.centroid
        self.outline: tuple[tuple[float, float], ...] = last.outline
        self.u_mps: float = track.motion.u_mps
        self.v_mps: float = track.motion.v_mps
        self.scatter_mps: float = track.motion.scatter_mps

    @property
    def computed(self) -> bool:
        """Whether the geometry of this nowcast's batch has been computed yet."""
        return self._batch.done

    @property
    def steps(self) -> tuple[NowcastStep, ...]:
        return self._batch.steps(self._index)

    @property
    def _projection(self) -> LocalProjection:
        return self._batch.projection

    @property
    def _outline_xy(self) -> BaseGeometry:
        return self._batch.outline_xy()[self._index]

    @property
    def _grid_uv(self) -> tuple[float, float]:
        uv = self._batch.grid_uv()[self._index]
        return float(uv[0]), float(uv[1])

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
        u, v = self._grid_uv
        lon, lat = self._projection.to_lonlat(cx + u * lead_s, cy + v * lead_s)
        return float(lon), float(lat)

    def outlines_at(self, leads_s: Sequence[float], *, buffered: bool = False) -> np.ndarray:
        """Forecast outlines (shapely, lon/lat) at the given leads in seconds."""
        return _to_lonlat(self._outlines_xy(leads_s, buffered), self._projection)

    def _outlines_xy(self, leads_s: Sequence[float], buffered: bool) -> np.ndarray:
        leads = np.asarray(leads_s, float)
        u, v = self._grid_uv
        shifts = np.column_stack([u * leads, v * leads])
        polys = _translate_copies(self._outline_xy, shifts)
        if buffered:
            radii = np.array([self.radius_m(t) for t in leads])
            polys = shapely.buffer(polys, radii, quad_segs=self.config.buffer_segments)
        return polys

    def _swept_xy(self, *, buffered: bool = False, horizon_s: float | None = None) -> Any:
        """A polygon (projection metres) containing every outline from issue to ``horizon_s``.

        The outline only translates and its radius grows linearly with the lead, so the
        convex hull of the outlines at both ends, widened by the largest radius (+5 % and
        100 m for the polygonal buffers), contains every outline in between.
        """
        horizon = self.config.horizon_min * 60.0 if horizon_s is None else horizon_s
        u, v = self._grid_uv
        shifts = np.array([[0.0, 0.0], [u * horizon, v * horizon]])
        ends = _translate_copies(self._outline_xy, shifts)
        hull = shapely.convex_hull(shapely.union(ends[0], ends[1]))
        if buffered:
            hull = shapely.buffer(hull, self.radius_m(horizon) * 1.05 + 100.0, quad_segs=8)
        return hull

    def swept_area(self, *, buffered: bool = False, horizon_s: float | None = None) -> BaseGeometry:
        """:meth:`_swept_xy` in lon/lat: the area the cell can reach before ``horizon_s``."""
        hull = self._swept_xy(buffered=buffered, horizon_s=horizon_s)
        return _to_lonlat(np.array([hull], dtype=object), self._projection)[0]

    def cone(self, *, step_s: float = 60.0) -> BaseGeometry:
        """Union of the buffered outlines swept every ``step_s`` up to the horizon (lon/lat)."""
        leads = np.arange(0.0, self.config.horizon_min * 60.0 + 0.5 * step_s, step_s)
        u, v = self._grid_uv
        shifts = np.column_stack([u * leads, v * leads])
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


class _Batch:
    """The nowcasts of several tracks sharing one projection, computed together (vectorised:
    one projection call for all outlines, one shapely call per operation) on first use."""

    def __init__(
        self, tracks: Sequence[Track], config: NowcastConfig, projection: LocalProjection
    ) -> None:
        self.tracks = list(tracks)
        self.config = config
        self.projection = projection
        self._outline_xy: np.ndarray | None = None
        self._grid_uv: np.ndarray | None = None
        self._steps: list[tuple[NowcastStep, ...]] | None = None

    @property
    def done(self) -> bool:
        return self._steps is not None

    def outline_xy(self) -> np.ndarray:
        if self._outline_xy is None:
            polys, self._centroid_xy = _outline_polygons(
                [t.last for t in self.tracks], self.projection
            )
            if self.config.simplify_m > 0:
                polys = shapely.simplify(polys, self.config.simplify_m, preserve_topology=True)
            self._outline_xy = polys
        return self._outline_xy

    def grid_uv(self) -> np.ndarray:
        if self._grid_uv is None:
            self._grid_uv = grid_motions(
                self.projection,
                np.array([t.last.centroid[0] for t in self.tracks]),
                np.array([t.last.centroid[1] for t in self.tracks]),
                np.array([t.motion.u_mps for t in self.tracks]),
                np.array([t.motion.v_mps for t in self.tracks]),
            )
        return self._grid_uv

    def steps(self, index: int) -> tuple[NowcastStep, ...]:
        if self._steps is None:
            self._steps = self._compute()
        return self._steps[index]

    def _compute(self) -> list[tuple[NowcastStep, ...]]:
        config = self.config
        n = len(self.tracks)
        leads_min = list(config.leads_min)
        n_leads = len(leads_min)
        if n == 0 or n_leads == 0:
            return [() for _ in range(n)]
        outline_xy = self.outline_xy()
        grid_uv = self.grid_uv()
        leads_s = np.array([lead * 60.0 for lead in leads_min])
        shifts = (grid_uv[:, None, :] * leads_s[None, :, None]).reshape(-1, 2)
        moved = translate_all(np.repeat(outline_xy, n_leads), shifts)
        speed = np.array([math.hypot(t.motion.u_mps, t.motion.v_mps) for t in self.tracks])
        scatter = np.array([t.motion.scatter_mps for t in self.tracks])
        radii = (
            config.r0_m
            + (np.maximum(scatter, config.scatter_floor_mps) + config.speed_fraction * speed)[
                :, None
            ]
            * np.maximum(leads_s, 0.0)[None, :]
        )
        buffered = shapely.buffer(moved, radii.ravel(), quad_segs=config.buffer_segments)
        rings = _exteriors(_to_lonlat(buffered, self.projection))
        projection = self.projection

        def outline_of(k: int) -> Callable[[], np.ndarray]:
            return lambda: _exteriors(_to_lonlat(moved[k : k + 1], projection))[0]

        cx = self._centroid_xy[:, 0][:, None] + grid_uv[:, 0][:, None] * leads_s[None, :]
        cy = self._centroid_xy[:, 1][:, None] + grid_uv[:, 1][:, None] * leads_s[None, :]
        lon, lat = self.projection.to_lonlat(cx.ravel(), cy.ravel())
        lon_l, lat_l, radii_l = lon.tolist(), lat.tolist(), radii.ravel().tolist()
        out = []
        for i, track in enumerate(self.tracks):
            issued = track.last.scan_time
            steps = []
            for j, lead in enumerate(leads_min):
                k = i * n_leads + j
                steps.append(
                    NowcastStep(
                        lead_min=lead,
                        valid_time=issued + timedelta(minutes=lead),
                        centroid=(lon_l[k], lat_l[k]),
                        outline=outline_of(k),
                        radius_m=radii_l[k],
                        polygon=rings[k],
                    )
                )
            out.append(tuple(steps))
        return out


def is_threat(track: Track) -> bool:
    """Tracks whose nowcast and arrival times are computed first: hail cells, and growing
    cells of 45 dBZ or more (the cells that may become hail within the hour)."""
    last = track.last
    return bool(last.hail) or (track.trend.overall == GROWING and last.max_dbz >= 45.0)


def nowcast_track(
    track: Track,
    config: NowcastConfig | None = None,
    projection: LocalProjection | None = None,
) -> TrackNowcast:
    """Extrapolate one track from its last observation (see the module docstring)."""
    config = config or NowcastConfig()
    projection = projection or projection_near(*track.last.centroid)
    nowcast = TrackNowcast(_Batch([track], config, projection), 0)
    nowcast.steps  # noqa: B018  (computed now, as callers of a single nowcast expect)
    return nowcast


def nowcast_tracks(
    tracks: Iterable[Track],
    config: NowcastConfig | None = None,
    *,
    first: Callable[[Track], bool] = is_threat,
) -> list[TrackNowcast]:
    """Nowcasts of the active tracks, sharing one projection.

    The tracks for which ``first`` is true (by default :func:`is_threat`: hail and growing
    cells) are computed at once, in one vectorised batch; the others form a second batch
    computed the first time any of them is used (``steps``, ``to_dict``, arrival times).
    The projection origin is the mean last centroid snapped to a 1° grid (so consecutive
    volumes reuse the cached transformer).  Within a radar's reach (≤ 300 km) the aeqd shape
    distortion of a translated outline is below 0.1 %, and the motion vector is converted to
    the grid axes at each cell (:func:`radar.tracking.grid_motion`), so sharing costs no
    accuracy.
    """
    config = config or NowcastConfig()
    active = [t for t in tracks if t.active]
    if not active:
        return []
    lon = float(np.mean([t.last.centroid[0] for t in active]))
    lat = float(np.mean([t.last.centroid[1] for t in active]))
    projection = projection_near(lon, lat, grid_deg=1.0)
    urgent = [first(t) for t in active]
    handles: list[TrackNowcast | None] = [None] * len(active)
    for want in (True, False):
        members = [i for i, u in enumerate(urgent) if u == want]
        if not members:
            continue
        batch = _Batch([active[i] for i in members], config, projection)
        for index, i in enumerate(members):
            handles[i] = TrackNowcast(batch, index)
        if want:
            batch.steps(0)
    return [h for h in handles if h is not None]


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

    The geometry is done in the nowcast's projection, where the outline only translates:
    the targets are densified to 500 m edges and projected once per set of targets (cached),
    a spatial index picks the targets within the area the cell can sweep before the horizon
    (:meth:`TrackNowcast.swept_area`), and only those are tested.
    """
    config = track_nowcast.config
    horizon_s = (config.horizon_min if horizon_min is None else horizon_min) * 60.0
    step = config.arrival_step_s if step_s is None else step_s
    leads = np.arange(0.0, horizon_s + 0.5 * step, step)
    leads = leads[leads <= horizon_s]
    names = list(targets)
    result: dict[str, datetime | None] = dict.fromkeys(names)
    if not names or leads.size == 0:
        return result
    projected = _projected_targets(targets, names, track_nowcast._projection)
    reach = track_nowcast._swept_xy(buffered=buffered, horizon_s=float(leads[-1]))
    near = projected.tree.query(reach, predicate="intersects")
    if near.size == 0:
        return result
    near = np.sort(near)
    geoms = projected.geoms[near]
    moving = track_nowcast._outlines_xy(leads.tolist(), buffered)
    tree = shapely.STRtree(moving)
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
                poly = track_nowcast._outlines_xy([mid], buffered)[0]
                if shapely.intersects(poly, target):
                    hi = mid
                else:
                    lo = mid
            lead = hi
        result[names[int(near[ti])]] = track_nowcast.issued_at + timedelta(seconds=lead)
    return result


@dataclass(frozen=True, eq=False)
class _ProjectedTargets:
    keep: tuple[Any, ...]  # the lon/lat geometries (kept alive: the cache key holds their ids)
    geoms: np.ndarray  # densified, in projection metres
    tree: shapely.STRtree


_TARGET_CACHE: dict[tuple[Any, ...], _ProjectedTargets] = {}
_TARGET_EDGE_DEG = 0.005  # ~500 m: a straight lon/lat edge and its projection differ by < 1 cm


def _projected_targets(
    targets: Mapping[str, BaseGeometry], names: list[str], projection: LocalProjection
) -> _ProjectedTargets:
    """The targets in projection metres with a spatial index, cached per target set."""
    lonlat = tuple(targets[n] for n in names)
    key = (projection.lon0, projection.lat0, tuple(names), tuple(id(g) for g in lonlat))
    hit = _TARGET_CACHE.get(key)
    if hit is not None:
        return hit
    dense = shapely.segmentize(np.array(lonlat, dtype=object), _TARGET_EDGE_DEG)
    geoms = _to_xy(dense, projection)
    value = _ProjectedTargets(lonlat, geoms, shapely.STRtree(geoms))
    if len(_TARGET_CACHE) >= 16:
        _TARGET_CACHE.pop(next(iter(_TARGET_CACHE)))
    _TARGET_CACHE[key] = value
    return value


# --------------------------------------------------------------------------- helpers


def _outline_polygons(
    points: Sequence[TrackPoint], projection: LocalProjection
) -> tuple[np.ndarray, np.ndarray]:
    """Outlines (shapely, projection metres) and centroids (n, 2) of the points."""
    xy, polys = _outlines_xy(points, projection)
    return polys, xy


def _exteriors(geoms: np.ndarray) -> list[np.ndarray]:
    """Exterior rings (n, 2) of every geometry as in :func:`_exterior` (polygons vectorised)."""
    out: list[np.ndarray] = [np.zeros((0, 2))] * len(geoms)
    if len(geoms) == 0:
        return out
    simple = (shapely.get_type_id(geoms) == 3) & ~shapely.is_empty(geoms)
    idx = np.flatnonzero(simple)
    if idx.size:
        coords, owner = shapely.get_coordinates(
            shapely.get_exterior_ring(geoms[idx]), return_index=True
        )
        bounds = np.searchsorted(owner, np.arange(1, idx.size))
        for i, chunk in zip(idx.tolist(), np.split(coords, bounds), strict=True):
            out[i] = chunk
    for i in np.flatnonzero(~simple).tolist():
        out[i] = np.asarray(_exterior(geoms[i]), float).reshape(-1, 2)
    return out


def _translate_copies(poly: BaseGeometry, shifts: np.ndarray) -> np.ndarray:
    polys = np.array([poly] * len(shifts), dtype=object)
    if len(polys) == 0:
        return polys
    _, index = shapely.get_coordinates(polys, return_index=True)
    offsets = np.asarray(shifts, float)[index]
    moved: np.ndarray = shapely.transform(polys, lambda coords: coords + offsets)
    return moved


def _to_xy(geoms: np.ndarray, projection: LocalProjection) -> np.ndarray:
    def forward(coords: np.ndarray) -> np.ndarray:
        x, y = projection.to_xy(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    xy: np.ndarray = shapely.transform(geoms, forward)
    return xy


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
