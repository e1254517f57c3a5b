"""Replaying archived volumes: relocation over another radar site and re-timing.

A drill or demo places a storm recorded elsewhere over the deployment: the radar's position
is replaced, so every echo keeps its range and azimuth from the radar (its position relative
to the radar) and lands at the same offset from the deployment's radar.  Re-timing shifts
the volume's clock so the replay happens "now" (or on a drill clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Relocation:
    lat: float
    lon: float
    alt_m: float | None = None  # None keeps the original antenna altitude


def relocate(radar: Any, target: Relocation) -> Any:
    """Move a Py-ART radar (in place) to ``target``; returns it.  Gate lat/lon are derived
    from the radar position by Py-ART, so they follow."""
    radar.latitude["data"] = np.array([target.lat], dtype="float64")
    radar.longitude["data"] = np.array([target.lon], dtype="float64")
    if target.alt_m is not None:
        radar.altitude["data"] = np.array([target.alt_m], dtype="float64")
    radar.init_gate_longitude_latitude()
    radar.init_gate_altitude()
    return radar


def retime(radar: Any, new_start: datetime) -> Any:
    """Shift the volume's time axis (in place) so that it starts at ``new_start`` (UTC)."""
    if new_start.tzinfo is None:
        raise ValueError("new_start must be timezone-aware")
    seconds = np.asarray(radar.time["data"], dtype="float64")
    offset = seconds - float(np.nanmin(seconds))
    radar.time["data"] = offset
    radar.time["units"] = "seconds since " + new_start.astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    return radar


def relocate_point(
    lat: float, lon: float, source: Relocation, target: Relocation
) -> tuple[float, float]:
    """Where a place seen from the ``source`` radar lands when the event is replayed over
    the ``target`` radar: same range and azimuth from the radar.  Uses Py-ART's azimuthal
    equidistant projection (the one that places the gates), so a ground-truth report moves
    exactly as the echoes over it do.  Returns ``(lat, lon)``."""
    from pyart.core.transforms import cartesian_to_geographic_aeqd, geographic_to_cartesian_aeqd

    x, y = geographic_to_cartesian_aeqd(np.array([lon]), np.array([lat]), source.lon, source.lat)
    new_lon, new_lat = cartesian_to_geographic_aeqd(x, y, target.lon, target.lat)
    return float(np.ravel(new_lat)[0]), float(np.ravel(new_lon)[0])
