"""Scoring and the after-action report of a drill (JSON contract, HTML and PDF with
matplotlib figures).  Every number is derived from what the drill stored: operation
histories, the drill timeline and the audit log — never typed in."""

from __future__ import annotations

import base64
import html
import io
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from command.codec import decode
from command.models import DrillRecord, OperationRecord, RadarVolume
from dispatch import lifecycle as lc
from dispatch.clearance import Grant, decision_delays


@dataclass(frozen=True)
class Targets:
    """Target durations (seconds) of each step; configuration, not law."""

    detection_to_recommendation_s: float = 120
    recommendation_to_authorization_s: float = 180
    clearance_s: float = 300
    cleared_to_order_s: float = 120
    order_to_acknowledgement_s: float = 120
    acknowledgement_to_firing_s: float = 180


OWNERS = {"detection_to_recommendation_s": "duty forecaster / dispatcher",
          "recommendation_to_authorization_s": "commander",
          "clearance_atc_s": "airport ATC", "clearance_military_s": "military sub-district",
          "cleared_to_order_s": "commander",
          "order_to_acknowledgement_s": "county site operators",
          "acknowledgement_to_firing_s": "county site operators"}


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _first(op: lc.Operation, state: lc.OperationState) -> datetime | None:
    return next((h.at for h in op.history if h.state == state), None)


def build_report(session: Session, drill_id: str, targets: Targets = Targets()) -> dict[str, Any]:
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
    durations: dict[str, list[float]] = {k: [] for k in (
        "detection_to_recommendation_s", "recommendation_to_authorization_s", "clearance_atc_s",
        "clearance_military_s", "cleared_to_order_s", "order_to_acknowledgement_s",
        "acknowledgement_to_firing_s")}
    per_county: dict[str, dict[str, Any]] = {}
    violations = 0
    rows = session.scalars(select(OperationRecord).where(OperationRecord.drill_id == drill_id)
                           .order_by(OperationRecord.created_at)).all()
    for rec in rows:
        op = decode(lc.Operation, rec.data)
        states: dict[str, str] = {}
        for h in op.history:
            states.setdefault(h.state.value, h.at.isoformat())
        clearance: dict[str, Any] = {}
        if op.clearance_request is not None:
            for authority, st in decision_delays(op.clearance_request, op.decisions,
                                                 op.history[-1].at).items():
                grant = next((d for d in op.decisions if d.authority == authority
                              and isinstance(d, Grant)), None)
                window = grant.window if grant and grant.window else op.clearance_request.window
                clearance[authority.value] = {
                    "decision": st.state, "at": _iso(st.decided_at),
                    "window": [window.start.isoformat(), window.end.isoformat()],
                    "standing": st.standing}
                if st.decided_at is not None:
                    durations[f"clearance_{authority.value}_s"].append(
                        (st.decided_at - op.clearance_request.requested_at).total_seconds())
        track = track_of_cell.get(op.cell_id)
        det, rcm = detected.get(track or ""), recommended.get((op.cell_id, op.site_code))
        pairs = [("detection_to_recommendation_s", det, rcm),
                 ("recommendation_to_authorization_s", rcm, _first(op, lc.S.AUTHORIZED)),
                 ("cleared_to_order_s", _first(op, lc.S.CLEARED), _first(op, lc.S.ORDERED)),
                 ("order_to_acknowledgement_s", _first(op, lc.S.ORDERED), _first(op, lc.S.ACKNOWLEDGED)),
                 ("acknowledgement_to_firing_s", _first(op, lc.S.ACKNOWLEDGED), _first(op, lc.S.FIRING))]
        op_durations = {}
        for key, a, b in pairs:
            if a is not None and b is not None:
                durations[key].append((b - a).total_seconds())
                op_durations[key] = (b - a).total_seconds()
        violations += len(op.violations)
        county = per_county.setdefault(op.county, {"operations": 0, "completed": 0, "denied": 0,
                                                   "violations": 0})
        county["operations"] += 1
        county["completed"] += op.state == lc.S.COMPLETED
        county["denied"] += op.state == lc.S.DENIED
        county["violations"] += len(op.violations)
        ops_json.append({"id": op.id, "site": op.site_code, "cell": op.cell_id, "track": track,
                         "county": op.county, "final_state": op.state.value, "states": states,
                         "clearance": clearance, "durations_s": op_durations,
                         "violations": [v.message for v in op.violations]})

    step_scores = {}
    for key, values in durations.items():
        target = getattr(targets, key, None) if not key.startswith("clearance_") else targets.clearance_s
        mean = statistics.fmean(values) if values else None
        step_scores[key] = {"n": len(values), "mean": mean, "max": max(values) if values else None,
                            "target": target, "met": None if mean is None or target is None else mean <= target,
                            "owner": OWNERS[key]}
    per_role = {
        "commander": _merge(step_scores, ("recommendation_to_authorization_s", "cleared_to_order_s")),
        "atc": _merge(step_scores, ("clearance_atc_s",)),
        "military": _merge(step_scores, ("clearance_military_s",)),
        "county_operator": _merge(step_scores, ("order_to_acknowledgement_s",
                                                "acknowledgement_to_firing_s")),
        "forecaster": _merge(step_scores, ("detection_to_recommendation_s",)),
    }
    missed = _missed_cells(session, drill_id, {o["track"] for o in ops_json if o["track"]})
    scores = {
        "operations": len(ops_json),
        "completed": sum(o["final_state"] == "completed" for o in ops_json),
        "denied": sum(o["final_state"] == "denied" for o in ops_json),
        "violations": violations,
        "steps": step_scores, "per_county": per_county, "per_role": per_role,
        "missed_cells": missed,
        "warnings": warning_scores(session, drill_id),
        "injects": [i for i in timeline if i["kind"] == "inject"],
    }
    return {
        "drill": {"id": drill.id, "event": drill.event, "relocated": drill.relocated,
                  "speed": drill.speed, "state": drill.state, "auto_approve": drill.auto_approve,
                  "relocate_to": drill.relocate_to},
        "operations": ops_json,
        "scores": scores,
        "after_action": after_action(scores),
    }


