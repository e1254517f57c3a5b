"""Typed, validated settings read from ``HAILOPS_*`` environment variables.

One object per app; tests pass overrides to ``create_app(config)`` instead of mutating
globals.  Production refuses to start without a secret key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-only-insecure-secret"  # noqa: S105 - only ever used in dev/test/demo

ROLES = ("forecaster", "commander", "atc", "military", "county_operator", "member", "admin")


class SettingsError(RuntimeError):
    """Settings are missing or invalid; the message says which and how to fix it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAILOPS_", extra="forbid")

    env: Literal["dev", "test", "demo", "production"] = "dev"
    secret_key: str | None = None
    database_url: str | None = None
    instance_path: Path = PROJECT_ROOT / "instance"
    # Socket.IO message queue (e.g. redis://127.0.0.1:6379/0) to scale across processes.
    message_queue: str | None = None
    # Redis pub/sub ignores the database index: each deployment sharing a Redis server needs
    # its own channel, or it would deliver another deployment's events.
    message_queue_channel: str = "hailops"
    # Radar feed: new volumes are dropped here; bad files are moved to quarantine.
    incoming_dir: Path | None = None
    quarantine_dir: Path | None = None
    products_dir: Path | None = None
    radar_poll_seconds: int = Field(default=30, ge=1, le=3600)
    # Each volume is read in a child process, stopped after this many seconds.
    radar_isolate: bool = True
    radar_timeout_s: float = Field(default=120.0, gt=0)
    # A file is read only once complete: unchanged (size and mtime) for this many seconds, or
    # written under a temporary name (".name", "*.part", "*.tmp") and renamed when done.
    radar_settle_s: float = Field(default=1.0, ge=0)
    # At scheduler start, start the reading process and import Py-ART there (and warm this
    # process's overlay writer), so the first volume after a start is as quick as the next.
    radar_warm_up: bool = True
    # Retention (command/retention.py, README "Retention").
    retention_live_events_days: int = Field(default=14, ge=1)
    retention_products_days: int = Field(default=30, ge=1)
    retention_alerts_days: int = Field(default=90, ge=1)
    scheduler_enabled: bool = True
    # Seasonal fallback temperature levels (m ASL) when no sounding is configured.
    seasonal_h0_m: float = Field(default=4300.0, gt=0)
    seasonal_h20_m: float = Field(default=7600.0, gt=0)
    sounding_path: Path | None = None
    default_locale: Literal["zh", "en"] = "zh"
    timezone: str = "Asia/Shanghai"
    # Failed logins allowed per account, and per client address (many people may share one
    # address behind a NAT, so that limit is higher).  Counted in a store shared by all web
    # processes: HAILOPS_RATELIMIT_STORAGE_URI, by default the message-queue Redis in
    # production and process memory in dev/test.
    login_rate_limit: str = "10 per minute"
    login_address_limit: str = "100 per minute"
    ratelimit_storage_uri: str | None = None
    # API tokens expire after this many days (hailops users token --days overrides).
    # How often each web process re-checks its open sockets against revocations made
    # elsewhere (revocations in the same process disconnect at once).
    socket_check_seconds: float = Field(default=5.0, gt=0, le=300)
    socket_sweep: bool | None = None  # None: on, except in tests (which enable it when needed)
    token_ttl_days: float = Field(default=90.0, gt=0, le=3650)
    demo_accounts: bool = False
    deployment_dir: Path | None = None
    # Secure session cookies: on by default in production (None = decide by env).
    session_cookie_secure: bool | None = None
    # Origins allowed to open Socket.IO connections (JSON list, e.g.
    # '["https://ops.example.cn"]'); unset = same origin only.
    socketio_allowed_origins: list[str] | None = None
    # Socket.IO concurrency model: "threading" (hailops serve / run: gunicorn gthread +
    # simple-websocket, the measured choice) or "gevent" (only under a gevent-patched server,
    # e.g. `gunicorn -k gevent wsgi:app`; bench/bench_server.py compares the two).
    socketio_async_mode: Literal["threading", "gevent"] = "threading"
    # Reverse proxies in front of the app (TLS termination): how many X-Forwarded-* hops to
    # trust for scheme, host and client address (0 = served directly).
    trusted_proxies: int = Field(default=0, ge=0, le=5)
    # Largest request body accepted (bytes); larger ones get 413 before being read.
    max_content_length: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Monthly drill: a crontab in Beijing time (e.g. "0 9 15 * *" = the 15th, 09:00), the
    # event to replay, its speed, and how long before it participants are told.
    drill_cron: str | None = None
    drill_event: str = "canberra_20181220"
    drill_speed: float = Field(default=1.0, ge=1.0, le=600.0)
    drill_announce_hours: float = Field(default=24.0, ge=0.0)
    # Office (command/office): ground-report photos, bulletins, the e-mail outbox.
    office_photo_max_bytes: int = Field(default=5_000_000, ge=10_000)
    office_photo_max_pixels: int = Field(default=40_000_000, ge=10_000)
    bulletin_hour: int | None = Field(default=None, ge=0, le=23)  # daily draft, Beijing time
    bulletin_chase_hours: float = Field(default=4.0, gt=0)  # unread bulletins chased after this
    bulletin_prefix: str | None = None  # else office.json of the deployment (吕防雹通)
    restock_below_rounds: int = Field(default=20, ge=0)  # a site/type below this needs restock
    # A site is not recommended again until this long after its last firing ended (the crew
    # clears, re-lays, reloads and reports; dispatch/recommend.py step 8).
    reengage_cooldown_min: float = Field(default=10.0, ge=0, le=240)
    smtp_host: str | None = None  # no host: e-mail stays in the outbox (shown on the page)
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "hailops@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    # Escalation ladders (minutes after the order / the clearance request): banner and sound,
    # then second contact and liaison phone, then the commander's alarm.  JSON lists.
    escalation_order_min: list[float] = Field(default_factory=lambda: [2.0, 4.0, 6.0])
    escalation_clearance_min: list[float] = Field(default_factory=lambda: [3.0, 6.0, 9.0])
    # How often the deadline watch (expiries, alerts, escalation) runs.
    watch_interval_s: int = Field(default=20, ge=1, le=600)

    @field_validator("escalation_order_min", "escalation_clearance_min")
    @classmethod
    def _three_increasing(cls, value: list[float]) -> list[float]:
        if len(value) != 3 or any(v < 0 for v in value) or value != sorted(value):
            raise ValueError("three non-negative minutes in increasing order, e.g. [2, 4, 6]")
        return value

    @field_validator("drill_cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value)
            except ValueError as exc:
                raise ValueError(f"not a crontab expression: {exc}") from None
        return value or None

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if not value.startswith(("sqlite", "postgresql+psycopg")):
            raise ValueError("only sqlite:// and postgresql:// URLs are supported")
        return value

    @model_validator(mode="after")
    def _secret_outside_dev(self) -> Settings:
        if self.secret_key is None:
            if self.env == "production":
                raise ValueError(
                    "HAILOPS_SECRET_KEY must be set in production "
                    "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
                )
            self.secret_key = DEV_SECRET
        if self.env == "production":
            _check_production_secret(self.secret_key)
        if self.ratelimit_storage_uri is None:
            if self.env != "production":
                self.ratelimit_storage_uri = "memory://"
            elif self.message_queue and self.message_queue.startswith(("redis://", "rediss://")):
                self.ratelimit_storage_uri = self.message_queue
            else:
                raise ValueError(
                    "production needs a login-throttling store shared by all web processes: "
                    "set HAILOPS_RATELIMIT_STORAGE_URI (e.g. redis://127.0.0.1:6379/0) or a "
                    "Redis HAILOPS_MESSAGE_QUEUE"
                )
        if self.session_cookie_secure is None:
            self.session_cookie_secure = self.env == "production"
        if self.seasonal_h20_m <= self.seasonal_h0_m:
            raise ValueError("HAILOPS_SEASONAL_H20_M must be above HAILOPS_SEASONAL_H0_M")
        return self

    @property
    def socket_sweep_enabled(self) -> bool:
        return self.socket_sweep if self.socket_sweep is not None else self.env != "test"

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.instance_path / 'hailops.sqlite3'}"

    @property
    def incoming(self) -> Path:
        return self.incoming_dir or self.instance_path / "incoming"

    @property
    def quarantine(self) -> Path:
        return self.quarantine_dir or self.instance_path / "quarantine"

    @property
    def products(self) -> Path:
        return self.products_dir or self.instance_path / "products"


MIN_SECRET_LENGTH = 32


def _check_production_secret(secret: str) -> None:
    """A session-signing key must be long and random: 32+ characters, not a repeated few."""
    if secret == DEV_SECRET or len(secret) < MIN_SECRET_LENGTH or len(set(secret)) < 10:
        raise ValueError(
            f"HAILOPS_SECRET_KEY must be at least {MIN_SECRET_LENGTH} random characters in "
            "production (e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
        )


def load_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """Read the environment, apply ``overrides`` (lower-case field names), validate."""
    try:
        return Settings(**(overrides or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"HAILOPS_{'_'.join(str(p) for p in err['loc']).upper() or 'SETTINGS'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None


def server_port() -> int:
    raw = os.environ.get("PORT", "5000")
    try:
        port = int(raw)
    except ValueError:
        raise SettingsError(f"PORT must be an integer, got {raw!r}") from None
    if not 0 < port < 65536:
        raise SettingsError(f"PORT out of range: {port}")
    return port
