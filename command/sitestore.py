"""Database side of the site registry: Site dataclasses <-> rows, ammunition stock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from command import audit
from command.models import AmmunitionEntry, SiteRecord
from sites.model import Contact, Equipment, EquipmentKind, Readiness, Sector, Site


def equipment_to_json(eq: Equipment) -> dict[str, Any]:
    return {
        "kind": eq.kind.value,
        "model": eq.model,
        "range_km": eq.range_km,
        "ceiling_km": eq.ceiling_km,
        "count": eq.count,
        "sectors": [[s.start_deg, s.end_deg] for s in eq.sectors],
        "min_elevation_deg": eq.min_elevation_deg,
        "max_elevation_deg": eq.max_elevation_deg,
    }


def equipment_from_json(d: dict[str, Any]) -> Equipment:
    return Equipment(
        kind=EquipmentKind(d["kind"]),
        model=d.get("model", ""),
        range_km=float(d["range_km"]),
        ceiling_km=float(d["ceiling_km"]),
        count=int(d.get("count", 1)),
        sectors=tuple(Sector(float(a), float(b)) for a, b in d["sectors"]),
        min_elevation_deg=float(d.get("min_elevation_deg", 45.0)),
        max_elevation_deg=float(d.get("max_elevation_deg", 85.0)),
    )


def stock(session: Session, site_code: str, drill_id: str | None = None) -> dict[str, int]:
    q = (
        select(AmmunitionEntry.ammo_type, func.sum(AmmunitionEntry.delta))
        .where(AmmunitionEntry.site_code == site_code)
        .group_by(AmmunitionEntry.ammo_type)
    )
    q = (
        q.where(AmmunitionEntry.drill_id.is_(None))
        if drill_id is None
        else q.where((AmmunitionEntry.drill_id.is_(None)) | (AmmunitionEntry.drill_id == drill_id))
    )
    return {t: int(n) for t, n in session.execute(q)}


def to_site(rec: SiteRecord, ammunition: dict[str, int] | None = None) -> Site:
    return Site(
        code=rec.code,
        name=rec.name,
        county=rec.county,
        lat=rec.lat,
        lon=rec.lon,
        elevation_m=rec.elevation_m,
        equipment=tuple(equipment_from_json(e) for e in rec.equipment),
        ammunition=dict(ammunition or {}),
        readiness=Readiness(rec.readiness),
        contacts=tuple(Contact(**c) for c in (rec.contacts or [])),
        sample=rec.sample,
    )


def site_json(site: Site) -> dict[str, Any]:
    return {
        "code": site.code,
        "name": site.name,
        "county": site.county,
        "lat": site.lat,
        "lon": site.lon,
        "elevation_m": site.elevation_m,
        "equipment": [equipment_to_json(e) for e in site.equipment],
        "ammunition": dict(site.ammunition),
        "readiness": site.readiness.value,
        "contacts": [{"name": c.name, "phone": c.phone, "role": c.role} for c in site.contacts],
        "sample": site.sample,
    }


def load_sites(
    session: Session, county: str | None = None, drill_id: str | None = None
) -> list[Site]:
    """The sites with their stock; in a drill (``drill_id``) the drill's world: the stock of
    the drill's ledger (the live entries and the drill's own), and a readiness that follows the
    drill's operations, never a live operation (see :func:`drill_readiness`)."""
    q = select(SiteRecord).order_by(SiteRecord.code)
    if county is not None:
        q = q.where(SiteRecord.county == county)
    world = (
        AmmunitionEntry.drill_id.is_(None)
        if drill_id is None
        else (AmmunitionEntry.drill_id.is_(None) | (AmmunitionEntry.drill_id == drill_id))
    )
    stocks: dict[str, dict[str, int]] = {}
    for code, ammo_type, total in session.execute(
        select(
            AmmunitionEntry.site_code, AmmunitionEntry.ammo_type, func.sum(AmmunitionEntry.delta)
        )
        .where(world)
        .group_by(AmmunitionEntry.site_code, AmmunitionEntry.ammo_type)
    ):
        stocks.setdefault(code, {})[ammo_type] = int(total)  # one query, not one per site
    sites = [to_site(r, stocks.get(r.code, {})) for r in session.scalars(q)]
    if drill_id is None:
        return sites
    from dataclasses import replace

    from command.models import OperationRecord

    firing = set(
        session.scalars(
            select(OperationRecord.site_code).where(
                OperationRecord.drill_id == drill_id, OperationRecord.state == "firing"
            )
        )
    )
    return [replace(s, readiness=drill_readiness(s, s.code in firing)) for s in sites]


