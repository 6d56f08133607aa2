"""The command-center wall: a full-screen page (map plus indicator tiles) for the screens of a city's command
center, and the figures it polls. Every figure comes from the processes themselves (project-progress, rth-ratio,
park-coverage, business-center-coverage), run in-process as the public (no private field, no compensation): the
wall is safe to show to anyone in the room."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, date, datetime

from sqlalchemy import Engine, text

from gis.analyses import rules
from gis.core.errors import InvalidInput, PetaKotaError
from gis.core.language import format_number
from gis.core.settings import Settings
from gis.data.cities import City
from gis.processes import PROCESSES
from gis.processes.context import Context
from gis.render.city_view import layers_present, resolve_view
from gis.render.messages import lang_of, message
from gis.render.webmap import TEMPLATES, map_config, public_map, safe_json
from layers.schema import Layer

MIN_REFRESH_S, DEFAULT_REFRESH_S, MAX_REFRESH_S = 5, 30, 3600
MIN_ROTATE_S, MAX_ROTATE_S = 5, 3600
PANELS = ("city", "estate")  # what the map shows: the city, or the estate project's extent
CACHE_SECONDS = 300.0  # a safety net: the figures are computed again at once when the data's version changes
WARN_FROM = 0.75  # a figure within 75 % of its target is "behind", below that "far behind"
# Tables the figures read besides the map's layers (the project itself and its milestones).
OTHER_TABLES = ("projects", "project_milestones")
# Tables with an `updated_at` kept by a trigger, counted like layers (programmes late on the wall)
PROGRAMME_TABLES = ("programmes", "programme_indicators", "programme_progress")


def _int_param(name: str, value: int | None, low: int, high: int, default: int | None) -> int | None:
    if value is None:
        return default
    if not low <= value <= high:
        raise InvalidInput(f"?{name}= must be a number of seconds from {low} to {high} (got {value})")
    return value


# --- the data's version ----------------------------------------------------------------------------------------

def data_version(engine: Engine, layer_ids: list[str]) -> str:
    """A short value that changes when any layer the wall shows or counts changes: each layer table's row count
    and newest `updated_at` (set by a trigger on every update), and the rows of the project tables. One indexed
    aggregate per table: cheap next to the figures it guards."""
    parts = [f"SELECT '{t}', count(*)::text || '|' || coalesce(max(updated_at)::text, '') FROM {t}"
             for t in layer_ids]
    parts += [f"SELECT '{t}', coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM {t} x"
              for t in OTHER_TABLES]
    with engine.connect() as conn:
        rows = conn.execute(text(" UNION ALL ".join(parts))).all()
    return hashlib.blake2b(repr(sorted(rows)).encode(), digest_size=8).hexdigest()


# --- the figures ---------------------------------------------------------------------------------------------------

def _status(value: float, target: float) -> str:
    """ok (target met), warn (within WARN_FROM of it), bad (further behind)."""
    if value >= target:
        return "ok"
    return "warn" if target > 0 and value >= WARN_FROM * target else "bad"


def _percent(share: float, lang: str) -> str:
    return f"{format_number(share * 100, lang, decimals=1)}\u00a0%"  # the sign never wraps alone


def _run(process_id: str, ctx: Context, city: City, **inputs) -> dict:
    process = PROCESSES[process_id]
    return process.run(ctx, process.parse({"city": city.code, **inputs}, ctx.settings))


def _tile(tile_id: str, value: float | None, shown: str, status: str, detail: str, lang: str, **raw) -> dict:
    return {"id": tile_id, "label": message(f"wall_{tile_id}", lang), "value": value, "text": shown,
            "status": status, "detail": detail, **raw}


def _unavailable(tile_id: str, reason: str, lang: str) -> dict:
    """A figure the city cannot give (no project, no population grid): the tile says so instead of a number."""
    return _tile(tile_id, None, "\u2014", "none", reason, lang)


def _estate_tiles(ctx: Context, city: City, lang: str) -> tuple[list[dict], str | None]:
    try:
        progress = _run("project-progress", ctx, city)
    except PetaKotaError:
        reason = message("wall_no_project", lang)
        return [_unavailable("acquisition", reason, lang), _unavailable("milestones_late", reason, lang)], None
    slug = progress["project"]["slug"]
    acquired, target = progress["acquired_ha"], progress["target_ha"]
    share = acquired / target
    n, late = len(progress["milestones"]), progress["milestones_late"]
    of = message("wall_of", lang)
    acquisition = _tile("acquisition", share, _percent(share, lang), _status(share, 1.0),
                        f"{format_number(acquired, lang, decimals=1)} {of} {format_number(target, lang)} ha",
                        lang, acquired_ha=acquired, target_ha=target, project=slug)
    milestones = _tile("milestones_late", late, format_number(late, lang), "ok" if late == 0 else "bad",
                       f"{of} {format_number(n, lang)} {message('wall_milestones_of', lang)}",
                       lang, milestones=n, project=slug)
    return [acquisition, milestones], slug


def _rth_tile(ctx: Context, city: City, lang: str) -> dict:
    rth = _run("rth-ratio", ctx, city)["overall"]
    total, public = rules.RTH_TOTAL_SHARE.value, rules.RTH_PUBLIC_SHARE.value
    met = rth["meets_total"] + rth["meets_public"]
    status = "ok" if met == 2 else "warn" if met == 1 or rth["share_total"] >= WARN_FROM * total else "bad"
    detail = (f"{message('wall_target', lang)} {_percent(total, lang)} \u00b7 {message('wall_public', lang)} "
              f"{_percent(rth['share_public'], lang)} / {_percent(public, lang)}")
    return _tile("rth", rth["share_total"], _percent(rth["share_total"], lang), status, detail, lang,
                 share_public=rth["share_public"], target_total=total, target_public=public)


def _park_tile(ctx: Context, city: City, lang: str) -> dict:
    parks = _run("park-coverage", ctx, city)
    if parks["population"] != "present":
        return _unavailable("parks", message("wall_no_population", lang), lang)
    share, target = parks["overall"]["share_served"], rules.UNDERSERVED_BELOW.value
    detail = (f"{format_number(parks['overall']['served'], lang, decimals=0)} {message('wall_of', lang)} "
              f"{format_number(parks['overall']['population'], lang, decimals=0)} {message('wall_people', lang)}")
    return _tile("parks", share, _percent(share, lang), _status(share, target), detail, lang, target=target)


def _centre_tile(ctx: Context, city: City, lang: str) -> dict:
    centres = _run("business-center-coverage", ctx, city, active_only=True)["overall"]
    total, covered = centres["kelurahan"], centres["with_centre"]
    share = covered / total if total else 0.0
    detail = (f"{format_number(covered, lang)} {message('wall_of', lang)} {format_number(total, lang)} "
              f"{message('wall_kelurahan', lang)}")
    return _tile("centres", share, _percent(share, lang), _status(share, 1.0), detail, lang,
                 with_centre=covered, kelurahan=total)


def _programme_tile(ctx: Context, city: City, lang: str) -> dict:
    """The city's public programmes of this year that are late (the dashboard's rule, as the public sees them)."""
    today = date.today()
    overall = _run("programme-status", ctx, city, year=today.year, as_of=today.isoformat())["overall"]
    total = overall["programmes"]
    if not total:
        return _unavailable("programmes_late", message("wall_no_programmes", lang), lang)
    late = overall["by_status"]["terlambat"]
    detail = (f"{message('wall_of', lang)} {format_number(total, lang)} {message('wall_programmes_of', lang)} "
              f"{today.year}")
    return _tile("programmes_late", late, format_number(late, lang), "ok" if late == 0 else "bad", detail, lang,
                 programmes=total, at_risk=overall["by_status"]["berisiko"], year=today.year)


def _project_bbox(engine: Engine, slug: str | None) -> list[float] | None:
    if slug is None:
        return None
    with engine.connect() as conn:
        row = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                "(SELECT ST_Extent(geom) AS e FROM projects WHERE slug = :s) x"), {"s": slug}).one()
    return None if row[0] is None else [float(v) for v in row]


def compute_figures(engine: Engine, settings: Settings, city: City, lang: str) -> dict:
    """The wall's tiles for one city, computed now by the processes (as an anonymous caller)."""
    ctx = Context(engine, settings, include_private=False)
    estate, slug = _estate_tiles(ctx, city, lang)
    tiles = [estate[0], _rth_tile(ctx, city, lang), _park_tile(ctx, city, lang), _centre_tile(ctx, city, lang),
             estate[1], _programme_tile(ctx, city, lang)]
    return {"tiles": tiles, "project": slug, "project_bbox": _project_bbox(engine, slug)}


