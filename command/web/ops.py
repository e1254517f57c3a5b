"""Operations API: recommendations, proposals, the lifecycle transitions, clearance exports,
standing agreements and ammunition restocks.  Core errors map to 403/409/422."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from flask_login import current_user
from sqlalchemy import and_, or_, select, true

from command import audit, operations
from command.auth import login_required_any, roles_required
from command.codec import decode, encode
from command.drill import drill_now
from command.errors import NotFound, Unprocessable
from command.extensions import get_session
from command.models import OperationRecord, RadarVolume, SiteRecord, StandingAgreementRecord
from command.push import ROOM_ALL, announce, scoped
from command.sitestore import change_readiness, to_site
from command.web.paging import (
    cursor_arg,
    documented_query,
    limit_arg,
    openapi_params,
    page,
    time_arg,
)
from command.web.schemas import (
    EmptyBody,
    OperationProposal,
    RestockBody,
    StandingAgreementBody,
    action_body,
    known_site,
    validated,
)
from command.web.scope import drill_id_filter, requested_drill, running_drill_now, world_now
from dispatch import lifecycle as lc
from dispatch.clearance import Authority, StandingAgreement
from dispatch.errors import ValidationFailed
from sites.model import Contact, Sector

bp = Blueprint("ops", __name__, url_prefix="/api")


def _now() -> datetime:
    return datetime.now(UTC)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise Unprocessable("JSON object expected", {"body": "JSON object expected"})
    return body


def _visible(rec: OperationRecord) -> bool:
    if current_user.role == "county_operator":
        return rec.county == current_user.county and rec.state in {
            s.value for s in operations.COUNTY_VISIBLE
        }
    if current_user.role in ("atc", "military"):
        return rec.state in {s.value for s in operations.AIRSPACE_VISIBLE}
    return True


OPERATIONS_LIMIT, OPERATIONS_LIMIT_MAX = 100, 500
OPERATIONS_RECENT = timedelta(days=7)


def _visibility_filter() -> Any:
    """The user's visibility as SQL (so a page holds only what the user may see)."""
    if current_user.role == "county_operator":
        return and_(
            OperationRecord.county == current_user.county,
            OperationRecord.state.in_([s.value for s in operations.COUNTY_VISIBLE]),
        )
    if current_user.role in ("atc", "military"):
        return OperationRecord.state.in_([s.value for s in operations.AIRSPACE_VISIBLE])
    return true()


def _command_phone() -> str:
    """The phone an authority calls back on: the command center office's liaison (the office
    sits in the meteorological bureau), or "" when none is registered."""
    from command.watch import _liaison

    found = _liaison(get_session(), "meteorology")
    return found["phone"] if found else ""


@bp.get("/operations")
@login_required_any
@documented_query(
    openapi_params(
        limit_default=OPERATIONS_LIMIT,
        limit_max=OPERATIONS_LIMIT_MAX,
        times={"since": "created from (replaces the default range)", "until": "created up to"},
        extra=[
            {
                "name": "state",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "states, comma-separated",
            },
            {
                "name": "open",
                "in": "query",
                "required": False,
                "schema": {"type": "boolean"},
                "description": "only open operations",
            },
        ],
    )
)
def list_operations() -> Any:
    """Operations the user may see, newest first, in pages.  Default range: every open
    operation and those created in the last 7 days (the drill clock with ``?drill=ID``);
    ``?since=``/``?until=`` (ISO, on creation time) replace it.  ``?state=a,b`` and
    ``?open=1`` filter; ``?limit=`` (default 100, at most 500) and ``?cursor=`` page."""
    session = get_session()
    drill = requested_drill()
    limit = limit_arg(OPERATIONS_LIMIT, OPERATIONS_LIMIT_MAX)
    since, until = time_arg("since"), time_arg("until")
    after = cursor_arg((datetime, str))
    open_states = [s.value for s in lc.OperationState if s not in lc.TERMINAL_STATES]
    q = select(OperationRecord).where(
        drill_id_filter(OperationRecord.drill_id, drill), _visibility_filter()
    )
    if request.args.get("state"):
        q = q.where(OperationRecord.state.in_(request.args["state"].split(",")))
    if request.args.get("open") in ("1", "true"):
        q = q.where(OperationRecord.state.in_(open_states))
    if since is None and until is None:
        now = _now() if drill is None else drill_now(drill)
        q = q.where(
            or_(
                OperationRecord.created_at >= now - OPERATIONS_RECENT,
                OperationRecord.state.in_(open_states),
            )
        )
    if since is not None:
        q = q.where(OperationRecord.created_at >= since)
    if until is not None:
        q = q.where(OperationRecord.created_at <= until)
    if after is not None:
        q = q.where(
            or_(
                OperationRecord.created_at < after[0],
                and_(OperationRecord.created_at == after[0], OperationRecord.id < after[1]),
            )
        )
    q = q.order_by(OperationRecord.created_at.desc(), OperationRecord.id.desc()).limit(limit + 1)
    rows, next_cursor = page(list(session.scalars(q)), limit, lambda r: (r.created_at, r.id))
    now = world_now(drill)
    codes = {r.site_code for r in rows}
    sites = (
        {
            rec.code: to_site(rec)
            for rec in session.scalars(select(SiteRecord).where(SiteRecord.code.in_(codes)))
        }
        if codes
        else {}
    )
    from command.storms import storm_json_of_cell, storms_of_cells

    storms = storms_of_cells(
        session, [r.cell_id for r in rows], None if drill is None else drill.id
    )
    return jsonify(
        {
            "operations": [
                operations.to_json(
                    decode(lc.Operation, r.data),
                    now,
                    sites.get(r.site_code),
                    storm=storm_json_of_cell(storms, r.cell_id),
                )
                for r in rows
            ],
            "next_cursor": next_cursor,
        }
    )


