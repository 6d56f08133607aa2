"""The PMTiles archive of a static embed, kept up to date incrementally: the archive's metadata carries a manifest
(per layer the changes of `feature_history` it includes and a digest of the layer's declaration, and the tile
set: area, zooms, cities, feature cap), so a later export re-renders only the tiles the changes since then touch -
at every zoom, over the feature's old and new extent - and copies every other tile from the previous archive.

An export draws every tile in one snapshot of the database (REPEATABLE READ) and records that snapshot
(`pg_current_snapshot()`): the changes it includes are exactly those of the transactions visible in it. The next
export applies the history rows visible in its own snapshot and not in the recorded one, so a transaction still
running during an export (on any database of the cluster) is neither missed nor waited for. A change applied
twice only re-renders a tile again, to the same result."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import zxy_to_tileid
from shapely.geometry import shape
from sqlalchemy import Connection, Engine, text

from gis.core.errors import InvalidInput
from gis.data.events import NOT_ATTACHMENT_SQL
from gis.tiles.pmtiles import Bounds, archive_header, archive_metadata, render_tiles, tiles_to_export, write_archive
from gis.tiles.vector import BUFFER, EXTENT
from layers.schema import Layer
from layers.tables import CITY_COLUMN

MANIFEST_KEY = "petakota_embed"
MANIFEST_VERSION = 1
WORLD = 20037508.342789244  # half the Web Mercator extent, metres (ST_TileEnvelope's bounds)
R = 6378137.0
# History keeps coordinates as GeoJSON with 9 decimals (under 0.1 mm): a centimetre of slack keeps a feature
# lying exactly on a tile's buffered edge in that tile's set.
PAD_M = 0.01


@dataclass(frozen=True)
class TileSet:
    """What an archive covers: its area (lon/lat), zooms, the cities whose features it holds, the feature cap."""

    bounds: Bounds
    minzoom: int
    maxzoom: int
    cities: tuple[str, ...]
    cap: int

    def to_dict(self) -> dict:
        return {"bounds": [round(v, 9) for v in self.bounds], "minzoom": self.minzoom, "maxzoom": self.maxzoom,
                "cities": list(self.cities), "cap": self.cap}


@dataclass(frozen=True)
class ExportResult:
    kind: str  # "full", "incremental" or "unchanged"
    reason: str  # why a full rebuild, or what the update did
    changes: int  # history rows applied (incremental)
    rendered: int  # tiles rendered
    copied: int  # tiles copied from the previous archive
    tiles: int  # non-empty tiles in the archive
    redrawn: frozenset[tuple[int, int, int]] = frozenset()  # (z, x, y) of the tiles rendered again (incremental)


def declaration_digest(layer: Layer) -> str:
    """Anything of a layer's declaration that may change its tiles (fields and their publicity, geometry type,
    small-feature drawing) changes this digest."""
    doc = {**layer.to_dict(include_private=True), "min_zoom": layer.min_zoom}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_manifest(path: Path) -> dict | None:
    """The manifest of the archive at `path`; None for an archive written before archives carried one.
    Raises InvalidInput when the file is not a readable PMTiles archive."""
    try:
        with open(path, "rb") as f:
            manifest = Reader(MmapSource(f)).metadata().get(MANIFEST_KEY)
    except Exception as exc:  # whatever the damage (truncated, another format), the file cannot be updated
        raise InvalidInput(f"{path} is not a readable PMTiles archive ({type(exc).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("version") != MANIFEST_VERSION:
        return None
    entries = manifest.get("layers")
    keys = {"id", "declaration", "includes", "features"}
    if not isinstance(entries, list) or not all(isinstance(e, dict) and keys <= set(e) for e in entries):
        raise InvalidInput(f"the manifest of {path} is damaged (its layers are not all recorded)")
    return manifest


@dataclass(frozen=True)
class DatabaseState:
    """What an export saw: its snapshot, the schema revision, each layer's number of features."""

    snapshot: str
    schema: str
    counts: dict[str, int]


def make_manifest(layers: list[Layer], tileset: TileSet, state: DatabaseState, tiles: int) -> dict:
    return {"version": MANIFEST_VERSION, "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "schema": state.schema, "tileset": tileset.to_dict(), "tiles": tiles,
            "layers": [{"id": layer.id, "declaration": declaration_digest(layer), "includes": state.snapshot,
                        "features": state.counts[layer.id]} for layer in layers]}


