"""Fresh app and database per test (SQLite file, or the PostgreSQL named by
HAILOPS_TEST_DATABASE_URL, rebuilt for each test)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

os.environ.setdefault("PYART_QUIET", "1")

# Property-based tests: random examples while you work (new ones each run find new edge cases);
# CI (HAILOPS_HYPOTHESIS_PROFILE=ci, set by .ci/run) draws the same examples every run, so a
# landing never hangs on a first-time draw.  Edge cases found either way are pinned with
# @example in the test.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("HAILOPS_HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HAILOPS_HYPOTHESIS_PROFILE"])

TEST_PASSWORD = "correct-horse-battery"
ALL_ROLES = ("forecaster", "commander", "atc", "military", "county_operator", "member", "admin")


# Fixtures that give a test the test database: a test using any of them is marked ``db``.
DB_FIXTURES = frozenset({"app_config", "app", "db_session", "client", "users", "seeded"})


def _worker_database_url(url: str, worker: str) -> str:
    """Under pytest-xdist each worker gets its own PostgreSQL database, ``<name>_<worker>``,
    made from the named one if missing (the drop/create of one worker must never meet
    another's tables, and advisory locks are per database)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if (
                conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
                is None
            ):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
                # A throwaway test database, as .ci/run sets for the named one.
                conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("HAILOPS_TEST_DATABASE_URL", "")
    if worker and url.startswith("postgresql"):
        os.environ["HAILOPS_TEST_DATABASE_URL"] = _worker_database_url(url, worker)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
    _skip_needs_shared_without_the_files(items)
    _longest_files_first(items)


def _longest_files_first(items: list[pytest.Item]) -> None:
    """Browser files first, then the other slow ones, then the rest; each file's tests keep
    their order.  pytest-xdist (--dist loadfile) hands out files in this order, so the long
    ones start at once instead of leaving one worker alone with them at the end."""

    def weight(item: pytest.Item) -> int:
        return (
            0 if item.get_closest_marker("browser") else 1 if item.get_closest_marker("slow") else 2
        )

    by_file: dict[str, int] = {}
    for item in items:
        path = str(item.path)
        by_file[path] = min(by_file.get(path, 2), weight(item))
    position = {path: i for i, path in enumerate(by_file)}
    items.sort(key=lambda item: (by_file[str(item.path)], position[str(item.path)]))


def _skip_needs_shared_without_the_files(items: list[pytest.Item]) -> None:
    """``needs_shared`` tests read the unlicensed ``../shared/data/cinrad`` files, which are
    never vendored: without them they are skipped with the reason (a fresh clone), unless
    ``HAILOPS_REQUIRE_SHARED=1`` (CI), where their absence is an error, not a skip."""
    from tests.unit.radar.radar_paths import cinrad_files, shared_data

    if cinrad_files() or os.environ.get("HAILOPS_REQUIRE_SHARED") == "1":
        return
    skip = pytest.mark.skip(
        reason=f"needs_shared: {shared_data() / 'cinrad'} is absent (unlicensed CINRAD files "
        "are never vendored; CI runs this)"
    )
    for item in items:
        if item.get_closest_marker("needs_shared"):
            item.add_marker(skip)


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    url = os.environ.get("HAILOPS_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return {
        "env": "test",
        "database_url": url,
        "instance_path": tmp_path / "instance",
        "secret_key": "test-secret",
        "scheduler_enabled": False,
        "message_queue": None,
        # Tests drop complete files; the settle rule itself is tested in test_feed_faults.py.
        "radar_settle_s": 0.0,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    from command import create_app
    from command.extensions import get_db

    app = create_app(app_config)
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        db = get_db()
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        get_db().drop_all()
        get_db().dispose()


@pytest.fixture
def db_session(app: Any) -> Iterator[Any]:
    """A session of the test's database.  No app context stays pushed while the test runs
    (a shared context would share ``g`` between test requests)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    # Its own plain engine: a test's long-lived reading session must not hold the app's
    # (SQLite: immediate, i.e. write-locking) transactions.
    engine = create_engine(app.config["HAILOPS"].sqlalchemy_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def users(app: Any) -> dict[str, Any]:
    """One user per role (the county operator bound to Lishi) plus a Fenyang operator."""
    from command.auth import create_user
    from command.extensions import get_db

    made = {}
    with app.app_context(), get_db().session() as session:
        for role in ALL_ROLES:
            county = "lishi" if role == "county_operator" else None
            u = create_user(session, role, TEST_PASSWORD, role, county=county)
            made[role] = u.username
        create_user(session, "fenyang", TEST_PASSWORD, "county_operator", county="fenyang")
        made["fenyang"] = "fenyang"
        session.commit()
    return made


@pytest.fixture
def seeded(app: Any) -> None:
    from command.extensions import get_db
    from command.seed import seed_deployment

    with app.app_context(), get_db().session() as session:
        seed_deployment(session)
        session.commit()


def login(client: Any, username: str, password: str = TEST_PASSWORD) -> Any:
    return client.post("/login", data={"username": username, "password": password})
