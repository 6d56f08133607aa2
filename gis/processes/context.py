"""What every process gets: the database, settings and whether the caller sees private fields, plus the input
helpers the processes share (a bad input names itself)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely
from sqlalchemy import Engine, text

from gis.analyses.grid import Raster
from gis.core.cog import cog_from_file
from gis.core.db import make_engine
from gis.core.errors import InvalidInput, OutsideCity
from gis.core.settings import Settings
from gis.data import store
from gis.data.auth import Principal
from gis.data.cities import City, held_cities
from gis.data.registry import find_layer

_engines: dict[str, Engine] = {}  # one engine per database in each worker process


def _engine_for(settings: Settings) -> Engine:
    engine = _engines.get(settings.sqlalchemy_url)
    if engine is None:
        engine = _engines[settings.sqlalchemy_url] = make_engine(settings, pool_size=2)
    return engine


@dataclass
class Context:
    """`owner` and `job_id` name who ran the analysis and the job it runs in: result rasters belong to them.
    A context pickles without its engine (an analysis runs in a worker process, which opens its own)."""

    engine: Engine
    settings: Settings
    include_private: bool
    owner: str | None = None
    job_id: str | None = None
    who: Principal | None = None  # the caller, for rules finer than include_private (programmes by kecamatan)

    def __reduce__(self):
        return _rebuild, (self.settings, self.include_private, self.owner, self.job_id, self.who)

    def layer(self, layer_id: str, cities: list[City] | None = None, *, near_m: float | None = None,
              intersecting: bool = False, touching=None) -> gpd.GeoDataFrame:
        """A layer (EPSG:4326), whole or within the cities: their own rows (`kabkota`), or, across city borders,
        every row intersecting them or within `near_m` metres of them (a park just across the border). With
        `touching` (a lon/lat geometry), only the rows intersecting it (a site's zones, through the index)."""
        if cities is None:
            with self.engine.connect() as conn:
                return store.read_layer(conn, layer_id, self.include_private).rename_geometry("geometry")
        params = {"codes": [c.code for c in cities]}
        if near_m is not None:
            # the bounding-box test first (index), then the exact distance; 1 degree >= 100 km at these latitudes
            params.update(m=near_m, deg=near_m / 100_000)
            where = "t.geom && ST_Expand(a.g, :deg) AND ST_DWithin(t.geom::geography, a.g::geography, :m)"
        elif intersecting:
            where = "ST_Intersects(t.geom, a.g)"
        else:
            where = "t.kabkota = ANY(CAST(:codes AS text[]))"
        if touching is not None:
            params["touching"] = shapely.to_wkb(touching)
            where += " AND ST_Intersects(t.geom, ST_GeomFromWKB(:touching, 4326))"
        with self.engine.connect() as conn:
            layer = find_layer(conn, layer_id)
            fields = layer.fields if self.include_private else layer.public_fields
            cols = ", ".join(f"t.{name}" for name in ["id", *(f.name for f in fields), "kabkota", "geom"])
            gdf = gpd.read_postgis(text(
                f"WITH a AS (SELECT ST_Union(geom) AS g FROM kota WHERE kode = ANY(CAST(:codes AS text[]))) "
                f"SELECT {cols} FROM {layer.id} t, a WHERE {where} ORDER BY t.id"), conn, geom_col="geom",
                params=params)
        if gdf.crs is None:  # no row found: an empty frame, still in lon/lat
            gdf = gdf.set_crs(4326)
        return gdf.rename_geometry("geometry")

    def cities(self, codes: tuple[str, ...] | None) -> list[City]:
        """The cities a run covers: those named (checked against the cities held), else the only city held. With
        several held and none named, the run is refused naming the choices rather than guessing."""
        with self.engine.connect() as conn:
            held = held_cities(conn)
        by_code = {c.code: c for c in held}
        choices = ", ".join(f"{c.code} ({c.name})" for c in held)
        if not held:
            raise InvalidInput("no city is held yet: adopt one with `petakota city add` (or load the sample)")
        if not codes:
            if len(held) == 1:
                return held
            raise InvalidInput(f"several cities are held: input 'city' must name one (or a list for a region-wide "
                               f"run); choices: {choices}")
        unknown = [c for c in codes if c not in by_code]
        if unknown:
            raise InvalidInput(f"input 'city': unknown city {', '.join(repr(c[:20]) for c in unknown[:5])}; "
                               f"choices: {choices}")
        return [by_code[c] for c in codes]

    def metric_crs(self, city: City) -> int:
        """The city's metric CRS (its `kota` row), the settings' as the fallback."""
        return city.metric_crs or self.settings.city.metric_crs

    def region_crs(self, cities: list[City]) -> int:
        """One metric CRS for a region-wide grid: the one most of the cities use (the first city's on a tie)."""
        crss = [self.metric_crs(c) for c in cities]
        return max(crss, key=lambda crs: (crss.count(crs), -crss.index(crs)))

    def city_raster(self, dataset: str, city: City) -> Raster | None:
        """The city's raster of a dataset (population, slope, landcover_2024...), or None when it has none. A
        registry row without a city is the default city's (settings), one without a dataset holds its id's."""
        path = self.city_raster_path(dataset, city)
        return None if path is None else Raster.open(path)

    def city_raster_path(self, dataset: str, city: City) -> Path | None:
        """The file of the city's raster of a dataset (what city_raster reads), or None when it has none."""
        with self.engine.connect() as conn:
            path = conn.execute(text(
                "SELECT path FROM rasters WHERE owner IS NULL AND coalesce(dataset, id) = :d "
                "AND coalesce(city, :default) = :c ORDER BY city IS NULL, id LIMIT 1"),
                {"d": dataset, "c": city.code, "default": self.settings.city.kode}).scalar()
        return None if path is None else self.settings.data_dir / path

    def raster_of(self, name: str, city: City) -> Raster:
        """A raster input: the city's raster of that dataset, else the registry entry of that id (a result of the
        caller's own run, say); refused naming the city when there is neither."""
        return Raster.open(self.raster_path_of(name, city))

    def raster_path_of(self, name: str, city: City) -> Path:
        """The file of a raster input (what raster_of reads), for a run that reads it block by block."""
        found = self.city_raster_path(name, city)
        if found is not None:
            return found
        with self.engine.connect() as conn:
            path = conn.execute(text("SELECT path FROM rasters WHERE id = :id AND (owner IS NULL OR owner = :o)"),
                                {"id": name, "o": self.owner}).scalar()
        if path is None:
            raise InvalidInput(f"raster {name!r} is not in the registry, nor a raster of {city.name} ({city.code}) "
                               "(see /rasters)")
        return self.settings.data_dir / path

    def raster(self, raster_id: str) -> Raster:
        with self.engine.connect() as conn:
            path = conn.execute(text("SELECT path FROM rasters WHERE id = :id AND (owner IS NULL OR owner = :o)"),
                                {"id": raster_id, "o": self.owner}).scalar()
        if path is None:
            raise InvalidInput(f"raster {raster_id!r} is not in the registry (see /rasters)")
        return Raster.open(self.settings.data_dir / path)

    def register_raster(self, raster_id: str, raster: Raster | Path, title_id: str, title_en: str, units: str,
                        kind: str) -> dict:
        """Write a result raster as a COG and list it in the registry, so /rasters serves its tiles to the owner.
        In a job, the id is made unique to the job: two callers with the same inputs each own their raster."""
        if self.job_id:
            raster_id = f"{raster_id}_{self.job_id[:12]}"
        rel = f"rasters/results/{raster_id}.tif"
        # Excluded cells of a score surface are NaN: declare it as nodata so readers mask them.
        path = self.settings.data_dir / rel
        if isinstance(raster, Path):  # a surface written block by block (a region-scale run): made a COG here
            cog_from_file(raster, path)
        else:
            raster.write_cog(path, nodata=float("nan") if raster.array.dtype.kind == "f" else None)
        try:
            with self.engine.begin() as conn:
                store.write_rows(conn, "rasters", [{"id": raster_id, "title_id": title_id, "title_en": title_en,
                                                    "path": rel, "units": units, "kind": kind, "illustrative": True,
                                                    "source": "PetaKota analysis on illustrative inputs",
                                                    "acquired": None, "owner": self.owner, "job_id": self.job_id}],
                                 key=("id",))
        except Exception:  # e.g. its job was deleted meanwhile: no file without its registry row
            path.unlink(missing_ok=True)
            raise
        return {"id": raster_id, "tiles": f"/rasters/{raster_id}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png"}


def _rebuild(settings: Settings, include_private: bool, owner: str | None, job_id: str | None,
             who: Principal | None = None) -> Context:
    return Context(_engine_for(settings), settings, include_private, owner, job_id, who)


def _inside_city(ctx: Context, geom, name: str, cities: list[City]):
    area = ctx.layer("kota", cities).union_all()
    if not geom.intersects(area):
        raise OutsideCity(f"input '{name}' lies outside the city ({', '.join(c.name for c in cities)})")
    return area


def city_entries(cities: list[City]) -> list[dict]:
    """The `cities` of a result: who each city is, before its figures."""
    return [{"code": c.code, "name": c.name, "kind": c.kind} for c in cities]


def _features(gdf: gpd.GeoDataFrame) -> dict:
    return json.loads(gdf.to_json(drop_id=True, na="null"))
