"""The command map: folium renders the Leaflet page shell with the static layers (counties,
sites, airport zone, radar rings); ``static/js/live.js`` adds the live layers.

All assets are local (``static/vendor/``): folium's CDN defaults are replaced per map and no
tile layer is used, so the page works on an isolated network.
"""

from __future__ import annotations

import re
from typing import Any

import folium
from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from command.deployment import deployment
from command.security import csp_nonce
from command.sitestore import load_sites
from command.vocabulary import ammunition_label, equipment_label, vocabulary

READINESS_COLOURS = {
    "ready": "#2ecc71",
    "standby": "#f1c40f",
    "firing": "#e74c3c",
    "offline": "#7f8c8d",
    "out_of_ammunition": "#8e44ad",
}
RANGE_RINGS_KM = (50, 100, 150)
#: Sites on a drill's map: one neutral colour (their live readiness is not the drill's).
DRILL_SITE_COLOUR = "#bdc3c7"


def product_scales() -> dict[str, dict[str, Any]]:
    """The colour classes of the reflectivity and MESH overlays (as ``radar.detect`` paints
    them), for the map's colour bars."""
    from radar.detect import _DBZ_COLOURS, _MESH_BOUNDS_MM, _MESH_COLOURS

    return {
        "reflectivity": {
            "unit": "dBZ",
            "bounds": list(range(5, 80, 5)),
            "colours": list(_DBZ_COLOURS),
        },
        "mesh": {"unit": "mm", "bounds": list(_MESH_BOUNDS_MM), "colours": list(_MESH_COLOURS)},
    }


def _local_assets(m: folium.Map) -> None:
    # folium's popups use jQuery; both come from npm via static/vendor.
    m.default_js = [
        ("leaflet", url_for("static", filename="vendor/leaflet/leaflet.js")),
        ("jquery", url_for("static", filename="vendor/jquery/jquery.min.js")),
    ]
    m.default_css = [("leaflet_css", url_for("static", filename="vendor/leaflet/leaflet.css"))]


def build_map(
    session: Session, user: Any, *, drill: bool = False
) -> tuple[folium.Map, dict[str, str]]:
    """The map shell with its static layers.  In a drill (``drill=True``) the sites carry no
    live state: no readiness colour, no stock (the drill has its own world)."""
    dep = deployment()
    minx, miny, maxx, maxy = dep.city_bounds()
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        tiles=None,
        zoom_start=9,
        control_scale=False,
        prefer_canvas=False,
    )
    _local_assets(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])

    counties = folium.FeatureGroup(name=_("Counties"), show=True)
    for county in dep.counties:
        label = county.name_zh if _is_zh() else county.name_en
        folium.GeoJson(
            dep.county_geojson(county.key),
            style_function=lambda _f: {
                "color": "#ffe8a3",
                "weight": 1.5,
                "fillColor": "#2d4a2b",
                "fillOpacity": 0.35,
            },
            tooltip=label,
        ).add_to(counties)
        c = dep.label_point(county.key)
        folium.Marker(
            [c[1], c[0]],
            icon=folium.DivIcon(
                html=f'<div class="county-label">{label}</div>',
                icon_size=(80, 18),
                icon_anchor=(40, 9),
                class_name="county-label",
            ),
        ).add_to(counties)
    counties.add_to(m)

    airport = dep.airport
    zone = folium.FeatureGroup(name=_("Airport control zone (no-fire)"), show=True)
    for poly in dep.no_fire_geojson():
        folium.GeoJson(
            poly,
            style_function=lambda _f: {
                "color": "#e67e22",
                "weight": 2,
                "dashArray": "6 4",
                "fillOpacity": 0.15,
            },
            tooltip=_("No-fire area"),
        ).add_to(zone)
    folium.Marker(
        [airport.lat, airport.lon],
        tooltip=f"{airport.name_zh if _is_zh() else airport.name_en} ({airport.icao})",
        icon=folium.DivIcon(
            html='<div class="airport-icon">✈</div>', icon_size=(22, 22), icon_anchor=(11, 11)
        ),
    ).add_to(zone)
    zone.add_to(m)

    radar = dep.radar
    rings = folium.FeatureGroup(name=_("Radar and range rings"), show=True)
    for r_km in RANGE_RINGS_KM:
        folium.Circle(
            [radar.lat, radar.lon],
            radius=r_km * 1000,
            color="#5dade2",
            weight=1,
            fill=False,
            tooltip=f"{r_km} km",
        ).add_to(rings)
    radar_note = _("sample location") if radar.sample else ""
    folium.CircleMarker(
        [radar.lat, radar.lon],
        radius=6,
        color="#5dade2",
        fill=True,
        fill_opacity=1,
        tooltip=f"{_('Radar')}: {radar.name} {radar_note}",
    ).add_to(rings)
    rings.add_to(m)

    site_layer = folium.FeatureGroup(name=_("Operation sites"), show=True)
    scope = user.county if user.role == "county_operator" else None
    readiness_label = vocabulary()["readiness"]
    markers: dict[str, str] = {}
    for site in load_sites(session, county=scope):
        colour = (
            DRILL_SITE_COLOUR if drill else READINESS_COLOURS.get(site.readiness.value, "#bdc3c7")
        )
        eq = ", ".join(
            f"{_text(e.model or equipment_label(e.kind.value))} ×{e.count}" for e in site.equipment
        )
        ammo = ", ".join(f"{ammunition_label(k)}: {v}" for k, v in sorted(site.ammunition.items()))
        live_state = (
            ""
            if drill
            else (
                f"<br>{_('Readiness')}: {readiness_label.get(site.readiness.value, site.readiness.value)}"
                f"<br>{_('Ammunition')}: {ammo}"
            )
        )
        popup = (
            f"<b>{_text(site.code)} {_text(site.name)}</b><br>{_('County')}: {dep.county_name(site.county)}"
            f"{live_state}<br>{_('Equipment')}: {eq}"
            f"<br>{_('Elevation')}: {site.elevation_m:.0f} m"
            + (f"<br><i>{_('sample data')}</i>" if site.sample else "")
        )
        marker = folium.CircleMarker(
            [site.lat, site.lon],
            radius=6,
            color="#111",
            weight=1,
            fill=True,
            fill_color=colour,
            fill_opacity=0.95,
            popup=folium.Popup(popup, max_width=320),
            tooltip=site.code,
        )
        marker.add_to(site_layer)
        markers[site.code] = marker.get_name()
    site_layer.add_to(m)
    # No folium LayerControl: live.js puts these layers into the one layer control (issue 11).
    m.hailops_layers = {g.get_name(): g.layer_name for g in (counties, zone, rings, site_layer)}  # type: ignore[attr-defined]
    return m, markers


