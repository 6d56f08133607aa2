"""The static embed's archive brought up to date tile by tile: after edits made in the database, the updated archive
holds the same tiles as a full export made afterwards, only the tiles over the edits (computed here from the
edited geometries with the slippy-map formulas) were drawn again, moved and deleted features leave their old
place, nothing is rewritten when nothing changed, and a failed run leaves the previous archive as it was."""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import replace
from pathlib import Path

import mapbox_vector_tile
import pytest
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import zxy_to_tileid
from pmtiles.writer import Writer
from shapely import affinity, wkb
from sqlalchemy import text

from gis.core import db
from gis.data.cities import held_cities
from gis.data.registry import load_catalog
from gis.data.sample import load_sample
from gis.render.webmap import public_map_for
from gis.tiles.embed_archive import TileSet, export_embed_archive
from gis.tiles.pmtiles import export_pmtiles
from tests.cli_inprocess import run_cli
from tests.conftest import scratch_settings

MINZOOM, MAXZOOM = 12, 15
BUFFER_TILES = 64 / 4096  # the tile buffer of the vector tiles, as a fraction of a tile


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """A sample city of this module's own: its edits move, delete and hide features other modules count."""
    s = scratch_settings("embed", tmp_path_factory.mktemp("embed"))
    db.upgrade(s)
    return s


@pytest.fixture(scope="module")
def engine(settings):
    eng = db.make_engine(settings, pool_size=2)
    load_sample(eng, settings)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def embed(engine, settings):
    """(public layers of the Binjai map, its tile set)."""
    with engine.connect() as conn:
        catalog, cities = load_catalog(conn), held_cities(conn)
    mapdef, view = public_map_for(settings, cities, "binjai")
    layers = [catalog[i] for i in mapdef.layers if i in catalog and catalog[i].public]
    return layers, TileSet(view.bbox, MINZOOM, MAXZOOM, tuple(view.scope), settings.tile_feature_cap)


# --- tile arithmetic, independent of the code under test ------------------------------------------------------

def tile_x(lon: float, z: int) -> float:
    return (lon + 180) / 360 * 2**z