class WallData:
    """The figures of each (city, language), kept until the data's version or the day changes (milestones fall
    late at midnight) or CACHE_SECONDS pass: every screen polling the wall costs one cheap version query."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine, self.settings = engine, settings
        self._cache: dict[tuple[str, str], tuple[tuple, float, dict]] = {}
        self._lock = threading.Lock()

    def get(self, city: City, layer_ids: list[str], lang: str) -> dict:
        lang = lang_of(lang)
        version = data_version(self.engine, layer_ids)
        key, stamp = (city.code, lang), (version, date.today())
        data = self._fresh(key, stamp)
        if data is None:
            with self._lock:  # screens polling at once: one computes, the others get its figures
                data = self._fresh(key, stamp) or self._compute(city, lang, key, stamp)
        # the figures are current as of now: the version was just checked
        as_of = datetime.now(UTC).isoformat(timespec="seconds")
        return {**data, "as_of": as_of, "tiles": [{**tile, "as_of": as_of} for tile in data["tiles"]]}

    def _fresh(self, key: tuple[str, str], stamp: tuple) -> dict | None:
        hit = self._cache.get(key)
        if hit and hit[0] == stamp and time.monotonic() - hit[1] < CACHE_SECONDS:
            return hit[2]
        return None

    def _compute(self, city: City, lang: str, key: tuple[str, str], stamp: tuple) -> dict:
        version = stamp[0]
        figures = compute_figures(self.engine, self.settings, city, lang)
        data = {"city": {"code": city.code, "name": city.name}, "lang": lang, "version": version,
                "computed_at": datetime.now(UTC).isoformat(timespec="seconds"), "public": True, **figures}
        self._cache[key] = (stamp, time.monotonic(), data)
        return data


# --- the page --------------------------------------------------------------------------------------------------

def wall_layers(settings: Settings, catalog: dict[str, Layer]) -> list[Layer]:
    """The public layers of the city's public map: what the wall's map draws (anonymous-safe)."""
    mapdef = public_map(settings.city.map_id)
    return [catalog[i] for i in mapdef.layers if i in catalog and catalog[i].public]


def wall_city(cities: list[City], settings: Settings, city: str | None) -> City:
    view = resolve_view(cities, city, settings.city.kode)
    if len(view.cities) != 1:
        raise InvalidInput("?city= must name one city held (its Kemendagri code, e.g. 12.75); see /cities")
    return view.cities[0]


def wall_page(engine: Engine, settings: Settings, catalog: dict[str, Layer], cities: list[City], *, base: str,
              city: str | None = None, lang: str = "id", refresh: int | None = None, rotate: int | None = None,
              panel: int | None = None) -> str:
    """The wall for one city: its public map and the indicator tiles, polling `{base}/wall/data` every `refresh`
    seconds; `rotate` switches the map between the city and the estate every so many seconds, `panel` fixes it."""
    lang = lang_of(lang)
    refresh = _int_param("refresh", refresh, MIN_REFRESH_S, MAX_REFRESH_S, DEFAULT_REFRESH_S)
    rotate = _int_param("rotate", rotate, MIN_ROTATE_S, MAX_ROTATE_S, None)
    if panel is not None and not 0 <= panel < len(PANELS):
        raise InvalidInput(f"?panel= must be 0 (the city) or 1 (the estate project), got {panel}")
    chosen = wall_city(cities, settings, city)
    view = resolve_view(cities, chosen.code, settings.city.kode)
    mapdef, layers = public_map(settings.city.map_id), wall_layers(settings, catalog)
    with engine.connect() as conn:
        present = layers_present(conn, layers, view.codes)
    config = map_config(settings, mapdef, layers, embed=True, base=base, view=view, present=present, lang=lang)
    config["basemap"] = None  # the command center's intranet reaches no outside host
    config["wall"] = {"data": f"{base}/wall/data?city={chosen.code}&lang={lang}", "refresh_s": refresh,
                      "rotate_s": rotate, "panel": panel, "panels": list(PANELS)}
    title = f"{message('wall_title', lang)} \u2014 {chosen.name}"
    return TEMPLATES.get_template("wall.html").render(
        config_json=safe_json(config), title=title, lang=lang, static=f"{base}/static",
        t=lambda key: message(key, lang))
