"""The office's pages and JSON API (one blueprint).  Routes parse, call the office use
cases, serialise; the office is the commander (and admin)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select

from command.auth import login_required_any, roles_required
from command.errors import Forbidden, NotFound, Unprocessable
from command.extensions import get_session
from command.models import MeetingRecord, MemberUnit
from command.office import OFFICE_ROLES, OfficeError
from command.timefmt import BEIJING

bp = Blueprint("office", __name__, template_folder="templates")


def now_utc() -> datetime:
    return datetime.now(UTC)


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Unprocessable("a JSON object body is required", {"body": "JSON object"})
    return body


def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a use case, mapping the office's errors onto the API's envelope."""
    try:
        return fn(*args, **kwargs)
    except OfficeError as exc:
        raise Unprocessable(str(exc), exc.details) from None
    except LookupError as exc:
        raise NotFound(str(exc)) from None
    except PermissionError as exc:
        raise Forbidden(str(exc)) from None


def actor() -> dict[str, str]:
    return {"actor": current_user.username, "actor_role": current_user.role}


# --- liaisons -------------------------------------------------------------------------------

@bp.get("/office")
@roles_required(*OFFICE_ROLES)
def office_page() -> Any:
    from command.office.liaisons import ensure_liaisons, units_with_liaisons
    from command.office.meetings import meeting_json

    session = get_session()
    if ensure_liaisons(session):
        session.commit()
    today = now_utc().astimezone(BEIJING).date()
    meetings = session.scalars(select(MeetingRecord).order_by(MeetingRecord.held_on.desc())).all()
    return render_template("office/office.html", units=units_with_liaisons(session),
                           meetings=[meeting_json(m, today) for m in meetings], today=today)


@bp.get("/api/office/liaisons")
@login_required_any
def list_liaisons() -> Any:
    from command.office.liaisons import ensure_liaisons, units_with_liaisons

    session = get_session()
    if ensure_liaisons(session):
        session.commit()
    return jsonify({"units": units_with_liaisons(session)})


@bp.put("/api/office/liaisons/<unit_key>/<role>")
@roles_required(*OFFICE_ROLES)
def put_liaison(unit_key: str, role: str) -> Any:
    from command.office.liaisons import _as_dict, update_liaison

    session = get_session()
    rec = run(update_liaison, session, unit_key, role, json_body(), now=now_utc(), **actor())
    session.commit()
    return jsonify(_as_dict(rec))


# --- meetings -------------------------------------------------------------------------------

@bp.get("/api/office/meetings")
@login_required_any
def list_meetings() -> Any:
    from command.office.meetings import meeting_json

    session = get_session()
    today = now_utc().astimezone(BEIJING).date()
    rows = session.scalars(select(MeetingRecord).order_by(MeetingRecord.held_on.desc())
                           .limit(200)).all()
    return jsonify({"meetings": [meeting_json(m, today) for m in rows]})


@bp.post("/api/office/meetings")
@roles_required(*OFFICE_ROLES)
def post_meeting() -> Any:
    from command.office.meetings import meeting_json, record_meeting

    session = get_session()
    body = json_body()
    if isinstance(body.get("decisions"), dict):  # form serialisation: {"0": {...}, "1": {...}}
        body["decisions"] = [v for _, v in sorted(body["decisions"].items(), key=lambda kv: int(kv[0]))
                             if isinstance(v, dict) and str(v.get("text") or "").strip()]
    if isinstance(body.get("attendance"), dict):
        body["attendance"] = {k: v for k, v in body["attendance"].items() if str(v).strip()}
    meeting = run(record_meeting, session, body, now=now_utc(), **actor())
    session.commit()
    return jsonify(meeting_json(meeting)), 201


@bp.post("/api/office/decisions/<int:decision_id>/follow-up")
@roles_required(*OFFICE_ROLES)
def post_follow_up(decision_id: int) -> Any:
    from command.office.meetings import decision_json, follow_up

    session = get_session()
    body = json_body()
    done = body.get("done") in (True, "true", "on", "1", 1)
    dec = run(follow_up, session, decision_id, str(body.get("note") or ""), done,
              now=now_utc(), **actor())
    session.commit()
    return jsonify(decision_json(dec))


def unit_names() -> dict[str, str]:
    from flask_babel import get_locale

    zh = str(get_locale()) == "zh"
    return {u.key: (u.name_zh if zh else u.name_en)
            for u in get_session().scalars(select(MemberUnit))}


@bp.app_context_processor
def _office_nav() -> dict[str, Any]:
    def office_nav() -> list[tuple[str, str]]:
        from flask import current_app
        from flask_babel import gettext as _

        role = getattr(current_user, "role", None)
        office = role in ("commander", "admin")
        items = [("office.office_page", _("Liaisons and meetings"), office),
                 ("office.bulletins_page", _("Bulletins"), role is not None),
                 ("office.ground_page", _("Ground hail reports"), role is not None),
                 ("office.season_page", _("Season statistics"), role not in (None, "county_operator")),
                 ("office.joint_page", _("Joint defence"), role not in (None, "county_operator"))]
        return [(e, label) for e, label, ok in items if ok and e in current_app.view_functions]

    return {"office_nav": office_nav}
