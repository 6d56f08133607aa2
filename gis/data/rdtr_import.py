"""Bringing a city's official RDTR in and out: read the package as published (gis.data.rdtr_files), check it
(gis.analyses.rdtr_checks), and only when no error was found activate it as the city's new plan version
(gis.data.rdtr_plans); export writes the active plan back in the standard's field names."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Engine, text

from gis.analyses.rdtr_checks import check_plan, summary
from gis.core.errors import InvalidInput, NotFound
from gis.data import itbx as itbx_table
from gis.data import rdtr_plans
from gis.data.cities import City, held_cities
from gis.data.itbx_files import read_itbx, write_itbx_csv
from gis.data.rdtr_files import PackageError, read_package
from layers.rdtr import OVERLAYS, STANDARD_FIELDS, column

ZONE_COLUMNS = [column(f) for f in STANDARD_FIELDS] + [column(c) for c in OVERLAYS]
Progress = Callable[[str, float], None]


@dataclasses.dataclass
class ImportResult:
    city: str
    source: str
    problems: list[dict]
    zones: int = 0
    overlays: int = 0
    itbx_rows: int = 0
    version: int | None = None  # the new version, when one was written
    unchanged: bool = False  # the package is the city's active plan already: nothing written

    @property
    def ok(self) -> bool:
        return summary(self.problems)["ok"]

    def to_dict(self) -> dict:
        return {"city": self.city, "source": self.source, "ok": self.ok, "version": self.version,
                "unchanged": self.unchanged, "zones": self.zones, "overlays": self.overlays,
                "itbx_rows": self.itbx_rows, "summary": summary(self.problems), "problems": self.problems}


def city_of(engine: Engine, code: str) -> City:
    with engine.connect() as conn:
        for city in held_cities(conn):
            if city.code == code:
                return city
        raise NotFound(f"city {code[:40]!r} is not held here; held: "
                       + ", ".join(f"{c.code} {c.name}" for c in held_cities(conn)))


def import_plan(engine: Engine, path: Path, city_code: str, *, itbx_path: Path | None = None,
                field_map: dict | None = None, dry_run: bool = False, actor: str, max_bytes: int = 1 << 30,
                force: bool = False, progress: Progress = lambda step, fraction: None) -> ImportResult:
    """Read, check and (unless `dry_run` or an error was found) activate an RDTR package as the city's plan.
    Without `itbx_path` the plan keeps the city's current ITBX table. A package equal to the active plan writes
    nothing (unless `force`: then it becomes a new version again, replacing edits made since)."""
    city = city_of(engine, city_code)
    result = ImportResult(city=city.code, source=Path(path).name, problems=[])
    progress("membaca paket / reading the package", 0.0)
    try:
        package = read_package(path, field_map=field_map, max_bytes=max_bytes)
    except PackageError as exc:
        result.problems.append(exc.problem)
        return result
    with engine.connect() as conn:
        if itbx_path is not None:
            rules, problems = read_itbx(itbx_path)
            result.problems += problems
        else:
            rules = itbx_table.read(conn, city.code)
        boundary = shapely.from_wkb(bytes(conn.execute(text("SELECT ST_AsBinary(geom) FROM kota WHERE kode = :c"),
                                                       {"c": city.code}).scalar()))
    zones = package.zones.to_crs(4326)
    overlays = _overlays(package.overlays)
    result.zones, result.overlays, result.itbx_rows = len(zones), len(overlays), len(rules)

    def checking(step: str, fraction: float) -> None:
        progress(step, 0.1 + 0.8 * fraction)

    result.problems += check_plan(zones, metric_crs=city.metric_crs or 32647, city=boundary,
                                  itbx_codes=set(rules.kodszn) if len(rules) else None, progress=checking)
    if not result.ok or dry_run:
        progress("selesai / done", 1.0)
        return result
    live = _live_columns(zones)
    digest = content_hash(live, overlays, rules)
    with engine.begin() as conn:
        if rdtr_plans.active_hash(conn, city.code) == digest and not force:
            result.unchanged = True
        else:
            progress("menulis rencana / writing the plan", 0.9)
            result.version = rdtr_plans.activate(
                conn, city.code, live, overlays, rules, actor=actor, source=result.source, content_hash=digest,
                report=summary(result.problems))
    progress("selesai / done", 1.0)
    return result


def _live_columns(zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The zones with the live table's columns (every standard column, absent ones empty)."""
    out = zones.reindex(columns=[*ZONE_COLUMNS, "geometry"]).set_geometry("geometry", crs=4326)
    out["luasha"] = pd.to_numeric(out["luasha"], errors="coerce")
    for name in ZONE_COLUMNS:
        if name != "luasha":
            out[name] = out[name].astype(object).where(out[name].notna(), None)
            out[name] = [None if v is None else str(v).strip() or None for v in out[name]]
    out["geometry"] = [shapely.make_valid(g) if not g.is_valid else g for g in out.geometry]
    out["geometry"] = [g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon(
        [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]) for g in out.geometry]
    return out