@bp.get("/operations/<op_id>")
@login_required_any
def get_operation(op_id: str) -> Any:
    session = get_session()
    try:
        rec, op = operations.load(session, op_id)
    except operations.NotFoundError:
        raise NotFound(f"no operation {op_id}") from None
    if not _visible(rec):
        raise NotFound(f"no operation {op_id}")
    return jsonify(
        operations.to_json(op, site=operations.site_of(session, op.site_code), session=session)
    )


@bp.post("/operations")
@roles_required("commander", "forecaster")
@validated(OperationProposal, replayable=lambda: "propose", lookups=known_site)
def create_operation() -> Any:
    session = get_session()
    body = _body()
    drill = requested_drill(body)
    now = _now() if drill is None else running_drill_now(drill)
    op = operations.propose(
        session,
        operations.actor_of(current_user),
        body,
        now,
        idempotency_key=request.headers.get("Idempotency-Key"),
        drill_id=None if drill is None else drill.id,
    )
    session.commit()
    return jsonify(operations.to_json(op, session=session)), 201


@bp.post("/operations/<op_id>/<action>")
@login_required_any
@validated(lambda op_id, action: action_body(action), replayable=lambda op_id, action: action)
def operation_action(op_id: str, action: str) -> Any:
    if action not in operations.ACTIONS:
        raise NotFound(f"no action {action}")
    session = get_session()
    contact = Contact(
        current_user.display_name or current_user.username, _command_phone(), current_user.role
    )
    rec = session.get(OperationRecord, op_id)
    if rec is None:
        raise NotFound(f"no operation {op_id}")
    now = _now()
    if rec.drill_id is not None:
        # Drill operations run on the drill clock (the event's own time).
        from command.models import DrillRecord

        drill = session.get(DrillRecord, rec.drill_id)
        if drill is None:
            raise NotFound(f"no drill {rec.drill_id}")
        now = running_drill_now(drill)
    try:
        op = operations.transition(
            session,
            op_id,
            action,
            operations.actor_of(current_user),
            _body(),
            now,
            idempotency_key=request.headers.get("Idempotency-Key"),
            contact=contact,
        )
    except operations.NotFoundError as exc:
        raise NotFound(str(exc)) from None
    session.commit()
    return jsonify(
        operations.to_json(op, now, operations.site_of(session, op.site_code), session=session)
    )


@bp.get("/operations/<op_id>/clearance-request")
@roles_required("commander", "atc", "military")
def export_clearance(op_id: str) -> Any:
    """The airspace application as structured QX/T 422-2018 items (or ?format=text)."""
    session = get_session()
    try:
        _rec, op = operations.load(session, op_id)
    except operations.NotFoundError:
        raise NotFound(f"no operation {op_id}") from None
    if op.clearance_request is None:
        raise NotFound("no clearance request yet")
    if request.args.get("format") == "text":
        return Response(op.clearance_request.to_text(), mimetype="text/plain; charset=utf-8")
    return jsonify(op.clearance_request.to_qxt422())


