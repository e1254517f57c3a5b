"""Each member unit has a liaison and a deputy, with phone (联络员制度).  Every change is
audited with before/after values."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from command import audit
from command.models import LiaisonRecord, MemberUnit
from command.office import OfficeError

LIAISON_ROLES = ("liaison", "deputy")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,30}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def member_unit_json(m: MemberUnit) -> dict[str, Any]:
    """A member unit as the API and the member overview give it (its registry liaison)."""
    return {
        "key": m.key,
        "name_zh": m.name_zh,
        "name_en": m.name_en,
        "liaison": {"name": m.liaison_name, "phone": m.liaison_phone, "title": m.liaison_title},
        "sample": m.sample,
    }


def ensure_liaisons(session: Session) -> int:
    """Create the liaison (from the member unit's record) and a SAMPLE deputy for every unit
    that has none yet.  Returns how many records were created (caller commits)."""
    have = {(r.unit_key, r.role) for r in session.scalars(select(LiaisonRecord))}
    made = 0
    for i, unit in enumerate(session.scalars(select(MemberUnit).order_by(MemberUnit.key)), 1):
        if (unit.key, "liaison") not in have:
            session.add(
                LiaisonRecord(
                    unit_key=unit.key,
                    role="liaison",
                    name=unit.liaison_name or "—",
                    phone=unit.liaison_phone or "—",
                    sample=unit.sample,
                    email=f"liaison.{unit.key}@example.invalid" if unit.sample else "",
                )
            )
            made += 1
        if (unit.key, "deputy") not in have:
            session.add(
                LiaisonRecord(
                    unit_key=unit.key,
                    role="deputy",
                    name=f"样例副联络员（{unit.name_zh}）",
                    sample=True,
                    phone=f"0358-00001{i:02d}",
                    email=f"deputy.{unit.key}@example.invalid",
                )
            )
            made += 1
    session.flush()
    return made


def _as_dict(rec: LiaisonRecord) -> dict[str, Any]:
    return {
        "unit_key": rec.unit_key,
        "role": rec.role,
        "name": rec.name,
        "phone": rec.phone,
        "email": rec.email,
        "username": rec.username,
        "sample": rec.sample,
    }


def validate_contact(body: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = str(body.get("name") or "").strip()
    phone = str(body.get("phone") or "").strip()
    email = str(body.get("email") or "").strip()
    if not name or len(name) > 64:
        errors["name"] = "a name of 1-64 characters is required"
    if not _PHONE.match(phone):
        errors["phone"] = "a phone number (digits, spaces, +, -, parentheses) is required"
    if email and not _EMAIL.match(email):
        errors["email"] = "not an e-mail address"
    return errors


def update_liaison(
    session: Session,
    unit_key: str,
    role: str,
    body: dict[str, Any],
    *,
    actor: str,
    actor_role: str,
    now: datetime,
) -> LiaisonRecord:
    """Replace the contact of one unit's liaison or deputy (audited; caller commits)."""
    if role not in LIAISON_ROLES:
        raise OfficeError("unknown liaison role", {"role": "liaison or deputy"})
    if session.get(MemberUnit, unit_key) is None:
        raise LookupError(f"no member unit {unit_key}")
    errors = validate_contact(body)
    username = str(body.get("username") or "").strip() or None
    if username and len(username) > 64:
        errors["username"] = "at most 64 characters"
    if errors:
        raise OfficeError("invalid liaison", errors)
    rec = session.scalar(
        select(LiaisonRecord).where(LiaisonRecord.unit_key == unit_key, LiaisonRecord.role == role)
    )
    before = None if rec is None else _as_dict(rec)
    if rec is None:
        rec = LiaisonRecord(unit_key=unit_key, role=role)
        session.add(rec)
    rec.name = str(body["name"]).strip()
    rec.phone = str(body["phone"]).strip()
    rec.email = str(body.get("email") or "").strip()
    rec.username = username
    rec.sample = False
    rec.updated_at, rec.updated_by = now, actor
    session.flush()
    audit.append(
        session,
        actor=actor,
        role=actor_role,
        action="liaison.update",
        object_type="member_unit",
        object_id=f"{unit_key}:{role}",
        before=before,
        after=_as_dict(rec),
        at=now,
    )
    return rec


def units_with_liaisons(session: Session) -> list[dict[str, Any]]:
    recs: dict[tuple[str, str], LiaisonRecord] = {
        (r.unit_key, r.role): r for r in session.scalars(select(LiaisonRecord))
    }
    out = []
    for unit in session.scalars(select(MemberUnit).order_by(MemberUnit.key)):
        out.append(
            {
                "key": unit.key,
                "name_zh": unit.name_zh,
                "name_en": unit.name_en,
                **{
                    role: (_as_dict(recs[(unit.key, role)]) if (unit.key, role) in recs else None)
                    for role in LIAISON_ROLES
                },
            }
        )
    return out


def units_of_user(session: Session, username: str) -> list[str]:
    """The member units a user speaks for (as liaison or deputy)."""
    return sorted(
        {
            r.unit_key
            for r in session.scalars(
                select(LiaisonRecord).where(LiaisonRecord.username == username)
            )
        }
    )
