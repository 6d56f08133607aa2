"""Hostile input corpus: every request must be answered 4xx with an RFC 9457 problem+json body, quickly, and the
database must be unchanged afterwards (row counts of every table, md5 of every row of parks/project_parcels).

Paths are sent byte for byte (reliability.common.raw_request), so `..`, `%2e%2e` and `;` reach the server as
written. `{park}` and `{etag}` in a path or header are replaced by an existing park and its current ETag, so
that a write would succeed if the server let the hostile part through."""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from reliability.common import fingerprint, is_problem, raw_request

MB = 1_000_000
CENTER = (98.47, 3.56)  # inside Binjai


@dataclass
class Case:
    label: str
    method: str
    path: str
    body: bytes | Callable[[], bytes] | None = None
    headers: dict = field(default_factory=dict)
    auth: str | None = None  # "planner" or "analyst": sent as X-API-Key
    expect: tuple[int, ...] = ()  # () = any 4xx
    group: str = ""


def _ring(coords):
    return {"type": "Polygon", "coordinates": [coords + [coords[0]]]}


def park(geometry: dict | str, **props) -> bytes:
    """A park feature as JSON text; `geometry` may be raw JSON text (to send NaN, Infinity...)."""
    geom = geometry if isinstance(geometry, str) else json.dumps(geometry)
    p = json.dumps({"nama": "Taman Uji Hostile", "kelas": "taman rw", "publik": True, **props})
    return f'{{"type": "Feature", "geometry": {geom}, "properties": {p}}}'.encode()


def huge_polygon(n: int = 200_000, valid: bool = False) -> dict:
    """An n-vertex ring around a point in Binjai (a circle of radius ~220 m); two vertices swapped make it
    self-intersect unless `valid`."""
    cx, cy = CENTER
    ring = [[cx + 0.002 * math.cos(2 * math.pi * k / (n - 1)), cy + 0.002 * math.sin(2 * math.pi * k / (n - 1))]
            for k in range(n - 1)]
    if not valid:
        ring[1000], ring[1001] = ring[1001], ring[1000]
    return _ring(ring)


def square(x0=CENTER[0], y0=CENTER[1], d=0.001):
    return _ring([[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d]])


def padded(n_bytes: int) -> Callable[[], bytes]:
    """A valid feature body padded with a string property to `n_bytes`."""
    return lambda: park(square(), nama="x" * n_bytes)


def deep_json(depth: int = 100_000) -> bytes:
    return (b'{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": '
            + b"[" * depth + b"]" * depth + b"}}")


def _q(path: str, **params) -> str:
    return path + "?" + "&".join(f"{quote(k, safe='')}={quote(str(v), safe='')}" for k, v in params.items())


JSON = {"Content-Type": "application/json"}
ITEMS = "/collections/parks/items"
ONE = "/collections/parks/items/{park}"
MATCH = {**JSON, "If-Match": "{etag}"}
UTM_SQUARE = _ring([[445000, 398000], [445100, 398000], [445100, 398100], [445000, 398100]])


