from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import catalog
from gis.core.db import postgis_version

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Database reachable, PostGIS version, layer count")
def healthz(request: Request):
    try:
        version = postgis_version(request.app.state.engine)
        layers = len(catalog(request))  # built-in and runtime layers
    except Exception as exc:  # a health check reports, it never raises
        return JSONResponse({"status": "error", "database": False, "detail": exc.__class__.__name__},
                            status_code=503, headers={"Retry-After": "5"})
    return {"status": "ok", "database": True, "postgis": version, "layers": layers}
