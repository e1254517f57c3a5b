"""Firing-sector arithmetic, geodesy and the engagement area of a site.

Angles are degrees clockwise from true north.  A :class:`~sites.model.Sector` runs clockwise
from ``start_deg`` to ``end_deg`` and may wrap through north: ``Sector(300, 60)`` is 120°
wide and holds 300..360 and 0..60.  Three special cases:

* full circle: start and end differ by a whole number of turns, e.g. ``Sector(0, 360)``,
  ``Sector(90, 450)`` or ``Sector(360, 0)``;
* degenerate: ``start_deg == end_deg`` (e.g. ``Sector(10, 10)``) holds the single azimuth
  10°, has width 0 and covers no area;
* everything else has width ``(end - start) mod 360``.

Distances and bearings are geodesics on the WGS84 ellipsoid (:class:`pyproj.Geod`).  Areas are
built in metres in an azimuthal-equidistant projection centred on the site
(:class:`LocalFrame`): distances and azimuths *from the centre* are exact there, so a range
disc is a true circle and a sector edge is a true azimuth; the scale error elsewhere is below
1e-5 at 25 km.  Geometries in and out of this module are WGS84 ``(lon, lat)`` unless the
name says ``_local`` (metres, x east, y north, origin at the centre).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Geod, Transformer
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from sites.model import Equipment, Sector, Site

__all__ = [
    "ANGLE_TOLERANCE_DEG",
    "MAX_EDGE_DEG",
    "MAX_EDGE_M",
    "LocalFrame",
    "area_km2",
    "azimuth_in_sector",
    "azimuth_in_sectors",
    "bearing_deg",
    "destination",
    "distance_km",
    "engagement_polygon",
    "engagement_polygon_local",
    "intersect_sectors",
    "is_degenerate",
    "is_full_circle",
    "local_frame",
    "merge_sectors",
    "normalize",
    "sector_contains",
    "sector_width_deg",
    "sectors_polygon_local",
    "to_local",
    "to_lonlat",
]

#: Two azimuths closer than this are the same azimuth (absorbs float round-off at edges).
ANGLE_TOLERANCE_DEG = 1e-9

#: Longest edge (degrees) projected as is into a local frame; longer ones are split first.
MAX_EDGE_DEG = 0.01
#: Longest edge (metres) projected as is back to lon/lat; longer ones are split first.
MAX_EDGE_M = 1000.0

_GEOD = Geod(ellps="WGS84")


# --------------------------------------------------------------------------- sectors


def normalize(azimuth_deg: float) -> float:
    """Return the azimuth folded into ``[0, 360)`` degrees (``-10 -> 350``, ``360 -> 0``)."""
    folded = math.fmod(azimuth_deg, 360.0)
    if folded < 0.0:
        folded += 360.0
    # fmod of a tiny negative number plus 360 can round to exactly 360.
    return 0.0 if folded >= 360.0 else folded


def is_full_circle(sector: Sector) -> bool:
    """True when the sector covers every azimuth (its end is whole turns after its start)."""
    span = abs(sector.end_deg - sector.start_deg)
    turns = round(span / 360.0)
    return turns >= 1 and abs(span - 360.0 * turns) <= ANGLE_TOLERANCE_DEG


def is_degenerate(sector: Sector) -> bool:
    """True when the sector is a single azimuth (``start_deg == end_deg``): no area."""
    return sector.end_deg == sector.start_deg


def sector_width_deg(sector: Sector) -> float:
    """Angular width in degrees, clockwise from start to end: 0 (degenerate) to 360 (full)."""
    if is_full_circle(sector):
        return 360.0
    if is_degenerate(sector):
        return 0.0
    return normalize(sector.end_deg - sector.start_deg)


def _offset_deg(azimuth_deg: float, origin_deg: float) -> float:
    """Clockwise angle from ``origin_deg`` to ``azimuth_deg``, in ``[0, 360)``."""
    offset = normalize(normalize(azimuth_deg) - normalize(origin_deg))
    # An azimuth a hair anticlockwise of the origin is the origin itself, not 359.999...
    return 0.0 if 360.0 - offset <= ANGLE_TOLERANCE_DEG else offset


def azimuth_in_sector(azimuth_deg: float, sector: Sector) -> bool:
    """True when ``azimuth_deg`` lies in the sector, edges included.

    >>> azimuth_in_sector(0, Sector(300, 60)), azimuth_in_sector(180, Sector(300, 60))
    (True, False)
    """
    width = sector_width_deg(sector)
    if width >= 360.0:
        return True
    return _offset_deg(azimuth_deg, sector.start_deg) <= width + ANGLE_TOLERANCE_DEG


def azimuth_in_sectors(azimuth_deg: float, sectors: Iterable[Sector]) -> bool:
    """True when ``azimuth_deg`` lies in any of the sectors."""
    return any(azimuth_in_sector(azimuth_deg, sector) for sector in sectors)


def sector_contains(outer: Sector, inner: Sector) -> bool:
    """True when every azimuth of ``inner`` lies in ``outer`` (edges included).

    Used to check that an ordered or granted firing sector lies inside a site's safe sector.
    """
    outer_width = sector_width_deg(outer)
    # A gap narrower than the tolerance is no gap: the circle is whole (as the intersection
    # and the union join pieces across such a gap).
    if outer_width >= 360.0 - ANGLE_TOLERANCE_DEG:
        return True
    inner_width = sector_width_deg(inner)
    if inner_width >= 360.0:
        return False
    start_offset = _offset_deg(inner.start_deg, outer.start_deg)
    return start_offset + inner_width <= outer_width + ANGLE_TOLERANCE_DEG


def _intervals(sector: Sector) -> list[tuple[float, float]]:
    """The sector as at most two plain intervals inside ``[0, 360]``."""
    width = sector_width_deg(sector)
    if width >= 360.0:
        return [(0.0, 360.0)]
    start = normalize(sector.start_deg)
    end = start + width
    if end <= 360.0:
        return [(start, end)]
    return [(start, 360.0), (0.0, end - 360.0)]


def _sectors_from_intervals(intervals: Iterable[tuple[float, float]]) -> tuple[Sector, ...]:
    """Merge touching/overlapping intervals of ``[0, 360]`` and rejoin pieces across north."""
    merged: list[list[float]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + ANGLE_TOLERANCE_DEG:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    if not merged:
        return ()
    if merged[0][0] <= ANGLE_TOLERANCE_DEG and merged[-1][1] >= 360.0 - ANGLE_TOLERANCE_DEG:
        if len(merged) == 1:
            return (Sector(0.0, 360.0),)
        first = merged.pop(0)
        merged[-1][1] = first[1]  # wraps: start stays, end continues past north
    return tuple(Sector(lo, normalize(hi)) for lo, hi in merged)


def intersect_sectors(a: Sector, b: Sector) -> tuple[Sector, ...]:
    """The azimuths common to ``a`` and ``b``, as zero, one or two sectors.

    Two sectors can share two separate pieces: ``Sector(300, 60)`` and ``Sector(30, 330)``
    share 300–330 and 30–60.  Pieces of zero width (sectors that only touch) are dropped.
    """
    pieces: list[tuple[float, float]] = []
    for a_lo, a_hi in _intervals(a):
        for b_lo, b_hi in _intervals(b):
            lo, hi = max(a_lo, b_lo), min(a_hi, b_hi)
            if hi - lo > ANGLE_TOLERANCE_DEG:
                pieces.append((lo, hi))
    return _sectors_from_intervals(pieces)


def merge_sectors(sectors: Iterable[Sector]) -> tuple[Sector, ...]:
    """The union of sectors as the fewest non-overlapping sectors (degenerate ones dropped)."""
    pieces: list[tuple[float, float]] = []
    for sector in sectors:
        if sector_width_deg(sector) > 0.0:
            pieces.extend(_intervals(sector))
    return _sectors_from_intervals(pieces)


# --------------------------------------------------------------------------- geodesy


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial geodesic bearing from point 1 to point 2, degrees clockwise from true north.

    Result in ``[0, 360)``; for two identical points the bearing is undefined and 0 is
    returned.
    """
    if lat1 == lat2 and lon1 == lon2:
        return 0.0
    azimuth, _back, _dist = _GEOD.inv(lon1, lat1, lon2, lat2)
    return normalize(float(azimuth))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance between two points on the WGS84 ellipsoid, in km."""
    _az, _back, dist_m = _GEOD.inv(lon1, lat1, lon2, lat2)
    return float(dist_m) / 1000.0


def destination(lat: float, lon: float, bearing: float, dist_km: float) -> tuple[float, float]:
    """The point ``dist_km`` from ``(lat, lon)`` along the geodesic at ``bearing`` degrees.

    Returns ``(lat, lon)``.
    """
    lon2, lat2, _back = _GEOD.fwd(lon, lat, bearing, dist_km * 1000.0)
    return float(lat2), float(lon2)


def area_km2(geometry_lonlat: BaseGeometry) -> float:
    """Geodesic area of a WGS84 ``(lon, lat)`` polygon or multipolygon, in km²."""
    if geometry_lonlat.is_empty:
        return 0.0
    area_m2, _perimeter = _GEOD.geometry_area_perimeter(geometry_lonlat)
    return abs(float(area_m2)) / 1e6


# --------------------------------------------------------------------------- local frame


def _coordinate_mapper(
    transformer: Transformer,
) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    def mapped(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        xs, ys = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([xs, ys])

    return mapped


@dataclass(frozen=True)
class LocalFrame:
    """An azimuthal-equidistant projection in metres centred on ``(lat0, lon0)``.

    x points east, y north, the origin is the centre.  Build one with :func:`local_frame`
    (cached) rather than directly.
    """

    lat0: float
    lon0: float
    _forward: Transformer = field(repr=False, compare=False)
    _inverse: Transformer = field(repr=False, compare=False)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """Local ``(x_m, y_m)`` of one WGS84 point."""
        x, y = self._forward.transform(lon, lat)
        return float(x), float(y)

    def lonlat(self, x_m: float, y_m: float) -> tuple[float, float]:
        """WGS84 ``(lon, lat)`` of one local point."""
        lon, lat = self._inverse.transform(x_m, y_m)
        return float(lon), float(lat)

    def xy_many(
        self, lon: ArrayLike, lat: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Local ``(x_m, y_m)`` arrays of many WGS84 points (vectorised :meth:`xy`)."""
        x, y = self._forward.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x, float), np.asarray(y, float)

    def lonlat_many(
        self, x_m: ArrayLike, y_m: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """WGS84 ``(lon, lat)`` arrays of many local points (vectorised :meth:`lonlat`)."""
        lon, lat = self._inverse.transform(np.asarray(x_m, float), np.asarray(y_m, float))
        return np.asarray(lon, float), np.asarray(lat, float)

    def to_local(self, geometry_lonlat: BaseGeometry) -> BaseGeometry:
        """The WGS84 geometry re-expressed in this frame's metres.

        Edges longer than :data:`MAX_EDGE_DEG` are first split, so that a long straight
        lon/lat edge (e.g. a box drawn on a map) keeps its shape instead of becoming a chord.
        """
        return _transform(geometry_lonlat, self._forward, MAX_EDGE_DEG)

    def to_lonlat(self, geometry_local: BaseGeometry) -> BaseGeometry:
        """A geometry in this frame's metres re-expressed as WGS84 ``(lon, lat)``.

        Edges longer than :data:`MAX_EDGE_M` are first split (see :meth:`to_local`).
        """
        return _transform(geometry_local, self._inverse, MAX_EDGE_M)


def _transform(geometry: BaseGeometry, transformer: Transformer, max_edge: float) -> BaseGeometry:
    if geometry.is_empty:
        return geometry
    dense = shapely.segmentize(geometry, max_edge)
    result: BaseGeometry = shapely.transform(dense, _coordinate_mapper(transformer))
    return result


@lru_cache(maxsize=512)
def local_frame(lat0: float, lon0: float) -> LocalFrame:
    """The (cached) azimuthal-equidistant frame centred on ``(lat0, lon0)``."""
    if not (-90.0 <= lat0 <= 90.0 and -180.0 <= lon0 <= 180.0):
        raise ValueError(f"centre out of range: lat {lat0}, lon {lon0}")
    crs = CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat0!r} +lon_0={lon0!r} +x_0=0 +y_0=0 +datum=WGS84 +units=m"
    )
    return LocalFrame(
        lat0=lat0,
        lon0=lon0,
        _forward=Transformer.from_crs("EPSG:4326", crs, always_xy=True),
        _inverse=Transformer.from_crs(crs, "EPSG:4326", always_xy=True),
    )


