"""WFS 2.0.0 read by real clients - OWSLib and GDAL's WFS driver - against the running service: the public
layers and fields for anonymous callers, all of them with a key; counts, areas, paging, BBOX, srsName and the
exception reports of malformed requests checked against the database and pyproj/shapely."""

import json
import os
import subprocess

import geopandas as gpd
import httpx
import numpy as np
import pyogrio
import pytest
import shapely
from lxml import etree
from owslib.wfs import WebFeatureService
from pyproj import Transformer
from shapely.geometry import box, shape
from sqlalchemy import text

from layers import CATALOG
from tests.conftest import live_public

GML = "http://www.opengis.net/gml/3.2"
WFS = "http://www.opengis.net/wfs/2.0"
OWS = "http://www.opengis.net/ows/1.1"
NS = "https://petakota.id/wfs"
XSD = "http://www.w3.org/2001/XMLSchema"
PUBLIC = sorted(layer.id for layer in CATALOG.values() if layer.public)
PRIVATE_LAYERS = sorted(layer.id for layer in CATALOG.values() if not layer.public)
PRIVATE_FIELDS = {layer.id: [f.name for f in layer.private_fields] for layer in CATALOG.values()
                  if layer.public and layer.private_fields}
TO_UTM = Transformer.from_crs(4326, 32647, always_xy=True)
BASE = {"service": "WFS", "version": "2.0.0"}


def to_utm(geometry):
    """A lon/lat geometry in the city's UTM zone (EPSG:32647), by pyproj."""
    return shapely.transform(geometry, lambda xy: np.column_stack(TO_UTM.transform(xy[:, 0], xy[:, 1])))


def wfs_get(server, key=None, **params) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    return httpx.get(f"{server}/wfs", params=params, headers=headers, timeout=60)


def features(server, layer, key=None, **params) -> dict:
    r = wfs_get(server, key, **BASE, request="GetFeature", typeNames=f"petakota:{layer}",
                outputFormat="application/json", **params)
    assert r.status_code == 200, r.text[:500]
    return r.json()


def db_count(engine, layer) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {layer}")).scalar()


def db_frame(engine, layer) -> gpd.GeoDataFrame:
    with engine.connect() as conn:
        return gpd.read_postgis(text(f"SELECT id, geom FROM {layer} ORDER BY id"), conn, geom_col="geom")


def private_values(engine) -> dict[str, set[str]]:
    """Per layer, the text values of its private fields held in the database (names, NIKs, phone numbers)."""
    out = {}
    with engine.connect() as conn:
        for layer, names in PRIVATE_FIELDS.items():
            texts = [n for n in names if CATALOG[layer].field(n).type == "text"]
            rows = conn.execute(text(f"SELECT {', '.join(texts) or 'NULL'} FROM {layer}")).all() if texts else []
            out[layer] = {str(v) for row in rows for v in row if v and len(str(v)) >= 4}
    return out


# --- capabilities --------------------------------------------------------------------------------------------------

def test_owslib_lists_the_public_layers_and_a_key_sees_the_private_ones(server, keys, engine):
    wfs = WebFeatureService(f"{server}/wfs", version="2.0.0")
    public = live_public(engine)  # the declared layers and those other tests added at runtime
    assert sorted(wfs.contents) == [f"petakota:{name}" for name in public]
    kelurahan = wfs.contents["petakota:kelurahan"]
    assert kelurahan.title == CATALOG["kelurahan"].title_id
    crs = {c.getcodeurn() for c in kelurahan.crsOptions}
    assert {"urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:EPSG::3857", "urn:ogc:def:crs:EPSG::32647"} <= crs
    west, south, east, north = kelurahan.boundingBoxWGS84[:4]
    assert 98.3 < west < east < 98.7 and 3.4 < south < north < 3.8  # Binjai
    assert {op.name for op in wfs.operations} >= {"GetCapabilities", "DescribeFeatureType", "GetFeature"}
    assert "Kota Binjai" in wfs.identification.title

    planner = WebFeatureService(f"{server}/wfs", version="2.0.0", headers={"X-API-Key": keys["analyst"]})
    assert sorted(planner.contents) == [f"petakota:{name}" for name in live_public(engine, public_only=False)]
    assert set(PRIVATE_LAYERS) < set(live_public(engine, public_only=False))


