"""JSON API (bearer token or session cookie).  Errors use one envelope {code, message, details}."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from command import audit
from command.auth import UserError, create_user, issue_token, login_required_any, roles_required
from command.deployment import deployment
from command.errors import Forbidden, NotFound, Unprocessable
from command.extensions import get_session
from command.models import MemberUnit, SiteRecord, User
from command.office.liaisons import member_unit_json
from command.sitestore import (
    change_readiness,
    load_sites,
    replace_registry,
    site_json,
    stock,
    to_site,
)
from command.web.paging import documented_query, openapi_params
from command.web.schemas import (
    SITE_REGISTRY_UPLOAD,
    CellReviewBody,
    EmptyBody,
    LiaisonBody,
    NewUserBody,
    ReadinessBody,
    RevokeBody,
    StormNameBody,
    TokenBody,
    documented_body,
    validated,
)

bp = Blueprint("api", __name__, url_prefix="/api")

READINESS_ROLES = ("commander", "county_operator")


def _county_scope() -> str | None:
    """County operators see only their own county."""
    return current_user.county if current_user.role == "county_operator" else None


@bp.get("/me")
@login_required_any
def me() -> Any:
    return jsonify(
        {
            "username": current_user.username,
            "role": current_user.role,
            "county": current_user.county,
            "display_name": current_user.display_name,
        }
    )


@bp.get("/counties")
@login_required_any
def counties() -> Any:
    return jsonify(deployment().counties_geojson())


@bp.get("/sites")
@login_required_any
def list_sites() -> Any:
    """The sites with stock and readiness; ``?drill=ID``: in that drill's world."""
    from command.web.scope import requested_drill

    drill = requested_drill()
    sites = load_sites(
        get_session(), county=_county_scope(), drill_id=None if drill is None else drill.id
    )
    return jsonify({"sites": [site_json(s) for s in sites]})


@bp.get("/sites/<code>")
@login_required_any
def get_site(code: str) -> Any:
    rec = get_session().get(SiteRecord, code)
    scope = _county_scope()
    if rec is None or (scope is not None and rec.county != scope):
        raise NotFound(f"no site {code}")
    return jsonify(site_json(to_site(rec, stock(get_session(), code))))


@bp.get("/sites/export")
@roles_required("commander", "forecaster")
def export_sites() -> Any:
    from sites.registry import sites_to_csv, sites_to_geojson

    sites = load_sites(get_session())
    if request.args.get("format") == "csv":
        return Response(
            sites_to_csv(sites),
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": "attachment; filename=sites.csv"},
        )
    return jsonify(sites_to_geojson(sites))


@bp.post("/sites/import")
@roles_required()  # admin only
@documented_body(SITE_REGISTRY_UPLOAD)
def import_sites() -> Any:
    """Replace/extend the registry from a GeoJSON or CSV upload, all or nothing."""
    from sites.errors import RegistryValidationError
    from sites.registry import sites_from_csv, sites_from_geojson

    upload = request.files.get("file")
    raw = upload.read() if upload is not None else request.get_data()
    name = (upload.filename if upload is not None else "") or ""
    text = raw.decode("utf-8-sig", errors="replace")
    if "\x00" in text:  # never in a registry; PostgreSQL text refuses it
        raise Unprocessable(
            "the registry was rejected as a whole; nothing was imported",
            [{"where": name or "body", "field": "", "message": "a NUL character is not allowed"}],
        )
    dep = deployment()
    try:
        if name.endswith(".csv") or request.mimetype == "text/csv":
            sites = sites_from_csv(text, counties=dep.county_polygons(), area=dep.city_outline())
        else:
            sites = sites_from_geojson(
                text, counties=dep.county_polygons(), area=dep.city_outline()
            )
    except RegistryValidationError as exc:
        raise Unprocessable(
            "the registry was rejected as a whole; nothing was imported",
            [{"where": p.where, "field": p.field, "message": p.message} for p in exc.problems],
        ) from None
    session = get_session()
    ignored = replace_registry(session, sites, current_user.username, current_user.role)
    session.commit()
    # Stock moves only through the ammunition ledger (restock, firing reports): an import
    # never changes an existing site's stock; the differences it ignored are listed.
    return jsonify({"imported": len(sites), "stock_not_changed": ignored})


