"""Role consoles: one page per role, driven by the JSON API and the ``/live`` socket, plus the
few read endpoints they need (latest cells with their record ids, arrivals of the cells
operations were planned for, the airspace layers) and the hail warning (CAP 1.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from command import idempotency
from command.auth import login_required_any, roles_required
from command.cap import to_cap_xml
from command.deployment import deployment
from command.errors import NotFound, Unprocessable
from command.extensions import get_session
from command.models import (
    AuditRecord,
    CellRecord,
    IdempotencyKey,
    MemberUnit,
    RadarVolume,
    StormTrack,
)
from command.office.liaisons import member_unit_json
from command.storms import storm_json, storm_name, storms_of_volume
from command.warnings import WarningInputError, build_for_cell, record_warning
from command.web.paging import documented_query, openapi_params
from command.web.schemas import WarningBody, validated
from command.web.scope import drill_id_filter, requested_drill, running_drill_now, world_now

bp = Blueprint("consoles", __name__)

#: Console page of each role (admin may open all of them).
CONSOLE_OF_ROLE = {
    "forecaster": "forecaster",
    "commander": "commander",
    "atc": "atc",
    "military": "military",
    "county_operator": "county",
    "member": "member",
}


@bp.app_context_processor
def _county_label() -> dict[str, Any]:
    """``county_label(key)``: the county's name in the user's language (never the pinyin key)."""

    def county_label(key: str) -> str:
        try:
            return deployment().county_name(key) or key
        except (KeyError, LookupError):
            return key

    return {"county_label": county_label}


def _drill_boot() -> dict[str, Any] | None:
    """``?drill=<id>``: the console plays its role in that drill, on the drill clock."""
    drill = requested_drill()
    if drill is None:
        return None
    from command.drill import drill_now

    return {
        "id": drill.id,
        "event": drill.event,
        "state": drill.state,
        "speed": drill.speed,
        "drill_time": drill_now(drill).isoformat(),
        "title": event_title(drill.event),
    }


def _running_drills() -> list[dict[str, Any]]:
    from command.models import DrillRecord

    return [
        {"id": d.id, "event": d.event, "title": event_title(d.event)}
        for d in get_session().scalars(
            select(DrillRecord).where(DrillRecord.state.in_(["running", "paused"]))
        )
    ]


def event_title(name: str) -> str:
    """A drill event's title in the user's language, from its manifest (``title_zh`` /
    ``title_en`` in ``event.json``); the event's name when the manifest has none."""
    import json
    from pathlib import Path

    from command.models import DrillEvent

    event = get_session().get(DrillEvent, name)
    manifest = Path(event.directory) / "event.json" if event is not None else None
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8")) if manifest else {}
    except (OSError, ValueError):
        meta = {}
    title = (
        meta.get("title_zh" if str(get_locale()) == "zh" else "title_en")
        if isinstance(meta, dict)
        else None
    )
    return str(title) if title else name


def served_vocabulary() -> dict[str, dict[str, str]]:
    """The label vocabulary with every ammunition type in the ledger."""
    from command.models import AmmunitionEntry
    from command.vocabulary import vocabulary

    codes = get_session().scalars(select(AmmunitionEntry.ammo_type).distinct()).all()
    return vocabulary(codes)


@bp.get("/api/vocabulary")
@login_required_any
def vocabulary_api() -> Any:
    """State, action, review, readiness, ammunition … labels in the user's language: the one
    vocabulary of the map and every console."""
    return jsonify(served_vocabulary())


#: The script of each console page (besides console_common.js, which every console loads).
CONSOLE_SCRIPT = {
    "forecaster": "console_forecaster.js",
    "commander": "console_commander.js",
    "atc": "console_airspace.js",
    "military": "console_airspace.js",
    "county": "console_county.js",
    "member": "console_member.js",
    "sites": "console_sites.js",
}


def js_messages(*scripts: str) -> dict[str, str]:
    """The sentences of these static scripts in the user's language (see
    :func:`command.vocabulary.browser_messages`)."""
    from pathlib import Path

    from flask import current_app

    from command.vocabulary import browser_messages

    return browser_messages(Path(current_app.static_folder or "static"), *scripts)


def _boot(console: str, **extra: Any) -> dict[str, Any]:
    return {
        "vocab": served_vocabulary(),
        "console": console,
        "i18n": js_messages("console_common.js", CONSOLE_SCRIPT[console]),
        "drill": _drill_boot(),
        "runningDrills": _running_drills(),
        "locale": "zh" if str(get_locale()) == "zh" else "en",
        "user": {
            "username": current_user.username,
            "role": current_user.role,
            "county": current_user.county,
        },
        "sampleRegistry": deployment().sample_registry,
        "counties": [
            {"key": c.key, "name_zh": c.name_zh, "name_en": c.name_en}
            for c in deployment().counties
        ],
        **extra,
    }


