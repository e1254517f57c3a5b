"""Users, passwords (argon2), API tokens, role checks and the login/logout pages."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    has_app_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from command import audit
from command.errors import Forbidden, Unauthorized
from command.extensions import limiter
from command.models import ApiToken, User
from command.security import safe_next
from command.settings import ROLES

login_manager = LoginManager()
login_manager.login_view = "auth.login"
_hasher = PasswordHasher()
_CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _active_hasher() -> PasswordHasher:
    # Tests create many accounts: the cheap profile there, the argon2 defaults everywhere else.
    if has_app_context() and current_app.config["HAILOPS"].env == "test":
        return _CHEAP_HASHER
    return _hasher


bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])


class UserError(ValueError):
    pass


def hash_password(password: str) -> str:
    return _active_hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)  # params are read from the hash
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    county: str | None = None,
    display_name: str = "",
    actor: str = "system",
    actor_role: str = "admin",
    known_counties: set[str] | None = None,
) -> User:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == "county_operator" and not county:
        raise UserError("a county_operator must be bound to a county (--county)")
    if role != "county_operator" and county:
        raise UserError("only county_operator accounts are bound to a county")
    if county and known_counties is not None and county not in known_counties:
        raise UserError(f"unknown county {county!r}")
    if len(password) < 8:
        raise UserError("password must have at least 8 characters")
    if session.scalar(select(User).where(User.username == username)):
        raise UserError(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        county=county,
        display_name=display_name or username,
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        role=actor_role,
        action="user.create",
        object_type="user",
        object_id=username,
        after={"username": username, "role": role, "county": county},
    )
    return user


DEFAULT_TOKEN_TTL = timedelta(days=90)


def issue_token(
    session: Session,
    user: User,
    name: str = "cli",
    actor: str = "system",
    ttl: timedelta | None = None,
) -> str:
    """Create an API token valid for ``ttl`` (default: the setting, 90 days); only its
    SHA-256 is stored, the token is shown once."""
    if ttl is None:
        ttl = (
            timedelta(days=current_app.config["HAILOPS"].token_ttl_days)
            if has_app_context()
            else DEFAULT_TOKEN_TTL
        )
    token = "hk_" + secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + ttl
    session.add(
        ApiToken(user_id=user.id, name=name, token_sha256=_sha(token), expires_at=expires_at)
    )
    audit.append(
        session,
        actor=actor,
        role="admin",
        action="token.issue",
        object_type="user",
        object_id=user.username,
        after={"token_name": name, "expires_at": expires_at.isoformat()},
    )
    return token


def revoke_access(
    session: Session,
    user: User,
    *,
    token_name: str | None = None,
    actor: str = "system",
    actor_role: str = "admin",
) -> int:
    """Revoke the user's API tokens (or only those named ``token_name``).  Revoking them all
    also ends every session of the user (cookies saved before stop working).  Open sockets
    are disconnected by :func:`command.live.disconnect_stale`.  Returns tokens revoked."""
    q = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
    if token_name is not None:
        q = q.where(ApiToken.name == token_name)
    rows = session.scalars(q).all()
    for row in rows:
        row.revoked = True
    if token_name is None:
        end_sessions(user)
    audit.append(
        session,
        actor=actor,
        role=actor_role,
        action="token.revoke",
        object_type="user",
        object_id=user.username,
        after={
            "token_name": token_name,
            "revoked": len(rows),
            "sessions_ended": token_name is None,
        },
    )
    return len(rows)


def set_active(
    session: Session, user: User, active: bool, *, actor: str = "system", actor_role: str = "admin"
) -> None:
    before = user.active
    user.active = active
    if not active:
        end_sessions(user)
    audit.append(
        session,
        actor=actor,
        role=actor_role,
        action="user.activate" if active else "user.deactivate",
        object_type="user",
        object_id=user.username,
        before={"active": before},
        after={"active": active},
    )


def end_sessions(user: User) -> None:
    """Every cookie issued to the user so far stops loading them (see ``User.get_id``)."""
    user.session_version = (user.session_version or 1) + 1


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_row(session: Session, token: str) -> ApiToken | None:
    """The token's row if it is valid now: not revoked, not expired, its user active."""
    now = datetime.now(UTC)
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_sha256 == _sha(token), ApiToken.revoked.is_(False))
    )
    if row is None or not row.user.active or (row.expires_at is not None and row.expires_at <= now):
        return None
    return row


