"""Loading the Binjai sample city: real boundaries + generated, illustrative layers and rasters.

Reloading keeps every feature's id: features are matched on each layer's natural key (NATURAL_KEYS) and only
those that differ from the sample are updated. A feature someone edited since the loader last wrote it (a history
entry by another actor, or a version above the loader's) is never overwritten silently: the reload is refused,
naming the edits, unless forced."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, Engine, text

from gis.analyses.rdtr_checks import summary
from gis.core.errors import Conflict, InvalidInput
from gis.core.settings import Settings
from gis.data import store
from gis.data.itbx_files import write_itbx_csv
from gis.data.rdtr_import import ImportResult, import_plan
from layers import CATALOG
from layers.sample.generate import NATURAL_KEYS, build
from layers.sample.rasters import write_rasters
from layers.sample.rdtr_synthetic import write_package

PLAN_LAYERS = ("zoning", "zoning_overlays")  # the sample's RDTR: imported as a plan (import_sample_plan)
LOADER = "sample loader"  # the actor of the loader's writes in feature_history


def is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return store.count(conn, "kelurahan") == 0


def load_sample(engine: Engine, settings: Settings, progress: Callable[[str], None] = lambda step: None,
                force: bool = False) -> dict:
    """Bring the sample city's layers to the sample, in one transaction, keeping feature ids. Raises Conflict,
    changing nothing, when that would overwrite edits made since the last load (unless `force`).
    Returns the number of features per layer."""
    progress("generating layers")
    city = build()
    city.kota["population"] = settings.city.population
    layers = {k: v for k, v in city.all_layers().items() if k not in PLAN_LAYERS}
    with engine.begin() as conn:
        progress("checking for edits")
        # Writers wait until the reload commits, so no edit slips in between the check and the writes.
        conn.execute(text(f"LOCK TABLE {', '.join(layers)} IN SHARE ROW EXCLUSIVE MODE"))
        conn.execute(text("SELECT set_config('petakota.actor', :a, true)"), {"a": LOADER})
        new_parcels = _new_keys(conn, "project_parcels", layers["project_parcels"])
        layers["project_parcels"] = _at_first_status(layers["project_parcels"], new_parcels)
        for layer_id, gdf in layers.items():
            _stage(conn, layer_id, gdf)
        conn.execute(text("SELECT set_config('petakota.sample_city', :c, true)"),
                     {"c": str(city.kota.kode.iloc[0])})
        if not force:
            edits = [line for layer_id in layers for line in _edits_since_load(conn, layer_id)]
            if edits:
                raise Conflict("the sample city was edited since it was loaded, and reloading would overwrite: "
                               + "; ".join(edits) + ". Nothing was changed; reload with --force to overwrite")
        progress("writing rasters")
        raster_rows = write_rasters(city, settings.raster_dir, settings.city.population)
        counts = {}
        for layer_id in layers:
            progress(f"loading {layer_id}")
            counts[layer_id] = _apply(conn, layer_id)
        _replay_status_steps(conn, city.layers["project_parcels"], new_parcels)
        progress("loading the raster registry")
        store.write_rows(conn, "rasters", raster_rows, key=("id",))
        # Fresh planner statistics, so that a city's page is read through its index from the first request.
        conn.execute(text(f"ANALYZE {', '.join(layers)}"))
    progress("importing the RDTR (zoning, special provisions, ITBX)")
    plan = import_sample_plan(engine, str(city.kota.kode.iloc[0]), city.layers, city.itbx, force)
    progress("importing the programmes (SIPD-style file) and their progress")
    programmes = load_sample_programmes(engine, str(city.kota.kode.iloc[0]), force)
    return {**counts, "zoning": plan.zones, "zoning_overlays": plan.overlays, **programmes}


def load_sample_programmes(engine: Engine, code: str, force: bool = False) -> dict:
    """The sample's programmes go the way a city's go: written as a SIPD-style file and imported (only what
    differs is written); then their progress updates, each added once. Programmes someone else edited since
    are kept as they are unless `force`."""
    from gis.data.edits import set_actor
    from gis.data.programmes import import_programmes, long_table
    from layers.programmes import programme_kode
    from layers.sample.programmes import progress_rows, sample_tables

    with engine.connect() as conn:
        tables = sample_tables(conn, code)
        kodes = [programme_kode(code, p.tahun, p.kodeskpd, p.kodesubkegiatan) for p in tables["program"].itertuples()]
        edited = conn.execute(text(
            "SELECT count(*) FROM feature_history h WHERE h.layer = ANY(:layers) AND h.actor <> :loader "
            "AND coalesce(h.after, h.before) ->> (CASE WHEN h.layer = 'programmes' THEN 'kode' "
            "ELSE 'programme_kode' END) = ANY(:k) AND h.id > (SELECT coalesce(max(l.id), 0) FROM feature_history l "
            "WHERE l.layer = h.layer AND l.feature_id = h.feature_id AND l.actor = :loader)"),
            {"layers": ["programmes", "programme_indicators", "programme_points", "programme_lines",
                        "programme_areas"], "loader": LOADER, "k": kodes}).scalar()
    if edited and not force:
        return {"programmes": f"{len(kodes)} kept ({edited} edits since the sample was loaded)"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "program_binjai_2026.csv"
        long_table(tables).to_csv(path, index=False)
        report = import_programmes(engine, path, code, by=LOADER)
    if not report.ok:
        raise InvalidInput(f"the sample programmes of {code} fail their checks: "
                           + "; ".join(map(str, report.problems[:5])))
    with engine.begin() as conn:
        set_actor(conn, LOADER)
        for row in progress_rows(code):
            indicator = None
            if row["indicator"]:
                kode, periode, wilayah = row["indicator"]
                indicator = conn.execute(text(
                    "SELECT id FROM programme_indicators WHERE programme_kode = :p AND kode = :k AND periode = :pe "
                    "AND wilayah_kode IS NOT DISTINCT FROM :w"),
                    {"p": row["programme_kode"], "k": kode, "pe": periode, "w": wilayah}).scalar()
            values = {**{k: v for k, v in row.items() if k != "indicator"}, "indicator_id": indicator}
            conn.execute(text(
                "INSERT INTO programme_progress (programme_kode, indicator_id, tanggal, realisasi, realisasi_rp, "
                "status, catatan, oleh) SELECT :programme_kode, :indicator_id, :tanggal, :realisasi, :realisasi_rp, "
                ":status, :catatan, :oleh WHERE NOT EXISTS (SELECT 1 FROM programme_progress WHERE "
                "programme_kode = :programme_kode AND tanggal = :tanggal AND status = :status AND oleh = :oleh)"),
                values)
        progress = conn.execute(text("SELECT count(*) FROM programme_progress WHERE programme_kode = ANY(:k)"),
                                {"k": kodes}).scalar()
    return {"programmes": len(kodes), "programme_indicators": len(tables["indikator"]),
            "programme_locations": len(tables["lokasi"]), "programme_progress": progress}


def import_sample_plan(engine: Engine, code: str, layers: dict[str, gpd.GeoDataFrame], rules: list[dict],
                       force: bool = False) -> ImportResult:
    """A sample city's RDTR goes the way a real plan goes: written as a package in the standard (a GeoPackage
    and a long-form ITBX CSV), then read, checked and activated by the RDTR import. Unchanged, it writes nothing
    (edits made to the zoning since are kept; `force` re-imports it over them, and only then)."""
    overlays = layers.get("zoning_overlays")
    force = force and _plan_edited(engine, code)
    with tempfile.TemporaryDirectory() as tmp:
        zones = layers["zoning"].drop(columns=["kelurahan_kode"]).assign(fid=range(1, len(layers["zoning"]) + 1))
        package = write_package(zones, Path(tmp) / "rdtr.gpkg", overlays=None if overlays is None else {
            code: part.drop(columns="kode") for code, part in overlays.groupby("kode")})
        write_itbx_csv(pd.DataFrame(rules), Path(tmp) / "itbx.csv")
        result = import_plan(engine, package, code, itbx_path=Path(tmp) / "itbx.csv", actor=LOADER, force=force)
    if not result.ok:
        raise InvalidInput(f"the sample RDTR of {code} fails its checks: {summary(result.problems)['counts']}")
    return result


def _plan_edited(engine: Engine, code: str) -> bool:
    """Whether someone other than the loader changed the city's zoning or overlays since its plan was imported."""
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM feature_history h, rdtr_plans p WHERE p.kabkota = :c AND p.active "
            "AND h.layer IN ('zoning', 'zoning_overlays') AND h.at > p.imported_at AND h.actor <> :loader "
            "AND coalesce(h.after->>'kabkota', h.before->>'kabkota') = :c)"), {"c": code, "loader": LOADER}).scalar())