@bp.patch("/sites/<code>/readiness")
@roles_required(*READINESS_ROLES)
@validated(ReadinessBody)
def set_readiness(code: str) -> Any:
    from sites.model import Readiness

    session = get_session()
    rec = session.get(SiteRecord, code)
    if rec is None:
        raise NotFound(f"no site {code}")
    if current_user.role == "county_operator" and rec.county != current_user.county:
        raise Forbidden("site belongs to another county")
    body = request.get_json(silent=True) or {}
    value = body.get("readiness")
    try:
        readiness = Readiness(str(value))
    except (ValueError, TypeError):
        raise Unprocessable(
            "invalid readiness", {"readiness": f"one of {[r.value for r in Readiness]}"}
        ) from None
    change_readiness(
        session, rec, readiness.value, actor=current_user.username, role=current_user.role
    )
    session.commit()
    return jsonify({"code": code, "readiness": readiness.value})


@bp.get("/member-units")
@login_required_any
def member_units() -> Any:
    rows = get_session().scalars(select(MemberUnit).order_by(MemberUnit.key)).all()
    return jsonify({"member_units": [member_unit_json(m) for m in rows]})


@bp.put("/member-units/<key>/liaison")
@roles_required()  # admin
@validated(LiaisonBody)
def set_liaison(key: str) -> Any:
    session = get_session()
    unit = session.get(MemberUnit, key)
    if unit is None:
        raise NotFound(f"no member unit {key}")
    body = request.get_json(silent=True) or {}
    errors = {
        f: "required string"
        for f in ("name", "phone")
        if not isinstance(body.get(f), str) or not body.get(f)
    }
    if errors:
        raise Unprocessable("invalid liaison", errors)
    before = {"name": unit.liaison_name, "phone": unit.liaison_phone, "title": unit.liaison_title}
    unit.liaison_name, unit.liaison_phone = body["name"], body["phone"]
    unit.liaison_title = str(body.get("title", unit.liaison_title))
    unit.sample = False
    audit.append(
        session,
        actor=current_user.username,
        role=current_user.role,
        action="member_unit.liaison",
        object_type="member_unit",
        object_id=key,
        before=before,
        after={"name": unit.liaison_name, "phone": unit.liaison_phone, "title": unit.liaison_title},
    )
    session.commit()
    return jsonify(
        {"key": key, "liaison": {"name": unit.liaison_name, "phone": unit.liaison_phone}}
    )


@bp.get("/users")
@roles_required()  # admin
def list_users() -> Any:
    users = get_session().scalars(select(User).order_by(User.username)).all()
    return jsonify(
        {
            "users": [
                {"username": u.username, "role": u.role, "county": u.county, "active": u.active}
                for u in users
            ]
        }
    )


@bp.post("/users")
@roles_required()  # admin
@validated(NewUserBody)
def add_user() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Unprocessable("JSON object expected", {"body": "JSON object expected"})
    errors = {
        f: "required string"
        for f in ("username", "password", "role")
        if not isinstance(body.get(f), str) or not body.get(f)
    }
    if errors:
        raise Unprocessable("invalid user", errors)
    session = get_session()
    try:
        user = create_user(
            session,
            body["username"],
            body["password"],
            body["role"],
            county=body.get("county"),
            actor=current_user.username,
            actor_role=current_user.role,
            known_counties=deployment().county_keys(),
        )
    except UserError as exc:
        raise Unprocessable(str(exc), {"user": str(exc)}) from None
    session.commit()
    return jsonify({"username": user.username, "role": user.role, "county": user.county}), 201


