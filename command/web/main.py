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

SCHEDULER_STALE_AFTER = timedelta(minutes=2)


@bp.route("/")
@login_required_any
def index() -> Any:
    from command.mapview import render_map_page

    return render_map_page(get_session(), current_user)


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
    """No login: database, scheduler and radar-feed status for monitoring."""
    now = datetime.now(UTC)
    out: dict[str, Any] = {"status": "ok", "time": now.isoformat()}
    session_ = get_session()
    try:
        session_.execute(text("SELECT 1"))
        out["database"] = {"ok": True, "dialect": session_.get_bind().dialect.name}
    except Exception as exc:  # noqa: BLE001 - health must report, not raise
        out["database"] = {"ok": False, "error": type(exc).__name__}
        out["status"] = "degraded"
        return jsonify(out), 503
    beat = session_.get(ServiceStatus, "scheduler")
    if beat is None:
        out["scheduler"] = {"ok": False, "state": "not running"}
    else:
        age = now - beat.updated_at
        out["scheduler"] = {"ok": age < SCHEDULER_STALE_AFTER, "last_heartbeat": beat.updated_at.isoformat(),
                            "jobs": (beat.info or {}).get("jobs", [])}
    settings = current_app.config["HAILOPS"]
    # Columns only: a volume row's tracks JSON is large and not needed here.
    latest = session_.execute(select(RadarVolume.id, RadarVolume.filename, RadarVolume.scan_time,
                                     RadarVolume.processing_ms)
                              .where(RadarVolume.status == "processed", RadarVolume.drill_id.is_(None))
                              .order_by(RadarVolume.scan_time.desc()).limit(1)).first()
    quarantined = session_.scalar(select(func.count()).select_from(RadarVolume)
                                  .where(RadarVolume.status == "quarantined")) or 0
    recent_bad = session_.execute(select(RadarVolume.filename, RadarVolume.error,
                                         RadarVolume.received_at)
                                  .where(RadarVolume.status == "quarantined")
                                  .order_by(RadarVolume.id.desc()).limit(5)).all()
    out["radar_feed"] = {
        "incoming_dir": str(settings.incoming),
        "latest_volume": None if latest is None else {
            "file": latest.filename,
            "scan_time": latest.scan_time.isoformat() if latest.scan_time else None,
            "cells": session_.scalar(select(func.count()).select_from(CellRecord)
                                     .where(CellRecord.volume_id == latest.id)),
            "processing_ms": latest.processing_ms,
        },
        "quarantined": quarantined,
        "recent_quarantine": [{"file": v.filename, "reason": v.error,
                               "at": v.received_at.isoformat()} for v in recent_bad],
    }
    feed = session_.get(ServiceStatus, "radar_feed")
    if feed is not None:
        out["radar_feed"]["last_poll"] = feed.updated_at.isoformat()
    return jsonify(out)


@bp.route("/products/<path:name>")
@login_required_any
def product(name: str) -> Any:
    """PNG overlays written by the radar feed."""
    from flask import send_from_directory

    return send_from_directory(current_app.config["HAILOPS"].products, name, max_age=3600)
