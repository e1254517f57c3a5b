"""Radar volume → hail cells: the use case, its result object and its GeoJSON contract.

``detect_volume`` reads a volume (only its reflectivity), computes the 2-D column products
(:mod:`radar.grid`), finds cells (:mod:`radar.cells`) and returns a frozen
:class:`VolumeResult`.  ``volume_to_geojson`` is the contract printed by
``hailops radar detect``; ``geojson_to_cells`` reads it back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from radar.cells import build_cells, grid_to_lonlat, label_cells, lonlat_to_grid
from radar.config import DEFAULT_CONFIG, DetectionConfig
from radar.errors import DetectionError, RadarReadError
from radar.grid import ProductGrids, compute_product_grids, grid_geometry
from radar.io import (
    REFLECTIVITY_CANDIDATES,
    preload_readers,
    read_volume,
    reflectivity_field,
)
from radar.model import HailCell, RadarSite, TemperatureLevels

#: Overlay colours for reflectivity, 5 dBZ steps from 5 dBZ (the familiar NWS palette).
_DBZ_COLOURS = (
    "#04e9e7", "#019ff4", "#0300f4", "#02fd02", "#01c501", "#008e00", "#fdf802",
    "#e5bc00", "#fd9500", "#fd0000", "#d40000", "#bc0000", "#f800fd", "#9854c6", "#fdfdfd",
)  # fmt: skip
#: MESH classes (mm): pea, severe (19 mm), golf ball (44 mm), larger; colours by class.
_MESH_BOUNDS_MM = (5.0, 10.0, 19.0, 25.0, 32.0, 44.0, 51.0, 64.0)
_MESH_COLOURS = (
    "#a1d99b", "#f7f060", "#fdae3b", "#f46d43", "#d7301f", "#b3006e", "#7a0177", "#ffffff",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class VolumeResult:
    """Everything detection found in one volume.

    ``composite_dbz`` (NaN where there is no echo or no coverage) and ``mesh_mm`` are 2-D grids ``[row = south → north, col = west →
    east]`` on the radar-centred azimuthal-equidistant grid with cell centres ``x_m``/``y_m``
    (m east/north of the radar); ``bounds`` is ``((south, west), (north, east))`` in degrees,
    the lon/lat box enclosing the grid.  ``mesh_mm`` is ``None`` when vertical products are
    unavailable (``unavailable_reason`` says why).  ``grids`` holds every product.
    """

    radar: RadarSite
    scan_time: datetime
    levels: TemperatureLevels
    cells: tuple[HailCell, ...]
    composite_dbz: np.ndarray
    mesh_mm: np.ndarray | None
    x_m: np.ndarray
    y_m: np.ndarray
    bounds: tuple[tuple[float, float], tuple[float, float]]
    grids: ProductGrids = field(repr=False)
    config: DetectionConfig = field(default_factory=DetectionConfig)
    source: str = ""
    unavailable_reason: str | None = None
    #: Completeness: sweeps the volume should hold (``None`` when the format cannot say),
    #: sweeps read and kept, and why the volume is incomplete (``None`` when complete).
    sweeps_expected: int | None = None
    sweeps_read: int = 0
    incomplete_reason: str | None = None

    @property
    def complete(self) -> bool:
        return self.incomplete_reason is None

    def write_overlays(
        self,
        directory: str | Path,
        *,
        stem: str | None = None,
        min_dbz: float = 15.0,
        min_mesh_mm: float = 5.0,
    ) -> dict[str, dict[str, Any] | None]:
        """Write reflectivity and MESH PNG overlays for a web map (Web Mercator, e.g. Leaflet).

        The images are resampled onto a grid regular in Web Mercator inside ``bounds`` so a
        map's image overlay lines up; pixels below ``min_dbz`` / ``min_mesh_mm`` and outside
        coverage are transparent.  Returns ``{"reflectivity": {"path", "bounds"}, "mesh":
        {"path", "bounds"} or None}`` with ``bounds = [[south, west], [north, east]]``.
        """
        import matplotlib.image
        from matplotlib.colors import BoundaryNorm, ListedColormap

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        stem = stem or f"{self.scan_time:%Y%m%dT%H%M%SZ}"
        leaflet_bounds = [list(self.bounds[0]), list(self.bounds[1])]
        sample = _mercator_resampler(self)

        dbz = sample(self.composite_dbz)
        dbz_cmap = ListedColormap(list(_DBZ_COLOURS))
        dbz_norm = BoundaryNorm(np.arange(5.0, 75.0 + 1e-6, 5.0), dbz_cmap.N, extend="max")
        rgba = dbz_cmap(dbz_norm(np.nan_to_num(dbz, nan=-99.0)))
        rgba[..., 3] = np.where(np.isfinite(dbz) & (dbz >= min_dbz), 0.75, 0.0)
        refl_path = directory / f"{stem}_reflectivity.png"
        matplotlib.image.imsave(refl_path, rgba)
        out: dict[str, dict[str, Any] | None] = {
            "reflectivity": {
                "path": str(refl_path),
                "bounds": leaflet_bounds,
                "levels_source": self.levels.source,
            },
            "mesh": None,
        }
        if self.mesh_mm is not None:
            mesh = sample(self.mesh_mm)
            mesh_cmap = ListedColormap(list(_MESH_COLOURS))
            mesh_norm = BoundaryNorm(list(_MESH_BOUNDS_MM), mesh_cmap.N, extend="max")
            mesh_rgba = mesh_cmap(mesh_norm(np.nan_to_num(mesh, nan=0.0)))
            mesh_rgba[..., 3] = np.where(np.isfinite(mesh) & (mesh >= min_mesh_mm), 0.8, 0.0)
            mesh_path = directory / f"{stem}_mesh.png"
            matplotlib.image.imsave(mesh_path, mesh_rgba)
            out["mesh"] = {
                "path": str(mesh_path),
                "bounds": leaflet_bounds,
                "levels_source": self.levels.source,
            }
        return out


def _mercator_resampler(result: VolumeResult) -> Any:
    """A function taking a product grid to an image regular in Web Mercator (row 0 = north)."""
    (south, west), (north, east) = result.bounds
    ok, iy, ix = _mercator_index(
        result.radar.lat,
        result.radar.lon,
        ((float(south), float(west)), (float(north), float(east))),
        result.composite_dbz.shape,
        float(result.x_m[0]),
        float(result.y_m[0]),
        result.grids.resolution_m,
    )

    def sample(grid: np.ndarray) -> np.ndarray:
        return np.where(ok, grid[iy, ix], np.nan)

    return sample


@lru_cache(maxsize=8)
def _mercator_index(
    lat: float,
    lon: float,
    bounds: tuple[tuple[float, float], tuple[float, float]],
    shape: tuple[int, ...],
    x0: float,
    y0: float,
    res: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which grid pixel each Web Mercator image pixel shows (cached: the same for every
    volume of one radar, and the projection is most of an overlay's cost)."""
    (south, west), (north, east) = bounds
    ny, nx = shape

    def merc_y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    ys = np.linspace(merc_y(north), merc_y(south), ny)
    lats = np.degrees(2 * np.arctan(np.exp(ys)) - np.pi / 2)
    lons = np.linspace(west, east, nx)
    lon2, lat2 = np.meshgrid(lons, lats)
    x, y = lonlat_to_grid(RadarSite(lat=lat, lon=lon, alt_m=0.0), lon2, lat2)
    ix = np.rint((x - x0) / res).astype(np.int64)
    iy = np.rint((y - y0) / res).astype(np.int64)
    ok = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    ix, iy = np.where(ok, ix, 0), np.where(ok, iy, 0)
    for arr in (ok, iy, ix):
        arr.flags.writeable = False
    return ok, iy, ix


