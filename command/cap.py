"""Hail warnings as CAP 1.2 alerts (OASIS Common Alerting Protocol, version 1.2, 2010).

A warning is built on the fly from one hail cell (its outline and its nowcast) and the
counties the forecaster names: the threatened area is the convex hull of the cell outline and
its nowcast polygons (up to 60 min), clipped to those counties.  No Flask here: the web layer
passes plain data in and gets XML bytes out.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

from command.timefmt import BEIJING

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
SIMPLIFY_DEG = 0.002  # ~200 m: keeps the polygon short enough for receivers


@dataclass(frozen=True)
class WarningArea:
    """One county named in the warning."""

    key: str
    name_zh: str
    name_en: str
    adcode: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class HailWarning:
    identifier: str
    sender: str
    sent: datetime
    expires: datetime
    cell_id: str
    mesh_mm: float | None
    posh_pct: float | None
    max_dbz: float | None
    areas: tuple[WarningArea, ...]
    polygons: tuple[BaseGeometry, ...]  # threatened area, WGS84 lon/lat


def threatened_area(
    cell_feature: dict[str, Any], nowcast: dict[str, Any] | None, counties: list[BaseGeometry]
) -> tuple[BaseGeometry, ...]:
    """Convex hull of the cell and its nowcast polygons, clipped to ``counties``.

    When the hull does not touch the named counties (a warning issued ahead of the cell's
    path), the hull itself is the threatened area.
    """
    shapes = [shape(cell_feature["geometry"])]
    for step in (nowcast or {}).get("steps", []):
        if step.get("polygon"):
            shapes.append(shape(step["polygon"]))
    hull = unary_union(shapes).convex_hull
    clipped = hull.intersection(unary_union(counties)) if counties else hull
    if clipped.is_empty:
        clipped = hull
    parts = [
        g for g in getattr(clipped, "geoms", [clipped]) if g.geom_type == "Polygon" and g.area > 0
    ]
    return tuple(orient(p.simplify(SIMPLIFY_DEG, preserve_topology=True)) for p in parts)


def warning_identifier(record_id: int, counties: list[str], sent: datetime) -> str:
    digest = (
        hashlib.sha256(f"{record_id}|{','.join(sorted(counties))}|{sent.isoformat()}".encode())
        .hexdigest()[:10]
        .upper()
    )
    return f"HAILOPS-HW-{sent.astimezone(UTC):%Y%m%dT%H%MZ}-{digest}"


def _cap_time(t: datetime) -> str:
    # CAP 1.2 §3.3.2: dateTime with explicit offset, no fractional seconds.
    return t.astimezone(BEIJING).replace(microsecond=0).isoformat()


def _polygon_text(poly: BaseGeometry) -> str:
    # CAP: "lat,lon" pairs separated by spaces, first and last identical, at least 4 pairs.
    return " ".join(f"{lat:.4f},{lon:.4f}" for lon, lat in poly.exterior.coords)


def _fmt(v: float | None, digits: int = 0) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def to_cap_xml(w: HailWarning) -> bytes:
    ET.register_namespace("", CAP_NS)

    def q(tag: str) -> str:
        return f"{{{CAP_NS}}}{tag}"

    def sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
        el = ET.SubElement(parent, q(tag))
        el.text = text
        return el

    alert = ET.Element(q("alert"))
    sub(alert, "identifier", w.identifier)
    sub(alert, "sender", w.sender)
    sub(alert, "sent", _cap_time(w.sent))
    sub(alert, "status", "Actual")
    sub(alert, "msgType", "Alert")
    sub(alert, "scope", "Public")
    for lang in ("zh-CN", "en-US"):
        zh = lang == "zh-CN"
        info = ET.SubElement(alert, q("info"))
        sub(info, "language", lang)
        sub(info, "category", "Met")
        sub(info, "event", "冰雹" if zh else "Hail")
        sub(info, "responseType", "Shelter")
        sub(info, "urgency", "Immediate")
        sub(info, "severity", "Severe" if (w.mesh_mm or 0) >= 20 else "Moderate")
        sub(info, "certainty", "Likely")
        sub(info, "effective", _cap_time(w.sent))
        sub(info, "onset", _cap_time(w.sent))
        sub(info, "expires", _cap_time(w.expires))
        sub(
            info,
            "senderName",
            "吕梁市人工防雹作业指挥中心"
            if zh
            else "Lüliang Hail Suppression Operations Command Center",
        )
        names = ("、" if zh else ", ").join(a.name_zh if zh else a.name_en for a in w.areas)
        sub(info, "headline", f"冰雹预警：{names}" if zh else f"Hail warning: {names}")
        sub(
            info,
            "description",
            (
                f"雷达监测到冰雹单体 {w.cell_id}（最大反射率 {_fmt(w.max_dbz, 1)} dBZ，"
                f"最大冰雹直径估计 MESH {_fmt(w.mesh_mm, 1)} mm，强冰雹概率 POSH {_fmt(w.posh_pct)}%），"
                f"预计影响{names}。"
            )
            if zh
            else (
                f"Radar detected hail cell {w.cell_id} (max {_fmt(w.max_dbz, 1)} dBZ, "
                f"MESH {_fmt(w.mesh_mm, 1)} mm, POSH {_fmt(w.posh_pct)} %), expected over {names}."
            ),
        )
        sub(
            info,
            "instruction",
            "请转移人员车辆至室内，注意防范冰雹灾害。"
            if zh
            else "Move people and vehicles under cover; protect crops where possible.",
        )
        for name, value in (
            ("MESH_mm", _fmt(w.mesh_mm, 1)),
            ("POSH_pct", _fmt(w.posh_pct)),
            ("cell_id", w.cell_id),
        ):
            param = ET.SubElement(info, q("parameter"))
            sub(param, "valueName", name)
            sub(param, "value", value)
        area = ET.SubElement(info, q("area"))
        sub(area, "areaDesc", names)
        for poly in w.polygons:
            sub(area, "polygon", _polygon_text(poly))
        for a in w.areas:
            geocode = ET.SubElement(area, q("geocode"))
            sub(geocode, "valueName", "ADCODE")
            sub(geocode, "value", a.adcode)
    ET.indent(alert)
    body: bytes = ET.tostring(alert, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def build_warning(
    *,
    record_id: int,
    cell_feature: dict[str, Any],
    nowcast: dict[str, Any] | None,
    areas: list[WarningArea],
    sent: datetime,
    sender: str,
    valid_for: timedelta = timedelta(hours=1),
) -> HailWarning:
    p = cell_feature.get("properties", {})
    return HailWarning(
        identifier=warning_identifier(record_id, [a.key for a in areas], sent),
        sender=sender,
        sent=sent,
        expires=sent + valid_for,
        cell_id=str(p.get("id", record_id)),
        mesh_mm=p.get("mesh_mm"),
        posh_pct=p.get("posh_pct"),
        max_dbz=p.get("max_dbz"),
        areas=tuple(areas),
        polygons=threatened_area(cell_feature, nowcast, [a.geometry for a in areas]),
    )
