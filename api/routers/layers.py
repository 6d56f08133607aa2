from fastapi import APIRouter, Request

from api.deps import Caller, visible_layers
from gis.data.catalog import layer_stats

router = APIRouter(tags=["catalog"])


@router.get("/layers", summary="The layer catalog: declarations, feature counts and extents")
def list_layers(request: Request, who: Caller):
    settings = request.app.state.settings
    layers = visible_layers(request, who)
    with request.app.state.engine.connect() as conn:
        stats = layer_stats(conn, layers)
    return {"city": settings.city.model_dump(),
            "layers": [{**layer.to_dict(include_private=who.sees_private), **stats[layer.id]} for layer in layers]}
