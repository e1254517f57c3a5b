"""The ``hailops`` command line.

Core commands (``radar detect``, ``radar track``, ``dispatch recommend``) never import Flask;
commands that need the application build it lazily.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

os.environ.setdefault("PYART_QUIET", "1")

PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}


@click.group()
def main() -> None:
    """hailops — hail suppression operations command system."""


# --- core commands: argument parsing belongs to the core CLI functions ------------------
@main.group()
def radar() -> None:
    """Radar volumes: hail cells and tracks."""


@radar.command("detect", context_settings=PASS_THROUGH)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def radar_detect(args: tuple[str, ...]) -> None:
    """PATH [--sounding PATH] [--h0 M --h20 M]: hail cells as GeoJSON on stdout."""
    from radar.cli import detect_main

    sys.exit(detect_main(list(args)))


@radar.command("track", context_settings=PASS_THROUGH)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def radar_track(args: tuple[str, ...]) -> None:
    """PATH PATH... [--sounding PATH] [--h0 M --h20 M]: tracks and nowcasts as JSON."""
    from radar.cli_track import track_main

    sys.exit(track_main(list(args)))


@main.group()
def dispatch() -> None:
    """Dispatch recommendations."""


@dispatch.command("recommend", context_settings=PASS_THROUGH)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def dispatch_recommend(args: tuple[str, ...]) -> None:
    """CELLS.geojson [--at ISO_TIME]: which sites should engage which cells, as JSON."""
    from dispatch.cli import recommend_main

    sys.exit(recommend_main(list(args)))


# --- shell commands ----------------------------------------------------------------------
def _app() -> Any:
    from command import create_app
    from command.settings import SettingsError

    try:
        return create_app()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def db() -> None:
    """Database schema (Alembic)."""


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    here = Path(__file__).resolve().parent
    cfg = Config()
    cfg.set_main_option("script_location", str(here / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: head)."""
    from alembic import command as alembic_command

    from command.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    alembic_command.upgrade(alembic_config(settings.sqlalchemy_url), revision)
    click.echo(f"database at {revision}: {_redact(settings.sqlalchemy_url)}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.group()
def users() -> None:
    """User accounts and API tokens."""


@users.command("create")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    help="forecaster, commander, atc, military, county_operator, member or admin",
)
@click.option("--county", default=None, help="county key (pinyin) for county_operator")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default="")
def users_create(
    username: str, role: str, county: str | None, password: str, display_name: str
) -> None:
    """Create a user."""
    from command.auth import UserError, create_user
    from command.deployment import deployment
    from command.extensions import get_db

    app = _app()
    with app.app_context(), get_db().session() as session:
        try:
            create_user(
                session,
                username,
                password,
                role,
                county=county,
                display_name=display_name,
                actor="cli",
                known_counties=deployment().county_keys(),
            )
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    click.echo(f"created {role} {username}")


@users.command("token")
@click.argument("username")
@click.option("--name", default="cli")
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True, max=3650),
    default=None,
    help="valid for this many days (default HAILOPS_TOKEN_TTL_DAYS, 90)",
)
def users_token(username: str, name: str, days: float | None) -> None:
    """Issue an API token for USERNAME and print it (shown once)."""
    from sqlalchemy import select

    from command.auth import issue_token
    from command.extensions import get_db
    from command.models import User

    app = _app()
    with app.app_context(), get_db().session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        from datetime import timedelta

        token = issue_token(
            session,
            user,
            name=name,
            actor="cli",
            ttl=None if days is None else timedelta(days=days),
        )
        session.commit()
    click.echo(token)


@users.command("revoke")
@click.argument("username")
@click.option("--token", "token_name", default=None, help="only the tokens with this name")
def users_revoke(username: str, token_name: str | None) -> None:
    """Revoke USERNAME's API tokens and end their sessions; open sockets are disconnected
    (by every web process within HAILOPS_SOCKET_CHECK_SECONDS)."""
    from sqlalchemy import select

    from command.auth import revoke_access
    from command.extensions import get_db
    from command.models import User

    app = _app()
    with app.app_context(), get_db().session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        n = revoke_access(session, user, token_name=token_name, actor="cli")
        session.commit()
    ended = "" if token_name else "; sessions ended"
    click.echo(f"revoked {n} token(s) of {username}{ended}")


