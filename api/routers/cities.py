"""The cities held (kab/kota): what `?city=` scopes, with links to each city's collections, tiles and map."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import Catalog
from api.responses import problem_responses
from gis.data.cities import City

router = APIRouter(tags=["cities"])

# The collections a city's links point to: its administrative levels.
LEVELS = ("kota", "kecamatan", "kelurahan")


def _city_doc(base: str, city: City) -> dict:
    scope = f"city={city.code}"
    return {
        **city.to_dict(),
        "links": [
            {"href": f"{base}/cities/{city.code}", "rel": "self", "type": "application/json", "title": city.name},
            *({"href": f"{base}/collections/{level}/items?{scope}", "rel": "items", "type": "application/geo+json",
               "title": f"{city.name}: {level}"} for level in LEVELS),
            {"href": f"{base}/collections?{scope}", "rel": "data", "type": "application/json",
             "title": f"{city.name}: every collection, counts and extents in the city"},
            {"href": f"{base}/tiles/WebMercatorQuad/tilejson.json?{scope}", "rel": "describedby",
             "type": "application/json", "title": f"{city.name}: vector tiles (TileJSON)"},
            {"href": f"{base}/map?{scope}", "rel": "alternate", "type": "text/html",
             "title": f"{city.name}: map"},
        ],
    }


@router.get("/cities", summary="The cities held (kab/kota): code, name, kind, extent, area, population, metric CRS")
def list_cities(request: Request, catalog: Catalog):
    base = str(request.base_url).rstrip("/")
    return {"cities": [_city_doc(base, city) for city in catalog.cities()],
            "links": [{"href": f"{base}/cities", "rel": "self", "type": "application/json"}]}


@router.get("/cities/{code}", summary="One city held", responses=problem_responses())
def one_city(request: Request, code: str, catalog: Catalog):
    return _city_doc(str(request.base_url).rstrip("/"), catalog.city(code))
