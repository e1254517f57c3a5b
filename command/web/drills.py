"""Drills from the web: the admin starts, pauses, resumes and stops them; participants
see the running drill (with a DRILL banner) and its report."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select

from command.auth import login_required_any, roles_required
from command.errors import Conflict, NotFound, Unprocessable
from command.extensions import get_session
from command.models import DrillEvent, DrillRecord, OperationRecord, RadarVolume
from command.web.consoles import event_title
from command.web.schemas import DrillStartBody, EmptyBody, validated

bp = Blueprint("drills", __name__)


def _drill_words() -> dict[str, str]:
    """``command.drill.TEXTS`` in the user's language (the catalogue, Chinese first)."""
    from flask_babel import gettext as _

    return {
        "note_skipped": _("skipped %(file)s: %(error)s"),
        "note_radar_differs": _(
            "the manifest's radar location differs from the files'; the files' is used"
        ),
        "note_few_volumes": _(
            "only %(count)s volume(s): a realistic drill needs about "
            "%(needed)s (30 minutes of a storm); nothing is invented between "
            "them"
        ),
        "note_no_reports": _(
            "no ground-truth hail reports: the drill cannot be scored against them"
        ),
        "preflight_no_sites": _(
            "the deployment has no operation sites (import a site registry, "
            "e.g. `hailops sites import`, or seed the sample one)"
        ),
        "preflight_no_players": _(
            "automatic players are off and nobody can play %(roles)s "
            "(create those accounts or turn the automatic players on)"
        ),
        "cannot_start": _("the drill cannot start: %(problems)s"),
        "speed": _("speed must be between 1 and 600 (60 for a fast human drill)"),
        "script_not_json": _("drill script is not JSON: %(error)s"),
        "script_not_list": _("drill script must be a JSON list"),
        "inject_kind": _("inject %(i)s: kind must be one of %(kinds)s"),
        "inject_at": _("inject %(i)s: at_s (seconds after the first volume, ≥ 0) required"),
        "inject_params": _("inject %(i)s: params must be a JSON object"),
        "inject_authority": _("inject %(i)s (%(kind)s): params.authority must be atc or military"),
        "inject_site": _("inject %(i)s (%(kind)s): params.site_code (a site code) required"),
        "inject_index": _(
            "inject %(i)s (missing_volume): params.index (volume number from 0) required"
        ),
        "no_event": _("no drill event %(name)s (known: %(known)s; or give a directory)"),
        "transition": _("drill %(drill)s is %(state)s; cannot become %(target)s"),
        "end_completed": _("completed"),
        "end_played": _("the event's last volume and its %(minutes)s minute tail were played"),
        "end_stopped_by": _("stopped by %(actor)s"),
        "end_runner_lost": _("runner %(runner)s lost for %(minutes)s min"),
        "end_lost_times": _("runner lost %(times)s times; not resumed again"),
        "end_event_gone": _("event %(event)s unavailable"),
    }


def _state_words() -> dict[str, str]:
    from flask_babel import gettext as _

    return {
        "requested": _("waiting for the scheduler"),
        "running": _("running"),
        "paused": _("paused"),
        "stopped": _("stopped"),
        "completed": _("completed"),
    }


def drill_text(text: str | None) -> str:
    """An event note, preflight problem, end reason or drill error (stored and sent in
    English, from ``command.drill.TEXTS``) in the user's language; another text as it is."""
    from flask_babel import gettext as _

    from command.app import role_label
    from command.drill import recognise

    if not text:
        return ""
    found = recognise(text)
    if found is None:
        return text
    key, params = found
    where = re.search(r"line (\d+) column (\d+)", params.get("error", ""))
    if key == "script_not_json" and where:  # the parser's own sentence is English
        return str(
            _(
                "drill script is not JSON (line %(line)s, column %(column)s)",
                line=where.group(1),
                column=where.group(2),
            )
        )
    if key == "cannot_start":
        params["problems"] = _("; ").join(drill_text(p) for p in params["problems"].split("; "))
    elif key == "preflight_no_players":
        params["roles"] = _(", ").join(role_label(r) for r in params["roles"].split(", "))
    elif key == "transition":
        states = _state_words()
        params["state"] = states.get(params["state"], params["state"])
        params["target"] = states.get(params["target"], params["target"])
    return _drill_words()[key] % params


def _drill_problem(exc: Exception) -> dict[str, str]:
    """An error's details: the English text (the contract) and the user's wording."""
    return {"drill": str(exc), "drill_text": drill_text(str(exc))}