@users.command("deactivate")
@click.argument("username")
def users_deactivate(username: str) -> None:
    """USERNAME can no longer log in; their cookies, tokens and sockets stop working."""
    from sqlalchemy import select

    from command.auth import set_active
    from command.extensions import get_db
    from command.models import User

    app = _app()
    with app.app_context(), get_db().session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        set_active(session, user, False, actor="cli")
        session.commit()
    click.echo(f"deactivated {username}")


@users.command("list")
def users_list() -> None:
    from sqlalchemy import select

    from command.extensions import get_db
    from command.models import User

    app = _app()
    with app.app_context(), get_db().session() as session:
        for u in session.scalars(select(User).order_by(User.role, User.username)):
            click.echo(f"{u.username:12} {u.role:16} {u.county or ''}")


@main.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@click.option(
    "--full",
    is_flag=True,
    help="Walk the whole chain from the first record "
    "(default: only what was appended since the last verified checkpoint).",
)
def audit_verify(full: bool) -> None:
    """Check the hash chain; name the first broken record.  Routine runs start at the last
    verified checkpoint; ``--full`` walks everything again."""
    from command import audit as audit_mod
    from command.extensions import get_db

    app = _app()
    with app.app_context(), get_db().session() as session:
        result = audit_mod.verify(session, full=full)
        if result.ok:
            session.commit()  # the new checkpoint
    if result.ok:
        since = (
            ""
            if result.from_record_id is None
            else f" ({result.checked} new since the checkpoint at record {result.from_record_id})"
        )
        click.echo(f"audit chain OK: {result.total} records{since}")
        return
    click.echo(f"audit chain BROKEN at record {result.first_broken_id}: {result.reason}", err=True)
    sys.exit(1)


@main.group()
def drill() -> None:
    """Drills: replay an archived event through the whole chain, isolated and scored."""


@drill.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", required=True)
def drill_import(directory: Path, name: str) -> None:
    """Register DIRECTORY of radar volumes (and an optional sounding) as event NAME."""
    from command.drill import DrillError, import_event
    from command.extensions import get_db

    app = _app()
    with app.app_context(), get_db().session() as session:
        try:
            event = import_event(session, directory, name)
        except DrillError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(
            f"event {name}: {len(event.volumes)} volumes "
            f"{event.volumes[0]['scan_time']} .. {event.volumes[-1]['scan_time']}"
        )
        for note in event.notes or []:
            click.echo(f"  note: {note}")


@drill.command("list")
def drill_list() -> None:
    from sqlalchemy import select

    from command.drill import ensure_builtin_events
    from command.extensions import get_db
    from command.models import DrillEvent, DrillRecord

    app = _app()
    with app.app_context(), get_db().session() as session:
        ensure_builtin_events(session)
        session.commit()
        for ev in session.scalars(select(DrillEvent)):
            click.echo(
                f"event {ev.name}: {len(ev.volumes)} volumes{' (built-in)' if ev.builtin else ''}"
            )
        for d in session.scalars(select(DrillRecord).order_by(DrillRecord.started_at)):
            click.echo(f"drill {d.id}: {d.event} {d.state} speed {d.speed}x")


