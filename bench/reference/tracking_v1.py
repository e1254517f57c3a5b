"""Cell tracking: link the hail cells of successive radar volumes into tracks.

The tracker follows TITAN (Dixon & Wiener 1993, J. Atmos. Oceanic Technol. 10, 785-797) with
the first-guess motion of TINT (phase correlation of successive reflectivity fields):

1. *First guess.*  Each active track gets a first-guess velocity: phase correlation of the
   previous and current composite reflectivity in a box around the track (when both fields
   are given), else the weighted fit of the track history, else the median motion of the
   other tracks ("steering"), else zero.  Each track's last outline is moved by that guess.
2. *Overlap.*  Predicted outlines are intersected with the new outlines.  A pair *matches* by
   overlap when ``I / sqrt(A_pred · A_new) >= overlap_threshold`` (I: intersection area);
   such pairs are matched one to one by maximum total overlap (Hungarian method), so a
   large cell stays with the large track even when small cells lie inside its outline.
   A pair *touches* when ``I / min(A_pred, A_new) >= touch_threshold``.
3. *Assignment.*  The remaining tracks and cells (except tracks touching an already matched
   cell and cells touching an already matched track: merge and split candidates) are
   matched with
   :func:`scipy.optimize.linear_sum_assignment` on the cost
   ``distance_weight * |c_new - c_pred| / (max_speed * dt) + size_weight * |dA| / max(A)``;
   pairs whose centroid displacement from the last observation exceeds ``max_speed * dt``
   are forbidden.
4. *Merges and splits.*  An unmatched track that touches a matched cell merged into it; an
   unmatched cell that touches a matched track split from it.  The larger participant (last
   area of the tracks for a merge, area of the cells for a split) keeps the track id; the
   others end with ``merged_into`` (merge) or start a new track with ``parent_id`` (split).
5. *Motion after splits and merges.*  The track that keeps its id through a split or a merge
   jumps to the centroid of one fragment, so its motion fit restarts there
   (``Track.motion_since``).  A child starts with the field's motion at its position, not
   its parent's: the local phase correlation around it when that agrees with the ambient
   motion (whole-field phase correlation, else the median of at least
   ``steering_min_tracks`` fitted tracks) within ``max_field_deviation_mps``, else the
   ambient motion — TINT's correction of a local shift against the ambient flow — and only
   without either the parent's motion before the split.  From its second volume a track
   moves with the fit of its own centroids; while that fit has fewer than
   ``established_points`` centroids, one further than ``max_field_deviation_mps`` from the
   field motion is a gross outlier (a centroid jump, not motion) and the field motion is
   used instead.

Motion is a weighted least-squares line through the centroid history in a local azimuthal
equidistant projection; speed and the direction the cell moves *toward* (degrees clockwise
from true north) are then measured on the ellipsoid, so they stay exact far from the
projection origin.  Everything here is pure: the state is an immutable value with
``to_dict``/``from_dict`` in plain JSON types, and track ids come from a counter in the state,
so a restarted process continues with the same ids.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Geod, Transformer
from scipy import fft as sp_fft
from scipy.ndimage import gaussian_filter
from scipy.optimize import linear_sum_assignment

from radar.errors import RadarError
from radar.model import HailCell

STATE_VERSION = 1
_GEOD = Geod(ellps="WGS84")
_FORBIDDEN = 1.0e9  # cost of a forbidden pair in the assignment matrices

GROWING = "growing"
STEADY = "steady"
DECAYING = "decaying"
UNKNOWN = "unknown"


class TrackingError(RadarError):
    """Bad input to the tracker (naive or out-of-order scan time, malformed state)."""


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


def direction_toward_deg(u_mps: float, v_mps: float) -> float:
    """Direction a motion (east, north components) points toward, degrees clockwise from north."""
    if u_mps == 0.0 and v_mps == 0.0:
        return 0.0
    return math.degrees(math.atan2(u_mps, v_mps)) % 360.0


# --------------------------------------------------------------------------- value objects


@dataclass(frozen=True)
class TrackPoint:
    """One observation of a track: the products of one cell in one volume."""

    scan_time: datetime
    centroid: tuple[float, float]  # (lon, lat)
    outline: tuple[tuple[float, float], ...]  # closed exterior ring (lon, lat); may be empty
    area_km2: float
    max_dbz: float
    mesh_mm: float | None = None
    top45_km: float | None = None
    vil_kgm2: float | None = None
    hail: bool = False
    cell_id: str = ""

    @classmethod
    def from_cell(cls, cell: HailCell) -> TrackPoint:
        return cls(
            scan_time=cell.scan_time,
            centroid=(float(cell.centroid[0]), float(cell.centroid[1])),
            outline=tuple((float(x), float(y)) for x, y in cell.polygon),
            area_km2=float(cell.area_km2),
            max_dbz=float(cell.max_dbz),
            mesh_mm=_opt_float(cell.mesh_mm),
            top45_km=_opt_float(cell.top45_km),
            vil_kgm2=_opt_float(cell.vil_kgm2),
            hail=bool(cell.hail),
            cell_id=cell.id,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "scan_time": self.scan_time.isoformat(),
            "centroid": list(self.centroid),
            "outline": [list(p) for p in self.outline],
            "area_km2": self.area_km2,
            "max_dbz": self.max_dbz,
            "mesh_mm": self.mesh_mm,
            "top45_km": self.top45_km,
            "vil_kgm2": self.vil_kgm2,
            "hail": self.hail,
            "cell_id": self.cell_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrackPoint:
        return cls(
            scan_time=_parse_time(data["scan_time"]),
            centroid=(float(data["centroid"][0]), float(data["centroid"][1])),
            outline=tuple((float(x), float(y)) for x, y in data.get("outline", ())),
            area_km2=float(data["area_km2"]),
            max_dbz=float(data["max_dbz"]),
            mesh_mm=_opt_float(data.get("mesh_mm")),
            top45_km=_opt_float(data.get("top45_km")),
            vil_kgm2=_opt_float(data.get("vil_kgm2")),
            hail=bool(data.get("hail", False)),
            cell_id=str(data.get("cell_id", "")),
        )


@dataclass(frozen=True)
class Motion:
    """Cell motion.  ``u_mps``/``v_mps`` are true east/north components.

    ``scatter_mps`` is the 1-sigma uncertainty of the velocity (standard error of the fitted
    slope, or the configured prior when the history is too short to estimate it);
    ``residual_m`` is the weighted RMS distance of the centroids from the fitted line.
    ``source`` is ``"fit"``, ``"phase-correlation"``, ``"parent"``, ``"steering"`` or ``"none"``.
    """

    u_mps: float = 0.0
    v_mps: float = 0.0
    scatter_mps: float = 0.0
    residual_m: float = 0.0
    source: str = "none"
    n_points: int = 0

    @property
    def speed_mps(self) -> float:
        return math.hypot(self.u_mps, self.v_mps)

    @property
    def direction_deg(self) -> float:
        return direction_toward_deg(self.u_mps, self.v_mps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "u_mps": self.u_mps,
            "v_mps": self.v_mps,
            "scatter_mps": self.scatter_mps,
            "residual_m": self.residual_m,
            "source": self.source,
            "n_points": self.n_points,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Motion:
        return cls(
            u_mps=float(data["u_mps"]),
            v_mps=float(data["v_mps"]),
            scatter_mps=float(data["scatter_mps"]),
            residual_m=float(data["residual_m"]),
            source=str(data["source"]),
            n_points=int(data["n_points"]),
        )


@dataclass(frozen=True)
class Trend:
    """Trends over the last ``trend_window_s``: ``growing``, ``steady``, ``decaying``, ``unknown``.

    Rates are least-squares slopes per hour (``None`` when fewer than two values exist).
    ``overall`` is the majority of the MESH, 45 dBZ top and VIL trends (ties: steady); when
    none of them is known it falls back to the max-reflectivity trend.
    """

    overall: str = UNKNOWN
    mesh: str = UNKNOWN
    top45: str = UNKNOWN
    vil: str = UNKNOWN
    max_dbz: str = UNKNOWN
    mesh_mm_per_h: float | None = None
    top45_km_per_h: float | None = None
    vil_kgm2_per_h: float | None = None
    max_dbz_per_h: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall,
            "mesh": self.mesh,
            "top45": self.top45,
            "vil": self.vil,
            "max_dbz": self.max_dbz,
            "mesh_mm_per_h": self.mesh_mm_per_h,
            "top45_km_per_h": self.top45_km_per_h,
            "vil_kgm2_per_h": self.vil_kgm2_per_h,
            "max_dbz_per_h": self.max_dbz_per_h,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trend:
        return cls(
            overall=str(data["overall"]),
            mesh=str(data["mesh"]),
            top45=str(data["top45"]),
            vil=str(data["vil"]),
            max_dbz=str(data["max_dbz"]),
            mesh_mm_per_h=_opt_float(data.get("mesh_mm_per_h")),
            top45_km_per_h=_opt_float(data.get("top45_km_per_h")),
            vil_kgm2_per_h=_opt_float(data.get("vil_kgm2_per_h")),
            max_dbz_per_h=_opt_float(data.get("max_dbz_per_h")),
        )


@dataclass(frozen=True)
class Track:
    """A cell followed through successive volumes.

    ``parent_id`` is set on the smaller child of a split; ``merged_into`` on the smaller
    track of a merge (which then ends).  ``children`` lists the ids split off this track.
    """

    id: str
    observations: tuple[TrackPoint, ...]
    motion: Motion = Motion()
    trend: Trend = Trend()
    parent_id: str | None = None
    merged_into: str | None = None
    children: tuple[str, ...] = ()
    ended_at: datetime | None = None
    end_reason: str | None = None  # "merged", "lost", "gap"
    # first scan time whose centroid enters the motion fit: set when the track keeps its id
    # through a split or a merge (its centroid jumps there), ``None`` = the whole history
    motion_since: datetime | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def last(self) -> TrackPoint:
        return self.observations[-1]

    @property
    def first_time(self) -> datetime:
        return self.observations[0].scan_time

    @property
    def last_time(self) -> datetime:
        return self.observations[-1].scan_time

    def age_s(self, at: datetime | None = None) -> float:
        """Seconds since first detection (at the last observation unless ``at`` is given)."""
        return ((at or self.last_time) - self.first_time).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "merged_into": self.merged_into,
            "children": list(self.children),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "end_reason": self.end_reason,
            "motion_since": self.motion_since.isoformat() if self.motion_since else None,
            "motion": self.motion.to_dict(),
            "trend": self.trend.to_dict(),
            "observations": [p.to_dict() for p in self.observations],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Track:
        return cls(
            id=str(data["id"]),
            observations=tuple(TrackPoint.from_dict(p) for p in data["observations"]),
            motion=Motion.from_dict(data["motion"]),
            trend=Trend.from_dict(data["trend"]),
            parent_id=data.get("parent_id"),
            merged_into=data.get("merged_into"),
            children=tuple(str(c) for c in data.get("children", ())),
            ended_at=_parse_time(data["ended_at"]) if data.get("ended_at") else None,
            end_reason=data.get("end_reason"),
            motion_since=_parse_time(data["motion_since"]) if data.get("motion_since") else None,
        )


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker thresholds (all configurable; defaults follow TITAN practice).

    Trend thresholds are least-squares rates per hour over ``trend_window_s``; the defaults
    correspond to 3 mm MESH, 0.5 km 45 dBZ top, 2 kg m-2 VIL and 1.5 dBZ per 15 minutes,
    roughly twice the scan-to-scan noise of those products.
    """

    max_speed_mps: float = 40.0
    overlap_threshold: float = 0.3  # match when intersection / sqrt(area_pred * area_new) >= this
    touch_threshold: float = 0.3  # merge/split when intersection / smaller area >= this
    distance_weight: float = 1.0
    size_weight: float = 0.5
    history_max_points: int = 6
    history_tau_s: float = 1200.0  # e-folding age of the fit weights
    max_gap_s: float = 1200.0  # longer gaps end every track
    retain_ended_s: float = 3600.0  # ended tracks are kept this long for history
    max_guess_disagreement_mps: float = 10.0  # phase vs history: trust history beyond this
    # a fit from fewer than ``established_points`` centroids (a young track, or one that has
    # just split or merged) that differs from the field motion by more than
    # ``max_field_deviation_mps`` is a gross outlier: the field motion is used instead
    established_points: int = 3
    max_field_deviation_mps: float = 10.0
    steering_min_tracks: int = 3  # steering counts as the field motion from this many fits
    phase_min_dbz: float = 20.0  # echoes below this are zeroed before phase correlation
    phase_min_box_px: int = 24
    phase_global_max_px: int = 256  # whole-field correlation is done on at most this size
    scatter_prior_mps: float = 3.0  # velocity uncertainty when the fit cannot estimate it
    scatter_floor_mps: float = 0.3
    trend_window_s: float = 960.0
    mesh_trend_mm_per_h: float = 12.0
    top45_trend_km_per_h: float = 2.0
    vil_trend_kgm2_per_h: float = 8.0
    max_dbz_trend_per_h: float = 6.0
    id_prefix: str = "T"
    id_width: int = 4


