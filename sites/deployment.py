"""The deployment: the city, its counties, the airport, the radar, the sites and member units.

:func:`load_deployment` reads it from data files.  The default is the Lüliang (Shanxi)
deployment shipped as package data in ``sites/data/``:

``deployment.json``
    The city, the county keys (pinyin) and English names by adcode, the airport and its
    control zone parameters, the radar site, and the names of the other files.
``luliang_counties.geojson``
    County polygons and the city outline (see ``PROVENANCE.md``).
``sample_sites.geojson``
    The operation-site registry (format in :mod:`sites.registry`).  The shipped one is
    SAMPLE DATA, made by ``make_sample_sites.py``: real site coordinates are not public.
``member_units.json``
    The command center's member units, each with one liaison (sample names and phones).
``no_fire_areas.geojson`` (optional, named by ``no_fire_areas_file``)
    Extra no-fire polygons (towns, depots, ...), properties ``key``, ``name_zh``, ``name_en``.

A deployment edits or replaces any of these by putting a file of the same name in a
directory and calling ``load_deployment(directory)``: each file is taken from the directory
when present there, otherwise from the package data.

Airport control zone (the default no-fire area)
-----------------------------------------------
The runway is a segment of ``runway_length_m`` through the airport reference point along
``runway_true_heading_deg``.  The control zone is every point within
``control_zone_radius_km`` of that segment (default 10 km), plus one approach corridor off
each runway end, ``approach_corridor_length_km`` long (default 20 km, measured from the
runway end) and ``approach_corridor_width_km`` wide (default 4 km, centred on the runway
axis).  ZBLL's runway 18/36 is a magnetic designation; the default true heading of 0° is an
approximation to be replaced by the published value.  These defaults are planning
assumptions, not the published airspace: set the real figures in ``deployment.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shapely.geometry import LineString, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from sites.errors import DeploymentError, RegistryValidationError, UnknownCountyError
from sites.geometry import local_frame
from sites.model import Contact, Site
from sites.registry import read_registry, sites_from_csv, sites_from_geojson

__all__ = [
    "Airport",
    "City",
    "County",
    "Deployment",
    "MemberUnit",
    "NoFireArea",
    "RadarStation",
    "airport_control_zone",
    "county_at",
    "default_deployment",
    "load_deployment",
]


# --------------------------------------------------------------------------- domain objects


@dataclass(frozen=True)
class City:
    adcode: str
    name_zh: str
    name_en: str
    outline: BaseGeometry  # WGS84 (lon, lat) MultiPolygon


@dataclass(frozen=True)
class County:
    key: str  # pinyin, e.g. "lishi"; also the county_operator account name
    name_zh: str
    name_en: str
    adcode: str
    geometry: BaseGeometry  # WGS84 (lon, lat) MultiPolygon

    def contains(self, lon: float, lat: float) -> bool:
        """True when the point is inside the county or on its border."""
        return bool(self.geometry.covers(Point(lon, lat)))


@dataclass(frozen=True)
class Airport:
    icao: str
    name_zh: str
    name_en: str
    lat: float
    lon: float
    county: str
    runway: str = "18/36"
    runway_length_m: float = 2600.0
    runway_true_heading_deg: float = 0.0
    control_zone_radius_km: float = 10.0
    approach_corridor_length_km: float = 20.0
    approach_corridor_width_km: float = 4.0


@dataclass(frozen=True)
class RadarStation:
    """The deployment's configured weather radar (``sample=True``: not a real location)."""

    name: str
    lat: float
    lon: float
    alt_m: float
    band: str
    name_en: str = ""
    sample: bool = False
    note: str = ""
    station_id: str = ""  # CINRAD station number, e.g. "Z9358"
    radar_type: str = ""  # e.g. "CC" (CINRAD/CC, C band)
    source: str = ""  # where the position comes from


@dataclass(frozen=True)
class NoFireArea:
    key: str
    name_zh: str
    name_en: str
    geometry: BaseGeometry  # WGS84 (lon, lat)


@dataclass(frozen=True)
class MemberUnit:
    key: str
    name_zh: str
    name_en: str
    liaison: Contact
    hosts_office: bool = False
    representative_zh: str = ""
    representative_en: str = ""
    sample: bool = False


