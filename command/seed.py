"""Load the default deployment into an empty database; demo accounts in dev/demo only."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from command.auth import create_user
from command.deployment import deployment
from command.models import MemberUnit, SiteRecord, User
from command.settings import Settings
from command.sitestore import replace_registry

DEMO_PASSWORD = "hailops-demo"  # noqa: S105 - demo/dev only, refused in production
DEMO_ROLES = ("forecaster", "commander", "atc", "military", "member", "admin")


def seed_deployment(session: Session) -> str:
    dep = deployment()
    done = []
    if not session.scalar(select(func.count()).select_from(SiteRecord)):
        replace_registry(session, list(dep.sites), actor="system", role="admin")
        done.append(
            f"{len(dep.sites)} operation sites" + (" (SAMPLE DATA)" if dep.sample_registry else "")
        )
    if not session.scalar(select(func.count()).select_from(MemberUnit)):
        for unit in dep.member_units:
            session.add(
                MemberUnit(
                    key=unit.key,
                    name_zh=unit.name_zh,
                    name_en=unit.name_en,
                    liaison_name=unit.liaison_name,
                    liaison_phone=unit.liaison_phone,
                    liaison_title=unit.liaison_title,
                    sample=unit.sample,
                )
            )
        done.append(f"{len(dep.member_units)} member units")
    session.flush()
    return "deployment loaded: " + ", ".join(done) if done else "deployment already loaded"


def seed_demo_accounts(session: Session, settings: Settings) -> str:
    if settings.env == "production":
        raise RuntimeError("demo accounts are never created in production")
    names: list[tuple[str, str, str | None]] = [(r, r, None) for r in DEMO_ROLES]
    names += [(c, "county_operator", c) for c in sorted(deployment().county_keys())]
    created = []
    for username, role, county in names:
        if session.scalar(select(User).where(User.username == username)) is None:
            create_user(
                session,
                username,
                DEMO_PASSWORD,
                role,
                county=county,
                display_name=username,
                actor="system",
            )
            created.append(username)
    lines = [
        "demo accounts (dev/demo only) — password for all: " + DEMO_PASSWORD,
        "  roles:    " + ", ".join(DEMO_ROLES),
        "  counties: " + ", ".join(sorted(deployment().county_keys())) + " (county_operator)",
    ]
    if created:
        lines.append(f"  created now: {len(created)}")
    return "\n".join(lines)
