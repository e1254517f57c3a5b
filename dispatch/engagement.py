"""Can a site's equipment reach a cell's seeding layer, and where does it aim?

The horizontal engagement area (range disc ∩ safe sectors − no-fire areas) is
:func:`sites.geometry.engagement_polygon`; this module adds the vertical side:

* The seeding layer lies between the 0 °C and −20 °C heights (H0, H−20, metres above sea
  level, from the sounding): that is where glaciogenic seeding acts on the hail embryos.
* An equipment's ``ceiling_km`` is taken as the highest altitude its rounds reach *above the
  site* (the launcher's specification), so its ceiling above sea level is
  ``site.elevation_m + 1000 * ceiling_km``.  Equipment whose ceiling is below the layer's
  bottom cannot engage the cell.
* The aim: azimuth = the geodesic bearing from the site to the intercept point; elevation by
  the flat-fire approximation — the round flies a straight line to the layer's mid-height
  (or to the middle of the reachable part of the layer when the ceiling cuts it)::

      elevation = atan(h_rel / d)

  with ``h_rel`` the aim height above the site and ``d`` the horizontal distance.  Real
  trajectories curve down, so the true elevation is somewhat higher; the approximation is
  what a firing table's first entry gives and is enough to order the aim, which crews correct
  with their tables.  The elevation is clipped to the equipment's ``[min, max]`` elevation,
  with the reason given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from dispatch.reasons import Reason, reason
from radar.model import TemperatureLevels
from sites.geometry import bearing_deg, distance_km
from sites.model import Equipment, EquipmentKind, Site


@dataclass(frozen=True)
class SeedingLayer:
    """The layer between H0 (bottom) and H−20 (top), metres above sea level."""

    bottom_m: float
    top_m: float
    source: str = ""

    @classmethod
    def from_levels(cls, levels: TemperatureLevels) -> SeedingLayer:
        return cls(bottom_m=levels.h0_m, top_m=levels.h20_m, source=levels.source)

    @property
    def mid_m(self) -> float:
        return 0.5 * (self.bottom_m + self.top_m)


def ceiling_asl_m(site: Site, equipment: Equipment) -> float:
    """The highest altitude the equipment's rounds reach, metres above sea level."""
    return site.elevation_m + 1000.0 * equipment.ceiling_km


def reach_problem(site: Site, equipment: Equipment, layer: SeedingLayer) -> str | None:
    """Why the equipment cannot reach the seeding layer, or ``None`` when it can."""
    problem = reach_problem_reason(site, equipment, layer)
    return None if problem is None else problem.text


def reach_problem_reason(site: Site, equipment: Equipment, layer: SeedingLayer) -> Reason | None:
    """:func:`reach_problem` as data (:mod:`dispatch.reasons`)."""
    ceiling = ceiling_asl_m(site, equipment)
    if ceiling < layer.bottom_m:
        return reason(
            "below_seeding_layer",
            equipment_kind=equipment_kind_if_unnamed(equipment),
            equipment=equipment.model or equipment.kind.value,
            ceiling=f"{ceiling:.0f}",
            above=f"{equipment.ceiling_km:g}",
            h0=f"{layer.bottom_m:.0f}",
        )
    return None


def equipment_kind_if_unnamed(equipment: Equipment) -> str | None:
    """The equipment's kind code when it has no model (then the kind names it)."""
    return None if equipment.model else equipment.kind.value


def aim_height_m(site: Site, equipment: Equipment, layer: SeedingLayer) -> float:
    """Where to seed, m ASL: the layer's mid-height, or mid-way to the ceiling if it is lower."""
    ceiling = ceiling_asl_m(site, equipment)
    return layer.mid_m if ceiling >= layer.top_m else 0.5 * (layer.bottom_m + ceiling)


@dataclass(frozen=True)
class Aim:
    azimuth_deg: float
    elevation_deg: float
    distance_km: float
    aim_height_m: float  # metres above sea level
    reasons: tuple[str, ...] = ()
    details: tuple[Reason, ...] = ()  # the reasons as data (dispatch.reasons)


def flat_fire_elevation_deg(height_above_site_m: float, distance_m: float) -> float:
    """``atan(h_rel / d)`` in degrees (90° straight overhead)."""
    return math.degrees(math.atan2(height_above_site_m, distance_m))