def drill_readiness(site: Site, firing_in_drill: bool) -> Readiness:
    """A site's readiness in a drill: firing while a drill operation fires, out of ammunition
    at zero stock of the drill's ledger, offline or standby as the site really is; a live
    operation's firing is not the drill's (the site is ready in the drill)."""
    if firing_in_drill:
        return Readiness.FIRING
    if not any(n > 0 for n in site.ammunition.values()):
        return Readiness.OUT_OF_AMMUNITION
    if site.readiness in (Readiness.OFFLINE, Readiness.STANDBY):
        return site.readiness
    return Readiness.READY


def replace_registry(
    session: Session, sites: list[Site], actor: str, role: str
) -> list[dict[str, Any]]:
    """Upsert a validated registry as a whole (one transaction, owned by the caller).

    A new site's ``ammunition`` is its opening stock (one ``initial`` ledger entry).  An
    existing site's stock is never changed by an import (re-importing an older file would
    silently undo firings and restocks): stock moves only through the ammunition ledger.
    Returns the ignored differences, ``[{code, ammo_type, in_file, in_ledger}]``."""
    existing = {r.code: r for r in session.scalars(select(SiteRecord))}
    ignored: list[dict[str, Any]] = []
    for site in sites:
        rec = existing.get(site.code)
        before = None if rec is None else site_json(to_site(rec, stock(session, rec.code)))
        if rec is None:
            rec = SiteRecord(code=site.code)
            session.add(rec)
        rec.name, rec.county, rec.lat, rec.lon = site.name, site.county, site.lat, site.lon
        rec.elevation_m = site.elevation_m
        rec.equipment = [equipment_to_json(e) for e in site.equipment]
        rec.contacts = [{"name": c.name, "phone": c.phone, "role": c.role} for c in site.contacts]
        rec.readiness, rec.sample = site.readiness.value, site.sample
        session.flush()
        current = stock(session, site.code)
        if before is None:
            for ammo_type, count in site.ammunition.items():
                if count:
                    session.add(
                        AmmunitionEntry(
                            site_code=site.code,
                            ammo_type=ammo_type,
                            delta=count,
                            reason="initial",
                            actor=actor,
                        )
                    )
        else:
            ignored += [
                {"code": site.code, "ammo_type": t, "in_file": n, "in_ledger": current.get(t, 0)}
                for t, n in sorted(site.ammunition.items())
                if n != current.get(t, 0)
            ]
        audit.append(
            session,
            actor=actor,
            role=role,
            action="site.create" if before is None else "site.update",
            object_type="site",
            object_id=site.code,
            before=before,
            after=site_json(site) | ({} if before is None else {"ammunition": current}),
        )
    return ignored


def change_readiness(
    session: Session,
    site: SiteRecord,
    target: str,
    *,
    actor: str,
    role: str,
    at: datetime | None = None,
    why: dict[str, Any] | None = None,
    announced: dict[str, Any] | None = None,
) -> str:
    """Set a site's readiness: persisted, audited (``why`` joins the record's ``after``), then
    announced as ``site.status`` to everyone and the site's county (``announced`` joins the
    event).  The caller commits.  Returns the readiness it had."""
    from command.push import ROOM_ALL, announce, room_county

    previous, site.readiness = site.readiness, target
    audit.append(
        session,
        actor=actor,
        role=role,
        action="site.readiness",
        object_type="site",
        object_id=site.code,
        at=at,
        before={"readiness": previous},
        after={"readiness": target, **(why or {})},
    )
    announce(
        session,
        "site.status",
        {"code": site.code, "readiness": target, "county": site.county, **(announced or {})},
        [ROOM_ALL, room_county(site.county)],
    )
    return previous