def _page(template: str, console: str, **extra: Any) -> str:
    return render_template(template, console=console, boot=_boot(console, **extra))


@bp.route("/console")
@login_required_any
def console_home() -> Any:
    target = CONSOLE_OF_ROLE.get(current_user.role)
    if target is None:  # admin: the command map links every console
        return redirect(url_for("main.index"))
    return redirect(url_for(f"consoles.{target}"))


@bp.route("/console/forecaster")
@roles_required("forecaster")
def forecaster() -> Any:
    return _page("console_forecaster.html", "forecaster")


@bp.route("/console/commander")
@roles_required("commander")
def commander() -> Any:
    return _page("console_commander.html", "commander")


@bp.route("/console/atc")
@roles_required("atc")
def atc() -> Any:
    return _page("console_airspace.html", "atc", authority="atc")


@bp.route("/console/military")
@roles_required("military")
def military() -> Any:
    return _page("console_airspace.html", "military", authority="military")


@bp.route("/console/county")
@roles_required("county_operator")
def county() -> Any:
    key = current_user.county
    name = deployment().county_name(key) if key else ""
    return _page("console_county.html", "county", county={"key": key, "name": name})


@bp.route("/console/sites")
@roles_required("commander")
def sites() -> Any:
    """Readiness and restock (commander, admin): each site's readiness set by hand, stock per
    ammunition type, and deliveries recorded through the ammunition ledger.  Live sites only:
    a drill never changes them."""
    from flask import current_app

    if request.args.get("drill"):  # live sites only: a drill never restocks them
        return redirect(url_for("consoles.sites"))
    return _page(
        "console_sites.html",
        "sites",
        restockBelow=current_app.config["HAILOPS"].restock_below_rounds,
    )


@bp.route("/console/member")
@roles_required("member")
def member() -> Any:
    return _page("console_member.html", "member")


# --- read endpoints for the consoles -------------------------------------------------------
def _latest_volume() -> RadarVolume | None:
    drill = requested_drill()
    return get_session().scalar(
        select(RadarVolume)
        .where(RadarVolume.status == "processed", drill_id_filter(RadarVolume.drill_id, drill))
        .order_by(RadarVolume.id.desc())
        .limit(1)
    )


def _track_summary(track: dict[str, Any] | None) -> dict[str, Any] | None:
    if not track:
        return None
    return {
        "id": track["id"],
        "speed_mps": track.get("speed_mps"),
        "direction_deg": track.get("direction_deg"),
        "trend": track.get("trend"),
        "arrivals": track.get("arrivals") or {"counties": {}, "sites": {}},
    }


def verdict_of_props(props: dict[str, Any]) -> str:
    """The cell's three-valued verdict (collections written before it existed: from ``hail``)."""
    return str(props.get("verdict") or ("hail" if props.get("hail") else "no_hail"))


def verdict_words(props: dict[str, Any]) -> tuple[str, str]:
    """The cell's verdict and its reason (empty when there is none to give) in the user's
    language: the sampling flags and the 0 °C rule are translated by code; unknown flags are
    shown as they are."""
    flags = {
        "cone_of_silence": _("cone of silence: the top of the storm is above the highest beam"),
        "lowest_beam_above_h0": _("far from the radar: the lowest beam is above the 0 °C level"),
        "sweeps_missing": _("incomplete volume: sweeps are missing"),
        "too_few_elevations": _("too few elevations for the hail products"),
    }
    verdict = verdict_of_props(props)
    head = {
        "hail": _("Hail"),
        "no_hail": _("No hail"),
        "cannot_tell": _("Cannot tell — review"),
    }.get(verdict, verdict)
    parts = [flags.get(f, f) for f in props.get("sampling") or []]
    if verdict == "no_hail" and "below the 0 C level" in str(props.get("verdict_reason") or ""):
        parts.append(_("the 45 dBZ echo stays below the 0 °C level"))
    return head, ("；" if str(get_locale()) == "zh" else "; ").join(parts)