def database_state(conn: Connection, layers: list[Layer]) -> DatabaseState:
    snapshot = conn.execute(text("SELECT pg_current_snapshot()::text")).scalar_one()
    schema = conn.execute(text("SELECT string_agg(version_num, ',') FROM alembic_version")).scalar_one() or ""
    counts = conn.execute(text(" UNION ALL ".join(
        f"SELECT '{layer.id}' AS layer, count(*) AS n FROM {layer.id}" for layer in layers))).all()
    return DatabaseState(snapshot, schema, {layer_id: n for layer_id, n in counts})


def rebuild_reason(manifest: dict | None, layers: list[Layer], tileset: TileSet) -> str | None:
    """Why the archive cannot be updated tile by tile (None: it can)."""
    if manifest is None:
        return "the archive was written by an older version, without a manifest of what it holds"
    if manifest.get("tileset") != tileset.to_dict():
        return "the area, zooms, cities or feature cap differ from the previous export's"
    before = [entry["id"] for entry in manifest["layers"]]
    now = [layer.id for layer in layers]
    if before != now:
        added = [i for i in now if i not in before]
        removed = [i for i in before if i not in now]
        what = "; ".join(p for p in (f"now public: {', '.join(added)}" if added else "",
                                     f"no longer public: {', '.join(removed)}" if removed else "") if p)
        return f"the map's public layers changed ({what or 'their order'})"
    for entry, layer in zip(manifest["layers"], layers, strict=True):
        if entry["declaration"] != declaration_digest(layer):
            return f"the declaration of layer {layer.id} changed (fields, their publicity or how it is drawn)"
    return None


def mercator_box(geojson: dict) -> tuple[float, float, float, float]:
    """The Web Mercator bbox of a lon/lat geometry: x depends on lon only and y on lat only, both increasing,
    so the corners of the lon/lat bbox are the corners of the projected one."""
    west, south, east, north = shape(geojson).bounds

    def y(lat: float) -> float:
        return R * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    return R * math.radians(west), y(south), R * math.radians(east), y(north)


def tiles_touched(box: tuple[float, float, float, float], z: int) -> set[tuple[int, int, int]]:
    """Tiles of zoom `z` whose features `box` (Web Mercator) can reach: those whose envelope, grown by the tile
    buffer (the `&&` test of `render_tile`), meets the box."""
    size = 2 * WORLD / 2**z
    margin = size * BUFFER / EXTENT + PAD_M
    last = 2**z - 1

    def span(lo: float, hi: float) -> range:
        first = max(0, math.ceil((lo - margin) / size) - 1)
        return range(first, min(last, math.floor((hi + margin) / size)) + 1)

    minx, miny, maxx, maxy = box
    columns = span(minx + WORLD, maxx + WORLD)
    rows = span(WORLD - maxy, WORLD - miny)  # tile rows count down from the north edge
    return {(z, x, y) for x in columns for y in rows}


def _feature_view(row: dict | None, keys: tuple[str, ...]) -> tuple | None:
    return None if row is None else tuple(json.dumps(row.get(k), sort_keys=True) for k in keys)


def changed_boxes(conn: Connection, layers: list[Layer], included: dict[str, str],
                  cities: tuple[str, ...]) -> tuple[list[tuple[float, float, float, float]], int, dict[str, int]]:
    """Web Mercator boxes of what changed in the tiles since each layer's `included` snapshot (old and new extent
    of each feature created, updated or deleted), the number of history rows read and per layer the features
    they added (created less deleted). A change to a private field alone, or to a feature of a city the archive
    does not hold, changes no tile."""
    by_id = {layer.id: layer for layer in layers}
    # a transaction below a snapshot's xmin is visible in it: the (txid, id) index skips the history before it
    rows = conn.execute(text(
        "SELECT h.layer, h.before, h.after FROM feature_history h "
        "JOIN unnest(CAST(:layers AS text[]), CAST(:snapshots AS pg_snapshot[])) AS p(layer, snap) "
        "ON h.layer = p.layer WHERE h.txid >= pg_snapshot_xmin(p.snap)::text::bigint "
        "AND NOT pg_visible_in_snapshot(h.txid::text::xid8, p.snap) "
        f"AND {NOT_ATTACHMENT_SQL} ORDER BY h.txid, h.id"),
        {"layers": list(included), "snapshots": list(included.values())}).mappings()
    boxes, read, added = [], 0, dict.fromkeys(included, 0)
    for row in rows:
        read += 1
        layer, before, after = by_id[row["layer"]], row["before"], row["after"]
        added[layer.id] += (after is not None) - (before is not None)
        if cities and not {(before or {}).get(CITY_COLUMN), (after or {}).get(CITY_COLUMN)} & set(cities):
            continue
        keys = ("geom", CITY_COLUMN, *(f.name for f in layer.public_fields))
        if before is not None and after is not None and _feature_view(before, keys) == _feature_view(after, keys):
            continue
        boxes += [mercator_box(state["geom"]) for state in (before, after) if state and state.get("geom")]
    return boxes, read, added


