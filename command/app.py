"""The application factory.  It never migrates the database and never starts schedulers."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Flask, request, session
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from command.settings import PROJECT_ROOT, load_settings


def _select_locale() -> str:
    from flask import current_app
    from flask_login import current_user

    lang = session.get("lang")
    if lang in ("zh", "en"):
        return str(lang)
    if getattr(current_user, "is_authenticated", False) and current_user.locale:
        return str(current_user.locale)
    default: str = current_app.config["HAILOPS"].default_locale
    return default


def role_label(role: str) -> str:
    from flask_babel import gettext as _

    return {  # type: ignore[no-any-return]
        "forecaster": _("duty forecaster"),
        "commander": _("commander"),
        "atc": _("airport ATC"),
        "military": _("military control"),
        "county_operator": _("county site operator"),
        "member": _("member unit"),
        "admin": _("administrator"),
    }.get(role, role)


class BoundedIntConverter(IntegerConverter):
    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class SafeJSONProvider(DefaultJSONProvider):
    """Deeply nested JSON makes the parser recurse until RecursionError (a 500): report it
    as malformed JSON instead (``request.get_json`` turns ValueError into 400)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def headless_matplotlib() -> None:
    """Figures (bulletin and drill-report PDFs, product images) are drawn without a display,
    in several threads: the Agg backend is chosen once, here, before any thread starts.
    Chosen in a drawing thread, ``matplotlib.use`` switched the backend of a pyplot another
    thread was still importing (Py-ART's): "partially initialized module" — a 500 when a
    bulletin was issued during a drill."""
    import os
    import sys

    if "matplotlib" in sys.modules:
        import matplotlib

        matplotlib.use("Agg")
    else:
        os.environ.setdefault("MPLBACKEND", "Agg")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    from command import auth, web
    from command.db import Database
    from command.errors import register_error_handlers
    from command.extensions import babel, close_session, csrf, limiter, socketio
    from command.live import make_namespace
    from command.push import JSONPacket
    from command.timefmt import register_filters

    settings = load_settings(config)
    headless_matplotlib()
    app = Flask(
        __name__,
        static_folder=str(PROJECT_ROOT / "static"),
        static_url_path="/static",
        template_folder="templates",
        instance_path=str(settings.instance_path),
    )
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    # <int:...> path parameters beyond the database's integer range are simply not found.
    app.url_map.converters["int"] = BoundedIntConverter
    app.config.update(
        HAILOPS=settings,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.env == "test",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings.session_cookie_secure),
        REMEMBER_COOKIE_SECURE=bool(settings.session_cookie_secure),
        REMEMBER_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_CHECK_DEFAULT=False,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(PROJECT_ROOT / "command" / "translations"),
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=True,
        JSON_AS_ASCII=False,
    )
    app.json = SafeJSONProvider(app)
    app.json.ensure_ascii = False
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    app.extensions["hailops_db"] = Database(settings.sqlalchemy_url)
    app.teardown_appcontext(close_session)
    babel.init_app(app, locale_selector=_select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    auth.login_manager.init_app(app)
    socketio.init_app(
        app,
        message_queue=settings.message_queue,
        channel=settings.message_queue_channel,
        # None = same origin only (engine.io compares Origin with the Host); an empty list
        # would switch the check off.
        cors_allowed_origins=settings.socketio_allowed_origins or None,
        async_mode=settings.socketio_async_mode,
        serializer=JSONPacket,  # fast binary check of plain-JSON payloads (catch-up)
        logger=False,
        engineio_logger=False,
    )
    namespace = make_namespace()
    socketio.on_namespace(namespace)
    app.extensions["hailops_live_namespace"] = namespace
    register_error_handlers(app)
    register_filters(app)

    app.register_blueprint(auth.bp)
    for bp in web.blueprints():
        app.register_blueprint(bp)

    from command import security

    security.init_app(app)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        from flask_babel import get_locale

        return {"role_label": role_label, "get_locale": get_locale, "csp_nonce": security.csp_nonce}

    @app.before_request
    def _lang_param() -> None:
        lang = request.args.get("lang")
        if lang in ("zh", "en"):
            session["lang"] = lang

    return app
