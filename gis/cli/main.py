"""The `petakota` command line."""

from __future__ import annotations

from pathlib import Path

import typer
from tqdm import tqdm

from gis.cli.assets import assets_app
from gis.cli.city import adopted_line, city_app
from gis.cli.metadata import metadata_app
from gis.cli.population import population_app
from gis.cli.programmes import programmes_app
from gis.cli.rdtr import rdtr_app
from gis.cli.webhooks import webhooks_app
from gis.core import db
from gis.core.errors import PetaKotaError
from gis.core.settings import Settings

app = typer.Typer(help="PetaKota: city-planning GIS service.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
keys_app = typer.Typer(help="API keys (stored hashed; a key is shown once, when created).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
layers_app = typer.Typer(help="Layers added at runtime (they appear without a restart).", no_args_is_help=True)
app.add_typer(layers_app, name="layers")
app.add_typer(city_app, name="city")
app.add_typer(population_app, name="population")
app.add_typer(rdtr_app, name="rdtr")
app.add_typer(assets_app, name="assets")
app.add_typer(programmes_app, name="programmes")
app.add_typer(metadata_app, name="metadata")
app.add_typer(webhooks_app, name="webhooks")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    db.upgrade(Settings(), revision)


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="target revision, e.g. base")) -> None:
    """Revert migrations down to REVISION."""
    db.downgrade(Settings(), revision)


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision."""
    typer.echo(db.current_revision(db.make_engine(Settings(), pool_size=1)) or "none")


@app.command("load-sample")
def load_sample(if_empty: bool = typer.Option(False, help="only load when no kelurahan are loaded yet"),
                force: bool = typer.Option(False, help="overwrite sample features edited since the last load"),
                region: str = typer.Option(None, help="also adopt a sample region's cities: mebidangro (Kabupaten "
                                                      "Deli Serdang and Kabupaten Karo: real boundaries, "
                                                      "illustrative layers and rasters)")
                ) -> None:
    """Load the Binjai sample city (real boundaries, illustrative planning layers and rasters), and with --region
    the region's other cities (real boundaries, illustrative layers and rasters). Reloading keeps feature ids and
    refuses to overwrite edits made since the last load unless --force."""
    from gis.data.sample import is_empty, load_region
    from gis.data.sample import load_sample as load

    settings = Settings()
    engine = db.make_engine(settings, pool_size=1)
    if if_empty and not is_empty(engine):
        typer.echo("sample city already loaded")
    else:
        steps = ["generating layers", "checking for edits", "writing rasters",
                 *[f"loading {x}" for x in _sample_layers()], "loading the raster registry",
                 "importing the RDTR (zoning, special provisions, ITBX)",
                 "importing the programmes (SIPD-style file) and their progress"]
        try:
            with tqdm(total=len(steps), desc="load-sample", unit="step") as bar:
                counts = load(engine, settings, progress=lambda step: (bar.set_postfix_str(step), bar.update(1)),
                              force=force)
        except PetaKotaError as exc:
            _fail(exc.detail)
        typer.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
    if region:
        try:
            for adopted in load_region(engine, region, settings, force=force):
                typer.echo(adopted_line(adopted))
        except PetaKotaError as exc:
            _fail(exc.detail)


@app.command("backup")
def backup(out: Path = typer.Option(..., help="the archive to write, e.g. petakota-2026-11-30.tar")) -> None:
    """Back up the database (pg_dump custom format), the raster files and the attachments into one archive with a
    manifest."""
    from gis.data.backup import backup as run

    try:
        manifest = run(Settings(), out)
    except PetaKotaError as exc:
        _fail(exc.detail)
    typer.echo(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): {len(manifest['counts'])} tables, "
               f"{sum(manifest['counts'].values())} rows, {len(manifest['rasters'])} raster files, "
               f"{len(manifest.get('attachments', {}))} attachment files, migration {manifest['revision']}")


@app.command("restore")
def restore(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="an archive from `petakota backup`")
            ) -> None:
    """Restore a backup into an empty database (DATABASE_URL) and its rasters and attachments into the data
    directory."""
    from gis.data.backup import restore as run

    try:
        manifest = run(Settings(), file)
    except PetaKotaError as exc:
        _fail(exc.detail)
    typer.echo(f"restored the backup of {manifest['created']} (migration {manifest['revision']}): "
               f"{sum(manifest['counts'].values())} rows in {len(manifest['counts'])} tables, "
               f"{len(manifest['rasters'])} raster files, {len(manifest.get('attachments', {}))} attachment files")


def _sample_layers() -> list[str]:
    from gis.data.sample import PLAN_LAYERS
    from layers import CATALOG
    from layers.programmes import LOCATION_LAYERS

    return [x for x in CATALOG if x not in PLAN_LAYERS and x not in {layer.id for layer in LOCATION_LAYERS}]


@app.command("import-boundaries")
def import_boundaries(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="GeoJSON, GeoPackage, Shapefile..."),
    level: str = typer.Option(..., help="kota, kecamatan or kelurahan (desa: the same level)"),
    code_field: str = typer.Option(None, help="field with the Kemendagri code (detected if omitted)"),
    name_field: str = typer.Option(None, help="field with the name (detected if omitted)"),
    crs: str = typer.Option(None, help="CRS of the file when it declares none, e.g. EPSG:32647"),
    repair: bool = typer.Option(False, help="repair invalid geometries instead of refusing the file"),
) -> None:
    """Import a city's boundaries: checked whole, written all-or-nothing, upserted on the code."""
    from gis.data.boundaries import import_boundaries as run

    settings = Settings()
    try:
        with tqdm(total=1, desc=f"import {level}", unit="file") as bar:
            n = run(db.make_engine(settings, pool_size=1), file, level, code_field=code_field,
                    name_field=name_field, repair=repair, crs=crs)
            bar.update(1)
    except PetaKotaError as exc:
        _fail(exc.detail)
    typer.echo(f"imported {n} {level} features from {file.name}")


