"""The office's pages and JSON API (one blueprint).  Routes parse, call the office use
cases, serialise; the office is the commander (and admin)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, g, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select

from command.auth import login_required_any, roles_required
from command.errors import Forbidden, NotFound, Unprocessable
from command.extensions import get_session
from command.models import MeetingRecord, MemberUnit
from command.office import OFFICE_ROLES, OfficeError
from command.timefmt import BEIJING
from command.web.schemas import (
    BulletinDraftBody,
    BulletinEditBody,
    ContactBody,
    EmptyBody,
    FollowUpBody,
    GroundReportBody,
    LiaisonContactBody,
    MeetingBody,
    ReceivedHandoverBody,
    SendHandoverBody,
    known_neighbour,
    known_units,
    validated,
)

bp = Blueprint("office", __name__, template_folder="templates")


def now_utc() -> datetime:
    return datetime.now(UTC)


def body() -> dict[str, Any]:
    """The validated body (``command.web.schemas``) as plain JSON values, for the office's
    use cases (which read dicts, and check again what needs the database)."""
    return g.body.model_dump(mode="json", by_alias=True)  # type: ignore[no-any-return]


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
    return render_template(
        "office/office.html",
        units=units_with_liaisons(session),
        meetings=[meeting_json(m, today) for m in meetings],
        today=today,
    )


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
@validated(LiaisonContactBody)
def put_liaison(unit_key: str, role: str) -> Any:
    """Replace a member unit's liaison or deputy (role: liaison | deputy)."""
    from command.office.liaisons import _as_dict, update_liaison

    session = get_session()
    rec = run(update_liaison, session, unit_key, role, body(), now=now_utc(), **actor())
    session.commit()
    return jsonify(_as_dict(rec))


# --- meetings -------------------------------------------------------------------------------


@bp.get("/api/office/meetings")
@login_required_any
def list_meetings() -> Any:
    from command.office.meetings import meeting_json

    session = get_session()
    today = now_utc().astimezone(BEIJING).date()
    rows = session.scalars(
        select(MeetingRecord).order_by(MeetingRecord.held_on.desc()).limit(200)
    ).all()
    return jsonify({"meetings": [meeting_json(m, today) for m in rows]})


@bp.post("/api/office/meetings")
@roles_required(*OFFICE_ROLES)
@validated(MeetingBody, lookups=known_units)
def post_meeting() -> Any:
    """Record a meeting with attendance and decisions (audited)."""
    from command.office.meetings import meeting_json, record_meeting

    session = get_session()
    meeting = run(record_meeting, session, body(), now=now_utc(), **actor())
    session.commit()
    return jsonify(meeting_json(meeting)), 201


@bp.post("/api/office/decisions/<int:decision_id>/follow-up")
@roles_required(*OFFICE_ROLES)
@validated(FollowUpBody)
def post_follow_up(decision_id: int) -> Any:
    """Follow a decision up; ``done`` closes it."""
    from command.office.meetings import decision_json, follow_up

    session = get_session()
    form: FollowUpBody = g.body
    dec = run(follow_up, session, decision_id, form.note, form.done, now=now_utc(), **actor())
    session.commit()
    return jsonify(decision_json(dec))


def unit_names() -> dict[str, str]:
    from flask_babel import get_locale

    zh = str(get_locale()) == "zh"
    return {
        u.key: (u.name_zh if zh else u.name_en) for u in get_session().scalars(select(MemberUnit))
    }


@bp.app_context_processor
def _office_nav() -> dict[str, Any]:
    def office_nav() -> list[tuple[str, str]]:
        from flask import current_app
        from flask_babel import gettext as _

        role = getattr(current_user, "role", None)
        office = role in ("commander", "admin")
        items = [
            ("office.office_page", _("Liaisons and meetings"), office),
            ("office.bulletins_page", _("Bulletins"), role is not None),
            ("office.ground_page", _("Ground hail reports"), role is not None),
            ("office.season_page", _("Season statistics"), role not in (None, "county_operator")),
            ("office.joint_page", _("Joint defence"), role not in (None, "county_operator")),
        ]
        return [(e, label) for e, label, ok in items if ok and e in current_app.view_functions]

    def office_unread() -> int:
        """Bulletins delivered to the user's member units and not yet confirmed."""
        from sqlalchemy import func

        from command.models import DeliveryRecord

        if not getattr(current_user, "is_authenticated", False):
            return 0
        units = _my_units()
        if not units:
            return 0
        return int(
            get_session().scalar(
                select(func.count())
                .select_from(DeliveryRecord)
                .where(DeliveryRecord.unit_key.in_(units), DeliveryRecord.confirmed_at.is_(None))
            )
            or 0
        )

    return {"office_nav": office_nav, "office_unread": office_unread}


