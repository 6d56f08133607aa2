"""Reading the record collections (programmes, their indicators and progress updates) as OGC API Features
items without geometry (`"geometry": null`).

Which rows a caller sees, and which of them with private fields, is said by `gis.data.programme_scope` only:
a programme's indicators and progress follow their programme. Every query starts from `_rows_sql`, a subquery
of the visible rows with two extra columns, `_city` (the programme's kab/kota) and `_private` (whether the
caller reads this row's private fields), so filters, paging and counts never see a hidden row, and a filter
on a private field only matches rows whose private fields the caller reads."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, text

from gis.core.errors import InvalidInput, NotFound
from gis.data.auth import Principal
from gis.data.features import MAX_LIMIT, ItemsQuery
from gis.data.programme_scope import private_rows_sql, visible_rows_sql
from layers.programmes import RECORDS, Records
from layers.schema import FIELD_SQL_TYPES, Field


@dataclass
class RecordPage:
    features: str  # comma-separated GeoJSON Feature texts
    returned: int
    has_more: bool
    matched: int  # exact


def find_records(collection_id: str) -> Records | None:
    return RECORDS.get(collection_id)


def _rows_sql(rec: Records, who: Principal) -> tuple[str, dict]:
    """The rows of `rec` the caller sees, with `_city` and `_private`."""
    if rec.id == "programmes":
        source, columns = "programmes p", "p.*"
    else:
        source, columns = f"{rec.id} t JOIN programmes p ON p.kode = t.programme_kode", "t.*"
    visible, params = visible_rows_sql(who, "p")
    private, _ = private_rows_sql(who, "p")
    return (f"SELECT {columns}, p.kabkota AS _city, coalesce({private}, false) AS _private "
            f"FROM {source} WHERE {visible}"), params


def _field(rec: Records, name: str) -> Field | None:
    return next((f for f in rec.fields if f.name == name), None)


def _where(rec: Records, q: ItemsQuery) -> tuple[list[str], dict]:
    if q.bbox:
        raise InvalidInput(f"collection {rec.id!r} has no geometry: bbox does not apply; filter by its "
                           f"properties (?field=value) or by city")
    if q.filter:
        raise InvalidInput(f"collection {rec.id!r} takes no CQL2 filter; filter by its properties "
                           f"(?{rec.fields[0].name}=...), datetime or city")
    clauses, params = [], {}
    if q.cities:
        clauses.append("_city = ANY(CAST(:rec_cities AS text[]))")
        params["rec_cities"] = list(q.cities)
    if q.datetime and rec.time_field:
        start, end = q.datetime
        if start:
            clauses.append(f'"{rec.time_field}" >= :dt0')
            params["dt0"] = start
        if end:
            clauses.append(f'"{rec.time_field}" <= :dt1')
            params["dt1"] = end
    for n, (name, value) in enumerate(q.equals.items()):
        fld = _field(rec, name)
        if fld is None and name != "id":
            names = ", ".join(["id", *(f.name for f in rec.fields)])
            raise InvalidInput(f"unknown property {name[:60]!r} of {rec.id!r}; filter by one of: {names}")
        sql_type = FIELD_SQL_TYPES[fld.type] if fld else "integer"
        clause = f'"{name}" = CAST(:eq{n} AS {sql_type})'
        # a private field filters only the rows whose private fields the caller reads
        clauses.append(clause if fld is None or fld.public else f"(_private AND {clause})")
        params[f"eq{n}"] = value
    return clauses, params


def _order(rec: Records, q: ItemsQuery) -> str:
    sortable = {"id", *(f.name for f in rec.public_fields)}
    parts = []
    for name, ascending in q.sortby:
        if name not in sortable:
            raise InvalidInput(f"cannot sort {rec.id!r} by {name[:60]!r}; sortable: {', '.join(sorted(sortable))}")
        parts.append(f'"{name}" {"ASC" if ascending else "DESC"}')
    return ", ".join([*parts, "id"])  # id last: a stable order, so paging never repeats or skips


def _selected(rec: Records, q: ItemsQuery) -> tuple[Field, ...]:
    if q.properties is None:
        return rec.fields
    names = {f.name for f in rec.fields}
    unknown = [p for p in q.properties if p not in names]
    if unknown:
        raise InvalidInput(f"unknown properties {', '.join(repr(p[:60]) for p in unknown)}; "
                           f"available: {', '.join(sorted(names))}")
    return tuple(f for f in rec.fields if f.name in q.properties)


def _feature_sql(fields: tuple[Field, ...]) -> str:
    def props(chosen) -> str:
        return "json_build_object(" + ", ".join(f"'{f.name}', \"{f.name}\"" for f in chosen) + ")"

    public = tuple(f for f in fields if f.public)
    properties = props(public) if len(public) == len(fields) else \
        f"CASE WHEN _private THEN {props(fields)} ELSE {props(public)} END"
    return f"json_build_object('type', 'Feature', 'id', id, 'geometry', NULL, 'properties', {properties})::text"


def fetch_records(conn: Connection, rec: Records, q: ItemsQuery, who: Principal) -> RecordPage:
    """A page of records the caller sees, with the exact number matched."""
    if not 1 <= q.limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    if q.offset < 0:
        raise InvalidInput("offset must be 0 or more")
    rows, params = _rows_sql(rec, who)
    clauses, more = _where(rec, q)
    params.update(more)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    order = _order(rec, q)
    sql = (f"SELECT coalesce(string_agg(f, ',' ORDER BY rn) FILTER (WHERE rn <= :last), '') AS features, "
           f"count(*) AS n FROM (SELECT row_number() OVER (ORDER BY {order}) AS rn, "
           f"{_feature_sql(_selected(rec, q))} AS f FROM ({rows}) r {where} "
           f"ORDER BY {order} LIMIT :limit_plus OFFSET :offset) page")
    row = conn.execute(text(sql), {**params, "last": q.offset + q.limit, "limit_plus": q.limit + 1,
                                   "offset": q.offset}).one()
    matched = conn.execute(text(f"SELECT count(*) FROM ({rows}) r {where}"), params).scalar_one()
    return RecordPage(row.features, min(row.n, q.limit), row.n > q.limit, matched)


def fetch_record(conn: Connection, rec: Records, fid: int, who: Principal) -> tuple[str, int]:
    """One record's GeoJSON text and its version (the ETag); NotFound when the caller does not see it."""
    rows, params = _rows_sql(rec, who)
    row = conn.execute(text(f"SELECT {_feature_sql(rec.fields)} AS f, version FROM ({rows}) r WHERE id = :fid"),
                       {**params, "fid": fid}).first()
    if row is None:
        raise NotFound(f"collection {rec.id!r} has no item {fid}")
    return row.f, row.version


