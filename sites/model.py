"""Frozen domain objects for operation sites, their equipment and the deployment.

Pure Python: no Flask, no database. Angles are degrees clockwise from north; distances km
unless the name says otherwise; coordinates WGS84.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Readiness(enum.StrEnum):
    READY = "ready"
    STANDBY = "standby"
    OFFLINE = "offline"
    FIRING = "firing"
    OUT_OF_AMMUNITION = "out_of_ammunition"


class EquipmentKind(enum.StrEnum):
    GUN_37MM = "gun_37mm"
    ROCKET = "rocket"


@dataclass(frozen=True)
class Sector:
    """An azimuth interval from ``start_deg`` clockwise to ``end_deg``; may wrap through north.

    ``Sector(300, 60)`` covers 300..360 and 0..60.  ``Sector(0, 360)`` is the full circle.
    """

    start_deg: float
    end_deg: float


@dataclass(frozen=True)
class Equipment:
    kind: EquipmentKind
    model: str
    range_km: float
    ceiling_km: float  # highest burst height above the site (dispatch adds the site elevation)
    sectors: tuple[Sector, ...]
    min_elevation_deg: float = 45.0
    max_elevation_deg: float = 85.0
    count: int = 1


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str
    role: str = ""


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    county: str  # county pinyin key, e.g. "lishi"
    lat: float
    lon: float
    elevation_m: float
    equipment: tuple[Equipment, ...]
    ammunition: dict[str, int] = field(default_factory=dict, hash=False, compare=True)
    readiness: Readiness = Readiness.READY
    contacts: tuple[Contact, ...] = ()
    sample: bool = False
