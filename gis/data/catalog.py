"""The catalog service: the live layer catalog (declared and runtime layers), what the database holds for each
layer (exact feature count, extent) and the city's bounds, cached per process. The layer list is re-read after
a few seconds, so layers added by another process appear without a restart; statistics stay until the layer
changes (the write hooks and the NOTIFY listener call `invalidate`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import anyio.to_thread
from sqlalchemy import Connection, Engine, text

from gis.core.errors import InvalidInput, NotFound
from gis.core.scope import Scope, parse_cities
from gis.data.auth import Principal
from gis.data.changes import EVERYTHING
from gis.data.cities import City, held_cities
from gis.data.counting import within_budget
from gis.data.features import city_clause
from gis.data.registry import load_catalog
from layers.schema import Layer

Bounds = tuple[float, float, float, float]  # west, south, east, north in lon/lat
WORLD: Bounds = (-180.0, -85.051129, 180.0, 85.051129)  # what Web Mercator can show
CITY_LAYER = "kota"
MAX_LAYERS_PER_REQUEST = 30


@dataclass(frozen=True)
class LayerStats:
    feature_count: int | None  # exact; None when counting took longer than the budget
    bbox: Bounds | None  # None for an empty layer

    def to_dict(self) -> dict:
        out: dict = {"bbox": list(self.bbox) if self.bbox else None}
        if self.feature_count is not None:
            out["feature_count"] = self.feature_count
        return out


def layer_stats(conn: Connection, layer: Layer, budget_ms: int, cities: Scope = ()) -> LayerStats:
    """Exact count and extent in one scan within the budget; past it, no count and PostGIS's estimated extent
    (from the planner statistics, slightly generous: fine for a bounding box, never used as a count). Scoped to
    `cities` when given (then past the budget, no count and the extent of the cities' boundaries)."""
    params: dict = {}
    scoped = city_clause(cities, params)
    where = f"WHERE {scoped}" if scoped else ""
    row = within_budget(conn, budget_ms, f"SELECT n, ST_XMin(e) x0, ST_YMin(e) y0, ST_XMax(e) x1, ST_YMax(e) y1 "
                                         f"FROM (SELECT count(*) n, ST_Extent(geom) e FROM {layer.id} {where}) s",
                        params)
    if row is None and cities:
        row = conn.execute(text(f"SELECT NULL AS n, ST_XMin(e) x0, ST_YMin(e) y0, ST_XMax(e) x1, ST_YMax(e) y1 "
                                f"FROM (SELECT ST_Extent(geom) e FROM {CITY_LAYER} {where}) s"), params).one()
    elif row is None:
        row = conn.execute(text("SELECT NULL AS n, ST_XMin(e) x0, ST_YMin(e) y0, ST_XMax(e) x1, ST_YMax(e) y1 "
                                "FROM (SELECT ST_EstimatedExtent(:t, 'geom')::geometry e) s"), {"t": layer.id}).one()
    bbox = None if row.x0 is None else (row.x0, row.y0, row.x1, row.y1)
    return LayerStats(row.n, bbox)


def city_bounds(conn: Connection) -> Bounds | None:
    """The city's extent (lon/lat) from the `kota` layer, None when no boundary is loaded."""
    row = conn.execute(text(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                            f"(SELECT ST_Extent(geom) e FROM {CITY_LAYER}) s")).one()
    return None if row[0] is None else tuple(row)


def union(boxes: Iterable[Bounds]) -> Bounds | None:
    boxes = list(boxes)
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


class CatalogService:
    def __init__(self, engine: Engine, *, ttl: float, count_budget_ms: int, stats_ttl: float = 300.0):
        self.engine = engine
        self.ttl = ttl
        self.count_budget_ms = count_budget_ms
        self.stats_ttl = stats_ttl  # a safety net only: edits reach `invalidate` at once
        self._catalog: tuple[float, dict[str, Layer]] | None = None
        self._cities: tuple[float, list[City]] | None = None
        self._stats: dict[tuple[str, Scope], tuple[float, LayerStats]] = {}
        self._generations: dict[str, int] = {}  # bumped by each change of a layer
        self._counts: dict[tuple[str, str], tuple[tuple[int, int], int]] = {}
        self._epoch = 0  # bumped when anything may have changed
        self._lock = threading.Lock()

    # --- the layers -------------------------------------------------------------------------------------------

    def fresh(self) -> bool:
        """Whether `layers()` answers from memory (no database, so an async route may call it directly)."""
        cached = self._catalog
        return cached is not None and time.monotonic() - cached[0] < self.ttl

    def layers(self) -> dict[str, Layer]:
        cached = self._catalog
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        with self.engine.connect() as conn:
            layers = load_catalog(conn)
        self._catalog = (time.monotonic(), layers)
        return layers

    def refresh(self) -> None:
        """Forget the layer list (a layer was just added here): the next lookup reads it again."""
        self._catalog = None

    def visible(self, who: Principal) -> list[Layer]:
        return [layer for layer in self.layers().values() if who.sees_layer(layer)]

    def layer(self, layer_id: str, who: Principal) -> Layer:
        layer = self.layers().get(layer_id)
        if layer is None or not who.sees_layer(layer):
            raise NotFound(f"no collection {layer_id[:100]!r}; see /collections")
        return layer

    def chosen(self, names: list[str] | None, who: Principal) -> list[Layer]:
        """The layers a request names (in its order, once each), or every visible layer when it names none."""
        if not names:
            return self.visible(who)
        if len(names) > MAX_LAYERS_PER_REQUEST:
            raise InvalidInput(f"at most {MAX_LAYERS_PER_REQUEST} collections per request")
        return [self.layer(name, who) for name in dict.fromkeys(names)]

    async def layer_async(self, layer_id: str, who: Principal) -> Layer:
        """`layer` for async routes: from memory when fresh, else on a worker thread."""
        if self.fresh():
            return self.layer(layer_id, who)
        return await anyio.to_thread.run_sync(self.layer, layer_id, who)

    async def chosen_async(self, names: list[str] | None, who: Principal) -> list[Layer]:
        if self.fresh():
            return self.chosen(names, who)
        return await anyio.to_thread.run_sync(self.chosen, names, who)

    # --- the cities held ----------------------------------------------------------------------------------------

    def cities(self) -> list[City]:
        """The kab/kota held (cached until the `kota` layer changes)."""
        cached = self._cities
        if cached is not None and time.monotonic() - cached[0] < self.stats_ttl:
            return cached[1]
        epoch = self._generation(CITY_LAYER)
        with self.engine.connect() as conn:
            cities = held_cities(conn)
        with self._lock:
            if self._generation(CITY_LAYER) == epoch:
                self._cities = (time.monotonic(), cities)
        return cities

    def city(self, code: str) -> City:
        for city in self.cities():
            if city.code == code:
                return city
        raise NotFound(f"no city {code[:20]!r} is held; see /cities")

    def scope(self, value: str | None) -> Scope:
        """`?city=` checked against the cities held: sorted codes, empty for every city."""
        if not value:
            return ()
        return parse_cities(value, {c.code: c.name for c in self.cities()})

    async def scope_async(self, value: str | None) -> Scope:
        """`scope` for async routes: from memory when the cities are cached, else on a worker thread."""
        cached = self._cities
        if not value or (cached is not None and time.monotonic() - cached[0] < self.stats_ttl):
            return self.scope(value)
        return await anyio.to_thread.run_sync(self.scope, value)

    # --- what the database holds --------------------------------------------------------------------------------

    def stats(self, layers: list[Layer], cities: Scope = ()) -> dict[str, LayerStats]:
        """layer id -> exact feature count (or none) and extent, within the cities when given."""
        now = time.monotonic()
        out, missing = {}, []
        for layer in layers:
            hit = self._stats.get((layer.id, cities))
            if hit and now - hit[0] < self.stats_ttl:
                out[layer.id] = hit[1]
            else:
                missing.append(layer)
        if missing:
            generations = {layer.id: self._generation(layer.id) for layer in missing}
            with self.engine.connect() as conn:
                for layer in missing:
                    out[layer.id] = layer_stats(conn, layer, self.count_budget_ms, cities)
            with self._lock:  # an edit while counting makes the result stale: give it, do not keep it
                if len(self._stats) > 10_000:
                    self._stats.clear()
                for layer in missing:
                    if self._generation(layer.id) == generations[layer.id]:
                        self._stats[(layer.id, cities)] = (now, out[layer.id])
        return out

    def counted(self, layer_id: str, key: str, count: Callable[[], int | None]) -> int | None:
        """An exact count of a query on a layer (numberMatched), kept until that layer next changes: paging
        through one filter (QGIS, a notebook) counts once. `count` may give None (over its time budget)."""
        generation = self._generation(layer_id)
        hit = self._counts.get((layer_id, key))
        if hit is not None and hit[0] == generation:
            return hit[1]
        value = count()
        if value is not None:
            with self._lock:
                if self._generation(layer_id) == generation:  # no change while counting
                    if len(self._counts) > 10_000:
                        self._counts.clear()
                    self._counts[(layer_id, key)] = (generation, value)
        return value

    def _generation(self, layer_id: str) -> tuple[int, int]:
        return self._epoch, self._generations.get(layer_id, 0)

    def city_bounds(self) -> Bounds | None:
        city = self.layers().get(CITY_LAYER)
        return self.stats([city])[CITY_LAYER].bbox if city else None

    def bounds(self, layers: list[Layer], cities: Scope = ()) -> Bounds:
        """Where these layers' features are (lon/lat), within the cities when given; the cities' (or all held
        cities') extent when they are empty, the world without a city."""
        stats = self.stats(layers, cities)
        found = union(s.bbox for s in stats.values() if s.bbox)
        if found:
            return found
        held = [c.bbox for c in self.cities() if not cities or c.code in cities]
        return union(held) or WORLD

    def invalidate(self, layer_id: str) -> None:
        """A layer changed (or, for EVERYTHING, anything may have): its statistics are computed again."""
        with self._lock:
            if layer_id == EVERYTHING:
                self._epoch += 1
                self._stats.clear()
                self._catalog = None
                self._cities = None
            else:
                self._generations[layer_id] = self._generations.get(layer_id, 0) + 1
                for key in [k for k in self._stats if k[0] == layer_id]:
                    del self._stats[key]
                if layer_id == CITY_LAYER:
                    self._cities = None
                if self._catalog and layer_id not in self._catalog[1]:
                    self._catalog = None  # a table we do not know yet: most likely a layer just added elsewhere
