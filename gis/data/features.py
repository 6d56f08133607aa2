"""Reading features. GeoJSON is built by PostgreSQL (json_build_object, ST_AsGeoJSON) and passed through as
text, so serving a page costs the application almost nothing (DESIGN.md, "Performance")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
from sqlalchemy import Connection, text

from gis.core.crs import Crs
from gis.core.errors import InvalidInput, NotFound
from gis.data import cql2
from gis.data.counting import count_within
from gis.data.key_scope import CITIES_PARAM, row_in_cities_sql
from layers.schema import FIELD_SQL_TYPES, Layer
from layers.tables import CITY_COLUMN

MAX_LIMIT = 10_000
Cities = tuple[str, ...] | None  # the cities where a caller reads private fields (None: everywhere)
Counter = Callable[[str, str, Callable[[], "int | None"]], "int | None"]


@dataclass
class ItemsQuery:
    limit: int = 10
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: Crs = field(default_factory=lambda: Crs("CRS84", 4326))
    crs: Crs = field(default_factory=lambda: Crs("CRS84", 4326))
    datetime: tuple[date | None, date | None] | None = None
    properties: list[str] | None = None
    sortby: list[tuple[str, bool]] = field(default_factory=list)  # (field, ascending)
    filter: str | dict | None = None
    filter_lang: str = "cql2-text"
    filter_crs: Crs = field(default_factory=lambda: Crs("CRS84", 4326))
    equals: dict[str, str] = field(default_factory=dict)  # ?field=value (Part 1 property filters)
    cities: tuple[str, ...] = ()  # ?city=: Kemendagri codes of the kab/kota in scope; empty: every city


@dataclass
class Page:
    features: str  # comma-separated GeoJSON Feature texts
    returned: int
    has_more: bool
    matched: int | None  # exact, or None when counting would take longer than the budget


def visible_fields(layer: Layer, include_private: bool):
    return layer.fields if include_private else layer.public_fields


def _queryables(layer: Layer, include_private: bool) -> dict[str, str]:
    return {"id": "integer", **{f.name: f.type for f in visible_fields(layer, include_private)},
            CITY_COLUMN: "text"}


def city_clause(cities: tuple[str, ...], params: dict) -> str | None:
    """The scope's condition (served by the (kabkota, id) index), or None for every city."""
    if not cities:
        return None
    if len(cities) == 1:
        params["city"] = cities[0]
        return f"{CITY_COLUMN} = :city"
    params["cities"] = list(cities)
    return f"{CITY_COLUMN} = ANY(CAST(:cities AS text[]))"


def geometry_sql(crs: Crs, column: str = "geom") -> str:
    if crs.srid == 4326:
        return f"ST_FlipCoordinates({column})" if crs.lat_lon else column
    return f"ST_Transform({column}, {int(crs.srid)})"


def _where(layer: Layer, q: ItemsQuery, include_private: bool) -> tuple[list[str], dict]:
    clauses, params = [], {}
    fields = _queryables(layer, include_private)
    scoped = city_clause(q.cities, params)
    if scoped:
        clauses.append(scoped)
    if q.bbox:
        x0, y0, x1, y1 = q.bbox
        if q.bbox_crs.lat_lon:
            x0, y0, x1, y1 = y0, x0, y1, x1
        env = f"ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, {int(q.bbox_crs.srid)})"
        if q.bbox_crs.srid != 4326:
            env = f"ST_Transform({env}, 4326)"
        clauses.append(f"ST_Intersects(geom, {env})")
        params.update(bx0=x0, by0=y0, bx1=x1, by1=y1)
    if q.datetime and layer.time_field:
        start, end = q.datetime
        if start:
            clauses.append(f'"{layer.time_field}" >= :dt0')
            params["dt0"] = start
        if end:
            clauses.append(f'"{layer.time_field}" <= :dt1')
            params["dt1"] = end
    for n, (name, value) in enumerate(q.equals.items()):
        if name not in fields:
            raise InvalidInput(f"unknown property {name!r}; queryables: {', '.join(fields)}")
        sql_type = FIELD_SQL_TYPES.get(fields[name], "integer")
        clauses.append(f'"{name}" = CAST(:eq{n} AS {sql_type})')
        params[f"eq{n}"] = value
    if q.filter:
        sql, filter_params = cql2.to_sql(q.filter, q.filter_lang, fields, filter_srid=q.filter_crs.srid,
                                         swap_axes=q.filter_crs.lat_lon)
        clauses.append(f"({sql})")
        params.update(filter_params)
    return clauses, params


def _order(layer: Layer, q: ItemsQuery, include_private: bool) -> str:
    fields = _queryables(layer, include_private)
    parts = []
    for name, ascending in q.sortby:
        if name not in fields:
            raise InvalidInput(f"cannot sort by {name!r}; sortable: {', '.join(fields)}")
        parts.append(f'"{name}" {"ASC" if ascending else "DESC"}')
    return ", ".join([*parts, "id"])  # id last: a stable order, so paging never repeats or skips


def _selected(layer: Layer, q: ItemsQuery, include_private: bool):
    fields = visible_fields(layer, include_private)
    if q.properties is None:
        return fields
    names = {f.name for f in fields} | {CITY_COLUMN}
    unknown = [p for p in q.properties if p not in names]
    if unknown:
        raise InvalidInput(f"unknown properties {', '.join(map(repr, unknown))}; available: {', '.join(names)}")
    return tuple(f for f in fields if f.name in q.properties)