@dataclass(frozen=True)
class TrackerState:
    """Everything the tracker remembers between volumes (plain values, JSON-serialisable)."""

    tracks: tuple[Track, ...] = ()
    next_id: int = 1
    last_scan_time: datetime | None = None
    origin: tuple[float, float] | None = None  # projection origin (lon, lat), set once

    @property
    def active_tracks(self) -> tuple[Track, ...]:
        return tuple(t for t in self.tracks if t.active)

    def track(self, track_id: str) -> Track:
        for t in self.tracks:
            if t.id == track_id:
                return t
        raise KeyError(track_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "next_id": self.next_id,
            "last_scan_time": self.last_scan_time.isoformat() if self.last_scan_time else None,
            "origin": list(self.origin) if self.origin else None,
            "tracks": [t.to_dict() for t in self.tracks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrackerState:
        try:
            if int(data["version"]) != STATE_VERSION:
                raise TrackingError(f"unsupported tracker state version {data['version']}")
            origin = data.get("origin")
            return cls(
                tracks=tuple(Track.from_dict(t) for t in data["tracks"]),
                next_id=int(data["next_id"]),
                last_scan_time=(
                    _parse_time(data["last_scan_time"]) if data.get("last_scan_time") else None
                ),
                origin=(float(origin[0]), float(origin[1])) if origin else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, TrackingError):
                raise
            raise TrackingError(f"malformed tracker state: {exc}") from exc


@dataclass(frozen=True, eq=False)
class ReflectivityGrid:
    """A 2-D composite reflectivity field (for the phase-correlation first guess).

    ``dbz[row, col]`` in dBZ; NaN means no data.  Two georeferencings are accepted:

    * a regular lon/lat grid: ``lon_bounds`` (west, east edges), ``lat_bounds`` (south, north
      edges); row 0 is the southern edge unless ``north_up``;
    * a projected grid (the detection grid): cell-centre coordinates ``x_m`` (columns) and
      ``y_m`` (rows) in metres of an azimuthal equidistant projection centred on ``origin``
      (lon, lat), usually the radar — build it with :meth:`from_projected`.
    """

    dbz: np.ndarray
    lon_bounds: tuple[float, float] | None = None
    lat_bounds: tuple[float, float] | None = None
    north_up: bool = False
    x_m: np.ndarray | None = None
    y_m: np.ndarray | None = None
    origin: tuple[float, float] | None = None

    @classmethod
    def from_projected(
        cls, dbz: np.ndarray, x_m: np.ndarray, y_m: np.ndarray, origin: tuple[float, float]
    ) -> ReflectivityGrid:
        x = np.asarray(x_m, float)
        y = np.asarray(y_m, float)
        if dbz.shape != (y.size, x.size):
            raise TrackingError(f"grid shape {dbz.shape} does not match axes {(y.size, x.size)}")
        return cls(dbz=dbz, x_m=x, y_m=y, origin=(float(origin[0]), float(origin[1])))

    @property
    def projected(self) -> bool:
        return self.x_m is not None

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.dbz.shape[0]), int(self.dbz.shape[1]))

    def same_grid(self, other: ReflectivityGrid) -> bool:
        if self.shape != other.shape or self.projected != other.projected:
            return False
        if self.projected:
            return (
                np.allclose(self.x_m, other.x_m)  # type: ignore[arg-type]
                and np.allclose(self.y_m, other.y_m)  # type: ignore[arg-type]
                and np.allclose(self.origin, other.origin)  # type: ignore[arg-type]
            )
        return (
            np.allclose(self.lon_bounds, other.lon_bounds)  # type: ignore[arg-type]
            and np.allclose(self.lat_bounds, other.lat_bounds)  # type: ignore[arg-type]
            and self.north_up == other.north_up
        )

    def step_m(self) -> tuple[float, float]:
        """Signed metres (east, north) per +1 column and per +1 row at the grid centre."""
        if self.projected:
            assert self.x_m is not None and self.y_m is not None
            return float(self.x_m[1] - self.x_m[0]), float(self.y_m[1] - self.y_m[0])
        assert self.lon_bounds is not None and self.lat_bounds is not None
        ny, nx = self.shape
        lat_c = 0.5 * (self.lat_bounds[0] + self.lat_bounds[1])
        lon_c = 0.5 * (self.lon_bounds[0] + self.lon_bounds[1])
        dlon = (self.lon_bounds[1] - self.lon_bounds[0]) / nx
        dlat = (self.lat_bounds[1] - self.lat_bounds[0]) / ny
        _, _, dx = _GEOD.inv(lon_c, lat_c, lon_c + dlon, lat_c)
        _, _, dy = _GEOD.inv(lon_c, lat_c, lon_c, lat_c + dlat)
        return float(dx), float(-dy if self.north_up else dy)

    def index_of(self, lon: float, lat: float) -> tuple[float, float]:
        """Fractional (row, col) of a point (pixel centres at integers)."""
        if self.projected:
            assert self.x_m is not None and self.y_m is not None and self.origin is not None
            x, y = _cached_projection(*self.origin).to_xy(lon, lat)
            col = (float(x) - self.x_m[0]) / (self.x_m[1] - self.x_m[0])
            row = (float(y) - self.y_m[0]) / (self.y_m[1] - self.y_m[0])
            return float(row), float(col)
        assert self.lon_bounds is not None and self.lat_bounds is not None
        ny, nx = self.shape
        col = (lon - self.lon_bounds[0]) / (self.lon_bounds[1] - self.lon_bounds[0]) * nx - 0.5
        frac = (lat - self.lat_bounds[0]) / (self.lat_bounds[1] - self.lat_bounds[0])
        row = (1.0 - frac if self.north_up else frac) * ny - 0.5
        return row, col

    def shift_to_mps(self, drow: float, dcol: float, dt_s: float) -> tuple[float, float]:
        """Convert a pixel shift over ``dt_s`` seconds to (east, north) m/s."""
        dx, dy = self.step_m()
        return dcol * dx / dt_s, drow * dy / dt_s


