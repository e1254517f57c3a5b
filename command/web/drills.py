"""Drills from the web: the admin starts, pauses, resumes and stops them; participants
see the running drill (with a DRILL banner) and its report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select

from command.auth import login_required_any, roles_required
from command.errors import Conflict, NotFound, Unprocessable
from command.extensions import get_session
from command.models import DrillEvent, DrillRecord, OperationRecord, RadarVolume
from command.web.schemas import DrillStartBody, EmptyBody, validated

bp = Blueprint("drills", __name__)


def _drill_json(d: DrillRecord) -> dict[str, Any]:
    from command.drill import drill_now

    return {"id": d.id, "event": d.event, "state": d.state, "speed": d.speed,
            "relocated": d.relocated, "auto_approve": d.auto_approve,
            "drill_time": drill_now(d).isoformat(), "started_by": d.started_by,
            "started_at": d.started_at.isoformat(),
            "ended_at": d.ended_at.isoformat() if d.ended_at else None,
            "end_reason": d.end_reason, "runner": d.runner,
            "heartbeat_at": d.heartbeat_at.isoformat() if d.heartbeat_at else None,
            "progress": d.progress or {}}


@bp.get("/admin/drills")
@roles_required()  # admin
def admin_page() -> Any:
    from command.drill import ensure_builtin_events

    session = get_session()
    ensure_builtin_events(session)
    session.commit()
    events = session.scalars(select(DrillEvent).order_by(DrillEvent.name)).all()
    from command.drill import preflight

    drills = session.scalars(select(DrillRecord).order_by(DrillRecord.started_at.desc())
                             .limit(50)).all()
    from command.timefmt import BEIJING

    shown = [_drill_json(d) for d in drills]
    for d in shown:
        d["drill_time_bjt"] = datetime.fromisoformat(d["drill_time"]).astimezone(BEIJING).strftime(
            "%Y-%m-%d %H:%M:%S")
    return render_template("admin_drills.html", events=events, drills=shown,
                           preflight={"auto": preflight(session, True),
                                      "manual": preflight(session, False)})


@bp.get("/api/drills")
@login_required_any
def list_drills() -> Any:
    session = get_session()
    drills = session.scalars(select(DrillRecord).order_by(DrillRecord.started_at.desc())
                             .limit(50)).all()
    return jsonify({"drills": [_drill_json(d) for d in drills]})


@bp.post("/api/drills")
@roles_required()  # admin
@validated(DrillStartBody)
def start_drill() -> Any:
    from command.drill import DrillError, create_drill, parse_script, resolve_event

    body = request.get_json(silent=True) or {}
    session = get_session()
    try:
        event = resolve_event(session, _event_name(session, str(body.get("event", ""))))
        script = parse_script(body["script"]) if isinstance(body.get("script"), str) and \
            body["script"].strip() else list(body.get("script") or [])
        relocate_to = body.get("relocate_to")
        drill = create_drill(session, event, speed=float(body.get("speed", 1)),
                             started_by=current_user.username,
                             relocate_to=tuple(relocate_to) if relocate_to else None,
                             relocate=body.get("relocate"), auto_approve=bool(body.get("auto_approve")),
                             script=script, state="requested")
    except (DrillError, ValueError, TypeError) as exc:
        raise Unprocessable(str(exc), {"drill": str(exc)}) from None
    session.commit()
    # The scheduler runs it (the one `hailops scheduler`, or the in-process one of
    # `make run`): a web worker never runs a drill, so none dies with a worker.
    return jsonify(_drill_json(drill) | {"notes": event.notes}), 201


def _event_name(session: Any, name: str) -> str:
    """A known event, or a directory inside the event library: the web never reads
    arbitrary server directories (the CLI, run by the operator, may)."""
    from command.drill import BUILTIN_EVENTS, ensure_builtin_events

    ensure_builtin_events(session)
    if name and session.get(DrillEvent, name) is not None:
        return name
    library = next(iter(BUILTIN_EVENTS.values())).parent.resolve()
    candidate = (library / name).resolve() if name else library
    if candidate.parent != library or not candidate.is_dir():
        raise Unprocessable(f"no drill event {name!r} in the event library",
                            {"event": "a known event or a directory of the event library"})
    return str(candidate)


@bp.post("/api/drills/<drill_id>/<action>")
@roles_required()  # admin
@validated(EmptyBody)
def control(drill_id: str, action: str) -> Any:
    from command.drill import DrillError, set_state

    target = {"pause": "paused", "resume": "running", "stop": "stopped"}.get(action)
    if target is None:
        raise NotFound(f"no action {action}")
    session = get_session()
    drill = session.get(DrillRecord, drill_id)
    if drill is None:
        raise NotFound(f"no drill {drill_id}")
    try:
        set_state(session, drill, target, current_user.username, current_user.role)
    except DrillError as exc:
        raise Conflict(str(exc)) from None
    session.commit()
    return jsonify(_drill_json(drill))


@bp.get("/api/drills/<drill_id>/state")
@login_required_any
def drill_state(drill_id: str) -> Any:
    """What a participant's map and inbox show of a drill (always marked as a drill)."""
    from command import operations
    from command.ingest import volume_payload

    session = get_session()
    drill = session.get(DrillRecord, drill_id)
    if drill is None:
        raise NotFound(f"no drill {drill_id}")
    vol = session.scalar(select(RadarVolume).where(RadarVolume.drill_id == drill_id)
                         .order_by(RadarVolume.id.desc()).limit(1))
    ops = session.scalars(select(OperationRecord).where(OperationRecord.drill_id == drill_id)).all()
    if current_user.role == "county_operator":
        ops = [o for o in ops if o.county == current_user.county]
    event = session.get(DrillEvent, drill.event)
    return jsonify({"drill": _drill_json(drill), "banner": "DRILL 演练",
                    "notes": event.notes if event else [],
                    "volume": None if vol is None else volume_payload(vol),
                    "operations": [operations.to_json(operations.load(session, o.id)[1],
                                                      _now_of(drill), session=session)
                                   for o in ops]})


def _now_of(drill: DrillRecord) -> Any:
    from command.drill import drill_now

    return drill_now(drill)


@bp.get("/api/drills/<drill_id>/report")
@login_required_any
def report(drill_id: str) -> Any:
    from command.drill_report import build_report, render_html, render_pdf

    session = get_session()
    if drill_id == "latest":
        drill_id = session.scalar(select(DrillRecord.id).order_by(
            DrillRecord.started_at.desc()).limit(1)) or ""
    # A county operator reads its own county's part of the report only.
    county = current_user.county if current_user.role == "county_operator" else None
    if current_user.role == "county_operator" and not county:
        raise NotFound(f"no drill {drill_id}")
    try:
        data = build_report(session, drill_id, county=county)
    except LookupError:
        raise NotFound(f"no drill {drill_id}") from None
    fmt = request.args.get("format", "json")
    # Chinese by default; ?lang=en (or the English interface) for English.
    from flask_babel import get_locale

    lang = request.args.get("lang") or ("en" if str(get_locale()) == "en" else "zh")
    lang = "en" if lang == "en" else "zh"
    if fmt == "html":
        return Response(render_html(data, session, lang), mimetype="text/html; charset=utf-8")
    if fmt == "pdf":
        return Response(render_pdf(data, session, lang), mimetype="application/pdf")
    return jsonify(data)
