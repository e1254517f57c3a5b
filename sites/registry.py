"""Import and export of operation-site registries as GeoJSON and CSV, with full validation.

An import either returns every site of the file or raises
:class:`~sites.errors.RegistryValidationError` listing *every* problem found (by record and
field); nothing is ever half-imported.  Export then import gives back equal
:class:`~sites.model.Site` objects.

Problems are located as ``"feature N"`` (GeoJSON, the first feature is 1), ``"row N"`` (CSV,
the header is row 1 and the first site row 2, as a spreadsheet numbers them) or ``"file"``.
Fields inside a record are paths with 1-based items: ``equipment[2].sectors[1]``.

What is checked, per site
-------------------------
* ``code``: required, unique in the file, letters/digits/``-``/``_``, at most 32 characters.
* ``name``, ``county``: required text; ``county`` must be a known county key when the caller
  passes ``counties``, and the point must lie in (or within ``county_tolerance_km`` of) that
  county's polygon when one is given.
* ``lat`` -90..90, ``lon`` -180..180; inside ``area`` (the deployment outline) when given.
* ``elevation_m``: required number, -500..9000.
* ``readiness``: one of ``ready, standby, offline, firing, out_of_ammunition``.
* ``equipment``: at least one item; ``kind`` one of ``gun_37mm, rocket``; ``range_km`` in
  (0, 50], ``ceiling_km`` in (0, 30]; at least one sector, each angle in 0..360;
  ``min_elevation_deg`` <= ``max_elevation_deg``, both 0..90 (defaults 45 and 85);
  ``count`` a whole number >= 1 (default 1); ``model`` free text (default empty).
* ``ammunition``: type -> whole number >= 0; type names ``[a-z0-9_]+`` (e.g. ``37mm_shell``,
  ``rocket_wr98``, ``rocket_bl1a``).  Optional, default none.
* ``contacts``: each with a non-empty ``name`` and ``phone``, optional ``role``.  Optional.
* ``sample``: true/false, optional (default false); marks invented demonstration data.

GeoJSON format
--------------
A ``FeatureCollection`` of ``Point`` features, coordinates WGS84 ``[lon, lat]`` (a third,
height coordinate is ignored: use ``elevation_m``).  Properties::

    {"code": "LS-01", "name": "离石区 1 号作业点", "county": "lishi",
     "elevation_m": 1234.0, "readiness": "ready",
     "equipment": [{"kind": "gun_37mm", "model": "37mm 高炮", "range_km": 8.0,
                    "ceiling_km": 6.5, "sectors": [[300.0, 60.0]],
                    "min_elevation_deg": 45.0, "max_elevation_deg": 85.0, "count": 2}],
     "ammunition": {"37mm_shell": 300}, "contacts": [{"name": "…", "phone": "…",
     "role": "…"}], "sample": true}

Sectors are ``[start_deg, end_deg]`` clockwise, may wrap through north (``[300, 60]``);
``[0, 360]`` is the full circle.  Other site properties (map styling, notes) are ignored;
unknown keys inside an equipment item or a contact are problems (they are usually typos).
Collection-level members other than ``features`` (e.g. a ``note``) are ignored on import.

CSV format
----------
UTF-8 (a BOM is accepted), comma separated, one row per site, header row required.
Columns (any order): ``code, name, county, lat, lon, elevation_m, readiness, equipment``
(required) and ``ammunition, contacts, sample`` (optional).  Blank rows are skipped.

* ``equipment``: items separated by ``;``; each item is
  ``kind:range_km:ceiling_km:sectors[:min_elev-max_elev[:count[:model]]]`` where
  ``sectors`` is ``start-end`` pairs separated by ``|`` (not ``,``, so the cell needs no
  quoting).  Empty optional parts take their defaults.  Example:
  ``gun_37mm:8:6.5:300-60|120-180:45-85:2:37mm 高炮;rocket:10:8:0-360``.
* ``ammunition``: ``type=count`` separated by ``;``, e.g. ``37mm_shell=200;rocket_wr98=12``.
* ``contacts``: ``name:phone[:role]`` separated by ``;``.
* ``sample``: ``true``/``false`` (also ``1``/``0``, ``yes``/``no``); empty means false.

Cells containing ``,`` or quotes are quoted the usual CSV way (the writer does it).
Because ``;`` and ``:`` are separators, an equipment ``model`` may not contain ``;``, and a
contact's ``name``/``phone`` may not contain ``;`` or ``:`` (its ``role`` may contain ``:``);
exporting such a site to CSV raises :class:`~sites.errors.SitesError` (GeoJSON has no such
limit).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from sites.errors import Problem, RegistryValidationError, SitesError
from sites.geometry import local_frame
from sites.model import Contact, Equipment, EquipmentKind, Readiness, Sector, Site

__all__ = [
    "CSV_COLUMNS",
    "CSV_REQUIRED_COLUMNS",
    "read_registry",
    "sites_from_csv",
    "sites_from_geojson",
    "sites_to_csv",
    "sites_to_geojson",
    "write_registry",
]

CSV_COLUMNS: tuple[str, ...] = (
    "code",
    "name",
    "county",
    "lat",
    "lon",
    "elevation_m",
    "readiness",
    "equipment",
    "ammunition",
    "contacts",
    "sample",
)
CSV_REQUIRED_COLUMNS: tuple[str, ...] = CSV_COLUMNS[:8]

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_AMMO_TYPE_RE = re.compile(r"^[a-z0-9_]+$")
_PAIR_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?)\s*-\s*([0-9]+(?:\.[0-9]*)?)\s*$")
_EQUIPMENT_KEYS = frozenset(
    {
        "kind",
        "model",
        "range_km",
        "ceiling_km",
        "sectors",
        "min_elevation_deg",
        "max_elevation_deg",
        "count",
    }
)
_CONTACT_KEYS = frozenset({"name", "phone", "role"})
#: Stands in for a value that could not be parsed (its problem is already listed).
_REPORTED: Any = object()
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})

Counties = Mapping[str, BaseGeometry | None] | Iterable[str]


# --------------------------------------------------------------------------- validation


class _Record:
    """Validates one site record (JSON-typed values) and collects its problems."""

    def __init__(self, where: str, problems: list[Problem]) -> None:
        self.where = where
        self.problems = problems
        self.start = len(problems)

    @property
    def ok(self) -> bool:
        return len(self.problems) == self.start

    def add(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.where, field, message))

    def text(self, value: Any, field: str, *, required: bool = True) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(field, "is missing")
            return None if required else ""
        if not isinstance(value, str):
            self.add(field, f"must be text, got {value!r}")
            return None
        text = value.strip()
        if is_formula(text):
            self.add(field, f"must not start with = + - or @ (a spreadsheet formula), got {text[:40]!r}")
            return None
        return text

    def number(
        self,
        value: Any,
        field: str,
        *,
        low: float | None = None,
        high: float | None = None,
        positive: bool = False,
        default: float | None = None,
    ) -> float | None:
        if value is None:
            if default is None:
                self.add(field, "is missing")
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(field, f"must be a number, got {value!r}")
            return None
        number = float(value)
        if not math.isfinite(number):
            self.add(field, f"must be a finite number, got {value!r}")
            return None
        if positive and number <= 0.0:
            self.add(field, f"must be greater than 0, got {value!r}")
            return None
        if (low is not None and number < low) or (high is not None and number > high):
            if low is None:
                self.add(field, f"must be at most {high:g}, got {value!r}")
            elif high is None:
                self.add(field, f"must be at least {low:g}, got {value!r}")
            else:
                self.add(field, f"must be between {low:g} and {high:g}, got {value!r}")
            return None
        return number

    def integer(
        self, value: Any, field: str, *, low: int, default: int | None = None
    ) -> int | None:
        if value is None:
            if default is None:
                self.add(field, "is missing")
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(field, f"must be a whole number, got {value!r}")
            return None
        if value < low:
            self.add(field, f"must be at least {low}, got {value!r}")
            return None
        return value


class _Context:
    def __init__(
        self,
        counties: Counties | None,
        area: BaseGeometry | None,
        county_tolerance_km: float,
    ) -> None:
        self.counties: dict[str, BaseGeometry | None] | None
        if counties is None:
            self.counties = None
        elif isinstance(counties, Mapping):
            self.counties = dict(counties)
        else:
            self.counties = dict.fromkeys(counties)
        self.area = area
        self.county_tolerance_km = county_tolerance_km
        self.problems: list[Problem] = []
        self.codes: dict[str, str] = {}


_PLAIN_SIGNED = re.compile(r"[+-][0-9 ().\-]*")


def is_formula(text: str) -> bool:
    """Would a spreadsheet read this cell as a formula (CSV/formula injection)?  Text starting
    with ``=``, ``+``, ``-`` or ``@``, except a signed number such as a phone "+86 138...". """
    if not text or text[0] not in "=+-@":
        return False
    return not _PLAIN_SIGNED.fullmatch(text)


def neutralise(text: str) -> str:
    """A text cell made safe for spreadsheets: a formula-leading one gets a leading "'"."""
    return "'" + text if is_formula(text) else text


def _outside_km(geometry: BaseGeometry, lat: float, lon: float) -> float:
    """Distance (km) from a point to a WGS84 geometry, 0 inside, in the point's local frame."""
    if geometry.covers(Point(lon, lat)):
        return 0.0
    local = local_frame(lat, lon).to_local(geometry)
    return float(local.distance(Point(0.0, 0.0))) / 1000.0


