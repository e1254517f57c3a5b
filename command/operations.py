"""Operation use cases for the shell: load an operation, apply one pure core transition,
persist it (optimistic locking), audit it and announce it — in that order, one transaction.

The core (``dispatch.lifecycle``) decides; this module only loads, saves and tells.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from command import audit
from command.codec import decode, encode
from command.idempotency import claim, scoped_key
from command.models import (
    AmmunitionEntry,
    IdempotencyKey,
    OperationRecord,
    SiteRecord,
    StandingAgreementRecord,
)
from command.push import ROOM_ALL, announce, room_county, room_role, scoped
from command.sitestore import change_readiness, to_site
from dispatch import lifecycle as lc
from dispatch.ammunition import AmmunitionLedger, EntryKind, LedgerEntry
from dispatch.clearance import (
    AltitudeBand,
    ClearanceRequest,
    Envelope,
    StandingAgreement,
    TimeWindow,
    current_envelope,
    decision_delays,
)
from dispatch.conflicts import amend_within, plan_conflicts
from dispatch.errors import ValidationFailed
from dispatch.firing import Burst, FiringReport, Observation
from sites.model import Contact, Sector

#: States in which the site's county hears about the operation (an order exists or did).
COUNTY_VISIBLE = {lc.S.ORDERED, lc.S.ACKNOWLEDGED, lc.S.FIRING, lc.S.COMPLETED, lc.S.RECALLED}
#: States in which the airspace controllers are involved.
AIRSPACE_VISIBLE = {
    lc.S.CLEARANCE_REQUESTED,
    lc.S.CLEARED,
    lc.S.ORDERED,
    lc.S.ACKNOWLEDGED,
    lc.S.FIRING,
    lc.S.COMPLETED,
    lc.S.DENIED,
    lc.S.RECALLED,
    lc.S.EXPIRED,
}


class NotFoundError(LookupError):
    pass


def actor_of(user: Any) -> lc.Actor:
    return lc.Actor(
        user.username, user.role, user.county if user.role == "county_operator" else None
    )


def envelope_json(env: Envelope) -> dict[str, Any]:
    return {
        "window": None
        if env.window is None
        else [env.window.start.isoformat(), env.window.end.isoformat()],
        "sectors": [[s.start_deg, s.end_deg] for s in env.sectors],
        "floor_m": env.floor_m,
        "ceiling_m": env.ceiling_m,
        "granted_by": [a.value for a in env.granted_by],
        "pending": [a.value for a in env.pending],
        "refused_by": [a.value for a in env.refused_by],
        "narrowed_by": {k: [a.value for a in v] for k, v in env.narrowed_by.items()},
    }


def _plan_check(op: lc.Operation, now: datetime, site: Any | None) -> dict[str, Any]:
    """The live envelope, the plan's conflicts with it and the one-step amendment (issue 11)."""
    if op.clearance_request is None or op.state in lc.TERMINAL_STATES:
        return {}
    env = current_envelope(op.clearance_request, op.decisions, now)
    fix = None
    if site is not None and op.state not in lc.ORDER_STATES:
        fix = amend_within(
            env,
            site,
            op.quantity,
            azimuth_deg=op.azimuth_deg,
            elevation_deg=op.elevation_deg,
            max_altitude_m=op.max_altitude_m,
        )
    conflicts = plan_conflicts(
        env,
        azimuth_deg=op.azimuth_deg,
        max_altitude_m=op.max_altitude_m,
        now=now,
        amendable=fix is not None,
    )
    return {
        "envelope": envelope_json(env),
        "conflicts": [
            {
                "kind": c.kind.value,
                "planned": c.planned,
                "allowed": c.allowed,
                "authorities": [a.value for a in c.authorities],
                "amendable": c.amendable,
            }
            for c in conflicts
        ],
        "amendment": None
        if fix is None or not conflicts
        else {
            "azimuth_deg": fix.azimuth_deg,
            "elevation_deg": fix.elevation_deg,
            "max_altitude_m": fix.max_altitude_m,
        },
    }


def site_of(session: Session, code: str) -> Any | None:
    rec = session.get(SiteRecord, code)
    return None if rec is None else to_site(rec)


