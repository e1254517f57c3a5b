"""Extensions created without an app and bound in ``create_app`` with ``init_app``."""

from __future__ import annotations

from flask import current_app, g
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_socketio import SocketIO
from flask_wtf import CSRFProtect
from sqlalchemy.orm import Session

from command.db import Database

babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
socketio = SocketIO()


def get_db() -> Database:
    db: Database = current_app.extensions["hailops_db"]
    return db


def get_session() -> Session:
    """The request's session (one per request; closed at teardown)."""
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    session: Session = g.db_session
    return session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