def _drill_json(d: DrillRecord) -> dict[str, Any]:
    from command.drill import drill_now

    return {
        "id": d.id,
        "event": d.event,
        "state": d.state,
        "speed": d.speed,
        "relocated": d.relocated,
        "auto_approve": d.auto_approve,
        "drill_time": drill_now(d).isoformat(),
        "started_by": d.started_by,
        "started_at": d.started_at.isoformat(),
        "ended_at": d.ended_at.isoformat() if d.ended_at else None,
        "end_reason": d.end_reason,
        "runner": d.runner,
        "heartbeat_at": d.heartbeat_at.isoformat() if d.heartbeat_at else None,
        "progress": d.progress or {},
    }


@bp.get("/admin/drills")
@roles_required()  # admin
def admin_page() -> Any:
    from command.drill import ensure_builtin_events

    session = get_session()
    ensure_builtin_events(session)
    session.commit()
    events = session.scalars(select(DrillEvent).order_by(DrillEvent.name)).all()
    from command.drill import preflight

    drills = session.scalars(
        select(DrillRecord).order_by(DrillRecord.started_at.desc()).limit(50)
    ).all()
    from command.timefmt import BEIJING

    shown = [_drill_json(d) for d in drills]
    for d in shown:
        d["drill_time_bjt"] = (
            datetime.fromisoformat(d["drill_time"])
            .astimezone(BEIJING)
            .strftime("%Y-%m-%d %H:%M:%S")
        )
    return render_template(
        "admin_drills.html",
        events=events,
        drills=shown,
        states=_state_words(),
        drill_text=drill_text,
        event_title=event_title,
        preflight={"auto": preflight(session, True), "manual": preflight(session, False)},
    )


@bp.get("/api/drills")
@login_required_any
def list_drills() -> Any:
    session = get_session()
    drills = session.scalars(
        select(DrillRecord).order_by(DrillRecord.started_at.desc()).limit(50)
    ).all()
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
        script = (
            parse_script(body["script"])
            if isinstance(body.get("script"), str) and body["script"].strip()
            else list(body.get("script") or [])
        )
        relocate_to = body.get("relocate_to")
        drill = create_drill(
            session,
            event,
            speed=float(body.get("speed", 1)),
            started_by=current_user.username,
            relocate_to=tuple(relocate_to) if relocate_to else None,
            relocate=body.get("relocate"),
            auto_approve=bool(body.get("auto_approve")),
            script=script,
            state="requested",
        )
    except (DrillError, ValueError, TypeError) as exc:
        raise Unprocessable(str(exc), _drill_problem(exc)) from None
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
        from flask_babel import gettext as _

        raise Unprocessable(
            f"no drill event {name!r} in the event library",
            {
                "event": "a known event or a directory of the event library",
                "drill_text": _("no drill event %(name)s in the event library", name=repr(name)),
            },
        )
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
        raise Conflict(str(exc), _drill_problem(exc)) from None
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
    vol = session.scalar(
        select(RadarVolume)
        .where(RadarVolume.drill_id == drill_id)
        .order_by(RadarVolume.id.desc())
        .limit(1)
    )
    ops = session.scalars(select(OperationRecord).where(OperationRecord.drill_id == drill_id)).all()
    if current_user.role == "county_operator":
        ops = [o for o in ops if o.county == current_user.county]
    event = session.get(DrillEvent, drill.event)
    return jsonify(
        {
            "drill": _drill_json(drill),
            "banner": "DRILL 演练",
            "notes": event.notes if event else [],
            "volume": None if vol is None else volume_payload(vol),
            "operations": [
                operations.to_json(
                    operations.load(session, o.id)[1], _now_of(drill), session=session
                )
                for o in ops
            ],
        }
    )


def _now_of(drill: DrillRecord) -> Any:
    from command.drill import drill_now

    return drill_now(drill)


@bp.get("/api/drills/<drill_id>/report")
@login_required_any
def report(drill_id: str) -> Any:
    from command.drill_report import build_report, render_html, render_pdf

    session = get_session()
    if drill_id == "latest":
        drill_id = (
            session.scalar(select(DrillRecord.id).order_by(DrillRecord.started_at.desc()).limit(1))
            or ""
        )
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
        from command.security import document_policy

        page = render_html(data, session, lang)
        return Response(
            page,
            mimetype="text/html; charset=utf-8",
            headers={"Content-Security-Policy": document_policy(page)},
        )
    if fmt == "pdf":
        return Response(render_pdf(data, session, lang), mimetype="application/pdf")
    return jsonify(data)
