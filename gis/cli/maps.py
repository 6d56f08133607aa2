"""The map commands of `petakota`: static maps (`render`: a printed A4/A3 page or a screen-sized image), a
city's atlas (`atlas`), the static embed export and the embed snippet, for a map or a city held (`--city 12.07`,
or a Kemendagri code in place of a map id)."""

from __future__ import annotations

from pathlib import Path

import typer
from tqdm import tqdm

from gis.cli.main import _fail, app
from gis.core import db
from gis.core.errors import PetaKotaError
from gis.core.settings import Settings


@app.command("render")
def render(map_id: str = typer.Argument(..., help="a map id, e.g. binjai"),
           out: Path = typer.Option(..., help="the .png or .pdf to write"),
           bbox: str = typer.Option(None, help="minlon,minlat,maxlon,maxlat (default: the city)"),
           width: int = typer.Option(None, help="a screen-sized map: width in pixels (default 1600)"),
           height: int = typer.Option(None, help="a screen-sized map: height in pixels (default 1200)"),
           paper: str = typer.Option(None, help="a printed map: A4 or A3 (the default for a .pdf: A4)"),
           orientation: str = typer.Option(None, help="portrait or landscape (default)"),
           kelurahan: str = typer.Option(None, help="frame a kelurahan/desa (Kemendagri code, e.g. 12.75.01.1001)"),
           kecamatan: str = typer.Option(None, help="frame a kecamatan (Kemendagri code, e.g. 12.75.01)"),
           layers: str = typer.Option(None, help="the map's layers to print, comma-separated (e.g. "
                                                 "zoning,kelurahan,roads); default: its visible layers"),
           lang: str = typer.Option("id", help="id (Bahasa Indonesia) or en"),
           city: str = typer.Option(None, help="the cities to draw: Kemendagri codes (e.g. 12.07) or all "
                                               "(default: the service's own city)")) -> None:
    """A static map for reports and letters: a printed page (A4/A3 with title block, labels, UTM grid, scale,
    legend, locator) or a screen-sized image (--width/--height)."""
    from gis.data.cities import held_cities
    from gis.data.registry import load_catalog
    from layers.maps import MAPS

    settings = Settings()
    if map_id not in MAPS:
        _fail(f"no map {map_id!r}; maps: {', '.join(MAPS)}")
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in ("png", "pdf"):
        _fail(f"--out must end in .png or .pdf (got {out.name!r})")
    printed = any(v is not None for v in (paper, orientation, kelurahan, kecamatan, layers)) or (
        fmt == "pdf" and width is None and height is None)
    if printed and (width is not None or height is not None):
        _fail("--width/--height size a screen map; a printed map's size is its paper (--paper A4|A3, "
              "--orientation portrait|landscape): give one or the other")
    try:
        box = tuple(float(v) for v in bbox.split(",")) if bbox else None
    except ValueError:
        _fail("bbox must be minlon,minlat,maxlon,maxlat")
    try:
        with db.make_engine(settings, pool_size=1).connect() as conn:
            if printed:
                from gis.render.print_map import render_print

                data, info = render_print(conn, settings, MAPS[map_id], load_catalog(conn), held_cities(conn),
                                          city=city, bbox=box, kelurahan=kelurahan, kecamatan=kecamatan,
                                          layers=layers, paper=paper, orientation=orientation, fmt=fmt, lang=lang)
                size = f"{info.paper} {info.orientation}, 1:{info.scale}"
            else:
                from gis.render.static_map import render_city_map

                width, height = width or 1600, height or 1200
                data = render_city_map(conn, settings, MAPS[map_id], load_catalog(conn), held_cities(conn), city,
                                       bbox=box, width=width, height=height, fmt=fmt, lang=lang)
                size = f"{width}x{height}"
    except PetaKotaError as exc:
        _fail(exc.detail)
    out.write_bytes(data)
    typer.echo(f"wrote {out} ({size})")


@app.command("atlas")
def atlas(city: str = typer.Option(..., help="the city's Kemendagri code, e.g. 12.75"),
          out: Path = typer.Option(..., help="the .pdf to write"),
          level: str = typer.Option("kecamatan", help="one page per kecamatan or per kelurahan (kelurahan/desa)"),
          paper: str = typer.Option("A4", help="A4 or A3"),
          orientation: str = typer.Option(None, help="portrait or landscape (default)"),
          layers: str = typer.Option(None, help="the layers to print, comma-separated (default: the city map's "
                                                "visible layers)"),
          lang: str = typer.Option("id", help="id (Bahasa Indonesia) or en")) -> None:
    """A city's atlas in one PDF: a cover, an index, then one page per kecamatan (or kelurahan/desa)."""
    from gis.data.cities import held_cities
    from gis.data.registry import load_catalog
    from gis.render.atlas import render_atlas

    if out.suffix.lower() != ".pdf":
        _fail(f"--out must end in .pdf (got {out.name!r})")
    settings = Settings()
    try:
        with db.make_engine(settings, pool_size=1).connect() as conn:
            with tqdm(desc="pages", unit="page") as bar:
                data, info = render_atlas(conn, settings, load_catalog(conn), held_cities(conn), city, level=level,
                                          paper=paper, orientation=orientation, layers=layers, lang=lang,
                                          progress=lambda name: bar.update())
    except PetaKotaError as exc:
        _fail(exc.detail)
    out.write_bytes(data)
    typer.echo(f"wrote {out} ({info.pages} pages)")


