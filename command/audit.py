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

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from command.models import AuditRecord

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


def record_digest(rec: AuditRecord) -> str:
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
    head = session.scalars(select(AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)).first()
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


def verify(session: Session) -> VerifyResult:
    """Walk the chain in id order; name the first record whose hash or link is wrong."""
    prev = GENESIS
    count = 0
    for rec in session.scalars(select(AuditRecord).order_by(AuditRecord.id)).yield_per(1000):
        count += 1
        if rec.prev_hash != prev:
            return VerifyResult(False, count, rec.id, "link to the previous record is broken "
                                "(a record was removed, inserted or reordered)")
        if record_digest(rec) != rec.hash:
            return VerifyResult(False, count, rec.id, "content does not match its hash "
                                "(the record was altered)")
        prev = rec.hash
    return VerifyResult(True, count)


@event.listens_for(Session, "before_flush")
def _forbid_audit_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditRecord):
            raise AuditTamperError("the audit log is append-only")