# --- ground hail reports --------------------------------------------------------------------


def _photos_dir() -> Any:
    from flask import current_app

    return current_app.config["HAILOPS"].instance_path / "office" / "photos"


@bp.post("/api/office/ground-reports")
@login_required_any
@validated(GroundReportBody, form_files={"photo": "JPEG, PNG or WebP; location data removed"})
def post_ground_report() -> Any:
    """Report hail seen on the ground (JSON, or a multipart form with a photo)."""
    from flask import current_app

    from command.office.ground import report_hail, report_json
    from command.web.scope import requested_drill, running_drill_now

    settings = current_app.config["HAILOPS"]
    upload = request.files.get("photo")
    photo = upload.read(settings.office_photo_max_bytes + 1) if upload and upload.filename else None
    session = get_session()
    report = body()
    drill = requested_drill(report)
    now = running_drill_now(drill) if drill is not None else now_utc()
    rec = run(
        report_hail,
        session,
        report,
        photo,
        user=current_user,
        now=now,
        photos_dir=_photos_dir(),
        max_bytes=settings.office_photo_max_bytes,
        max_pixels=settings.office_photo_max_pixels,
        drill_id=drill.id if drill is not None else None,
    )
    session.commit()
    return jsonify(report_json(rec)), 201


@bp.get("/api/office/ground-reports")
@login_required_any
def list_ground_reports() -> Any:
    from command.office.ground import report_json, reports_between
    from command.web.scope import requested_drill

    drill = requested_drill()
    since = request.args.get("since")
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise Unprocessable("bad since", {"since": "ISO 8601 time"}) from None
        if start.tzinfo is None:
            raise Unprocessable("bad since", {"since": "give an offset (Z or +08:00)"})
    county = (
        current_user.county
        if current_user.role == "county_operator"
        else request.args.get("county")
    )
    rows = reports_between(get_session(), start, None, drill.id if drill else None, county)
    return jsonify({"reports": [report_json(r) for r in rows[-500:]]})


@bp.get("/office/photos/<name>")
@login_required_any
def photo(name: str) -> Any:
    from flask import send_from_directory

    if "/" in name or "\\" in name or name.startswith("."):
        raise NotFound("no such photo")
    return send_from_directory(_photos_dir(), name, mimetype="image/jpeg", max_age=3600)


@bp.get("/office/ground")
@login_required_any
def ground_page() -> Any:
    from command.deployment import deployment
    from command.office.ground import REPORTER_ROLES, report_json, reports_between
    from dispatch.hailsize import SizeClass

    session = get_session()
    county = current_user.county if current_user.role == "county_operator" else None
    rows = reports_between(session, now_utc() - timedelta(days=30), None, None, county)
    dep = deployment()
    centre = (
        dep.core.county(county).geometry.representative_point()
        if county
        else dep.core.area.representative_point()
    )
    return render_template(
        "office/ground.html",
        reports=[report_json(r) for r in reversed(rows)],
        classes=list(SizeClass),
        can_report=current_user.role in (*REPORTER_ROLES, "admin"),
        centre=(round(centre.y, 4), round(centre.x, 4)),
        county_names={c.key: dep.county_name(c.key) for c in dep.counties},
        now_local=now_utc().astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M"),
    )


