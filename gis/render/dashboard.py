"""The programme dashboard (/dashboard): scorecards per OPD and per kecamatan (targets met, behind, late; spending
against budget), the map of programme locations coloured by status, the programme list and a programme's
drill-down (indicators, progress history, the evidence attached to its locations). The page itself holds no data:
its script asks /dashboard/data with the key typed on the page, so the public sees public programmes and fields
only (gis/data/programme_scope.py) and a key shows what it may read."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import date

from sqlalchemy import Connection, Engine, text

from gis.analyses import programmes as rules
from gis.core.errors import InvalidInput, NotFound
from gis.core.language import LOCALES
from gis.core.settings import Settings
from gis.data.attachments import PUBLIC_COLUMNS
from gis.data.auth import Principal
from gis.data.cities import City
from gis.data.programme_frames import load_programme_data, programme_years
from gis.data.programme_scope import LOCATION_TABLES, private_rows_sql, visible_rows_sql
from gis.render.city_view import resolve_view
from gis.render.dashboard_messages import dashboard_catalogue, dashboard_message
from gis.render.messages import lang_of
from gis.render.webmap import TEMPLATES, safe_json

MIN_YEAR, MAX_YEAR = 2000, 2100
CACHE_SECONDS, MAX_CACHED = 300.0, 200  # a safety net: a change of the data's version recomputes at once
VERSION_TABLES = ("programmes", "programme_indicators", "programme_progress", *LOCATION_TABLES, "project_parcels",
                  "business_centers", "kecamatan")


def parse_as_of(value: str | None) -> date:
    """?as_of= as a date (default today), or a sentence saying what is expected."""
    if value is None or not value.strip():
        return date.today()
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"?as_of= must be a date YYYY-MM-DD, e.g. 2026-06-30 (got {value[:30]!r})") from None


def check_year(year: int | None) -> int | None:
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"?year= must be a budget year from {MIN_YEAR} to {MAX_YEAR} (got {year})")
    return year


def dashboard_city(cities: list[City], settings: Settings, city: str | None) -> City:
    view = resolve_view(cities, city, settings.city.kode)
    if len(view.cities) != 1:
        raise InvalidInput("?city= must name one city held (its Kemendagri code, e.g. 12.75); see /cities")
    return view.cities[0]


def _year(conn: Connection, city: City, who: Principal, year: int | None, as_of: date) -> tuple[int | None, list]:
    """The year shown: the one asked, else as_of's year when it has programmes, else the newest year."""
    years = programme_years(conn, [city.code], who)
    if year is not None:
        return year, years
    if as_of.year in years:
        return as_of.year, years
    return (years[0] if years else None), years


def statuses_legend(lang: str) -> dict:
    return {k: {"label": rules.status_label(k, lang), "colour": rules.status_colour(k)} for k in rules.STATUS_ORDER}


def _location_features(locations, status_of: dict) -> list[str]:
    """Each location as GeoJSON text: its geometry as the database wrote it, never parsed and written again (2,000
    locations cost milliseconds, not a tenth of a second)."""
    features = []
    for row in locations.itertuples(index=False):
        status = status_of.get(row.programme_kode, "belum_mulai")
        properties = json.dumps({"programme_kode": row.programme_kode, "nama": row.nama, "layer": row.layer,
                                 "fid": int(row.id), "kecamatan_kode": row.kecamatan_kode, "status": status,
                                 "colour": rules.status_colour(status)}, ensure_ascii=False)
        features.append(f'{{"type":"Feature","id":"{row.layer}.{int(row.id)}","geometry":{row.geojson},'
                        f'"properties":{properties}}}')
    return features


def _collection(features: list[str]) -> str:
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def _locations_geojson(locations, status_of: dict) -> dict:
    return json.loads(_collection(_location_features(locations, status_of)))


