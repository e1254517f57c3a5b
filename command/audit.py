"""Append-only, hash-chained audit log.

Each record's ``hash`` is SHA-256 over the canonical JSON of its content and the previous
record's hash, so altering, deleting or reordering any record breaks the chain from there on.
``prev_hash`` is unique: two writers racing for the same chain head cannot fork the chain
(the loser's transaction fails and is retried by its caller).  On PostgreSQL an advisory
transaction lock serialises appends.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from command.models import AuditCheckpoint, AuditRecord

GENESIS = "0" * 64
_PG_LOCK_KEY = 7_220_401  # arbitrary constant naming "the audit chain"


class AuditTamperError(RuntimeError):
    pass


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable for audit: {type(value).__name__}")


def to_plain(value: Any) -> Any:
    """JSON-normalise a value exactly as it will be stored (and hashed)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_default, sort_keys=True, ensure_ascii=False))


_COLUMNS = (
    "id",
    "at",
    "actor",
    "role",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "drill_id",
    "prev_hash",
    "hash",
)


def record_digest(rec: Any) -> str:
    """SHA-256 of the record's canonical content (an ``AuditRecord`` or a row of its columns)."""
    content = {
        "at": rec.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": rec.actor,
        "role": rec.role,
        "action": rec.action,
        "object_type": rec.object_type,
        "object_id": rec.object_id,
        "before": rec.before,
        "after": rec.after,
        "drill_id": rec.drill_id,
        "prev_hash": rec.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(
    session: Session,
    *,
    actor: str,
    role: str,
    action: str,
    object_type: str,
    object_id: str,
    before: Any = None,
    after: Any = None,
    drill_id: str | None = None,
    at: datetime | None = None,
) -> AuditRecord:
    """Add one audit record to the session's transaction (the caller commits)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    session.flush()
    head = session.scalars(
        select(AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)
    ).first()
    now = (at or datetime.now(UTC)).astimezone(UTC)
    rec = AuditRecord(
        at=now,
        actor=actor,
        role=role,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=to_plain(before),
        after=to_plain(after),
        drill_id=drill_id,
        prev_hash=head or GENESIS,
    )
    rec.hash = record_digest(rec)
    session.add(rec)
    session.flush()
    return rec


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""
    #: Routine verification: the checkpointed record it started after (``None``: from the start).
    from_record_id: int | None = None
    #: Records in the verified chain (the checkpoint's prefix plus those checked now).
    total: int = 0


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))


def verify(session: Session, *, full: bool = True, checkpoint: bool = True) -> VerifyResult:
    """Walk the chain in id order; name the first record whose hash or link is wrong.

    ``full=False`` (routine) starts after the latest checkpoint instead of the genesis: it
    checks that the checkpointed record still carries the verified hash and that the prefix
    still holds as many records, then walks only the records appended since.  A successful
    walk that checked new records adds a checkpoint to the session (the caller commits).
    What routine verification cannot see — the content of a record before the checkpoint
    altered while its stored hashes are left alone — the full walk finds.
    """
    start = None if full else latest_checkpoint(session)
    prev, count, base = GENESIS, 0, 0
    # Plain rows, not ORM objects: the digest reads the same attribute names, and a season's
    # chain is walked without building (and tracking) an object per record.
    q = select(*(getattr(AuditRecord, c) for c in _COLUMNS)).order_by(AuditRecord.id)
    if start is not None:
        head = session.get(AuditRecord, start.record_id)
        if head is None or head.hash != start.hash:
            return VerifyResult(
                False,
                0,
                start.record_id,
                "the checkpointed record was removed or rewritten (run a full verification)",
                start.record_id,
            )
        prefix = session.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.id <= start.record_id)
        )
        if prefix != start.count:
            return VerifyResult(
                False,
                0,
                start.record_id,
                f"{start.count} records were verified "
                f"up to record {start.record_id}, {prefix} are there now (records "
                "were removed or inserted; run a full verification)",
                start.record_id,
            )
        prev, base = start.hash, start.count
        q = q.where(AuditRecord.id > start.record_id)
    last: Any = None
    for rec in session.execute(q.execution_options(yield_per=5000)):
        count += 1
        if rec.prev_hash != prev:
            return VerifyResult(
                False,
                count,
                rec.id,
                "link to the previous record is broken "
                "(a record was removed, inserted or reordered)",
                None if start is None else start.record_id,
            )
        if record_digest(rec) != rec.hash:
            return VerifyResult(
                False,
                count,
                rec.id,
                "content does not match its hash (the record was altered)",
                None if start is None else start.record_id,
            )
        prev, last = rec.hash, rec
    if checkpoint and last is not None:
        session.add(
            AuditCheckpoint(
                record_id=last.id,
                hash=last.hash,
                count=base + count,
                full=start is None,
                at=datetime.now(UTC),
            )
        )
        session.flush()
    return VerifyResult(
        True, count, from_record_id=None if start is None else start.record_id, total=base + count
    )


@event.listens_for(Session, "before_flush")
def _forbid_audit_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, (AuditRecord, AuditCheckpoint)):
            raise AuditTamperError("the audit log is append-only")
