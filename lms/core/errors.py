"""Domain errors and their single mapping to HTTP, by content negotiation."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge


class DomainError(Exception):
    status = 400
    title = "Something went wrong"

    def __init__(self, message: str, *, field: str | None = None, reasons: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.reasons = reasons or []

    @property
    def headers(self) -> dict[str, str]:
        """Headers the answer carries; views that render their own page for an error pass
        them on (`return page, error.status, error.headers`)."""
        return {}

    def to_dict(self) -> dict:
        body: dict = {"error": type(self).__name__, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.reasons:
            body["reasons"] = self.reasons
        return body


class NotFound(DomainError):
    status = 404
    title = "Not found"


class PermissionDenied(DomainError):
    status = 403
    title = "Not allowed"


class Invalid(DomainError):
    status = 422
    title = "Please check your input"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Locked(DomainError):
    status = 423
    title = "Locked"


class TooManyRequests(DomainError):
    """Every 429 the app sends: it must say when to come back (`Retry-After`, seconds)."""

    status = 429
    title = "Too many attempts"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None):
        super().__init__(message, field=field)
        self.retry_after = max(1, int(retry_after))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}

    def to_dict(self) -> dict:
        return {**super().to_dict(), "retry_after": self.retry_after}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _rollback() -> None:
    """An error page must render even when the failed request left a broken transaction;
    nothing half-written survives an error anyway."""
    from lms.extensions import db

    db.session.rollback()


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB"


def _too_large_message() -> str:
    """Which limit the request broke: the whole request's, or one form field's."""
    whole = request.max_content_length
    if whole is not None and (request.content_length or 0) > whole:
        return (f"The upload is too large: this site takes at most {_megabytes(whole)} in one "
                "request. Send a smaller file, or split it.")
    field = request.max_form_memory_size
    if field is not None:
        return (f"The form is too large: this page takes at most {_megabytes(field)} of text "
                "in one field. Send a smaller file, or split it.")
    return "The request is too large."


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        _rollback()
        if wants_json():
            return error.to_dict(), error.status, error.headers
        return (
            render_template("errors/error.html", status=error.status, title=error.title,
                            message=error.message, reasons=error.reasons),
            error.status,
            error.headers,
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        _rollback()
        message = error.description
        if isinstance(error, RequestEntityTooLarge):
            message = _too_large_message()
        if wants_json():
            body = {"error": error.name, "message": message}
            if getattr(error, "field", None):
                body["field"] = error.field
            return body, error.code
        return (
            render_template("errors/error.html", status=error.code, title=error.name,
                            message=message, reasons=[]),
            error.code,
        )

    @app.errorhandler(500)
    def _server_error(error):
        _rollback()
        if wants_json():
            return {"error": "Internal Server Error",
                    "message": "Something went wrong on our side."}, 500
        return render_template("errors/error.html", status=500, title="Something went wrong",
                               message="Something went wrong on our side. Please try again.",
                               reasons=[]), 500