@bp.get("/recommendations")
@roles_required("commander", "forecaster")
def recommendations() -> Any:
    """Which sites should engage which cells of the latest live volume."""
    from command.dispatching import recommend_for_volume
    from dispatch.recommend import recommendations_to_json

    session = get_session()
    drill = requested_drill()
    vol = session.scalar(
        select(RadarVolume)
        .where(RadarVolume.status == "processed", drill_id_filter(RadarVolume.drill_id, drill))
        .order_by(RadarVolume.id.desc())
        .limit(1)
    )
    if vol is None:
        return jsonify({"volume_id": None, "recommendations": [], "cells": []})
    from flask import current_app

    from command.dispatching import recommend_config

    out = recommendations_to_json(
        recommend_for_volume(
            session,
            vol,
            None if drill is None else drill.overrides,
            recommend_config(current_app.config["HAILOPS"]),
        )
    )
    out["volume_id"] = vol.id
    from command.reasons import localize_recommendations
    from command.storms import storm_json_of_cell, storms_of_cells

    # Each recommendation and cell names its storm (issue 11) with its review: ``confirmed``
    # is the forecaster's confirmation of that storm.
    storms = storms_of_cells(
        session,
        [c["cell_id"] for c in out["cells"]]
        + [r["cell_id"] for r in out.get("to_review", [])]
        + list(out.get("dismissed", [])),
        vol.drill_id,
    )
    for item in out["recommendations"] + out["cells"] + out.get("to_review", []):
        item.update(storm_json_of_cell(storms, item["cell_id"]))
    out["dismissed_storms"] = [
        storm_json_of_cell(storms, c)["storm_name"] or c for c in out.get("dismissed", [])
    ]
    return jsonify(localize_recommendations(out))


@bp.get("/standing-agreements")
@roles_required("commander", "atc", "military")
def list_agreements() -> Any:
    """Active agreements of the world asked for: live ones, and inside a drill
    (``?drill=ID``) the live ones plus those made in that drill (``drill_id`` set)."""
    from sqlalchemy import or_

    drill = requested_drill()
    q = select(StandingAgreementRecord).where(StandingAgreementRecord.active.is_(True))
    q = q.where(
        StandingAgreementRecord.drill_id.is_(None)
        if drill is None
        else or_(
            StandingAgreementRecord.drill_id.is_(None), StandingAgreementRecord.drill_id == drill.id
        )
    )
    rows = get_session().scalars(q).all()
    return jsonify({"agreements": [r.data | {"id": r.id, "drill_id": r.drill_id} for r in rows]})


@bp.post("/standing-agreements")
@roles_required("atc", "military")
@validated(StandingAgreementBody, lookups=known_site)
def add_agreement() -> Any:
    """An authority pre-agrees sectors, a ceiling and daily hours for one site."""
    body: StandingAgreementBody = g.body
    session = get_session()
    drill = requested_drill({"drill_id": body.drill_id})
    if drill is not None:
        running_drill_now(drill)  # only while the drill runs
    site = session.get(SiteRecord, body.site_code)
    if site is None:
        raise ValidationFailed({"site_code": "unknown site"})
    if current_user.role == "admin":
        if body.authority is None:
            raise ValidationFailed({"authority": "an admin names the authority: atc or military"})
        authority = Authority(body.authority)
    else:
        authority = Authority(current_user.role)
    try:
        sectors = tuple(Sector(a, b) for a, b in body.sectors)
        # A random suffix: two agreements in the same second are two agreements.
        agreement = StandingAgreement(
            id=f"SA-{site.code}-{authority.value}-{int(_now().timestamp())}-"
            f"{secrets.token_hex(3)}" + ("" if drill is None else f"-{drill.id[-6:]}"),
            site_code=site.code,
            authority=authority,
            sectors=sectors,
            ceiling_m=body.ceiling_m,
            daily_start=time.fromisoformat(body.daily_start),
            daily_end=time.fromisoformat(body.daily_end),
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ValidationFailed):
            raise
        raise ValidationFailed({"agreement": f"malformed: {exc}"}) from None
    data = encode(agreement)
    session.add(
        StandingAgreementRecord(
            id=agreement.id,
            site_code=site.code,
            authority=authority.value,
            data=data,
            created_by=current_user.username,
            drill_id=None if drill is None else drill.id,
        )
    )
    drill_id = None if drill is None else drill.id
    audit.append(
        session,
        actor=current_user.username,
        role=current_user.role,
        action="agreement.create",
        object_type="standing_agreement",
        object_id=agreement.id,
        after=data,
        drill_id=drill_id,
    )
    announce(
        session,
        "agreement.update",
        {"agreement": data, "drill_id": drill_id},
        scoped([ROOM_ALL], drill_id),
    )
    session.commit()
    return jsonify(data | {"id": agreement.id, "drill_id": drill_id}), 201