def tile_y(lat: float, z: int) -> float:
    return (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z


def tiles_over(bounds, zooms, buffer: float = 0.0) -> set[tuple[int, int, int]]:
    """Tiles whose extent, grown by `buffer` tiles, meets the lon/lat `bounds`."""
    west, south, east, north = bounds
    out = set()
    for z in zooms:
        xs = range(math.ceil(tile_x(west, z) - 1 - buffer), math.floor(tile_x(east, z) + buffer) + 1)
        ys = range(math.ceil(tile_y(north, z) - 1 - buffer), math.floor(tile_y(south, z) + buffer) + 1)
        out |= {(z, x, y) for x in xs for y in ys}
    return out


def tile_set(tileset: TileSet) -> set[tuple[int, int, int]]:
    west, south, east, north = tileset.bounds
    zooms = range(tileset.minzoom, tileset.maxzoom + 1)
    return {(z, x, y) for z in zooms for x in range(int(tile_x(west, z)), int(tile_x(east, z)) + 1)
            for y in range(int(tile_y(north, z)), int(tile_y(south, z)) + 1)}


def expected_redrawn(tileset: TileSet, *geometries) -> set[tuple[int, int, int]]:
    zooms = range(tileset.minzoom, tileset.maxzoom + 1)
    touched = set().union(*(tiles_over(g.bounds, zooms, BUFFER_TILES) for g in geometries))
    return touched & tile_set(tileset)


# --- reading archives ------------------------------------------------------------------------------------------

def raw_tiles(path: Path) -> dict[tuple[int, int, int], bytes]:
    with open(path, "rb") as f:
        return dict(all_tiles(MmapSource(f)))


def decoded(data: bytes) -> dict[str, list]:
    """A tile's features per layer, in a canonical order (a full export may list a tile's features in another
    order than the one it was first drawn in)."""
    tile = mapbox_vector_tile.decode(gzip.decompress(data))
    return {name: sorted(json.dumps([f["id"], f["properties"], f["geometry"]], sort_keys=True)
                         for f in layer["features"]) for name, layer in tile.items()}


def assert_same_tiles(updated: Path, full: Path) -> None:
    a, b = raw_tiles(updated), raw_tiles(full)
    assert set(a) == set(b)
    different = [zxy for zxy in a if decoded(a[zxy]) != decoded(b[zxy])]
    assert not different, f"{len(different)} tiles differ from a full export, e.g. {different[:3]}"


def ids_in(data: bytes, layer: str) -> set[int]:
    return {f["id"] for f in mapbox_vector_tile.decode(gzip.decompress(data)).get(layer, {"features": []})["features"]}


def feature_geometry(engine, layer: str, fid: int):
    with engine.connect() as conn:
        return wkb.loads(bytes(conn.execute(text(f"SELECT ST_AsBinary(geom) FROM {layer} WHERE id = :i"),
                                            {"i": fid}).scalar_one()))


def pick(engine, layer: str) -> int:
    """A feature of Binjai in the middle of the id range (not the one another test edits)."""
    with engine.connect() as conn:
        ids = conn.execute(text(f"SELECT id FROM {layer} WHERE kabkota = '12.75' ORDER BY id")).scalars().all()
    return ids[len(ids) // 2]


def export(engine, embed, out: Path, update: bool, **kw):
    layers, tileset = embed
    return export_embed_archive(engine, layers, out, tileset, update=update, **kw)


# --- the tests ---------------------------------------------------------------------------------------------------

def test_a_move_redraws_only_the_tiles_over_the_old_and_new_place_and_matches_a_full_export(engine, embed, tmp_path):
    archive = tmp_path / "site" / "binjai.pmtiles"
    archive.parent.mkdir()
    first = export(engine, embed, archive, update=False)
    assert first.kind == "full" and first.tiles > 0
    before = raw_tiles(archive)
    park = pick(engine, "parks")
    old = feature_geometry(engine, "parks", park)
    # about 1.5 km towards the middle of the city: more than a deepest-zoom tile, so some tiles had it only before
    west, south, east, north = embed[1].bounds
    new = affinity.translate(old, math.copysign(0.014, (west + east) / 2 - old.centroid.x), 0)
    with engine.begin() as conn:
        conn.execute(text("UPDATE parks SET geom = ST_GeomFromText(:g, 4326), nama = 'Taman Pindahan' WHERE id = :i"),
                     {"g": new.wkt, "i": park})

    result = export(engine, embed, archive, update=True)
    expected = expected_redrawn(embed[1], old, new)
    assert result.kind == "incremental" and result.changes == 1
    assert result.redrawn == expected and result.rendered == len(expected)
    assert 0 < len(expected) < len(tile_set(embed[1])) / 4
    after = raw_tiles(archive)
    # every other tile is the previous archive's, byte for byte
    assert {zxy: after[zxy] for zxy in after if zxy not in expected} == {
        zxy: before[zxy] for zxy in before if zxy not in expected}

    full = tmp_path / "full.pmtiles"
    export(engine, embed, full, update=False)
    assert_same_tiles(archive, full)
    # the old place is cleared: a deepest-zoom tile over the old place only no longer has the park
    old_only = expected_redrawn(embed[1], old) - expected_redrawn(embed[1], new)
    deepest = {zxy for zxy in old_only if zxy[0] == MAXZOOM and zxy in before}
    assert deepest and all(park in ids_in(before[zxy], "parks") for zxy in deepest)
    assert all(park not in ids_in(after[zxy], "parks") for zxy in deepest if zxy in after)
    # and the new place has it, with the new name
    new_only = {zxy for zxy in expected_redrawn(embed[1], new) if zxy[0] == MAXZOOM} - old_only
    assert any(park in ids_in(after[zxy], "parks") for zxy in new_only if zxy in after)
    names = {f["properties"].get("nama") for zxy in new_only if zxy in after
             for f in mapbox_vector_tile.decode(gzip.decompress(after[zxy]))["parks"]["features"] if f["id"] == park}
    assert names == {"Taman Pindahan"}


def test_deletes_and_inserts_and_many_edits_match_a_full_export(engine, embed, tmp_path):
    archive, full = tmp_path / "binjai.pmtiles", tmp_path / "full.pmtiles"
    export(engine, embed, archive, update=False)
    gone = pick(engine, "business_centers")
    gone_geometry = feature_geometry(engine, "business_centers", gone)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM business_centers WHERE id = :i"), {"i": gone})
    result = export(engine, embed, archive, update=True)
    assert result.kind == "incremental" and result.changes == 1
    assert result.redrawn == expected_redrawn(embed[1], gone_geometry)
    assert all(gone not in ids_in(data, "business_centers") for data in raw_tiles(archive).values())
    export(engine, embed, full, update=False)
    assert_same_tiles(archive, full)

    template = feature_geometry(engine, "parks", pick(engine, "parks") + 1)
    added = affinity.translate(template, -0.006, 0.002)
    with engine.connect() as conn:
        roads = conn.execute(text("SELECT id FROM roads WHERE kabkota = '12.75' ORDER BY id LIMIT 5")).scalars().all()
    road_geometries = [feature_geometry(engine, "roads", r) for r in roads]
    with engine.begin() as conn:
        new_id = conn.execute(text(
            "INSERT INTO parks (nama, kelas, publik, kelurahan_kode, geom) SELECT 'Taman Baru', kelas, publik, "
            "kelurahan_kode, ST_GeomFromText(:g, 4326) FROM parks "
            "LIMIT 1 RETURNING id"), {"g": added.wkt}).scalar_one()
        for r in roads:  # a public field on several roads, in one transaction
            conn.execute(text("UPDATE roads SET nama = nama || ' (baru)' WHERE id = :i"), {"i": r})
    result = export(engine, embed, archive, update=True)
    assert result.kind == "incremental" and result.changes == 1 + len(roads), result
    assert result.redrawn == expected_redrawn(embed[1], added, *road_geometries)
    assert any(new_id in ids_in(data, "parks") for data in raw_tiles(archive).values())
    export(engine, embed, full, update=False)
    assert_same_tiles(archive, full)


def test_nothing_changed_or_a_private_field_alone_rewrites_nothing_and_no_tile_holds_a_private_field(
        engine, embed, tmp_path):
    archive = tmp_path / "binjai.pmtiles"
    export(engine, embed, archive, update=False)
    stamp, content = archive.stat().st_mtime_ns, archive.read_bytes()
    result = export(engine, embed, archive, update=True)
    assert result.kind == "unchanged" and "nothing changed" in result.reason and result.rendered == 0
    parcel = pick(engine, "project_parcels")
    with engine.begin() as conn:
        conn.execute(text("UPDATE project_parcels SET pemilik = 'Rahasia Pemilik 4242', nik = '1275999999990001' "
                          "WHERE id = :i"), {"i": parcel})
    result = export(engine, embed, archive, update=True)
    assert result.kind == "unchanged" and result.changes == 1 and "none touching" in result.reason
    assert archive.stat().st_mtime_ns == stamp and archive.read_bytes() == content

    # a public field of the same parcel: its tiles are drawn again, and still carry no private field
    with engine.begin() as conn:
        conn.execute(text("UPDATE project_parcels SET status = status WHERE id = :i"), {"i": parcel})
        conn.execute(text("UPDATE project_parcels SET geom = ST_Translate(geom, 0.0005, 0) WHERE id = :i"),
                     {"i": parcel})
    assert export(engine, embed, archive, update=True).kind == "incremental"
    layers = {layer.id: layer for layer in embed[0]}
    for data in raw_tiles(archive).values():
        assert b"Rahasia Pemilik" not in gzip.decompress(data) and b"1275999999990001" not in gzip.decompress(data)
        for name, layer in mapbox_vector_tile.decode(gzip.decompress(data)).items():
            public = {f.name for f in layers[name].public_fields} | {"kabkota"}
            assert all(set(f["properties"]) <= public for f in layer["features"]), name


def test_a_full_rebuild_when_the_archive_cannot_be_updated_says_why(engine, embed, tmp_path):
    layers, tileset = embed
    archive = tmp_path / "binjai.pmtiles"
    # an archive of an older version: no manifest
    export_pmtiles(engine, layers, archive, tileset.bounds, MINZOOM, MAXZOOM, include_private=False,
                   cap=tileset.cap, cities=tileset.cities)
    result = export(engine, embed, archive, update=True)
    assert result.kind == "full" and "without a manifest" in result.reason
    assert export(engine, embed, archive, update=True).kind == "unchanged"
    # a layer no longer public
    fewer = [layer for layer in layers if layer.id != "rivers"]
    result = export_embed_archive(engine, fewer, archive, tileset, update=True)
    assert result.kind == "full" and "no longer public: rivers" in result.reason
    assert all("rivers" not in mapbox_vector_tile.decode(gzip.decompress(d)) for d in raw_tiles(archive).values())
    # a field made private in a layer's declaration: rebuilt, and the field is in no tile
    parks = next(layer for layer in fewer if layer.id == "parks")
    hidden = replace(parks, fields=tuple(replace(f, public=False) if f.name == "nama" else f for f in parks.fields))
    changed = [hidden if layer.id == "parks" else layer for layer in fewer]
    result = export_embed_archive(engine, changed, archive, tileset, update=True)
    assert result.kind == "full" and "declaration of layer parks" in result.reason
    for data in raw_tiles(archive).values():
        features = mapbox_vector_tile.decode(gzip.decompress(data)).get("parks", {"features": []})["features"]
        assert all("nama" not in f["properties"] for f in features)
    # features removed with no history (triggers off, as a bulk load may do)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE toll_gates DISABLE TRIGGER USER"))
        conn.execute(text("DELETE FROM toll_gates WHERE id = (SELECT max(id) FROM toll_gates)"))
        conn.execute(text("ALTER TABLE toll_gates ENABLE TRIGGER USER"))
        left = conn.execute(text("SELECT count(*) FROM toll_gates")).scalar_one()
    result = export_embed_archive(engine, changed, archive, tileset, update=True)
    assert result.kind == "full" and f"layer toll_gates holds {left} features where its history accounts for " \
        f"{left + 1}" in result.reason
    assert export_embed_archive(engine, changed, archive, tileset, update=True).kind == "unchanged"
    # an archive made before the database was last migrated
    with open(archive, "rb") as f:
        reader = Reader(MmapSource(f))
        header, metadata, tiles = reader.header(), reader.metadata(), list(all_tiles(MmapSource(f)))
    metadata["petakota_embed"]["schema"] = "0012"
    with open(archive, "wb") as f:
        writer = Writer(f)
        for zxy, data in sorted(tiles, key=lambda t: zxy_to_tileid(*t[0])):
            writer.write_tile(zxy_to_tileid(*zxy), data)
        writer.finalize(header, metadata)
    result = export_embed_archive(engine, changed, archive, tileset, update=True)
    assert result.kind == "full" and "migrated since the previous export (schema 0012 ->" in result.reason
    # other zooms
    result = export_embed_archive(engine, changed, archive, replace(tileset, maxzoom=MAXZOOM - 1), update=True)
    assert result.kind == "full" and "zooms" in result.reason
    # a damaged file
    archive.write_bytes(b"not an archive")
    result = export(engine, embed, archive, update=True)
    assert result.kind == "full" and "not a readable PMTiles archive" in result.reason


def test_a_failed_run_leaves_the_previous_archive_intact(engine, embed, tmp_path):
    archive = tmp_path / "binjai.pmtiles"
    export(engine, embed, archive, update=False)
    content = archive.read_bytes()
    park = pick(engine, "parks") - 1
    with engine.begin() as conn:
        conn.execute(text("UPDATE parks SET geom = ST_Translate(geom, 0.002, 0.002) WHERE id = :i"), {"i": park})

    def interrupted(n: int, seen=[]) -> None:  # noqa: B006 - counts across calls
        seen.append(n)
        if len(seen) == 2:
            raise KeyboardInterrupt

    for update in (True, False):
        with pytest.raises(KeyboardInterrupt):
            export(engine, embed, archive, update=update, progress=interrupted)
        interrupted.__defaults__[0].clear()
        assert archive.read_bytes() == content
        assert sorted(p.name for p in tmp_path.iterdir()) == ["binjai.pmtiles"]
    # the next run picks the edit up
    result = export(engine, embed, archive, update=True)
    assert result.kind == "incremental" and result.changes == 1
    full = tmp_path / "full.pmtiles"
    export(engine, embed, full, update=False)
    assert_same_tiles(archive, full)


def test_the_command_updates_the_folder_and_says_what_it_did(engine, settings, tmp_path):
    env = {"DATABASE_URL": settings.database_url, "PETAKOTA_DATA_DIR": str(settings.data_dir)}
    site = tmp_path / "site"
    args = ("export-embed", "binjai", "--out", str(site), "--minzoom", "13", "--maxzoom", "14")
    first = run_cli(*args, "--update", env=env)
    assert first.returncode == 0, first.stderr
    assert "full export of binjai.pmtiles (there is no previous archive" in first.stdout
    page = site / "index.html"
    stamps = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    again = run_cli(*args, "--update", env=env)
    assert again.returncode == 0, again.stderr
    assert "nothing changed since the previous export: nothing rewritten" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()} == stamps and page.is_file()
    with engine.begin() as conn:
        conn.execute(text("UPDATE kelurahan SET nama = nama WHERE id = (SELECT min(id) FROM kelurahan)"))
        conn.execute(text("UPDATE parks SET geom = ST_Translate(geom, 0.001, 0) "
                          "WHERE id = (SELECT min(id) FROM parks)"))
    updated = run_cli(*args, "--update", env=env)
    assert updated.returncode == 0, updated.stderr
    assert "updated binjai.pmtiles: 2 change(s) since the previous export" in updated.stdout
    assert page.stat().st_mtime_ns == stamps[page]  # the page did not change
    bad = run_cli("export-embed", "binjai", "--out", str(page), "--update", env=env)
    assert bad.returncode != 0 and "--out must be a folder" in bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr
    bad = run_cli("export-embed", "binjai", "--out", str(site), "--minzoom", "16", "--maxzoom", "12", "--update",
                  env=env)
    assert bad.returncode != 0 and "zooms must satisfy 0 <= minzoom <= maxzoom" in bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr and page.stat().st_mtime_ns == stamps[page]