@bp.get("/api/cells/latest")
@roles_required("forecaster", "commander", "member")
def latest_cells() -> Any:
    """The cells of the latest live volume with their record ids (for review), review
    state, track motion/trend and predicted arrivals.  Each cell carries its storm (issue
    11): ``storm_name`` (the one name), ``storm`` (id, number, the forecaster's name, review,
    who and when) and ``track_review``, the storm's standing decision (``None`` before any),
    which the cell inherited from earlier scans."""
    session = get_session()
    vol = _latest_volume()
    if vol is None:
        return jsonify({"volume_id": None, "scan_time": None, "cells": []})
    tracks = {t["id"]: t for t in (vol.tracks or [])}
    storms = storms_of_volume(session, vol)
    cells = []
    rank = {"hail": 0, "cannot_tell": 1}  # hail first, then the threats to review
    for c in sorted(
        vol.cells,
        key=lambda r: (
            rank.get(verdict_of_props(r.feature["properties"]), 2),
            -(r.feature["properties"].get("mesh_mm") or 0),
        ),
    ):
        storm = storms.get(c.storm_id or 0)
        cells.append(
            {
                "record_id": c.id,
                "cell_id": c.cell_id,
                "hail": c.hail,
                "verdict": verdict_of_props(c.feature["properties"]),
                "verdict_text": verdict_words(c.feature["properties"])[0],
                "verdict_reason_text": verdict_words(c.feature["properties"])[1],
                "properties": c.feature["properties"],
                "geometry": c.feature["geometry"],
                "review": c.review,
                "review_reason": c.review_reason,
                "reviewed_by": c.reviewed_by,
                "track_review": _track_review(storm),
                "track": _track_summary(tracks.get(c.track_id or "")),
                **storm_json(storm, track_id=c.track_id, fallback=c.cell_id),
                "parent_storm_name": _parent_name(session, storm),
            }
        )
    radar = vol.radar or {}
    return jsonify(
        {
            "volume_id": vol.id,
            "scan_time": vol.scan_time.isoformat() if vol.scan_time else None,
            "levels": vol.levels,
            "cells": cells,
            "complete": radar.get("complete", True),
            "sweeps_expected": radar.get("sweeps_expected"),
            "sweeps_read": radar.get("sweeps_read"),
        }
    )


def _track_review(storm: StormTrack | None) -> dict[str, Any] | None:
    """The storm's standing decision: the forecaster's, also when a dismissed storm went back
    to review (``reopened`` says why); ``None`` when nobody has decided yet."""
    if storm is None or (storm.review == "new" and not storm.reopened):
        return None
    return {
        "review": "dismissed" if storm.reopened else storm.review,
        "reason": storm.review_note,
        "by": storm.reviewed_by,
        "at": storm.reviewed_at.isoformat() if storm.reviewed_at else None,
        "reopened": storm.reopened,
        "cell_id": storm.last_cell_id,
    }


def _parent_name(session: Any, storm: StormTrack | None) -> str | None:
    """The name of the storm a split child came from (its parent track in the same world)."""
    if storm is None or not storm.parent_track_id:
        return None
    parent = session.scalars(
        select(StormTrack)
        .where(
            StormTrack.drill_key == storm.drill_key, StormTrack.track_id == storm.parent_track_id
        )
        .order_by(StormTrack.first_seen.desc())
        .limit(1)
    ).first()
    return storm_name(parent, track_id=storm.parent_track_id)


@bp.get("/api/cells/arrivals")
@roles_required("commander", "forecaster", "member")
def cell_arrivals() -> Any:
    """For the cells operations were planned on (``?cells=a,b``): the track each belongs to
    and, from the latest volume that still has that track, when it reaches counties and
    site areas.  A track no longer observed gives ``null``."""
    session = get_session()
    wanted = [c for c in request.args.get("cells", "").split(",") if c][:200]
    vol = _latest_volume()
    tracks = {t["id"]: t for t in (vol.tracks or [])} if vol is not None else {}
    track_of: dict[str, str | None] = {}
    if wanted:
        for cell_id, track_id in session.execute(
            select(CellRecord.cell_id, CellRecord.track_id)
            .where(
                CellRecord.cell_id.in_(wanted),
                drill_id_filter(CellRecord.drill_id, requested_drill()),
            )
            .order_by(CellRecord.id)
        ):
            track_of[cell_id] = track_id  # the latest record wins
    out: dict[str, Any] = {}
    for cell_id in wanted:
        track_id = track_of.get(cell_id)
        track = tracks.get(track_id) if track_id else None
        out[cell_id] = (
            None
            if track is None
            else {
                "track": _track_summary(track),
                "scan_time": vol.scan_time.isoformat()
                if vol is not None and vol.scan_time
                else None,
            }
        )
    return jsonify({"arrivals": out})