@bp.delete("/standing-agreements/<agreement_id>")
@roles_required("atc", "military")
@validated(EmptyBody)
def revoke_agreement(agreement_id: str) -> Any:
    session = get_session()
    row = session.get(StandingAgreementRecord, agreement_id)
    drill = requested_drill()
    # An agreement is revoked from its own world: a drill cannot touch a live agreement.
    if (
        row is None
        or (current_user.role != "admin" and row.authority != current_user.role)
        or row.drill_id != (None if drill is None else drill.id)
    ):
        raise NotFound(f"no agreement {agreement_id} of yours")
    row.active = False
    audit.append(
        session,
        actor=current_user.username,
        role=current_user.role,
        action="agreement.revoke",
        object_type="standing_agreement",
        object_id=agreement_id,
        before={"active": True},
        after={"active": False},
        drill_id=row.drill_id,
    )
    session.commit()
    return jsonify({"id": agreement_id, "active": False})


@bp.post("/sites/<code>/restock")
@roles_required("commander")
@validated(RestockBody)
def restock(code: str) -> Any:
    from command.idempotency import scoped_key
    from command.operations import _save_ledger, ledger_for

    session = get_session()
    if session.get(SiteRecord, code) is None:
        raise NotFound(f"no site {code}")
    body: RestockBody = g.body
    ammo_type, count = body.ammo_type, body.count
    ledger = ledger_for(session, code, None, lock=True)
    key = scoped_key(
        current_user.username, f"restock:{code}", request.headers.get("Idempotency-Key")
    )
    now = _now()
    after = ledger.restock(ammo_type, count, now, current_user.username, reference=key)
    if len(after.entries) > len(ledger.entries):  # a replayed key adds nothing: no new record
        _save_ledger(session, ledger, after, None)
        audit.append(
            session,
            actor=current_user.username,
            role=current_user.role,
            action="ammunition.restock",
            object_type="site",
            object_id=code,
            before=ledger.balances(),
            after=after.balances(),
        )
        _after_restock(session, code, after.balances(), now)
    session.commit()
    return jsonify({"site_code": code, "stock": after.balances()})


def _after_restock(session: Any, code: str, balances: dict[str, int], now: datetime) -> None:
    """A restock is announced with the new stock (the boards update), and a site that was
    out of ammunition is ready again (persisted and audited before it is announced)."""
    from command.push import room_county

    site = session.get(SiteRecord, code)
    rooms = [ROOM_ALL, room_county(site.county)]
    target = lc.readiness_after_restock(site.readiness, sum(max(n, 0) for n in balances.values()))
    if target is not None:
        change_readiness(
            session,
            site,
            target,
            actor=current_user.username,
            role=current_user.role,
            at=now,
            why={"restock": True},
        )
    announce(
        session,
        "site.stock",
        {"code": code, "county": site.county, "stock": dict(balances), "readiness": site.readiness},
        rooms,
    )


# --- escalation ladder (issue 11) -----------------------------------------------------------
def _may_see_escalation(rec: Any) -> bool:
    role = current_user.role
    if role in ("commander", "admin"):
        return True
    if rec.step == "commander_alarm":
        return False
    if rec.kind == "order_unacknowledged":
        return bool(role == "county_operator" and current_user.county == rec.info.get("county"))
    return bool(role in rec.info.get("waiting_for", []))


@bp.get("/escalations")
@login_required_any
def list_escalations() -> Any:
    """Raised ladder steps not yet acknowledged that this user must see (newest first)."""
    from command.models import EscalationRecord
    from command.watch import escalation_json

    drill = requested_drill()
    rows = get_session().scalars(
        select(EscalationRecord)
        .where(
            EscalationRecord.acked_at.is_(None), drill_id_filter(EscalationRecord.drill_id, drill)
        )
        .order_by(EscalationRecord.id.desc())
        .limit(200)
    )
    return jsonify({"escalations": [escalation_json(r) for r in rows if _may_see_escalation(r)]})


@bp.post("/escalations/<int:esc_id>/ack")
@login_required_any
@validated(EmptyBody)
def ack_escalation(esc_id: int) -> Any:
    """A person acknowledges a raised step: persisted, audited, then announced."""
    from command.models import EscalationRecord
    from command.watch import escalation_json, escalation_rooms

    session = get_session()
    rec = session.get(EscalationRecord, esc_id)
    if rec is None or not _may_see_escalation(rec):
        raise NotFound(f"no escalation {esc_id}")
    if rec.acked_at is None:
        rec.acked_by = current_user.username
        rec.acked_at = _now()
        session.flush()
        audit.append(
            session,
            actor=current_user.username,
            role=current_user.role,
            action="escalation.ack",
            object_type="operation",
            object_id=rec.operation_id,
            drill_id=rec.drill_id,
            before={"acked": False},
            after={"acked": True, "escalation_id": rec.id, "step": rec.step, "kind": rec.kind},
        )
        announce(session, "escalation.ack", escalation_json(rec), escalation_rooms(rec))
        session.commit()
    return jsonify(escalation_json(rec))