def unexplained(manifest: dict, state: DatabaseState, added: dict[str, int]) -> str | None:
    """Why the history does not account for the database as it is (None: it does): a migration since the
    export, or a layer whose features were removed or loaded with no history (TRUNCATE, triggers switched off)."""
    if manifest.get("schema") != state.schema:
        return f"the database was migrated since the previous export (schema {manifest.get('schema')} -> " \
               f"{state.schema})"
    for entry in manifest["layers"]:
        expected = entry["features"] + added[entry["id"]]
        if state.counts[entry["id"]] != expected:
            return (f"layer {entry['id']} holds {state.counts[entry['id']]} features where its history accounts "
                    f"for {expected}: it was changed without history (a TRUNCATE or a load with triggers off)")
    return None


def export_embed_archive(engine: Engine, layers: list[Layer], out: Path, tileset: TileSet, *, update: bool,
                         progress: Callable[[int], None] = lambda n: None,
                         total: Callable[[int], None] = lambda n: None) -> ExportResult:
    """Write the embed's archive at `out` with its manifest. With `update`, from the previous archive there: only
    the tiles touched by the changes since it was written are rendered again (none changed: nothing is written);
    a full rebuild when it cannot be updated, saying why. `total` learns how many tiles will be rendered."""
    reason = "a full export was asked for"
    manifest = None
    if update:
        if not out.exists():
            reason = f"there is no previous archive at {out}"
        else:
            try:
                manifest = read_manifest(out)
                reason = rebuild_reason(manifest, layers, tileset)
            except InvalidInput as exc:
                reason = exc.detail
    every_tile = tiles_to_export(tileset.bounds, tileset.minzoom, tileset.maxzoom)
    header = archive_header(tileset.bounds, tileset.minzoom, tileset.maxzoom)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        state = database_state(conn, layers)  # the first statement: every tile is drawn in this snapshot
        if reason is None:
            included = {e["id"]: e["includes"] for e in manifest["layers"]}
            boxes, read, added = changed_boxes(conn, layers, included, tileset.cities)
            reason = unexplained(manifest, state, added)
        if reason is not None:
            total(len(every_tile))
            rendered = render_tiles(conn, layers, every_tile, False, tileset.cap, tileset.cities, progress)
            return _write(out, rendered, header, layers, tileset, state, "full", reason, 0, len(every_tile), 0)
        touched = {t for box in boxes for z in range(tileset.minzoom, tileset.maxzoom + 1)
                   for t in tiles_touched(box, z)}
        todo = [t for t in every_tile if (t.z, t.x, t.y) in touched]
        if not todo:
            return ExportResult("unchanged", f"{read} change(s) since the previous export, none touching its "
                                f"tiles: nothing rewritten" if read else "nothing changed since the previous "
                                "export: nothing rewritten", read, 0, 0, manifest.get("tiles", 0))
        total(len(todo))
        # a city's archive is a few megabytes: the previous tiles are read whole, then the file is free to replace
        with open(out, "rb") as f:
            previous = {zxy_to_tileid(*zxy): data for zxy, data in all_tiles(MmapSource(f))}
        fresh = dict(render_tiles(conn, layers, todo, False, tileset.cap, tileset.cities, progress))
        redone = {zxy_to_tileid(t.z, t.x, t.y) for t in todo}
        tiles = _merged((zxy_to_tileid(t.z, t.x, t.y) for t in every_tile), redone, fresh, previous)
        result = _write(out, tiles, header, layers, tileset, state, "incremental",
                        f"{read} change(s) since the previous export", read, len(todo), len(set(previous) - redone))
        return replace(result, redrawn=frozenset((t.z, t.x, t.y) for t in todo))


def _merged(tile_ids, redone: set[int], fresh: dict[int, bytes], previous: dict[int, bytes]):
    """The new archive's tiles in tile id order: a re-rendered tile (gone if now empty), else the previous one."""
    for tid in tile_ids:
        data = fresh.get(tid) if tid in redone else previous.get(tid)
        if data is not None:
            yield tid, data


def _write(out: Path, tiles, header: dict, layers: list[Layer], tileset: TileSet, state: DatabaseState,
           kind: str, reason: str, read: int, rendered: int, copied: int) -> ExportResult:
    metadata = archive_metadata(layers, tileset.minzoom, tileset.maxzoom, False)

    def with_manifest(written: int) -> dict:
        return {**metadata, MANIFEST_KEY: make_manifest(layers, tileset, state, written)}

    written = write_archive(out, tiles, header, with_manifest)
    return ExportResult(kind, reason, read, rendered, copied, written)