def warning_scores(session: Session, drill_id: str) -> dict[str, Any]:
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
    observed: dict[str, datetime] = {}
    for cell in session.scalars(select(CellRecord).where(CellRecord.drill_id == drill_id,
                                                         CellRecord.hail.is_(True))):
        outline = shape(cell.feature["geometry"])
        for key, geom in counties.items():
            if outline.intersects(geom) and (key not in observed or cell.scan_time < observed[key]):
                observed[key] = cell.scan_time
    warned: dict[str, datetime] = {}
    for rec in session.scalars(select(AuditRecord).where(AuditRecord.drill_id == drill_id,
                                                         AuditRecord.action == "warning.issue")):
        for key in rec.after.get("counties", []):
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
        "hits": hits, "misses": misses, "false_alarms": false_alarms,
        "pod": h / (h + m) if h + m else None,
        "far": f / (h + f) if h + f else None,
        "csi": h / (h + m + f) if h + m + f else None,
        "lead_time_s": leads,
        "mean_lead_time_s": statistics.fmean(leads.values()) if leads else None,
        "note": "verified by county against the hail cells of the drill's own volumes; the "
                "built-in event has two volumes, so lead times can be negative or zero",
    }


def _merge(steps: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: {"mean": steps[k]["mean"], "target": steps[k]["target"], "met": steps[k]["met"]}
            for k in keys}


def _missed_cells(session: Session, drill_id: str, engaged_tracks: set[str]) -> list[dict[str, Any]]:
    """Hail tracks predicted to cross a county with no operation on them."""
    out: dict[str, dict[str, Any]] = {}
    for vol in session.scalars(select(RadarVolume).where(RadarVolume.drill_id == drill_id)):
        for t in vol.tracks or []:
            counties = sorted((t.get("arrivals") or {}).get("counties", {}))
            if counties and t["id"] not in engaged_tracks:
                entry = out.setdefault(t["id"], {"track": t["id"], "counties": set()})
                entry["counties"].update(counties)
    return [{"track": k, "counties": sorted(v["counties"])} for k, v in sorted(out.items())]