def _sector(rec: _Record, value: Any, field: str) -> Sector | None:
    if isinstance(value, str):
        rec.add(field, f"must be START-END with angles 0-360, got {value!r}")
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        rec.add(field, f"must be a pair [start_deg, end_deg], got {value!r}")
        return None
    start = rec.number(value[0], f"{field}.start_deg", low=0.0, high=360.0)
    end = rec.number(value[1], f"{field}.end_deg", low=0.0, high=360.0)
    if start is None or end is None:
        return None
    return Sector(start, end)


def _equipment(rec: _Record, value: Any, field: str) -> Equipment | None:
    if value is _REPORTED:
        return None
    if not isinstance(value, Mapping):
        rec.add(field, f"must be an object, got {value!r}")
        return None
    for key in sorted(set(value) - _EQUIPMENT_KEYS):
        rec.add(f"{field}.{key}", "is not a known equipment field")
    kind_text = rec.text(value.get("kind"), f"{field}.kind")
    kind: EquipmentKind | None = None
    if kind_text is not None:
        try:
            kind = EquipmentKind(kind_text)
        except ValueError:
            known = ", ".join(k.value for k in EquipmentKind)
            rec.add(f"{field}.kind", f"unknown equipment kind {kind_text!r} (known: {known})")
    model = rec.text(value.get("model"), f"{field}.model", required=False)
    range_km = rec.number(value.get("range_km"), f"{field}.range_km", positive=True, high=50.0)
    ceiling_km = rec.number(
        value.get("ceiling_km"), f"{field}.ceiling_km", positive=True, high=30.0
    )
    raw_sectors = value.get("sectors")
    sectors: list[Sector | None] = []
    if raw_sectors is None or raw_sectors == []:
        rec.add(f"{field}.sectors", "needs at least one safe firing sector")
    elif not isinstance(raw_sectors, list | tuple):
        rec.add(f"{field}.sectors", f"must be a list of [start_deg, end_deg], got {raw_sectors!r}")
    else:
        sectors = [
            _sector(rec, raw, f"{field}.sectors[{i}]") for i, raw in enumerate(raw_sectors, 1)
        ]
    min_elev = rec.number(
        value.get("min_elevation_deg"),
        f"{field}.min_elevation_deg",
        low=0.0,
        high=90.0,
        default=45.0,
    )
    max_elev = rec.number(
        value.get("max_elevation_deg"),
        f"{field}.max_elevation_deg",
        low=0.0,
        high=90.0,
        default=85.0,
    )
    if min_elev is not None and max_elev is not None and min_elev > max_elev:
        rec.add(
            f"{field}.min_elevation_deg",
            f"minimum elevation {min_elev:g} is above maximum elevation {max_elev:g}",
        )
    count = rec.integer(value.get("count"), f"{field}.count", low=1, default=1)
    if (
        kind is None
        or model is None
        or range_km is None
        or ceiling_km is None
        or not sectors
        or min_elev is None
        or max_elev is None
        or min_elev > max_elev
        or count is None
    ):
        return None
    valid_sectors = tuple(s for s in sectors if s is not None)
    if len(valid_sectors) != len(sectors):
        return None
    return Equipment(
        kind=kind,
        model=model,
        range_km=range_km,
        ceiling_km=ceiling_km,
        sectors=valid_sectors,
        min_elevation_deg=min_elev,
        max_elevation_deg=max_elev,
        count=count,
    )