def records_frame(conn: Connection, rec: Records, q: ItemsQuery, who: Principal) -> pd.DataFrame:
    """The same selection as `fetch_records` as a table (CSV, GeoPackage); private columns only for callers who
    read private fields somewhere, empty in the rows they may not read."""
    rows, params = _rows_sql(rec, who)
    clauses, more = _where(rec, q)
    params.update(more)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    fields = tuple(f for f in _selected(rec, q) if f.public or who.sees_private)
    cols = ", ".join(["id", *(f'"{f.name}"' if f.public else f'CASE WHEN _private THEN "{f.name}" END AS "{f.name}"'
                              for f in fields)])
    sql = f"SELECT {cols} FROM ({rows}) r {where} ORDER BY {_order(rec, q)} LIMIT :limit OFFSET :offset"
    result = conn.execute(text(sql), {**params, "limit": q.limit, "offset": q.offset})
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def record_schema(rec: Records, who: Principal, queryables: bool) -> dict:
    """JSON Schema of a record collection (its queryables: the fields a caller may filter every row by)."""
    types = {"text": {"type": "string"}, "integer": {"type": "integer"}, "bigint": {"type": "integer"},
             "number": {"type": "number"}, "boolean": {"type": "boolean"},
             "date": {"type": "string", "format": "date"}}
    fields = rec.fields if who.sees_private and not queryables else rec.public_fields
    props: dict = {"id": {"type": "integer", "title": "id", **({} if queryables else {"readOnly": True,
                                                                                       "x-ogc-role": "id"})}}
    for fld in fields:
        p = {**types[fld.type], "title": fld.title_id, "description": fld.title_en}
        if fld.choices:
            p["enum"] = list(fld.choices)
        if rec.time_field == fld.name:
            p["x-ogc-role"] = "primary-instant"
        props[fld.name] = p
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "title": rec.title_id,
           "properties": props}
    if queryables:
        doc["additionalProperties"] = False
    else:
        doc["required"] = [f.name for f in fields if f.required]
    return doc