def _text(value: str) -> str:
    """A registry string placed in folium's popup markup: HTML-escaped, and without the
    characters that would end or interpolate the JavaScript template literal it sits in."""
    return str(escape(value)).replace("`", "&#96;").replace("$", "&#36;")


def _with_nonce(markup: str, nonce: str) -> str:
    """folium's generated header has inline ``<script>`` and ``<style>`` blocks: give them
    the CSP nonce."""
    return re.sub(r"<(script|style)>", rf'<\1 nonce="{nonce}">', markup)


# folium wraps each popup's HTML in a div sized by a style attribute, which the CSP does not
# apply (jQuery parses the markup): the same size as a class of hailops.css.
_POPUP_FILL = ' style="width: 100.0%; height: 100.0%;"'


def _without_style_attributes(script: str) -> str:
    return script.replace(_POPUP_FILL, ' class="folium-popup-fill"')


def _is_zh() -> bool:
    from flask_babel import get_locale

    return str(get_locale()) == "zh"


def event_title_of_drill(session: Session, drill_id: str) -> str:
    from command.models import DrillRecord
    from command.web.consoles import event_title

    drill = session.get(DrillRecord, drill_id)
    return event_title(drill.event) if drill is not None else drill_id


def render_map_page(
    session: Session, user: Any, *, embed: bool = False, drill_id: str | None = None
) -> str:
    """The command map.  ``embed``: without the top bar, for a frame inside a console (the
    console passes its drill: a drill's map shows the drill and never live data)."""
    from command.web.consoles import js_messages, served_vocabulary

    m, markers = build_map(session, user, drill=drill_id is not None)
    fig = m.get_root()
    fig.render()  # materialise children so header/html/script are complete
    boot = {
        "map": m.get_name(),
        "siteMarkers": markers,
        "colours": READINESS_COLOURS,
        "user": {"username": user.username, "role": user.role, "county": user.county},
        "locale": "zh" if _is_zh() else "en",
        "sampleRegistry": deployment().sample_registry,
        "vocab": served_vocabulary(),
        "baseLayers": m.hailops_layers,  # type: ignore[attr-defined]
        "scales": product_scales(),
        "embed": embed,
        "drill": drill_id,
        "drillTitle": event_title_of_drill(session, drill_id) if drill_id else None,
        "i18n": js_messages("live.js", "map_office.js"),
    }
    # folium's own generated markup (registry strings inside it are escaped by _text).
    nonce = csp_nonce()
    return render_template(
        "map.html",
        map_header=Markup(_with_nonce(fig.header.render(), nonce)),  # type: ignore[attr-defined]
        map_html=Markup(fig.html.render()),  # type: ignore[attr-defined]
        map_script=Markup(_without_style_attributes(fig.script.render())),  # type: ignore[attr-defined]
        boot=boot,
        embed=embed,
        sample=deployment().sample_registry,
        user=current_user,
    )
