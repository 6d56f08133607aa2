"""Metadata records (Satu Data Indonesia) of every layer and raster: built from the declarations and the data
(title, source, illustrative flag, extent, temporal extent, resolution), with what an admin stored in the
`metadata` table laid over them; an admin's edits as JSON merge patches, checked, each kept in the history;
who sees which record and which contact e-mail; search by text, bbox and time. Exports are gis/render's."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import rasterio
import rasterio.warp
from sqlalchemy import Connection, text

from gis.core.errors import InvalidInput, NotFound
from gis.data.auth import Principal
from layers import metadata as declared
from layers.schema import Layer

RASTER_PREFIX = "raster-"  # layer ids never hold a hyphen, so a raster's record id never meets a layer's
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
# The editable document: nested members -> their columns; the other members are columns themselves.
NESTED = {
    "title": {"id": "title_id", "en": "title_en"},
    "abstract": {"id": "abstract_id", "en": "abstract_en"},
    "contact": {"opd": "contact_opd", "role": "contact_role", "email": "contact_email",
                "email_public": "contact_email_public"},
    "temporal": {"start": "temporal_start", "end": "temporal_end"},
}
FLAT = ("keywords", "topic_category", "extent", "lineage", "licence", "update_frequency", "scale_denominator",
        "resolution_m", "illustrative")
COLUMNS = (*(c for members in NESTED.values() for c in members.values()), *FLAT)


@dataclass(frozen=True)
class Resource:
    """A layer or raster a record describes."""

    record_id: str
    kind: str  # layer | raster
    ref: str  # the layer id or raster id
    public: bool
    layer: Layer | None = None
    raster: dict | None = None


def resources(layers: Iterable[Layer], raster_entries: Iterable[dict]) -> list[Resource]:
    """The layers given and the city's own rasters (not analysis results, which belong to their job)."""
    out = [Resource(layer.id, "layer", layer.id, layer.public, layer=layer) for layer in layers]
    out += [Resource(f"{RASTER_PREFIX}{e['id']}", "raster", e["id"], True, raster=e)
            for e in raster_entries if e.get("owner") is None]
    return out


@functools.lru_cache(maxsize=256)
def _raster_facts(path: str, mtime: float) -> tuple[tuple[float, float, float, float], float]:
    with rasterio.open(path) as ds:
        bounds = rasterio.warp.transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
        resolution = float(ds.res[0]) if ds.crs.is_projected else float(ds.res[0]) * 111_320.0
    return tuple(bounds), resolution


def raster_facts(entry: dict, data_dir: Path) -> tuple[tuple[float, float, float, float] | None, float | None]:
    """A raster's extent (lon/lat) and pixel size (m) read from its file; none when the file is missing."""
    path = (data_dir / entry["path"]).resolve()
    if not path.is_file():
        return None, None
    return _raster_facts(str(path), path.stat().st_mtime)


def temporal_extents(conn: Connection, layers: Iterable[Layer]) -> dict[str, tuple[date | None, date | None]]:
    """layer id -> the first and last date of its time field, for layers that declare one."""
    out = {}
    for layer in layers:
        if layer.time_field:
            row = conn.execute(text(f"SELECT min({layer.time_field})::date, max({layer.time_field})::date "
                                    f"FROM {layer.id}")).one()
            out[layer.id] = (row[0], row[1])
    return out


