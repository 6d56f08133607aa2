"""Domain errors. They know nothing of HTTP; api/errors.py maps each to a status code."""


class PetaKotaError(Exception):
    title = "Error"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(PetaKotaError):
    title = "Not found"


class InvalidInput(PetaKotaError):
    title = "Invalid input"


class Conflict(PetaKotaError):
    title = "Conflict"


class DatabaseUnavailable(PetaKotaError):
    title = "Database unavailable"


class VersionConflict(PetaKotaError):
    """The feature changed since the client read it (HTTP 412)."""

    title = "Precondition failed"


class Forbidden(PetaKotaError):
    title = "Forbidden"


class Unauthorized(PetaKotaError):
    title = "Unauthorized"