def _staging(layer_id: str) -> str:
    return f"sample_{layer_id}"


def _columns(layer_id: str, gdf: gpd.GeoDataFrame) -> list[str]:
    return [f.name for f in CATALOG[layer_id].fields if not f.computed and f.name in gdf.columns]


def _stage(conn: Connection, layer_id: str, gdf: gpd.GeoDataFrame) -> None:
    """The sample's features of a layer in a temporary table shaped like the layer, so that matching,
    comparing and writing are each one statement."""
    cols = ", ".join([*_columns(layer_id, gdf), "geom"])
    conn.execute(text(f"CREATE TEMP TABLE {_staging(layer_id)} ON COMMIT DROP AS "
                      f"SELECT {cols} FROM {layer_id} WITH NO DATA"))
    store.insert_features(conn, dataclasses.replace(CATALOG[layer_id], id=_staging(layer_id)), gdf)


# The sample city's own rows (other cities held in the same database are not the sample's to change).
IN_SAMPLE_CITY = "t.kabkota IS NOT DISTINCT FROM current_setting('petakota.sample_city', true)"


def _match(layer_id: str, a: str, b: str) -> str:
    return " AND ".join(f"{a}.{k} IS NOT DISTINCT FROM {b}.{k}" for k in NATURAL_KEYS[layer_id])