def scan_time_of(radar: Any) -> datetime:
    """Start of the volume (earliest ray), timezone-aware UTC, to the second."""
    import cftime

    units = str(radar.time["units"])
    seconds = np.ma.filled(np.ma.masked_invalid(np.asarray(radar.time["data"], float)), np.nan)
    first = float(np.nanmin(seconds)) if np.isfinite(seconds).any() else 0.0
    when = cftime.num2date(
        first, units, calendar="standard", only_use_cftime_datetimes=False,
        only_use_python_datetimes=True,
    )  # fmt: skip
    return datetime(
        when.year, when.month, when.day, when.hour, when.minute, when.second, tzinfo=UTC
    )


def radar_site(radar: Any) -> RadarSite:
    """Position and name of the radar."""
    lat = float(np.ravel(radar.latitude["data"])[0])
    lon = float(np.ravel(radar.longitude["data"])[0])
    alt_raw: np.ndarray = np.ravel(
        np.ma.filled(np.ma.asarray(radar.altitude["data"], float), np.nan)
    )
    alt = float(alt_raw[0]) if alt_raw.size and np.isfinite(alt_raw[0]) else 0.0
    meta = radar.metadata or {}
    name = meta.get("instrument_name") or meta.get("source") or ""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return RadarSite(lat=lat, lon=lon, alt_m=alt, name=str(name).strip())


