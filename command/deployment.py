"""The deployment as the web shell needs it: cached, with map/GeoJSON helpers and labels
in the current language.  The data itself lives in ``sites.deployment`` (core)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from sites.deployment import Deployment, load_deployment


class ShellDeployment:
    def __init__(self, core: Deployment) -> None:
        self.core = core
        self.counties = core.counties
        self.airport = core.airport
        self.radar = core.radar
        self.sites = core.sites
        self.sample_registry = any(s.sample for s in core.sites)
        self.member_units = [_Unit(u) for u in core.member_units]

    def county_keys(self) -> set[str]:
        return {c.key for c in self.counties}

    def county_polygons(self) -> dict[str, BaseGeometry]:
        return self.core.county_areas()

    def city_outline(self) -> BaseGeometry:
        return self.core.area

    def city_bounds(self) -> tuple[float, float, float, float]:
        minx, miny, maxx, maxy = self.core.area.bounds
        return float(minx), float(miny), float(maxx), float(maxy)

    def county_name(self, key: str) -> str:
        from flask_babel import get_locale

        try:
            county = self.core.county(key)
        except KeyError:
            return key
        return county.name_zh if str(get_locale()) == "zh" else county.name_en

    def counties_geojson(self) -> dict[str, Any]:
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": mapping(c.geometry),
                    "properties": {
                        "key": c.key,
                        "name_zh": c.name_zh,
                        "name_en": c.name_en,
                        "adcode": c.adcode,
                    },
                }
                for c in self.counties
            ],
        }

    def county_geojson(self, key: str) -> dict[str, Any]:
        return {
            "type": "Feature",
            "geometry": mapping(self.core.county(key).geometry),
            "properties": {"key": key},
        }

    def label_point(self, key: str) -> tuple[float, float]:
        p = self.core.county(key).geometry.representative_point()
        return float(p.x), float(p.y)

    def no_fire_geojson(self) -> list[dict[str, Any]]:
        return [
            {
                "type": "Feature",
                "geometry": mapping(a.geometry),
                "properties": {"key": a.key, "name_zh": a.name_zh, "name_en": a.name_en},
            }
            for a in self.core.no_fire_areas
        ]


class _Unit:
    """Member unit flattened for the database seed."""

    def __init__(self, unit: Any) -> None:
        self.key, self.name_zh, self.name_en = unit.key, unit.name_zh, unit.name_en
        self.liaison_name = unit.liaison.name
        self.liaison_phone = unit.liaison.phone
        self.liaison_title = unit.liaison.role
        self.sample = unit.sample


@lru_cache(maxsize=4)
def _load(path: str | None) -> ShellDeployment:
    return ShellDeployment(load_deployment(Path(path) if path else None))


def deployment() -> ShellDeployment:
    from flask import current_app, has_app_context

    path = None
    if has_app_context():
        configured = current_app.config["HAILOPS"].deployment_dir
        path = str(configured) if configured else None
    return _load(path)
