"""The audit log is hash-chained: any alteration, deletion or reordering is detected and the
first broken record is named."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from command import audit
from command.models import AuditRecord


def _fill(session, n=5):
    for i in range(n):
        audit.append(session, actor="commander", role="commander", action="test.step",
                     object_type="operation", object_id=f"OP{i}", before={"state": i},
                     after={"state": i + 1, "note": "冰雹"})
    session.commit()
    return [r.id for r in session.scalars(select(AuditRecord).order_by(AuditRecord.id))]


def test_intact_chain_verifies(db_session):
    _fill(db_session)
    result = audit.verify(db_session)
    assert result.ok and result.checked == 5


def test_altered_content_is_detected_and_named(db_session):
    ids = _fill(db_session)
    db_session.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = :i"), {"i": ids[2]})
    db_session.commit()
    result = audit.verify(db_session)
    assert not result.ok
    assert result.first_broken_id == ids[2]
    assert "altered" in result.reason


def test_deleted_record_is_detected(db_session):
    ids = _fill(db_session)
    db_session.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": ids[1]})
    db_session.commit()
    result = audit.verify(db_session)
    assert not result.ok and result.first_broken_id == ids[2]
    assert "link" in result.reason


def test_orm_refuses_to_change_audit_records(db_session):
    _fill(db_session, 1)
    rec = db_session.scalars(select(AuditRecord)).one()
    rec.actor = "mallory"
    with pytest.raises(audit.AuditTamperError):
        db_session.flush()


def test_chain_cannot_fork(db_session):
    """Two records claiming the same predecessor violate the unique prev_hash."""
    from sqlalchemy.exc import IntegrityError

    _fill(db_session, 1)
    head = db_session.scalars(select(AuditRecord)).one()
    clone = AuditRecord(at=head.at, actor="x", role="x", action="x", object_type="x",
                        object_id="x", prev_hash=head.prev_hash, hash="f" * 64)
    db_session.add(clone)
    with pytest.raises(IntegrityError):
        db_session.commit()