# --------------------------------------------------------------------------- phase correlation


def phase_correlation_shift(
    previous: np.ndarray, current: np.ndarray, *, min_value: float | None = None
) -> tuple[float, float] | None:
    """Shift ``(drow, dcol)`` in pixels such that ``current[r, c] ≈ previous[r - drow, c - dcol]``.

    Phase correlation (Kuglin & Hines 1975; used for storm motion by TINT, Raut et al. 2021):
    the inverse FFT of the normalised cross-power spectrum
    ``F_cur · conj(F_prev) / |F_cur · conj(F_prev)|`` peaks at the displacement.  The fields
    are zero-padded to twice their size so the correlation does not wrap, the surface is
    lightly smoothed (σ = 1 px) and the peak is refined to sub-pixel precision by a parabola
    through its neighbours.  Returns ``None`` when either field is empty.
    """
    a = np.nan_to_num(np.asarray(previous, float), nan=0.0)
    b = np.nan_to_num(np.asarray(current, float), nan=0.0)
    if min_value is not None:
        a = np.where(a >= min_value, a - min_value, 0.0)
        b = np.where(b >= min_value, b - min_value, 0.0)
    if not a.any() or not b.any():
        return None
    shape = tuple(sp_fft.next_fast_len(2 * n, real=True) for n in a.shape)
    fa = sp_fft.rfft2(a, s=shape)
    fb = sp_fft.rfft2(b, s=shape)
    cross = fb * np.conj(fa)
    magnitude = np.abs(cross)
    cross /= magnitude + 1e-12 * float(magnitude.max())
    surface = gaussian_filter(sp_fft.irfft2(cross, s=shape), 1.0, mode="wrap")
    peak = np.unravel_index(int(np.argmax(surface)), surface.shape)
    shift = []
    for axis, (p, n) in enumerate(zip(peak, surface.shape, strict=True)):
        idx_m = list(peak)
        idx_p = list(peak)
        idx_m[axis] = (p - 1) % n
        idx_p[axis] = (p + 1) % n
        ym, y0, yp = surface[tuple(idx_m)], surface[peak], surface[tuple(idx_p)]
        denom = ym - 2.0 * y0 + yp
        delta = 0.5 * (ym - yp) / denom if denom < 0 else 0.0
        s = p + float(np.clip(delta, -0.5, 0.5))
        shift.append(s - n if s > n / 2 else s)
    return shift[0], shift[1]