@bp.get("/api/office/verification")
@roles_required("commander", "forecaster", "member")
def verification() -> Any:
    """POD/FAR/CSI of warnings and operations against ground reports: one drill
    (``?drill=ID``) or one season (``?season=YYYY``, 1 June – 30 September Beijing time)."""
    from command.office.verify import verify_scope
    from command.web.scope import requested_drill

    drill = requested_drill()
    start = end = None
    if drill is None:
        start, end = season_bounds(request.args.get("season"))
    scores = verify_scope(get_session(), start, end, drill.id if drill else None)
    return jsonify(
        {
            "drill_id": drill.id if drill else None,
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
            **{k: v.as_dict() for k, v in scores.items()},
        }
    )


def season_bounds(value: str | None) -> tuple[datetime, datetime]:
    """The hail season of a year: 1 June 00:00 to 1 October 00:00, Beijing time."""
    try:
        year = int(value) if value else now_utc().astimezone(BEIJING).year
        if not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        raise Unprocessable("bad season", {"season": "a year such as 2026"}) from None
    return (
        datetime(year, 6, 1, tzinfo=BEIJING).astimezone(UTC),
        datetime(year, 10, 1, tzinfo=BEIJING).astimezone(UTC),
    )


@bp.app_template_filter("bjtiso")
def _bjt_iso(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO time string shown in Beijing time."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(BEIJING).strftime(fmt)


# --- joint defence --------------------------------------------------------------------------


@bp.get("/api/office/neighbours")
@login_required_any
def neighbours_geojson() -> Any:
    from shapely.geometry import mapping

    from command.models import NeighbourLiaison
    from command.office.config import office_config
    from command.office.handover import ensure_neighbour_liaisons

    session = get_session()
    ensure_neighbour_liaisons(session)
    session.commit()
    liaisons = {n.neighbour_key: n for n in session.scalars(select(NeighbourLiaison))}
    feats = []
    for n in office_config().neighbours:
        li = liaisons.get(n.key)
        feats.append(
            {
                "type": "Feature",
                "geometry": mapping(n.geometry.simplify(0.005)),
                "properties": {
                    "key": n.key,
                    "name_zh": n.name_zh,
                    "name_en": n.name_en,
                    "province_zh": n.province_zh,
                    "liaison": None
                    if li is None
                    else {
                        "name": li.name,
                        "phone": li.phone,
                        "email": li.email,
                        "sample": li.sample,
                    },
                },
            }
        )
    return jsonify({"type": "FeatureCollection", "features": feats})


@bp.put("/api/office/neighbours/<key>/liaison")
@roles_required(*OFFICE_ROLES)
@validated(ContactBody)
def put_neighbour_liaison(key: str) -> Any:
    """Set a neighbouring city's liaison (audited)."""
    from command import audit
    from command.models import NeighbourLiaison
    from command.office.config import office_config
    from command.office.handover import ensure_neighbour_liaisons

    if key not in {n.key for n in office_config().neighbours}:
        raise NotFound(f"no neighbour {key}")
    contact: ContactBody = g.body
    session = get_session()
    ensure_neighbour_liaisons(session)
    rec = session.get(NeighbourLiaison, key) or NeighbourLiaison(neighbour_key=key)
    before = (
        None if rec.name is None else {"name": rec.name, "phone": rec.phone, "email": rec.email}
    )
    rec.name, rec.phone = contact.name, contact.phone
    rec.email, rec.sample = contact.email, False
    rec.updated_at, rec.updated_by = now_utc(), current_user.username
    session.merge(rec)
    audit.append(
        session,
        actor=current_user.username,
        role=current_user.role,
        action="neighbour_liaison.update",
        object_type="neighbour",
        object_id=key,
        before=before,
        after={"name": rec.name, "phone": rec.phone, "email": rec.email},
    )
    session.commit()
    return jsonify({"neighbour": key, "name": rec.name, "phone": rec.phone, "email": rec.email})


def _handovers(
    direction: str | None, drill_id: str | None, limit: int = 200
) -> list[dict[str, Any]]:
    from command.models import HandoverRecord
    from command.office.handover import handover_json

    q = select(HandoverRecord).where(
        HandoverRecord.drill_id.is_(None)
        if drill_id is None
        else HandoverRecord.drill_id == drill_id
    )
    if direction:
        q = q.where(HandoverRecord.direction == direction)
    rows = get_session().scalars(q.order_by(HandoverRecord.created_at.desc()).limit(limit))
    return [handover_json(r) for r in rows]


@bp.get("/api/office/handovers")
@roles_required("forecaster", "commander", "member", "atc", "military")
def list_handovers() -> Any:
    from command.web.scope import requested_drill

    drill = requested_drill()
    direction = request.args.get("direction")
    if direction not in (None, "in", "out"):
        raise Unprocessable("bad direction", {"direction": "in or out"})
    return jsonify({"handovers": _handovers(direction, drill.id if drill else None)})


@bp.post("/api/office/handovers/<int:handover_id>/send")
@roles_required("forecaster", "commander")
@validated(SendHandoverBody)
def send_handover_route(handover_id: int) -> Any:
    """Send a drafted handover notice to the neighbour's liaison (outbox, audited)."""
    from command.office.handover import handover_json, send_handover

    session = get_session()
    rec = run(send_handover, session, handover_id, g.body.text, now=now_utc(), **actor())
    session.commit()
    return jsonify(handover_json(rec))


@bp.post("/api/office/handovers/received")
@roles_required("forecaster", "commander")
@validated(ReceivedHandoverBody, lookups=known_neighbour)
def post_received_handover() -> Any:
    """Record a handover notice received from a neighbouring city (shown on the map)."""
    from command.office.handover import handover_json, record_received

    session = get_session()
    rec = run(record_received, session, body(), now=now_utc(), **actor())
    session.commit()
    return jsonify(handover_json(rec)), 201


@bp.get("/office/joint")
@roles_required("forecaster", "commander", "member", "atc", "military")
def joint_page() -> Any:
    from command.models import NeighbourLiaison
    from command.office.config import office_config
    from command.office.handover import ensure_neighbour_liaisons

    session = get_session()
    ensure_neighbour_liaisons(session)
    session.commit()
    liaisons = {n.neighbour_key: n for n in session.scalars(select(NeighbourLiaison))}
    return render_template(
        "office/joint.html",
        neighbours=office_config().neighbours,
        liaisons=liaisons,
        outgoing=_handovers("out", None),
        received=_handovers("in", None),
        can_send=current_user.role in ("forecaster", "commander", "admin"),
        office=current_user.role in ("commander", "admin"),
        now_local=now_utc().astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M"),
    )


# --- bulletins ------------------------------------------------------------------------------


def _prefix() -> str:
    from command.office.config import bulletin_prefix

    return bulletin_prefix()


def _renderer() -> Any:
    from command.office.config import office_config
    from command.office.render import render_html, render_pdf

    name = office_config().office_name_zh

    def render(rec: Any) -> tuple[str, bytes]:
        html = render_html(rec, _prefix(), name)
        return html, render_pdf(html)

    return render


def _my_units() -> list[str]:
    from command.office.liaisons import units_of_user

    return units_of_user(get_session(), current_user.username)


def _bulletin_or_404(bulletin_id: int) -> Any:
    from command.models import BulletinRecord

    rec = get_session().get(BulletinRecord, bulletin_id)
    if rec is None or (rec.state == "draft" and current_user.role not in ("commander", "admin")):
        raise NotFound(f"no bulletin {bulletin_id}")
    return rec


@bp.get("/api/office/bulletins")
@login_required_any
def list_bulletins() -> Any:
    from command.models import BulletinRecord, DeliveryRecord
    from command.office.bulletins import bulletin_json

    session = get_session()
    q = select(BulletinRecord).order_by(BulletinRecord.created_at.desc()).limit(200)
    if current_user.role not in ("commander", "admin"):
        q = q.where(BulletinRecord.state == "issued")
    mine = _my_units()
    confirmed: dict[int, bool] = {}
    if mine:
        for d in session.scalars(select(DeliveryRecord).where(DeliveryRecord.unit_key.in_(mine))):
            confirmed[d.bulletin_id] = (
                confirmed.get(d.bulletin_id, True) and d.confirmed_at is not None
            )
    out = []
    for b in session.scalars(q):
        item = bulletin_json(b, _prefix())
        if mine:
            item["confirmed"] = confirmed.get(b.id)
        out.append(item)
    return jsonify({"bulletins": out, "my_units": mine})


@bp.post("/api/office/bulletins")
@roles_required(*OFFICE_ROLES)
@validated(BulletinDraftBody)
def post_bulletin() -> Any:
    """Draft a bulletin from a drill or a period, or an ad hoc notice."""
    from flask import current_app

    from command.models import DrillRecord
    from command.office.bulletins import bulletin_json, draft_bulletin, draft_notice

    session = get_session()
    form: BulletinDraftBody = g.body
    now = now_utc()
    if form.kind == "notice":
        rec = run(draft_notice, session, form.title, form.body, now=now, **actor())
    elif form.drill_id:
        drill = session.get(DrillRecord, form.drill_id)
        if drill is None:
            raise NotFound(f"no drill {form.drill_id}")
        rec = draft_bulletin(
            session,
            start=None,
            end=None,
            drill_id=drill.id,
            source=f"drill:{drill.id}",
            actor=current_user.username,
            now=now,
            restock_below=current_app.config["HAILOPS"].restock_below_rounds,
            actor_role=current_user.role,
        )
    else:
        start, end = form.start, form.end  # both given, in order (BulletinDraftBody.problems)
        assert start is not None and end is not None
        rec = draft_bulletin(
            session,
            start=start,
            end=end,
            drill_id=None,
            source=f"period:{start.isoformat()}/{end.isoformat()}",
            actor=current_user.username,
            now=now,
            restock_below=current_app.config["HAILOPS"].restock_below_rounds,
            actor_role=current_user.role,
        )
    session.commit()
    return jsonify(bulletin_json(rec, _prefix())), 201


@bp.get("/api/office/bulletins/<int:bulletin_id>")
@login_required_any
def get_bulletin(bulletin_id: int) -> Any:
    from command.office.bulletins import bulletin_json, deliveries_json

    rec = _bulletin_or_404(bulletin_id)
    return jsonify(
        {
            **bulletin_json(rec, _prefix()),
            "figures": rec.figures,
            "deliveries": deliveries_json(get_session(), rec.id),
        }
    )


@bp.put("/api/office/bulletins/<int:bulletin_id>")
@roles_required(*OFFICE_ROLES)
@validated(BulletinEditBody)
def put_bulletin(bulletin_id: int) -> Any:
    """Edit a draft's title or text."""
    from command.office.bulletins import bulletin_json, edit_bulletin

    session = get_session()
    edit: BulletinEditBody = g.body
    rec = run(edit_bulletin, session, bulletin_id, edit.title, edit.body, now=now_utc(), **actor())
    session.commit()
    return jsonify(bulletin_json(rec, _prefix()))


@bp.post("/api/office/bulletins/<int:bulletin_id>/issue")
@roles_required(*OFFICE_ROLES)
@validated(EmptyBody)
def issue_bulletin_route(bulletin_id: int) -> Any:
    """Issue a draft: running number, HTML and PDF stored, delivered to every member unit."""
    from command.office.bulletins import bulletin_json, deliveries_json, issue_bulletin

    session = get_session()
    rec = run(
        issue_bulletin,
        session,
        bulletin_id,
        now=now_utc(),
        prefix=_prefix(),
        render=_renderer(),
        **actor(),
    )
    session.commit()
    return jsonify(
        {**bulletin_json(rec, _prefix()), "deliveries": deliveries_json(session, rec.id)}
    )


@bp.post("/api/office/bulletins/<int:bulletin_id>/confirm")
@login_required_any
@validated(EmptyBody)
def confirm_bulletin(bulletin_id: int) -> Any:
    """The user's member units confirm receipt of a bulletin."""
    from command.office.bulletins import confirm_receipt, deliveries_json

    session = get_session()
    run(confirm_receipt, session, bulletin_id, _my_units(), now=now_utc(), **actor())
    session.commit()
    return jsonify({"deliveries": deliveries_json(session, bulletin_id)})


@bp.get("/office/bulletins/<int:bulletin_id>.<fmt>")
@login_required_any
def bulletin_file(bulletin_id: int, fmt: str) -> Any:
    from flask import Response

    from command.office.bulletins import number_text
    from command.office.config import office_config
    from command.office.render import render_html, render_pdf

    rec = _bulletin_or_404(bulletin_id)
    html = rec.html or render_html(rec, _prefix(), office_config().office_name_zh)
    name = number_text(_prefix(), rec.year, rec.number)
    if fmt == "html":
        from command.security import document_policy

        # As issued and stored: its own styles allowed by their hashes (no nonce to carry).
        return Response(
            html, mimetype="text/html", headers={"Content-Security-Policy": document_policy(html)}
        )
    if fmt == "pdf":
        data = rec.pdf if rec.pdf is not None else render_pdf(html)
        from urllib.parse import quote

        return Response(
            data,
            mimetype="application/pdf",
            headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}.pdf"},
        )
    raise NotFound("html or pdf")


