"""Conflicts between a planned firing and the airspace cleared so far, and the one-step
amendment that brings the plan inside the cleared envelope.

The plan is the operation's aim (azimuth, elevation), its ammunition and the height its
rounds reach; the envelope is :func:`dispatch.clearance.current_envelope`.  Checking them
when a grant arrives — not when the order is sent — lets the commander amend in one step
instead of cancelling and asking both authorities again.

Pure: values in, values out.  Conflicts are codes with numbers; the shell words them.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime

from dispatch.clearance import Authority, Envelope
from dispatch.engagement import elevation_for_ceiling, equipment_for, reach_asl_m
from sites.geometry import azimuth_in_sectors, normalize
from sites.model import Sector, Site


class ConflictKind(enum.StrEnum):
    CEILING = "ceiling"  # rounds reach above the cleared ceiling
    SECTOR = "sector"  # the aim lies outside the cleared sectors
    WINDOW_CLOSED = "window_closed"  # the cleared window has already ended
    WINDOW_EMPTY = "window_empty"  # the grants' windows have nothing in common
    SECTORS_EMPTY = "sectors_empty"  # the grants' sectors have nothing in common


@dataclass(frozen=True)
class Conflict:
    kind: ConflictKind
    planned: float | None
    allowed: float | None
    authorities: tuple[Authority, ...]
    amendable: bool


@dataclass(frozen=True)
class Amendment:
    """A plan inside the envelope: the new aim and the height its rounds then reach."""

    azimuth_deg: float
    elevation_deg: float
    max_altitude_m: float


def _angular_distance(a: float, b: float) -> float:
    d = abs(normalize(a) - normalize(b)) % 360.0
    return min(d, 360.0 - d)


def nearest_azimuth(azimuth_deg: float, sectors: tuple[Sector, ...]) -> float | None:
    """``azimuth_deg`` if inside ``sectors``, else the nearest sector edge moved 0.5° inside
    (the edge itself is ambiguous on a firing table); ``None`` without sectors."""
    if not sectors:
        return None
    if azimuth_in_sectors(azimuth_deg, sectors):
        return round(normalize(azimuth_deg), 1)
    best: tuple[float, float] | None = None
    for s in sectors:
        width = (s.end_deg - s.start_deg) % 360.0 or 360.0
        inset = min(0.5, width / 2.0)
        for edge, inside in ((s.start_deg, s.start_deg + inset), (s.end_deg, s.end_deg - inset)):
            d = _angular_distance(azimuth_deg, edge)
            if best is None or d < best[0]:
                best = (d, normalize(inside))
    assert best is not None
    return round(best[1], 1)


def plan_conflicts(
    envelope: Envelope,
    *,
    azimuth_deg: float,
    max_altitude_m: float,
    now: datetime,
    amendable: bool = True,
) -> tuple[Conflict, ...]:
    """Every way the plan falls outside the envelope as of ``now`` (pure).

    Only dimensions some grant already decided are checked: while both are pending there is
    nothing to conflict with.  ``amendable`` says whether the aim can be moved inside (the
    caller knows the equipment: see :func:`amend_within`).
    """
    out: list[Conflict] = []
    if not envelope.granted_by:
        return ()
    by = envelope.narrowed_by
    if envelope.window is None:
        out.append(Conflict(ConflictKind.WINDOW_EMPTY, None, None, by.get("window", ()), False))
    elif now >= envelope.window.end:
        out.append(Conflict(ConflictKind.WINDOW_CLOSED, None, None, by.get("window", ()), False))
    if not envelope.sectors:
        out.append(Conflict(ConflictKind.SECTORS_EMPTY, azimuth_deg, None, by.get("sectors", ()),
                            False))
    elif not azimuth_in_sectors(azimuth_deg, envelope.sectors):
        allowed = nearest_azimuth(azimuth_deg, envelope.sectors)
        out.append(Conflict(ConflictKind.SECTOR, azimuth_deg, allowed, by.get("sectors", ()),
                            amendable))
    if max_altitude_m > envelope.ceiling_m:
        out.append(Conflict(ConflictKind.CEILING, max_altitude_m, envelope.ceiling_m,
                            by.get("ceiling_m", ()), amendable))
    return tuple(out)


def amend_within(
    envelope: Envelope,
    site: Site,
    quantity: dict[str, int],
    *,
    azimuth_deg: float,
    elevation_deg: float,
    max_altitude_m: float,
) -> Amendment | None:
    """The smallest change of aim that puts the plan inside the envelope, or ``None``.

    Azimuth: moved to the nearest cleared sector.  Height: the elevation lowered until the
    rounds' reach (:func:`~dispatch.engagement.reach_asl_m` of the piece firing this
    ammunition) is at or below the cleared ceiling — never below the piece's minimum
    elevation.  ``None`` when no aim of this piece fits (or there is nothing to fit into).
    """
    azimuth = nearest_azimuth(azimuth_deg, envelope.sectors)
    if azimuth is None or envelope.window is None:
        return None
    piece = equipment_for(site, quantity)
    elevation, reach = elevation_deg, max_altitude_m
    if max_altitude_m > envelope.ceiling_m:
        fitted = elevation_for_ceiling(site, piece, envelope.ceiling_m)
        if fitted is None:
            return None
        elevation = min(elevation_deg, fitted)
        reach = reach_asl_m(site, piece, elevation)
    return Amendment(azimuth, round(elevation, 1), float(math.floor(reach)))
