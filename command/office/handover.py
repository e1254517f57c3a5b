"""Storm handover notices to neighbouring cities (联防联控).

After each radar volume (live or in a drill), every hail track whose nowcast leaves the city
within 60 minutes (``dispatch.handover.find_exit``) gets one *draft* notice for the duty
forecaster — storm, expected time and place of crossing, MESH, motion — unless that track
already has one for that neighbour.  The forecaster (or the office) sends it: it goes to the
neighbour's liaison through the outbox, is recorded and audited.  Notices received from
neighbours are recorded the same way and shown on the map.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from command import audit
from command.models import CellRecord, HandoverRecord, NeighbourLiaison, RadarVolume
from command.office import OfficeError
from command.office.config import office_config
from command.push import ROOM_ALL, announce, room_role, scoped
from command.timefmt import BEIJING
from dispatch.handover import compass_zh, find_exit, path_from_nowcast

HORIZON_S = 3600.0
SENDER_ROLES = ("forecaster", "commander")


def ensure_neighbour_liaisons(session: Session) -> None:
    have = set(session.scalars(select(NeighbourLiaison.neighbour_key)))
    for n in office_config().neighbours:
        if n.key not in have and n.liaison is not None:
            session.add(
                NeighbourLiaison(
                    neighbour_key=n.key,
                    name=n.liaison.name,
                    phone=n.liaison.phone,
                    email=n.liaison.email,
                    sample=n.liaison.sample,
                )
            )
    session.flush()


def _mesh_of(session: Session, vol: RadarVolume, cell_id: str) -> tuple[bool, float | None]:
    cell = session.scalars(
        select(CellRecord).where(CellRecord.volume_id == vol.id, CellRecord.cell_id == cell_id)
    ).first()
    if cell is None:
        return False, None
    mesh = cell.feature.get("properties", {}).get("mesh_mm")
    return bool(cell.hail), (float(mesh) if mesh is not None else None)


def draft_handovers(session: Session, vol: RadarVolume) -> list[HandoverRecord]:
    """Draft a notice for each hail track of ``vol`` leaving the city (caller commits)."""
    from command.deployment import deployment

    if vol.scan_time is None or not vol.tracks:
        return []
    office = office_config()
    if not office.neighbours:
        return []
    city = deployment().city_outline()
    neighbours = {n.key: n.geometry for n in office.neighbours}
    drafted = []
    for track in vol.tracks:
        nowcast = track.get("nowcast") or {}
        history = track.get("history") or []
        if not nowcast.get("steps") or not history:
            continue
        hail, mesh = _mesh_of(session, vol, str(track.get("cell_id")))
        if not hail:
            continue
        lon, lat = history[-1]
        crossing = find_exit(
            vol.scan_time,
            path_from_nowcast(lon, lat, nowcast["steps"]),
            city,
            neighbours,
            horizon_s=HORIZON_S,
        )
        if crossing is None or crossing.neighbour is None:
            continue
        exists = session.scalar(
            select(HandoverRecord.id).where(
                HandoverRecord.direction == "out",
                HandoverRecord.track_id == str(track["id"]),
                HandoverRecord.neighbour_key == crossing.neighbour,
                HandoverRecord.drill_key == (vol.drill_id or ""),
            )
        )
        if exists is not None:
            continue
        rec = HandoverRecord(
            direction="out",
            neighbour_key=crossing.neighbour,
            track_id=str(track["id"]),
            state="draft",
            crossing_at=crossing.at,
            crossing_lat=crossing.lat,
            crossing_lon=crossing.lon,
            mesh_mm=mesh,
            speed_mps=float(track.get("speed_mps") or 0.0),
            direction_deg=float(track.get("direction_deg") or 0.0),
            drill_id=vol.drill_id,
            drill_key=vol.drill_id or "",
            created_at=vol.scan_time,
            created_by="system",
        )
        session.add(rec)  # first: the notice names the storm from the session
        rec.text = notice_text(rec, vol.scan_time)
        session.flush()
        audit.append(
            session,
            actor="system",
            role="system",
            action="handover.draft",
            object_type="handover",
            object_id=str(rec.id),
            after=handover_json(rec),
            drill_id=vol.drill_id,
            at=vol.scan_time,
        )
        announce(
            session,
            "handover.draft",
            handover_json(rec),
            scoped(
                [room_role("forecaster"), room_role("commander"), room_role("admin")], vol.drill_id
            ),
        )
        drafted.append(rec)
    return drafted


def _county_near(lon: float, lat: float) -> str:
    from shapely.geometry import Point

    from command.deployment import deployment

    p = Point(lon, lat)
    counties = deployment().counties
    best = min(counties, key=lambda c: c.geometry.distance(p))
    return best.name_zh


def storm_name_of(rec: HandoverRecord) -> str:
    """An outgoing notice names the storm by its one name, as our screens do (issue 11); an
    incoming one keeps the neighbour's label."""
    from sqlalchemy.orm import object_session

    from command.models import StormTrack
    from command.storms import storm_name

    session = object_session(rec)
    if rec.direction != "out" or session is None:
        return rec.track_id
    storm = session.scalars(
        select(StormTrack)
        .where(StormTrack.drill_key == (rec.drill_id or ""), StormTrack.track_id == rec.track_id)
        .order_by(StormTrack.first_seen.desc())
        .limit(1)
    ).first()
    return storm_name(storm, track_id=rec.track_id, fallback=rec.track_id, lang="zh")