def after_action(scores: dict[str, Any]) -> dict[str, Any]:
    well, improve = [], []
    for key, s in scores["steps"].items():
        if s["met"] is True:
            well.append({"item": f"{key}: mean {s['mean']:.0f} s within the {s['target']:.0f} s target",
                         "owner": s["owner"]})
        elif s["met"] is False:
            improve.append({"item": f"{key}: mean {s['mean']:.0f} s exceeds the {s['target']:.0f} s target",
                            "owner": s["owner"]})
    if scores["missed_cells"]:
        improve.append({"item": f"{len(scores['missed_cells'])} hail track(s) crossed counties with no "
                                "operation", "owner": "commander"})
    if scores["violations"]:
        improve.append({"item": f"{scores['violations']} firing violation(s) recorded",
                        "owner": "county site operators"})
    if scores["denied"]:
        improve.append({"item": f"{scores['denied']} operation(s) denied airspace: review standing "
                                "agreements", "owner": "command center office with ATC and military"})
    if scores["completed"]:
        well.append({"item": f"{scores['completed']} operation(s) completed end to end",
                     "owner": "all"})
    return {"went_well": well, "to_improve": improve}


# --- rendering -------------------------------------------------------------------------------
def _figures(report: dict[str, Any], session: Session) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from command.deployment import deployment

    figs: dict[str, bytes] = {}
    order = ["proposed", "authorized", "clearance_requested", "cleared", "ordered", "acknowledged",
             "firing", "completed", "denied", "recalled", "expired", "cancelled"]
    colours = dict(zip(order, plt.get_cmap("tab20")(range(20)), strict=False))
    fig, ax = plt.subplots(figsize=(10, max(2.5, 0.45 * len(report["operations"]) + 1.5)))
    for row, op in enumerate(report["operations"]):
        for state, when in op["states"].items():
            ax.plot(cast(Any, datetime.fromisoformat(when)), row, "o", color=colours.get(state, "k"),
                    label=state)
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=False))
    if uniq:
        ax.legend(uniq.values(), uniq.keys(), fontsize=7, ncol=4, loc="upper left",
                  bbox_to_anchor=(0, -0.35))
    ax.set_yticks(range(len(report["operations"])),
                  [f"{o['site']} · {o['cell'][-8:]}" for o in report["operations"]], fontsize=7)
    ax.set_xlabel("drill time (event clock, UTC)")
    ax.set_title("Operation timeline")
    fig.autofmt_xdate()
    figs["timeline"] = _png(fig)

    fig, ax = plt.subplots(figsize=(7, 7))
    dep = deployment()
    for county in dep.counties:
        geoms = getattr(county.geometry, "geoms", [county.geometry])
        for g in geoms:
            x, y = g.exterior.xy
            ax.plot(x, y, color="#777", lw=0.6)
    for vol in session.scalars(select(RadarVolume).where(RadarVolume.drill_id == report["drill"]["id"])):
        for t in vol.tracks or []:
            hist = t.get("history") or []
            if len(hist) > 1:
                ax.plot([p[0] for p in hist], [p[1] for p in hist], "-", color="#c0392b", lw=1.5)
        for cell in vol.cells:
            ring = cell.feature["geometry"]["coordinates"][0]
            ax.fill([p[0] for p in ring], [p[1] for p in ring],
                    color="#e74c3c" if cell.hail else "#3498db", alpha=0.25, lw=0)
    sites = {s.code: s for s in dep.sites}
    for op in report["operations"]:
        s = sites.get(op["site"])
        if s is not None:
            ax.plot(s.lon, s.lat, "^", color="#2ecc71" if op["final_state"] == "completed"
                    else "#f39c12", ms=8)
            ax.annotate(op["site"], (s.lon, s.lat), fontsize=7)
    ax.set_aspect("equal")
    ax.set_title("Cells (red: hail), tracks and operation sites (green: completed)")
    figs["map"] = _png(fig)
    plt.close("all")
    return figs


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _warning_line(w: dict[str, Any]) -> str:
    if not w.get("available"):
        return "no warnings issued and no hail observed over the counties"
    def fmt(v: float | None) -> str:
        return "—" if v is None else f"{v:.2f}"

    lead = w.get("mean_lead_time_s")
    return (f"POD {fmt(w['pod'])}, FAR {fmt(w['far'])}, CSI {fmt(w['csi'])}, mean lead time "
            f"{'—' if lead is None else f'{lead / 60:.1f} min'}; hits {', '.join(w['hits']) or '—'}; "
            f"misses {', '.join(w['misses']) or '—'}; false alarms {', '.join(w['false_alarms']) or '—'}")


