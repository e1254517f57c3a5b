"""One JSON error envelope ``{code, message, details}`` for the whole API."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Unprocessable(ApiError):
    status = 422
    code = "validation_failed"


def _wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or request.path == "/healthz"
        or (request.accept_mimetypes.best == "application/json")
    )


def error_response(status: int, code: str, message: str, details: Any = None) -> Any:
    if _wants_json():
        return jsonify({"code": code, "message": message, "details": details}), status
    return render_template("error.html", status=status, code=code, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Any:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    from dispatch import errors as dispatch_errors

    @app.errorhandler(dispatch_errors.DispatchError)
    def _dispatch_error(exc: dispatch_errors.DispatchError) -> Any:
        if isinstance(exc, dispatch_errors.ValidationFailed):
            return error_response(
                422, "validation_failed", "invalid request", dict(exc.field_errors)
            )
        if isinstance(exc, dispatch_errors.PermissionDenied):
            return error_response(403, "forbidden", str(exc))
        if isinstance(exc, dispatch_errors.IllegalTransition):
            return error_response(
                409, "illegal_transition", str(exc), {"state": exc.state, "action": exc.action}
            )
        return error_response(409, "conflict", str(exc))

    from sqlalchemy.orm.exc import StaleDataError

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError) -> Any:
        return error_response(409, "concurrent_update", "the operation changed meanwhile; retry")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name)