@bp.post("/users/<username>/tokens")
@roles_required()  # admin
@validated(TokenBody)
def new_token(username: str) -> Any:
    session = get_session()
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username}")
    body: TokenBody = g.body
    token = issue_token(
        session,
        user,
        name=body.name,
        actor=current_user.username,
        ttl=None if body.days is None else timedelta(days=body.days),
    )
    session.commit()
    return jsonify({"username": username, "token": token}), 201


def _user_named(session: Any, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username}")
    found: User = user
    return found


@bp.post("/users/<username>/revoke")
@roles_required()  # admin
@validated(RevokeBody)
def revoke_user_access(username: str) -> Any:
    """Revoke the user's API tokens (``{"token_name": ...}``: only those), end their
    sessions and disconnect their open sockets."""
    from command.auth import revoke_access
    from command.live import disconnect_now

    session = get_session()
    user = _user_named(session, username)
    name = g.body.token_name
    revoked = revoke_access(
        session, user, token_name=name, actor=current_user.username, actor_role=current_user.role
    )
    session.commit()
    disconnected = disconnect_now(session)
    return jsonify(
        {
            "username": username,
            "revoked_tokens": revoked,
            "sessions_ended": name is None,
            "sockets_disconnected": disconnected,
        }
    )


@bp.post("/users/<username>/deactivate")
@roles_required()  # admin
@validated(EmptyBody)
def deactivate_user(username: str) -> Any:
    """The account can no longer log in; its cookies, tokens and sockets stop working."""
    from command.auth import set_active
    from command.live import disconnect_now

    session = get_session()
    user = _user_named(session, username)
    set_active(session, user, False, actor=current_user.username, actor_role=current_user.role)
    session.commit()
    return jsonify(
        {"username": username, "active": False, "sockets_disconnected": disconnect_now(session)}
    )


@bp.get("/audit/verify")
@roles_required()  # admin
def audit_verify() -> Any:
    """Routine verification from the last checkpoint; ``?full=1`` walks the whole chain.
    Read-only: checkpoints are written by ``hailops audit verify`` (the scheduled check)."""
    result = audit.verify(
        get_session(), full=request.args.get("full") in ("1", "true"), checkpoint=False
    )
    return jsonify(
        {
            "ok": result.ok,
            "checked": result.checked,
            "first_broken_id": result.first_broken_id,
            "reason": result.reason,
            "from_record_id": result.from_record_id,
            "total": result.total,
        }
    )


def _settings() -> Any:
    return current_app.config["HAILOPS"]


@bp.get("/live/state")
@login_required_any
def live_state() -> Any:
    """What a map needs on load: the latest live volume (cells, tracks, overlays) and the
    last event sequence number, after which the socket stream continues."""
    from sqlalchemy import func

    from command.ingest import volume_payload
    from command.models import LiveEvent, RadarVolume

    session = get_session()
    vol = session.scalar(
        select(RadarVolume)
        .where(RadarVolume.status == "processed", RadarVolume.drill_id.is_(None))
        .order_by(RadarVolume.id.desc())
        .limit(1)
    )  # the latest received
    seq = session.scalar(select(func.max(LiveEvent.seq))) or 0
    return jsonify({"seq": seq, "volume": None if vol is None else volume_payload(vol)})


VOLUMES_LIMIT, VOLUMES_LIMIT_MAX = 200, 1000