def notice_text(rec: HandoverRecord, observed_at: datetime) -> str:
    from command.deployment import deployment

    office = office_config()
    n = office.neighbour(rec.neighbour_key)
    city = deployment().core.city.name_zh
    t_obs = observed_at.astimezone(BEIJING).strftime("%Y年%m月%d日%H时%M分")
    t_cross = rec.crossing_at.astimezone(BEIJING).strftime("%H时%M分")
    minutes = max(0, round((rec.crossing_at - observed_at).total_seconds() / 60))
    mesh = f"{rec.mesh_mm:.0f}毫米" if rec.mesh_mm is not None else "暂无"
    speed = rec.speed_mps or 0.0
    return (
        f"{n.name_zh}人工影响天气办公室：\n"
        f"    {t_obs}（北京时），{city}天气雷达监测到冰雹云单体“{storm_name_of(rec)}”，"
        f"最大估计冰雹直径（MESH）{mesh}，正以每秒{speed:.0f}米（每小时{speed * 3.6:.0f}公里）"
        f"向{compass_zh(rec.direction_deg or 0.0)}（{(rec.direction_deg or 0.0):.0f}°）方向移动。"
        f"据临近预报，预计约{minutes}分钟后（{t_cross}前后）在{_county_near(rec.crossing_lon, rec.crossing_lat)}"
        f"境内北纬{rec.crossing_lat:.3f}°、东经{rec.crossing_lon:.3f}°附近移出我市、进入贵市，"
        f"请注意监测并做好防雹作业准备。\n"
        f"    特此通报。\n{office.office_name_zh}"
    )


def handover_json(rec: HandoverRecord) -> dict[str, Any]:
    office = office_config()
    try:
        n = office.neighbour(rec.neighbour_key)
        name_zh, name_en = n.name_zh, n.name_en
    except KeyError:
        name_zh = name_en = rec.neighbour_key
    return {
        "id": rec.id,
        "direction": rec.direction,
        "neighbour": rec.neighbour_key,
        "neighbour_zh": name_zh,
        "neighbour_en": name_en,
        "track_id": rec.track_id,
        "storm_name": storm_name_of(rec),
        "state": rec.state,
        "crossing_at": rec.crossing_at.isoformat(),
        "crossing_lat": rec.crossing_lat,
        "crossing_lon": rec.crossing_lon,
        "mesh_mm": rec.mesh_mm,
        "speed_mps": rec.speed_mps,
        "direction_deg": rec.direction_deg,
        "text": rec.text,
        "drill_id": rec.drill_id,
        "created_at": rec.created_at.isoformat(),
        "sent_at": rec.sent_at.isoformat() if rec.sent_at else None,
        "sent_by": rec.sent_by,
    }


