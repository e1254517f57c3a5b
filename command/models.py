"""SQLAlchemy 2.x typed models.  Timestamps are timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from command.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware UTC datetimes; SQLite drops tzinfo, so it is restored on load."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(32))
    county: Mapped[str | None] = mapped_column(String(32), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of the session cookie's user id: bumped at logout, revocation and deactivation,
    # so every cookie issued before no longer loads the user.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    # Flask-Login protocol (kept here so the shell needs no wrapper class).
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version or 1}"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship(back_populates="tokens")


class AuditRecord(Base):
    """Append-only, hash-chained record of one state change."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32), index=True)
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)
    drill_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # no forks in the chain
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    # The warnings list filters by action and time.
    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"),)


class AuditCheckpoint(Base):
    """A verified prefix of the audit chain: every record up to ``record_id`` (``count`` of
    them) was verified and the chain head there had ``hash``.  Routine verification starts
    here; ``hailops audit verify --full`` walks the whole chain again."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SiteRecord(Base):
    """An operation site of the registry; equipment and contacts as validated JSON."""

    __tablename__ = "sites"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    county: Mapped[str] = mapped_column(String(32), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    elevation_m: Mapped[float] = mapped_column(Float)
    equipment: Mapped[Any] = mapped_column(JSON)
    contacts: Mapped[Any] = mapped_column(JSON, default=list)
    readiness: Mapped[str] = mapped_column(String(32), default="ready")
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AmmunitionEntry(Base):
    """Ledger line: the stock of a site and type is the sum of its deltas (never negative)."""

    __tablename__ = "ammunition_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_code: Mapped[str] = mapped_column(ForeignKey("sites.code", ondelete="CASCADE"), index=True)
    ammo_type: Mapped[str] = mapped_column(String(32))
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))  # initial, restock, report, adjust
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64), default="system")
    drill_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)


class MemberUnit(Base):
    __tablename__ = "member_units"

    key: Mapped[str] = mapped_column(String(48), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(128))
    liaison_name: Mapped[str] = mapped_column(String(64), default="")
    liaison_phone: Mapped[str] = mapped_column(String(32), default="")
    liaison_title: Mapped[str] = mapped_column(String(64), default="")
    sample: Mapped[bool] = mapped_column(Boolean, default=False)


class RadarVolume(Base):
    """One ingested radar file (processed once, keyed by content hash)."""

    __tablename__ = "radar_volumes"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # processed | quarantined
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    scan_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    radar: Mapped[Any] = mapped_column(JSON, nullable=True)
    levels: Mapped[Any] = mapped_column(JSON, nullable=True)
    products: Mapped[Any] = mapped_column(JSON, nullable=True)
    tracks: Mapped[Any] = mapped_column(JSON, nullable=True)
    processing_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    drill_id: Mapped[str | None] = mapped_column(
        String(32), nullable=True
    )  # indexed with scan_time
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cells: Mapped[list[CellRecord]] = relationship(back_populates="volume")

    __table_args__ = (
        # The time slider and "latest volume" of one world (live or a drill) by scan time.
        Index("ix_radar_volumes_drill_scan_time", "drill_id", "scan_time"),
        # /healthz: quarantined volumes (count and the latest few).
        Index("ix_radar_volumes_status_id", "status", "id"),
    )


class StormTrack(Base):
    """A storm as people know it (issue 11): one track of the tracker (``track_id``, e.g.
    ``T0003``) in one world (live, or one drill), with one name and one review state that
    carry across scans until the forecaster changes them.  Every cell of the track links to
    it (``cells.storm_id``).

    The shown name is ``name`` when the forecaster gave one, else "风暴 <number>" / "Storm
    <number>" (``command.storms.storm_name``); ``number`` comes from the track id, so the
    name is stable from the first scan.  A tracker whose ids restart (its state lost) makes
    new storms: ``first_seen`` (the track's first scan) is part of the identity.
    ``reviewed_hail``/``reviewed_mesh_mm`` are what the storm was when the forecaster decided
    (a dismissed storm that crosses into hail or severe hail goes back to review:
    ``dispatch.review``); ``reopened`` says why it did."""

    __tablename__ = "storm_tracks"
    __table_args__ = (
        UniqueConstraint("drill_key", "track_id", "first_seen", name="uq_storm_track"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[str] = mapped_column(String(32))
    drill_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    drill_key: Mapped[str] = mapped_column(String(32), default="")  # drill id or "" (unique key)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_cell_id: Mapped[str] = mapped_column(String(64), default="")
    parent_track_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    review: Mapped[str] = mapped_column(String(16), default="new")  # dispatch.review.Review
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_hail: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    reviewed_mesh_mm: Mapped[float | None] = mapped_column(Float, nullable=True)
    reopened: Mapped[str | None] = mapped_column(
        String(16), nullable=True
    )  # dispatch.review.Reopen
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CellRecord(Base):
    __tablename__ = "cells"

    id: Mapped[int] = mapped_column(primary_key=True)
    volume_id: Mapped[int] = mapped_column(
        ForeignKey("radar_volumes.id", ondelete="CASCADE"), index=True
    )
    cell_id: Mapped[str] = mapped_column(String(64), index=True)
    track_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    scan_time: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    feature: Mapped[Any] = mapped_column(JSON)  # the GeoJSON Feature of `radar detect`
    hail: Mapped[bool] = mapped_column(Boolean, default=False)
    review: Mapped[str] = mapped_column(String(16), default="new")  # new|confirmed|dismissed
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    review_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    drill_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    # The storm (track) this cell is a scan of: its name and review (issue 11).
    storm_id: Mapped[int | None] = mapped_column(
        ForeignKey("storm_tracks.id", ondelete="SET NULL"), nullable=True, index=True
    )

    volume: Mapped[RadarVolume] = relationship(back_populates="cells")
    storm: Mapped[StormTrack | None] = relationship()


class LiveEvent(Base):
    """Every pushed event, numbered, so a reconnecting client can catch up."""

    __tablename__ = "live_events"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(64))
    rooms: Mapped[Any] = mapped_column(JSON)  # list of room names
    payload: Mapped[Any] = mapped_column(JSON)


class ServiceStatus(Base):
    """Heartbeats and state of background services (scheduler, radar feed), for /healthz."""

    __tablename__ = "service_status"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    info: Mapped[Any] = mapped_column(JSON, default=dict)


class OperationRecord(Base):
    """One operation (a site engaging a cell): indexed columns plus the core value as JSON.

    ``version`` is bumped on every transition and checked on write (optimistic locking), so two
    concurrent transitions cannot both apply to the same state.
    """

    __tablename__ = "operations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    cell_id: Mapped[str] = mapped_column(String(64), index=True)
    site_code: Mapped[str] = mapped_column(String(32), index=True)
    county: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(24), index=True)
    drill_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # indexed, see below
    data: Mapped[Any] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # The operations list of one world, newest first, and its open operations.
        Index("ix_operations_drill_created", "drill_id", "created_at"),
        Index("ix_operations_drill_state", "drill_id", "state"),
    )


class IdempotencyKey(Base):
    """A client's retry key for a request that creates something (e.g. a proposal)."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StandingAgreementRecord(Base):
    """Standing airspace coordination by one authority for one site (core value as JSON)."""

    __tablename__ = "standing_agreements"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    site_code: Mapped[str] = mapped_column(String(32), index=True)
    authority: Mapped[str] = mapped_column(String(16))
    data: Mapped[Any] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Made inside a drill: applies to that drill's operations only (live ones apply to both).
    drill_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)