def _differs(cols: list[str], a: str, b: str) -> str:
    return (f"({', '.join(f'{a}.{c}' for c in cols)}, ST_AsBinary({a}.geom)) IS DISTINCT FROM "
            f"({', '.join(f'{b}.{c}' for c in cols)}, ST_AsBinary({b}.geom))")


def _staged_columns(conn: Connection, layer_id: str) -> list[str]:
    rows = conn.execute(text("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(:t) AND attnum > 0 "
                             "AND NOT attisdropped ORDER BY attnum"), {"t": f"pg_temp.{_staging(layer_id)}"})
    return [r[0] for r in rows if r[0] != "geom"]


def _edits_since_load(conn: Connection, layer_id: str) -> list[str]:
    """What a reload of this layer would overwrite: features changed or added by someone else since the loader
    last wrote them (and that differ from the sample), and sample features someone deleted."""
    s, cols, keys = _staging(layer_id), _staged_columns(conn, layer_id), NATURAL_KEYS[layer_id]
    key_text = " || ' / ' || ".join(f"coalesce(t.{k}::text, '?')" for k in keys)
    loader = ("SELECT max(id) AS last_id, max(version) AS last_version FROM feature_history "
              "WHERE layer = :layer AND feature_id = t.id AND actor = :loader")
    changed = conn.execute(text(f"""
        SELECT t.id, {key_text} AS key, coalesce(h.actor, 'a direct database write') AS actor
        FROM {layer_id} t
        LEFT JOIN LATERAL ({loader}) l ON true
        LEFT JOIN LATERAL (SELECT actor FROM feature_history WHERE layer = :layer AND feature_id = t.id
                           AND actor <> :loader AND id > coalesce(l.last_id, 0) ORDER BY id DESC LIMIT 1) h ON true
        LEFT JOIN {s} ON {_match(layer_id, 't', s)}
        WHERE (h.actor IS NOT NULL OR l.last_version IS NULL OR t.version > l.last_version)
          AND ({s}.geom IS NULL OR {_differs(cols, 't', s)})
          AND ({s}.geom IS NOT NULL OR {IN_SAMPLE_CITY} OR t.kabkota IS NULL)
        ORDER BY t.id"""), {"layer": layer_id, "loader": LOADER}).all()
    deleted = conn.execute(text(f"""
        SELECT DISTINCT ON (h.feature_id) h.feature_id, h.actor,
               {" || ' / ' || ".join(f"coalesce(h.before->>'{k}', '?')" for k in keys)} AS key
        FROM feature_history h JOIN {s} ON {" AND ".join(f"h.before->>'{k}' = {s}.{k}::text" for k in keys)}
        WHERE h.layer = :layer AND h.action = 'delete' AND h.actor <> :loader
          AND NOT EXISTS (SELECT 1 FROM {layer_id} t WHERE t.id = h.feature_id)
          AND NOT EXISTS (SELECT 1 FROM {layer_id} t WHERE {_match(layer_id, 't', s)})
        ORDER BY h.feature_id, h.id DESC"""), {"layer": layer_id, "loader": LOADER}).all()
    lines = [f"{layer_id} {r.id} ({r.key}) changed by {r.actor}" for r in changed]
    lines += [f"{layer_id} {r.feature_id} ({r.key}) deleted by {r.actor}" for r in deleted]
    if len(lines) > 5:  # a readable message: the first few, and how many in all
        lines = [*lines[:5], f"{layer_id}: {len(lines) - 5} more"]
    return lines


