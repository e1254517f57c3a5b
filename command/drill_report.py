"""Scoring and the after-action report of a drill (JSON contract, HTML and PDF with
matplotlib figures).  Every number is derived from what the drill stored: operation
histories, the drill timeline and the audit log — never typed in."""

from __future__ import annotations

import base64
import html
import io
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from command.codec import decode
from command.models import DrillRecord, OperationRecord, RadarVolume
from dispatch import lifecycle as lc
from dispatch.clearance import Grant, decision_delays
from dispatch.verification import HailReport, MatchRules, Prediction, verify


@dataclass(frozen=True)
class Targets:
    """Target durations (seconds) of each step; configuration, not law."""

    detection_to_recommendation_s: float = 120
    recommendation_to_authorization_s: float = 180
    clearance_s: float = 300
    cleared_to_order_s: float = 120
    order_to_acknowledgement_s: float = 120
    acknowledgement_to_firing_s: float = 180


OWNERS = {
    "detection_to_recommendation_s": "duty forecaster / dispatcher",
    "recommendation_to_authorization_s": "commander",
    "clearance_atc_s": "airport ATC",
    "clearance_military_s": "military sub-district",
    "cleared_to_order_s": "commander",
    "order_to_acknowledgement_s": "county site operators",
    "acknowledgement_to_firing_s": "county site operators",
}


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _first(op: lc.Operation, state: lc.OperationState) -> datetime | None:
    return next((h.at for h in op.history if h.state == state), None)


def build_report(
    session: Session, drill_id: str, targets: Targets = Targets(), county: str | None = None
) -> dict[str, Any]:
    """The drill's report.  ``county`` scopes it to one county (what a county operator may
    read): its operations, its warnings and hail only."""
    drill = session.get(DrillRecord, drill_id)
    if drill is None:
        raise LookupError(f"no drill {drill_id}")
    timeline = drill.timeline or []
    detected: dict[str, datetime] = {}
    recommended: dict[tuple[str, str], datetime] = {}
    for item in timeline:
        t = datetime.fromisoformat(item["t"])
        if item["kind"] == "detection" and item.get("track_id"):
            detected.setdefault(item["track_id"], t)
        if item["kind"] == "recommendation":
            recommended.setdefault((item["cell_id"], item["site"]), t)
    track_of_cell = {i["cell_id"]: i.get("track_id") for i in timeline if i["kind"] == "detection"}

    ops_json: list[dict[str, Any]] = []
    durations: dict[str, list[float]] = {
        k: []
        for k in (
            "detection_to_recommendation_s",
            "recommendation_to_authorization_s",
            "clearance_atc_s",
            "clearance_military_s",
            "cleared_to_order_s",
            "order_to_acknowledgement_s",
            "acknowledgement_to_firing_s",
        )
    }
    per_county: dict[str, dict[str, Any]] = {}
    violations = 0
    q = select(OperationRecord).where(OperationRecord.drill_id == drill_id)
    if county is not None:
        q = q.where(OperationRecord.county == county)
    rows = session.scalars(q.order_by(OperationRecord.created_at)).all()
    for rec in rows:
        op = decode(lc.Operation, rec.data)
        states: dict[str, str] = {}
        for h in op.history:
            states.setdefault(h.state.value, h.at.isoformat())
        clearance: dict[str, Any] = {}
        if op.clearance_request is not None:
            for authority, st in decision_delays(
                op.clearance_request, op.decisions, op.history[-1].at
            ).items():
                grant = next(
                    (d for d in op.decisions if d.authority == authority and isinstance(d, Grant)),
                    None,
                )
                window = grant.window if grant and grant.window else op.clearance_request.window
                clearance[authority.value] = {
                    "decision": st.state,
                    "at": _iso(st.decided_at),
                    "window": [window.start.isoformat(), window.end.isoformat()],
                    "standing": st.standing,
                }
                if st.decided_at is not None:
                    durations[f"clearance_{authority.value}_s"].append(
                        (st.decided_at - op.clearance_request.requested_at).total_seconds()
                    )
        track = track_of_cell.get(op.cell_id)
        det, rcm = detected.get(track or ""), recommended.get((op.cell_id, op.site_code))
        pairs = [
            ("detection_to_recommendation_s", det, rcm),
            ("recommendation_to_authorization_s", rcm, _first(op, lc.S.AUTHORIZED)),
            ("cleared_to_order_s", _first(op, lc.S.CLEARED), _first(op, lc.S.ORDERED)),
            ("order_to_acknowledgement_s", _first(op, lc.S.ORDERED), _first(op, lc.S.ACKNOWLEDGED)),
            ("acknowledgement_to_firing_s", _first(op, lc.S.ACKNOWLEDGED), _first(op, lc.S.FIRING)),
        ]
        op_durations = {}
        for key, a, b in pairs:
            if a is not None and b is not None:
                durations[key].append((b - a).total_seconds())
                op_durations[key] = (b - a).total_seconds()
        violations += len(op.violations)
        tally = per_county.setdefault(
            op.county, {"operations": 0, "completed": 0, "denied": 0, "violations": 0}
        )
        tally["operations"] += 1
        tally["completed"] += op.state == lc.S.COMPLETED
        tally["denied"] += op.state == lc.S.DENIED
        tally["violations"] += len(op.violations)
        ops_json.append(
            {
                "id": op.id,
                "site": op.site_code,
                "cell": op.cell_id,
                "track": track,
                "county": op.county,
                "final_state": op.state.value,
                "states": states,
                "clearance": clearance,
                "durations_s": op_durations,
                "violations": [v.message for v in op.violations],
            }
        )

    step_scores = {}
    for key, values in durations.items():
        target = (
            getattr(targets, key, None) if not key.startswith("clearance_") else targets.clearance_s
        )
        mean = statistics.fmean(values) if values else None
        step_scores[key] = {
            "n": len(values),
            "mean": mean,
            "max": max(values) if values else None,
            "target": target,
            "met": None if mean is None or target is None else mean <= target,
            "owner": OWNERS[key],
        }
    per_role = {
        "commander": _merge(
            step_scores, ("recommendation_to_authorization_s", "cleared_to_order_s")
        ),
        "atc": _merge(step_scores, ("clearance_atc_s",)),
        "military": _merge(step_scores, ("clearance_military_s",)),
        "county_operator": _merge(
            step_scores, ("order_to_acknowledgement_s", "acknowledgement_to_firing_s")
        ),
        "forecaster": _merge(step_scores, ("detection_to_recommendation_s",)),
    }
    # Each operation and missed track names its storm as every screen does (issue 11).
    from command.storms import storm_json_of_cell, storms_of_cells

    storms = storms_of_cells(session, [o["cell"] for o in ops_json], drill_id)
    for o in ops_json:
        o.update(storm_json_of_cell(storms, o["cell"]))
    missed = _missed_cells(session, drill_id, {o["track"] for o in ops_json if o["track"]})
    if county is not None:
        missed = [{**m, "counties": [county]} for m in missed if county in m["counties"]]
    scores = {
        "operations": len(ops_json),
        "completed": sum(o["final_state"] == "completed" for o in ops_json),
        "denied": sum(o["final_state"] == "denied" for o in ops_json),
        "violations": violations,
        "steps": step_scores,
        "per_county": per_county,
        "per_role": per_role,
        "missed_cells": missed,
        "warnings": warning_scores(session, drill_id, county),
        "injects": [i for i in timeline if i["kind"] == "inject"],
        "ground_truth": ground_truth_scores(session, drill, county),
    }
    return {
        "drill": {
            "id": drill.id,
            "event": drill.event,
            "relocated": drill.relocated,
            "speed": drill.speed,
            "state": drill.state,
            "auto_approve": drill.auto_approve,
            "relocate_to": drill.relocate_to,
            "end_reason": drill.end_reason,
            "started_at": drill.started_at.isoformat(),
            "ended_at": drill.ended_at.isoformat() if drill.ended_at else None,
        },
        "scope": {"county": county},
        "operations": ops_json,
        "scores": scores,
        "after_action": after_action(scores),
    }