def to_local(geometry_lonlat: BaseGeometry, lat0: float, lon0: float) -> BaseGeometry:
    """Project a WGS84 geometry into metres of the frame centred on ``(lat0, lon0)``."""
    return local_frame(lat0, lon0).to_local(geometry_lonlat)


def to_lonlat(geometry_local: BaseGeometry, lat0: float, lon0: float) -> BaseGeometry:
    """Inverse of :func:`to_local`: metres around ``(lat0, lon0)`` back to WGS84."""
    return local_frame(lat0, lon0).to_lonlat(geometry_local)


# --------------------------------------------------------------------------- engagement


def _arc(radius_m: float, start_deg: float, width_deg: float, step_deg: float) -> list[Any]:
    """Points on a circle of ``radius_m`` from ``start_deg`` clockwise over ``width_deg``."""
    steps = max(1, math.ceil(width_deg / step_deg))
    azimuths = np.radians(start_deg + np.linspace(0.0, width_deg, steps + 1))
    return list(zip(radius_m * np.sin(azimuths), radius_m * np.cos(azimuths), strict=True))


def sectors_polygon_local(
    range_m: float, sectors: Sequence[Sector], step_deg: float = 1.0
) -> BaseGeometry:
    """Range disc ∩ union(sectors) around the origin of a local frame, in metres.

    Arcs are drawn with vertices every ``step_deg`` (and exactly on the sector edges); with
    the default 1° the polygon's area is within 0.01 % of the true disc or wedge.
    """
    if range_m <= 0.0:
        return Polygon()
    wedges: list[BaseGeometry] = []
    for sector in merge_sectors(sectors):
        width = sector_width_deg(sector)
        if width >= 360.0:
            ring = _arc(range_m, 0.0, 360.0, step_deg)[:-1]
            return Polygon(ring)
        wedges.append(Polygon([(0.0, 0.0), *_arc(range_m, sector.start_deg, width, step_deg)]))
    if not wedges:
        return Polygon()
    union: BaseGeometry = shapely.union_all(wedges)
    return union