def with_city(q: ItemsQuery) -> bool:
    """Whether the answer carries each feature's city (always, unless `properties` leaves it out)."""
    return q.properties is None or CITY_COLUMN in q.properties


def feature_json_sql(layer: Layer, fields, crs: Crs, private_cities: Cities = None, city: bool = True) -> str:
    """A Feature's GeoJSON text with its city (`kabkota`); with `private_cities`, private fields only in features
    lying in those cities."""
    def props(chosen) -> str:
        pairs = [f"'{f.name}', \"{f.name}\"" for f in chosen]
        if city:
            pairs.append(f"'{CITY_COLUMN}', {CITY_COLUMN}")
        return "json_build_object(" + ", ".join(pairs) + ")"

    properties = props(fields)
    public = tuple(f for f in fields if f.public)
    if private_cities is not None and len(public) < len(fields):
        properties = f"CASE WHEN {row_in_cities_sql(layer.id)} THEN {properties} ELSE {props(public)} END"
    return (f"json_build_object('type', 'Feature', 'id', id, 'geometry', "
            f"ST_AsGeoJSON({geometry_sql(crs)}, {crs.precision})::json, "
            f"'properties', {properties})::text")


def _scope(private_cities: Cities) -> dict:
    return {CITIES_PARAM: list(private_cities)} if private_cities is not None else {}


def fetch_items(conn: Connection, layer: Layer, q: ItemsQuery, include_private: bool,
                private_cities: Cities = None, *, count_budget_ms: int, counted: Counter | None = None) -> Page:
    """A page of features. `private_cities` (a key limited to cities) keeps private fields to the features in
    them; filters and sorting then use public fields only, so that they reveal nothing of the others.
    `counted(layer_id, key, count)` may keep exact counts until the layer changes (the catalog service)."""
    if not 1 <= q.limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    if q.offset < 0:
        raise InvalidInput("offset must be 0 or more")
    queryable = include_private and private_cities is None
    clauses, params = _where(layer, q, queryable)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    order = _order(layer, q, queryable)
    fields = _selected(layer, q, include_private)
    # One row more than asked tells whether a next page exists, without counting. row_number() runs
    # before OFFSET, so the rows kept are those numbered up to offset + limit.
    sql = (
        f"SELECT coalesce(string_agg(f, ',' ORDER BY rn) FILTER (WHERE rn <= :last), '') AS features, "
        f"count(*) AS n FROM (SELECT row_number() OVER (ORDER BY {order}) AS rn, "
        f"{feature_json_sql(layer, fields, q.crs, private_cities, with_city(q))} AS f FROM {layer.id} {where} "
        f"ORDER BY {order} LIMIT :limit_plus OFFSET :offset) page"
    )
    row = conn.execute(text(sql), {**params, **_scope(private_cities), "last": q.offset + q.limit,
                                   "limit_plus": q.limit + 1, "offset": q.offset}).one()
    returned = min(row.n, q.limit)
    has_more = row.n > q.limit
    if not has_more and (returned or not q.offset):
        matched = q.offset + returned  # the last page: the count is known without counting
    else:  # more pages, or an offset past the end (which tells nothing of the count)
        count_sql = f"SELECT count(*) FROM {layer.id} {where}"

        def count() -> int | None:
            return count_within(conn, count_budget_ms, count_sql, params)

        matched = counted(layer.id, f"{count_sql} {sorted(params.items())!r}", count) if counted else count()
    return Page(row.features, returned, has_more, matched)


def fetch_item(conn: Connection, layer: Layer, fid: int, crs: Crs, include_private: bool,
               private_cities: Cities = None) -> tuple[str, int]:
    """One feature's GeoJSON text and its version (the ETag)."""
    fields = visible_fields(layer, include_private)
    row = conn.execute(text(f"SELECT {feature_json_sql(layer, fields, crs, private_cities)} AS f, version "
                            f"FROM {layer.id} WHERE id = :id"), {"id": fid, **_scope(private_cities)}).first()
    if row is None:
        raise NotFound(f"collection {layer.id!r} has no feature {fid}")
    return row.f, row.version


def fetch_frame(conn: Connection, layer: Layer, q: ItemsQuery, include_private: bool,
                private_cities: Cities = None) -> gpd.GeoDataFrame:
    """The same selection as `fetch_items`, as a GeoDataFrame in the requested CRS (CSV/GeoPackage export);
    private columns are empty in features outside `private_cities`."""
    queryable = include_private and private_cities is None
    clauses, params = _where(layer, q, queryable)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    fields = _selected(layer, q, include_private)

    def column(f) -> str:
        if f.public or private_cities is None:
            return f'"{f.name}"'
        return f'CASE WHEN {row_in_cities_sql(layer.id)} THEN "{f.name}" END AS "{f.name}"'

    cols = ", ".join(["id", *(column(f) for f in fields), *[CITY_COLUMN] * with_city(q)])
    geom = f"ST_Transform(geom, {int(q.crs.srid)})" if q.crs.srid != 4326 else "geom"
    sql = (f"SELECT {cols}, {geom} AS geometry FROM {layer.id} {where} ORDER BY {_order(layer, q, queryable)} "
           f"LIMIT :limit OFFSET :offset")
    gdf = gpd.read_postgis(text(sql), conn, geom_col="geometry", params={**params, **_scope(private_cities),
                                                                        "limit": q.limit, "offset": q.offset})
    return gdf.set_crs(q.crs.srid, allow_override=True)