def warning_scores(session: Session, drill_id: str, county: str | None = None) -> dict[str, Any]:
    """Hail warnings against the event's hail cells, county by county.

    Observed: a county where a hail cell's outline lay in some volume of the drill (first
    such scan time).  Warned: a county named in a warning issued in the drill (first issue
    time).  Hit = warned and observed, miss = observed only, false alarm = warned only;
    POD = H/(H+M), FAR = F/(H+F), CSI = H/(H+M+F); lead time = observed - warned per hit.
    """
    from shapely.geometry import shape

    from command.deployment import deployment
    from command.models import AuditRecord, CellRecord

    counties = deployment().county_polygons()
    if county is not None:
        counties = {k: v for k, v in counties.items() if k == county}
    observed: dict[str, datetime] = {}
    for cell in session.scalars(
        select(CellRecord).where(CellRecord.drill_id == drill_id, CellRecord.hail.is_(True))
    ):
        outline = shape(cell.feature["geometry"])
        for key, geom in counties.items():
            if outline.intersects(geom) and (key not in observed or cell.scan_time < observed[key]):
                observed[key] = cell.scan_time
    warned: dict[str, datetime] = {}
    for rec in session.scalars(
        select(AuditRecord).where(
            AuditRecord.drill_id == drill_id, AuditRecord.action == "warning.issue"
        )
    ):
        for key in rec.after.get("counties", []):
            if county is not None and key != county:
                continue
            if key not in warned or rec.at < warned[key]:
                warned[key] = rec.at
    hits = sorted(set(observed) & set(warned))
    misses = sorted(set(observed) - set(warned))
    false_alarms = sorted(set(warned) - set(observed))
    h, m, f = len(hits), len(misses), len(false_alarms)
    leads = {k: (observed[k] - warned[k]).total_seconds() for k in hits}
    return {
        "available": bool(observed or warned),
        "warned_counties": {k: v.isoformat() for k, v in sorted(warned.items())},
        "observed_counties": {k: v.isoformat() for k, v in sorted(observed.items())},
        "hits": hits,
        "misses": misses,
        "false_alarms": false_alarms,
        "pod": h / (h + m) if h + m else None,
        "far": f / (h + f) if h + f else None,
        "csi": h / (h + m + f) if h + m + f else None,
        "lead_time_s": leads,
        "mean_lead_time_s": statistics.fmean(leads.values()) if leads else None,
        "note": "verified by county against the hail cells of the drill's own volumes; the "
        "built-in event has two volumes, so lead times can be negative or zero",
    }