def test_capabilities_speak_english_when_asked(server):
    for params in ({"lang": "en"}, {"AcceptLanguages": "en"}):
        root = etree.fromstring(wfs_get(server, **BASE, request="GetCapabilities", **params).content)
        titles = {ft.findtext(f"{{{WFS}}}Name"): ft.findtext(f"{{{WFS}}}Title")
                  for ft in root.iter(f"{{{WFS}}}FeatureType")}
        assert titles["petakota:zoning"] == CATALOG["zoning"].title_en != CATALOG["zoning"].title_id
        assert "web feature service" in root.findtext(f".//{{{OWS}}}Title")
        # the operations' URLs keep the language
        assert all("lang=en" in get.get("{http://www.w3.org/1999/xlink}href") for get in root.iter(f"{{{OWS}}}Get"))


def test_capabilities_of_a_city_scope_keep_it_in_every_url_and_box_its_features(server, engine):
    root = etree.fromstring(wfs_get(server, request="GetCapabilities", service="WFS", city="12.75",
                                    AcceptVersions="2.0.0,1.1.0").content)
    hrefs = [get.get("{http://www.w3.org/1999/xlink}href") for get in root.iter(f"{{{OWS}}}Get")]
    assert hrefs and all("city=12.75" in h for h in hrefs)
    with engine.connect() as conn:
        extent = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                   "(SELECT ST_Extent(geom) e FROM parks WHERE kabkota = '12.75') s")).one()
    parks = next(ft for ft in root.iter(f"{{{WFS}}}FeatureType") if ft.findtext(f"{{{WFS}}}Name") == "petakota:parks")
    box_el = parks.find(f"{{{OWS}}}WGS84BoundingBox")
    corners = [float(v) for tag in ("LowerCorner", "UpperCorner") for v in box_el.findtext(f"{{{OWS}}}{tag}").split()]
    assert corners == pytest.approx(list(extent), abs=1e-9)


# --- GetFeature: GML and GeoJSON -----------------------------------------------------------------------------------

def test_owslib_getfeature_returns_gml_and_geojson(server, engine):
    wfs = WebFeatureService(f"{server}/wfs", version="2.0.0")
    root = etree.fromstring(wfs.getfeature(typename=["petakota:kelurahan"]).read())
    members = root.findall(f"{{{WFS}}}member/{{{NS}}}kelurahan")
    assert len(members) == int(root.get("numberMatched")) == db_count(engine, "kelurahan")
    first = members[0].find(f".//{{{GML}}}posList")
    lat, lon = map(float, first.text.split()[:2])  # urn:ogc:def:crs:EPSG::4326 is latitude first
    assert 3.4 < lat < 3.8 and 98.3 < lon < 98.7
    geojson = json.loads(wfs.getfeature(typename=["petakota:parks"], outputFormat="application/json").read())
    assert len(geojson["features"]) == geojson["numberMatched"] == db_count(engine, "parks")
    assert all(f["id"].startswith("parks.") for f in geojson["features"])


def test_gml_and_geojson_carry_the_same_features_and_geometries(server):
    gml_doc = etree.fromstring(wfs_get(server, **BASE, request="GetFeature", typeNames="petakota:roads",
                                       srsName="urn:ogc:def:crs:EPSG::32647", count=50).content)
    as_json = features(server, "roads", srsName="urn:ogc:def:crs:EPSG::32647", count=50)["features"]
    lines = {m.get(f"{{{GML}}}id"): [float(v) for v in m.find(f".//{{{GML}}}posList").text.split()]
             for m in gml_doc.iter(f"{{{NS}}}roads")}
    assert lines.keys() == {f["id"] for f in as_json}
    for f in as_json:
        first = f["geometry"]["coordinates"][0]
        assert lines[f["id"]][:2] == pytest.approx(first[0], abs=1e-3)


