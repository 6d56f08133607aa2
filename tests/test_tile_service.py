"""The catalog and tile services over real HTTP: small parks and business centres in the tiles at every zoom,
TileJSON bounds from each layer's real extent (kept fresh by edits), one cache policy (ETag/304, invalidation,
one memory budget) for vector and raster tiles."""

import asyncio
import dataclasses
import time

import mapbox_vector_tile
import morecantile
import pytest
import shapely
from sqlalchemy import text

from gis.data.changes import EVERYTHING
from gis.tiles.service import TileService
from gis.tiles.vector import EXTENT, MIN_PIXELS, render_tile
from layers import CATALOG
from tests.test_counts import drop_runtime_layer

TMS = morecantile.tms.get("WebMercatorQuad")
Y_DOWN = {"y_coord_down": True}  # tile coordinates as drawn: origin top left


def _ids(engine, table: str) -> set[int]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(text(f"SELECT id FROM {table}"))}


def _extent(engine, table: str) -> tuple[float, float, float, float]:
    """A layer's extent computed here with shapely from the stored geometries (not by the service's SQL)."""
    with engine.connect() as conn:
        geoms = [shapely.from_wkb(r[0]) for r in conn.execute(text(f"SELECT ST_AsBinary(geom) FROM {table}"))]
    return tuple(shapely.total_bounds(geoms))


def _decode(http, path: str) -> dict:
    r = http.get(path)
    assert r.status_code == 200, r.text[:200]
    return mapbox_vector_tile.decode(r.content, default_options=Y_DOWN)


@pytest.mark.parametrize("z", [11, 12, 13])
def test_every_park_and_business_centre_is_in_the_city_tiles(http, engine, z):
    city = _extent(engine, "kota")
    parks, centres = _extent(engine, "parks"), _extent(engine, "business_centers")
    for box in (parks, centres):  # so the tiles covering the city cover every feature
        assert city[0] <= box[0] and city[1] <= box[1] and box[2] <= city[2] and box[3] <= city[3]
    seen: dict[str, set] = {"parks": set(), "business_centers": set()}
    for t in TMS.tiles(*city, zooms=[z]):
        decoded = _decode(http, f"/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}?collections=parks,business_centers")
        for layer, ids in seen.items():
            ids |= {f["id"] for f in decoded.get(layer, {}).get("features", [])}
    assert seen["parks"] == _ids(engine, "parks") and len(seen["parks"]) == 201
    assert seen["business_centers"] == _ids(engine, "business_centers")


def test_a_park_smaller_than_two_pixels_is_drawn_two_pixels_wide_at_its_point_on_surface(http, engine):
    with engine.connect() as conn:
        fid, x, y, width = conn.execute(text(
            "SELECT id, ST_X(p), ST_Y(p), ST_XMax(geom_3857) - ST_XMin(geom_3857) FROM "
            "(SELECT id, geom_3857, ST_PointOnSurface(geom_3857) p FROM parks) s "
            "ORDER BY ST_Area(geom_3857) LIMIT 1")).one()
    z = 11
    lon, lat = TMS.lnglat(x, y)
    t = TMS.tile(lon, lat, z)
    b = TMS.xy_bounds(t)
    unit = (b.right - b.left) / EXTENT  # metres per tile unit
    assert width < MIN_PIXELS * 256 * unit  # really smaller than two pixels at this zoom
    decoded = _decode(http, f"/collections/parks/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}")
    feature = next(f for f in decoded["parks"]["features"] if f["id"] == fid)
    x0, y0, x1, y1 = shapely.geometry.shape(feature["geometry"]).bounds
    side = MIN_PIXELS * EXTENT / 256  # two pixels in tile units
    assert x1 - x0 == pytest.approx(side, abs=1) and y1 - y0 == pytest.approx(side, abs=1)
    expected = ((x - b.left) / unit, (b.top - y) / unit)  # the point on surface in tile units
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx(expected, abs=1)
    # the same layer declared without the flag drops it: the check above can fail
    plain = dataclasses.replace(CATALOG["parks"], keep_small_features=False)
    with engine.connect() as conn:
        tile = render_tile(conn, [plain], t.z, t.x, t.y, False, 10_000)
    assert fid not in {f["id"] for f in mapbox_vector_tile.decode(tile.data)["parks"]["features"]}


def test_tilejson_bounds_are_each_layers_real_extent(http, engine):
    city = _extent(engine, "kota")
    parcels = _extent(engine, "project_parcels")
    assert parcels[2] - parcels[0] < (city[2] - city[0]) / 5  # the estate is a small part of the city
    tj = http.get("/collections/project_parcels/tiles/WebMercatorQuad/tilejson.json").json()
    assert tj["bounds"] == pytest.approx(parcels, abs=1e-9)
    lon, lat, _ = tj["center"]
    assert parcels[0] <= lon <= parcels[2] and parcels[1] <= lat <= parcels[3]  # opens on the estate
    tileset = http.get("/collections/project_parcels/tiles/WebMercatorQuad").json()
    box = tileset["boundingBox"]
    assert box["lowerLeft"] + box["upperRight"] == pytest.approx(parcels, abs=1e-9)
    both = http.get("/tiles/WebMercatorQuad/tilejson.json", params={"collections": "project_parcels,parks"}).json()
    parks = _extent(engine, "parks")
    assert both["bounds"] == pytest.approx([min(parcels[0], parks[0]), min(parcels[1], parks[1]),
                                            max(parcels[2], parks[2]), max(parcels[3], parks[3])], abs=1e-9)