def default_record(res: Resource, city_name: str, bbox=None, period=(None, None), resolution=None) -> dict:
    """What a record says before any edit: from the declaration and the data."""
    if res.layer is not None:
        lay = res.layer
        title = {"id": lay.title_id, "en": lay.title_en}
        abstract = {"id": lay.description_id or lay.title_id, "en": lay.description_en or lay.title_en}
        topic = declared.LAYER_TOPICS.get(lay.id, declared.DEFAULT_TOPIC)
        source, illustrative = lay.source, lay.illustrative
        scale, licence = declared.LAYER_SCALES.get(lay.id), declared.LAYER_LICENCES.get(lay.id)
    else:
        e = res.raster
        title = {"id": e["title_id"], "en": e["title_en"]}
        abstract = {"id": e["title_id"], "en": e["title_en"]}
        topic = declared.RASTER_TOPICS.get(e.get("dataset") or e["id"], declared.DEFAULT_TOPIC)
        source, illustrative, scale, licence = e.get("source") or "", bool(e["illustrative"]), None, None
        if e.get("acquired") and period == (None, None):
            period = (e["acquired"], e["acquired"])
    return {
        "title": title, "abstract": abstract,
        "keywords": [title["id"], title["en"], city_name, *declared.COMMON_KEYWORDS],
        "topic_category": topic, "extent": list(bbox) if bbox else None,
        "temporal": {"start": _iso(period[0]), "end": _iso(period[1])},
        "lineage": source or None, "licence": licence,
        "contact": {"opd": declared.DEFAULT_OPD.format(city=city_name), "role": declared.DEFAULT_ROLE,
                    "email": None, "email_public": False},
        "update_frequency": declared.DEFAULT_FREQUENCY, "scale_denominator": scale, "resolution_m": resolution,
        "illustrative": illustrative,
    }


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


_STORED_SQL = (f"SELECT resource, {', '.join(c for c in COLUMNS if c != 'extent')}, "
               "CASE WHEN extent IS NULL THEN NULL ELSE ARRAY[ST_XMin(extent), ST_YMin(extent), "
               "ST_XMax(extent), ST_YMax(extent)] END AS extent, updated_at, updated_by FROM metadata")


def stored(conn: Connection) -> dict[str, dict]:
    """resource -> its stored columns (NULL: keep the default), with updated_at and updated_by."""
    return {r["resource"]: dict(r) for r in conn.execute(text(_STORED_SQL)).mappings()}


def merged(res: Resource, default: dict, row: dict | None) -> dict:
    """The record: the default with the stored values laid over it."""
    rec = default  # built for this call: filled in place
    edited = []
    for member, columns in NESTED.items():
        for key, column in columns.items():
            if row and row.get(column) is not None:
                value = row[column]
                rec[member][key] = _iso(value) if isinstance(value, date) else value
                edited.append(f"{member}.{key}")
    for column in FLAT:
        if row and row.get(column) is not None:
            rec[column] = list(row[column]) if column in ("keywords", "extent") else row[column]
            edited.append(column)
    return {"id": res.record_id, "kind": res.kind, "resource": res.ref, "public": res.public, **rec,
            "edited": edited,
            "updated_at": row["updated_at"].isoformat(timespec="seconds") if row else None,
            "updated_by": row["updated_by"] if row else None}


def visible(records: Iterable[dict], who: Principal) -> list[dict]:
    """The records the caller may read, each with the contact e-mail only where the caller may see it: an
    e-mail is a person's, so anonymous callers see it only when declared public."""
    out = []
    for rec in records:
        if not (rec["public"] or (rec["kind"] == "layer" and who.may_read_layer(rec["resource"]))):
            continue
        if not (rec["contact"]["email_public"] or who.sees_private):
            rec = {**rec, "contact": {**rec["contact"], "email": None}}
        out.append(rec)
    return out


def find(records: Iterable[dict], record_id: str) -> dict:
    for rec in records:
        if rec["id"] == record_id:
            return rec
    raise NotFound(f"no metadata record {record_id[:100]!r}; see /collections/catalog/items")


def _overlaps(a, b) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def search(records: Iterable[dict], q: str | None = None, bbox=None,
           period: tuple[date | None, date | None] | None = None) -> list[dict]:
    """Records matching every criterion given: any of the comma- or space-separated words of `q` in the title,
    abstract or keywords (either language, case-insensitive); an extent meeting `bbox` (lon/lat); a temporal
    extent meeting `period` (records without one do not match a time search)."""
    words = [w for w in re.split(r"[,\s]+", (q or "").casefold()) if w]
    out = []
    for rec in records:
        if words:
            haystack = " ".join([*rec["title"].values(), *rec["abstract"].values(), *rec["keywords"]]).casefold()
            if not any(w in haystack for w in words):
                continue
        if bbox is not None and not (rec["extent"] and _overlaps(rec["extent"], bbox)):
            continue
        if period is not None and not _meets(rec["temporal"], period):
            continue
        out.append(rec)
    return out


