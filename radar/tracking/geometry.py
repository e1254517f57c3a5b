"""Geometry of the tracker: local projections, motion conversions, outlines and overlaps."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pyproj import Geod, Transformer

if TYPE_CHECKING:
    from radar.tracking.model import TrackPoint

_GEOD = Geod(ellps="WGS84")


# --------------------------------------------------------------------------- projection


@dataclass(frozen=True, eq=False)
class LocalProjection:
    """Azimuthal equidistant projection (metres, x east, y north) centred on ``(lon0, lat0)``."""

    lon0: float
    lat0: float
    _forward: Transformer = field(repr=False)
    _inverse: Transformer = field(repr=False)

    def to_xy(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._forward.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x, float), np.asarray(y, float)

    def to_lonlat(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = self._inverse.transform(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(lon, float), np.asarray(lat, float)


@lru_cache(maxsize=256)
def _cached_projection(lon0: float, lat0: float) -> LocalProjection:
    crs = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m +no_defs"
    return LocalProjection(
        lon0,
        lat0,
        Transformer.from_crs("EPSG:4326", crs, always_xy=True),
        Transformer.from_crs(crs, "EPSG:4326", always_xy=True),
    )


def projection_near(lon: float, lat: float, grid_deg: float = 0.5) -> LocalProjection:
    """Local projection whose origin is ``(lon, lat)`` rounded to ``grid_deg``.

    Building a pyproj transformer costs milliseconds, so origins are snapped to a grid and
    cached; within half a grid step (≤ 40 km) the aeqd scale error is below 1e-5.
    """
    lon0 = round(round(lon / grid_deg) * grid_deg, 6)
    lat0 = round(round(lat / grid_deg) * grid_deg, 6)
    return _cached_projection(lon0, lat0)


def true_motion(
    projection: LocalProjection, x: float, y: float, u_grid: float, v_grid: float
) -> tuple[float, float]:
    """Convert a velocity in projection axes at ``(x, y)`` to true (east, north) m/s.

    The displacement over one hour is mapped back to the ellipsoid and measured with the
    geodesic, which removes grid convergence and scale error far from the origin.
    """
    if u_grid == 0.0 and v_grid == 0.0:
        return 0.0, 0.0
    lon, lat = projection.to_lonlat([x, x + u_grid * 3600.0], [y, y + v_grid * 3600.0])
    azimuth, _, distance = _GEOD.inv(lon[0], lat[0], lon[1], lat[1])
    speed = distance / 3600.0
    return speed * math.sin(math.radians(azimuth)), speed * math.cos(math.radians(azimuth))


def grid_motion(
    projection: LocalProjection, lon: float, lat: float, u: float, v: float
) -> tuple[float, float]:
    """Inverse of :func:`true_motion`: true (east, north) m/s to projection axes at a point."""
    speed = math.hypot(u, v)
    if speed == 0.0:
        return 0.0, 0.0
    azimuth = math.degrees(math.atan2(u, v))
    lon2, lat2, _ = _GEOD.fwd(lon, lat, azimuth, speed * 3600.0)
    x, y = projection.to_xy([lon, lon2], [lat, lat2])
    return float(x[1] - x[0]) / 3600.0, float(y[1] - y[0]) / 3600.0


def grid_motions(projection: LocalProjection, lon: Any, lat: Any, u: Any, v: Any) -> np.ndarray:
    """:func:`grid_motion` of many points at once: an (n, 2) array of grid m/s."""
    lon, lat, u, v = (np.asarray(a, float).ravel() for a in (lon, lat, u, v))
    out = np.zeros((lon.size, 2))
    moving = (u != 0.0) | (v != 0.0)
    if not moving.any():
        return out
    speed = np.hypot(u[moving], v[moving])
    azimuth = np.degrees(np.arctan2(u[moving], v[moving]))
    lon2, lat2, _ = _GEOD.fwd(lon[moving], lat[moving], azimuth, speed * 3600.0)
    m = int(moving.sum())
    x, y = projection.to_xy(
        np.concatenate([lon[moving], lon2]), np.concatenate([lat[moving], lat2])
    )
    out[moving, 0] = (x[m:] - x[:m]) / 3600.0
    out[moving, 1] = (y[m:] - y[:m]) / 3600.0
    return out


def true_motions(projection: LocalProjection, xy: Any, uv_grid: Any) -> np.ndarray:
    """:func:`true_motion` of many points at once: (n, 2) positions and grid velocities
    (projection metres, m/s) to an (n, 2) array of true (east, north) m/s."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    uv = np.asarray(uv_grid, float).reshape(-1, 2)
    out = np.zeros_like(uv)
    moving = (uv[:, 0] != 0.0) | (uv[:, 1] != 0.0)
    if not moving.any():
        return out
    m = int(moving.sum())
    x, y = xy[moving, 0], xy[moving, 1]
    lon, lat = projection.to_lonlat(
        np.concatenate([x, x + uv[moving, 0] * 3600.0]),
        np.concatenate([y, y + uv[moving, 1] * 3600.0]),
    )
    azimuth, _, distance = _GEOD.inv(lon[:m], lat[:m], lon[m:], lat[m:])
    speed = np.asarray(distance) / 3600.0
    rad = np.radians(np.asarray(azimuth))
    out[moving, 0] = speed * np.sin(rad)
    out[moving, 1] = speed * np.cos(rad)
    return out