@pytest.fixture()
def runtime_layer(http, engine, keys, server):
    """A point layer added through the admin API, removed afterwards."""
    layer_id = "titik_uji_tilejson"
    declaration = {"id": layer_id, "title": {"id": "Titik uji", "en": "Test points"}, "geometry_type": "Point",
                   "source": "uji", "illustrative": True,
                   "fields": [{"name": "nama", "type": "text", "title": {"id": "Nama", "en": "Name"}}]}
    r = http.post("/admin/layers", json=declaration, headers={"X-API-Key": keys["admin"]})
    assert r.status_code == 201, r.text
    yield layer_id
    drop_runtime_layer(engine, server, layer_id)


def test_tilejson_bounds_of_a_runtime_layer_follow_its_edits(http, engine, keys, runtime_layer):
    url = f"/collections/{runtime_layer}/tiles/WebMercatorQuad/tilejson.json"
    # empty: the city's bounds
    assert http.get(url).json()["bounds"] == pytest.approx(_extent(engine, "kota"), abs=1e-9)
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [98.47, 3.57]},
             "properties": {"nama": "A"}}
    r = http.post(f"/collections/{runtime_layer}/items", json=point, headers={"X-API-Key": keys["planner"]})
    assert r.status_code == 201, r.text
    assert http.get(url).json()["bounds"] == pytest.approx([98.47, 3.57, 98.47, 3.57], abs=1e-9)
    with engine.begin() as conn:  # an edit straight in the database reaches the service through NOTIFY
        conn.execute(text(f"INSERT INTO {runtime_layer} (nama, geom) VALUES ('B', ST_Point(98.52, 3.63, 4326))"))
    expected = [98.47, 3.57, 98.52, 3.63]
    deadline, bounds = time.time() + 5, None
    while time.time() < deadline:
        bounds = http.get(url).json()["bounds"]
        if bounds == pytest.approx(expected, abs=1e-9):
            break
        time.sleep(0.1)
    assert bounds == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(_extent(engine, runtime_layer), abs=1e-9)
    layer = next(e for e in http.get("/layers").json()["layers"] if e["id"] == runtime_layer)
    assert layer["feature_count"] == 2 and layer["bbox"] == pytest.approx(expected, abs=1e-9)


def test_if_none_match_lists_and_weak_tags_give_304_for_vector_and_raster_tiles(http):
    t = TMS.tile(98.49, 3.60, 13)
    for path in (f"/collections/parks/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}",
                 f"/rasters/landcover_2024/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png"):
        first = http.get(path)
        assert first.status_code == 200 and first.content
        etag = first.headers["etag"]
        for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
            again = http.get(path, headers={"If-None-Match": header})
            assert again.status_code == 304 and again.headers["etag"] == etag and not again.content
        assert http.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_one_memory_budget_for_vector_and_raster_tiles_and_invalidation_by_layer(settings, engine):
    with engine.connect() as conn:
        entry = dict(conn.execute(text("SELECT * FROM rasters WHERE id = 'landcover_2024'")).mappings().one())
    budget = 60_000  # tiles above a tenth of it are not kept
    service = TileService(engine, cache_bytes=budget, feature_cap=10_000, data_dir=settings.data_dir)
    vector = [(z, t) for z in (12, 13, 14) for t in TMS.tiles(98.45, 3.55, 98.53, 3.65, [z])]
    raster = list(TMS.tiles(98.45, 3.55, 98.53, 3.65, [13]))

    async def run() -> int:
        produced = 0
        for _, t in vector:
            produced += len((await service.vector_tile([CATALOG["zoning"]], t.z, t.x, t.y, False)).body)
        for t in raster:
            produced += len((await service.raster_tile(entry, t.z, t.x, t.y)).body)
        return produced

    produced = asyncio.run(run())
    assert produced > budget  # more than fits: the cache had to evict
    cached = service.cache._tiles
    assert 0 < service.cache.size == sum(v.size for v in cached.values()) <= budget
    assert {key[0] for key in cached} == {"mvt", "png"}  # one cache holds both kinds

    def png_key(t):
        return service.cache.key("png", ("raster:landcover_2024",), entry["path"], t.z, t.x, t.y)

    def mvt_key(t):
        return service.cache.key("mvt", ("zoning",), t.z, t.x, t.y, False, ())  # no city scope

    png = next(t for t in raster if service.cache.get(png_key(t)))
    mvt = next(t for _, t in vector if service.cache.get(mvt_key(t)))
    service.invalidate("zoning")  # an edit of zoning: its tiles go, the rasters' stay
    assert service.cache.get(mvt_key(mvt)) is None and service.cache.get(png_key(png)) is not None
    service.invalidate(EVERYTHING)
    assert service.cache.get(png_key(png)) is None and service.cache.size == 0


def test_the_catalog_reads_its_layer_list_again_when_an_unknown_table_reports_a_change(settings, engine, server):
    from gis.data.catalog import CatalogService
    from gis.data.registry import create_layer
    from layers.schema import layer_from_dict

    catalog = CatalogService(engine, ttl=3600, count_budget_ms=settings.count_budget_ms)
    assert "zoning" in catalog.layers()  # now cached for an hour
    layer = layer_from_dict({"id": "titik_uji_katalog", "title": {"id": "Uji", "en": "Test"},
                             "geometry_type": "Point", "fields": []})
    with engine.begin() as conn:  # like `petakota layers add` in another process
        create_layer(conn, layer, settings.city.metric_crs)
    try:
        catalog.invalidate("zoning")  # a known layer changed: the list stays cached
        assert layer.id not in catalog.layers()
        catalog.invalidate(layer.id)  # its NOTIFY: a table the catalog does not know
        assert layer.id in catalog.layers()
    finally:
        drop_runtime_layer(engine, server, layer.id)
