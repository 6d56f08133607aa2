from fastapi import APIRouter, Request

from gis.catalog import layer_summaries

router = APIRouter(tags=["catalog"])


@router.get("/layers", summary="The layer catalog: declarations, feature counts and extents")
def list_layers(request: Request):
    settings = request.app.state.settings
    with request.app.state.engine.connect() as conn:
        layers = layer_summaries(conn, include_private=False)
    return {"city": settings.city.model_dump(), "layers": layers}