@dataclass(frozen=True)
class Deployment:
    key: str
    city: City
    counties: tuple[County, ...]
    airport: Airport
    radar: RadarStation
    sites: tuple[Site, ...]
    member_units: tuple[MemberUnit, ...]
    no_fire_areas: tuple[NoFireArea, ...]
    note: str = ""

    @property
    def area(self) -> BaseGeometry:
        """The deployment outline (the city), WGS84."""
        return self.city.outline

    def county(self, key: str) -> County:
        """The county with this pinyin key; :class:`UnknownCountyError` when there is none."""
        for county in self.counties:
            if county.key == key:
                return county
        raise UnknownCountyError(key)

    def county_at(self, lon: float, lat: float) -> County | None:
        """The county containing the point, or ``None`` outside every county."""
        point = Point(lon, lat)
        for county in self.counties:
            if county.geometry.covers(point):
                return county
        return None

    def county_areas(self) -> dict[str, BaseGeometry]:
        """County key -> polygon, the form :mod:`sites.registry` validates against."""
        return {county.key: county.geometry for county in self.counties}

    def registry_checks(self) -> dict[str, Any]:
        """Keyword arguments that make the :mod:`sites.registry` importers check sites
        against this deployment (county keys and polygons, outline).

        Example: ``sites_from_csv(text, **deployment.registry_checks())``.
        """
        return {"counties": self.county_areas(), "area": self.area}

    def read_registry(self, path: str | Path) -> list[Site]:
        """Read and validate a registry file (.geojson/.json/.csv) against this deployment."""
        return read_registry(path, **self.registry_checks())

    def no_fire_geometries(self) -> tuple[BaseGeometry, ...]:
        """The no-fire polygons, ready for :func:`sites.geometry.engagement_polygon`."""
        return tuple(area.geometry for area in self.no_fire_areas)

    def site(self, code: str) -> Site:
        for site in self.sites:
            if site.code == code:
                return site
        raise KeyError(code)

    def sites_in(self, county_key: str) -> tuple[Site, ...]:
        return tuple(site for site in self.sites if site.county == county_key)

    def member_unit(self, key: str) -> MemberUnit:
        for unit in self.member_units:
            if unit.key == key:
                return unit
        raise KeyError(key)


# --------------------------------------------------------------------------- geometry


def airport_control_zone(airport: Airport) -> BaseGeometry:
    """The airport's control zone with its approach corridors, WGS84 (see module doc).

    Built in metres in the airport's local azimuthal-equidistant frame.
    """
    frame = local_frame(airport.lat, airport.lon)
    heading = math.radians(airport.runway_true_heading_deg)
    ux, uy = math.sin(heading), math.cos(heading)  # unit vector along the runway, x east
    half = airport.runway_length_m / 2.0
    runway = LineString([(-half * ux, -half * uy), (half * ux, half * uy)])
    parts: list[BaseGeometry] = [runway.buffer(airport.control_zone_radius_km * 1000.0, 64)]
    length = airport.approach_corridor_length_km * 1000.0
    half_width = airport.approach_corridor_width_km * 1000.0 / 2.0
    if length > 0.0 and half_width > 0.0:
        px, py = uy, -ux  # perpendicular
        for sign in (1.0, -1.0):
            ex, ey = sign * half * ux, sign * half * uy  # runway end
            fx, fy = ex + sign * length * ux, ey + sign * length * uy  # corridor far end
            parts.append(
                Polygon(
                    [
                        (ex + half_width * px, ey + half_width * py),
                        (fx + half_width * px, fy + half_width * py),
                        (fx - half_width * px, fy - half_width * py),
                        (ex - half_width * px, ey - half_width * py),
                    ]
                )
            )
    return frame.to_lonlat(shapely.union_all(parts))


# --------------------------------------------------------------------------- file schema


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _CityFile(_Schema):
    adcode: str
    name_zh: str
    name_en: str


class _CountyFile(_Schema):
    adcode: str
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str


