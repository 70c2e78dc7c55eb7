"""Domain errors raised by services; ``app.asgi`` maps them to HTTP answers and the CLI to one line."""

from __future__ import annotations

from collections.abc import Mapping


class AppError(Exception):
    """Base for errors a user can act on; ``str()`` is already translated."""

    status_code = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(str(message))
        self.message = str(message)


class BadRequest(AppError):
    """Input no rule can take (control characters, broken text): a 400 in the request's language."""

    status_code = 400


class NotFound(AppError):
    status_code = 404


class Gone(AppError):
    """Something that existed and is no longer offered (a switched-off order form)."""

    status_code = 410


class Forbidden(AppError):
    status_code = 403


class Conflict(AppError):
    status_code = 409


class Unavailable(AppError):
    """The store's database server cannot be reached right now."""

    status_code = 503


class ValidationFailed(AppError):
    """Input rejected; ``errors`` maps a field name (or ``"__all__"``) to a translated message."""

    status_code = 422

    def __init__(self, errors: Mapping[str, str], message: str = "") -> None:
        super().__init__(message or "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = {key: str(value) for key, value in errors.items()}


class Refused(AppError):
    """A request we will not act on (a forged or damaged gateway notification)."""

    status_code = 400
