"""Domain errors. They know nothing of HTTP; api/errors.py maps each to a status code."""


class PetaKotaError(Exception):
    title = "Error"
    code: str | None = None  # a stable machine-readable name of the problem, for clients (None: only the words)

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(PetaKotaError):
    title = "Not found"


class InvalidInput(PetaKotaError):
    title = "Invalid input"


class OutsideCity(InvalidInput):
    """A geometry that lies outside every city in question: no plan, layer or raster of those cities applies
    there. Draw or send it inside the city boundary (see /cities for the cities held)."""

    title = "Outside the city"
    code = "outside-city"


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


class TooLarge(PetaKotaError):
    """A file or body over the size the service accepts (HTTP 413)."""

    title = "Payload too large"


class UnsupportedType(PetaKotaError):
    """A file of a kind the service does not take (HTTP 415)."""

    title = "Unsupported media type"