def _apply(conn: Connection, layer_id: str) -> int:
    """Update the features that differ from the sample, delete those not in it, insert the missing ones (a
    sample feature deleted earlier comes back under its old id). Returns the layer's feature count."""
    s, cols = _staging(layer_id), _staged_columns(conn, layer_id)
    conn.execute(text(f"UPDATE {layer_id} t SET {', '.join(f'{c} = {s}.{c}' for c in [*cols, 'geom'])} "
                      f"FROM {s} WHERE {_match(layer_id, 't', s)} AND {_differs(cols, 't', s)}"))
    conn.execute(text(f"DELETE FROM {layer_id} t WHERE ({IN_SAMPLE_CITY} OR t.kabkota IS NULL) "
                      f"AND NOT EXISTS (SELECT 1 FROM {s} WHERE {_match(layer_id, 't', s)})"))
    keys = NATURAL_KEYS[layer_id]
    conn.execute(text(f"""
        INSERT INTO {layer_id} (id, version, {', '.join(cols)}, geom)
        SELECT coalesce(d.feature_id, nextval(pg_get_serial_sequence(:table, 'id'))), coalesce(d.version + 1, 1),
               {', '.join(f'{s}.{c}' for c in cols)}, {s}.geom
        FROM {s}
        LEFT JOIN LATERAL (SELECT h.feature_id, h.version FROM feature_history h
                           WHERE h.layer = :table AND h.action = 'delete'
                             AND {" AND ".join(f"h.before->>'{k}' = {s}.{k}::text" for k in keys)}
                             AND NOT EXISTS (SELECT 1 FROM {layer_id} t WHERE t.id = h.feature_id)
                           ORDER BY h.id DESC LIMIT 1) d ON true
        WHERE NOT EXISTS (SELECT 1 FROM {layer_id} t WHERE {_match(layer_id, 't', s)})"""), {"table": layer_id})
    return store.count(conn, layer_id)


def _new_keys(conn: Connection, layer_id: str, gdf: gpd.GeoDataFrame) -> set:
    (key,) = NATURAL_KEYS[layer_id]
    present = {r[0] for r in conn.execute(text(f"SELECT {key} FROM {layer_id}"))}
    return set(gdf[key]) - present


def _at_first_status(parcels: gpd.GeoDataFrame, new: set) -> gpd.GeoDataFrame:
    """New parcels start at their first acquisition status; their later statuses are applied as edits."""
    first = parcels.copy()
    is_new = first.parcel_id.isin(new)
    first.loc[is_new, "status"] = [steps[0][0] for steps in first.status_steps[is_new]]
    first.loc[is_new, "status_date"] = [steps[0][1] for steps in first.status_steps[is_new]]
    return first


def _replay_status_steps(conn: Connection, parcels: gpd.GeoDataFrame, new: set) -> None:
    """Apply new parcels' later statuses in date order, so the edit history carries the acquisition timeline
    (project-progress reads it)."""
    later = sorted((day, parcel_id, status) for parcel_id, steps in zip(parcels.parcel_id, parcels.status_steps,
                                                                         strict=True)
                   if parcel_id in new for status, day in steps[1:])
    if later:
        conn.execute(text("UPDATE project_parcels SET status = :s, status_date = :d WHERE parcel_id = :p"),
                     [{"s": status, "d": day, "p": parcel_id} for day, parcel_id, status in later])