@keys_app.command("create")
def keys_create(role: str = typer.Option(..., help="analyst, planner or admin"),
                name: str = typer.Option(..., help="who holds the key, e.g. 'Dinas PUPR'"),
                cities: list[str] = typer.Option(None, help="limit the key to these Kemendagri kab/kota codes, "
                                                            "e.g. 12.75 (comma-separated or repeated; default all)"),
                layers: list[str] = typer.Option(None, help="limit the key to these layer ids, e.g. zoning "
                                                            "(comma-separated or repeated; default all)"),
                opd: str = typer.Option(None, help="the OPD (SIPD kodeskpd) the key belongs to: it edits that OPD's "
                                                   "programmes and their locations only"),
                kecamatan: str = typer.Option(None, help="a kecamatan code, e.g. 12.75.01: a camat's key, reading "
                                                         "that kecamatan's programmes with their notes, editing "
                                                         "nothing")) -> None:
    """Create an API key, optionally limited to cities and layers or naming an OPD or a kecamatan, and print it
    (it cannot be shown again)."""
    from gis.data import auth

    def split(values: list[str] | None) -> list[str] | None:
        return [v for value in values for v in value.split(",")] if values else None

    try:
        with db.make_engine(Settings(), pool_size=1).begin() as conn:
            key_id, key = auth.create_key(conn, name, role, split(cities), split(layers), opd, kecamatan)
    except PetaKotaError as exc:
        _fail(exc.detail)
    typer.echo(f"key {key_id} for {name} ({role}; {_limits(split(cities), split(layers), opd, kecamatan)}):")
    typer.echo(key)


def _limits(cities: list[str] | None, layers: list[str] | None, opd: str | None = None,
            kecamatan: str | None = None) -> str:
    named = (f", OPD {opd}" if opd else "") + (f", kecamatan {kecamatan}" if kecamatan else "")
    return (f"cities {','.join(cities) if cities else 'all'}, "
            f"layers {','.join(layers) if layers else 'all'}{named}")


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (id, role, prefix, state, holder, the cities and layers it is limited to, its OPD or
    kecamatan)."""
    from gis.data import auth

    with db.make_engine(Settings(), pool_size=1).connect() as conn:
        for k in auth.list_keys(conn):
            state = f"revoked {k['revoked_at']:%Y-%m-%d}" if k["revoked_at"] else "active"
            typer.echo(f"{k['id']:4d}  {k['role']:8s} pk_{k['prefix']}_...  {state:18s} {k['name']}  "
                       f"[{_limits(k['cities'], k['layers'], k['opd'], k['kecamatan'])}]")


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke an API key."""
    from gis.data import auth

    try:
        with db.make_engine(Settings(), pool_size=1).begin() as conn:
            auth.revoke_key(conn, key_id)
    except PetaKotaError as exc:
        _fail(exc.detail)
    typer.echo(f"key {key_id} revoked")