@bp.get("/volumes")
@login_required_any
@documented_query(
    openapi_params(
        limit_default=VOLUMES_LIMIT,
        limit_max=VOLUMES_LIMIT_MAX,
        times={"since": "scan time from (default: two hours ago)", "until": "scan time up to"},
    )
)
def list_volumes() -> Any:
    """Processed volumes in scan-time order (for the map's time slider), one query with their
    cell counts.  ``?since=``/``?until=`` (ISO; default: the last two hours, on the drill clock
    with ``?drill=ID``), ``?limit=`` (default 200, at most 1000) and ``?cursor=``."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import and_, func, or_

    from command.drill import drill_now
    from command.models import CellRecord, RadarVolume
    from command.web.paging import cursor_arg, limit_arg, page, time_arg
    from command.web.scope import drill_id_filter, requested_drill

    drill = requested_drill()
    limit = limit_arg(VOLUMES_LIMIT, VOLUMES_LIMIT_MAX)
    since = time_arg("since") or (
        datetime.now(UTC) if drill is None else drill_now(drill)
    ) - timedelta(hours=2)
    until = time_arg("until")
    after = cursor_arg((datetime, int))
    q = (
        select(RadarVolume.id, RadarVolume.scan_time, func.count(CellRecord.id))
        .outerjoin(CellRecord, CellRecord.volume_id == RadarVolume.id)
        .where(
            RadarVolume.status == "processed",
            drill_id_filter(RadarVolume.drill_id, drill),
            RadarVolume.scan_time >= since,
        )
        .group_by(RadarVolume.id, RadarVolume.scan_time)
        .order_by(RadarVolume.scan_time, RadarVolume.id)
        .limit(limit + 1)
    )
    if until is not None:
        q = q.where(RadarVolume.scan_time <= until)
    if after is not None:
        q = q.where(
            or_(
                RadarVolume.scan_time > after[0],
                and_(RadarVolume.scan_time == after[0], RadarVolume.id > after[1]),
            )
        )
    rows, next_cursor = page(list(get_session().execute(q)), limit, lambda r: (r[1], r[0]))
    return jsonify(
        {
            "volumes": [
                {"id": vid, "scan_time": scan_time.isoformat(), "cells": int(n)}
                for vid, scan_time, n in rows
            ],
            "next_cursor": next_cursor,
        }
    )


@bp.get("/volumes/<int:volume_id>")
@login_required_any
def get_volume(volume_id: int) -> Any:
    from command.ingest import volume_payload
    from command.models import RadarVolume
    from command.web.scope import requested_drill

    drill = requested_drill()
    vol = get_session().get(RadarVolume, volume_id)
    if vol is None or vol.drill_id != (None if drill is None else drill.id):
        raise NotFound(f"no volume {volume_id}")
    return jsonify(volume_payload(vol))


@bp.post("/cells/<int:record_id>/review")
@roles_required("forecaster")
@validated(CellReviewBody)
def review_cell(record_id: int) -> Any:
    """A duty forecaster confirms or dismisses a cell's storm (issue 11: the review belongs
    to the storm and carries across scans); reason recorded and audited.  A cell without a
    track is reviewed alone, as before."""
    from command.models import CellRecord
    from command.storms import storm_of_cell

    session = get_session()
    cell = session.get(CellRecord, record_id)
    # A drill's cell is reviewed only from inside that drill, a live cell only live.
    if cell is None or cell.drill_id != _world_id():
        raise NotFound(f"no cell {record_id}")
    decision, reason = _review_body()
    storm = storm_of_cell(session, cell)
    if storm is not None:
        return _review(storm, decision, reason)
    before = {"review": cell.review, "reason": cell.review_reason}
    cell.review, cell.review_reason, cell.reviewed_by = decision, reason, current_user.username
    audit.append(
        session,
        actor=current_user.username,
        role=current_user.role,
        action=f"cell.{decision}",
        object_type="cell",
        object_id=cell.cell_id,
        before=before,
        after={"review": decision, "reason": reason},
        drill_id=cell.drill_id,
        at=_world_now(),
    )
    _announce_review(cell, None, decision, reason)
    session.commit()
    return jsonify(
        {"record_id": cell.id, "review": decision, "storm_name": cell.cell_id, "storm": None}
    )


@bp.post("/storms/<int:storm_id>/review")
@roles_required("forecaster")
@validated(CellReviewBody)
def review_storm(storm_id: int) -> Any:
    """The forecaster confirms or dismisses a storm (every later scan of it carries the
    decision until changed; a dismissed storm returns to review if it turns to hail or severe
    hail).  A reason is required to dismiss; audited, then announced (``cell.review``)."""
    decision, reason = _review_body()
    return _review(_storm(storm_id), decision, reason)


@bp.post("/storms/<int:storm_id>/name")
@roles_required("forecaster")
@validated(StormNameBody)
def rename_storm(storm_id: int) -> Any:
    """The forecaster names a storm (an empty name restores the default "风暴 N"): the one
    name on the map, in every console and report; audited, then announced (``storm.update``)."""
    from command.push import ROOM_ALL, announce, scoped
    from command.storms import rename_storm as rename
    from command.storms import storm_json, storm_ref

    session = get_session()
    storm = _storm(storm_id)
    body: StormNameBody = g.body
    rename(
        session,
        storm,
        body.name,
        actor=current_user.username,
        role=current_user.role,
        at=_world_now(),
    )
    announce(
        session,
        "storm.update",
        {"storm": storm_ref(storm), "by": current_user.username},
        scoped([ROOM_ALL], storm.drill_id),
    )
    session.commit()
    return jsonify(storm_json(storm))


def _world_id() -> str | None:
    from command.web.scope import requested_drill

    drill = requested_drill()
    return None if drill is None else drill.id


def _world_now() -> Any:
    """Now in the request's world: the drill clock inside a drill (which must be running)."""
    from datetime import UTC, datetime

    from command.web.scope import requested_drill, running_drill_now

    drill = requested_drill()
    return datetime.now(UTC) if drill is None else running_drill_now(drill)