# Sample regions: cities adopted next to Binjai from real boundaries (layers/sample/data, see SOURCES.md), with
# sparse illustrative planning layers and 30 m rasters (layers/sample/region.py) unless only boundaries are asked.
REGIONS = {"mebidangro": ("deli_serdang", "karo")}


def load_region(engine: Engine, region: str, settings: Settings | None = None, force: bool = False,
                progress: Callable[[str], None] = lambda step: None) -> list:
    """Adopt a sample region's cities (kab/kota, kecamatan, desa/kelurahan), each all-or-nothing; adopting them
    again updates them in place. With `settings`, each city also gets its illustrative layers and rasters and its
    population (one transaction per city, keeping feature ids; see load_region_layers); without, boundaries
    only (their populations left empty)."""
    from gis.data.boundaries import add_city
    from layers.sample.generate import DATA
    from layers.sample.region import POPULATION, REGENCIES

    if region not in REGIONS:
        raise InvalidInput(f"no sample region {region[:40]!r}; regions: {', '.join(REGIONS)}")
    adopted = []
    for name in REGIONS[region]:
        progress(f"adopting {name}")
        population = POPULATION[REGENCIES[name].code] if settings is not None else None
        adopted.append(add_city(engine, DATA / f"desa_kelurahan_{name}.geojson", "desa",
                                kecamatan=DATA / f"kecamatan_{name}.geojson",
                                kabkota=DATA / f"kabkota_{name}.geojson", population=population))
    if settings is not None:
        for name in REGIONS[region]:
            progress(f"loading the layers and rasters of {name}")
            load_region_layers(engine, settings, name, force=force)
    return adopted


def load_region_layers(engine: Engine, settings: Settings, name: str, force: bool = False) -> dict:
    """Bring one sample regency's illustrative layers and rasters to the sample, in one transaction, keeping
    feature ids (matched on NATURAL_KEYS) and never touching another city's rows. Raises Conflict, changing
    nothing, when that would overwrite edits made since the last load (unless `force`). Returns the number of
    the regency's features per layer."""
    from layers.sample.region import build_region_city
    from layers.sample.region_rasters import write_rasters as write_region_rasters

    city = build_region_city(name)
    code = city.regency.code
    layers = {k: v for k, v in city.layers.items() if k not in PLAN_LAYERS}
    with engine.begin() as conn:
        conn.execute(text(f"LOCK TABLE {', '.join(layers)} IN SHARE ROW EXCLUSIVE MODE"))
        conn.execute(text("SELECT set_config('petakota.actor', :a, true)"), {"a": LOADER})
        conn.execute(text("SELECT set_config('petakota.sample_city', :c, true)"), {"c": code})
        for layer_id, gdf in layers.items():
            _stage(conn, layer_id, gdf)
        if not force:
            edits = [line for layer_id in layers for line in _edits_since_load(conn, layer_id)]
            if edits:
                raise Conflict(f"the sample city {code} was edited since it was loaded, and reloading would "
                               f"overwrite: {'; '.join(edits)}. Nothing was changed; reload with --force to overwrite")
        for layer_id in layers:
            _apply(conn, layer_id)
        rows = write_region_rasters(city, settings.data_dir)
        # One raster per city and dataset: an earlier one under another id (a population build) gives way.
        conn.execute(text("DELETE FROM rasters WHERE owner IS NULL AND city = :c AND dataset = ANY(:d) "
                          "AND id <> ALL(:ids)"),
                     {"c": code, "d": [r["dataset"] for r in rows], "ids": [r["id"] for r in rows]})
        store.write_rows(conn, "rasters", rows, key=("id",))
        conn.execute(text(f"ANALYZE {', '.join(layers)}"))
    import_sample_plan(engine, code, city.layers, city.itbx, force)
    with engine.connect() as conn:
        return {layer_id: conn.execute(text(f"SELECT count(*) FROM {layer_id} WHERE kabkota = :c"),
                                       {"c": code}).scalar() for layer_id in city.layers}
