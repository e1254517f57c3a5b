"""Frozen result objects of the radar pipeline (shared by detection, tracking and dispatch).

Units are in the names: ``_m`` metres, ``_km`` kilometres, ``_mm`` millimetres, ``_pct``
percent, ``_kgm2`` kg m-2, ``_gm3`` g m-3.  Coordinates are WGS84 ``(lon, lat)``.
``None`` means "not available" (for example no vertical products from a 3-sweep volume).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TemperatureLevels:
    h0_m: float  # height of the 0 degC level, metres above sea level
    h20_m: float  # height of the -20 degC level, metres above sea level
    source: str  # e.g. "sounding:radiosonde_10410_20140610_1200.csv", "cli", "seasonal-default"


@dataclass(frozen=True)
class RadarSite:
    lat: float
    lon: float
    alt_m: float
    name: str = ""


@dataclass(frozen=True)
class HailCell:
    id: str
    scan_time: datetime  # timezone-aware UTC
    centroid: tuple[float, float]  # (lon, lat)
    polygon: tuple[tuple[float, float], ...]  # closed exterior ring, (lon, lat)
    area_km2: float
    max_dbz: float
    top45_km: float | None = None  # km above sea level
    vil_kgm2: float | None = None
    vild_gm3: float | None = None
    shi: float | None = None
    posh_pct: float | None = None
    mesh_mm: float | None = None
    mesh75_mm: float | None = None
    mesh95_mm: float | None = None
    poh_pct: float | None = None
    hail: bool = False  # true exactly when verdict == "hail"
    criteria: tuple[str, ...] = ()
    unavailable_reason: str | None = None
    verdict: str = "no_hail"  # "hail", "no_hail" or "cannot_tell"
    sampling: tuple[str, ...] = ()  # what the radar could not see; empty: the whole column
    verdict_reason: str | None = None  # one English sentence; the consoles translate by code