@app.command("export-embed")
def export_embed(map_id: str = typer.Argument(..., help="a public map id (e.g. binjai) or a city's Kemendagri code "
                                                     "(e.g. 12.07)"),
                 out: Path = typer.Option(..., help="a folder to write index.html, scripts and tiles into"),
                 minzoom: int = typer.Option(10), maxzoom: int = typer.Option(15),
                 lang: str = typer.Option("id"),
                 update: bool = typer.Option(False, "--update", help="re-render only the tiles of what changed "
                                                                     "since the export already in --out")) -> None:
    """A public map the city website hosts as plain files: the embed page reading a PMTiles archive
    (public layers and fields only), no PetaKota server needed. With --update, the archive already there is
    brought up to date: only the tiles over features created, changed or deleted since are drawn again."""

    from gis.data.cities import held_cities
    from gis.data.registry import load_catalog
    from gis.render.webmap import export_static_embed, public_map_for
    from gis.tiles.embed_archive import TileSet, export_embed_archive

    settings = Settings()
    engine = db.make_engine(settings, pool_size=1)
    with engine.connect() as conn:
        catalog = load_catalog(conn)
        cities = held_cities(conn)
    try:
        mapdef, view = public_map_for(settings, cities, map_id)
    except PetaKotaError as exc:
        _fail(exc.detail)
    bounds = view.bbox
    if bounds is None:
        _fail("no city boundary loaded: nothing to export")
    layers = [catalog[i] for i in mapdef.layers if i in catalog and catalog[i].public]
    if not layers:
        _fail(f"map {map_id!r} has no public layer: nothing to export")
    if out.exists() and not out.is_dir():
        _fail(f"--out must be a folder; {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    archive = out / f"{map_id}.pmtiles"
    tileset = TileSet(bounds, minzoom, maxzoom, tuple(view.scope), settings.tile_feature_cap)
    try:
        with tqdm(desc="tiles", unit="tile") as bar:
            result = export_embed_archive(engine, layers, archive, tileset, update=update, progress=bar.update,
                                          total=lambda n: setattr(bar, "total", n) or bar.refresh())
    except PetaKotaError as exc:
        _fail(exc.detail)
    page, page_written = export_static_embed(settings, mapdef, layers, out, archive.name, lang, view)
    if result.kind == "unchanged":
        typer.echo(f"{archive.name}: {result.reason}" + (f"; wrote {page.name}" if page_written else ""))
        return
    if result.kind == "incremental":
        typer.echo(f"updated {archive.name}: {result.reason}, {result.rendered} tile(s) drawn again, "
                   f"{result.copied} kept; {result.tiles} tiles in the archive")
    elif update:
        typer.echo(f"full export of {archive.name} ({result.reason}): {result.tiles} tiles")
    else:
        typer.echo(f"exported {archive.name}: {result.tiles} tiles")
    typer.echo(f"wrote {page} and {archive.name}: copy the folder to the website and point an <iframe> at it")


@app.command("embed-snippet")
def embed_snippet(map_id: str = typer.Argument(..., help="a public map id (e.g. binjai) or a city's Kemendagri code "
                                                      "(e.g. 12.07)"),
                  base_url: str = typer.Option("http://127.0.0.1:8000", help="where the city reaches the service"),
                  height: int = typer.Option(480)) -> None:
    """Print the <iframe> code that puts a public map on the city website."""
    from html import escape

    from gis.render.city_view import map_title
    from gis.render.webmap import is_city_code, public_map_for

    settings = Settings()
    cities = []
    if is_city_code(map_id):  # the city's name is in the database
        from gis.data.cities import held_cities

        with db.make_engine(settings, pool_size=1).connect() as conn:
            cities = held_cities(conn)
    try:
        mapdef, view = public_map_for(settings, cities, map_id)
    except PetaKotaError as exc:
        _fail(exc.detail)
    src = f"{base_url.rstrip('/')}/embed/{map_id}"
    typer.echo(f'<iframe src="{escape(src)}" title="{escape(map_title(mapdef, view, "id"))}" width="100%" '
               f'height="{height}" style="border:0" loading="lazy" referrerpolicy="no-referrer"></iframe>')
