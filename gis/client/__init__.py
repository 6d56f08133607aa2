"""The Python client for analysts: OGC API collections as GeoDataFrames, processes, rasters."""

from gis.client.convert import ProcessResult, RasterRef
from gis.client.errors import BadRequest, Conflict, NotFound, PetaKotaError, Unauthorized
from gis.client.http import Client

__all__ = ["BadRequest", "Client", "Conflict", "NotFound", "PetaKotaError", "ProcessResult", "RasterRef",
           "Unauthorized"]