@layers_app.command("add")
def layers_add(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="GeoJSON, GeoPackage..."),
               layer_id: str = typer.Option(..., "--id", help="collection id, e.g. pasar_tradisional"),
               title: str = typer.Option(..., help="title in Bahasa Indonesia"),
               title_en: str = typer.Option(None, help="title in English"),
               source: str = typer.Option("", help="source and licence of the data"),
               illustrative: bool = typer.Option(False, help="mark the data as illustrative"),
               private: list[str] = typer.Option([], help="a field to keep private (repeatable)")) -> None:
    """Add a layer from a file: its table, declaration and features, in one transaction."""
    from gis.data.layer_import import add_layer_from_file

    settings = Settings()
    try:
        with tqdm(total=1, desc=f"add {layer_id}", unit="file") as bar:
            n = add_layer_from_file(db.make_engine(settings, pool_size=1), file, layer_id, title,
                                    title_en or title, source, illustrative, set(private),
                                    settings.city.metric_crs)
            bar.update(1)
    except PetaKotaError as exc:
        _fail(exc.detail)
    typer.echo(f"layer {layer_id} added with {n} features")


@app.command("export-pmtiles")
def export_pmtiles(
    out: Path = typer.Option(..., help="the .pmtiles file to write"),
    public: bool = typer.Option(True, "--public/--all-fields",
                                help="public layers and fields only (default), or every field"),
    collections: str = typer.Option(None, help="comma-separated collection ids (default: every public layer)"),
    minzoom: int = typer.Option(10), maxzoom: int = typer.Option(15),
) -> None:
    """Export vector tiles as a PMTiles archive for static hosting (e.g. the city website's embedded maps)."""
    from gis.data.catalog import city_bounds
    from gis.data.registry import load_catalog
    from gis.tiles.pmtiles import export_pmtiles as run
    from gis.tiles.pmtiles import tiles_to_export

    settings = Settings()
    engine = db.make_engine(settings, pool_size=1)
    try:
        with engine.connect() as conn:
            catalog = load_catalog(conn)
            bounds = city_bounds(conn)
        names = [c.strip() for c in collections.split(",")] if collections else list(catalog)
        unknown = [n for n in names if n not in catalog]
        if unknown:
            raise PetaKotaError(f"unknown collections: {', '.join(unknown)}")
        layers = [catalog[n] for n in names if catalog[n].public or not public]
        if bounds is None:
            raise PetaKotaError("no city boundary loaded: nothing to export")
        total = len(tiles_to_export(bounds, minzoom, maxzoom))
        with tqdm(total=total, desc="export-pmtiles", unit="tile") as bar:
            n = run(engine, layers, out, bounds, minzoom, maxzoom, include_private=not public,
                    cap=settings.tile_feature_cap, progress=bar.update)
    except PetaKotaError as exc:
        _fail(exc.detail)
    typer.echo(f"wrote {n} tiles of {len(layers)} layers ({'public fields only' if public else 'all fields'}) "
               f"to {out}")


@app.command("serve")
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, reload: bool = False) -> None:
    """Serve the API and web map."""
    import uvicorn

    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, reload=reload,
                log_level="info")


@app.command("info")
def info() -> None:
    """Show the configuration and what the database holds."""
    from sqlalchemy import text

    from gis.data.registry import load_catalog

    settings = Settings()
    engine = db.make_engine(settings, pool_size=1)
    typer.echo(f"city: {settings.city.name} ({settings.city.kode}), metric CRS EPSG:{settings.city.metric_crs}")
    typer.echo(f"database: {engine.url.render_as_string(hide_password=True)}")
    try:
        typer.echo(f"PostGIS {db.postgis_version(engine)}, migration {db.current_revision(engine)}")
        with engine.connect() as conn:
            for layer_id in load_catalog(conn):
                n = conn.execute(text(f"SELECT count(*) FROM {layer_id}")).scalar()
                typer.echo(f"  {layer_id:20s} {n:6d} features")
    except Exception as exc:  # info must report, not crash, when the database is down
        _fail(f"database not reachable or not migrated: {exc.__class__.__name__}: {exc}")


from gis.cli import maps  # noqa: E402, F401 - registers the map commands (render, export-embed, embed-snippet)