def _fmt0(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def render_html(report: dict[str, Any], session: Session) -> str:
    figs = _figures(report, session)
    esc = html.escape
    d, s = report["drill"], report["scores"]
    rows = "".join(
        f"<tr><td>{esc(o['id'])}</td><td>{esc(o['site'])}</td><td>{esc(o['county'])}</td>"
        f"<td>{esc(o['final_state'])}</td><td>{esc(', '.join(f'{k} {v:.0f}s' for k, v in o['durations_s'].items()))}</td>"
        f"<td>{esc('; '.join(o['violations']))}</td></tr>" for o in report["operations"])
    steps = "".join(
        f"<tr><td>{esc(k)}</td><td>{v['n']}</td><td>{_fmt0(v['mean'])}</td>"
        f"<td>{v['target']:.0f}</td><td>{'—' if v['met'] is None else ('✔' if v['met'] else '✘')}</td>"
        f"<td>{esc(v['owner'])}</td></tr>" for k, v in s["steps"].items())
    aa = report["after_action"]
    def lis(items: list[dict[str, Any]]) -> str:
        return "".join(f"<li>{esc(i['item'])} — <i>{esc(i['owner'])}</i></li>" for i in items)

    def img(k: str) -> str:
        return f'<img alt="{k}" src="data:image/png;base64,{base64.b64encode(figs[k]).decode()}">'

    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>演练报告 Drill report {esc(d['id'])}</title>
<style>body{{font-family:"Noto Sans CJK SC",sans-serif;margin:2rem;max-width:1100px}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 6px}}
.banner{{background:#b9770e;color:#fff;padding:.3rem .6rem;display:inline-block}}img{{max-width:100%}}</style>
</head><body><p class="banner">DRILL 演练 — not live operations</p>
<h1>演练报告 Drill report {esc(d['id'])}</h1>
<p>Event {esc(d['event'])} · speed {d['speed']}× · relocated: {d['relocated']} · auto-approve: {d['auto_approve']}
 · state {esc(d['state'])}. Times are drill time (the event's clock, UTC).</p>
<h2>Scores</h2><p>{s['operations']} operations, {s['completed']} completed, {s['denied']} denied,
{s['violations']} violations, {len(s['missed_cells'])} missed hail tracks.</p>
<table><tr><th>step</th><th>n</th><th>mean s</th><th>target s</th><th>met</th><th>owner</th></tr>{steps}</table>
<p>Warnings: {esc(_warning_line(s['warnings']))}</p>
<h2>Timeline</h2>{img('timeline')}<h2>Map</h2>{img('map')}
<h2>Operations</h2><table><tr><th>id</th><th>site</th><th>county</th><th>final</th><th>durations</th><th>violations</th></tr>{rows}</table>
<h2>After action</h2><h3>What went well</h3><ul>{lis(aa['went_well'])}</ul>
<h3>What to improve</h3><ul>{lis(aa['to_improve'])}</ul></body></html>"""


def render_pdf(report: dict[str, Any], session: Session) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    figs = _figures(report, session)
    buf = io.BytesIO()
    d, s = report["drill"], report["scores"]
    with PdfPages(buf) as pdf:
        page = plt.figure(figsize=(8.27, 11.69))
        lines = [f"Drill report {d['id']}  (DRILL — not live operations)",
                 f"Event {d['event']}, speed {d['speed']}x, relocated {d['relocated']}, "
                 f"auto-approve {d['auto_approve']}", "",
                 f"Operations {s['operations']}, completed {s['completed']}, denied {s['denied']}, "
                 f"violations {s['violations']}, missed hail tracks {len(s['missed_cells'])}",
                 "Warnings: " + _warning_line(s["warnings"]), ""]
        for k, v in s["steps"].items():
            mean = "-" if v["mean"] is None else f"{v['mean']:.0f} s"
            lines.append(f"{k}: n={v['n']} mean={mean} target={v['target']:.0f} s ({v['owner']})")
        lines += ["", "What went well:"] + [f"  - {i['item']} ({i['owner']})"
                                             for i in report["after_action"]["went_well"]]
        lines += ["", "What to improve:"] + [f"  - {i['item']} ({i['owner']})"
                                              for i in report["after_action"]["to_improve"]]
        page.text(0.05, 0.97, "\n".join(lines), va="top", family="monospace", fontsize=7.5)
        pdf.savefig(page)
        for key in ("timeline", "map"):
            fig = plt.figure(figsize=(8.27, 11.69))
            ax = fig.add_axes((0.03, 0.03, 0.94, 0.94))
            ax.imshow(mpimg.imread(io.BytesIO(figs[key]), format="png"))
            ax.axis("off")
            pdf.savefig(fig)
        plt.close("all")
    return buf.getvalue()