def warm_up(config: DetectionConfig = DEFAULT_CONFIG) -> tuple[str, ...]:
    """Do now what the first :func:`detect_volume` of a process would do once: import the
    readers (:func:`radar.io.preload_readers`), cftime, pyproj and shapely, and build the
    product grid's geometry (cached).  Results never change; only the first volume read
    after a start gets quicker (about 2 s of imports).  Returns the modules imported."""
    import cftime  # noqa: F401
    import pyproj  # noqa: F401
    import shapely  # noqa: F401

    grid_geometry(config.grid_resolution_m, config.max_range_km * 1000.0)
    return (*preload_readers(), "cftime", "pyproj", "shapely")


def detect_volume(
    path_or_radar: str | Path | Any,
    levels: TemperatureLevels,
    config: DetectionConfig = DEFAULT_CONFIG,
) -> VolumeResult:
    """Hail cells and products of one volume.

    Parameters
    ----------
    path_or_radar
        A file (any format :func:`radar.io.read_volume` reads; only reflectivity is loaded)
        or a Py-ART ``Radar``.
    levels
        0 °C and −20 °C heights (m above sea level) and their source.
    config
        Thresholds and grid settings (:class:`radar.config.DetectionConfig`).

    Raises
    ------
    RadarReadError
        The file cannot be read (one-line reason).
    DetectionError
        The levels are inconsistent, or the volume holds no PPI sweep.
    """
    if not (np.isfinite(levels.h0_m) and np.isfinite(levels.h20_m)) or levels.h20_m <= levels.h0_m:
        raise DetectionError(f"-20C level {levels.h20_m} m must be above 0C level {levels.h0_m} m")
    if isinstance(path_or_radar, (str, Path)):
        source = str(path_or_radar)
        radar = read_volume(
            path_or_radar, fields=REFLECTIVITY_CANDIDATES, timeout_s=config.read_timeout_s
        )
    else:
        source = "radar object"
        radar = path_or_radar
    try:
        field_name = reflectivity_field(radar)
    except KeyError as exc:
        raise RadarReadError(source, str(exc.args[0])) from None

    site = radar_site(radar)
    scan_time = scan_time_of(radar)
    sweeps_expected, sweeps_read, incomplete_reason = completeness(radar)
    grids = compute_product_grids(radar, field_name, levels, config)
    if grids.n_elevations == 0:
        raise DetectionError(f"{source}: no PPI sweep to detect cells on (RHI or vertical scan)")
    labels, n = label_cells(
        grids.composite_dbz,
        grids.resolution_m,
        cell_dbz=config.cell_dbz,
        split_dbz=config.split_dbz,
        min_area_km2=config.min_area_km2,
        min_core_area_km2=config.min_core_area_km2,
    )
    cells = build_cells(
        grids, labels, n, site=site, scan_time=scan_time, levels=levels, config=config,
        volume_complete=incomplete_reason is None,
    )  # fmt: skip
    return VolumeResult(
        radar=site,
        scan_time=scan_time,
        levels=levels,
        cells=cells,
        composite_dbz=grids.composite_dbz,
        mesh_mm=grids.mesh_mm,
        x_m=grids.x_m,
        y_m=grids.y_m,
        bounds=_lonlat_bounds(site, grids.x_m, grids.y_m, grids.resolution_m),
        grids=grids,
        config=config,
        source=source,
        unavailable_reason=grids.unavailable_reason,
        sweeps_expected=sweeps_expected,
        sweeps_read=sweeps_read,
        incomplete_reason=incomplete_reason,
    )


