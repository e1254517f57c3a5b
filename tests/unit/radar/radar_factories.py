"""Synthetic radars with planted storms, for tests of the radar package.

Gate positions come from Py-ART (``radar.gate_x/y/z``, its own 4/3-earth beam model), so a
storm planted here is placed independently of the geometry code under test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Storm:
    """A vertical cylinder of uniform reflectivity.

    ``x_km``/``y_km`` east/north of the radar; ``bottom_m``/``top_m`` above sea level.
    """

    x_km: float
    y_km: float
    radius_km: float
    dbz: float
    bottom_m: float = 0.0
    top_m: float = 12000.0


#: Half-degree steps from 0.5 to 30 degrees: dense enough for near-analytic vertical integrals.
DENSE_ELEVATIONS = tuple(np.round(np.arange(0.5, 30.01, 0.5), 2))


def make_storm_radar(
    storms: Sequence[Storm] = (Storm(30.0, 0.0, 8.0, 60.0),),
    *,
    elevations: Sequence[float] = DENSE_ELEVATIONS,
    rays_per_sweep: int = 360,
    gate_spacing_m: float = 500.0,
    max_range_m: float = 80_000.0,
    alt_m: float = 200.0,
    lat: float = 37.7,
    lon: float = 111.5,
    field_name: str = "reflectivity",
    background_dbz: float | None = None,
    scan_time: str = "2024-06-15T08:30:00Z",
):
    """A PPI volume (Py-ART ``Radar``) with ``storms`` planted; the rest is masked (no echo).

    Where storms overlap the larger reflectivity wins.  ``background_dbz`` fills the rest with
    a weak echo instead of masking it.
    """
    import pyart

    ngates = int(max_range_m // gate_spacing_m)
    radar = pyart.testing.make_empty_ppi_radar(ngates, rays_per_sweep, len(elevations))
    radar.range["data"] = (np.arange(ngates) * gate_spacing_m + gate_spacing_m / 2).astype(
        "float32"
    )
    radar.latitude["data"] = np.array([lat])
    radar.longitude["data"] = np.array([lon])
    radar.altitude["data"] = np.array([alt_m])
    radar.time["units"] = f"seconds since {scan_time}"
    radar.time["data"] = np.linspace(0.0, 240.0, radar.nrays)
    radar.fixed_angle["data"] = np.asarray(elevations, dtype="float32")
    radar.elevation["data"] = np.repeat(np.asarray(elevations, dtype="float32"), rays_per_sweep)
    radar.azimuth["data"] = np.tile(
        (np.arange(rays_per_sweep) + 0.5) * (360.0 / rays_per_sweep), len(elevations)
    ).astype("float32")
    radar.init_gate_x_y_z()
    x, y, z = radar.gate_x["data"], radar.gate_y["data"], radar.gate_z["data"] + alt_m

    dbz = np.full((radar.nrays, ngates), -np.inf)
    for storm in storms:
        inside = (
            (np.hypot(x - storm.x_km * 1000.0, y - storm.y_km * 1000.0) <= storm.radius_km * 1000.0)
            & (z >= storm.bottom_m)
            & (z <= storm.top_m)
        )
        dbz = np.where(inside, np.maximum(dbz, storm.dbz), dbz)
    if background_dbz is None:
        data = np.ma.masked_invalid(np.where(np.isinf(dbz), np.nan, dbz)).astype("float32")
    else:
        data = np.ma.masked_array(np.where(np.isinf(dbz), background_dbz, dbz).astype("float32"))
    radar.add_field(field_name, {"data": data, "units": "dBZ"}, replace_existing=True)
    return radar
