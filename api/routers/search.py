"""Finding things on the map: search as you type, and the features at a clicked point (identify)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from api.deps import Caller, Catalog
from api.responses import problem_responses
from gis.core.language import lang_of
from gis.data import identify as identify_features
from gis.data import search as search_names

router = APIRouter(tags=["search"])

CITY_DOC = "Kemendagri codes of the cities in scope, comma-separated (e.g. 12.75,12.07); see /cities"
Lang = Literal["id", "en"]


def _lang(request: Request, lang: str | None) -> str:
    return lang_of(lang or request.headers.get("accept-language"))


@router.get("/search", summary="Places, zones, programmes and named features matching what is typed "
                               "(prefix and typo-tolerant), best first", responses=problem_responses())
def search(request: Request, who: Caller, catalog: Catalog,
           q: Annotated[str, Query(description="a few letters or words: Tunggurono, binjai tim, II.A.1")] = "",
           city: Annotated[str | None, Query(description=CITY_DOC)] = None,
           limit: Annotated[int, Query(ge=1, le=search_names.MAX_LIMIT)] = 10, lang: Lang | None = None):
    scope = catalog.scope(city)
    with catalog.engine.connect() as conn:
        return search_names.search(conn, q, who, catalog.layers(), scope, limit, _lang(request, lang))


@router.get("/identify", summary="The features of the listed layers at a point, most specific first, with "
                                 "their values formatted for the language", responses=problem_responses())
def identify(request: Request, who: Caller, catalog: Catalog,
             lon: Annotated[float | None, Query(description="longitude (WGS 84)")] = None,
             lat: Annotated[float | None, Query(description="latitude (WGS 84)")] = None,
             layers: Annotated[str | None, Query(description="the visible layers, comma-separated, "
                                                             "e.g. kelurahan,zoning,parks")] = None,
             zoom: Annotated[float, Query(ge=0, le=24, description="the map's zoom: the click's tolerance "
                                                                   "for points and lines is a few pixels")] = 16,
             city: Annotated[str | None, Query(description=CITY_DOC)] = None, lang: Lang | None = None):
    point = identify_features.check_point(lon, lat)
    chosen = identify_features.check_layers(layers, catalog.layers(), who)
    scope = catalog.scope(city)
    with catalog.engine.connect() as conn:
        return identify_features.identify(conn, point, chosen, who, zoom, scope, _lang(request, lang),
                                          request.app.state.settings.city.metric_crs)