#: How a prediction is matched with a ground-truth report (see dispatch.verification).
GROUND_TRUTH_RULES = MatchRules(distance_km=10.0, time_slack=timedelta(minutes=15))
CELL_VALID_FOR = timedelta(minutes=10)  # a hail cell says "hail here" until the next volumes
OPERATION_REACH_KM = 10.0  # guns and rockets reach about 4-10 km (DOMAIN.md)


def event_reports(session: Session, drill: DrillRecord) -> list[HailReport] | None:
    """The event's ground-truth hail reports where the drill put them (relocated with the
    event: same range and azimuth from the radar); ``None`` when the event has none."""
    from command.models import DrillEvent
    from radar.replay import Relocation, relocate_point

    event = session.get(DrillEvent, drill.event)
    if event is None or event.reports is None:
        return None
    src = event.radar or {}
    out = []
    for rep in event.reports:
        lat, lon = rep["lat"], rep["lon"]
        if drill.relocated and drill.relocate_to and src:
            lat, lon = relocate_point(
                lat,
                lon,
                Relocation(src["lat"], src["lon"]),
                Relocation(drill.relocate_to["lat"], drill.relocate_to["lon"]),
            )
        out.append(
            HailReport(
                time=datetime.fromisoformat(rep["time"]),
                lat=lat,
                lon=lon,
                size_mm=rep.get("size_mm"),
                id=rep["id"],
                place=rep.get("place", ""),
            )
        )
    return out


def _rings(geom: Any) -> tuple[tuple[tuple[float, float], ...], ...]:
    parts = getattr(geom, "geoms", [geom])
    return tuple(
        tuple((float(x), float(y)) for x, y in g.exterior.coords)
        for g in parts
        if hasattr(g, "exterior")
    )


def ground_truth_scores(
    session: Session, drill: DrillRecord, county: str | None = None
) -> dict[str, Any]:
    """Hail tracks (cells and their nowcasts), warnings and operations of the drill scored
    against the event's ground-truth hail reports (``dispatch.verification``: POD, FAR, CSI,
    lead time).  When the event has no reports, says so."""
    from shapely.geometry import shape

    from command.deployment import deployment
    from command.models import AuditRecord, CellRecord

    reports = event_reports(session, drill)
    if reports is None:
        return {
            "available": False,
            "note": "the event has no ground-truth hail reports: cells, warnings and "
            "operations are not scored against reports",
        }
    counties = deployment().county_polygons()
    if county is not None:
        area = counties.get(county)
        reports = [
            r
            for r in reports
            if area is not None
            and area.buffer(0.1).contains(shape({"type": "Point", "coordinates": [r.lon, r.lat]}))
        ]
    # Hail tracks: every hail outline of the track and its last nowcast.
    tracks: dict[str, dict[str, Any]] = {}
    for cell in session.scalars(
        select(CellRecord)
        .where(CellRecord.drill_id == drill.id, CellRecord.hail.is_(True))
        .order_by(CellRecord.scan_time)
    ):
        key = cell.track_id or cell.cell_id
        t = tracks.setdefault(key, {"rings": [], "start": cell.scan_time, "end": cell.scan_time})
        t["rings"].extend(_rings(shape(cell.feature["geometry"])))
        t["end"] = max(t["end"], cell.scan_time + CELL_VALID_FOR)
        for tr in cell.volume.tracks or []:
            if tr.get("id") == cell.track_id:
                for step in (tr.get("nowcast") or {}).get("steps", []):
                    if step.get("polygon"):
                        t["rings"].extend(_rings(shape(step["polygon"])))
                        t["end"] = max(t["end"], datetime.fromisoformat(step["valid_time"]))
    track_preds = [
        Prediction(
            id=k,
            valid_from=v["start"],
            valid_until=v["end"],
            polygons=tuple(v["rings"]),
            kind="track",
        )
        for k, v in tracks.items()
        if v["rings"]
    ]
    warning_preds = []
    for rec in session.scalars(
        select(AuditRecord).where(
            AuditRecord.drill_id == drill.id, AuditRecord.action == "warning.issue"
        )
    ):
        named = [k for k in rec.after.get("counties", []) if county is None or k == county]
        rings = tuple(r for k in named if k in counties for r in _rings(counties[k]))
        if rings:
            sent = datetime.fromisoformat(rec.after["sent"])
            warning_preds.append(
                Prediction(
                    id=rec.after["identifier"],
                    valid_from=sent,
                    valid_until=datetime.fromisoformat(rec.after["expires"]),
                    polygons=rings,
                    issued_at=sent,
                    kind="warning",
                )
            )
    from command.models import SiteRecord

    sites = {s.code: s for s in session.scalars(select(SiteRecord))}
    op_preds = []
    q = select(OperationRecord).where(OperationRecord.drill_id == drill.id)
    if county is not None:
        q = q.where(OperationRecord.county == county)
    for op_rec in session.scalars(q):
        op = decode(lc.Operation, op_rec.data)
        site = sites.get(op.site_code)
        if site is not None:
            op_preds.append(
                Prediction(
                    id=op.id,
                    valid_from=op.window.start,
                    valid_until=op.window.end,
                    lat=site.lat,
                    lon=site.lon,
                    radius_km=OPERATION_REACH_KM,
                    issued_at=op.history[0].at,
                    kind="operation",
                )
            )
    rules = GROUND_TRUTH_RULES
    return {
        "available": True,
        "reports": [
            {
                "id": r.id,
                "time": r.time.isoformat(),
                "lat": round(r.lat, 4),
                "lon": round(r.lon, 4),
                "size_mm": r.size_mm,
                "place": r.place,
            }
            for r in reports
        ],
        "relocated": bool(drill.relocated),
        "rules": {
            "distance_km": rules.distance_km,
            "time_slack_s": rules.time_slack.total_seconds(),
            "cell_valid_for_s": CELL_VALID_FOR.total_seconds(),
            "operation_reach_km": OPERATION_REACH_KM,
        },
        "tracks": verify(track_preds, reports, rules).as_dict(),
        "warnings": verify(warning_preds, reports, rules).as_dict(),
        "operations": verify(op_preds, reports, rules).as_dict(),
    }


