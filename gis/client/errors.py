"""The service's errors as exceptions: every RFC 9457 problem+json response raises a `PetaKotaError`
subclass whose message is the service's `detail`."""

from __future__ import annotations

import httpx


class PetaKotaError(Exception):
    """An error answer of the service. `status` (None when the service could not be reached), `title` and
    `detail` come from its RFC 9457 problem+json body; the message is the detail."""

    def __init__(self, status: int | None, title: str, detail: str, response: httpx.Response | None = None):
        super().__init__(detail)
        self.status, self.title, self.detail, self.response = status, title, detail, response


class NotFound(PetaKotaError):
    """404: no such collection, feature, raster or process."""


class BadRequest(PetaKotaError):
    """400: the request was refused (bad filter, invalid geometry, unknown property...); `detail` says why."""


class Conflict(PetaKotaError):
    """412 (or 409): the feature changed since its ETag was read; read it again and reapply the edit."""


class Unauthorized(PetaKotaError):
    """401/403: an API key (of the right role) is needed."""


_ERRORS: dict[int, type[PetaKotaError]] = {400: BadRequest, 413: BadRequest, 422: BadRequest, 401: Unauthorized,
                                           403: Unauthorized, 404: NotFound, 409: Conflict, 412: Conflict}


def _error(response: httpx.Response) -> PetaKotaError:
    title, detail = response.reason_phrase or "Error", response.text[:500] or f"HTTP {response.status_code}"
    try:
        body = response.json()
        if isinstance(body, dict):
            title, detail = str(body.get("title") or title), str(body.get("detail") or detail)
    except ValueError:
        pass
    cls = _ERRORS.get(response.status_code, PetaKotaError)
    return cls(response.status_code, title, detail, response)


# --- conversions ------------------------------------------------------------------------------------------