def send_handover(
    session: Session,
    handover_id: int,
    text: str | None,
    *,
    actor: str,
    actor_role: str,
    now: datetime,
) -> HandoverRecord:
    """Send a drafted notice to the neighbour's liaison (outbox), audited (caller commits)."""
    from command.office.outbox import enqueue

    rec = session.get(HandoverRecord, handover_id)
    if rec is None or rec.direction != "out":
        raise LookupError(f"no outgoing handover {handover_id}")
    if rec.state != "draft":
        raise OfficeError("already sent", {"state": rec.state})
    if text is not None and text.strip():
        rec.text = text.strip()
    ensure_neighbour_liaisons(session)
    liaison = session.get(NeighbourLiaison, rec.neighbour_key)
    if liaison is None or not liaison.email:
        raise OfficeError("the neighbour has no liaison e-mail", {"neighbour": rec.neighbour_key})
    before = handover_json(rec)
    rec.state, rec.sent_at, rec.sent_by = "sent", now, actor
    subject = f"【联防联控】冰雹云移出通报 {storm_name_of(rec)} {rec.crossing_at.astimezone(BEIJING):%m-%d %H:%M}"
    if rec.drill_id:
        subject = "【演练 DRILL】" + subject
    enqueue(session, liaison.email, subject, rec.text, ref=f"handover:{rec.id}")
    session.flush()
    audit.append(
        session,
        actor=actor,
        role=actor_role,
        action="handover.send",
        object_type="handover",
        object_id=str(rec.id),
        before=before,
        after=handover_json(rec),
        drill_id=rec.drill_id,
        at=now,
    )
    announce(
        session,
        "handover.update",
        handover_json(rec),
        scoped([room_role("forecaster"), room_role("commander"), room_role("admin")], rec.drill_id),
    )
    return rec


def record_received(
    session: Session, body: dict[str, Any], *, actor: str, actor_role: str, now: datetime
) -> HandoverRecord:
    """Record a notice received from a neighbour (storm coming in), shown on the map."""
    errors: dict[str, str] = {}
    keys = {n.key for n in office_config().neighbours}
    neighbour = body.get("neighbour")
    if neighbour not in keys:
        errors["neighbour"] = "one of " + ", ".join(sorted(keys))
    try:
        crossing_at = datetime.fromisoformat(str(body.get("crossing_at")).replace("Z", "+00:00"))
        if crossing_at.tzinfo is None:
            crossing_at = crossing_at.replace(tzinfo=BEIJING)
        crossing_at = crossing_at.astimezone(UTC)
    except ValueError:
        errors["crossing_at"] = "a time (ISO 8601; without offset it is Beijing time)"
    try:
        lat, lon = float(body["crossing_lat"]), float(body["crossing_lon"])
    except (KeyError, TypeError, ValueError):
        errors["crossing"] = "crossing_lat and crossing_lon in degrees"
    numbers: dict[str, float | None] = {}
    for key in ("mesh_mm", "speed_mps", "direction_deg"):
        raw = body.get(key)
        try:
            numbers[key] = None if raw in (None, "") else float(raw)
        except (TypeError, ValueError):
            errors[key] = "a number"
    text = str(body.get("text") or "").strip()
    if not text:
        errors["text"] = "the notice's text is required"
    if errors:
        raise OfficeError("invalid received notice", errors)
    rec = HandoverRecord(
        direction="in",
        neighbour_key=str(neighbour),
        track_id=str(body.get("storm") or f"in-{now:%Y%m%d%H%M%S}")[:64],
        state="received",
        crossing_at=crossing_at,
        crossing_lat=lat,
        crossing_lon=lon,
        text=text,
        created_at=now,
        created_by=actor,
        drill_key=f"in-{now.timestamp():.6f}",
        **numbers,
    )
    session.add(rec)
    session.flush()
    audit.append(
        session,
        actor=actor,
        role=actor_role,
        action="handover.receive",
        object_type="handover",
        object_id=str(rec.id),
        after=handover_json(rec),
        at=now,
    )
    announce(session, "handover.received", handover_json(rec), [ROOM_ALL])
    return rec
