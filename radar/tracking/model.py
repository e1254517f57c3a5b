"""Tracker values: observations, motion, trends, tracks, configuration and state.

Everything here is an immutable value with ``to_dict``/``from_dict`` in plain JSON types.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from radar.errors import RadarError
from radar.model import HailCell
from radar.tracking.geometry import direction_toward_deg

STATE_VERSION = 1

GROWING = "growing"
STEADY = "steady"
DECAYING = "decaying"
UNKNOWN = "unknown"


class TrackingError(RadarError):
    """Bad input to the tracker (naive or out-of-order scan time, malformed state)."""


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