def corpus() -> list[Case]:
    c: list[Case] = []

    def add(group, label, method, path, body=None, headers=None, auth=None, expect=()):
        c.append(Case(label, method, path, body, dict(headers or {}), auth, tuple(expect), group))

    # --- geometry ------------------------------------------------------------------------------------------
    g = "geometry"
    add(g, "200,000-vertex self-intersecting polygon (POST)", "POST", ITEMS,
        lambda: park(huge_polygon()), JSON, "planner", (400,))
    add(g, "200,000-vertex self-intersecting polygon (PUT)", "PUT", ONE,
        lambda: park(huge_polygon()), MATCH, "planner", (400,))
    add(g, "200,000-vertex self-intersecting polygon (PATCH)", "PATCH", ONE,
        lambda: json.dumps({"type": "Feature", "geometry": huge_polygon()}).encode(), MATCH, "planner", (400,))
    add(g, "coordinates 1e308", "POST", ITEMS,
        park(_ring([[1e308, 1e308], [1e308 + 1, 1e308], [1e308, -1e308]])), JSON, "planner", (400,))
    add(g, "coordinates -1e308 with Content-Crs EPSG:32647", "POST", ITEMS,
        park(_ring([[-1e308, 0], [1e308, 0], [0, 1e308]])),
        {**JSON, "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/32647>"}, "planner", (400,))
    add(g, "coordinates 1e308 (PATCH)", "PATCH", ONE,
        json.dumps({"type": "Feature", "geometry": _ring([[1e308, 0], [0, 1e308], [1e308, 1e308]])}).encode(),
        MATCH, "planner", (400,))
    for word in ("NaN", "Infinity", "-Infinity"):
        add(g, f"{word} as a coordinate (JSON text)", "POST", ITEMS,
            park(f'{{"type": "Polygon", "coordinates": [[[98.47, 3.56], [{word}, 3.56], [98.48, 3.57], '
                 f'[98.47, 3.56]]]}}'), JSON, "planner", (400,))
    add(g, "NaN as a coordinate (PATCH)", "PATCH", ONE,
        b'{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[98.47, NaN], [98.48, 3.56], '
        b'[98.48, 3.57], [98.47, NaN]]]}}', MATCH, "planner", (400,))
    add(g, "NaN as a property value", "POST", ITEMS,
        park(square()).replace(b'"publik": true', b'"publik": NaN'), JSON, "planner", (400,))
    add(g, "NaN in a bigint property (project_parcels.kompensasi_rp)", "POST", "/collections/project_parcels/items",
        json.dumps({"type": "Feature", "geometry": square(), "properties": {
            "project_slug": "kawasan-industri-binjai", "parcel_id": "HOSTILE-1", "status": "identified"}})
        .encode().replace(b'"status"', b'"kompensasi_rp": NaN, "status"'), JSON, "planner", (400,))
    add(g, "self-intersecting bowtie", "POST", ITEMS,
        park(_ring([[98.50, 3.60], [98.51, 3.61], [98.51, 3.60], [98.50, 3.61]])), JSON, "planner", (400,))
    add(g, "ring of two points", "POST", ITEMS,
        park({"type": "Polygon", "coordinates": [[[98.5, 3.6], [98.5, 3.6]]]}), JSON, "planner", (400,))
    add(g, "empty coordinates", "POST", ITEMS, park({"type": "Polygon", "coordinates": []}), JSON, "planner",
        (400,))
    add(g, "GeometryCollection", "POST", ITEMS,
        park({"type": "GeometryCollection", "geometries": [square()]}), JSON, "planner", (400,))
    add(g, "JSON nested 100,000 deep (POST items)", "POST", ITEMS, deep_json, JSON, "planner", (400,))
    add(g, "JSON nested 100,000 deep (PATCH)", "PATCH", ONE, deep_json, MATCH, "planner", (400,))
    add(g, "/measure: polygon with 1e308 coordinates", "POST", "/measure",
        json.dumps({"geometry": _ring([[0, 0], [1e308, 0], [1e308, 1e308]])}).encode(), JSON, None, (400,))
    add(g, "/measure: line with a 1e308 coordinate", "POST", "/measure",
        json.dumps({"geometry": {"type": "LineString", "coordinates": [[1e308, 1], [2, 3]]}}).encode(), JSON,
        None, (400,))
    add(g, "/measure: NaN coordinate", "POST", "/measure",
        b'{"geometry": {"type": "Point", "coordinates": [NaN, 1]}}', JSON, None, (400,))
    add(g, "raster statistics: NaN vertex", "POST", "/rasters/elevation/statistics",
        b'{"type": "Polygon", "coordinates": [[[98.5, 3.6], [NaN, 3.6], [98.51, 3.61], [98.5, 3.6]]]}', JSON,
        None, (400,))
    add(g, "zoning-conformity: 1e308 polygon", "POST", "/processes/zoning-conformity/execution",
        json.dumps({"inputs": {"geometry": _ring([[0, 0], [1e308, 0], [1e308, 1e308]]),
                               "activity": "industri besar"}}).encode(), JSON, None, (400,))

    # --- CRS ------------------------------------------------------------------------------------------------
    k = "crs"
    add(k, "Content-Crs EPSG:999999", "POST", ITEMS, park(square()),
        {**JSON, "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/999999>"}, "planner", (400,))
    add(k, "Content-Crs not a URI", "POST", ITEMS, park(square()),
        {**JSON, "Content-Crs": "<javascript:alert(1)>"}, "planner", (400,))
    add(k, "UTM coordinates sent as CRS84", "POST", ITEMS, park(UTM_SQUARE), JSON, "planner", (400,))
    add(k, "UTM coordinates sent as CRS84 (explicit Content-Crs)", "POST", ITEMS, park(UTM_SQUARE),
        {**JSON, "Content-Crs": "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"}, "planner", (400,))
    add(k, "UTM coordinates with Content-Crs 4326 (PUT)", "PUT", ONE, park(UTM_SQUARE),
        {**MATCH, "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4326>"}, "planner", (400,))
    for param in ("crs", "bbox-crs", "filter-crs"):
        add(k, f"{param}=EPSG:999999", "GET", _q(ITEMS, **{param: "http://www.opengis.net/def/crs/EPSG/0/999999",
                                                            "bbox": "98.4,3.5,98.6,3.7"}), expect=(400,))
    add(k, "crs with SQL", "GET", _q(ITEMS, crs="EPSG:4326'; DROP TABLE parks; --"), expect=(400,))
    add(k, "crs on one item", "GET", _q(ONE, crs="http://www.opengis.net/def/crs/EPSG/0/999999"), expect=(400,))

    # --- CQL2 and SQL injection -----------------------------------------------------------------------------
    q = "injection"
    K = "/collections/kelurahan/items"
    P = "/collections/project_parcels/items"
    for f in ("nama = 'x'; DROP TABLE parks; --", "nama = 'x' UNION SELECT pemilik FROM project_parcels --",
              "\"nama\" = 'x' OR \"1\"=\"1\"", "nama = $$x$$", "nama = E'\\x27'", "pg_sleep(3) = 1",
              "nama = (SELECT pemilik FROM project_parcels LIMIT 1)", "nama = 'a\x00b'",
              "nama IN (SELECT nama FROM kelurahan)", "S_INTERSECTS(geometry, 'POINT(0 0)'::geometry)",
              "(" * 5000 + "id = 1" + ")" * 5000, "nama LIKE '%' ESCAPE '\\'", "CASEI(nama) = pg_read_file('x')"):
        add(q, f"filter: {f[:60]!r}", "GET", _q(K, filter=f), expect=(400,))
    for f in ({"op": "=", "args": [{"property": "nama) OR (1=1"}, "x"]},
              {"op": "pg_sleep", "args": [3]},
              {"op": "=", "args": [{"property": "nama"}, {"op": "pg_read_file", "args": ["/etc/passwd"]}]},
              {"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point", "coordinates": "x"}]},
              {"op": "=", "args": [{"property": "nama"}, "a\x00b"]}):
        add(q, f"cql2-json: {json.dumps(f)[:60]}", "GET", _q(K, filter=json.dumps(f), **{"filter-lang": "cql2-json"}),
            expect=(400,))
    add(q, "cql2-json NaN in a geometry", "GET",
        _q(K, filter='{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point", '
                     '"coordinates": [NaN, 3.6]}]}', **{"filter-lang": "cql2-json"}), expect=(400,))
    add(q, "private field in filter (anonymous)", "GET", _q(P, filter="pemilik LIKE 'B%'"), expect=(400,))
    add(q, "private field as ?field=value (anonymous)", "GET", _q(P, pemilik="Budi Hasibuan"), expect=(400,))
    add(q, "private field in sortby (anonymous)", "GET", _q(P, sortby="kompensasi_rp"), expect=(400,))
    add(q, "private field in properties (anonymous)", "GET", _q(P, properties="pemilik,nik"), expect=(400,))
    for s in ("nama; DROP TABLE parks", "-(SELECT 1)", "nama,1/0", "pg_sleep(3)", "nama\x00"):
        add(q, f"sortby={s!r}", "GET", _q(K, sortby=s), expect=(400,))
    for p in ("nama,(SELECT pemilik FROM project_parcels)", "*", "nama\"; DROP TABLE parks; --"):
        add(q, f"properties={p!r}", "GET", _q(K, properties=p), expect=(400,))
    for b in ("1,2,3", "1,2,3,4;DROP TABLE parks", "nan,nan,nan,nan", "1e308,1e308,1e308,1e308",
              "98.6,3.7,98.4,3.5", "0x1,2,3,4", "1,2,3,4,5"):
        add(q, f"bbox={b!r}", "GET", _q(K, bbox=b), expect=(400,))
    add(q, "?field=value with a quote in the name", "GET", _q(K, **{"kode'--": "1"}), expect=(400,))
    add(q, "?field=value with NUL", "GET", _q(K, nama="a\x00b"), expect=(400,))
    add(q, "?area_ha=abc (text for a number field)", "GET", _q(K, area_ha="abc"), expect=(400,))
    add(q, "offset=99999999999999999999", "GET", _q(K, offset="99999999999999999999"), expect=(400,))
    add(q, "limit=-1", "GET", _q(K, limit="-1"), expect=(400,))
    add(q, "limit=1e3", "GET", _q(K, limit="1e3"), expect=(400,))
    add(q, "datetime=2024-13-45", "GET", _q(P, datetime="2024-13-45"), expect=(400,))
    add(q, "f=html with CRLF", "GET", _q(K, f="html\r\nX-Injected: 1"), expect=(400,))
    add(q, "API key with SQL", "GET", "/collections", headers={"X-API-Key": "' OR 1=1 --"}, expect=(401,))
    add(q, "API key of 8 kB", "GET", "/collections", headers={"X-API-Key": "pk_" + "a" * 8000}, expect=(401,))
    add(q, "If-Match with SQL", "PATCH", ONE, b'{"type": "Feature", "properties": {"nama": "x"}}',
        {**JSON, "If-Match": '"1" OR 1=1'}, "planner", (400,))
    add(q, "If-Match: *", "PATCH", ONE, b'{"type": "Feature", "properties": {"nama": "x"}}',
        {**JSON, "If-Match": "*"}, "planner", (400, 412, 428))

    # --- oversized bodies -----------------------------------------------------------------------------------
    o = "oversized"
    big = padded(50 * MB)
    add(o, "50 MB body: POST items", "POST", ITEMS, big, JSON, "planner", (413,))
    add(o, "50 MB body: PUT item", "PUT", ONE, big, MATCH, "planner", (413,))
    add(o, "50 MB body: PATCH item", "PATCH", ONE, big, MATCH, "planner", (413,))
    add(o, "50 MB body: POST items, chunked (no Content-Length)", "POST", ITEMS, big,
        {**JSON, "Transfer-Encoding": "chunked"}, "planner", (413,))
    add(o, "50 MB body: POST /measure", "POST", "/measure",
        lambda: json.dumps({"geometry": {"type": "Point", "coordinates": [98.5, 3.6]}, "pad": "x" * 50 * MB}).encode(),
        JSON, None)
    add(o, "50 MB body: POST /processes/zoning-conformity/execution", "POST",
        "/processes/zoning-conformity/execution",
        lambda: json.dumps({"inputs": {"geometry": square(), "activity": "x" * 50 * MB}}).encode(), JSON, None)
    add(o, "50 MB body: POST /rasters/elevation/statistics", "POST", "/rasters/elevation/statistics",
        lambda: json.dumps({**square(), "pad": "x" * 50 * MB}).encode(), JSON, None)
    add(o, "50 MB body: POST /admin/layers anonymously", "POST", "/admin/layers", big, JSON, None, (401, 413))
    add(o, "gzip bomb (50 MB of zeros, Content-Encoding: gzip)", "POST", ITEMS,
        lambda: gzip.compress(b"0" * 50 * MB), {**JSON, "Content-Encoding": "gzip"}, "planner", (400, 413, 415))

    # --- path tricks ----------------------------------------------------------------------------------------
    t = "path"
    for path in ("/collections/parks/items/../../../etc/passwd", "/collections/parks/items/%2e%2e/%2e%2e/api",
                 "/collections/parks/items/..%2F..%2Fetc%2Fpasswd", "/collections/parks/items/1;DROP%20TABLE%20parks",
                 "/collections/parks/items/1%3BDROP%20TABLE%20parks", "/collections/parks;DROP%20TABLE%20parks/items",
                 "/collections/parks/items/" + "9" * 5000, "/collections/" + "a" * 8000 + "/items",
                 "/collections/parks/items/%EF%BC%91", "/collections/p%C3%A4rks/items", "/collections/parks%00/items",
                 "/collections/parks/items/1%00", "/collections/parks/items/-1", "/collections/parks/items/1.5",
                 "/collections/parks/items/0x10", "/collections/%2e%2e/items", "/static/%2e%2e/%2e%2e/pyproject.toml",
                 "/static/..%2f..%2fpyproject.toml", "/static/../../gis/settings.py", "/rasters/..%2f..%2fetc/download",
                 "/rasters/%2e%2e/point/98.5,3.6", "/embed/..%2fmap", "/maps/..%2f..%2fetc%2fpasswd.png",
                 "/collections/parks/tiles/WebMercatorQuad/99999999999999999999/0/0",
                 "/collections/parks/tiles/WebMercatorQuad/14/-1/0", "/collections/parks/tiles/..%2f/14/0/0",
                 "/tiles/WebMercatorQuad/14/0/0?collections=" + ",".join(["parks"] * 40),
                 "/collections/parks/items/1/history/99999999999999999999/restore",
                 "/processes/..%2f..%2fetc%2fpasswd", "/jobs/..%2f..%2fetc%2fpasswd"):
        method = "POST" if path.endswith("/restore") else "GET"
        add(t, f"{method} {path[:70]}", method, path, auth="planner" if method == "POST" else None)
    add(t, "PATCH a very long feature id", "PATCH", "/collections/parks/items/" + "9" * 30,
        b'{"type": "Feature", "properties": {"nama": "x"}}', {**JSON, "If-Match": '"1"'}, "planner")
    add(t, "DELETE /collections/parks/items/../1", "DELETE", "/collections/parks/items/../1",
        headers={"If-Match": '"1"'}, auth="planner")

    # --- wrong methods --------------------------------------------------------------------------------------
    m = "method"
    for method, path in (("PUT", "/collections"), ("DELETE", "/collections/parks"), ("POST", "/collections/parks"),
                         ("POST", "/collections/parks/items/{park}"), ("PATCH", ITEMS), ("DELETE", ITEMS),
                         ("DELETE", "/"), ("POST", "/healthz"), ("PUT", "/tiles/WebMercatorQuad/12/3217/2030"),
                         ("DELETE", "/collections/parks/tiles/WebMercatorQuad/12/3217/2030"), ("TRACE", "/"),
                         ("OPTIONS", "/collections"), ("PROPFIND", "/"), ("PATCH", "/processes"),
                         ("DELETE", "/rasters/elevation"), ("PUT", "/layers"), ("POST", "/embed/binjai")):
        add(m, f"{method} {path}", method, path, b"{}" if method in ("POST", "PUT", "PATCH") else None,
            JSON if method in ("POST", "PUT", "PATCH") else {}, "planner", (405,))
    return c