@bp.get("/api/airspace")
@login_required_any
def airspace() -> Any:
    """The airport and the no-fire areas (control zone, approach corridors) as GeoJSON, and
    for ATC, military, commander and admin the ``pending`` clearance requests of the world
    asked for (live, or ``?drill=ID``): operations in ``clearance_requested``; for ATC and
    military only those still awaiting their own decision."""
    from command import operations
    from command.models import OperationRecord

    a = deployment().airport
    out: dict[str, Any] = {
        "airport": {
            "icao": a.icao,
            "name_zh": a.name_zh,
            "name_en": a.name_en,
            "lat": a.lat,
            "lon": a.lon,
        },
        "no_fire": {"type": "FeatureCollection", "features": deployment().no_fire_geojson()},
    }
    if current_user.role in ("atc", "military", "commander", "admin"):
        session = get_session()
        drill = requested_drill()
        now = world_now(drill)
        pending = []
        for rec in session.scalars(
            select(OperationRecord)
            .where(
                OperationRecord.state == "clearance_requested",
                drill_id_filter(OperationRecord.drill_id, drill),
            )
            .order_by(OperationRecord.created_at)
            .limit(500)
        ):
            op = operations.load(session, rec.id)[1]
            decided = {d.authority.value for d in op.decisions}
            if current_user.role in ("atc", "military") and current_user.role in decided:
                continue
            pending.append(operations.to_json(op, now, session=session))
        out["pending"] = pending
        out["drill_id"] = None if drill is None else drill.id
    return jsonify(out)


@bp.get("/api/member/overview")
@roles_required("member", "commander", "forecaster")
def member_overview() -> Any:
    """Read-only summary: latest volume, operations by state, member units."""
    from sqlalchemy import func

    from command.models import OperationRecord

    session = get_session()
    # The latest volume's columns only (not its tracks JSON), its cells in one query.
    vol = session.execute(
        select(RadarVolume.id, RadarVolume.scan_time, RadarVolume.levels)
        .where(
            RadarVolume.status == "processed",
            drill_id_filter(RadarVolume.drill_id, requested_drill()),
        )
        .order_by(RadarVolume.id.desc())
        .limit(1)
    ).first()
    cells = (
        []
        if vol is None
        else session.execute(
            select(CellRecord.hail, CellRecord.feature).where(CellRecord.volume_id == vol.id)
        ).all()
    )
    rows = session.execute(
        select(OperationRecord.state, func.count())
        .where(drill_id_filter(OperationRecord.drill_id, requested_drill()))
        .group_by(OperationRecord.state)
    ).all()
    counts = {str(state): int(n) for state, n in rows}
    units = session.scalars(select(MemberUnit).order_by(MemberUnit.key)).all()
    return jsonify(
        {
            "volume": None
            if vol is None
            else {
                "volume_id": vol.id,
                "scan_time": vol.scan_time.isoformat() if vol.scan_time else None,
                "cells": len(cells),
                "hail_cells": sum(1 for hail, _f in cells if hail),
                "max_mesh_mm": max(
                    (f["properties"].get("mesh_mm") or 0 for _h, f in cells), default=0
                ),
                "levels": vol.levels,
            },
            "operations_by_state": counts,
            "member_units": [member_unit_json(m) for m in units],
        }
    )


# --- hail warnings (CAP 1.2) ---------------------------------------------------------------
def _warning_for(record_id: int, county_keys: list[str], sent: datetime) -> Any:
    session = get_session()
    cell = session.get(CellRecord, record_id)
    drill = requested_drill()
    # A drill's cell is only reachable from inside that drill (``?drill=<id>``).
    if cell is None or cell.drill_id != (None if drill is None else drill.id):
        raise NotFound(f"no cell {record_id}")
    try:
        return cell, build_for_cell(cell, county_keys, sent)
    except WarningInputError as exc:
        raise Unprocessable("invalid counties", {"counties": str(exc)}) from None


def _counties_arg(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return []
    return list(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))


@bp.get("/api/cells/<int:record_id>/cap.xml")
@roles_required("forecaster", "commander", "member")
def cap_xml(record_id: int) -> Any:
    """A CAP 1.2 hail alert for the cell and ``?counties=a,b``; ``?sent=ISO`` reproduces
    an issued warning exactly (same identifier), without it the alert is sent now."""
    sent_arg = request.args.get("sent")
    try:
        sent = (
            datetime.fromisoformat(sent_arg.replace("Z", "+00:00"))
            if sent_arg
            else datetime.now(UTC)
        )
    except ValueError:
        raise Unprocessable("invalid sent", {"sent": "ISO 8601 time"}) from None
    if sent.tzinfo is None:
        raise Unprocessable("invalid sent", {"sent": "time must carry a UTC offset"})
    _cell, warning = _warning_for(
        record_id, _counties_arg(request.args.get("counties", "")), sent.replace(microsecond=0)
    )
    return Response(
        to_cap_xml(warning),
        mimetype="application/cap+xml",
        headers={"Content-Disposition": f"inline; filename={warning.identifier}.xml"},
    )