def completeness(radar: Any) -> tuple[int | None, int, str | None]:
    """``(sweeps_expected, sweeps_read, incomplete_reason)`` of a volume.

    :func:`radar.io.read_volume` leaves what the file's own header says in
    ``radar.hailops_sweeps_expected`` (``None`` when the format cannot say) and, when it had
    to drop damaged sweeps, the reason in ``radar.hailops_incomplete``.  A Py-ART ``Radar``
    built elsewhere has neither: expected unknown, complete unless told otherwise.
    """
    read = int(radar.nsweeps)
    expected = getattr(radar, "hailops_sweeps_expected", None)
    reason = getattr(radar, "hailops_incomplete", None)
    if expected is not None and read < int(expected) and reason is None:
        reason = f"{read} of {int(expected)} sweeps read"
    return (None if expected is None else int(expected)), read, reason


def _lonlat_bounds(
    site: RadarSite, x_m: np.ndarray, y_m: np.ndarray, res: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Lon/lat box enclosing the grid's outer edge."""
    half = res / 2.0
    xe = np.linspace(x_m[0] - half, x_m[-1] + half, 64)
    ye = np.linspace(y_m[0] - half, y_m[-1] + half, 64)
    xs = np.concatenate([xe, xe, np.full(64, xe[0]), np.full(64, xe[-1])])
    ys = np.concatenate([np.full(64, ye[0]), np.full(64, ye[-1]), ye, ye])
    lon, lat = grid_to_lonlat(site, xs, ys)
    return (float(lat.min()), float(lon.min())), (float(lat.max()), float(lon.max()))


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def volume_to_geojson(result: VolumeResult) -> dict[str, Any]:
    """The ``hailops radar detect`` contract: a GeoJSON FeatureCollection of cells.

    Collection ``properties``: ``radar`` {``lat``, ``lon``, ``alt_m``}, ``scan_time`` (ISO 8601
    UTC), ``h0_m``, ``h20_m``, ``levels_source`` (plus ``radar.name``,
    ``unavailable_reason``).  One Feature per cell with a lon/lat Polygon and ``id``,
    ``centroid`` [lon, lat], ``area_km2``, ``max_dbz``, ``top45_km``, ``vil_kgm2``,
    ``vild_gm3``, ``shi``, ``posh_pct``, ``mesh_mm``, ``poh_pct``, ``hail``, ``criteria`` (plus
    ``mesh75_mm``, ``mesh95_mm``, ``unavailable_reason``, ``levels_source``, ``verdict``
    ``"hail"``/``"no_hail"``/``"cannot_tell"``, ``sampling`` flags, ``verdict_reason``);
    unavailable values are ``null``.  Completeness in the collection's properties:
    ``complete``, ``sweeps_expected`` (``null`` when the format cannot say), ``sweeps_read``,
    ``incomplete_reason``.
    """
    features = []
    for cell in result.cells:
        ring = [[round(lon, 5), round(lat, 5)] for lon, lat in cell.polygon]
        features.append(
            {
                "type": "Feature",
                "id": cell.id,
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "id": cell.id,
                    "centroid": [round(cell.centroid[0], 5), round(cell.centroid[1], 5)],
                    "area_km2": _num(cell.area_km2, 1),
                    "max_dbz": _num(cell.max_dbz, 1),
                    "top45_km": _num(cell.top45_km, 2),
                    "vil_kgm2": _num(cell.vil_kgm2, 1),
                    "vild_gm3": _num(cell.vild_gm3, 2),
                    "shi": _num(cell.shi, 1),
                    "posh_pct": _num(cell.posh_pct, 0),
                    "mesh_mm": _num(cell.mesh_mm, 1),
                    "poh_pct": _num(cell.poh_pct, 0),
                    "hail": bool(cell.hail),
                    "criteria": list(cell.criteria),
                    "mesh75_mm": _num(cell.mesh75_mm, 1),
                    "mesh95_mm": _num(cell.mesh95_mm, 1),
                    "unavailable_reason": cell.unavailable_reason,
                    "levels_source": result.levels.source,
                    "verdict": cell.verdict,
                    "sampling": list(cell.sampling),
                    "verdict_reason": cell.verdict_reason,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "properties": {
            "radar": {
                "lat": round(result.radar.lat, 5),
                "lon": round(result.radar.lon, 5),
                "alt_m": round(result.radar.alt_m, 1),
                "name": result.radar.name,
            },
            "scan_time": _iso(result.scan_time),
            "h0_m": round(result.levels.h0_m, 1),
            "h20_m": round(result.levels.h20_m, 1),
            "levels_source": result.levels.source,
            "unavailable_reason": result.unavailable_reason,
            "complete": result.complete,
            "sweeps_expected": result.sweeps_expected,
            "sweeps_read": result.sweeps_read,
            "incomplete_reason": result.incomplete_reason,
        },
        "features": features,
    }


def _parse_time(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def geojson_to_cells(fc: dict[str, Any]) -> list[HailCell]:
    """Cells of a FeatureCollection written by :func:`volume_to_geojson`.

    Raises :class:`ValueError` when the collection does not follow the contract.
    """
    if fc.get("type") != "FeatureCollection":
        raise ValueError("not a GeoJSON FeatureCollection")
    try:
        scan_time = _parse_time(fc["properties"]["scan_time"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"collection has no valid properties.scan_time ({exc})") from None

    def opt(props: dict[str, Any], key: str) -> float | None:
        value = props.get(key)
        return None if value is None else float(value)

    cells = []
    for feature in fc.get("features", []):
        try:
            props = feature["properties"]
            ring = feature["geometry"]["coordinates"][0]
            cells.append(
                HailCell(
                    id=str(props["id"]),
                    scan_time=_parse_time(props["scan_time"])
                    if "scan_time" in props
                    else scan_time,
                    centroid=(float(props["centroid"][0]), float(props["centroid"][1])),
                    polygon=tuple((float(p[0]), float(p[1])) for p in ring),
                    area_km2=float(props["area_km2"]),
                    max_dbz=float(props["max_dbz"]),
                    top45_km=opt(props, "top45_km"),
                    vil_kgm2=opt(props, "vil_kgm2"),
                    vild_gm3=opt(props, "vild_gm3"),
                    shi=opt(props, "shi"),
                    posh_pct=opt(props, "posh_pct"),
                    mesh_mm=opt(props, "mesh_mm"),
                    mesh75_mm=opt(props, "mesh75_mm"),
                    mesh95_mm=opt(props, "mesh95_mm"),
                    poh_pct=opt(props, "poh_pct"),
                    hail=bool(props["hail"]),
                    criteria=tuple(str(c) for c in props.get("criteria", ())),
                    unavailable_reason=props.get("unavailable_reason"),
                    # Collections written before the verdict existed: derived from ``hail``.
                    verdict=str(props.get("verdict") or ("hail" if props["hail"] else "no_hail")),
                    sampling=tuple(str(f) for f in props.get("sampling") or ()),
                    verdict_reason=props.get("verdict_reason"),
                )
            )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ValueError(f"feature does not follow the cell contract ({exc})") from None
    return cells