def test_resource_ids_and_several_type_names(server, engine):
    with engine.connect() as conn:
        park_ids = [r[0] for r in conn.execute(text("SELECT id FROM parks ORDER BY id LIMIT 3"))]
        gate = conn.execute(text("SELECT min(id) FROM toll_gates")).scalar()
    ids = [f"parks.{i}" for i in park_ids] + [f"toll_gates.{gate}"]
    got = wfs_get(server, **BASE, request="GetFeature", resourceId=",".join(ids), outputFormat="application/json")
    assert sorted(f["id"] for f in got.json()["features"]) == sorted(ids)
    both = features(server, "parks,petakota:toll_gates", resultType="hits")
    assert both["numberMatched"] == db_count(engine, "parks") + db_count(engine, "toll_gates")
    assert both["numberReturned"] == 0 and both["features"] == []
    # paging runs across the types: parks first, then toll gates, each feature once
    with engine.connect() as conn:
        every = {f"{t}.{r[0]}" for t in ("parks", "toll_gates") for r in conn.execute(text(f"SELECT id FROM {t}"))}
    seen, start = [], 0
    while start < len(every) + 5:
        seen += [f["id"] for f in features(server, "parks,petakota:toll_gates", count=5, startIndex=start)["features"]]
        start += 5
    assert len(seen) == len(set(seen)) == len(every) and set(seen) == every


def test_hits_count_the_features_of_a_city_scope(server, engine):
    with engine.connect() as conn:
        inside = conn.execute(text("SELECT count(*) FROM zoning WHERE kabkota = '12.75'")).scalar()
    root = etree.fromstring(wfs_get(server, **BASE, request="GetFeature", typeNames="petakota:zoning",
                                    resultType="hits", city="12.75").content)
    assert int(root.get("numberMatched")) == inside > 0 and root.get("numberReturned") == "0"


# --- GDAL ----------------------------------------------------------------------------------------------------------

def test_gdal_copies_every_public_layer_with_the_ogc_apis_counts_and_areas(server, engine, tmp_path):
    out = tmp_path / "city.gpkg"
    result = subprocess.run(["ogr2ogr", "-f", "GPKG", str(out), f"WFS:{server}/wfs?SERVICE=WFS&VERSION=2.0.0"],
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "GDAL_HTTP_TIMEOUT": "120"})
    assert result.returncode == 0, result.stderr[-2000:]
    copied = {name.split(":")[-1]: name for name, _ in pyogrio.list_layers(out)}
    public = live_public(engine)
    assert sorted(copied) == public
    for layer in public:
        frame = gpd.read_file(out, layer=copied[layer])
        assert len(frame) == db_count(engine, layer), layer
        if layer not in CATALOG or not CATALOG[layer].is_polygon:
            continue
        api = httpx.get(f"{server}/collections/{layer}/items", params={"limit": 10_000}, timeout=60).json()
        api_areas = {f"{layer}.{f['id']}": to_utm(shape(f["geometry"])).area
                     for f in api["features"]}
        frame = frame.to_crs(4326)
        wfs_areas = {fid: to_utm(geom).area
                     for fid, geom in zip(frame["gml_id"], frame.geometry, strict=True)}
        assert wfs_areas.keys() == api_areas.keys(), layer
        for fid, area in api_areas.items():
            assert wfs_areas[fid] == pytest.approx(area, rel=1e-5, abs=0.5), fid


# --- paging, BBOX, srsName, sorting ---------------------------------------------------------------------------------

def test_paging_covers_every_feature_exactly_once(server, engine):
    total = db_count(engine, "zoning")
    seen, start = [], 0
    while True:
        page = features(server, "zoning", count=7, startIndex=start)
        assert page["numberMatched"] == total and page["numberReturned"] == len(page["features"]) <= 7
        seen += [f["id"] for f in page["features"]]
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            break
        start += 7
        assert f"startIndex={start}" in nxt[0]
    with engine.connect() as conn:
        ids = [f"zoning.{r[0]}" for r in conn.execute(text("SELECT id FROM zoning"))]
    assert len(seen) == len(set(seen)) == total and set(seen) == set(ids)
    # the GML answer pages the same way, following its own `next` URL
    gml_ids, url = [], f"{server}/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=zoning&count=40"
    while url:
        root = etree.fromstring(httpx.get(url, timeout=60).content)
        gml_ids += [m.get(f"{{{GML}}}id") for m in root.iter(f"{{{NS}}}zoning")]
        url = root.get("next")
    assert sorted(gml_ids) == sorted(ids)