def _merge(steps: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {
        k: {"mean": steps[k]["mean"], "target": steps[k]["target"], "met": steps[k]["met"]}
        for k in keys
    }


def _missed_cells(
    session: Session, drill_id: str, engaged_tracks: set[str]
) -> list[dict[str, Any]]:
    """Hail tracks predicted to cross a county with no operation on them."""
    out: dict[str, dict[str, Any]] = {}
    for vol in session.scalars(select(RadarVolume).where(RadarVolume.drill_id == drill_id)):
        for t in vol.tracks or []:
            counties = sorted((t.get("arrivals") or {}).get("counties", {}))
            if counties and t["id"] not in engaged_tracks:
                entry = out.setdefault(t["id"], {"track": t["id"], "counties": set()})
                entry["counties"].update(counties)
    from command.models import StormTrack
    from command.storms import storm_json

    storms: dict[str, StormTrack] = {}
    if out:
        for st in session.scalars(
            select(StormTrack)
            .where(StormTrack.drill_key == drill_id, StormTrack.track_id.in_(sorted(out)))
            .order_by(StormTrack.first_seen)
        ):
            storms[st.track_id] = st  # the latest storm of a reused id wins
    return [
        {
            "track": k,
            "counties": sorted(v["counties"]),
            **storm_json(storms.get(k), track_id=k, fallback=k),
        }
        for k, v in sorted(out.items())
    ]


def storm_label(item: dict[str, Any], lang: str) -> str:
    """The storm's one name in the report's language (an operation or a missed track)."""
    from command.storms import name_template

    storm = item.get("storm")
    if storm:
        return str(storm.get("name") or name_template(lang).format(number=storm["number"]))
    return str(item.get("storm_name") or item.get("cell") or item.get("track") or "")


STEP_NAMES = {
    "detection_to_recommendation_s": ("发现冰雹单体→作业推荐", "detection → recommendation"),
    "recommendation_to_authorization_s": ("作业推荐→指挥批准", "recommendation → authorization"),
    "clearance_atc_s": ("机场空管批复用时", "airport ATC decision"),
    "clearance_military_s": ("军方批复用时", "military decision"),
    "cleared_to_order_s": ("空域批复→下达指令", "cleared → order"),
    "order_to_acknowledgement_s": ("下达指令→作业点确认", "order → acknowledgement"),
    "acknowledgement_to_firing_s": ("作业点确认→开始作业", "acknowledgement → firing"),
}
OWNER_NAMES = {
    "duty forecaster / dispatcher": "值班预报员/调度",
    "commander": "指挥长",
    "airport ATC": "机场空管",
    "military sub-district": "军分区",
    "county site operators": "县作业点",
    "all": "全体",
    "command center office with ATC and military": "指挥部办公室会同空管、军方",
}
STATE_NAMES = {
    "proposed": "待批准",
    "authorized": "已批准",
    "clearance_requested": "空域申请中",
    "cleared": "空域已批复",
    "ordered": "已下达指令",
    "acknowledged": "已确认",
    "firing": "作业中",
    "completed": "已完成",
    "denied": "空域被拒",
    "cancelled": "已取消",
    "expired": "已过期",
    "recalled": "已撤回",
}


class _Words:
    """The report's words in one language (Chinese or English)."""

    def __init__(self, zh: bool) -> None:
        self.zh = zh

    def t(self, zh_text: str, en_text: str) -> str:
        return zh_text if self.zh else en_text

    def step(self, key: str) -> str:
        return STEP_NAMES.get(key, (key, key))[0 if self.zh else 1]

    def owner(self, owner: str) -> str:
        return OWNER_NAMES.get(owner, owner) if self.zh else owner

    def state(self, value: str) -> str:
        return STATE_NAMES.get(value, value) if self.zh else value

    def item(self, item: dict[str, Any]) -> str:
        return str(item.get("item_zh", item["item"]) if self.zh else item["item"])

    def yes_no(self, value: Any) -> str:
        return self.t("是", "yes") if value else self.t("否", "no")


def after_action(scores: dict[str, Any]) -> dict[str, Any]:
    """What went well and what to improve, each item in English (``item``) and Chinese
    (``item_zh``) with its owner."""
    well, improve = [], []
    for key, s in scores["steps"].items():
        zh = STEP_NAMES.get(key, (key, key))[0]
        if s["met"] is True:
            well.append(
                {
                    "item": f"{key}: mean {s['mean']:.0f} s within the {s['target']:.0f} s target",
                    "item_zh": f"{zh}：平均 {s['mean']:.0f} 秒，达到 {s['target']:.0f} 秒目标",
                    "owner": s["owner"],
                }
            )
        elif s["met"] is False:
            improve.append(
                {
                    "item": f"{key}: mean {s['mean']:.0f} s exceeds the {s['target']:.0f} s target",
                    "item_zh": f"{zh}：平均 {s['mean']:.0f} 秒，超过 {s['target']:.0f} 秒目标",
                    "owner": s["owner"],
                }
            )
    if scores["missed_cells"]:
        n = len(scores["missed_cells"])
        improve.append(
            {
                "item": f"{n} hail track(s) crossed counties with no operation",
                "item_zh": f"{n} 条冰雹路径经过的县没有作业",
                "owner": "commander",
            }
        )
    if scores["violations"]:
        improve.append(
            {
                "item": f"{scores['violations']} firing violation(s) recorded",
                "item_zh": f"记录了 {scores['violations']} 次作业违规",
                "owner": "county site operators",
            }
        )
    if scores["denied"]:
        improve.append(
            {
                "item": f"{scores['denied']} operation(s) denied airspace: review standing "
                "agreements",
                "item_zh": f"{scores['denied']} 次作业空域被拒：复核长期空域协议",
                "owner": "command center office with ATC and military",
            }
        )
    if scores["completed"]:
        well.append(
            {
                "item": f"{scores['completed']} operation(s) completed end to end",
                "item_zh": f"{scores['completed']} 次作业全流程完成",
                "owner": "all",
            }
        )
    return {"went_well": well, "to_improve": improve}


# --- rendering -------------------------------------------------------------------------------
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)