def aim_from_geometry(
    site: Site, equipment: Equipment, layer: SeedingLayer, azimuth_deg: float, distance_km: float
) -> Aim:
    """The aim for an intercept point given by its bearing and distance from the site."""
    height = aim_height_m(site, equipment, layer)
    needed = flat_fire_elevation_deg(height - site.elevation_m, distance_km * 1000.0)
    elevation = min(max(needed, equipment.min_elevation_deg), equipment.max_elevation_deg)
    details: tuple[Reason, ...] = ()
    if needed < equipment.min_elevation_deg:
        details = (
            reason(
                "aim_below_minimum",
                needed=f"{needed:.1f}",
                distance=f"{distance_km:.1f}",
                limit=f"{equipment.min_elevation_deg:g}",
            ),
        )
    elif needed > equipment.max_elevation_deg:
        details = (
            reason(
                "aim_above_maximum",
                needed=f"{needed:.1f}",
                distance=f"{distance_km:.1f}",
                limit=f"{equipment.max_elevation_deg:g}",
            ),
        )
    return Aim(
        round(azimuth_deg, 1),
        round(elevation, 1),
        distance_km,
        height,
        tuple(d.text for d in details),
        details,
    )


def aim_at(site: Site, equipment: Equipment, layer: SeedingLayer, lon: float, lat: float) -> Aim:
    """The aim from the site at the intercept point ``(lon, lat)``."""
    return aim_from_geometry(
        site,
        equipment,
        layer,
        bearing_deg(site.lat, site.lon, lat, lon),
        distance_km(site.lat, site.lon, lat, lon),
    )


def ammunition_types(equipment: Equipment, stock: Mapping[str, int]) -> tuple[str, ...]:
    """The site's ammunition types this equipment fires, those in stock first.

    Types are named as in the site registry: ``37mm_shell`` for the 37 mm gun,
    ``rocket_<model>`` for rockets (``rocket_wr98`` for a ``WR-98``).  A rocket launcher whose
    model has no type of its own in the stock is taken to fire any ``rocket_*`` type.
    """
    if equipment.kind == EquipmentKind.GUN_37MM:
        types = [t for t in stock if t.startswith("37mm")]
    else:
        own = "rocket_" + "".join(ch for ch in equipment.model.lower() if ch.isalnum())
        types = [own] if own in stock else [t for t in stock if t.startswith("rocket")]
    return tuple(sorted(types, key=lambda t: (stock.get(t, 0) <= 0, t)))


def reach_asl_m(site: Site, equipment: Equipment, elevation_deg: float) -> float:
    """The highest altitude the rounds reach at ``elevation_deg``, metres above sea level.

    The burst comes at a fixed slant range (time fuse or self-destruct), so the burst height
    above the site is ``R · sin(e)``, with ``R`` set by the specification's ceiling at the
    maximum elevation: ``R = 1000 · ceiling_km / sin(e_max)``.  At ``e_max`` this is
    :func:`ceiling_asl_m`; lower elevations burst lower.
    """
    slant_m = 1000.0 * equipment.ceiling_km / math.sin(math.radians(equipment.max_elevation_deg))
    e = min(max(elevation_deg, 0.0), equipment.max_elevation_deg)
    return site.elevation_m + slant_m * math.sin(math.radians(e))


def elevation_for_ceiling(site: Site, equipment: Equipment, ceiling_asl: float) -> float | None:
    """The highest elevation (0.1° steps, rounded down) whose rounds stay at or below
    ``ceiling_asl``; ``None`` when even the minimum elevation reaches above it."""
    slant_m = 1000.0 * equipment.ceiling_km / math.sin(math.radians(equipment.max_elevation_deg))
    ratio = (ceiling_asl - site.elevation_m) / slant_m
    if ratio <= 0.0:
        return None
    elevation = equipment.max_elevation_deg if ratio >= 1.0 else math.degrees(math.asin(ratio))
    elevation = math.floor(min(elevation, equipment.max_elevation_deg) * 10.0) / 10.0
    if elevation < equipment.min_elevation_deg:
        return None
    return elevation


def equipment_for(site: Site, quantity: Mapping[str, int]) -> Equipment:
    """The piece that fires the ordered ammunition: rockets for ``rocket*`` types, else the
    gun (the first piece when nothing matches)."""
    wants_rocket = any(t.startswith("rocket") for t in quantity)
    for piece in site.equipment:
        if (piece.kind == EquipmentKind.ROCKET) == wants_rocket:
            return piece
    return site.equipment[0]
