"""Bulletins (作业情况通报) and ad hoc notices from the office to the member units.

Life of a bulletin: *drafted* from the record (after a hail event's operations are closed —
a drill's end, or live operations all closed — or daily at ``bulletin_hour``), *edited* by
the office (commander or admin), *issued* with the next running number of the year
(``{prefix}〔{year}〕{n}号``), stored as HTML and PDF, *delivered* to every member unit's
console and by e-mail (outbox) to its liaison and deputy, *confirmed* by each liaison, and
*chased* while unconfirmed.  Every step is audited; issue and chase are announced.

Every figure in a bulletin comes from the record (``gather_figures``), never typed in.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from command import audit
from command.models import (
    AmmunitionEntry,
    BulletinRecord,
    CellRecord,
    DeliveryRecord,
    DrillRecord,
    LiaisonRecord,
    MemberUnit,
    OperationRecord,
    SiteRecord,
)
from command.office import OfficeError
from command.office.records import load_operations, scope_filter
from command.push import ROOM_ALL, announce, room_role
from command.timefmt import BEIJING
from dispatch import lifecycle as lc
from dispatch.hailsize import SizeClass
from dispatch.verification import HailReport, verify

log = logging.getLogger(__name__)
KINDS = ("bulletin", "notice")
_NUMBER_LOCK = 7_220_415  # advisory lock naming "bulletin numbers"
AUTHORITY_ZH = {"atc": "机场空管", "military": "军分区"}
STATE_ZH = {"granted": "批准", "denied": "拒绝", "revoked": "撤销", "pending": "未答复"}


# --- figures from the record ---------------------------------------------------------------


def _hail_cells(
    session: Session, start: datetime | None, end: datetime | None, drill_id: str | None
) -> list[CellRecord]:
    q = select(CellRecord).where(
        CellRecord.hail.is_(True), scope_filter(CellRecord.drill_id, drill_id)
    )
    if start is not None:
        q = q.where(CellRecord.scan_time >= start)
    if end is not None:
        q = q.where(CellRecord.scan_time < end)
    return list(session.scalars(q.order_by(CellRecord.scan_time, CellRecord.id)))


def _ammunition(session: Session, drill_id: str | None, below: int) -> dict[str, Any]:
    q = select(
        AmmunitionEntry.site_code, AmmunitionEntry.ammo_type, func.sum(AmmunitionEntry.delta)
    ).group_by(AmmunitionEntry.site_code, AmmunitionEntry.ammo_type)
    q = (
        q.where(AmmunitionEntry.drill_id.is_(None))
        if drill_id is None
        else q.where(AmmunitionEntry.drill_id.is_(None) | (AmmunitionEntry.drill_id == drill_id))
    )
    sites = {s.code: s for s in session.scalars(select(SiteRecord))}
    stock: Counter[str] = Counter()
    restock = []
    for code, kind, total in session.execute(
        q.order_by(AmmunitionEntry.site_code, AmmunitionEntry.ammo_type)
    ):
        n = int(total or 0)
        stock[kind] += n
        if n < below:
            site = sites.get(code)
            restock.append(
                {
                    "site": code,
                    "site_name": site.name if site else code,
                    "county": site.county if site else None,
                    "type": kind,
                    "left": n,
                }
            )
    return {"stock": dict(sorted(stock.items())), "restock": restock, "threshold": below}


def gather_figures(
    session: Session,
    *,
    start: datetime | None,
    end: datetime | None,
    drill_id: str | None,
    restock_below: int,
) -> dict[str, Any]:
    """Everything a bulletin reports, from the record of one scope (a drill, or a time span
    of live operations)."""
    from command.deployment import deployment
    from command.office.ground import report_json, reports_between
    from command.office.verify import WARNING_RULES, warning_predictions

    dep = deployment()
    cells = _hail_cells(session, start, end, drill_id)
    tracks: set[str] = set()
    counties: set[str] = set()
    max_mesh: dict[str, Any] | None = None
    cell_reports = []
    for c in cells:
        props = c.feature.get("properties", {})
        tracks.add(c.track_id or c.cell_id)
        lon, lat = props.get("centroid", [None, None])
        if lon is not None:
            county = dep.core.county_at(float(lon), float(lat))
            if county is not None:
                counties.add(county.key)
            cell_reports.append(
                HailReport(time=c.scan_time, lat=float(lat), lon=float(lon), id=f"cell:{c.id}")
            )
        mesh = props.get("mesh_mm")
        if mesh is not None and (max_mesh is None or float(mesh) > max_mesh["mesh_mm"]):
            max_mesh = {
                "mesh_mm": float(mesh),
                "track": c.track_id or c.cell_id,
                "at": c.scan_time.isoformat(),
                "cell": c,
            }
    if max_mesh is not None:  # the storm by its one name (issue 11), as on every screen
        from command.storms import storm_name

        top = max_mesh.pop("cell")
        max_mesh["storm_name"] = storm_name(
            top.storm, track_id=top.track_id, fallback=top.cell_id, lang="zh"
        )
    ground = reports_between(session, start, end, drill_id)
    ground_reports = [
        HailReport(time=r.observed_at, lat=r.lat, lon=r.lon, id=f"ground:{r.id}") for r in ground
    ]
    # Warnings and their lead times: the first hail (radar hail cell or ground report) in a
    # warned county while the warning was valid, minus the issue time.
    preds = warning_predictions(session, start, end, drill_id)
    scores = verify(preds, cell_reports + ground_reports, WARNING_RULES)
    report_time = {r.id: r.time for r in cell_reports + ground_reports}
    first_hit: dict[str, datetime] = {}
    for rid, pids in scores.matches.items():
        for pid in pids:
            if pid not in first_hit or report_time[rid] < first_hit[pid]:
                first_hit[pid] = report_time[rid]
    warnings: dict[str, dict[str, Any]] = {}
    for p in preds:
        ident, county_key = p.id.rsplit(":", 1)
        w = warnings.setdefault(
            ident,
            {
                "identifier": ident,
                "sent": p.issued.isoformat(),
                "expires": p.valid_until.isoformat(),
                "counties": [],
                "lead_time_s": {},
            },
        )
        w["counties"].append(county_key)
        hit = first_hit.get(p.id)
        w["lead_time_s"][county_key] = None if hit is None else (hit - p.issued).total_seconds()

    details = load_operations(session, start, end, drill_id)
    site_names = {s.code: s.name for s in session.scalars(select(SiteRecord))}
    by_county: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rounds: Counter[str] = Counter()
    denials = []
    for d in details:
        op = d.op
        report = op.report
        for t, n in d.row.rounds.items():
            rounds[t] += int(n)
        for authority, decision in d.clearance.items():
            if decision["state"] == "denied":
                denials.append(
                    {
                        "operation": op.id,
                        "site": op.site_code,
                        "authority": authority,
                        "at": decision["decided_at"],
                        "reason": decision["reason"],
                    }
                )
        by_county[op.county].append(
            {
                "id": op.id,
                "site": op.site_code,
                "site_name": site_names.get(op.site_code, op.site_code),
                "state": op.state.value,
                "fired": d.row.fired,
                "fired_from": report.started_at.isoformat() if report else None,
                "fired_to": report.ended_at.isoformat() if report else None,
                "window": [op.window.start.isoformat(), op.window.end.isoformat()],
                "rounds": dict(sorted(d.row.rounds.items())),
                "clearance": d.clearance,
            }
        )
    return {
        "scope": {
            "drill_id": drill_id,
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
        },
        "weather": {
            "hail_tracks": len(tracks),
            "hail_cell_detections": len(cells),
            "max_mesh": max_mesh,
            "counties": sorted(counties),
            "warnings": list(warnings.values()),
        },
        "operations": {
            "total": len(details),
            "fired": sum(d.row.fired for d in details),
            "completed": sum(d.op.state == lc.S.COMPLETED for d in details),
            "by_county": {k: by_county[k] for k in sorted(by_county)},
            "rounds": dict(sorted(rounds.items())),
            "denials": denials,
        },
        "ground_reports": [report_json(r) for r in ground],
        "ammunition": _ammunition(session, drill_id, restock_below),
    }


# --- text -----------------------------------------------------------------------------------


def _bjt(iso: str | None, fmt: str = "%m月%d日%H:%M") -> str:
    return "—" if not iso else datetime.fromisoformat(iso).astimezone(BEIJING).strftime(fmt)


def county_name(key: str | None) -> str:
    from command.deployment import deployment

    if key is None:
        return "—"
    try:
        return deployment().core.county(key).name_zh
    except KeyError:
        return key


def draft_text(fig: dict[str, Any], label: str) -> str:
    """The editable paragraphs of a bulletin, drafted from its figures (Chinese)."""
    w, ops, am = fig["weather"], fig["operations"], fig["ammunition"]
    counties = "、".join(county_name(k) for k in w["counties"]) or "无"
    mesh = w["max_mesh"]
    p1 = (
        f"{label}，雷达共监测到冰雹云{w['hail_tracks']}个（冰雹单体识别{w['hail_cell_detections']}次），"
        f"影响{counties}。"
        + (
            f"最大估计冰雹直径（MESH）{mesh['mesh_mm']:.0f}毫米"
            f"（{mesh.get('storm_name') or mesh['track']}，{_bjt(mesh['at'])}）。"
            if mesh
            else ""
        )
    )
    warns = w["warnings"]
    if warns:
        leads = [v for x in warns for v in x["lead_time_s"].values() if v is not None]
        p1 += (
            f"共发布冰雹预警{len(warns)}次"
            + (f"，平均提前量{sum(leads) / len(leads) / 60:.0f}分钟" if leads else "")
            + "。"
        )
    else:
        p1 += "未发布冰雹预警。"
    rounds = "，".join(f"{t}{n}发" for t, n in ops["rounds"].items()) or "未消耗弹药"
    p2 = (
        f"全市共组织防雹作业{ops['total']}次，实施作业{ops['fired']}次，涉及"
        f"{len(ops['by_county'])}个县（市、区）；耗弹：{rounds}。"
        f"空域申请被拒绝{len(ops['denials'])}次。"
    )
    g = fig["ground_reports"]
    p3 = f"收到降雹实况报告{len(g)}份。" if g else "未收到降雹实况报告。"
    restock = am["restock"]
    p4 = (
        "现有弹药库存："
        + ("，".join(f"{t}{n}发" for t, n in am["stock"].items()) or "无")
        + "。"
        + (f"{len(restock)}个作业点弹药低于{am['threshold']}发，需及时补充。" if restock else "")
    )
    return "\n".join([p1, p2, p3, p4, "请各成员单位按照职责分工，做好下一阶段防雹工作。"])


# --- drafting -------------------------------------------------------------------------------


def _label(start: datetime | None, end: datetime | None, drill: DrillRecord | None) -> str:
    if drill is not None:
        return f"演练（{drill.event}，演练编号{drill.id}）期间"
    if start and end:
        return (
            f"{start.astimezone(BEIJING):%Y年%m月%d日%H时}至{end.astimezone(BEIJING):%m月%d日%H时}"
        )
    return "本期"


def draft_bulletin(
    session: Session,
    *,
    start: datetime | None,
    end: datetime | None,
    drill_id: str | None,
    source: str,
    actor: str,
    now: datetime,
    restock_below: int,
    actor_role: str = "system",
) -> BulletinRecord:
    """Draft (or return the existing draft of) the bulletin of one scope (caller commits)."""
    existing = session.scalar(select(BulletinRecord).where(BulletinRecord.source == source))
    if existing is not None:
        return existing
    drill = session.get(DrillRecord, drill_id) if drill_id else None
    fig = gather_figures(
        session, start=start, end=end, drill_id=drill_id, restock_below=restock_below
    )
    label = _label(start, end, drill)
    title = ("【演练】" if drill else "") + f"关于{label}人工防雹作业情况的通报"
    rec = BulletinRecord(
        kind="bulletin",
        state="draft",
        title=title,
        body=draft_text(fig, label),
        figures=fig,
        source=source,
        drill_id=drill_id,
        created_by=actor,
        created_at=now,
    )
    session.add(rec)
    session.flush()
    audit.append(
        session,
        actor=actor,
        role=actor_role,
        action="bulletin.draft",
        object_type="bulletin",
        object_id=str(rec.id),
        after={"title": title, "source": source},
        at=now,
    )
    return rec


def draft_notice(
    session: Session, title: str, body: str, *, actor: str, actor_role: str, now: datetime
) -> BulletinRecord:
    errors = {}
    if not title.strip() or len(title) > 200:
        errors["title"] = "a title of 1-200 characters"
    if not body.strip():
        errors["body"] = "required"
    if errors:
        raise OfficeError("invalid notice", errors)
    rec = BulletinRecord(
        kind="notice",
        state="draft",
        title=title.strip(),
        body=body.strip(),
        figures={},
        source=f"manual:{now.timestamp():.6f}",
        created_by=actor,
        created_at=now,
    )
    session.add(rec)
    session.flush()
    audit.append(
        session,
        actor=actor,
        role=actor_role,
        action="bulletin.draft",
        object_type="bulletin",
        object_id=str(rec.id),
        after={"title": rec.title, "kind": "notice"},
        at=now,
    )
    return rec


def edit_bulletin(
    session: Session,
    bulletin_id: int,
    title: str | None,
    body: str | None,
    *,
    actor: str,
    actor_role: str,
    now: datetime,
) -> BulletinRecord:
    rec = session.get(BulletinRecord, bulletin_id)
    if rec is None:
        raise LookupError(f"no bulletin {bulletin_id}")
    if rec.state != "draft":
        raise OfficeError(
            "an issued bulletin cannot be edited; issue a new notice", {"state": rec.state}
        )
    before = {"title": rec.title, "body": rec.body}
    if title is not None:
        if not title.strip() or len(title) > 200:
            raise OfficeError("invalid title", {"title": "a title of 1-200 characters"})
        rec.title = title.strip()
    if body is not None:
        rec.body = body.strip()
    audit.append(
        session,
        actor=actor,
        role=actor_role,
        action="bulletin.edit",
        object_type="bulletin",
        object_id=str(rec.id),
        before=before,
        after={"title": rec.title, "body": rec.body},
        at=now,
    )
    return rec


# --- issue, deliver, confirm, chase ---------------------------------------------------------


def number_text(prefix: str, year: int | None, number: int | None) -> str:
    return f"{prefix}〔{year}〕{number}号" if number is not None else f"{prefix}〔草稿〕"


def issue_bulletin(
    session: Session,
    bulletin_id: int,
    *,
    actor: str,
    actor_role: str,
    now: datetime,
    prefix: str,
    render: Any,
) -> BulletinRecord:
    """Give the next running number of the year, store HTML and PDF, deliver to every member
    unit (console + e-mail to liaison and deputy), audit and announce (caller commits).

    ``render(rec) -> (html, pdf)`` is supplied by the web layer.  Two concurrent issues
    cannot take the same number (advisory lock on PostgreSQL, unique (year, number))."""
    from command.office.outbox import enqueue

    rec = session.get(BulletinRecord, bulletin_id)
    if rec is None:
        raise LookupError(f"no bulletin {bulletin_id}")
    if rec.state != "draft":
        raise OfficeError("already issued", {"state": rec.state})
    year = now.astimezone(BEIJING).year
    if session.get_bind().dialect.name == "postgresql":
        # Serialise numbering (SQLite serialises writers anyway); (year, number) is unique
        # as a backstop: a lost race fails the transaction rather than duplicate a number.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _NUMBER_LOCK})
    top = session.scalar(select(func.max(BulletinRecord.number)).where(BulletinRecord.year == year))
    rec.year, rec.number = year, (top or 0) + 1
    session.flush()
    rec.state, rec.issued_at, rec.issued_by = "issued", now, actor
    rec.html, rec.pdf = render(rec)
    from command.office.liaisons import ensure_liaisons

    ensure_liaisons(session)
    units = list(session.scalars(select(MemberUnit).order_by(MemberUnit.key)))
    contacts: dict[str, list[str]] = defaultdict(list)
    for li in session.scalars(select(LiaisonRecord)):
        if li.email:
            contacts[li.unit_key].append(li.email)
    docno = number_text(prefix, rec.year, rec.number)
    for unit in units:
        session.add(DeliveryRecord(bulletin_id=rec.id, unit_key=unit.key, delivered_at=now))
        for addr in contacts.get(unit.key, []):
            enqueue(
                session,
                addr,
                f"{docno} {rec.title}",
                f"{unit.name_zh}：\n\n{rec.title}（{docno}）已印发，请登录指挥系统查收并确认收到。\n\n"
                + rec.body,
                ref=f"bulletin:{rec.id}",
                attachment=(f"{docno}.pdf", rec.pdf),
            )
    session.flush()
    payload = bulletin_json(rec, prefix)
    audit.append(
        session,
        actor=actor,
        role=actor_role,
        action="bulletin.issue",
        object_type="bulletin",
        object_id=str(rec.id),
        after={**payload, "units": [u.key for u in units]},
        at=now,
    )
    announce(session, "bulletin.issue", payload, [room_role("member"), ROOM_ALL])
    return rec


def confirm_receipt(
    session: Session,
    bulletin_id: int,
    unit_keys: list[str],
    *,
    actor: str,
    actor_role: str,
    now: datetime,
) -> list[DeliveryRecord]:
    """The liaison (or deputy) of a unit confirms receipt; idempotent."""
    if not unit_keys:
        raise PermissionError("only a member unit's liaison or deputy confirms receipt")
    rows = list(
        session.scalars(
            select(DeliveryRecord).where(
                DeliveryRecord.bulletin_id == bulletin_id, DeliveryRecord.unit_key.in_(unit_keys)
            )
        )
    )
    if not rows:
        raise LookupError(f"bulletin {bulletin_id} was not delivered to {', '.join(unit_keys)}")
    for d in rows:
        if d.confirmed_at is None:
            d.confirmed_at, d.confirmed_by = now, actor
            audit.append(
                session,
                actor=actor,
                role=actor_role,
                action="bulletin.confirm",
                object_type="bulletin",
                object_id=str(bulletin_id),
                after={"unit": d.unit_key},
                at=now,
            )
    session.flush()
    return rows


def chase_unread(session: Session, *, now: datetime, after: timedelta, prefix: str) -> int:
    """Remind units that have not confirmed within ``after`` (and again every ``after``)."""
    from command.office.outbox import enqueue

    n = 0
    rows = session.scalars(
        select(DeliveryRecord)
        .where(DeliveryRecord.confirmed_at.is_(None))
        .order_by(DeliveryRecord.id)
    ).all()
    emails: dict[str, list[str]] = defaultdict(list)
    for li in session.scalars(select(LiaisonRecord)):
        if li.email:
            emails[li.unit_key].append(li.email)
    for d in rows:
        last = d.last_chased_at or d.delivered_at
        if now - last < after:
            continue
        b = session.get(BulletinRecord, d.bulletin_id)
        if b is None:
            continue
        d.chases += 1
        d.last_chased_at = now
        docno = number_text(prefix, b.year, b.number)
        for addr in emails.get(d.unit_key, []):
            enqueue(
                session,
                addr,
                f"【催办】请确认收到 {docno}",
                f"{docno}《{b.title}》已于{_bjt(b.issued_at.isoformat() if b.issued_at else None)}"
                f"印发，贵单位尚未确认收到，请登录指挥系统确认。",
                ref=f"chase:{d.id}",
            )
        audit.append(
            session,
            actor="system",
            role="system",
            action="bulletin.chase",
            object_type="bulletin",
            object_id=str(b.id),
            after={"unit": d.unit_key, "chases": d.chases},
            at=now,
        )
        announce(
            session,
            "bulletin.chase",
            {"bulletin_id": b.id, "unit": d.unit_key, "chases": d.chases, "number": docno},
            [room_role("member"), room_role("commander")],
        )
        n += 1
    session.flush()
    return n


def bulletin_json(rec: BulletinRecord, prefix: str) -> dict[str, Any]:
    return {
        "id": rec.id,
        "kind": rec.kind,
        "state": rec.state,
        "title": rec.title,
        "body": rec.body,
        "number": number_text(prefix, rec.year, rec.number) if rec.number else None,
        "year": rec.year,
        "seq": rec.number,
        "source": rec.source,
        "drill_id": rec.drill_id,
        "created_at": rec.created_at.isoformat(),
        "issued_at": rec.issued_at.isoformat() if rec.issued_at else None,
        "issued_by": rec.issued_by,
    }


def deliveries_json(session: Session, bulletin_id: int) -> list[dict[str, Any]]:
    return [
        {
            "unit": d.unit_key,
            "delivered_at": d.delivered_at.isoformat(),
            "confirmed_at": d.confirmed_at.isoformat() if d.confirmed_at else None,
            "confirmed_by": d.confirmed_by,
            "chases": d.chases,
        }
        for d in session.scalars(
            select(DeliveryRecord)
            .where(DeliveryRecord.bulletin_id == bulletin_id)
            .order_by(DeliveryRecord.unit_key)
        )
    ]


# --- automatic drafting (scheduler job) -----------------------------------------------------


def draft_due(
    session: Session,
    *,
    now: datetime,
    bulletin_hour: int | None,
    restock_below: int,
    quiet: timedelta = timedelta(minutes=30),
) -> list[BulletinRecord]:
    """Draft what is due (caller commits):

    * each drill that ended (completed or stopped) and has no bulletin yet;
    * live operations: when every operation since the last event bulletin is closed and the
      last closed ``quiet`` ago, one bulletin for that event (from an hour before its first
      operation);
    * daily at ``bulletin_hour`` (Beijing time): the 24 hours up to that hour, when anything
      happened in them."""
    made = []
    for drill in session.scalars(
        select(DrillRecord).where(DrillRecord.state.in_(("completed", "stopped")))
    ):
        if (
            session.scalar(
                select(BulletinRecord.id).where(BulletinRecord.source == f"drill:{drill.id}")
            )
            is None
        ):
            made.append(
                draft_bulletin(
                    session,
                    start=None,
                    end=None,
                    drill_id=drill.id,
                    source=f"drill:{drill.id}",
                    actor="system",
                    now=now,
                    restock_below=restock_below,
                )
            )
    last_event = session.scalar(
        select(func.max(BulletinRecord.created_at)).where(BulletinRecord.source.like("event:%"))
    )
    q = select(OperationRecord).where(OperationRecord.drill_id.is_(None))
    if last_event is not None:
        q = q.where(OperationRecord.created_at > last_event)
    ops = list(session.scalars(q.order_by(OperationRecord.created_at)))
    closed = {s.value for s in lc.TERMINAL_STATES}
    if (
        ops
        and all(o.state in closed for o in ops)
        and max(o.updated_at for o in ops) <= now - quiet
    ):
        start = ops[0].created_at - timedelta(hours=1)
        made.append(
            draft_bulletin(
                session,
                start=start,
                end=now,
                drill_id=None,
                source=f"event:{ops[0].id}",
                actor="system",
                now=now,
                restock_below=restock_below,
            )
        )
    if bulletin_hour is not None:
        local = now.astimezone(BEIJING)
        if local.hour >= bulletin_hour:
            end = local.replace(hour=bulletin_hour, minute=0, second=0, microsecond=0).astimezone(
                UTC
            )
            source = f"day:{local.date().isoformat()}"
            if (
                session.scalar(select(BulletinRecord.id).where(BulletinRecord.source == source))
                is None
            ):
                start = end - timedelta(hours=24)
                fig_ops = load_operations(session, start, end, None)
                cells = _hail_cells(session, start, end, None)
                if fig_ops or cells:
                    made.append(
                        draft_bulletin(
                            session,
                            start=start,
                            end=end,
                            drill_id=None,
                            source=source,
                            actor="system",
                            now=now,
                            restock_below=restock_below,
                        )
                    )
    return made


def bulletin_job(app: Any) -> None:
    """Scheduler job: draft what is due, chase unread bulletins (its own session)."""
    from command.extensions import get_db
    from command.office.config import bulletin_prefix

    settings = app.config["HAILOPS"]
    with app.app_context(), get_db().session() as session:
        now = datetime.now(UTC)
        made = draft_due(
            session,
            now=now,
            bulletin_hour=settings.bulletin_hour,
            restock_below=settings.restock_below_rounds,
        )
        chased = chase_unread(
            session,
            now=now,
            after=timedelta(hours=settings.bulletin_chase_hours),
            prefix=bulletin_prefix(),
        )
        session.commit()
        if made or chased:
            log.info("bulletins: %d drafted, %d deliveries chased", len(made), chased)


def size_label(size_class: str) -> str:
    return SizeClass(size_class).label_zh
