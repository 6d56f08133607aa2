from fastapi import APIRouter, Request

from api.deps import Caller, Catalog

router = APIRouter(tags=["catalog"])


@router.get("/layers", summary="The layer catalog: declarations, exact feature counts and extents")
def list_layers(request: Request, who: Caller, catalog: Catalog):
    layers = catalog.visible(who)
    stats = catalog.stats(layers)
    return {"city": request.app.state.settings.city.model_dump(),
            "layers": [{**layer.to_dict(include_private=who.may_read_layer(layer.id)), **stats[layer.id].to_dict()}
                       for layer in layers]}