def direction_toward_deg(u_mps: float, v_mps: float) -> float:
    """Direction a motion (east, north components) points toward, degrees clockwise from north."""
    if u_mps == 0.0 and v_mps == 0.0:
        return 0.0
    return math.degrees(math.atan2(u_mps, v_mps)) % 360.0


_OUTLINE_CACHE: OrderedDict[tuple[Any, ...], tuple[float, float, Any]] = OrderedDict()
_OUTLINE_CACHE_SIZE = 8192  # a few volumes of hundreds of cells


def _outline_key(point: TrackPoint, projection: LocalProjection) -> tuple[Any, ...]:
    # a cell is identified by its scan time, id and centroid; the outline length guards
    # against a caller reusing an id with another outline
    return (
        projection.lon0,
        projection.lat0,
        point.scan_time,
        point.cell_id,
        point.centroid,
        len(point.outline),
        point.area_km2,
    )


def _outlines_xy(
    points: Sequence[TrackPoint], projection: LocalProjection
) -> tuple[np.ndarray, np.ndarray]:
    """Centroids (n, 2) and outline polygons of the points in projection metres.

    One projection call for every vertex and vectorised polygon construction; a point
    without a usable outline (fewer than four vertices, empty or of zero area) gets a disc
    of its area around the centroid.  Results are cached by cell (scan time, id, centroid)
    and projection: a volume's new cells are the next volume's track ends, so each outline
    is projected once even when the state is rebuilt from JSON between volumes.
    """
    n = len(points)
    if n == 0:
        return np.zeros((0, 2)), np.array([], dtype=object)
    keys = [_outline_key(p, projection) for p in points]
    xy = np.empty((n, 2))
    polys = np.empty(n, dtype=object)
    todo = []
    for i, key in enumerate(keys):
        hit = _OUTLINE_CACHE.get(key)
        if hit is None:
            todo.append(i)
        else:
            xy[i] = hit[0], hit[1]
            polys[i] = hit[2]
    if todo:
        fresh_xy, fresh = _project_outlines([points[i] for i in todo], projection)
        for k, i in enumerate(todo):
            xy[i] = fresh_xy[k]
            polys[i] = fresh[k]
            _OUTLINE_CACHE[keys[i]] = (float(fresh_xy[k, 0]), float(fresh_xy[k, 1]), fresh[k])
        while len(_OUTLINE_CACHE) > _OUTLINE_CACHE_SIZE:
            _OUTLINE_CACHE.popitem(last=False)
    return xy, polys


def _project_outlines(
    points: Sequence[TrackPoint], projection: LocalProjection
) -> tuple[np.ndarray, np.ndarray]:
    n = len(points)
    sizes = np.array([len(p.outline) if len(p.outline) >= 4 else 0 for p in points], dtype=int)
    lon = [p.centroid[0] for p in points]
    lat = [p.centroid[1] for p in points]
    for p, size in zip(points, sizes.tolist(), strict=True):
        if size:
            lon.extend(q[0] for q in p.outline)
            lat.extend(q[1] for q in p.outline)
    x, y = projection.to_xy(lon, lat)
    xy = np.column_stack([x[:n], y[:n]])
    polys = np.empty(n, dtype=object)
    has = sizes > 0
    if has.any():
        coords = np.column_stack([x[n:], y[n:]])
        index = np.repeat(np.arange(int(has.sum())), sizes[has])
        made = shapely.polygons(shapely.linearrings(coords, indices=index))
        invalid = ~shapely.is_valid(made)
        if invalid.any():
            made[invalid] = shapely.make_valid(made[invalid])
        polys[has] = made
    for i in range(n):
        poly = polys[i]
        if poly is None or poly.is_empty or poly.area <= 0.0:
            radius = math.sqrt(max(points[i].area_km2, 1e-6) / math.pi) * 1000.0
            polys[i] = shapely.Point(float(xy[i, 0]), float(xy[i, 1])).buffer(radius, 16)
    return xy, polys


def translate_all(polys: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Translate each geometry ``polys[i]`` by ``shift[i] = (dx, dy)`` (vectorised)."""
    if len(polys) == 0:
        return polys
    _, index = shapely.get_coordinates(polys, return_index=True)
    offsets = np.asarray(shift, float)[index]
    moved: np.ndarray = shapely.transform(polys, lambda coords: coords + offsets)
    return moved


def _overlap_matrix(pred: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Overlap of every (predicted, new) pair.

    Returns ``I / min(A_pred, A_new)`` (does the smaller one lie mostly inside the other?
    used for merges and splits) and ``I / sqrt(A_pred · A_new)`` (the geometric mean of both
    fractions: how well the two correspond one to one, used for matching).
    """
    frac = np.zeros((len(pred), len(new)))
    mutual = np.zeros_like(frac)
    if len(pred) == 0 or len(new) == 0:
        return frac, mutual
    tree = shapely.STRtree(new)
    ip, jn = tree.query(pred, predicate="intersects")
    if len(ip) == 0:
        return frac, mutual
    inter = shapely.area(shapely.intersection(pred[ip], new[jn]))
    a_pred = np.maximum(shapely.area(pred[ip]), 1e-9)
    a_new = np.maximum(shapely.area(new[jn]), 1e-9)
    frac[ip, jn] = inter / np.minimum(a_pred, a_new)
    mutual[ip, jn] = inter / np.sqrt(a_pred * a_new)
    return frac, mutual
