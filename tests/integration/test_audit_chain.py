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


# --- checkpoints (issue 16): routine verification checks what is new ----------------------
def _tamper(session, sql, **params):
    session.execute(text(sql), params)
    session.commit()


def test_routine_verification_starts_at_the_checkpoint(db_session):
    ids = _fill(db_session, 4)
    first = audit.verify(db_session, full=False)
    db_session.commit()
    assert first.ok and first.checked == 4 and first.from_record_id is None  # no checkpoint yet
    more = _fill(db_session, 3)[4:]
    routine = audit.verify(db_session, full=False)
    db_session.commit()
    assert routine.ok and routine.checked == 3 and routine.total == 7
    assert routine.from_record_id == ids[-1]
    cp = audit.latest_checkpoint(db_session)
    assert cp.record_id == more[-1] and cp.count == 7
    nothing_new = audit.verify(db_session, full=False)
    assert nothing_new.ok and nothing_new.checked == 0 and nothing_new.total == 7


def test_tampering_after_the_checkpoint_is_found_by_routine_verification(db_session):
    _fill(db_session, 4)
    assert audit.verify(db_session, full=False).ok
    db_session.commit()
    new = _fill(db_session, 3)[4:]
    _tamper(db_session, "UPDATE audit_log SET actor = 'mallory' WHERE id = :i", i=new[1])
    result = audit.verify(db_session, full=False)
    assert not result.ok and result.first_broken_id == new[1] and "altered" in result.reason
    assert result.checked == 2  # only the new records were walked


def test_tampering_before_the_checkpoint(db_session):
    """Content altered before the checkpoint with its hashes left alone is for the full walk;
    a rewritten chain (hashes recomputed) or a removed record the routine check finds."""
    ids = _fill(db_session, 5)
    assert audit.verify(db_session, full=False).ok
    db_session.commit()
    _tamper(db_session, "UPDATE audit_log SET actor = 'mallory' WHERE id = :i", i=ids[1])
    full = audit.verify(db_session, full=True, checkpoint=False)
    assert not full.ok and full.first_broken_id == ids[1]
    # The checkpointed head rewritten (as a chain rewrite must do):
    _tamper(db_session, "UPDATE audit_log SET hash = :h WHERE id = :i", h="f" * 64, i=ids[-1])
    rewritten = audit.verify(db_session, full=False)
    assert not rewritten.ok and rewritten.first_broken_id == ids[-1]
    assert "checkpoint" in rewritten.reason


def test_a_record_removed_before_the_checkpoint_is_found_by_routine_verification(db_session):
    ids = _fill(db_session, 5)
    assert audit.verify(db_session, full=False).ok
    db_session.commit()
    _tamper(db_session, "DELETE FROM audit_log WHERE id = :i", i=ids[2])
    result = audit.verify(db_session, full=False)
    assert not result.ok and "removed or inserted" in result.reason


def test_checkpoints_cannot_be_changed_through_the_orm(db_session):
    from command.models import AuditCheckpoint

    _fill(db_session, 2)
    audit.verify(db_session, full=False)
    db_session.commit()
    cp = db_session.scalars(select(AuditCheckpoint)).one()
    cp.hash = "0" * 64
    with pytest.raises(audit.AuditTamperError):
        db_session.flush()
    db_session.rollback()