def user_for_token(session: Session, token: str) -> User | None:
    row = token_row(session, token)
    if row is None:
        return None
    row.last_used_at = datetime.now(UTC)
    return row.user


def db_session() -> Session:
    from command.extensions import get_session

    return get_session()


@login_manager.user_loader  # type: ignore[untyped-decorator]  # flask-login ships no types
def _load_user(user_id: str) -> User | None:
    """The cookie carries "<id>:<session version>": a cookie from before a logout,
    revocation or deactivation names an old version and loads nobody."""
    ident, _sep, version = user_id.partition(":")
    try:
        user = db_session().get(User, int(ident))
        wanted = int(version)
    except ValueError:
        return None
    if user is None or not user.active or (user.session_version or 1) != wanted:
        return None
    return user


@login_manager.request_loader  # type: ignore[untyped-decorator]  # flask-login ships no types
def _load_user_from_request(req: Any) -> User | None:
    header = req.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = user_for_token(db_session(), header.removeprefix("Bearer ").strip())
        if user is not None:
            g.token_auth = True
            db_session().commit()
        return user
    return None


@login_manager.unauthorized_handler  # type: ignore[untyped-decorator]  # flask-login ships no types
def _unauthorized() -> Any:
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        raise Unauthorized(_("Login required"))
    return redirect(url_for("auth.login", next=request.full_path))


def roles_required(*roles: str) -> Callable[[F], F]:
    """Allow only the given roles (admin is always allowed)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if current_user.role != "admin" and current_user.role not in roles:
                raise Forbidden(_("Your role (%(role)s) may not do this", role=current_user.role))
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def login_required_any(view: F) -> F:
    return roles_required(*ROLES)(view)


class LoginForm(FlaskForm):  # type: ignore[misc]  # flask-wtf ships no types
    username = StringField("username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=256)])


def _login_limit() -> str:
    return str(current_app.config["HAILOPS"].login_rate_limit)


def _address_limit() -> str:
    return str(current_app.config["HAILOPS"].login_address_limit)


def _account_key() -> str:
    return "login-account:" + (request.form.get("username") or "").strip().lower()[:64]


def _address_key() -> str:
    return "login-address:" + (request.remote_addr or "unknown")


def _failed(response: Any) -> bool:
    return bool(response.status_code == 401)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_account_key, deduct_when=_failed)
@limiter.limit(_address_limit, methods=["POST"], key_func=_address_key, deduct_when=_failed)
def login() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        session = db_session()
        user = session.scalar(select(User).where(User.username == form.username.data))
        if user is not None and user.active and check_password(user, form.password.data or ""):
            login_user(user)
            audit.append(
                session,
                actor=user.username,
                role=user.role,
                action="user.login",
                object_type="user",
                object_id=user.username,
            )
            session.commit()
            return redirect(safe_next(request.args.get("next"), url_for("main.index")))
        flash(_("Wrong username or password"), "error")
        return render_template("login.html", form=form), 401
    return render_template("login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    if current_user.is_authenticated and not g.get("token_auth"):
        session = db_session()
        end_sessions(current_user)  # a copy of this cookie saved before is now worthless
        audit.append(
            session,
            actor=current_user.username,
            role=current_user.role,
            action="user.logout",
            object_type="user",
            object_id=current_user.username,
        )
        session.commit()
        from command.live import disconnect_now

        disconnect_now(session)
    logout_user()
    return redirect(url_for("auth.login"))
