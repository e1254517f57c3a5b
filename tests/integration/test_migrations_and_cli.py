"""Alembic owns the schema: `hailops db upgrade` builds exactly the models' schema; the CLI
manages users, tokens and verifies the audit chain."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from command.cli import main
from command.db import Base


def _env(app_config):
    return {"HAILOPS_DATABASE_URL": app_config["database_url"],
            "HAILOPS_INSTANCE_PATH": str(app_config["instance_path"]), "HAILOPS_ENV": "test"}


def test_db_upgrade_matches_models(app_config, app):
    from command.extensions import get_db

    with app.app_context():
        get_db().drop_all()
    url = app_config["database_url"]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    result = CliRunner().invoke(main, ["db", "upgrade"], env=_env(app_config))
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert "audit_log" in tables and "users" in tables
    assert diff == [], f"models and migrations differ: {diff}"
    with create_engine(url).begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def test_users_create_token_and_audit_verify(app_config, app):
    env = _env(app_config)
    runner = CliRunner()
    r = runner.invoke(main, ["users", "create", "zhang", "--role", "county_operator",
                             "--county", "lishi", "--password", "a-long-password"], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["users", "create", "bad", "--role", "county_operator",
                             "--password", "a-long-password"], env=env)
    assert r.exit_code != 0 and "bound to a county" in r.output
    r = runner.invoke(main, ["users", "token", "zhang"], env=env)
    assert r.exit_code == 0 and r.output.strip().startswith("hk_")
    token = r.output.strip()
    client = app.test_client()
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me == {"username": "zhang", "role": "county_operator", "county": "lishi",
                  "display_name": "zhang"}
    r = runner.invoke(main, ["audit", "verify"], env=env)
    assert r.exit_code == 0 and "audit chain OK" in r.output


def test_audit_verify_names_the_broken_record(app_config, app):
    env = _env(app_config)
    runner = CliRunner()
    for name in ("a1", "a2", "a3"):
        assert runner.invoke(main, ["users", "create", name, "--role", "member", "--password",
                                    "a-long-password"], env=env).exit_code == 0
    engine = create_engine(app_config["database_url"])
    with engine.begin() as conn:
        second = conn.execute(text("SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 1")).scalar()
        conn.execute(text("UPDATE audit_log SET object_id = 'evil' WHERE id = :i"), {"i": second})
    engine.dispose()
    r = runner.invoke(main, ["audit", "verify"], env=env)
    assert r.exit_code == 1
    assert f"BROKEN at record {second}" in r.output


def test_production_refuses_to_start_without_secret(app_config):
    env = _env(app_config) | {"HAILOPS_ENV": "production"}
    os.environ.pop("HAILOPS_SECRET_KEY", None)
    r = CliRunner().invoke(main, ["users", "list"], env=env)
    assert r.exit_code != 0
    assert "HAILOPS_SECRET_KEY must be set in production" in r.output


def test_scheduler_command_is_listed():
    r = CliRunner().invoke(main, ["--help"])
    assert r.exit_code == 0
    for command in ("radar", "dispatch", "db", "users", "audit", "drill", "scheduler", "run"):
        assert command in r.output


def test_audit_verify_is_routine_from_the_checkpoint_and_full_on_request(app_config, app):
    """Issue 16: routine `hailops audit verify` checks what is new; `--full` walks everything."""
    env = _env(app_config)
    runner = CliRunner()
    assert runner.invoke(main, ["users", "create", "b1", "--role", "member", "--password",
                                "a-long-password"], env=env).exit_code == 0
    first = runner.invoke(main, ["audit", "verify"], env=env)
    assert first.exit_code == 0 and first.output.strip() == "audit chain OK: 1 records"
    assert runner.invoke(main, ["users", "create", "b2", "--role", "member", "--password",
                                "a-long-password"], env=env).exit_code == 0
    routine = runner.invoke(main, ["audit", "verify"], env=env)
    assert routine.exit_code == 0 and "2 records (1 new since the checkpoint" in routine.output
    full = runner.invoke(main, ["audit", "verify", "--full"], env=env)
    assert full.exit_code == 0 and full.output.strip() == "audit chain OK: 2 records"