def _dashboard(engine: Engine, settings: Settings, cities: list[City], who: Principal, city: str | None,
               year: int | None, as_of: date | None, lang: str) -> tuple[dict, list[str]]:
    """(the dashboard without its locations, the locations as GeoJSON texts)."""
    lang, as_of = lang_of(lang), as_of or date.today()
    chosen = dashboard_city(cities, settings, city)
    with engine.connect() as conn:
        year, years = _year(conn, chosen, who, check_year(year), as_of)
        data = load_programme_data(conn, [chosen.code], who, year, with_geometry=False) if year is not None else None
    out = {"city": {"code": chosen.code, "name": chosen.name}, "lang": lang, "as_of": as_of.isoformat(),
           "year": year, "years": years, "statuses": statuses_legend(lang), "public": not who.sees_private,
           "illustrative": dashboard_message("illustrative", lang)}
    if data is None:
        empty = {"programmes": 0, "by_status": dict.fromkeys(rules.STATUS_ORDER, 0),
                 "indicators": dict.fromkeys(rules.INDICATOR_STATES, 0), "pagu_rp": 0.0, "realisasi_rp": 0.0,
                 "spending_share": None}
        return {**out, "scorecards": {"opd": [], "kecamatan": [], "overall": empty, "as_of": out["as_of"]},
                "programmes": [], "private": False}, []
    statuses = rules.programme_status(data.programmes, data.indicators, data.progress, data.parcels, data.centres,
                                      as_of, data.milestones)
    status_of = dict(zip(statuses.programmes["kode"], statuses.programmes["status"], strict=True))
    return {**out, "scorecards": rules.scorecards(statuses, data.locations, data.kecamatan, lang),
            "programmes": rules.programme_rows(statuses, lang),
            "private": bool(data.programmes["private"].any())}, _location_features(data.locations, status_of)


def dashboard_data(engine: Engine, settings: Settings, cities: list[City], who: Principal, *, city: str | None = None,
                   year: int | None = None, as_of: date | None = None, lang: str = "id") -> dict:
    """Everything the page shows for one city and year, as of a date, as `who` may see it."""
    out, features = _dashboard(engine, settings, cities, who, city, year, as_of, lang)
    return {**out, "locations": json.loads(_collection(features))}


def dashboard_json(engine: Engine, settings: Settings, cities: list[City], who: Principal, *,
                   city: str | None = None, year: int | None = None, as_of: date | None = None,
                   lang: str = "id") -> str:
    """dashboard_data as JSON text, written without parsing the locations' geometries."""
    out, features = _dashboard(engine, settings, cities, who, city, year, as_of, lang)
    text_ = json.dumps({"locations": None, **out}, ensure_ascii=False, allow_nan=False)
    # `locations` is written first: its null is the first one in the text
    return text_.replace('"locations": null', '"locations": ' + _collection(features), 1)


class DashboardCache:
    """The dashboard's JSON per (city, year, as_of, language, what the caller may see), kept until the data's version
    changes or CACHE_SECONDS pass: every screen polling the dashboard costs one cheap version query."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine, self.settings = engine, settings
        self._cache: dict[tuple, tuple[str, float, str]] = {}
        self._lock = threading.Lock()

    def version(self) -> str:
        """Each table the dashboard reads: its row count and newest `updated_at` (set by a trigger on every write)."""
        parts = " UNION ALL ".join(f"SELECT '{t}', count(*)::text || '|' || coalesce(max(updated_at)::text, '') "
                                   f"FROM {t}" for t in VERSION_TABLES)
        with self.engine.connect() as conn:
            rows = conn.execute(text(parts)).all()
        return hashlib.blake2b(repr(rows).encode(), digest_size=8).hexdigest()

    def json(self, cities: list[City], who: Principal, *, city: str | None, year: int | None, as_of: date | None,
             lang: str) -> str:
        as_of = as_of or date.today()
        key = (city, year, as_of, lang_of(lang), who.sees_private, who.cities, who.kecamatan)
        version = self.version()
        hit = self._cache.get(key)
        if hit and hit[0] == version and time.monotonic() - hit[1] < CACHE_SECONDS:
            return hit[2]
        body = dashboard_json(self.engine, self.settings, cities, who, city=city, year=year, as_of=as_of, lang=lang)
        with self._lock:
            if len(self._cache) > MAX_CACHED:
                self._cache.clear()
            self._cache[key] = (version, time.monotonic(), body)
        return body


# --- a programme's drill-down ----------------------------------------------------------------------------------

def _attachments(conn: Connection, locations, private: bool) -> list[dict]:
    """The attachments of the programme's locations: public ones, and every one for a caller reading its notes."""
    if locations.empty:
        return []
    pairs = [{"layer": r.layer, "fid": int(r.id), "nama": r.nama} for r in locations.itertuples(index=False)]
    rows = conn.execute(text(
        "SELECT a.* FROM attachments a JOIN jsonb_to_recordset(CAST(:pairs AS jsonb)) AS l(layer text, fid int) "
        "ON a.layer = l.layer AND a.feature_id = l.fid WHERE a.deleted_at IS NULL AND (a.public OR :all) "
        "ORDER BY a.uploaded_at, a.id"), {"pairs": json.dumps(pairs), "all": private}).all()
    names = {(p["layer"], p["fid"]): p["nama"] for p in pairs}
    out = []
    for row in rows:
        meta = {c: getattr(row, c) for c in PUBLIC_COLUMNS}
        for c in ("taken_at", "uploaded_at"):
            meta[c] = meta[c].isoformat() if meta[c] else None
        if not private:
            meta["uploaded_by"] = None  # who is not told to the public
        meta.update(location=names[(row.layer, row.feature_id)], thumbnail=row.thumbnail_path is not None,
                    href=f"/dashboard/attachments/{row.id}",
                    thumbnail_href=f"/dashboard/attachments/{row.id}/thumbnail" if row.thumbnail_path else None)
        out.append(meta)
    return out