@bp.post("/api/cells/<int:record_id>/warning")
@roles_required("forecaster")
@validated(WarningBody, replayable=lambda record_id: f"warning:{record_id}")
def issue_warning(record_id: int) -> Any:
    """Issue a hail warning: audited, announced (``warning.issue``) to the command center
    and the named counties; the CAP document stays reproducible from ``cap_url``.
    Retrying with the same Idempotency-Key returns the first warning."""
    session = get_session()
    key = idempotency.scoped_key(
        current_user.username, f"warning:{record_id}", request.headers.get("Idempotency-Key")
    )
    body = request.get_json(silent=True) or {}
    counties = _counties_arg(body.get("counties"))

    def first_result(first: IdempotencyKey | None) -> Any:
        if first is not None and first.action == "warning":
            row = session.scalar(
                select(AuditRecord)
                .where(
                    AuditRecord.action == "warning.issue", AuditRecord.object_id == first.object_id
                )
                .limit(1)
            )
            if row is not None:
                return jsonify(row.after), 200
        return None

    replay = first_result(idempotency.seen(session, key))
    if replay is not None:
        return replay
    drill = requested_drill()
    now = (datetime.now(UTC) if drill is None else running_drill_now(drill)).replace(microsecond=0)
    cell, warning = _warning_for(record_id, counties, now)
    if key:
        replay = first_result(
            idempotency.claim(
                session, key, "warning", warning.identifier, current_user.username, now
            )
        )
        if replay is not None:
            return replay
    payload = record_warning(
        session, cell, warning, counties, now, current_user.username, current_user.role
    )
    session.commit()
    return jsonify(payload), 201


@bp.get("/api/live/seq")
@login_required_any
def live_seq() -> Any:
    """The last event sequence number: a console reads it before loading its data and then
    connects with ``since`` = this, so nothing that happens in between is lost."""
    from sqlalchemy import func

    from command.models import LiveEvent

    return jsonify({"seq": get_session().scalar(select(func.max(LiveEvent.seq))) or 0})


WARNINGS_LIMIT, WARNINGS_LIMIT_MAX = 200, 500


@bp.get("/api/warnings")
@login_required_any
@documented_query(
    openapi_params(
        limit_default=WARNINGS_LIMIT,
        limit_max=WARNINGS_LIMIT_MAX,
        extra=[
            {
                "name": "hours",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 168, "default": 24},
            }
        ],
    )
)
def list_warnings() -> Any:
    """Hail warnings issued in the last ``?hours=`` (default 24, at most 168), newest first,
    from the audit log; a county operator sees only those naming its county.  ``?limit=``
    (default 200, at most 500) and ``?cursor=`` page."""
    from command.web.paging import cursor_arg, encode_cursor, limit_arg

    try:
        hours = min(max(int(request.args.get("hours", 24)), 1), 168)
    except ValueError:
        raise Unprocessable("invalid hours", {"hours": "whole number 1..168"}) from None
    limit = limit_arg(WARNINGS_LIMIT, WARNINGS_LIMIT_MAX)
    after = cursor_arg((int,))
    drill = requested_drill()
    since = world_now(drill) - timedelta(hours=hours)
    county = current_user.county if current_user.role == "county_operator" else None
    out: list[dict[str, Any]] = []
    before_id = None if after is None else after[0]
    next_cursor = None
    session = get_session()
    while True:  # a county operator's page may need several batches of the audit log
        q = select(AuditRecord.id, AuditRecord.after).where(
            AuditRecord.action == "warning.issue",
            drill_id_filter(AuditRecord.drill_id, drill),
            AuditRecord.at >= since,
        )
        if before_id is not None:
            q = q.where(AuditRecord.id < before_id)
        rows = session.execute(q.order_by(AuditRecord.id.desc()).limit(limit)).all()
        for rec_id, after_json in rows:
            if isinstance(after_json, dict) and (
                county is None or county in after_json.get("counties", [])
            ):
                out.append(after_json)
                if len(out) == limit:
                    next_cursor = encode_cursor([rec_id])
                    break
        if next_cursor is not None or len(rows) < limit:
            break
        before_id = rows[-1][0]
    return jsonify({"warnings": out, "next_cursor": next_cursor})