def _cjk_font() -> str | None:
    """A font with Chinese glyphs for the figures and the PDF, if the system has one."""
    from pathlib import Path

    from matplotlib import font_manager

    for path in CJK_FONTS:
        if Path(path).is_file():
            font_manager.fontManager.addfont(path)
            return str(font_manager.FontProperties(fname=path).get_name())
    return None


def _figures(report: dict[str, Any], session: Session, lang: str = "en") -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from command.deployment import deployment
    from command.timefmt import BEIJING

    font = _cjk_font() if lang == "zh" else None
    zh = font is not None
    T = _Words(zh).t
    plt.rcParams["font.family"] = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]

    figs: dict[str, bytes] = {}
    order = [
        "proposed",
        "authorized",
        "clearance_requested",
        "cleared",
        "ordered",
        "acknowledged",
        "firing",
        "completed",
        "denied",
        "recalled",
        "expired",
        "cancelled",
    ]
    colours = dict(zip(order, plt.get_cmap("tab20")(range(20)), strict=False))
    fig, ax = plt.subplots(figsize=(10, max(2.5, 0.45 * len(report["operations"]) + 1.5)))
    for row, op in enumerate(report["operations"]):
        for state, when in op["states"].items():
            ax.plot(
                cast(Any, datetime.fromisoformat(when).astimezone(BEIJING)),
                row,
                "o",
                color=colours.get(state, "k"),
                label=STATE_NAMES.get(state, state) if zh else state,
            )
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=False))
    if uniq:
        ax.legend(
            uniq.values(),
            uniq.keys(),
            fontsize=7,
            ncol=4,
            loc="upper left",
            bbox_to_anchor=(0, -0.35),
        )
    ax.set_yticks(
        range(len(report["operations"])),
        [f"{o['site']} · {storm_label(o, lang)}" for o in report["operations"]],
        fontsize=7,
    )
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=BEIJING))  # type: ignore[no-untyped-call]
    ax.set_xlabel(T("演练时间（过程时钟，北京时间）", "drill time (event clock, Beijing time)"))
    ax.set_title(T("作业时间线", "Operation timeline"))
    fig.autofmt_xdate()
    figs["timeline"] = _png(fig)

    fig, ax = plt.subplots(figsize=(7, 7))
    dep = deployment()
    for county in dep.counties:
        geoms = getattr(county.geometry, "geoms", [county.geometry])
        for g in geoms:
            x, y = g.exterior.xy
            ax.plot(x, y, color="#777", lw=0.6)
    for vol in session.scalars(
        select(RadarVolume).where(RadarVolume.drill_id == report["drill"]["id"])
    ):
        for t in vol.tracks or []:
            hist = t.get("history") or []
            if len(hist) > 1:
                ax.plot([p[0] for p in hist], [p[1] for p in hist], "-", color="#c0392b", lw=1.5)
        for cell in vol.cells:
            ring = cell.feature["geometry"]["coordinates"][0]
            ax.fill(
                [p[0] for p in ring],
                [p[1] for p in ring],
                color="#e74c3c" if cell.hail else "#3498db",
                alpha=0.25,
                lw=0,
            )
    sites = {s.code: s for s in dep.sites}
    for op in report["operations"]:
        s = sites.get(op["site"])
        if s is not None:
            ax.plot(
                s.lon,
                s.lat,
                "^",
                color="#2ecc71" if op["final_state"] == "completed" else "#f39c12",
                ms=8,
            )
            ax.annotate(op["site"], (s.lon, s.lat), fontsize=7)
    ax.set_aspect("equal")
    ax.set_title(
        T(
            "单体（红：冰雹）、路径与作业点（绿：已完成）",
            "Cells (red: hail), tracks and operation sites (green: completed)",
        )
    )
    g = report["scores"].get("ground_truth") or {}
    for rep in g.get("reports") or []:
        ax.plot(rep["lon"], rep["lat"], "*", color="#8e44ad", ms=12)
        ax.annotate(rep["id"], (rep["lon"], rep["lat"]), fontsize=7, color="#8e44ad")
    figs["map"] = _png(fig)
    plt.close("all")
    return figs


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _bjt(iso: str | None, with_date: bool = True) -> str:
    if not iso:
        return "—"
    from command.timefmt import BEIJING

    return (
        datetime.fromisoformat(iso)
        .astimezone(BEIJING)
        .strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")
    )


