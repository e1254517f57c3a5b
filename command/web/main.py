"""Pages: the live map, health, language switch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, session, url_for
from flask_login import current_user
from sqlalchemy import func, select, text

from command.auth import login_required_any
from command.extensions import get_session
from command.models import CellRecord, RadarVolume, ServiceStatus

bp = Blueprint("main", __name__)

# The heartbeat job runs every 15 s: four missed beats mean the scheduler is gone.
SCHEDULER_STALE_AFTER = timedelta(seconds=60)


@bp.route("/")
@login_required_any
def index() -> Any:
    """The command map; ``?drill=ID`` shows that drill (only when asked, never by itself);
    ``?embed=1`` is the same map without the top bar, for a frame inside a console page."""
    from flask import make_response, request

    from command.mapview import render_map_page
    from command.web.scope import requested_drill

    drill = requested_drill()
    embed = request.args.get("embed") == "1"
    resp = make_response(
        render_map_page(
            get_session(), current_user, embed=embed, drill_id=None if drill is None else drill.id
        )
    )
    if embed:
        _same_origin_framing(resp)
    return resp


def _same_origin_framing(resp: Any) -> None:
    """The one relaxation of the policy: this site's own consoles may frame the embedded map
    (``frame-ancestors 'self'``); every other page keeps ``'none'`` and DENY."""
    import re

    from command.security import CSP_TEMPLATE, csp_nonce

    policy = CSP_TEMPLATE.format(nonce=f" 'nonce-{csp_nonce()}'")
    resp.headers["Content-Security-Policy"] = re.sub(
        r"frame-ancestors [^;]*", "frame-ancestors 'self'", policy
    )
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"


@bp.route("/lang/<code>")
def set_language(code: str) -> Any:
    if code in ("zh", "en"):
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            get_session().commit()
    from command.security import safe_referrer

    return redirect(safe_referrer(url_for("main.index")))


@bp.route("/healthz")
def healthz() -> Any:
    """Monitoring: 503 when the database is unreachable or the scheduler's heartbeat is stale
    (or, in production, absent).  Without login only states and counts; file names, paths,
    reasons and job names are shown to logged-in users."""
    now = datetime.now(UTC)
    out: dict[str, Any] = {"status": "ok", "time": now.isoformat()}
    session_ = get_session()
    try:
        session_.execute(text("SELECT 1"))
        out["database"] = {"ok": True}
    except Exception:  # noqa: BLE001 - health must report, not raise
        out["database"] = {"ok": False}
        out["status"] = "degraded"
        return jsonify(out), 503
    settings = current_app.config["HAILOPS"]
    inside = current_user.is_authenticated
    beat = session_.get(ServiceStatus, "scheduler")
    if beat is None:
        out["scheduler"] = {"ok": False, "state": "not running"}
        if settings.env == "production":
            out["status"] = "degraded"
    else:
        fresh = now - beat.updated_at < SCHEDULER_STALE_AFTER
        out["scheduler"] = {
            "ok": fresh,
            "state": "running" if fresh else "stale",
            "last_heartbeat": beat.updated_at.isoformat(),
        }
        if not fresh:
            out["status"] = "degraded"
        if inside:
            out["scheduler"]["jobs"] = (beat.info or {}).get("jobs", [])
    # Columns only: a volume row's tracks JSON is large and not needed here.
    latest = session_.execute(
        select(
            RadarVolume.id, RadarVolume.filename, RadarVolume.scan_time, RadarVolume.processing_ms
        )
        .where(RadarVolume.status == "processed", RadarVolume.drill_id.is_(None))
        .order_by(RadarVolume.scan_time.desc())
        .limit(1)
    ).first()
    quarantined = (
        session_.scalar(
            select(func.count()).select_from(RadarVolume).where(RadarVolume.status == "quarantined")
        )
        or 0
    )
    recent_bad = session_.execute(
        select(RadarVolume.filename, RadarVolume.error, RadarVolume.received_at)
        .where(RadarVolume.status == "quarantined")
        .order_by(RadarVolume.id.desc())
        .limit(5)
    ).all()
    out["radar_feed"] = {
        "quarantined": quarantined,
        "latest_scan_time": latest.scan_time.isoformat() if latest and latest.scan_time else None,
    }
    feed = session_.get(ServiceStatus, "radar_feed")
    if feed is not None:
        out["radar_feed"]["last_poll"] = feed.updated_at.isoformat()
    if not inside:
        return jsonify(out), 200 if out["status"] == "ok" else 503
    out["database"]["dialect"] = session_.get_bind().dialect.name
    out["radar_feed"] |= {
        "incoming_dir": str(settings.incoming),
        "latest_volume": None
        if latest is None
        else {
            "file": latest.filename,
            "scan_time": latest.scan_time.isoformat() if latest.scan_time else None,
            "cells": session_.scalar(
                select(func.count())
                .select_from(CellRecord)
                .where(CellRecord.volume_id == latest.id)
            ),
            "processing_ms": latest.processing_ms,
        },
        "recent_quarantine": [
            {"file": v.filename, "reason": v.error, "at": v.received_at.isoformat()}
            for v in recent_bad
        ],
    }
    return jsonify(out), 200 if out["status"] == "ok" else 503


@bp.route("/products/<path:name>")
@login_required_any
def product(name: str) -> Any:
    """PNG overlays written by the radar feed."""
    from flask import send_from_directory

    return send_from_directory(current_app.config["HAILOPS"].products, name, max_age=3600)
