"""Search as you type over the places and named things of the cities held: kelurahan/desa, kecamatan, kab/kota,
RDTR sub-zones and sub-block codes, programmes (sub-activity names) and the named features of the layers the
caller sees (fields declared as a name or an address).

Matching is PostgreSQL's: names are normalised by `petakota_search_norm` (lower case, accents folded; migration
0011_search) and compared with the query three ways, ranked in this order:
- exact: the whole name is the query (score 3);
- prefix: the name, or one of its words, starts with the query (score 2 + similarity, or 1.5 + similarity/2);
- fuzzy: a word of the name is like the query despite typos, by trigram word similarity (score below 1: the
  mean of the word similarity and the whole name's similarity, so the closer whole name comes first).
Similarity (pg_trgm) breaks ties within a tier, so shorter, closer names come first; then places before zones,
programmes and features.

What a caller finds is what it may read: programmes through `programme_scope`, private layers and their rows
as `Principal.may_read_layer` and a key's cities allow; private fields are never searched."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass

from sqlalchemy import Connection, text

from gis.core.errors import InvalidInput
from gis.core.language import lang_of
from gis.data.auth import Principal
from gis.data.programme_scope import visible_rows_sql
from layers.schema import Layer
from layers.tables import CITY_COLUMN

MAX_QUERY = 100
MAX_LIMIT = 50
FUZZY_MIN_CHARS = 3  # trigrams of shorter queries say nothing: they match by prefix only
WORD_SIMILARITY = 0.5  # how alike a word must be to count as a fuzzy match ("tungurono" ~ "tunggurono": 0.75)
# Fields that name or locate a feature: searched in every layer that declares them (public fields only).
NAME_FIELDS = ("nama", "name", "alamat", "address", "namobj")
NAME_PREFIXES = ("nama_", "alamat_")
# Layers searched by their own rules below, not as named features.
OWN_RULES = ("kota", "kecamatan", "kelurahan", "zoning")

# kind -> (Bahasa Indonesia, English)
KINDS = {
    "kota": ("Kota", "City"), "kabupaten": ("Kabupaten", "Regency"), "kecamatan": ("Kecamatan", "District"),
    "kelurahan": ("Kelurahan", "Urban village"), "desa": ("Desa", "Village"),
    "subzone": ("Sub-zona RDTR", "RDTR sub-zone"), "subblock": ("Sub-blok RDTR", "RDTR sub-block"),
    "programme": ("Program", "Programme"),
}


@dataclass(frozen=True)
class Query:
    text: str  # as typed (trimmed)
    norm: str  # normalised as the database normalises names

    @property
    def fuzzy(self) -> bool:
        return len(self.norm) >= FUZZY_MIN_CHARS


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def parse_query(q: str | None) -> Query:
    """The query checked and normalised like `petakota_search_norm` (lower case, accents folded, spaces
    collapsed)."""
    raw = " ".join((q or "").split())
    if not raw:
        raise InvalidInput("q is empty: type a few letters of a place, zone, programme or feature name")
    if len(raw) > MAX_QUERY:
        raise InvalidInput(f"q is too long ({len(raw)} characters): at most {MAX_QUERY}")
    folded = "".join(c for c in unicodedata.normalize("NFKD", raw) if not unicodedata.combining(c))
    return Query(raw, folded.lower())


def is_name_field(name: str) -> bool:
    return name in NAME_FIELDS or name.startswith(NAME_PREFIXES)


def name_fields(layer: Layer) -> list[str]:
    """The public text fields of a layer that name or locate its features."""
    return [f.name for f in layer.public_fields if f.type == "text" and is_name_field(f.name)]


# --- the candidates: one SELECT per source, each giving the same columns ------------------------------------
# kind, collection, fid (NULL for a group), ids, name, context, norm (the normalised text matched), geom

def _match(expr: str, fuzzy: bool) -> str:
    """SQL true when normalised `expr` matches the query (served by the trigram indexes)."""
    norm = f"petakota_search_norm({expr})"
    like = f"({norm} LIKE :contains ESCAPE '\\')"
    return f"({like} OR :q <% {norm})" if fuzzy else like


def _boundaries(fuzzy: bool, scoped: str) -> list[str]:
    return [
        f"SELECT coalesce(t.jenis, 'kota') AS kind, 'kota' AS collection, t.id AS fid, NULL::int[] AS ids, "
        f"t.nama AS name, NULL::text AS context, petakota_search_norm(t.nama) AS norm, t.geom "
        f"FROM kota t WHERE {_match('t.nama', fuzzy)}{scoped}",
        f"SELECT 'kecamatan', 'kecamatan', t.id, NULL, t.nama, c.nama, petakota_search_norm(t.nama), t.geom "
        f"FROM kecamatan t LEFT JOIN kota c ON c.kode = t.kota_kode WHERE {_match('t.nama', fuzzy)}{scoped}",
        f"SELECT coalesce(t.jenis, 'kelurahan'), 'kelurahan', t.id, NULL, t.nama, k.nama, "
        f"petakota_search_norm(t.nama), t.geom FROM kelurahan t LEFT JOIN kecamatan k ON k.kode = t.kecamatan_kode "
        f"WHERE {_match('t.nama', fuzzy)}{scoped}",
    ]


def _zoning(fuzzy: bool, scoped: str) -> list[str]:
    # A sub-zone name (Sempadan sungai) is one answer per city, zooming to all its sub-blocks; a block or
    # sub-block code (II.A.1, II.A.1.a) one answer per sub-block, by prefix only (II.A.1 is not in III.A.1).
    return [
        f"SELECT 'subzone', 'zoning', NULL, array_agg(t.id ORDER BY t.id), min(t.namszn), "
        f"count(*)::text, petakota_search_norm(min(t.namszn)), ST_Collect(t.geom) "
        f"FROM zoning t WHERE {_match('t.namszn', fuzzy)}{scoped} "
        f"GROUP BY t.{CITY_COLUMN}, petakota_search_norm(t.namszn)",
        f"SELECT 'subblock', 'zoning', t.id, NULL, t.kodsbl, concat_ws(', ', t.namszn, t.wadmkd), "
        f"petakota_search_norm(CASE WHEN petakota_search_norm(t.kodblk) = :norm THEN t.kodblk ELSE t.kodsbl END), "
        f"t.geom FROM zoning t WHERE (petakota_search_norm(t.kodsbl) LIKE :prefix ESCAPE '\\' "
        f"OR petakota_search_norm(t.kodblk) = :norm)"
        f"{scoped}",
    ]


def _programmes(who: Principal, fuzzy: bool, cities: tuple[str, ...]) -> tuple[str, dict]:
    visible, params = visible_rows_sql(who, "p")
    located = " UNION ALL ".join(f"SELECT l.geom FROM {t} l WHERE l.programme_kode = p.kode"
                                 for t in ("programme_points", "programme_lines", "programme_areas"))
    # Where a programme is: its locations, else the kecamatan/kelurahan its indicators target, else its city.
    where = (f"coalesce((SELECT ST_Collect(g.geom) FROM ({located}) g), "
             f"(SELECT ST_Collect(w.geom) FROM (SELECT geom FROM kelurahan WHERE kode IN (SELECT wilayah_kode FROM "
             f"programme_indicators i WHERE i.programme_kode = p.kode) UNION ALL SELECT geom FROM kecamatan WHERE "
             f"kode IN (SELECT wilayah_kode FROM programme_indicators i WHERE i.programme_kode = p.kode)) w), "
             f"(SELECT geom FROM kota WHERE kode = p.kabkota))")
    scoped = " AND p.kabkota = ANY(CAST(:search_cities AS text[]))" if cities else ""
    sql = (f"SELECT 'programme', 'programmes', p.id, NULL, p.nama_subkegiatan, concat_ws(', ', p.nama_skpd, "
           f"p.tahun::text), petakota_search_norm(p.nama_subkegiatan), {where} "
           f"FROM programmes p WHERE {visible} AND {_match('p.nama_subkegiatan', fuzzy)}{scoped}")
    return sql, params


def _features(layer: Layer, who: Principal, fuzzy: bool, scoped: str) -> tuple[list[str], dict]:
    """The named features of one layer the caller sees (all rows of a public layer; a private layer's rows in
    the key's cities)."""
    params: dict = {}
    rows = ""
    if not layer.public and who.cities is not None:
        rows = f" AND t.{CITY_COLUMN} = ANY(CAST(:search_key_cities AS text[]))"
        params["search_key_cities"] = list(who.cities)
    has_kelurahan = any(f.name == "kelurahan_kode" for f in layer.fields)
    join = " LEFT JOIN kelurahan k ON k.kode = t.kelurahan_kode" if has_kelurahan else ""
    context = "k.nama" if has_kelurahan else "NULL::text"
    columns = [f't."{name}"' for name in name_fields(layer)]
    return [f"SELECT '{layer.id}', '{layer.id}', t.id, NULL, {column}, {context}, "
            f"petakota_search_norm({column}), t.geom FROM {layer.id} t{join} "
            f"WHERE {_match(column, fuzzy)}{scoped}{rows}" for column in columns], params


def _label(kind: str, name: str, context: str | None, layers: dict[str, Layer], lang: str) -> str:
    if kind in KINDS:
        kind_name = KINDS[kind][lang == "en"]
    else:
        layer = layers[kind]
        kind_name = layer.title_en if lang == "en" else layer.title_id
    if kind == "subzone":
        n = int(context or 0)
        context = f"{n} sub-blok" if lang == "id" else f"{n} sub-block{'s' * (n != 1)}"
    return f"{name} ({kind_name}{', ' + context if context else ''})"


def search(conn: Connection, q: str | None, who: Principal, layers: dict[str, Layer],
           cities: tuple[str, ...] = (), limit: int = 10, lang: str = "id") -> dict:
    """Places and named things matching `q` that `who` may read, best first; within `cities` when given.
    `layers` is the live catalog (built-in and runtime layers)."""
    query = parse_query(q)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    lang = lang_of(lang)
    fuzzy = query.fuzzy
    scoped = f" AND t.{CITY_COLUMN} = ANY(CAST(:search_cities AS text[]))" if cities else ""
    parts = _boundaries(fuzzy, scoped)
    params: dict = {"q": query.norm, "norm": query.norm, "contains": f"%{_like_escape(query.norm)}%",
                    "prefix": f"{_like_escape(query.norm)}%", "word": f"% {_like_escape(query.norm)}%",
                    "search_cities": list(cities), "limit": limit}
    if "zoning" in layers and who.sees_layer(layers["zoning"]):
        parts += _zoning(fuzzy, scoped)
    programmes, more = _programmes(who, fuzzy, cities)
    parts.append(programmes)
    params.update(more)
    for layer in layers.values():
        if layer.id in OWN_RULES or not who.sees_layer(layer):
            continue
        sql, more = _features(layer, who, fuzzy, scoped)
        parts += sql
        params.update(more)
    ranked = (
        "SELECT c.*, CASE WHEN c.norm = :norm THEN 3.0 "
        "WHEN c.norm LIKE :prefix ESCAPE '\\' THEN 2.0 + similarity(c.norm, :q) "
        "WHEN c.norm LIKE :word ESCAPE '\\' THEN 1.5 + similarity(c.norm, :q) / 2 "
        "ELSE (word_similarity(:q, c.norm) + similarity(c.norm, :q)) / 2 END AS score, "
        "CASE WHEN c.collection IN ('kota', 'kecamatan', 'kelurahan') THEN 0 WHEN c.collection = 'zoning' THEN 1 "
        "WHEN c.collection = 'programmes' THEN 2 ELSE 3 END AS kind_rank FROM (" + " UNION ALL ".join(parts) + ") c"
    )
    sql = (f"SELECT kind, collection, fid, ids, name, context, score, ST_XMin(geom) x0, ST_YMin(geom) y0, "
           f"ST_XMax(geom) x1, ST_YMax(geom) y1, ST_AsGeoJSON(ST_PointOnSurface(geom), 6) AS point "
           f"FROM ({ranked}) r WHERE score > 0 ORDER BY score DESC, kind_rank, length(name), name, collection, fid "
           f"LIMIT :limit")
    conn.execute(text("SELECT set_config('pg_trgm.word_similarity_threshold', :t, true)"),
                 {"t": str(WORD_SIMILARITY)})
    rows = conn.execute(text(sql), params).mappings().all()
    results = []
    for r in rows:
        labels = {lg: _label(r["kind"], r["name"], r["context"], layers, lg) for lg in ("id", "en")}
        match = "exact" if r["score"] >= 3 else "prefix" if r["score"] >= 1.5 else "fuzzy"
        results.append({
            "kind": r["kind"], "name": r["name"], "label": labels, "text": labels[lang],
            "collection": r["collection"], "id": r["fid"], **({"ids": list(r["ids"])} if r["ids"] else {}),
            "bbox": None if r["x0"] is None else [round(v, 6) for v in (r["x0"], r["y0"], r["x1"], r["y1"])],
            "point": json.loads(r["point"])["coordinates"] if r["point"] else None,
            "match": match, "score": round(float(r["score"]), 4),
        })
    return {"q": query.text, "lang": lang, "results": results}