def _num(v: float | None, digits: int = 2) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _county_names(keys: list[str], zh: bool) -> list[str]:
    from command.deployment import deployment

    names = {c.key: (c.name_zh if zh else c.name_en) for c in deployment().counties}
    return [names.get(k, k) for k in keys]


def _end_reason(reason: str, zh: bool) -> str:
    """The reason a drill ended, in the report's language (the stored text stays English)."""
    if not zh:
        return reason
    if reason.startswith("stopped by "):
        return f"由 {reason.removeprefix('stopped by ')} 停止"
    if reason.startswith("the event's last volume"):
        return "过程的最后一个体扫及其后续时段已回放完毕"
    if " lost " in reason or reason.startswith("runner"):
        return f"运行进程失联，演练已结束（{reason}）"
    return reason


def _warning_line(w: dict[str, Any], lang: str = "en") -> str:
    zh = lang == "zh"
    w = {
        **w,
        **{k: _county_names(list(w.get(k) or []), zh) for k in ("hits", "misses", "false_alarms")},
    }
    if not w.get("available"):
        return (
            "无预警发布，也未观测到冰雹单体覆盖各县"
            if zh
            else "no warnings issued and no hail observed over the counties"
        )
    lead = w.get("mean_lead_time_s")
    lead_txt = "—" if lead is None else (f"{lead / 60:.1f} 分钟" if zh else f"{lead / 60:.1f} min")
    if zh:
        return (
            f"命中率 POD {_num(w['pod'])}，空报率 FAR {_num(w['far'])}，临界成功指数 CSI "
            f"{_num(w['csi'])}，平均提前量 {lead_txt}；命中 {'、'.join(w['hits']) or '—'}；"
            f"漏报 {'、'.join(w['misses']) or '—'}；空报 {'、'.join(w['false_alarms']) or '—'}"
        )
    return (
        f"POD {_num(w['pod'])}, FAR {_num(w['far'])}, CSI {_num(w['csi'])}, mean lead time "
        f"{lead_txt}; hits {', '.join(w['hits']) or '—'}; "
        f"misses {', '.join(w['misses']) or '—'}; false alarms {', '.join(w['false_alarms']) or '—'}"
    )