def _meets(temporal: dict, period: tuple[date | None, date | None]) -> bool:
    if temporal["start"] is None and temporal["end"] is None:
        return False
    start = date.fromisoformat(temporal["start"]) if temporal["start"] else date.min
    end = date.fromisoformat(temporal["end"]) if temporal["end"] else date.max
    return (period[0] or date.min) <= end and start <= (period[1] or date.max)


# --- edits ------------------------------------------------------------------------------------------------------

def _text(name: str, value, allowed: tuple[str, ...] = ()) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} must be a non-empty string")
    if allowed and value not in allowed:
        raise InvalidInput(f"{name} {value[:60]!r} is not allowed; use one of: {', '.join(allowed)}")
    return value.strip()


def _check(column: str, value):
    """One column's new value, checked (None: back to the default)."""
    if value is None:
        return None
    if column == "topic_category":
        return _text("topic_category (ISO 19115 MD_TopicCategoryCode)", value, declared.TOPIC_CATEGORIES)
    if column == "update_frequency":
        return _text("update_frequency (ISO 19115 MD_MaintenanceFrequencyCode)", value,
                     declared.UPDATE_FREQUENCIES)
    if column == "contact_role":
        return _text("contact.role (ISO 19115 CI_RoleCode)", value, declared.CONTACT_ROLES)
    if column == "contact_email":
        if not isinstance(value, str) or not EMAIL.match(value.strip()):
            raise InvalidInput(f"contact.email {str(value)[:80]!r} is not an e-mail address (name@domain.go.id)")
        return value.strip()
    if column in ("contact_email_public", "illustrative"):
        if not isinstance(value, bool):
            raise InvalidInput(f"{column.replace('contact_', 'contact.')} must be true or false")
        return value
    if column in ("temporal_start", "temporal_end"):
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"temporal.{column.split('_')[1]} must be a date, YYYY-MM-DD") from None
    if column == "keywords":
        if not isinstance(value, list) or not value or not all(isinstance(k, str) and k.strip() for k in value):
            raise InvalidInput("keywords must be a non-empty list of words or phrases")
        return [k.strip() for k in value]
    if column == "extent":
        ok = isinstance(value, list) and len(value) == 4 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        if not ok or not (-180 <= value[0] <= value[2] <= 180 and -90 <= value[1] <= value[3] <= 90):
            raise InvalidInput("extent must be [west, south, east, north] in degrees (lon/lat), west <= east, "
                               "south <= north")
        return [float(v) for v in value]
    if column == "scale_denominator":
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise InvalidInput("scale_denominator must be a positive whole number, e.g. 5000 for 1:5,000")
        return value
    if column == "resolution_m":
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise InvalidInput("resolution_m must be a positive number of metres")
        return float(value)
    return _text(column.replace("_id", " (id)").replace("_en", " (en)"), value)


def columns_of(patch) -> dict:
    """A JSON merge patch (RFC 7396) of the editable document -> the columns it sets (None: default again)."""
    if not isinstance(patch, dict) or not patch:
        raise InvalidInput("send a JSON object with the members to change, e.g. {\"licence\": \"CC-BY-4.0\"}")
    out = {}
    for member, value in patch.items():
        if member in NESTED:
            if value is None:
                out.update({column: None for column in NESTED[member].values()})
                continue
            if not isinstance(value, dict):
                raise InvalidInput(f"{member} must be an object with {', '.join(NESTED[member])}")
            for key, sub in value.items():
                if key not in NESTED[member]:
                    raise InvalidInput(f"{member}.{key[:40]} is not editable; {member} has "
                                       f"{', '.join(NESTED[member])}")
                out[NESTED[member][key]] = _check(NESTED[member][key], sub)
        elif member in FLAT:
            out[member] = _check(member, value)
        else:
            raise InvalidInput(f"{str(member)[:40]!r} is not an editable member; use: "
                               f"{', '.join([*NESTED, *FLAT])}")
    return out


