"""The Python client for analysts: OGC API collections as GeoDataFrames, processes, rasters."""

from gis.client.http import (
    BadRequest,
    Client,
    Conflict,
    NotFound,
    PetaKotaError,
    ProcessResult,
    RasterRef,
    Unauthorized,
)

__all__ = ["BadRequest", "Client", "Conflict", "NotFound", "PetaKotaError", "ProcessResult", "RasterRef",
           "Unauthorized"]