class _AirportFile(_Schema):
    icao: str
    name_zh: str
    name_en: str
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    county: str
    runway: str = "18/36"
    runway_length_m: float = Field(2600.0, ge=0)
    runway_true_heading_deg: float = Field(0.0, ge=0, le=360)
    control_zone_radius_km: float = Field(10.0, gt=0)
    approach_corridor_length_km: float = Field(20.0, ge=0)
    approach_corridor_width_km: float = Field(4.0, ge=0)


class _RadarFile(_Schema):
    name: str
    name_en: str = ""
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt_m: float
    band: str
    sample: bool = False
    note: str = ""
    station_id: str = ""
    radar_type: str = ""
    source: str = ""


class _DeploymentFile(_Schema):
    key: str
    note: str = ""
    city: _CityFile
    counties_file: str
    counties: list[_CountyFile]
    airport: _AirportFile
    radar: _RadarFile
    sites_file: str
    member_units_file: str
    no_fire_areas_file: str | None = None


class _LiaisonFile(_Schema):
    name: str = Field(min_length=1)
    phone: str = Field(min_length=1)
    role: str = ""


class _MemberUnitFile(_Schema):
    key: str
    name_zh: str
    name_en: str
    hosts_office: bool = False
    representative_zh: str = ""
    representative_en: str = ""
    liaison: _LiaisonFile
    sample: bool = False


class _MemberUnitsFile(_Schema):
    note: str = ""
    units: list[_MemberUnitFile]


# --------------------------------------------------------------------------- loading


