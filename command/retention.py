"""Retention: what the command system keeps and for how long (policy in the README).

* ``live_events`` — the push/catch-up buffer, not the record (the audit log is): rows older
  than ``retention_live_events_days`` (default 14) are deleted.
* product images (PNG overlays in ``<instance>/products``) older than
  ``retention_products_days`` (default 30) are deleted; volumes and cells stay in the database,
  and a volume's overlay then answers 404.
* alerts (escalation steps) acknowledged more than ``retention_alerts_days`` (default 90) ago
  are deleted; an unacknowledged alert is never pruned.

The scheduler runs :func:`prune` every six hours (job ``retention``); ``hailops retention``
runs it by hand.  Each run is audited with its counts.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import delete
from sqlalchemy.orm import Session

from command import audit
from command.models import EscalationRecord, LiveEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionResult:
    live_events: int
    product_files: int
    alerts: int


def prune(
    session: Session,
    products_dir: Path,
    now: datetime,
    *,
    live_events_days: int,
    products_days: int,
    alerts_days: int,
) -> RetentionResult:
    """Delete what the policy no longer keeps (caller commits)."""
    events = _deleted(
        session.execute(
            delete(LiveEvent).where(LiveEvent.at < now - timedelta(days=live_events_days))
        )
    )
    alerts = _deleted(
        session.execute(
            delete(EscalationRecord).where(
                EscalationRecord.acked_at.is_not(None),
                EscalationRecord.acked_at < now - timedelta(days=alerts_days),
            )
        )
    )
    cutoff = (now - timedelta(days=products_days)).timestamp()
    files = 0
    if products_dir.is_dir():
        for png in products_dir.glob("*.png"):
            try:
                if png.stat().st_mtime < cutoff:
                    png.unlink()
                    files += 1
            except FileNotFoundError:
                continue
    result = RetentionResult(events, files, alerts)
    if events or files or alerts:
        audit.append(
            session,
            actor="retention",
            role="system",
            action="retention.prune",
            object_type="retention",
            object_id=now.date().isoformat(),
            after={"live_events": events, "product_files": files, "alerts": alerts},
        )
    return result


def _deleted(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def retention_job(app: Flask) -> RetentionResult:
    from command.extensions import get_db

    settings = app.config["HAILOPS"]
    started = time.perf_counter()
    with app.app_context(), get_db().session() as session:
        result = prune(
            session,
            settings.products,
            datetime.now(UTC),
            live_events_days=settings.retention_live_events_days,
            products_days=settings.retention_products_days,
            alerts_days=settings.retention_alerts_days,
        )
        session.commit()
    log.info("retention: %s in %.0f ms", result, (time.perf_counter() - started) * 1000)
    return result