def _storm(storm_id: int) -> Any:
    from command.models import StormTrack

    storm = get_session().get(StormTrack, storm_id)
    # A drill's storm only from inside that drill, a live one only live.
    if storm is None or storm.drill_id != _world_id():
        raise NotFound(f"no storm {storm_id}")
    return storm


def _review_body() -> tuple[str, str]:
    body = request.get_json(silent=True) or {}
    decision, reason = body.get("decision"), body.get("reason", "")
    errors = {}
    if decision not in ("confirmed", "dismissed"):
        errors["decision"] = "one of confirmed, dismissed"
    if not isinstance(reason, str) or (decision == "dismissed" and not reason.strip()):
        errors["reason"] = "a reason is required to dismiss a cell"
    if errors:
        raise Unprocessable("invalid review", errors)
    assert isinstance(decision, str) and isinstance(reason, str)  # validated above
    return decision, reason


def _review(storm: Any, decision: str, reason: str) -> Any:
    from command.storms import review_storm as review
    from command.storms import storm_json
    from dispatch.review import Review

    session = get_session()
    cell = review(
        session,
        storm,
        Review(decision),
        reason,
        actor=current_user.username,
        role=current_user.role,
        at=_world_now(),
    )
    _announce_review(cell, storm, decision, reason)
    session.commit()
    return jsonify(
        {"record_id": None if cell is None else cell.id, "review": decision, **storm_json(storm)}
    )


def _announce_review(cell: Any, storm: Any, decision: str, reason: str) -> None:
    from command.push import ROOM_ALL, announce, scoped
    from command.storms import storm_ref

    drill_id = storm.drill_id if storm is not None else cell.drill_id
    announce(
        get_session(),
        "cell.review",
        {
            "record_id": None if cell is None else cell.id,
            "cell_id": None if cell is None else cell.cell_id,
            "track_id": storm.track_id if storm is not None else cell.track_id,
            "review": decision,
            "reason": reason,
            "by": current_user.username,
            "storm_id": None if storm is None else storm.id,
            "storm": storm_ref(storm),
        },
        scoped([ROOM_ALL], drill_id),
    )


@bp.get("/openapi.json")
def openapi() -> Any:
    from command.openapi import document

    return jsonify(document())