def _ammunition(rec: _Record, value: Any) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        rec.add("ammunition", f"must map ammunition type to count, got {value!r}")
        return {}
    stock: dict[str, int] = {}
    for key, amount in value.items():
        field = f"ammunition.{key}"
        if not isinstance(key, str) or not _AMMO_TYPE_RE.match(key):
            rec.add(field, "ammunition type must be lower-case letters, digits or '_'")
            continue
        count = rec.integer(amount, field, low=0)
        if count is not None:
            stock[key] = count
    return stock


def _contacts(rec: _Record, value: Any) -> tuple[Contact, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        rec.add("contacts", f"must be a list of contacts, got {value!r}")
        return ()
    contacts: list[Contact] = []
    for i, item in enumerate(value, 1):
        field = f"contacts[{i}]"
        if not isinstance(item, Mapping):
            rec.add(field, f"must be an object with name and phone, got {item!r}")
            continue
        for key in sorted(set(item) - _CONTACT_KEYS):
            rec.add(f"{field}.{key}", "is not a known contact field")
        name = rec.text(item.get("name"), f"{field}.name")
        phone = rec.text(item.get("phone"), f"{field}.phone")
        role = rec.text(item.get("role"), f"{field}.role", required=False)
        if name is not None and phone is not None and role is not None:
            contacts.append(Contact(name=name, phone=phone, role=role))
    return tuple(contacts)


def _site(ctx: _Context, where: str, values: Mapping[str, Any]) -> Site | None:
    """Validate one record of JSON-typed values; ``None`` when it has any problem."""
    rec = _Record(where, ctx.problems)

    code = rec.text(values.get("code"), "code")
    if code is not None:
        if not _CODE_RE.match(code):
            rec.add(
                "code",
                f"{code!r} must be 1-32 letters, digits, '-' or '_' (e.g. 'LS-01')",
            )
        elif code in ctx.codes:
            rec.add("code", f"duplicate code {code!r} (first at {ctx.codes[code]})")
        else:
            ctx.codes[code] = where
    name = rec.text(values.get("name"), "name")
    county = rec.text(values.get("county"), "county")
    if county is not None and ctx.counties is not None and county not in ctx.counties:
        known = ", ".join(sorted(ctx.counties))
        rec.add("county", f"unknown county {county!r} (known: {known})")
        county = None

    lat = lon = None
    if values.get("lat") is not _REPORTED:
        lat = rec.number(values.get("lat"), "lat", low=-90.0, high=90.0)
        lon = rec.number(values.get("lon"), "lon", low=-180.0, high=180.0)
    if lat is not None and lon is not None:
        if ctx.area is not None and not ctx.area.covers(Point(lon, lat)):
            rec.add("lat/lon", f"({lat:g}, {lon:g}) is outside the deployment area")
        elif county is not None and ctx.counties is not None:
            polygon = ctx.counties.get(county)
            if polygon is not None:
                off_km = _outside_km(polygon, lat, lon)
                if off_km > ctx.county_tolerance_km:
                    rec.add(
                        "lat/lon",
                        f"({lat:g}, {lon:g}) is {off_km:.1f} km outside county {county!r}",
                    )
    elevation_m = rec.number(values.get("elevation_m"), "elevation_m", low=-500.0, high=9000.0)

    readiness: Readiness | None = None
    readiness_text = rec.text(values.get("readiness"), "readiness")
    if readiness_text is not None:
        try:
            readiness = Readiness(readiness_text)
        except ValueError:
            known = ", ".join(r.value for r in Readiness)
            rec.add("readiness", f"unknown readiness {readiness_text!r} (known: {known})")

    raw_equipment = values.get("equipment")
    equipment: list[Equipment | None] = []
    if raw_equipment is None or raw_equipment == [] or raw_equipment == "":
        rec.add("equipment", "needs at least one gun or rocket launcher")
    elif not isinstance(raw_equipment, list | tuple):
        rec.add("equipment", f"must be a list of equipment, got {raw_equipment!r}")
    else:
        equipment = [
            _equipment(rec, item, f"equipment[{i}]") for i, item in enumerate(raw_equipment, 1)
        ]

    ammunition = _ammunition(rec, values.get("ammunition"))
    contacts = _contacts(rec, values.get("contacts"))
    sample = values.get("sample", False)
    if sample is None:
        sample = False
    if not isinstance(sample, bool):
        rec.add("sample", f"must be true or false, got {sample!r}")

    if (
        not rec.ok
        or code is None
        or name is None
        or county is None
        or lat is None
        or lon is None
        or elevation_m is None
        or readiness is None
    ):
        return None
    return Site(
        code=code,
        name=name,
        county=county,
        lat=lat,
        lon=lon,
        elevation_m=elevation_m,
        equipment=tuple(e for e in equipment if e is not None),
        ammunition=ammunition,
        readiness=readiness,
        contacts=contacts,
        sample=bool(sample),
    )


def _finish(ctx: _Context, sites: list[Site | None]) -> list[Site]:
    if ctx.problems:
        raise RegistryValidationError(ctx.problems)
    return [site for site in sites if site is not None]


# --------------------------------------------------------------------------- GeoJSON


def sites_from_geojson(
    source: str | bytes | Mapping[str, Any],
    *,
    counties: Counties | None = None,
    area: BaseGeometry | None = None,
    county_tolerance_km: float = 0.5,
) -> list[Site]:
    """Parse and validate a GeoJSON site registry (text or an already-decoded object).

    ``counties`` (key -> WGS84 polygon or ``None``, or just keys) restricts the county keys
    and, where a polygon is given, requires each site within ``county_tolerance_km`` of its
    county.  ``area`` (WGS84) requires every site inside it.  Raises
    :class:`RegistryValidationError` listing every problem; returns all sites otherwise.
    """
    ctx = _Context(counties, area, county_tolerance_km)
    data: Any = source
    if isinstance(source, str | bytes):
        try:
            data = json.loads(source)
        except ValueError as exc:
            raise RegistryValidationError([Problem("file", "", f"not valid JSON: {exc}")]) from exc
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise RegistryValidationError([Problem("file", "type", "must be a FeatureCollection")])
    features = data.get("features")
    if not isinstance(features, list):
        raise RegistryValidationError([Problem("file", "features", "must be a list")])

    sites: list[Site | None] = []
    for i, feature in enumerate(features, 1):
        where = f"feature {i}"
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            ctx.problems.append(Problem(where, "type", "must be a GeoJSON Feature"))
            continue
        properties = feature.get("properties")
        if not isinstance(properties, Mapping):
            ctx.problems.append(Problem(where, "properties", "must be an object"))
            continue
        values = dict(properties)
        values.pop("lat", None)  # the geometry is the only source of the position
        values.pop("lon", None)
        geometry = feature.get("geometry")
        coordinates = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
        if (
            not isinstance(geometry, Mapping)
            or geometry.get("type") != "Point"
            or not isinstance(coordinates, list | tuple)
            or len(coordinates) not in (2, 3)
        ):
            ctx.problems.append(
                Problem(where, "geometry", "must be a Point with coordinates [lon, lat]")
            )
            values["lon"] = values["lat"] = _REPORTED  # keep validating the other fields
            sites.append(_site(ctx, where, values))
            continue
        values["lon"], values["lat"] = coordinates[0], coordinates[1]
        sites.append(_site(ctx, where, values))
    return _finish(ctx, sites)


def _equipment_json(equipment: Equipment) -> dict[str, Any]:
    return {
        "kind": equipment.kind.value,
        "model": neutralise(equipment.model),
        "range_km": equipment.range_km,
        "ceiling_km": equipment.ceiling_km,
        "sectors": [[s.start_deg, s.end_deg] for s in equipment.sectors],
        "min_elevation_deg": equipment.min_elevation_deg,
        "max_elevation_deg": equipment.max_elevation_deg,
        "count": equipment.count,
    }


def sites_to_geojson(
    sites: Iterable[Site], *, note: str | None = None, name: str = "sites"
) -> dict[str, Any]:
    """The sites as a GeoJSON FeatureCollection (a JSON-ready dict), in the given order.

    ``note`` is written as a collection-level ``note`` member (e.g. a SAMPLE DATA warning).
    """
    features = []
    for site in sites:
        features.append(
            {
                "type": "Feature",
                "id": site.code,
                "geometry": {"type": "Point", "coordinates": [site.lon, site.lat]},
                "properties": {
                    "code": neutralise(site.code),
                    "name": neutralise(site.name),
                    "county": neutralise(site.county),
                    "elevation_m": site.elevation_m,
                    "readiness": site.readiness.value,
                    "equipment": [_equipment_json(e) for e in site.equipment],
                    "ammunition": dict(site.ammunition),
                    "contacts": [
                        {"name": neutralise(c.name), "phone": neutralise(c.phone),
                         "role": neutralise(c.role)}
                        for c in site.contacts
                    ],
                    "sample": site.sample,
                },
            }
        )
    collection: dict[str, Any] = {"type": "FeatureCollection", "name": name}
    if note is not None:
        collection["note"] = note
    collection["features"] = features
    return collection


# --------------------------------------------------------------------------- CSV


def _text_number(text: str) -> Any:
    """A CSV cell as a number when it is one, else the raw text (for the error message)."""
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _text_integer(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return _text_number(text)  # "12.0" is still 12; "12.5" and "x" are reported


def _text_pair(text: str) -> Any:
    match = _PAIR_RE.match(text)
    if match is None:
        return text
    return [float(match.group(1)), float(match.group(2))]


def _split(text: str, separator: str) -> list[str]:
    """Split on ``separator``, dropping empty trailing pieces (``'a;b;'`` is two items)."""
    pieces = [piece.strip() for piece in text.split(separator)]
    while pieces and not pieces[-1]:
        pieces.pop()
    return pieces


def _csv_equipment(rec: _Record, cell: str) -> Any:
    items: list[Any] = []
    for i, item in enumerate(_split(cell, ";"), 1):
        field = f"equipment[{i}]"
        parts = item.split(":", 6)
        if len(parts) < 4:
            rec.add(field, f"must be kind:range_km:ceiling_km:sectors[...], got {item!r}")
            items.append(_REPORTED)
            continue
        parts += [""] * (7 - len(parts))
        kind, range_km, ceiling_km, sectors, elevations, count, model = parts
        value: dict[str, Any] = {
            "kind": kind.strip(),
            "range_km": _text_number(range_km),
            "ceiling_km": _text_number(ceiling_km),
            "sectors": [_text_pair(s) for s in _split(sectors, "|")],
            "count": _text_integer(count),
            "model": model.strip(),
        }
        if elevations.strip():
            pair = _text_pair(elevations)
            if isinstance(pair, list):
                value["min_elevation_deg"], value["max_elevation_deg"] = pair
            else:
                rec.add(f"{field}.elevation", f"must be MIN-MAX degrees, got {elevations!r}")
                items.append(_REPORTED)
                continue
        items.append(value)
    return items


def _csv_ammunition(rec: _Record, cell: str) -> Any:
    stock: dict[str, Any] = {}
    for item in _split(cell, ";"):
        kind, separator, amount = item.partition("=")
        if not separator or not kind.strip():
            rec.add("ammunition", f"must be type=count, got {item!r}")
            continue
        if kind.strip() in stock:
            rec.add(f"ammunition.{kind.strip()}", "is listed twice")
            continue
        stock[kind.strip()] = _text_integer(amount)
    return stock


def _csv_contacts(rec: _Record, cell: str) -> Any:
    contacts: list[dict[str, Any]] = []
    for i, item in enumerate(_split(cell, ";"), 1):
        parts = item.split(":", 2)
        if len(parts) < 2:
            rec.add(f"contacts[{i}]", f"must be name:phone[:role], got {item!r}")
            continue
        contact = {"name": parts[0].strip(), "phone": parts[1].strip()}
        contact["role"] = parts[2].strip() if len(parts) == 3 else ""
        contacts.append(contact)
    return contacts


def _csv_bool(cell: str) -> Any:
    lowered = cell.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return cell


def sites_from_csv(
    source: str,
    *,
    counties: Counties | None = None,
    area: BaseGeometry | None = None,
    county_tolerance_km: float = 0.5,
) -> list[Site]:
    """Parse and validate a CSV site registry (the file's text); see the module docstring.

    Options as :func:`sites_from_geojson`.  Raises :class:`RegistryValidationError` listing
    every problem; returns all sites otherwise.
    """
    ctx = _Context(counties, area, county_tolerance_km)
    try:
        rows = list(csv.reader(io.StringIO(source.removeprefix("\ufeff"), newline=""), strict=True))
    except csv.Error as exc:
        raise RegistryValidationError([Problem("file", "", f"not valid CSV: {exc}")]) from exc
    if not rows:
        raise RegistryValidationError([Problem("file", "", "is empty (no header row)")])
    header = [column.strip() for column in rows[0]]
    header_problems = [
        Problem("row 1", column, "required column is missing")
        for column in CSV_REQUIRED_COLUMNS
        if column not in header
    ]
    header_problems += [
        Problem("row 1", column, "column appears more than once")
        for column in sorted({c for c in header if header.count(c) > 1})
    ]
    header_problems += [
        Problem("row 1", column, f"unknown column (known: {', '.join(CSV_COLUMNS)})")
        for column in header
        if column not in CSV_COLUMNS
    ]
    if header_problems:
        raise RegistryValidationError(header_problems)

    sites: list[Site | None] = []
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"row {number}"
        if len(row) != len(header):
            ctx.problems.append(
                Problem(where, "", f"has {len(row)} cells, the header has {len(header)}")
            )
            continue
        cells = dict(zip(header, row, strict=True))
        rec = _Record(where, ctx.problems)
        values: dict[str, Any] = {
            "code": cells["code"],
            "name": cells["name"],
            "county": cells["county"],
            "lat": _text_number(cells["lat"]),
            "lon": _text_number(cells["lon"]),
            "elevation_m": _text_number(cells["elevation_m"]),
            "readiness": cells["readiness"],
            "equipment": _csv_equipment(rec, cells["equipment"]),
            "ammunition": _csv_ammunition(rec, cells.get("ammunition", "")),
            "contacts": _csv_contacts(rec, cells.get("contacts", "")),
            "sample": _csv_bool(cells.get("sample", "")),
        }
        site = _site(ctx, where, values)
        sites.append(site if rec.ok else None)
    return _finish(ctx, sites)


def _csv_number(value: float) -> str:
    value = float(value)  # ints are welcome in float fields
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _csv_check(text: str, forbidden: str, what: str) -> str:
    bad = [char for char in forbidden if char in text]
    if bad:
        raise SitesError(
            f"{what} {text!r} contains {''.join(bad)!r}, which CSV uses as a separator"
        )
    return text


def _csv_row(site: Site) -> list[str]:
    equipment = []
    for e in site.equipment:
        sectors = "|".join(
            f"{_csv_number(s.start_deg)}-{_csv_number(s.end_deg)}" for s in e.sectors
        )
        elevations = f"{_csv_number(e.min_elevation_deg)}-{_csv_number(e.max_elevation_deg)}"
        model = _csv_check(e.model, ";", f"site {site.code}: equipment model")
        equipment.append(
            ":".join(
                [
                    e.kind.value,
                    _csv_number(e.range_km),
                    _csv_number(e.ceiling_km),
                    sectors,
                    elevations,
                    str(e.count),
                    model,
                ]
            ).rstrip(":")
        )
    ammunition = ";".join(f"{kind}={count}" for kind, count in site.ammunition.items())
    contacts = ";".join(
        ":".join(
            [
                _csv_check(c.name, ";:", f"site {site.code}: contact name"),
                _csv_check(c.phone, ";:", f"site {site.code}: contact phone"),
                _csv_check(c.role, ";", f"site {site.code}: contact role"),
            ]
        )
        for c in site.contacts
    )
    return [
        neutralise(site.code),
        neutralise(site.name),
        neutralise(site.county),
        _csv_number(site.lat),
        _csv_number(site.lon),
        _csv_number(site.elevation_m),
        site.readiness.value,
        neutralise(";".join(equipment)),
        ammunition,
        neutralise(contacts),
        "true" if site.sample else "false",
    ]


def sites_to_csv(sites: Iterable[Site]) -> str:
    """The sites as CSV text (header + one row per site) in the format of the module doc."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for site in sites:
        writer.writerow(_csv_row(site))
    return buffer.getvalue()


# --------------------------------------------------------------------------- files


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return "geojson"
    if suffix == ".csv":
        return "csv"
    raise SitesError(f"{path}: unknown registry format (use .geojson, .json or .csv)")


def read_registry(
    path: str | Path,
    *,
    counties: Counties | None = None,
    area: BaseGeometry | None = None,
    county_tolerance_km: float = 0.5,
) -> list[Site]:
    """Read and validate a registry file; the format follows the suffix (.geojson/.json/.csv).

    Raises :class:`RegistryValidationError` (every problem) or :class:`SitesError`
    (unreadable file, unknown suffix).
    """
    path = Path(path)
    kind = _format_of(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SitesError(f"{path}: cannot read site registry: {exc}") from exc
    options: dict[str, Any] = {
        "counties": counties,
        "area": area,
        "county_tolerance_km": county_tolerance_km,
    }
    if kind == "csv":
        return sites_from_csv(text, **options)
    return sites_from_geojson(text, **options)


def write_registry(sites: Sequence[Site], path: str | Path, *, note: str | None = None) -> None:
    """Write the sites to ``path``; the format follows the suffix (.geojson/.json/.csv).

    ``note`` is kept in GeoJSON only (CSV has no place for it).
    """
    path = Path(path)
    if _format_of(path) == "csv":
        text = sites_to_csv(sites)
    else:
        text = json.dumps(sites_to_geojson(sites, note=note), ensure_ascii=False, indent=1) + "\n"
    path.write_text(text, encoding="utf-8")