def programme_drilldown(engine: Engine, cities: list[City], who: Principal, kode: str, *, as_of: date | None = None,
                        lang: str = "id") -> dict:
    """One programme as `who` may see it: its status, indicators, progress history and the evidence attached to
    its locations; NotFound when there is none or it is not `who`'s to see."""
    lang, as_of = lang_of(lang), as_of or date.today()
    with engine.connect() as conn:
        data = load_programme_data(conn, [c.code for c in cities], who, None, kode=kode)
        if data.programmes.empty:
            raise NotFound(f"no programme {kode[:120]!r} that you may see (see /dashboard/data for the list)")
        private = bool(data.programmes["private"].iloc[0])
        attachments = _attachments(conn, data.locations, private)
    statuses = rules.programme_status(data.programmes, data.indicators, data.progress, data.parcels, data.centres,
                                      as_of, data.milestones)
    detail = rules.programme_detail(statuses, data.progress, kode, lang, private, data.milestones)
    status_of = {kode: detail["status"]}
    return {**detail, "private": private, "locations": _locations_geojson(data.locations, status_of),
            "attachments": attachments, "statuses": statuses_legend(lang)}


def dashboard_attachment(conn: Connection, aid: int, who: Principal) -> dict:
    """An attachment of a programme location that `who` may see on the dashboard (public, of a programme it sees;
    or any, of a programme whose private part it reads), with its paths; else NotFound."""
    row = conn.execute(text("SELECT * FROM attachments WHERE id = :id AND deleted_at IS NULL "
                            "AND layer = ANY(CAST(:layers AS text[]))"),
                       {"id": aid, "layers": list(LOCATION_TABLES)}).first()
    if row is None:
        raise NotFound(f"no attachment {aid} on the dashboard")
    visible, params = visible_rows_sql(who, "p")
    private, more = private_rows_sql(who, "p")
    allowed = conn.execute(text(
        f"SELECT ({private}) FROM programmes p JOIN {row.layer} l ON l.programme_kode = p.kode "
        f"WHERE l.id = :fid AND {visible}"), {**params, **more, "fid": row.feature_id}).first()
    if allowed is None or not (row.public or allowed[0]):
        raise NotFound(f"no attachment {aid} on the dashboard")
    return {"id": row.id, "filename": row.filename, "media_type": row.media_type, "public": row.public,
            "sha256": row.sha256, "path": row.path, "thumbnail_path": row.thumbnail_path}


# --- the page --------------------------------------------------------------------------------------------------

def _kecamatan_outlines(conn: Connection, city: City) -> dict:
    rows = conn.execute(text(
        "SELECT kode, nama, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.0002), 6) FROM kecamatan "
        "WHERE kabkota = :c ORDER BY kode"), {"c": city.code}).all()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(g), "properties": {"kode": k, "nama": n}} for k, n, g in rows]}


def dashboard_page(engine: Engine, settings: Settings, cities: list[City], *, base: str, city: str | None = None,
                   lang: str = "id", year: int | None = None, as_of: date | None = None) -> str:
    """The page (no programme data in it: the script asks /dashboard/data with the page's key); `year` and `as_of`
    are what it shows first (default: this year, today)."""
    lang = lang_of(lang)
    chosen = dashboard_city(cities, settings, city)
    with engine.connect() as conn:
        outlines = _kecamatan_outlines(conn, chosen)
    query = f"city={chosen.code}&lang={lang}"
    config = {"base": base, "lang": lang, "locale": LOCALES[lang], "messages": dashboard_catalogue(lang),
              "city": {**chosen.to_dict()}, "kecamatan": outlines,
              "data": f"{base}/dashboard/data?{query}", "programme": f"{base}/dashboard/programmes/",
              "pdf": f"{base}/dashboard.pdf?{query}", "year": check_year(year),
              "as_of": as_of.isoformat() if as_of else None,
              "other_lang": f"{base}/dashboard?city={chosen.code}&lang={'en' if lang == 'id' else 'id'}"}
    title = f"{dashboard_message('title', lang)} \u2014 {chosen.name}"
    return TEMPLATES.get_template("dashboard.html").render(
        config_json=safe_json(config), title=title, lang=lang, static=f"{base}/static",
        t=lambda key: dashboard_message(key, lang))
