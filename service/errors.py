"""One error hierarchy for the edges; the core raises plain domain exceptions."""

from __future__ import annotations


class BedsideError(Exception):
    """An error with a message safe to show to the caller and an HTTP status."""

    status_code = 500

    def __init__(
        self, message: str, status_code: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        if status_code is not None:
            self.status_code = status_code


class BadRequest(BedsideError):
    status_code = 400


class NotFound(BedsideError):
    status_code = 404


class Conflict(BedsideError):
    status_code = 409


class Unprocessable(BedsideError):
    status_code = 422


class Unauthorized(BedsideError):
    """Authentication failed. CDS Hooks endpoints render this as a bare 401."""

    status_code = 401

    def __init__(self, reason: str) -> None:
        super().__init__("unauthorized", 401)
        self.reason = reason
