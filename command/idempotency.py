"""Idempotency keys: a client's ``Idempotency-Key`` scoped to its user and endpoint, claimed
before the work is done so a concurrent duplicate waits for, and returns, the first result.

A key sent by another user, or to another endpoint, is a different request: it never returns
someone else's result.  The claim is an INSERT into ``idempotency_keys`` (primary key): on
PostgreSQL a concurrent duplicate blocks on the key's index until the first transaction ends,
then fails the insert and reads the first request's row; SQLite's write transactions run one at
a time, so the duplicate simply finds the row.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from command.models import IdempotencyKey


def scoped_key(username: str, endpoint: str, key: str | None) -> str | None:
    """``k1:`` + 60 hex digits of SHA-256(user, endpoint, key); ``None`` without a key."""
    if not key:
        return None
    digest = hashlib.sha256(f"{username}\x1f{endpoint}\x1f{key}".encode()).hexdigest()
    return f"k1:{digest[:60]}"  # fits the ammunition ledger's 64-character reference


def seen(session: Session, key: str | None) -> IdempotencyKey | None:
    return None if key is None else session.get(IdempotencyKey, key)


def claim(
    session: Session, key: str, action: str, object_id: str, actor: str, at: datetime
) -> IdempotencyKey | None:
    """Claim ``key`` for this request; returns ``None`` when claimed, or the first request's
    row when another request holds it (after waiting for that request's transaction)."""
    try:
        with session.begin_nested():
            session.add(
                IdempotencyKey(key=key, action=action, object_id=object_id, actor=actor, at=at)
            )
    except IntegrityError:
        first = session.get(IdempotencyKey, key, populate_existing=True)
        if first is None:  # the first request rolled back between our insert and this read
            raise
        return first
    return None