def _overlays(layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    frames = [gdf.to_crs(4326)[["kode", "namobj", "geometry"]] for gdf in layers.values() if len(gdf)]
    if not frames:
        return gpd.GeoDataFrame({"kode": [], "namobj": []}, geometry=[], crs=4326)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)


def content_hash(zones: gpd.GeoDataFrame, overlays: gpd.GeoDataFrame, rules: pd.DataFrame) -> str:
    """The same plan gives the same hash (feature order and coordinates' float noise below 1e-9 aside)."""
    digest = hashlib.sha256()
    for gdf in (zones, overlays):
        rows = sorted(json.dumps([_plain(r[c]) for c in gdf.columns if c != "geometry"], default=str)
                      + shapely.to_wkt(r.geometry, rounding_precision=9) for _, r in gdf.iterrows())
        digest.update("\n".join(rows).encode())
    rule_rows = sorted(json.dumps([_plain(v) for v in r], default=str)
                       for r in rules[list(itbx_table.COLUMNS)].itertuples(index=False))
    digest.update("\n".join(rule_rows).encode())
    return digest.hexdigest()


def _plain(value):
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def export_plan(engine: Engine, city_code: str, out: Path, version: int | None = None) -> dict:
    """Write the city's active plan (or a kept version) in the standard's field names: a GeoPackage with the
    zones and one layer per overlay code, or a Shapefile set (overlays as `<name>_<CODE>.shp`), and the ITBX
    table in the long form next to it (`<name>_itbx.csv`). Returns what was written."""
    out = Path(out)
    if out.suffix.lower() not in (".gpkg", ".shp"):
        raise InvalidInput(f"export to a .gpkg or .shp file, not {out.name!r}")
    city = city_of(engine, city_code)
    with engine.connect() as conn:
        plan = rdtr_plans.plan_id(conn, city.code, version)
        zones, overlays = (rdtr_plans.kept_features(conn, plan, layer) for layer in rdtr_plans.LAYERS)
        rules = pd.DataFrame(conn.execute(text("SELECT itbx FROM rdtr_plans WHERE id = :p"), {"p": plan}).scalar(),
                             columns=list(itbx_table.COLUMNS))
    if zones.empty:
        raise NotFound(f"city {city.code} has no zones in that plan")
    standard = zones.reindex(columns=[*ZONE_COLUMNS, "geometry"]).set_geometry("geometry", crs=4326)
    # every standard attribute (empty where the plan has none), and the overlay flags the plan carries
    present = [c for c in ZONE_COLUMNS if c in zones.columns or c.upper() in STANDARD_FIELDS]
    standard = standard[[*present, "geometry"]].rename(columns={c: c.upper() for c in present})
    out.parent.mkdir(parents=True, exist_ok=True)
    written = {"zones": len(standard), "overlays": {}, "itbx_rows": len(rules)}
    if out.suffix.lower() == ".gpkg":
        out.unlink(missing_ok=True)
        standard.to_file(out, layer=out.stem, driver="GPKG")
        for code, part in overlays.groupby("kode") if len(overlays) else ():
            part[["kode", "namobj", "geometry"]].rename(columns=str.upper).rename(columns={"GEOMETRY": "geometry"}) \
                .set_geometry("geometry").to_file(out, layer=code, driver="GPKG")
            written["overlays"][code] = len(part)
    else:
        standard.to_file(out, driver="ESRI Shapefile", encoding="utf-8")
        for code, part in overlays.groupby("kode") if len(overlays) else ():
            part[["kode", "namobj", "geometry"]].rename(columns=str.upper).rename(columns={"GEOMETRY": "geometry"}) \
                .set_geometry("geometry").to_file(out.with_name(f"{out.stem}_{code}.shp"), driver="ESRI Shapefile",
                                                  encoding="utf-8")
            written["overlays"][code] = len(part)
    itbx_path = out.with_name(f"{out.stem}_itbx.csv")
    write_itbx_csv(rules, itbx_path)
    written["itbx"] = str(itbx_path)
    return written
