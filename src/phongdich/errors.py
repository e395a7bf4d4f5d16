"""One error hierarchy for services; rendered once for the API, the pages and the CLI."""

from __future__ import annotations


class PhongdichError(Exception):
    """Base of every error a user can cause; never a 500."""

    status_code = 400
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, object]:
        return {"error": self.code, "message": self.message}


class NotFound(PhongdichError):
    """Also raised for records outside the caller's jurisdiction: denied reads look like absent."""

    status_code = 404
    code = "not_found"

    def __init__(self, what: str, key: object = None) -> None:
        super().__init__(f"{what} not found" if key is None else f"{what} {key} not found")
        self.what = what


class Invalid(PhongdichError):
    """Bad input: names the field and says why."""

    status_code = 422
    code = "invalid"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def as_dict(self) -> dict[str, object]:
        return {
            "error": self.code,
            "field": self.field,
            "reason": self.reason,
            "message": self.message,
        }


class Conflict(PhongdichError):
    status_code = 409
    code = "conflict"


class Unauthorized(PhongdichError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str = "login required") -> None:
        super().__init__(message)


class Forbidden(PhongdichError):
    """The caller is known but their role may not do this (jurisdiction misses are NotFound)."""

    status_code = 403
    code = "forbidden"

    def __init__(self, message: str = "your role may not do this") -> None:
        super().__init__(message)