def test_bbox_selects_what_shapely_intersects_in_any_axis_order(server, engine):
    frame = db_frame(engine, "kelurahan")
    west, south, east, north = 98.50, 3.58, 98.52, 3.60
    expected = {f"kelurahan.{i}" for i, g in zip(frame["id"], frame.geom, strict=True)
                if g.intersects(box(west, south, east, north))}
    assert 0 < len(expected) < len(frame)
    lat_lon = features(server, "kelurahan", bbox=f"{south},{west},{north},{east}")  # the default CRS: lat, lon
    lon_lat = features(server, "kelurahan", bbox=f"{west},{south},{east},{north},EPSG:4326")
    assert {f["id"] for f in lat_lon["features"]} == {f["id"] for f in lon_lat["features"]} == expected
    x0, y0 = TO_UTM.transform(west, south)
    x1, y1 = TO_UTM.transform(east, north)
    in_utm = features(server, "kelurahan", bbox=f"{x0},{y0},{x1},{y1},urn:ogc:def:crs:EPSG::32647")
    utm_expected = {f"kelurahan.{i}" for i, g in zip(frame["id"], frame.geom, strict=True)
                    if to_utm(g).intersects(box(x0, y0, x1, y1))}
    assert {f["id"] for f in in_utm["features"]} == utm_expected