def storm_of(session: Session, op: lc.Operation) -> dict[str, Any]:
    """``{"storm_name", "storm"}`` of the operation's cell: the one name of its storm."""
    from command.storms import storm_json_of_cell, storms_of_cells

    return storm_json_of_cell(storms_of_cells(session, [op.cell_id], op.drill_id), op.cell_id)


def to_json(
    op: lc.Operation,
    now: datetime | None = None,
    site: Any | None = None,
    *,
    session: Session | None = None,
    storm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The operation for the API and the map, with the running clocks.  With the ``site``
    (its equipment) a plan in conflict with the live envelope carries its amendment.  With
    the ``session`` (or the ``storm`` looked up already) it carries its storm's one name
    (``storm_name``, ``storm``: issue 11)."""
    now = now or datetime.now(UTC)
    data: dict[str, Any] = encode(op)
    data.pop("__type__", None)
    if storm is None and session is not None:
        storm = storm_of(session, op)
    if storm is not None:
        data.update(storm)
    clearance = op.clearance(now)
    data["cleared"] = (
        None
        if clearance is None
        else {
            "window": [clearance.window.start.isoformat(), clearance.window.end.isoformat()],
            "sectors": [[s.start_deg, s.end_deg] for s in clearance.sectors],
            "ceiling_m": clearance.ceiling_m,
            "standing": clearance.standing,
        }
    )
    if op.clearance_request is not None:
        statuses = decision_delays(op.clearance_request, op.decisions, now)
        data["approval_clock"] = {
            a.value: {
                "state": st.state,
                "seconds": st.delay.total_seconds(),
                "decided_at": st.decided_at.isoformat() if st.decided_at else None,
                "standing": st.standing,
            }
            for a, st in statuses.items()
        }
        data["clearance_polygon"] = op.clearance_request.firing_sector_polygon()
    data["cease_fire"] = op.cease_fire
    data["deadline"] = op.deadline(now).isoformat()
    data.update(_plan_check(op, now, site))
    return data


def _rooms(op: lc.Operation) -> list[str]:
    rooms = [ROOM_ALL]
    if op.state in AIRSPACE_VISIBLE:
        rooms += [room_role("atc"), room_role("military")]
    if op.state in COUNTY_VISIBLE:
        rooms.append(room_county(op.county))
    return scoped(rooms, op.drill_id)


def lock_site_stock(session: Session, site_code: str) -> None:
    """Serialise stock movements of one site: a row lock on the site (PostgreSQL ``FOR UPDATE``;
    SQLite transactions are already single-writer) taken before the ledger is read, so two
    concurrent movements can never both pass the never-negative check on the same balance."""
    session.execute(select(SiteRecord.code).where(SiteRecord.code == site_code).with_for_update())


def ledger_for(
    session: Session, site_code: str, drill_id: str | None, lock: bool = False
) -> AmmunitionLedger:
    if lock:
        lock_site_stock(session, site_code)
    q = (
        select(AmmunitionEntry)
        .where(AmmunitionEntry.site_code == site_code)
        .order_by(AmmunitionEntry.id)
    )
    q = (
        q.where(AmmunitionEntry.drill_id.is_(None) | (AmmunitionEntry.drill_id == drill_id))
        if drill_id
        else q.where(AmmunitionEntry.drill_id.is_(None))
    )
    entries = tuple(
        LedgerEntry(
            site_code,
            e.ammo_type,
            e.delta,
            EntryKind(e.reason) if e.reason in EntryKind._value2member_map_ else EntryKind.ADJUST,
            e.at,
            e.actor,
            e.reference,
        )
        for e in session.scalars(q)
    )
    return AmmunitionLedger(site_code, entries)


def _save_ledger(
    session: Session, before: AmmunitionLedger, after: AmmunitionLedger, drill_id: str | None
) -> None:
    for e in after.entries[len(before.entries) :]:
        session.add(
            AmmunitionEntry(
                site_code=e.site_code,
                ammo_type=e.ammo_type,
                delta=e.delta,
                reason=e.kind.value,
                reference=e.reference,
                at=e.at,
                actor=e.actor,
                drill_id=drill_id,
            )
        )


def load(
    session: Session, op_id: str, for_update: bool = False
) -> tuple[OperationRecord, lc.Operation]:
    """The operation; ``for_update`` locks its row for a transition, so concurrent transitions
    (ATC and military granting at once) run one after the other instead of one failing."""
    if for_update:
        # Forget a copy read earlier in this transaction: the locked read brings the latest.
        earlier = session.identity_map.get(identity_key(OperationRecord, op_id))
        if earlier is not None:
            session.expire(earlier)
    rec = session.get(
        OperationRecord, op_id, with_for_update=for_update or None, populate_existing=for_update
    )
    if rec is None:
        raise NotFoundError(f"no operation {op_id}")
    return rec, decode(lc.Operation, rec.data)


def _persist(
    session: Session,
    rec: OperationRecord,
    before: lc.Operation | None,
    after: lc.Operation,
    actor: lc.Actor,
    action: str,
    now: datetime,
) -> None:
    rec.data = encode(after)
    rec.state = after.state.value
    rec.updated_at = now
    session.flush()  # optimistic lock: a concurrent writer fails here
    audit.append(
        session,
        actor=actor.username,
        role=actor.role.value,
        action=f"operation.{action}",
        object_type="operation",
        object_id=after.id,
        drill_id=after.drill_id,
        at=now,
        before=None if before is None else {"state": before.state.value},
        after={
            "state": after.state.value,
            "detail": after.history[-1].detail if after.history else "",
        },
    )
    payload = {
        "operation": to_json(after, now, site_of(session, after.site_code), session=session),
        "action": action,
        "by": actor.username,
    }
    announce(session, "operation.update", payload, _rooms(after))
    _follow_readiness(session, before, after, actor, now)
    if after.cease_fire and (before is None or not before.cease_fire):
        announce(
            session,
            "operation.cease_fire",
            {"id": after.id, "site_code": after.site_code, "reason": after.history[-1].detail},
            _rooms(after) + scoped([room_county(after.county)], after.drill_id),
        )


def _follow_readiness(
    session: Session,
    before: lc.Operation | None,
    after: lc.Operation,
    actor: lc.Actor,
    now: datetime,
) -> None:
    """Readiness follows live operations (firing → 作业中, back when done, out of ammunition
    at zero stock): persisted, audited, announced with the operation."""
    if after.drill_id is not None:
        return  # a drill never changes the live sites
    site = session.get(SiteRecord, after.site_code)
    if site is None:
        return
    stock = sum(max(n, 0) for n in ledger_for(session, after.site_code, None).balances().values())
    target = lc.site_readiness_after(before, after, site.readiness, stock)
    if target is None:
        return
    change_readiness(
        session,
        site,
        target,
        actor=actor.username,
        role=actor.role.value,
        at=now,
        why={"operation_id": after.id},
        announced={"operation_id": after.id},
    )


def propose(
    session: Session,
    actor: lc.Actor,
    body: dict[str, Any],
    now: datetime,
    idempotency_key: str | None = None,
    drill_id: str | None = None,
) -> lc.Operation:
    key = scoped_key(actor.username, "propose", idempotency_key)
    if key:
        seen = session.get(IdempotencyKey, key)
        if seen is not None:
            return load(session, seen.object_id)[1]
    site_rec = session.get(SiteRecord, str(body.get("site_code", "")))
    if site_rec is None:
        raise ValidationFailed({"site_code": "unknown site"})
    window = _window(body, "window")
    op_id = f"OP{now:%Y%m%d%H%M%S}{secrets.token_hex(2).upper()}"
    if key:
        first = claim(session, key, "propose", op_id, actor.username, now)
        if first is not None:  # a concurrent duplicate: the first request's operation
            return load(session, first.object_id)[1]
    op = lc.propose(
        id=op_id,
        cell_id=_cell_id(body),
        site_code=site_rec.code,
        county=site_rec.county,
        window=window,
        azimuth_deg=_num(body, "azimuth_deg"),
        elevation_deg=_num(body, "elevation_deg"),
        quantity=_quantity(body.get("quantity")),
        max_altitude_m=_num(body, "max_altitude_m"),
        actor=actor,
        now=now,
        drill_id=drill_id,
        idempotency_key=key,
    )
    rec = OperationRecord(
        id=op.id,
        cell_id=op.cell_id,
        site_code=op.site_code,
        county=op.county,
        state=op.state.value,
        drill_id=drill_id,
        data={},
        created_at=now,
    )
    session.add(rec)
    _persist(session, rec, None, op, actor, "propose", now)
    return op


#: The cell id of a proposal made by hand without a cell (no cells, or a site's own call).
MANUAL_CELL = "manual"


def _cell_id(body: dict[str, Any]) -> str:
    if body.get("cell_id") in (None, ""):
        return MANUAL_CELL
    return _str(body, "cell_id")


def standing_agreements(
    session: Session, site_code: str, drill_id: str | None = None
) -> list[StandingAgreement]:
    """Active agreements for a site: live ones, plus (in a drill) those made in that drill."""
    from sqlalchemy import or_

    world = (
        StandingAgreementRecord.drill_id.is_(None)
        if drill_id is None
        else or_(
            StandingAgreementRecord.drill_id.is_(None), StandingAgreementRecord.drill_id == drill_id
        )
    )
    rows = session.scalars(
        select(StandingAgreementRecord).where(
            StandingAgreementRecord.site_code == site_code,
            StandingAgreementRecord.active.is_(True),
            world,
        )
    )
    return [decode(StandingAgreement, r.data) for r in rows]


def clearance_request_for(
    session: Session, op: lc.Operation, body: dict[str, Any], now: datetime, contact: Contact
) -> ClearanceRequest:
    record = session.get(SiteRecord, op.site_code)
    if record is None:
        raise NotFoundError(f"site {op.site_code} not found")
    site = to_site(record)
    equipment = _piece_for(site, op, body)
    sectors = (
        tuple(Sector(float(a), float(b)) for a, b in body["sectors"])
        if body.get("sectors")
        else equipment.sectors
    )
    floor = float(body.get("floor_m", max(0.0, site.elevation_m)))
    ceiling = float(body.get("ceiling_m", op.max_altitude_m))
    return ClearanceRequest(
        id=f"CR-{op.id}",
        site_code=site.code,
        site_name=site.name,
        lat=site.lat,
        lon=site.lon,
        site_elevation_m=site.elevation_m,
        weapon=equipment.kind.value,
        weapon_model=equipment.model,
        range_km=equipment.range_km,
        sectors=sectors,
        altitude=AltitudeBand(floor, ceiling),
        window=_window(body, "window") if body.get("window") else op.window,
        purpose=str(body.get("purpose", "hail suppression / 人工防雹")),
        contact=contact,
        requested_at=now,
    )


def _piece_for(site: Any, op: lc.Operation, body: dict[str, Any]) -> Any:
    """The equipment piece the operation fires: ``equipment_index`` if given, else the first
    piece whose kind matches the ordered ammunition (rockets vs shells)."""
    index = body.get("equipment_index")
    if index is not None:
        if not isinstance(index, int) or not 0 <= index < len(site.equipment):
            raise ValidationFailed({"equipment_index": f"0..{len(site.equipment) - 1}"})
        return site.equipment[index]
    wants_rocket = any(t.startswith("rocket") for t in op.quantity)
    for piece in site.equipment:
        if (piece.kind.value == "rocket") == wants_rocket:
            return piece
    return site.equipment[0]


def transition(
    session: Session,
    op_id: str,
    action: str,
    actor: lc.Actor,
    body: dict[str, Any],
    now: datetime,
    idempotency_key: str | None = None,
    contact: Contact | None = None,
) -> lc.Operation:
    handler = _ACTIONS.get(action)
    if handler is None:
        raise NotFoundError(f"no action {action}")
    rec, op = load(session, op_id, for_update=True)
    key = scoped_key(actor.username, action, idempotency_key)
    after = handler(session, op, actor, body, now, key, contact)
    if after is op or after == op:
        return op  # an idempotent replay: nothing new to persist or announce
    _persist(session, rec, op, after, actor, action, now)
    return after


# --- per-action argument parsing ---------------------------------------------------------
Handler = Callable[..., lc.Operation]


def _simple(fn: Callable[..., lc.Operation]) -> Handler:
    def run(
        session: Session,
        op: lc.Operation,
        actor: lc.Actor,
        body: dict[str, Any],
        now: datetime,
        key: str | None,
        contact: Contact | None,
    ) -> lc.Operation:
        return fn(op, actor, now, idempotency_key=key)

    return run


def _with_reason(fn: Callable[..., lc.Operation], required: bool = True) -> Handler:
    def run(
        session: Session,
        op: lc.Operation,
        actor: lc.Actor,
        body: dict[str, Any],
        now: datetime,
        key: str | None,
        contact: Contact | None,
    ) -> lc.Operation:
        reason = body.get("reason", "")
        if not isinstance(reason, str) or (required and not reason.strip()):
            raise ValidationFailed({"reason": "a reason is required"})
        return fn(op, actor, now, reason, idempotency_key=key)

    return run


def _request(
    session: Session,
    op: lc.Operation,
    actor: lc.Actor,
    body: dict[str, Any],
    now: datetime,
    key: str | None,
    contact: Contact | None,
) -> lc.Operation:
    req = clearance_request_for(session, op, body, now, contact or Contact(actor.username, ""))
    return lc.request_clearance(
        op,
        actor,
        now,
        req,
        idempotency_key=key,
        agreements=standing_agreements(session, op.site_code, op.drill_id),
    )


def _grant(
    session: Session,
    op: lc.Operation,
    actor: lc.Actor,
    body: dict[str, Any],
    now: datetime,
    key: str | None,
    contact: Contact | None,
) -> lc.Operation:
    sectors = (
        tuple(Sector(float(a), float(b)) for a, b in body["sectors"])
        if body.get("sectors")
        else None
    )
    return lc.grant(
        op,
        actor,
        now,
        window=_window(body, "window") if body.get("window") else None,
        sectors=sectors,
        ceiling_m=float(body["ceiling_m"]) if body.get("ceiling_m") is not None else None,
        idempotency_key=key,
    )


def _amend(
    session: Session,
    op: lc.Operation,
    actor: lc.Actor,
    body: dict[str, Any],
    now: datetime,
    key: str | None,
    contact: Contact | None,
) -> lc.Operation:
    """``{"fit": true}`` applies the server's amendment into the live envelope (one step);
    otherwise the given ``azimuth_deg`` / ``elevation_deg`` / ``max_altitude_m``."""
    if body.get("fit") is True:
        if op.clearance_request is None:
            raise ValidationFailed({"fit": "no clearance requested yet"})
        site = site_of(session, op.site_code)
        env = current_envelope(op.clearance_request, op.decisions, now)
        fix = (
            None
            if site is None
            else amend_within(
                env,
                site,
                op.quantity,
                azimuth_deg=op.azimuth_deg,
                elevation_deg=op.elevation_deg,
                max_altitude_m=op.max_altitude_m,
            )
        )
        if fix is None:
            raise ValidationFailed({"fit": "no aim of this site fits the cleared airspace"})
        return lc.amend(
            op,
            actor,
            now,
            azimuth_deg=fix.azimuth_deg,
            elevation_deg=fix.elevation_deg,
            max_altitude_m=fix.max_altitude_m,
            idempotency_key=key,
        )
    return lc.amend(
        op,
        actor,
        now,
        azimuth_deg=_opt_num(body, "azimuth_deg"),
        elevation_deg=_opt_num(body, "elevation_deg"),
        max_altitude_m=_opt_num(body, "max_altitude_m"),
        idempotency_key=key,
    )


def _start(
    session: Session,
    op: lc.Operation,
    actor: lc.Actor,
    body: dict[str, Any],
    now: datetime,
    key: str | None,
    contact: Contact | None,
) -> lc.Operation:
    return lc.start_firing(
        op,
        actor,
        now,
        azimuth_deg=_opt_num(body, "azimuth_deg"),
        elevation_deg=_opt_num(body, "elevation_deg"),
        idempotency_key=key,
    )


def _report(
    session: Session,
    op: lc.Operation,
    actor: lc.Actor,
    body: dict[str, Any],
    now: datetime,
    key: str | None,
    contact: Contact | None,
) -> lc.Operation:
    try:
        bursts = tuple(
            Burst(
                at=_time(b, "at"),
                azimuth_deg=_num(b, "azimuth_deg"),
                elevation_deg=_num(b, "elevation_deg"),
                ammo_type=_str(b, "ammo_type"),
                rounds=int(b["rounds"]),
                altitude_m=_opt_num(b, "altitude_m"),
            )
            for b in body.get("bursts", [])
        )
        report = FiringReport(
            started_at=_time(body, "started_at"),
            ended_at=_time(body, "ended_at"),
            rounds=_quantity(body.get("rounds")),
            observation=Observation(body.get("observation", "none")),
            bursts=bursts,
            remarks=str(body.get("remarks", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ValidationFailed):
            raise
        raise ValidationFailed({"report": f"malformed firing report: {exc}"}) from None
    ledger = ledger_for(session, op.site_code, op.drill_id, lock=True)
    after, new_ledger = lc.report_firing(op, ledger, actor, now, report, idempotency_key=key)
    _save_ledger(session, ledger, new_ledger, op.drill_id)
    return after


_ACTIONS: dict[str, Handler] = {
    "authorize": _simple(lc.authorize),
    "request-clearance": _request,
    "grant": _grant,
    "deny": _with_reason(lc.deny),
    "revoke": _with_reason(lc.revoke, required=False),
    "order": _simple(lc.order),
    "acknowledge": _simple(lc.acknowledge),
    "start-firing": _start,
    "report": _report,
    "written-report": _simple(lc.file_written_report),
    "cancel": _with_reason(lc.cancel),
    "recall": _with_reason(lc.recall),
    "amend": _amend,
}
ACTIONS = tuple(_ACTIONS)


def expire_due(session: Session, now: datetime, drill_id: str | None = None) -> list[lc.Operation]:
    """Expire every open operation of one world (live, or one drill on its own clock) whose
    window has ended."""
    expired = []
    open_states = [s.value for s in lc.OperationState if s not in lc.TERMINAL_STATES]
    world = (
        OperationRecord.drill_id.is_(None)
        if drill_id is None
        else OperationRecord.drill_id == drill_id
    )
    for rec in session.scalars(
        select(OperationRecord).where(OperationRecord.state.in_(open_states), world)
    ):
        op = decode(lc.Operation, rec.data)
        if now >= op.deadline(now):
            after = lc.expire(op, now)
            _persist(session, rec, op, after, lc.SYSTEM, "expire", now)
            expired.append(after)
    return expired


# --- small parsers raising field-level ValidationFailed ------------------------------------
def _str(d: dict[str, Any], key: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not v:
        raise ValidationFailed({key: "required string"})
    return v


def _num(d: dict[str, Any], key: str) -> float:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValidationFailed({key: "required number"})
    return float(v)


def _opt_num(d: dict[str, Any], key: str) -> float | None:
    return None if d.get(key) is None else _num(d, key)


def _time(d: dict[str, Any], key: str) -> datetime:
    v = d.get(key)
    try:
        t = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed({key: "ISO 8601 time with offset required"}) from None
    if t.tzinfo is None:
        raise ValidationFailed({key: "time must carry a UTC offset"})
    return t.astimezone(UTC)


def _window(d: dict[str, Any], key: str) -> TimeWindow:
    v = d.get(key)
    if not isinstance(v, list) or len(v) != 2:
        raise ValidationFailed({key: "[start, end] ISO 8601 times required"})
    start, end = _time({"s": v[0]}, "s"), _time({"e": v[1]}, "e")
    if end <= start:
        raise ValidationFailed({key: "end must be after start"})
    return TimeWindow(start, end)


def _quantity(v: Any) -> dict[str, int]:
    if not isinstance(v, dict) or not all(
        isinstance(k, str) and isinstance(n, int) and not isinstance(n, bool) for k, n in v.items()
    ):
        raise ValidationFailed({"quantity": "object of ammunition type -> whole number"})
    return dict(v)


def default_window(now: datetime, minutes: int = 40) -> TimeWindow:
    return TimeWindow(now, now + timedelta(minutes=minutes))