def _truth_lines(g: dict[str, Any], lang: str = "en") -> list[str]:
    zh = lang == "zh"
    if not g.get("available"):
        return ["本次过程没有地面冰雹实况，无法对单体、预警和作业进行检验"] if zh else [g["note"]]
    out = []
    for key, zh_name in (
        ("tracks", "冰雹单体路径"),
        ("warnings", "冰雹预警"),
        ("operations", "作业"),
    ):
        v = g[key]
        lead = v["mean_lead_time_s"]
        lead_txt = "—" if lead is None else f"{lead / 60:.1f}"
        if zh:
            out.append(
                f"{zh_name}：实况 {v['reports']} 个，预测 {v['predictions']} 个，命中 {v['hits']}，"
                f"漏报 {v['misses']}，空报 {v['false_alarms']}；POD {_num(v['pod'])}，"
                f"FAR {_num(v['far'])}，CSI {_num(v['csi'])}，平均提前量 {lead_txt} 分钟"
            )
        else:
            out.append(
                f"{key}: {v['reports']} reports, {v['predictions']} predictions, hits {v['hits']}, "
                f"misses {v['misses']}, false alarms {v['false_alarms']}; POD {_num(v['pod'])}, "
                f"FAR {_num(v['far'])}, CSI {_num(v['csi'])}, mean lead time {lead_txt} min"
            )
    return out


