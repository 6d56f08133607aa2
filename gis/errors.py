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