def _field_motion(
    prev: ReflectivityGrid,
    curr: ReflectivityGrid,
    dt_s: float,
    config: TrackerConfig,
    around: tuple[float, float] | None = None,
    radius_m: float = 0.0,
) -> tuple[float, float] | None:
    """Phase-correlation motion (east, north m/s) of the whole field or of a box around a point."""
    a, b = prev.dbz, curr.dbz
    if around is not None:
        dx, dy = (abs(d) for d in prev.step_m())
        reach = radius_m + config.max_speed_mps * dt_s
        half_r = max(config.phase_min_box_px // 2, int(math.ceil(reach / dy)))
        half_c = max(config.phase_min_box_px // 2, int(math.ceil(reach / dx)))
        row, col = prev.index_of(*around)
        r0, c0 = int(round(row)), int(round(col))
        ny, nx = prev.shape
        rs = slice(max(0, r0 - half_r), min(ny, r0 + half_r + 1))
        cs = slice(max(0, c0 - half_c), min(nx, c0 + half_c + 1))
        if rs.stop - rs.start < 4 or cs.stop - cs.start < 4:
            return None
        a, b = a[rs, cs], b[rs, cs]
        factor = 1
    else:
        # the whole-field estimate only steers new cells: a coarser grid is precise enough
        factor = max(1, math.ceil(max(prev.shape) / config.phase_global_max_px))
        a, b = a[::factor, ::factor], b[::factor, ::factor]
    shift = phase_correlation_shift(a, b, min_value=config.phase_min_dbz)
    if shift is None:
        return None
    shift = (shift[0] * factor, shift[1] * factor)
    u, v = prev.shift_to_mps(shift[0], shift[1], dt_s)
    if math.hypot(u, v) > config.max_speed_mps:
        return None
    if prev.projected and around is not None:
        # grid axes are east/north only at the grid origin: measure on the ellipsoid
        projection = _cached_projection(*prev.origin)  # type: ignore[misc]
        x, y = projection.to_xy(*around)
        u, v = true_motion(projection, float(x), float(y), u, v)
    return u, v


# --------------------------------------------------------------------------- motion and trends


def fit_motion(
    observations: Sequence[TrackPoint], projection: LocalProjection, config: TrackerConfig
) -> Motion | None:
    """Weighted least-squares motion of a centroid history (``None`` for fewer than 2 points).

    Uses the last ``history_max_points`` centroids with weights ``w_i = exp(-age_i / tau)``
    (``tau = history_tau_s``), fits ``x(t) = x0 + u t`` and ``y(t) = y0 + v t`` in the local
    projection and converts (u, v) to true east/north on the ellipsoid.  With weights
    normalised to mean 1, ``s² = Σ w r² / (n - 2)`` (r: position residuals, both axes summed)
    and ``scatter = sqrt(s² / Σ w (t - t̄)²)``, floored at ``scatter_floor_mps``; for two
    points the scatter is ``scatter_prior_mps``.  ``residual_m = sqrt(Σ w r² / Σ w)``.
    """
    pts = observations[-config.history_max_points :]
    n = len(pts)
    if n < 2:
        return None
    t_last = pts[-1].scan_time
    t = np.array([(p.scan_time - t_last).total_seconds() for p in pts])
    x, y = projection.to_xy([p.centroid[0] for p in pts], [p.centroid[1] for p in pts])
    w = np.exp(t / config.history_tau_s)  # t <= 0, so older points weigh less
    w = w * (n / w.sum())
    tm = float(np.sum(w * t) / n)
    stt = float(np.sum(w * (t - tm) ** 2))
    if stt <= 0.0:
        return None
    u_grid = float(np.sum(w * (t - tm) * (x - np.sum(w * x) / n)) / stt)
    v_grid = float(np.sum(w * (t - tm) * (y - np.sum(w * y) / n)) / stt)
    rx = x - (np.sum(w * x) / n + u_grid * (t - tm))
    ry = y - (np.sum(w * y) / n + v_grid * (t - tm))
    sq = float(np.sum(w * (rx**2 + ry**2)))
    residual = math.sqrt(sq / n)
    if n > 2:
        scatter = max(config.scatter_floor_mps, math.sqrt(sq / (n - 2) / stt))
    else:
        scatter = config.scatter_prior_mps
    x_end = float(np.sum(w * x) / n + u_grid * (0.0 - tm))
    y_end = float(np.sum(w * y) / n + v_grid * (0.0 - tm))
    u, v = true_motion(projection, x_end, y_end, u_grid, v_grid)
    return Motion(u, v, scatter, residual, "fit", n)


def _slope_per_h(times_s: Sequence[float], values: Sequence[float]) -> float:
    t = np.asarray(times_s, float) / 3600.0
    y = np.asarray(values, float)
    tc = t - t.mean()
    return float(np.sum(tc * (y - y.mean())) / np.sum(tc**2))


def compute_trend(observations: Sequence[TrackPoint], config: TrackerConfig) -> Trend:
    """Trends of MESH, 45 dBZ top, VIL and max reflectivity (see :class:`Trend`)."""
    if not observations:
        return Trend()
    t_last = observations[-1].scan_time
    window = [
        p for p in observations if (t_last - p.scan_time).total_seconds() <= config.trend_window_s
    ]

    def one(attr: str, threshold: float) -> tuple[str, float | None]:
        pairs = [
            ((p.scan_time - t_last).total_seconds(), getattr(p, attr))
            for p in window
            if getattr(p, attr) is not None
        ]
        if len(pairs) < 2:
            return UNKNOWN, None
        rate = _slope_per_h([a for a, _ in pairs], [b for _, b in pairs])
        if rate >= threshold:
            return GROWING, rate
        if rate <= -threshold:
            return DECAYING, rate
        return STEADY, rate

    mesh, mesh_rate = one("mesh_mm", config.mesh_trend_mm_per_h)
    top, top_rate = one("top45_km", config.top45_trend_km_per_h)
    vil, vil_rate = one("vil_kgm2", config.vil_trend_kgm2_per_h)
    dbz, dbz_rate = one("max_dbz", config.max_dbz_trend_per_h)
    votes = [s for s in (mesh, top, vil) if s != UNKNOWN] or ([dbz] if dbz != UNKNOWN else [])
    if not votes:
        overall = UNKNOWN
    else:
        score = votes.count(GROWING) - votes.count(DECAYING)
        overall = GROWING if score > 0 else DECAYING if score < 0 else STEADY
    return Trend(overall, mesh, top, vil, dbz, mesh_rate, top_rate, vil_rate, dbz_rate)


# --------------------------------------------------------------------------- the update


def update_tracks(
    state: TrackerState,
    cells: Iterable[HailCell | TrackPoint],
    scan_time: datetime,
    config: TrackerConfig | None = None,
    field: ReflectivityGrid | None = None,
    prev_field: ReflectivityGrid | None = None,
) -> TrackerState:
    """Add one volume's cells to the tracks and return the new state (``state`` is unchanged).

    ``cells`` are the cells of the volume at ``scan_time`` (timezone-aware UTC, later than
    ``state.last_scan_time``).  ``field``/``prev_field`` are the composite reflectivity of this
    and the previous volume on the same grid; when both are given the first-guess motion comes
    from phase correlation.  See the module docstring for the method.
    """
    config = config or TrackerConfig()
    if scan_time.tzinfo is None or scan_time.utcoffset() is None:
        raise TrackingError("scan_time must be timezone-aware (UTC)")
    if state.last_scan_time is not None and scan_time <= state.last_scan_time:
        raise TrackingError(
            f"volume {scan_time.isoformat()} is not after the last tracked volume "
            f"{state.last_scan_time.isoformat()}"
        )
    points = sorted(
        (c if isinstance(c, TrackPoint) else TrackPoint.from_cell(c) for c in cells),
        key=lambda p: (-p.area_km2, p.centroid[0], p.centroid[1], p.cell_id),
    )
    origin = state.origin
    if origin is None and points:
        lon = float(np.mean([p.centroid[0] for p in points]))
        lat = float(np.mean([p.centroid[1] for p in points]))
        origin = (round(lon, 2), round(lat, 2))
    previous = list(state.tracks)
    active = [i for i, t in enumerate(previous) if t.active]
    dt_s = (
        (scan_time - state.last_scan_time).total_seconds()
        if state.last_scan_time is not None
        else None
    )
    if active and dt_s is not None and dt_s > config.max_gap_s:
        for i in active:
            previous[i] = replace(previous[i], ended_at=scan_time, end_reason="gap")
        active = []
    if origin is None:  # nothing ever seen
        return replace(state, last_scan_time=scan_time)

    projection = _cached_projection(origin[0], origin[1])
    fields_ok = (
        field is not None
        and prev_field is not None
        and dt_s is not None
        and field.same_grid(prev_field)
    )
    global_motion = _LazyMotion(
        (lambda: _field_motion(prev_field, field, dt_s, config))  # type: ignore[arg-type]
        if fields_ok
        else None
    )
    steering = _steering([previous[i] for i in active])
    next_id = state.next_id

    new_xy, new_polys = _outlines_xy(points, projection)
    new_area = np.array([max(p.area_km2, 1e-6) for p in points])

    # match[k] = index into `points` for active track k (or -1)
    match = np.full(len(active), -1, dtype=int)
    guesses: list[Motion] = []
    phases: list[tuple[float, float] | None] = []
    if active and points:
        assert dt_s is not None
        for i in active:
            guess, phase = _first_guess(
                previous[i],
                dt_s,
                config,
                steering,
                global_motion,
                prev_field if fields_ok else None,
                field if fields_ok else None,
            )
            guesses.append(guess)
            phases.append(phase)
        old = [previous[i] for i in active]
        last_xy, old_polys = _outlines_xy([t.last for t in old], projection)
        shift = (
            np.array(
                [
                    grid_motion(
                        projection, t.last.centroid[0], t.last.centroid[1], g.u_mps, g.v_mps
                    )
                    for t, g in zip(old, guesses, strict=True)
                ]
            )
            * dt_s
        )
        pred_xy = last_xy + shift
        pred_polys = translate_all(old_polys, shift)
        touch_frac, mutual = _overlap_matrix(pred_polys, new_polys)
        old_area = np.array([max(t.last.area_km2, 1e-6) for t in old])

        # 1. overlap first: pairs whose mutual overlap I / sqrt(A_pred A_new) reaches the
        #    threshold, one to one by maximum total mutual overlap.  Unassigned pairs cost 0
        #    (not "forbidden") so a big cell is never traded for two small nested ones.
        ok = mutual >= config.overlap_threshold
        touch = touch_frac >= config.touch_threshold
        if ok.any():
            rows, cols = linear_sum_assignment(np.where(ok, -mutual, 0.0))
            for r, c in zip(rows, cols, strict=True):
                if ok[r, c]:
                    match[r] = c
        # 2. Hungarian on distance and size for the rest, except tracks touching an
        #    already matched cell (merge candidates) and cells touching an already matched
        #    track (split candidates)
        matched_t = match >= 0
        matched_c = np.zeros(len(points), dtype=bool)
        matched_c[match[matched_t]] = True
        free_t = [
            k for k in range(len(active)) if not matched_t[k] and not touch[k, matched_c].any()
        ]
        free_c = [
            j for j in range(len(points)) if not matched_c[j] and not touch[matched_t, j].any()
        ]
        if free_t and free_c:
            reach = config.max_speed_mps * dt_s
            jump = np.hypot(
                new_xy[free_c][None, :, 0] - last_xy[free_t][:, None, 0],
                new_xy[free_c][None, :, 1] - last_xy[free_t][:, None, 1],
            )
            miss = np.hypot(
                new_xy[free_c][None, :, 0] - pred_xy[free_t][:, None, 0],
                new_xy[free_c][None, :, 1] - pred_xy[free_t][:, None, 1],
            )
            a_old = old_area[free_t][:, None]
            a_new = new_area[free_c][None, :]
            cost = config.distance_weight * miss / reach + config.size_weight * np.abs(
                a_new - a_old
            ) / np.maximum(a_new, a_old)
            cost = np.where(jump <= reach, cost, _FORBIDDEN)
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if cost[r, c] < _FORBIDDEN:
                    match[free_t[r]] = free_c[c]
        matched_t = match >= 0
        matched_c = np.zeros(len(points), dtype=bool)
        matched_c[match[matched_t]] = True
        # 3. merges: an unmatched track touching matched cells joins the one it overlaps
        #    most; the track with the larger last area keeps the id
        merging: dict[int, list[int]] = {}
        for k in map(int, np.flatnonzero(~matched_t)):
            candidates = touch[k] & matched_c
            if candidates.any():
                j = int(np.argmax(np.where(candidates, touch_frac[k], -1.0)))
                merging.setdefault(j, []).append(k)
        merged_into: dict[int, int] = {}  # track k -> track k' it merged into
        owner = {int(c): k for k, c in enumerate(match) if c >= 0}
        for j, others in sorted(merging.items()):
            group = [owner[j], *others]
            keeper = min(group, key=lambda k: (-old_area[k], old[k].first_time, old[k].id))
            for k in group:
                if k != keeper:
                    merged_into[k] = keeper
                    match[k] = -1
            match[keeper] = j
        # 4. splits: an unmatched cell touching matched tracks split from the one it overlaps
        #    most; the larger cell carries the parent's id on
        matched_t = match >= 0
        splitting: dict[int, list[int]] = {}
        for j in map(int, np.flatnonzero(~matched_c)):
            candidates = touch[:, j] & matched_t
            if candidates.any():
                k = int(np.argmax(np.where(candidates, touch_frac[:, j], -1.0)))
                splitting.setdefault(k, []).append(j)
        split_parent: dict[int, int] = {}  # cell j -> track k it split from
        for k, kids in sorted(splitting.items()):
            group = [int(match[k]), *kids]
            keep_cell = min(group, key=lambda j: (-new_area[j], j))
            match[k] = keep_cell
            for j in group:
                if j != keep_cell:
                    split_parent[j] = k
    else:
        old = [previous[i] for i in active]
        merged_into = {}
        split_parent = {}
    # tracks that keep their id through a merge or a split: their centroid jumps here, so
    # their motion fit restarts at this volume
    event_keepers = set(merged_into.values()) | set(split_parent.values())
    ambient = _Ambient(
        global_motion if fields_ok else None,
        steering if _fitted_count(old) >= config.steering_min_tracks else None,
        config,
    )

    # ---- build the new track list
    result: dict[str, Track] = {t.id: t for t in previous}
    children_of: dict[str, list[str]] = {}
    for k, i in enumerate(active):
        track = previous[i]
        if match[k] >= 0:
            obs = (*track.observations, points[int(match[k])])
            since = scan_time if k in event_keepers else track.motion_since
            reference = _field_reference(phases[k], ambient, config)
            motion = _track_motion(obs, since, guesses[k], reference, projection, config)
            result[track.id] = replace(
                track,
                observations=obs,
                motion=motion,
                trend=compute_trend(obs, config),
                motion_since=since,
            )
        elif k in merged_into:
            result[track.id] = replace(
                track,
                ended_at=scan_time,
                end_reason="merged",
                merged_into=old[merged_into[k]].id,
            )
        else:
            result[track.id] = replace(track, ended_at=scan_time, end_reason="lost")
    matched_cells = {int(c) for c in match if c >= 0}
    for j, point in enumerate(points):
        if j in matched_cells:
            continue
        track_id = f"{config.id_prefix}{next_id:0{config.id_width}d}"
        next_id += 1
        parent: str | None = None
        if j in split_parent:
            k = split_parent[j]
            parent = old[k].id
            motion = _child_motion(
                point,
                old[k],
                dt_s,
                config,
                steering,
                ambient,
                prev_field if fields_ok else None,
                field if fields_ok else None,
            )
            children_of.setdefault(parent, []).append(track_id)
        else:
            motion = _new_cell_motion(
                point,
                dt_s,
                config,
                steering,
                global_motion,
                prev_field if fields_ok else None,
                field if fields_ok else None,
            )
        result[track_id] = Track(
            id=track_id,
            observations=(point,),
            motion=motion,
            trend=compute_trend((point,), config),
            parent_id=parent,
        )
    for parent, child_ids in children_of.items():
        result[parent] = replace(result[parent], children=(*result[parent].children, *child_ids))

    horizon = scan_time - timedelta(seconds=config.retain_ended_s)
    tracks = tuple(
        sorted(
            (t for t in result.values() if t.ended_at is None or t.ended_at >= horizon),
            key=lambda t: t.id,
        )
    )
    return TrackerState(tracks=tracks, next_id=next_id, last_scan_time=scan_time, origin=origin)


class Tracker:
    """Convenience wrapper that keeps the state and the previous field between volumes."""

    def __init__(
        self,
        config: TrackerConfig | None = None,
        state: TrackerState | None = None,
        prev_field: ReflectivityGrid | None = None,
    ) -> None:
        """``state``/``prev_field``: resume after a restart (the field of the last volume)."""
        self.config = config or TrackerConfig()
        self.state = state or TrackerState()
        self._prev_field = prev_field

    def update(
        self,
        cells: Iterable[HailCell | TrackPoint],
        scan_time: datetime,
        field: ReflectivityGrid | None = None,
    ) -> TrackerState:
        self.state = update_tracks(
            self.state, cells, scan_time, self.config, field=field, prev_field=self._prev_field
        )
        self._prev_field = field
        return self.state


# --------------------------------------------------------------------------- helpers


def _opt_float(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise TrackingError(f"naive timestamp in tracker state: {text}")
    return value.astimezone(UTC)


def _outlines_xy(
    points: Sequence[TrackPoint], projection: LocalProjection
) -> tuple[np.ndarray, np.ndarray]:
    """Centroids (n, 2) and outline polygons of the points in projection metres.

    A point without a usable outline gets a disc of its area around the centroid.
    """
    if not points:
        return np.zeros((0, 2)), np.array([], dtype=object)
    lon = [p.centroid[0] for p in points]
    lat = [p.centroid[1] for p in points]
    sizes = [len(p.outline) for p in points]
    for p in points:
        lon.extend(q[0] for q in p.outline)
        lat.extend(q[1] for q in p.outline)
    x, y = projection.to_xy(lon, lat)
    n = len(points)
    xy = np.column_stack([x[:n], y[:n]])
    polys = []
    start = n
    for p, size, (cx, cy) in zip(points, sizes, xy, strict=True):
        ring = np.column_stack([x[start : start + size], y[start : start + size]])
        start += size
        poly = shapely.Polygon(ring) if size >= 4 else None
        if poly is not None and not poly.is_valid:
            poly = shapely.make_valid(poly)
        if poly is None or poly.is_empty or poly.area <= 0.0:
            radius = math.sqrt(max(p.area_km2, 1e-6) / math.pi) * 1000.0
            poly = shapely.Point(cx, cy).buffer(radius, 16)
        polys.append(poly)
    return xy, np.array(polys, dtype=object)


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


class _LazyMotion:
    """Whole-field motion, computed on first use only (it is the most expensive FFT)."""

    def __init__(self, compute: Callable[[], tuple[float, float] | None] | None) -> None:
        self._compute = compute
        self._done = compute is None
        self._value: tuple[float, float] | None = None

    def __call__(self) -> tuple[float, float] | None:
        if not self._done:
            assert self._compute is not None
            self._value = self._compute()
            self._done = True
        return self._value


def _steering(tracks: Sequence[Track]) -> Motion | None:
    """Median fitted motion of established tracks: the first guess for tracks without history."""
    fitted = [t.motion for t in tracks if t.motion.source == "fit"]
    if not fitted:
        return None
    u = float(np.median([m.u_mps for m in fitted]))
    v = float(np.median([m.v_mps for m in fitted]))
    scatter = float(np.std([math.hypot(m.u_mps - u, m.v_mps - v) for m in fitted]))
    return Motion(u, v, max(scatter, 0.0), 0.0, "steering", 0)


def _fitted_count(tracks: Sequence[Track]) -> int:
    return sum(1 for t in tracks if t.motion.source == "fit")


def _first_guess(
    track: Track,
    dt_s: float,
    config: TrackerConfig,
    steering: Motion | None,
    global_motion: _LazyMotion,
    prev_field: ReflectivityGrid | None,
    field: ReflectivityGrid | None,
) -> tuple[Motion, tuple[float, float] | None]:
    """First-guess motion of an active track (see step 1 of the module docstring).

    Also returns the phase-correlation (field) motion around the track, when the fields
    give one: the reference against which young fits are checked.
    """
    history = track.motion if track.motion.source == "fit" else None
    phase = None
    if prev_field is not None and field is not None:
        radius = math.sqrt(max(track.last.area_km2, 0.0) / math.pi) * 1000.0
        phase = _field_motion(prev_field, field, dt_s, config, track.last.centroid, radius)
        if phase is None:
            phase = global_motion()
    if phase is not None:
        if (
            history is not None
            and math.hypot(phase[0] - history.u_mps, phase[1] - history.v_mps)
            > config.max_guess_disagreement_mps
        ):
            return history, phase
        motion = Motion(phase[0], phase[1], config.scatter_prior_mps, 0.0, "phase-correlation", 0)
        return motion, phase
    if history is not None:
        return history, None
    if track.motion.source in ("parent", "phase-correlation") and track.motion.speed_mps > 0:
        return track.motion, None
    if steering is not None:
        return steering, None
    return Motion(source="none", scatter_mps=config.scatter_prior_mps), None


class _Ambient:
    """The ambient (whole-field) motion, computed on first use: whole-field phase
    correlation when both fields are given, else the steering flow when at least
    ``steering_min_tracks`` tracks have fits, else ``None``."""

    def __init__(
        self, global_motion: _LazyMotion | None, steering: Motion | None, config: TrackerConfig
    ) -> None:
        self._global = global_motion
        self._steering = steering
        self._config = config

    def __call__(self) -> Motion | None:
        whole = self._global() if self._global is not None else None
        if whole is not None:
            prior = self._config.scatter_prior_mps
            return Motion(whole[0], whole[1], prior, 0.0, "phase-correlation", 0)
        if self._steering is not None:
            prior = max(self._steering.scatter_mps, self._config.scatter_prior_mps)
            return replace(self._steering, scatter_mps=prior)
        return None


def _field_reference(
    local: tuple[float, float] | None, ambient: _Ambient, config: TrackerConfig
) -> Motion | None:
    """The field motion at a track, as TINT corrects a local shift: the local phase
    correlation when it agrees with the ambient motion within ``max_field_deviation_mps``
    (or when there is no ambient motion), else the ambient motion."""
    flow = ambient()
    if local is not None and (
        flow is None
        or math.hypot(local[0] - flow.u_mps, local[1] - flow.v_mps)
        <= config.max_field_deviation_mps
    ):
        return Motion(local[0], local[1], config.scatter_prior_mps, 0.0, "phase-correlation", 0)
    return flow


def _track_motion(
    observations: Sequence[TrackPoint],
    since: datetime | None,
    guess: Motion,
    reference: Motion | None,
    projection: LocalProjection,
    config: TrackerConfig,
) -> Motion:
    """Motion of a matched track: the fit of its own centroids since ``since``.

    Without a fit (a single centroid since the last split or merge) the first guess is
    used.  A fit from fewer than ``established_points`` centroids that differs from the
    field motion by more than ``max_field_deviation_mps`` is a gross outlier (a centroid
    jump from a split, a merge or a fragment growing on one flank, not motion): the field
    motion replaces it, as TINT replaces a local shift that disagrees with the ambient flow.
    """
    usable = observations if since is None else [p for p in observations if p.scan_time >= since]
    fit = fit_motion(usable, projection, config)
    if fit is None:
        return guess
    if (
        reference is not None
        and fit.n_points < config.established_points
        and math.hypot(fit.u_mps - reference.u_mps, fit.v_mps - reference.v_mps)
        > config.max_field_deviation_mps
    ):
        return replace(reference, n_points=fit.n_points)
    return fit


def _child_motion(
    point: TrackPoint,
    parent: Track,
    dt_s: float | None,
    config: TrackerConfig,
    steering: Motion | None,
    ambient: _Ambient,
    prev_field: ReflectivityGrid | None,
    field: ReflectivityGrid | None,
) -> Motion:
    """Motion of a track split off ``parent``: the field's motion at the child (local phase
    correlation checked against the ambient motion, see :func:`_field_reference`), else the
    parent's motion *before* the split (its fit up to the previous volume, not the fit
    through the split's centroid jump), else steering, else none.  The child's own
    positions take over from its second volume (checked against the field while young)."""
    local = None
    if prev_field is not None and field is not None and dt_s:
        radius = math.sqrt(max(point.area_km2, 0.0) / math.pi) * 1000.0
        local = _field_motion(prev_field, field, dt_s, config, point.centroid, radius)
    reference = _field_reference(local, ambient, config)
    if reference is not None:
        return replace(reference, n_points=1)
    before = parent.motion
    if before.source != "none" and (before.speed_mps > 0 or before.source == "fit"):
        return replace(
            before,
            source="parent",
            n_points=1,
            scatter_mps=max(before.scatter_mps, config.scatter_prior_mps),
        )
    if steering is not None:
        return replace(
            steering, n_points=1, scatter_mps=max(steering.scatter_mps, config.scatter_prior_mps)
        )
    return Motion(scatter_mps=config.scatter_prior_mps, source="none", n_points=1)


def _new_cell_motion(
    point: TrackPoint,
    dt_s: float | None,
    config: TrackerConfig,
    steering: Motion | None,
    global_motion: _LazyMotion,
    prev_field: ReflectivityGrid | None,
    field: ReflectivityGrid | None,
) -> Motion:
    """Motion of a brand-new track: local phase correlation, else steering, else global."""
    if prev_field is not None and field is not None and dt_s:
        radius = math.sqrt(max(point.area_km2, 0.0) / math.pi) * 1000.0
        # the cell is at its *current* position: correlate a box around it
        phase = _field_motion(prev_field, field, dt_s, config, point.centroid, radius)
        if phase is not None:
            return Motion(phase[0], phase[1], config.scatter_prior_mps, 0.0, "phase-correlation", 1)
    if steering is not None:
        return replace(
            steering, n_points=1, scatter_mps=max(steering.scatter_mps, config.scatter_prior_mps)
        )
    whole = global_motion()
    if whole is not None:
        return Motion(
            whole[0],
            whole[1],
            config.scatter_prior_mps,
            0.0,
            "phase-correlation",
            1,
        )
    return Motion(scatter_mps=config.scatter_prior_mps, source="none", n_points=1)
