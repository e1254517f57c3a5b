"""Issue 12: live events, product images and acknowledged alerts are pruned by the policy;
what is recent, and every unacknowledged alert, stays."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from command.models import AuditRecord, EscalationRecord, LiveEvent
from command.retention import prune


def test_prune_keeps_recent_and_unacknowledged_and_removes_the_rest(
    app, db_session, tmp_path
) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=40), now - timedelta(days=1)
    db_session.add_all(
        [
            LiveEvent(event="x", rooms=["all"], payload={}, at=old),
            LiveEvent(event="x", rooms=["all"], payload={}, at=recent),
        ]
    )
    db_session.add_all(
        [
            EscalationRecord(
                operation_id="OP1",
                kind="k",
                step="a",
                level=1,
                raised_at=old,
                acked_by="c",
                acked_at=now - timedelta(days=100),
            ),
            EscalationRecord(operation_id="OP1", kind="k", step="b", level=1, raised_at=old),
            EscalationRecord(
                operation_id="OP2",
                kind="k",
                step="a",
                level=1,
                raised_at=recent,
                acked_by="c",
                acked_at=recent,
            ),
        ]
    )
    db_session.commit()
    products = tmp_path / "products"
    products.mkdir()
    stale, fresh = products / "old_refl.png", products / "new_refl.png"
    stale.write_bytes(b"png"), fresh.write_bytes(b"png")
    os.utime(stale, (old.timestamp(), old.timestamp()))

    result = prune(db_session, products, now, live_events_days=14, products_days=30, alerts_days=90)
    db_session.commit()
    assert (result.live_events, result.product_files, result.alerts) == (1, 1, 1)
    assert db_session.scalar(select(func.count()).select_from(LiveEvent)) == 1
    assert sorted(db_session.scalars(select(EscalationRecord.step))) == ["a", "b"]
    assert not stale.exists() and fresh.exists()
    assert (
        db_session.scalar(select(AuditRecord.action).where(AuditRecord.action == "retention.prune"))
        == "retention.prune"
    )
