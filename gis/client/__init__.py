"""The Python client for analysts: OGC API collections as GeoDataFrames, processes, rasters."""

from gis.client.errors import BadRequest, Conflict, NotFound, PetaKotaError, Unauthorized
from gis.client.http import Client, ProcessResult, RasterRef

__all__ = ["BadRequest", "Client", "Conflict", "NotFound", "PetaKotaError", "ProcessResult", "RasterRef",
           "Unauthorized"]