def apply_patch(conn: Connection, res: Resource, patch, actor: str) -> None:
    """Store an admin's edit of one record (checked first) and keep it in the history, in the caller's
    transaction."""
    cols = columns_of(patch)
    before = stored(conn).get(res.record_id)
    row = {c: before.get(c) if before else None for c in COLUMNS}
    row.update(cols)
    start, end = row["temporal_start"], row["temporal_end"]
    if start and end and start > end:
        raise InvalidInput(f"temporal.start {start} is after temporal.end {end}")
    params = {**row, "resource": res.record_id, "kind": res.kind, "actor": actor,
              "extent": json.dumps(row["extent"]) if row["extent"] else None}
    names = [c for c in COLUMNS if c != "extent"]
    conn.execute(text(
        f"INSERT INTO metadata (resource, kind, {', '.join(names)}, extent, updated_at, updated_by) "
        f"VALUES (:resource, :kind, {', '.join(':' + c for c in names)}, "
        "CASE WHEN CAST(:extent AS text) IS NULL THEN NULL ELSE ST_MakeEnvelope("
        "(CAST(:extent AS jsonb)->>0)::float8, (CAST(:extent AS jsonb)->>1)::float8, "
        "(CAST(:extent AS jsonb)->>2)::float8, (CAST(:extent AS jsonb)->>3)::float8, 4326) END, now(), :actor) "
        f"ON CONFLICT (resource) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in (*names, 'extent'))}, "
        "updated_at = now(), updated_by = EXCLUDED.updated_by"), params)
    conn.execute(text("INSERT INTO metadata_history (resource, changed_by, patch, before) "
                      "VALUES (:r, :by, CAST(:patch AS jsonb), CAST(:before AS jsonb))"),
                 {"r": res.record_id, "by": actor, "patch": json.dumps(patch, default=str),
                  "before": json.dumps(before, default=str) if before else None})


def history(conn: Connection, record_id: str) -> list[dict]:
    rows = conn.execute(text("SELECT changed_at, changed_by, patch FROM metadata_history WHERE resource = :r "
                             "ORDER BY id"), {"r": record_id}).mappings()
    return [{"at": r["changed_at"].isoformat(timespec="seconds"), "by": r["changed_by"], "patch": r["patch"]}
            for r in rows]


def build(conn: Connection, layers: Iterable[Layer], bboxes: dict, raster_entries: Iterable[dict], data_dir: Path,
          city_name: str) -> list[dict]:
    """Every record of the layers given (with their extents, `bboxes`: layer id -> lon/lat box) and of the
    city's rasters, defaults and stored edits merged; not yet filtered for a caller (see `visible`)."""
    layers = list(layers)
    periods = temporal_extents(conn, layers)
    rows = stored(conn)
    out = []
    for res in resources(layers, raster_entries):
        if res.kind == "layer":
            default = default_record(res, city_name, bboxes.get(res.ref), periods.get(res.ref, (None, None)))
        else:
            bbox, resolution = raster_facts(res.raster, data_dir)
            default = default_record(res, city_name, bbox, resolution=resolution)
        out.append(merged(res, default, rows.get(res.record_id)))
    return out


def records_for(catalog, who: Principal, data_dir: Path, city_name: str) -> list[dict]:
    """The records `who` may read (a `CatalogService` gives the layers and their cached extents)."""
    from gis.tiles.rasters import registry

    layers = catalog.visible(who)
    stats = catalog.stats(layers)
    with catalog.engine.connect() as conn:
        records = build(conn, layers, {k: s.bbox for k, s in stats.items()}, registry(conn).values(), data_dir,
                        city_name)
    return visible(records, who)


def resource_for(catalog, record_id: str) -> Resource:
    """The layer or raster a record id names (any layer: for an admin's edit)."""
    from gis.tiles.rasters import lookup

    if record_id.startswith(RASTER_PREFIX):
        with catalog.engine.connect() as conn:
            entry = lookup(conn, record_id[len(RASTER_PREFIX):])
        found = resources((), [entry] if entry else ())
    else:
        layer = catalog.layers().get(record_id)
        found = resources([layer] if layer else (), ())
    if not found:
        raise NotFound(f"no layer or raster record {record_id[:100]!r}: a layer's record id is the layer id, a "
                       f"raster's is {RASTER_PREFIX}<raster id>; see /collections/catalog/items")
    return found[0]
