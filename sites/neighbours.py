"""The deployment's office data: the bulletin number prefix and the neighbouring cities
(outlines and liaisons) for joint defence (联防联控).  Read from ``office.json`` and its
``neighbours_file`` in the deployment directory, else the package data (Lüliang)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from sites.deployment import _DataFiles
from sites.errors import DeploymentError


@dataclass(frozen=True)
class NeighbourLiaisonInfo:
    name: str
    phone: str
    email: str = ""
    sample: bool = False


@dataclass(frozen=True)
class Neighbour:
    key: str
    adcode: str
    name_zh: str
    name_en: str
    province_zh: str
    geometry: BaseGeometry  # WGS84 (lon, lat)
    liaison: NeighbourLiaisonInfo | None


@dataclass(frozen=True)
class OfficeConfig:
    bulletin_prefix: str
    office_name_zh: str
    office_name_en: str
    neighbours: tuple[Neighbour, ...]

    def neighbour(self, key: str) -> Neighbour:
        for n in self.neighbours:
            if n.key == key:
                return n
        raise KeyError(key)


class _Liaison(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    phone: str
    email: str = ""
    sample: bool = False


class _OfficeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = ""
    bulletin_prefix: str
    office_name_zh: str
    office_name_en: str
    neighbours_file: str | None = None
    neighbour_liaisons: dict[str, _Liaison] = {}


def load_office(path: str | Path | None = None) -> OfficeConfig:
    """Load ``office.json`` (and its neighbours' outlines) of a deployment directory."""
    from pydantic import ValidationError

    files = _DataFiles(None if path is None else Path(path))
    try:
        conf = _OfficeFile.model_validate(files.read_json("office.json"))
    except ValidationError as exc:
        raise DeploymentError(f"{files.origin('office.json')}: {exc}") from None
    neighbours: list[Neighbour] = []
    if conf.neighbours_file:
        data = files.read_json(conf.neighbours_file)
        for i, feat in enumerate(data.get("features", [])):
            p = feat.get("properties") or {}
            try:
                key = str(p["key"])
                neighbours.append(Neighbour(
                    key=key, adcode=str(p["adcode"]), name_zh=str(p["name_zh"]),
                    name_en=str(p["name_en"]), province_zh=str(p.get("province_zh", "")),
                    geometry=shape(feat["geometry"]),
                    liaison=(NeighbourLiaisonInfo(**conf.neighbour_liaisons[key].model_dump())
                             if key in conf.neighbour_liaisons else None)))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise DeploymentError(f"{files.origin(conf.neighbours_file)}: feature {i}: "
                                      f"bad or missing {exc}") from None
    unknown = set(conf.neighbour_liaisons) - {n.key for n in neighbours}
    if unknown:
        raise DeploymentError(f"{files.origin('office.json')}: liaisons for unknown neighbours "
                              f"{', '.join(sorted(unknown))}")
    return OfficeConfig(bulletin_prefix=conf.bulletin_prefix, office_name_zh=conf.office_name_zh,
                        office_name_en=conf.office_name_en, neighbours=tuple(neighbours))