@bp.get("/office/bulletins")
@login_required_any
def bulletins_page() -> Any:
    from command.models import DrillRecord

    session = get_session()
    drills = session.scalars(
        select(DrillRecord)
        .where(DrillRecord.state.in_(("completed", "stopped")))
        .order_by(DrillRecord.started_at.desc())
        .limit(20)
    ).all()
    data = list_bulletins().get_json()
    return render_template(
        "office/bulletins.html",
        bulletins=data["bulletins"],
        my_units=data["my_units"],
        drills=drills,
        office=current_user.role in ("commander", "admin"),
    )


@bp.get("/office/bulletins/<int:bulletin_id>")
@login_required_any
def bulletin_page(bulletin_id: int) -> Any:
    from command.office.bulletins import deliveries_json
    from command.office.config import office_config
    from command.office.render import notice_context

    rec = _bulletin_or_404(bulletin_id)
    session = get_session()
    mine = _my_units()
    deliveries = deliveries_json(session, rec.id)
    return render_template(
        "office/bulletin.html",
        office=current_user.role in ("commander", "admin"),
        deliveries=deliveries,
        my_units=mine,
        names=unit_names(),
        needs_confirm=[d for d in deliveries if d["unit"] in mine and not d["confirmed_at"]],
        **notice_context(rec, _prefix(), office_config().office_name_zh),
    )