@drill.command("run")
@click.argument("event")
@click.option(
    "--speed", type=float, default=1.0, show_default=True, help="drill clock speed, 1-600"
)
@click.option("--relocate-to", default=None, help="LAT,LON (default: the deployment's radar)")
@click.option("--no-relocate", is_flag=True, help="keep the event where it was recorded")
@click.option("--auto-approve", is_flag=True, help="automatic players for the absent roles")
@click.option(
    "--script",
    "script_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JSON list of injects",
)
@click.option(
    "--delay",
    "delays",
    multiple=True,
    metavar="NAME=SECONDS",
    help="automatic player delay in drill seconds, e.g. atc_s=300 (repeatable)",
)
def drill_run(
    event: str,
    speed: float,
    relocate_to: str | None,
    no_relocate: bool,
    auto_approve: bool,
    script_path: Path | None,
    delays: tuple[str, ...],
) -> None:
    """Run a drill of EVENT (a name or a directory); returns when the drill ends."""
    import dataclasses

    from command.drill import (
        AutoDelays,
        DrillError,
        DrillRunner,
        create_drill,
        parse_script,
        resolve_event,
        runner_name,
    )
    from command.extensions import get_db

    known = {f.name for f in dataclasses.fields(AutoDelays)}
    chosen: dict[str, float] = {}
    for item in delays:
        name, _, value = item.partition("=")
        try:
            if name not in known:
                raise ValueError
            chosen[name] = float(value)
        except ValueError:
            raise click.ClickException(
                f"--delay {item!r}: one of {', '.join(sorted(known))} = seconds"
            ) from None
    target = None
    if relocate_to:
        try:
            lat, lon = (float(v) for v in relocate_to.split(","))
        except ValueError:
            raise click.ClickException("--relocate-to must be LAT,LON") from None
        target = (lat, lon)
    app = _app()
    with app.app_context(), get_db().session() as session:
        try:
            script = parse_script(script_path.read_text(encoding="utf-8")) if script_path else []
            ev = resolve_event(session, event)
            # Run here in the foreground, beating under this process's name: if it is killed
            # the scheduler sees the heartbeat stop and resumes or ends the drill.
            runner = runner_name("cli")
            d = create_drill(
                session,
                ev,
                speed=speed,
                started_by="cli",
                relocate_to=target,
                relocate=False if no_relocate else None,
                auto_approve=auto_approve,
                script=script,
                runner=runner,
            )
        except DrillError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
        drill_id = d.id
        for note in ev.notes or []:
            click.echo(f"note: {note}")
    click.echo(f"drill {drill_id} running: event {event}, {speed}x")
    with app.app_context():
        outcome = DrillRunner(app, drill_id, delays=AutoDelays(**chosen), runner_id=runner).run()
    click.echo(f"drill {drill_id} {outcome}")


@drill.command("report")
@click.argument("drill_id")
@click.option("--format", "fmt", type=click.Choice(["json", "html", "pdf"]), default="json")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="language of the HTML/PDF report (Beijing time either way)",
)
@click.option("--county", default=None, help="only this county's part (what its operator sees)")
def drill_report(
    drill_id: str, fmt: str, output: Path | None, lang: str, county: str | None
) -> None:
    """The drill's timeline, scores and after-action report (ID may be `latest`)."""
    import json

    from sqlalchemy import select

    from command.drill_report import build_report, render_html, render_pdf
    from command.extensions import get_db
    from command.models import DrillRecord

    app = _app()
    with app.app_context(), get_db().session() as session:
        if drill_id == "latest":
            drill_id = (
                session.scalar(
                    select(DrillRecord.id).order_by(DrillRecord.started_at.desc()).limit(1)
                )
                or ""
            )
        try:
            report = build_report(session, drill_id, county=county)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
        if fmt == "json":
            data = json.dumps(report, ensure_ascii=False, indent=2).encode()
        elif fmt == "html":
            data = render_html(report, session, lang).encode()
        else:
            data = render_pdf(report, session, lang)
    if output:
        output.write_bytes(data)
        click.echo(f"wrote {output}")
    elif fmt == "pdf":
        sys.stdout.buffer.write(data)
    else:
        click.echo(data.decode())


@main.command("seed")
@click.option("--demo-accounts/--no-demo-accounts", default=False)
def seed(demo_accounts: bool) -> None:
    """Load the deployment (sites, member units) if the database is empty."""
    from command.extensions import get_db
    from command.seed import seed_demo_accounts, seed_deployment

    app = _app()
    with app.app_context(), get_db().session() as session:
        click.echo(seed_deployment(session))
        if demo_accounts:
            click.echo(seed_demo_accounts(session, app.config["HAILOPS"]))
        session.commit()