def test_gdal_spatial_filter_and_fes_filters_select_what_shapely_intersects(server, engine, tmp_path):
    frame = db_frame(engine, "kelurahan")
    area = (98.50, 3.58, 98.52, 3.60)
    expected = {f"kelurahan.{i}" for i, g in zip(frame["id"], frame.geom, strict=True) if g.intersects(box(*area))}
    out = tmp_path / "part.gpkg"
    # GDAL turns -spat into a FES 2.0 BBOX filter on a gml:Envelope in the default CRS (lat, lon)
    result = subprocess.run(["ogr2ogr", "-f", "GPKG", str(out), f"WFS:{server}/wfs", "petakota:kelurahan",
                             "-spat", *map(str, area)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert set(gpd.read_file(out)["gml_id"]) == expected
    envelope = (f'<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0" xmlns:gml="{GML}"><fes:BBOX>'
                f'<fes:ValueReference>geom</fes:ValueReference><gml:Envelope srsName="EPSG:4326">'
                f'<gml:lowerCorner>{area[0]} {area[1]}</gml:lowerCorner><gml:upperCorner>{area[2]} {area[3]}'
                f'</gml:upperCorner></gml:Envelope></fes:BBOX></fes:Filter>')
    assert {f["id"] for f in features(server, "kelurahan", filter=envelope)["features"]} == expected
    chosen = sorted(expected)[:2]
    by_id = (f'<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0"><fes:Or>'
             f'{"".join(f"<fes:ResourceId rid={rid!r}/>" for rid in chosen)}</fes:Or></fes:Filter>')
    assert sorted(f["id"] for f in features(server, "kelurahan", filter=by_id)["features"]) == chosen


def test_srsname_utm_coordinates_equal_pyproj(server, engine):
    frame = db_frame(engine, "business_centers").set_index("id")
    got = features(server, "business_centers", srsName="EPSG:32647")["features"]
    assert len(got) == len(frame)
    for f in got:
        point = frame.geom[int(f["id"].split(".")[1])]
        assert f["geometry"]["coordinates"] == pytest.approx(list(TO_UTM.transform(point.x, point.y)), abs=0.002)
    mercator = features(server, "business_centers", srsName="urn:ogc:def:crs:EPSG::3857")["features"][0]
    point = frame.geom[int(mercator["id"].split(".")[1])]
    expected = Transformer.from_crs(4326, 3857, always_xy=True).transform(point.x, point.y)
    assert mercator["geometry"]["coordinates"] == pytest.approx(list(expected), abs=0.002)


def test_sortby_orders_the_features(server):
    names = [f["properties"]["nama"] for f in features(server, "kelurahan", sortBy="nama DESC")["features"]]
    assert names == sorted(names, reverse=True) and len(set(names)) > 10


# --- fields the caller may read -------------------------------------------------------------------------------------

@pytest.mark.parametrize("layer", sorted(PRIVATE_FIELDS))
def test_anonymous_answers_carry_no_private_field_and_a_key_gets_them(server, engine, keys, layer):
    values = private_values(engine)[layer]
    private = PRIVATE_FIELDS[layer]
    gml_text = wfs_get(server, **BASE, request="GetFeature", typeNames=f"petakota:{layer}").text
    json_text = json.dumps(features(server, layer))
    schema = wfs_get(server, **BASE, request="DescribeFeatureType", typeNames=f"petakota:{layer}").text
    for body in (gml_text, json_text, schema):
        assert [f for f in private if f'"{f}"' in body or f"petakota:{f}>" in body or f"petakota:{f} " in body] == []
        assert [v for v in values if v in body] == []
    # with a key that reads private fields: the schema declares them and the features carry the database's values
    schema = etree.fromstring(wfs_get(server, keys["analyst"], **BASE, request="DescribeFeatureType",
                                      typeNames=f"petakota:{layer}").content)
    declared = {el.get("name") for el in schema.iter(f"{{{XSD}}}element")}
    assert set(private) <= declared
    full = features(server, layer, key=keys["analyst"])["features"]
    with engine.connect() as conn:
        held = {f"{layer}.{r[0]}": r[1] for r in conn.execute(text(f"SELECT id, {private[0]} FROM {layer}"))}
    assert {f["id"]: f["properties"][private[0]] for f in full} == held
    gml_full = wfs_get(server, keys["analyst"], **BASE, request="GetFeature", typeNames=f"petakota:{layer}").text
    assert all(v in gml_full for v in values)


def test_private_layers_are_unknown_without_a_key(server, keys):
    for layer in PRIVATE_LAYERS:
        r = wfs_get(server, **BASE, request="GetFeature", typeNames=f"petakota:{layer}")
        assert exception_of(r) == ("InvalidParameterValue", "typeNames")
        assert wfs_get(server, keys["analyst"], **BASE, request="GetFeature",
                       typeNames=f"petakota:{layer}").status_code == 200


def test_describe_feature_type_types_geometries_and_fields(server):
    root = etree.fromstring(wfs_get(server, **BASE, request="DescribeFeatureType",
                                    typeNames="petakota:kelurahan,petakota:business_centers,roads").content)
    assert root.get("targetNamespace") == NS
    types = {t.get("name"): {e.get("name"): e.get("type") for e in t.iter(f"{{{XSD}}}element")}
             for t in root.iter(f"{{{XSD}}}complexType")}
    assert types["kelurahanType"]["geom"] == "gml:MultiSurfacePropertyType"
    assert types["business_centersType"]["geom"] == "gml:PointPropertyType"
    assert types["roadsType"]["geom"] == "gml:MultiCurvePropertyType"
    assert types["kelurahanType"]["area_ha"] == "xsd:double"
    described = wfs_get(server, **BASE, request="DescribeFeatureType", typeNames="kelurahan",
                        outputFormat="application/json").json()
    names = [p["name"] for p in described["featureTypes"][0]["properties"]]
    assert names == ["geom", *(f.name for f in CATALOG["kelurahan"].public_fields), "kabkota"]


# --- malformed requests ---------------------------------------------------------------------------------------------

def exception_of(response) -> tuple[str, str | None]:
    assert 400 <= response.status_code < 500, response.text[:300]
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{OWS}}}ExceptionReport"
    exc = root.find(f"{{{OWS}}}Exception")
    assert exc.findtext(f"{{{OWS}}}ExceptionText")
    return exc.get("exceptionCode"), exc.get("locator")