@bp.get("/api/office/outbox")
@roles_required(*OFFICE_ROLES)
def list_outbox() -> Any:
    from command.models import OutboxMessage

    rows = get_session().scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200))
    return jsonify(
        {
            "messages": [
                {
                    "id": m.id,
                    "to": m.to_addr,
                    "subject": m.subject,
                    "ref": m.ref,
                    "state": m.state,
                    "attempts": m.attempts,
                    "error": m.last_error,
                    "attachment": m.attachment_name,
                    "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                }
                for m in rows
            ]
        }
    )


@bp.post("/api/office/outbox/send")
@roles_required(*OFFICE_ROLES)
@validated(EmptyBody)
def send_outbox_now() -> Any:
    """Send the pending office e-mail now."""
    from flask import current_app

    from command.office.outbox import send_pending

    return jsonify(send_pending(get_session(), current_app.config["HAILOPS"]))


# --- season statistics ----------------------------------------------------------------------


def _season_scope() -> tuple[int | None, Any]:
    from command.web.scope import requested_drill

    drill = requested_drill()
    if drill is not None:
        return None, drill
    start, _ = season_bounds(request.args.get("season"))
    return start.astimezone(BEIJING).year, None


def _season_data() -> tuple[
    dict[str, Any], dict[str, Any] | None, tuple[str, str], int | None, Any
]:
    from command.office.season import figures

    year, drill = _season_scope()
    session = get_session()
    if drill is not None:
        return figures(session, drill_id=drill.id), None, (f"drill {drill.id}", ""), None, drill
    assert year is not None
    return (
        figures(session, year=year),
        figures(session, year=year - 1),
        (str(year), str(year - 1)),
        year,
        None,
    )


@bp.get("/api/office/season")
@roles_required("commander", "forecaster", "member", "atc", "military")
def season_json() -> Any:
    this, last, labels, year, drill = _season_data()
    return jsonify({"this": this, "last": last, "labels": list(labels)})


@bp.get("/api/office/season.<fmt>")
@roles_required("commander", "forecaster", "member", "atc", "military")
def season_export(fmt: str) -> Any:
    from flask import Response

    from command.office.season import table_rows, to_csv, to_xlsx

    this, last, labels, year, drill = _season_data()
    rows = table_rows(this, last)
    name = f"hailops-season-{year or drill.id}"
    if fmt == "csv":
        return Response(
            to_csv(rows, labels),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename={name}.csv"},
        )
    if fmt == "xlsx":
        return Response(
            to_xlsx(rows, labels),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f"attachment; filename={name}.xlsx"},
        )
    raise NotFound("csv or xlsx")