class EscalationRecord(Base):
    """One raised step of an escalation ladder (dispatch.escalation), until a person
    acknowledges it.  Unique per operation, ladder and step: raising is idempotent."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("operation_id", "kind", "step", name="uq_escalation_step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    info: Mapped[Any] = mapped_column(JSON, default=dict)  # waiting_for, contacts, site, county
    acked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    drill_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)


class DrillEvent(Base):
    """An archived event for drills: its radar volumes (original scan times) and sounding."""

    __tablename__ = "drill_events"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    directory: Mapped[str] = mapped_column(Text)
    volumes: Mapped[Any] = mapped_column(JSON)  # [{"file", "scan_time", "format"}] in time order
    radar: Mapped[Any] = mapped_column(JSON)  # {"lat", "lon", "alt_m", "name"}
    sounding: Mapped[str | None] = mapped_column(Text, nullable=True)
    notes: Mapped[Any] = mapped_column(JSON, default=list)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Ground truth from the event's manifest: [{"time", "lat", "lon", "size_mm", "place"}],
    # None when the event has no reports (the drill report says so).
    reports: Mapped[Any] = mapped_column(JSON, nullable=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DrillRecord(Base):
    """One run of a drill.  The drill clock runs on the event's own time:
    ``now = anchor_event + (wall_now - anchor_wall) * speed`` while running."""

    __tablename__ = "drills"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    speed: Mapped[float] = mapped_column(Float)
    relocated: Mapped[bool] = mapped_column(Boolean, default=False)
    relocate_to: Mapped[Any] = mapped_column(JSON, nullable=True)  # {"lat", "lon"}
    auto_approve: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), index=True)  # running|paused|stopped|completed
    anchor_event: Mapped[datetime] = mapped_column(UTCDateTime)
    anchor_wall: Mapped[datetime] = mapped_column(UTCDateTime)
    script: Mapped[Any] = mapped_column(JSON, default=list)
    overrides: Mapped[Any] = mapped_column(JSON, default=dict)  # site readiness injects
    timeline: Mapped[Any] = mapped_column(JSON, default=list)  # what happened, drill time
    started_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Who runs it and how far it got, so a crash or restart resumes it or ends it cleanly:
    # progress = {"drill_time", "next_volume", "injects_done", ...}; the runner writes
    # heartbeat_at every few seconds (wall clock).
    runner: Mapped[str | None] = mapped_column(String(96), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    progress: Mapped[Any] = mapped_column(JSON, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


# --- Office work (command/office): liaisons, meetings, ground hail reports, bulletins,
# --- outbox, neighbours and storm handovers.  Owned by command/office; one migration (0002_i15).


class LiaisonRecord(Base):
    """A member unit's liaison (``role`` = liaison) or deputy; changes are audited."""

    __tablename__ = "office_liaisons"
    __table_args__ = (UniqueConstraint("unit_key", "role", name="uq_office_liaison_unit_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_key: Mapped[str] = mapped_column(
        ForeignKey("member_units.key", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # liaison | deputy
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(128), default="")
    username: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="system")


class MeetingRecord(Base):
    """A plenary or ad hoc meeting: attendance as ``{unit_key: attendee name}``."""

    __tablename__ = "office_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    held_on: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # plenary | ad_hoc
    title: Mapped[str] = mapped_column(String(200))
    attendance: Mapped[Any] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    decisions: Mapped[list[DecisionRecord]] = relationship(
        back_populates="meeting", order_by="DecisionRecord.id"
    )


class DecisionRecord(Base):
    """A meeting decision with its owner unit and due date, followed up until done."""

    __tablename__ = "office_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("office_meetings.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    owner_unit: Mapped[str] = mapped_column(ForeignKey("member_units.key"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | done
    follow_ups: Mapped[Any] = mapped_column(JSON, default=list)  # [{"at", "by", "note", "done"}]
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    meeting: Mapped[MeetingRecord] = relationship(back_populates="decisions")


class GroundReportRecord(Base):
    """A ground hail report (降雹实况): hail seen at a place and time, with a size class."""

    __tablename__ = "office_ground_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    county: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    place: Mapped[str] = mapped_column(String(200), default="")
    size_class: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[str | None] = mapped_column(String(80), nullable=True)  # file name under instance
    reporter: Mapped[str] = mapped_column(String(64))
    reporter_role: Mapped[str] = mapped_column(String(32))
    drill_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BulletinRecord(Base):
    """A bulletin (作业情况通报) or ad hoc notice; ``number`` is given when it is issued."""

    __tablename__ = "office_bulletins"
    __table_args__ = (UniqueConstraint("year", "number", name="uq_office_bulletin_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # bulletin | notice
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)  # draft | issued
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # editable text (paragraphs)
    figures: Mapped[Any] = mapped_column(JSON, default=dict)  # the record it was drafted from
    source: Mapped[str] = mapped_column(String(64), default="")  # drill:<id> | day:<date> | manual
    drill_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    html: Mapped[str | None] = mapped_column(Text, nullable=True)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeliveryRecord(Base):
    """One issued bulletin delivered to one member unit; its liaison confirms receipt."""

    __tablename__ = "office_deliveries"
    __table_args__ = (UniqueConstraint("bulletin_id", "unit_key", name="uq_office_delivery"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(
        ForeignKey("office_bulletins.id", ondelete="CASCADE"), index=True
    )
    unit_key: Mapped[str] = mapped_column(ForeignKey("member_units.key"), index=True)
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    chases: Mapped[int] = mapped_column(Integer, default=0)
    last_chased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OutboxMessage(Base):
    """An e-mail waiting to be sent (or sent) by the outbox job over SMTP."""

    __tablename__ = "office_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_addr: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    ref: Mapped[str] = mapped_column(
        String(64), default="", index=True
    )  # bulletin:<id>, handover:<id>
    state: Mapped[str] = mapped_column(
        String(16), default="pending", index=True
    )  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class NeighbourLiaison(Base):
    """The liaison of a neighbouring city for joint defence (联防联控)."""

    __tablename__ = "office_neighbour_liaisons"

    neighbour_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(128), default="")
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64), default="system")


class HandoverRecord(Base):
    """A storm handover notice: ``out`` (drafted here for a neighbour) or ``in`` (received)."""

    __tablename__ = "office_handovers"
    __table_args__ = (
        UniqueConstraint(
            "direction", "track_id", "neighbour_key", "drill_key", name="uq_office_handover_track"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))  # out | in
    neighbour_key: Mapped[str] = mapped_column(String(32), index=True)
    track_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(
        String(16), default="draft", index=True
    )  # draft|sent|received
    crossing_at: Mapped[datetime] = mapped_column(UTCDateTime)
    crossing_lat: Mapped[float] = mapped_column(Float)
    crossing_lon: Mapped[float] = mapped_column(Float)
    mesh_mm: Mapped[float | None] = mapped_column(Float, nullable=True)
    speed_mps: Mapped[float | None] = mapped_column(Float, nullable=True)
    direction_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")
    drill_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    drill_key: Mapped[str] = mapped_column(String(32), default="")  # drill id or "" (unique key)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
