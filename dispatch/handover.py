"""Joint defence (联防联控): when does a storm's nowcast leave the city, where, and toward
which neighbouring city?

The storm's path is the nowcast of its track: the centroid now (lead 0) and the forecast
centroids at each lead (10, 20, 30, 45, 60 min), joined by straight segments (the nowcast is
a constant-velocity translation, so the segments are one line up to the curvature of the
coordinate grid).  The storm *leaves* the city at the first time its centroid is outside the
city's outline: found by stepping one minute along the path and bisecting the last step to
one second.  The neighbour is the one whose outline contains the first point outside, else
the nearest outline within ``max_gap_km`` of the crossing (outlines are simplified; a
crossing can fall in a sliver between two outlines).  A storm whose centroid is outside the
city now, or that stays inside over the horizon, has no crossing.

Pure functions; lon/lat in WGS84 degrees; times timezone-aware UTC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep

COMPASS_ZH = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")


class HandoverError(ValueError):
    pass


@dataclass(frozen=True)
class PathPoint:
    lead_s: float
    lon: float
    lat: float


@dataclass(frozen=True)
class Crossing:
    """Where and when a storm's centroid is forecast to leave the city."""

    neighbour: str | None
    at: datetime
    lead_s: float
    lon: float
    lat: float


def path_from_nowcast(lon: float, lat: float, steps: Sequence[Mapping[str, object]]) -> list[PathPoint]:
    """The path of a track: its centroid now and the nowcast's ``steps`` (``lead_min``,
    ``centroid`` = [lon, lat]) as the ``nowcast.steps[]`` of a ``volume.new`` track."""
    path = [PathPoint(0.0, float(lon), float(lat))]
    for step in sorted(steps, key=lambda s: float(s["lead_min"])):  # type: ignore[arg-type]
        c = step["centroid"]
        path.append(PathPoint(float(step["lead_min"]) * 60.0, float(c[0]), float(c[1])))  # type: ignore[index, arg-type]
    return path


def position_at(path: Sequence[PathPoint], lead_s: float) -> tuple[float, float]:
    """Linear interpolation along the path; beyond its end the last segment is extended."""
    if len(path) < 2:
        raise HandoverError("a path needs at least two points")
    for a, b in zip(path, path[1:], strict=False):
        if lead_s <= b.lead_s or b is path[-1]:
            f = (lead_s - a.lead_s) / (b.lead_s - a.lead_s)
            return a.lon + f * (b.lon - a.lon), a.lat + f * (b.lat - a.lat)
    raise AssertionError("unreachable")


def _km(lon1: float, lat1: float, geom: BaseGeometry) -> float:
    """Distance (km) from a point to a geometry, in a local equirectangular frame."""
    k = math.cos(math.radians(lat1))
    nearest = geom.exterior if hasattr(geom, "exterior") else geom.boundary
    from shapely.ops import nearest_points

    p = nearest_points(nearest, Point(lon1, lat1))[0]
    return math.hypot((p.x - lon1) * k * 111.195, (p.y - lat1) * 111.195)


def find_exit(issued_at: datetime, path: Sequence[PathPoint], city: BaseGeometry,
              neighbours: Mapping[str, BaseGeometry], *, horizon_s: float = 3600.0,
              step_s: float = 60.0, max_gap_km: float = 10.0) -> Crossing | None:
    """The first forecast exit of the path from ``city`` within ``horizon_s`` (module doc)."""
    if issued_at.tzinfo is None:
        raise HandoverError("issued_at must be timezone-aware (UTC)")
    inside = prep(city)
    if not inside.contains(Point(path[0].lon, path[0].lat)):
        return None
    t_in, t_out = 0.0, None
    t = 0.0
    while t < horizon_s:
        t = min(t + step_s, horizon_s)
        if not inside.contains(Point(*position_at(path, t))):
            t_out = t
            break
        t_in = t
    if t_out is None:
        return None
    while t_out - t_in > 1.0:
        mid = (t_in + t_out) / 2
        if inside.contains(Point(*position_at(path, mid))):
            t_in = mid
        else:
            t_out = mid
    lon, lat = position_at(path, t_out)
    beyond = Point(*position_at(path, min(t_out + 30.0, horizon_s + 30.0)))
    neighbour = next((k for k, g in neighbours.items() if g.contains(beyond)), None)
    if neighbour is None and neighbours:
        dist = {k: _km(lon, lat, g) for k, g in neighbours.items()}
        best = min(dist, key=lambda k: dist[k])
        neighbour = best if dist[best] <= max_gap_km else None
    return Crossing(neighbour=neighbour, at=issued_at + timedelta(seconds=t_out), lead_s=t_out,
                    lon=lon, lat=lat)


def compass_zh(direction_deg: float) -> str:
    """Chinese 8-point compass name of a direction (toward, degrees clockwise from north)."""
    return COMPASS_ZH[int(((direction_deg % 360) + 22.5) // 45) % 8]