@bp.get("/office/season")
@roles_required("commander", "forecaster", "member", "atc", "military")
def season_page() -> Any:
    from flask_babel import gettext as _

    from command.models import DrillRecord
    from command.office.charts import bar_chart

    this, last, labels, year, drill = _season_data()
    zh_auth = {"atc": _("airport ATC"), "military": _("military control")}

    def series(getter: Any, cats: list[str]) -> dict[str, list[float | None]]:
        out = {labels[0]: [getter(this, c) for c in cats]}
        if last is not None:
            out[labels[1]] = [getter(last, c) for c in cats]
        return out

    def minutes(v: float | None) -> float | None:
        return None if v is None else round(v / 60, 1)

    auths = [a["authority"] for a in this["approvals"]]

    def app_of(f: dict[str, Any], a: str) -> dict[str, Any]:
        return next((x for x in f["approvals"] if x["authority"] == a), {})

    charts = {
        "approval": bar_chart(
            _("Approval delay per authority: median and 90th percentile (min)"),
            [f"{zh_auth.get(a, a)} P50" for a in auths]
            + [f"{zh_auth.get(a, a)} P90" for a in auths],
            {
                lab: [minutes(app_of(f, a).get("median_s")) for a in auths]
                + [minutes(app_of(f, a).get("p90_s")) for a in auths]
                for lab, f in ((labels[0], this), (labels[1], last))
                if f is not None
            },
            unit=" min",
        ),
    }
    counties = sorted(
        set(this["operations"]["by_county"]) | set((last or this)["operations"]["by_county"])
    )
    from command.office.bulletins import county_name

    charts["county"] = bar_chart(
        _("Operations per county"),
        [county_name(c) for c in counties],
        series(lambda f, c: f["operations"]["by_county"].get(c, 0), counties),
    )
    months = ["06", "07", "08", "09"]
    if drill is None:
        charts["month"] = bar_chart(
            _("Operations per month"),
            [f"{int(m)}月" for m in months],
            series(
                lambda f, m: sum(
                    v for k, v in f["operations"]["by_month"].items() if k.endswith("-" + m)
                ),
                months,
            ),
        )
    types = sorted(set(this["rounds"]["used"]) | set(this["rounds"]["stock"]))
    charts["rounds"] = bar_chart(
        _("Rounds used, restocked and in stock"),
        types,
        {
            _("used"): [this["rounds"]["used"].get(t, 0) for t in types],
            _("restocked"): [this["rounds"]["restocked"].get(t, 0) for t in types],
            _("in stock"): [this["rounds"]["stock"].get(t, 0) for t in types],
        },
    )
    drills = (
        get_session()
        .scalars(select(DrillRecord).order_by(DrillRecord.started_at.desc()).limit(20))
        .all()
    )
    step_labels = {
        "proposal_to_authorization_s": _("proposal to authorization"),
        "authorization_to_request_s": _("authorization to airspace request"),
        "clearance_atc_s": _("airspace approval by airport ATC"),
        "clearance_military_s": _("airspace approval by military control"),
        "cleared_to_order_s": _("cleared to order"),
        "order_to_acknowledgement_s": _("order to acknowledgement"),
        "acknowledgement_to_firing_s": _("acknowledgement to firing"),
    }
    return render_template(
        "office/season.html",
        this=this,
        last=last,
        labels=labels,
        year=year,
        drill=drill,
        charts=charts,
        auth_names=zh_auth,
        drills=drills,
        cname=county_name,
        step_labels=step_labels,
    )