def engagement_polygon_local(
    site: Site,
    equipment: Equipment | None = None,
    no_fire_areas: Iterable[BaseGeometry] = (),
    step_deg: float = 1.0,
) -> BaseGeometry:
    """Ground area a site may fire over, in metres of :func:`local_frame` at the site.

    ``equipment`` chooses one piece; ``None`` takes the union over all the site's equipment.
    The area is, per piece, its range disc ∩ the union of its safe sectors; then every
    no-fire polygon (WGS84) is removed.  The ceiling and elevation limits are not horizontal
    limits and are left to the caller.
    """
    pieces = site.equipment if equipment is None else (equipment,)
    parts = [sectors_polygon_local(e.range_km * 1000.0, e.sectors, step_deg) for e in pieces]
    parts = [part for part in parts if not part.is_empty]
    if not parts:
        return Polygon()
    area: BaseGeometry = shapely.union_all(parts)
    frame = local_frame(site.lat, site.lon)
    for no_fire in no_fire_areas:
        if no_fire.is_empty:
            continue
        area = area.difference(frame.to_local(no_fire))
        if area.is_empty:
            break
    return area


def engagement_polygon(
    site: Site,
    equipment: Equipment | None = None,
    no_fire_areas: Iterable[BaseGeometry] = (),
    step_deg: float = 1.0,
) -> BaseGeometry:
    """Ground area a site may fire over, as a WGS84 ``(lon, lat)`` geometry.

    range disc ∩ union(sectors) − no-fire polygons, computed in the site's local
    azimuthal-equidistant frame (see :func:`engagement_polygon_local`) and projected back.
    May be a Polygon, a MultiPolygon (a no-fire area splits it) or empty.
    """
    local = engagement_polygon_local(site, equipment, no_fire_areas, step_deg)
    return local_frame(site.lat, site.lon).to_lonlat(local)