GF = {**BASE, "request": "GetFeature", "typeNames": "petakota:parks"}
MALFORMED = [
    ({}, "MissingParameterValue", "request", 400),
    ({"service": "WFS", "request": "GetFeature", "typeNames": "parks"}, "MissingParameterValue", "version", 400),
    ({**BASE, "request": "Transaction"}, "OperationNotSupported", "request", 400),
    ({**BASE, "request": "GetFeature"}, "MissingParameterValue", "typeNames", 400),
    ({"service": "WMS", "request": "GetCapabilities"}, "InvalidParameterValue", "service", 400),
    ({"service": "WFS", "request": "GetCapabilities", "version": "1.1.0"}, "InvalidParameterValue", "version", 400),
    ({"service": "WFS", "request": "GetCapabilities", "AcceptVersions": "1.1.0,1.0.0"}, "VersionNegotiationFailed",
     "AcceptVersions", 400),
    ({**GF, "version": "1.1.0"}, "InvalidParameterValue", "version", 400),
    ({**GF, "typeNames": "petakota:nothing"}, "InvalidParameterValue", "typeNames", 400),
    ({**GF, "typeNames": "other:parks"}, "InvalidParameterValue", "typeNames", 400),
    ({**GF, "count": "ten"}, "InvalidParameterValue", "count", 400),
    ({**GF, "count": "0"}, "InvalidParameterValue", "count", 400),
    ({**GF, "startIndex": "-1"}, "InvalidParameterValue", "startIndex", 400),
    ({**GF, "startIndex": "99999999999999999999999"}, "InvalidParameterValue", "startIndex", 400),
    ({**GF, "bbox": "1,2,3"}, "InvalidParameterValue", "bbox", 400),
    ({**GF, "bbox": "3.6,98.5,3.5,98.6"}, "InvalidParameterValue", "bbox", 400),
    ({**GF, "bbox": "a,b,c,d"}, "InvalidParameterValue", "bbox", 400),
    ({**GF, "bbox": "1,2,3,4,EPSG:2000"}, "InvalidParameterValue", "bbox", 400),
    ({**GF, "srsName": "EPSG:2000"}, "InvalidParameterValue", "srsName", 400),
    ({**GF, "outputFormat": "shape-zip"}, "InvalidParameterValue", "outputFormat", 400),
    ({**GF, "resultType": "everything"}, "InvalidParameterValue", "resultType", 400),
    ({**GF, "sortBy": "nothing"}, "InvalidParameterValue", "sortBy", 400),
    ({**GF, "sortBy": "nama UP"}, "InvalidParameterValue", "sortBy", 400),
    ({**GF, "filter": "<fes:Filter/>"}, "InvalidParameterValue", "filter", 400),
    ({**GF, "filter": "<Filter xmlns='http://www.opengis.net/fes/2.0'><PropertyIsEqualTo><ValueReference>nama"
                      "</ValueReference><Literal>x</Literal></PropertyIsEqualTo></Filter>"},
     "InvalidParameterValue", "filter", 400),
    ({**GF, "filter": "<Filter xmlns='http://www.opengis.net/fes/2.0'><BBOX><Envelope/></BBOX></Filter>"},
     "InvalidParameterValue", "filter", 400),
    ({**GF, "filter": "<Filter xmlns='http://www.opengis.net/fes/2.0'><BBOX/></Filter>", "bbox": "1,2,3,4"},
     "InvalidParameterValue", "filter", 400),
    ({**GF, "city": "99.99"}, "InvalidParameterValue", "city", 400),
    ({**BASE, "request": "GetFeature", "resourceId": "parks"}, "InvalidParameterValue", "resourceId", 400),
    ({**BASE, "request": "GetFeature", "resourceId": "nothing.1"}, "InvalidParameterValue", "resourceId", 400),
    ({**BASE, "request": "GetFeature", "resourceId": "parks.999999999"}, "NotFound", "resourceId", 404),
    ({**BASE, "request": "GetFeature", "resourceId": "parks.99999999999999999999999"}, "InvalidParameterValue",
     "resourceId", 400),
    ({**GF, "resourceId": "kelurahan.1"}, "InvalidParameterValue", "resourceId", 400),
    ({**BASE, "request": "DescribeFeatureType", "typeNames": "nothing"}, "InvalidParameterValue", "typeNames", 400),
]


@pytest.mark.parametrize(("params", "code", "locator", "status"), MALFORMED)
def test_malformed_requests_get_an_exception_report(server, params, code, locator, status):
    r = wfs_get(server, **params)
    assert r.status_code == status, r.text[:300]
    assert exception_of(r) == (code, locator)


def test_a_revoked_or_wrong_key_gets_an_exception_report(server):
    r = wfs_get(server, "not-a-key", **BASE, request="GetCapabilities")
    assert r.status_code == 401 and exception_of(r)[0] == "NoApplicableCode"