@dataclass
class Outcome:
    case: Case
    status: int
    seconds: float
    problem: str | None  # what is wrong with the response, None when it is as expected
    detail: str


def run_case(base: str, case: Case, keys: dict, park_id: int, etag: str) -> Outcome:
    body = case.body() if callable(case.body) else case.body
    headers = {k: v.replace("{etag}", etag) for k, v in case.headers.items()}
    if case.auth:
        headers["X-API-Key"] = keys[case.auth]
    path = case.path.replace("{park}", str(park_id))
    chunked = headers.pop("Transfer-Encoding", None) == "chunked"
    r = raw_request(base, case.method, path, body, headers, chunked=chunked)
    text = r.body[:300].decode("utf-8", "replace")
    wrong = None
    if case.expect and r.status not in case.expect:
        wrong = f"status {r.status}, expected {'/'.join(map(str, case.expect))}"
    elif not 400 <= r.status < 500:
        wrong = f"status {r.status}, expected 4xx"
    if wrong is None and case.method != "HEAD":
        wrong = is_problem(r.status, r.headers, r.body)
    return Outcome(case, r.status, r.seconds, wrong, text)


def run_corpus(base: str, engine, keys: dict, cases: list[Case] | None = None) -> dict:
    """Run the corpus; the outcomes, and whether the database was left unchanged."""
    from sqlalchemy import text

    cases = corpus() if cases is None else cases
    with engine.connect() as conn:
        park_id, version = conn.execute(text("SELECT id, version FROM parks ORDER BY id LIMIT 1")).one()
    before = fingerprint(engine)
    outcomes = [run_case(base, case, keys, park_id, f'"{version}"') for case in cases]
    after = fingerprint(engine)
    changed = {k: (before["counts"].get(k), v) for k, v in after["counts"].items() if before["counts"].get(k) != v}
    changed.update({k: "md5 differs" for k in before if k.startswith("md5:") and before[k] != after[k]})
    return {"outcomes": outcomes, "db_unchanged": not changed, "db_changes": changed, "fingerprint": after}