def _fmt0(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def render_html(report: dict[str, Any], session: Session, lang: str = "zh") -> str:
    """The after-action report as one HTML page: Chinese by default (``lang="en"`` for
    English), every time in Beijing time (drill time: the event's clock)."""
    zh = lang == "zh"
    w = _Words(zh)
    T, step, owner, state, item = w.t, w.step, w.owner, w.state, w.item
    figs = _figures(report, session, lang)
    esc = html.escape
    d, s = report["drill"], report["scores"]
    rows = "".join(
        f"<tr><td>{esc(o['id'])}</td><td>{esc(storm_label(o, lang))}</td><td>{esc(o['site'])}</td><td>{esc(_county_names([o['county']], zh)[0])}</td>"
        f"<td>{esc(state(o['final_state']))}</td>"
        f"<td>{esc('; '.join(f'{state(k)} {_bjt(v, False)}' for k, v in o['states'].items()))}</td>"
        f"<td>{esc('; '.join(f'{step(k)} {v:.0f}s' for k, v in o['durations_s'].items()))}</td>"
        f"<td>{esc('; '.join(o['violations']))}</td></tr>"
        for o in report["operations"]
    )
    steps = "".join(
        f"<tr><td>{esc(step(k))}</td><td>{v['n']}</td><td>{_fmt0(v['mean'])}</td>"
        f"<td>{v['target']:.0f}</td><td>{'—' if v['met'] is None else ('✔' if v['met'] else '✘')}</td>"
        f"<td>{esc(owner(v['owner']))}</td></tr>"
        for k, v in s["steps"].items()
    )
    aa = report["after_action"]

    def lis(items: list[dict[str, Any]]) -> str:
        return "".join(f"<li>{esc(item(i))} — <i>{esc(owner(i['owner']))}</i></li>" for i in items)

    def img(k: str) -> str:
        return f'<img alt="{k}" src="data:image/png;base64,{base64.b64encode(figs[k]).decode()}">'

    scope = report.get("scope", {}).get("county")
    names = T("、", ", ").join(storm_label(m, lang) for m in s["missed_cells"])
    missed_names = f"（{names}）" if names and zh else (f" ({names})" if names else "")
    truth = "".join(
        f"<li>{esc(line)}</li>" for line in _truth_lines(s.get("ground_truth", {}), lang)
    )
    yes_no = w.yes_no
    return f"""<!doctype html><html lang="{T("zh-CN", "en")}"><head><meta charset="utf-8">
<title>{T("演练报告", "Drill report")} {esc(d["id"])}</title>
<style>body{{font-family:"Noto Sans CJK SC",sans-serif;margin:2rem;max-width:1100px}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 6px}}
.banner{{background:#b9770e;color:#fff;padding:.3rem .6rem;display:inline-block}}img{{max-width:100%}}</style>
</head><body><p class="banner">{T("演练 DRILL — 非实际作业", "DRILL — not live operations")}</p>
<p><a href="?format=html&lang={T("en", "zh")}">{T("English", "中文")}</a></p>
<h1>{T("演练报告", "Drill report")} {esc(d["id"])}</h1>
<p>{T("过程", "Event")} {esc(d["event"])} · {T("速度", "speed")} {d["speed"]}× · {T("平移至本地雷达", "relocated")}: {yes_no(d["relocated"])}
 · {T("自动角色", "automatic players")}: {yes_no(d["auto_approve"])} · {T("状态", "state")} {esc(state(d["state"]) if d["state"] in STATE_NAMES else {"completed": T("已完成", "completed"), "stopped": T("已停止", "stopped"), "running": T("进行中", "running"), "paused": T("已暂停", "paused"), "requested": T("等待调度", "requested")}.get(d["state"], d["state"]))}
 {("· " + T("结束原因", "ended") + ": " + esc(_end_reason(d["end_reason"], zh))) if d.get("end_reason") else ""}.
 {T("时间均为演练时间（过程本身的时钟），北京时间。", "Times are drill time (the event clock), Beijing time.")}
 {(T("本报告仅含本县：", "This report covers one county only: ") + esc(scope)) if scope else ""}</p>
<h2>{T("评分", "Scores")}</h2><p>{T("作业", "operations")} {s["operations"]}，{T("完成", "completed")} {s["completed"]}，{T("空域被拒", "denied")} {s["denied"]}，
{T("违规", "violations")} {s["violations"]}，{T("未处置冰雹路径", "missed hail tracks")} {len(s["missed_cells"])}{esc(missed_names)}</p>
<table><tr><th>{T("环节", "step")}</th><th>n</th><th>{T("平均(秒)", "mean s")}</th><th>{T("目标(秒)", "target s")}</th><th>{T("达标", "met")}</th><th>{T("负责", "owner")}</th></tr>{steps}</table>
<p>{T("预警检验（按县）", "Warnings (by county)")}: {esc(_warning_line(s["warnings"], lang))}</p>
<h2>{T("地面实况检验", "Against ground-truth hail reports")}</h2><ul>{truth}</ul>
<h2>{T("时间线", "Timeline")}</h2>{img("timeline")}<h2>{T("地图", "Map")}</h2>{img("map")}
<h2>{T("作业", "Operations")}</h2><table><tr><th>ID</th><th>{T("风暴", "storm")}</th><th>{T("作业点", "site")}</th><th>{T("县", "county")}</th><th>{T("最终状态", "final")}</th><th>{T("各环节时间（北京时间）", "steps (BJT)")}</th><th>{T("用时", "durations")}</th><th>{T("违规", "violations")}</th></tr>{rows}</table>
<h2>{T("总结", "After action")}</h2><h3>{T("做得好的", "What went well")}</h3><ul>{lis(aa["went_well"])}</ul>
<h3>{T("需改进的", "What to improve")}</h3><ul>{lis(aa["to_improve"])}</ul></body></html>"""


def render_pdf(report: dict[str, Any], session: Session, lang: str = "zh") -> bytes:
    """The report as PDF: Chinese when a Chinese font is installed (else English)."""
    if lang == "zh" and _cjk_font() is None:
        lang = "en"
    return _render_pdf(report, session, lang)


def _render_pdf(report: dict[str, Any], session: Session, lang: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    zh = lang == "zh"
    figs = _figures(report, session, lang)
    buf = io.BytesIO()
    d, s = report["drill"], report["scores"]
    words = _Words(zh)
    step, owner, item = words.step, words.owner, words.item
    with PdfPages(buf) as pdf:
        page = plt.figure(figsize=(8.27, 11.69))
        if zh:
            lines = [
                f"演练报告 {d['id']}（演练 DRILL — 非实际作业）",
                f"过程 {d['event']}，速度 {d['speed']}×，平移 {'是' if d['relocated'] else '否'}，"
                f"自动角色 {'是' if d['auto_approve'] else '否'}；时间为北京时间",
                "",
                f"作业 {s['operations']}，完成 {s['completed']}，空域被拒 {s['denied']}，"
                f"违规 {s['violations']}，未处置冰雹路径 {len(s['missed_cells'])}",
                "预警：" + _warning_line(s["warnings"], lang),
                "地面实况检验：",
            ]
        else:
            lines = [
                f"Drill report {d['id']}  (DRILL — not live operations)",
                f"Event {d['event']}, speed {d['speed']}x, relocated {d['relocated']}, "
                f"auto-approve {d['auto_approve']}; times in Beijing time",
                "",
                f"Operations {s['operations']}, completed {s['completed']}, denied {s['denied']}, "
                f"violations {s['violations']}, missed hail tracks {len(s['missed_cells'])}",
                "Warnings: " + _warning_line(s["warnings"], lang),
                "Ground truth:",
            ]
        lines += ["  " + line for line in _truth_lines(s.get("ground_truth", {}), lang)] + [""]
        for k, v in s["steps"].items():
            mean = "-" if v["mean"] is None else f"{v['mean']:.0f} s"
            lines.append(
                f"{step(k)}: n={v['n']} mean={mean} target={v['target']:.0f} s ({owner(v['owner'])})"
            )
        lines += ["", "做得好的：" if zh else "What went well:"] + [
            f"  - {item(i)} ({owner(i['owner'])})" for i in report["after_action"]["went_well"]
        ]
        lines += ["", "需改进的：" if zh else "What to improve:"] + [
            f"  - {item(i)} ({owner(i['owner'])})" for i in report["after_action"]["to_improve"]
        ]
        page.text(
            0.05, 0.97, "\n".join(lines), va="top", fontsize=7.5, family=plt.rcParams["font.family"]
        )
        pdf.savefig(page)
        for key in ("timeline", "map"):
            fig = plt.figure(figsize=(8.27, 11.69))
            ax = fig.add_axes((0.03, 0.03, 0.94, 0.94))
            ax.imshow(mpimg.imread(io.BytesIO(figs[key]), format="png"))
            ax.axis("off")
            pdf.savefig(fig)
        plt.close("all")
    return buf.getvalue()