@main.command("scheduler")
@click.option("--demo/--no-demo", default=False)
def scheduler_cmd(demo: bool) -> None:
    """Run only the scheduled jobs (radar feed, deadlines, drills): the one scheduler of a
    deployment whose web workers run with HAILOPS_SCHEDULER_ENABLED=false."""
    import time

    from command.isolation import warm_reader_early

    warm_reader_early()  # overlaps building the app

    from command.scheduler import SchedulerAlreadyRunning, start_scheduler, stop_scheduler

    app = _app()
    try:
        scheduler = start_scheduler(app, demo=demo)
    except SchedulerAlreadyRunning as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("scheduler running (Ctrl-C to stop)")

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # systemd's SIGTERM stops the jobs and reader cleanly

    import signal

    signal.signal(signal.SIGTERM, _terminate)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop_scheduler(app, scheduler)


@main.command("retention")
def retention_cmd() -> None:
    """Prune live events, product images and acknowledged alerts now (README "Retention")."""
    from command.retention import retention_job

    result = retention_job(_app())
    click.echo(
        f"pruned {result.live_events} live events, {result.product_files} product "
        f"images, {result.alerts} acknowledged alerts"
    )


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="default: $PORT or 5000")
@click.option(
    "--threads",
    type=click.IntRange(4, 1000),
    default=400,
    show_default=True,
    help="concurrent requests + open WebSockets this process serves (each open "
    "WebSocket holds one: bench/bench_server.py)",
)
def serve(host: str, port: int | None, threads: int) -> None:
    """Production web server: one gunicorn process with the threaded worker (WebSocket via
    simple-websocket), web only — the jobs run in the one `hailops scheduler` process.  For
    more capacity run several, each on its own port, behind the proxy with sticky sessions
    and the Redis message queue (deploy/README.md)."""
    from gunicorn.app.base import BaseApplication

    from command.settings import server_port

    app = _app()
    options = {
        "bind": f"{host}:{port or server_port()}",
        "workers": 1,  # Socket.IO needs sticky sessions: scale with processes behind the proxy
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "hailops-web",
    }

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    click.echo(
        f"hailops web listening on http://{options['bind']}/ (gunicorn gthread, {threads} threads)"
    )
    Server().run()


@main.command("run")
@click.option("--demo/--no-demo", default=False, help="demo accounts and a replayed event")
@click.option("--host", default="127.0.0.1")
def run(demo: bool, host: str) -> None:
    """Serve the command center (web + Socket.IO + scheduler in this one process)."""
    import logging

    from command.isolation import warm_reader_early

    warm_reader_early()  # before the imports below: it overlaps building the app

    from command.extensions import get_db, socketio
    from command.scheduler import SchedulerAlreadyRunning, start_scheduler, stop_scheduler
    from command.seed import seed_demo_accounts, seed_deployment
    from command.settings import server_port

    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = _app()
    settings = app.config["HAILOPS"]
    if demo and settings.env == "production":
        raise click.ClickException("--demo is refused in production")
    with app.app_context(), get_db().session() as session:
        click.echo(seed_deployment(session))
        if demo:
            click.echo(seed_demo_accounts(session, settings))
        session.commit()
    try:
        scheduler = start_scheduler(app, demo=demo) if settings.scheduler_enabled else None
    except SchedulerAlreadyRunning as exc:
        raise click.ClickException(f"{exc} (or set HAILOPS_SCHEDULER_ENABLED=false)") from None
    port = server_port()
    click.echo(f"hailops listening on http://{host}:{port}/  (Ctrl-C to stop)")
    try:
        from command.security import QuietRequestHandler

        socketio.run(
            app,
            host=host,
            port=port,
            allow_unsafe_werkzeug=True,
            use_reloader=False,
            log_output=False,
            request_handler=QuietRequestHandler,
        )
    finally:
        stop_scheduler(app, scheduler)


if __name__ == "__main__":  # pragma: no cover
    main()