class _DataFiles:
    """Reads a named data file from the deployment directory, else from the package data."""

    def __init__(self, directory: Path | None) -> None:
        if directory is not None and not directory.is_dir():
            raise DeploymentError(f"{directory}: not a directory")
        self.directory = directory

    def origin(self, name: str) -> str:
        if self.directory is not None and (self.directory / name).is_file():
            return str(self.directory / name)
        return f"package data sites/data/{name}"

    def read_text(self, name: str) -> str:
        if Path(name).name != name:
            raise DeploymentError(f"{name!r}: data files are named without a directory")
        try:
            if self.directory is not None and (self.directory / name).is_file():
                return (self.directory / name).read_text(encoding="utf-8-sig")
            return resources.files("sites").joinpath("data", name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DeploymentError(f"{self.origin(name)}: cannot read: {exc}") from exc

    def read_json(self, name: str) -> Any:
        text = self.read_text(name)
        try:
            return json.loads(text)
        except ValueError as exc:
            raise DeploymentError(f"{self.origin(name)}: not valid JSON: {exc}") from exc


_Model = TypeVar("_Model", bound=BaseModel)


def _parse(schema: type[_Model], data: Any, origin: str) -> _Model:
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise DeploymentError(f"{origin}: {exc}") from exc


def _load_counties(files: _DataFiles, config: _DeploymentFile) -> tuple[City, tuple[County, ...]]:
    origin = files.origin(config.counties_file)
    data = files.read_json(config.counties_file)
    try:
        by_adcode = {
            str(feature["properties"]["adcode"]): shape(feature["geometry"])
            for feature in data["features"]
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DeploymentError(f"{origin}: not a county FeatureCollection: {exc}") from exc

    def geometry(adcode: str, what: str) -> BaseGeometry:
        if adcode not in by_adcode:
            raise DeploymentError(f"{origin}: no feature with adcode {adcode} ({what})")
        polygon = by_adcode[adcode]
        if polygon.is_empty or not polygon.is_valid:
            raise DeploymentError(f"{origin}: geometry of adcode {adcode} ({what}) is invalid")
        shapely.prepare(polygon)  # speeds up the many point-in-polygon tests
        return polygon

    keys = [c.key for c in config.counties]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise DeploymentError(f"deployment.json: duplicate county keys {duplicates}")
    city = City(
        adcode=config.city.adcode,
        name_zh=config.city.name_zh,
        name_en=config.city.name_en,
        outline=geometry(config.city.adcode, config.city.name_en),
    )
    counties = tuple(
        County(
            key=c.key,
            name_zh=c.name_zh,
            name_en=c.name_en,
            adcode=c.adcode,
            geometry=geometry(c.adcode, c.key),
        )
        for c in config.counties
    )
    return city, counties


def _load_no_fire_areas(files: _DataFiles, name: str | None) -> list[NoFireArea]:
    if name is None:
        return []
    origin = files.origin(name)
    data = files.read_json(name)
    areas = []
    try:
        for i, feature in enumerate(data["features"], 1):
            props = feature.get("properties") or {}
            polygon = shape(feature["geometry"])
            if polygon.is_empty or not polygon.is_valid or polygon.area == 0.0:
                raise DeploymentError(f"{origin}: feature {i} is not a valid polygon")
            areas.append(
                NoFireArea(
                    key=str(props.get("key") or f"no_fire_{i}"),
                    name_zh=str(props.get("name_zh", "")),
                    name_en=str(props.get("name_en", "")),
                    geometry=polygon,
                )
            )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DeploymentError(f"{origin}: not a polygon FeatureCollection: {exc}") from exc
    return areas


def _load_member_units(files: _DataFiles, name: str) -> tuple[MemberUnit, ...]:
    parsed = _parse(_MemberUnitsFile, files.read_json(name), files.origin(name))
    keys = [unit.key for unit in parsed.units]
    if len(set(keys)) != len(keys):
        raise DeploymentError(f"{files.origin(name)}: duplicate member unit keys")
    return tuple(
        MemberUnit(
            key=unit.key,
            name_zh=unit.name_zh,
            name_en=unit.name_en,
            liaison=Contact(unit.liaison.name, unit.liaison.phone, unit.liaison.role),
            hosts_office=unit.hosts_office,
            representative_zh=unit.representative_zh,
            representative_en=unit.representative_en,
            sample=unit.sample,
        )
        for unit in parsed.units
    )


def _load_sites(
    files: _DataFiles, name: str, city: City, counties: Iterable[County]
) -> tuple[Site, ...]:
    text = files.read_text(name)
    options: dict[str, Any] = {
        "counties": {county.key: county.geometry for county in counties},
        "area": city.outline,
    }
    try:
        if name.lower().endswith(".csv"):
            return tuple(sites_from_csv(text, **options))
        return tuple(sites_from_geojson(text, **options))
    except RegistryValidationError as exc:
        exc.add_note(f"in {files.origin(name)}")
        raise


def load_deployment(path: str | Path | None = None, *, include_sites: bool = True) -> Deployment:
    """Load a deployment; ``None`` is the Lüliang deployment from the package data.

    ``path`` is a directory whose files override the package files of the same name (see the
    module docstring).  ``include_sites=False`` skips the site registry (``sites`` is empty),
    e.g. to validate a new registry against the deployment's counties.

    Raises :class:`DeploymentError` for missing or inconsistent files and
    :class:`~sites.errors.RegistryValidationError` for a bad site registry (with a note
    naming the file).
    """
    files = _DataFiles(None if path is None else Path(path))
    config = _parse(
        _DeploymentFile, files.read_json("deployment.json"), files.origin("deployment.json")
    )
    city, counties = _load_counties(files, config)
    county_keys = {county.key for county in counties}
    if config.airport.county not in county_keys:
        raise DeploymentError(f"deployment.json: airport county {config.airport.county!r} unknown")
    airport = Airport(**config.airport.model_dump())
    no_fire = [
        NoFireArea(
            key=f"{airport.icao.lower()}_control_zone",
            name_zh=f"{airport.name_zh}管制区及进近走廊",
            name_en=f"{airport.name_en} control zone and approach corridors",
            geometry=airport_control_zone(airport),
        ),
        *_load_no_fire_areas(files, config.no_fire_areas_file),
    ]
    return Deployment(
        key=config.key,
        city=city,
        counties=counties,
        airport=airport,
        radar=RadarStation(**config.radar.model_dump()),
        sites=_load_sites(files, config.sites_file, city, counties) if include_sites else (),
        member_units=_load_member_units(files, config.member_units_file),
        no_fire_areas=tuple(no_fire),
        note=config.note,
    )


@lru_cache(maxsize=1)
def default_deployment() -> Deployment:
    """The Lüliang deployment from the package data, loaded once per process."""
    return load_deployment()


def county_at(lon: float, lat: float, deployment: Deployment | None = None) -> County | None:
    """The county containing ``(lon, lat)`` (default: the Lüliang deployment), or ``None``."""
    return (deployment or default_deployment()).county_at(lon, lat)
