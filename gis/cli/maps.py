"""The map commands of `petakota`: static maps, the static embed export and the embed snippet, for a map or a
city held (`--city 12.07`, or a Kemendagri code in place of a map id)."""

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
           width: int = typer.Option(1600), height: int = typer.Option(1200),
           lang: str = typer.Option("id", help="id (Bahasa Indonesia) or en"),
           city: str = typer.Option(None, help="the cities to draw: Kemendagri codes (e.g. 12.07) or all "
                                               "(default: the service's own city)")) -> None:
    """A static map for reports and letters: title, legend, scale bar, north arrow, attribution."""
    from gis.data.cities import held_cities
    from gis.data.registry import load_catalog
    from gis.render.static_map import render_city_map
    from layers.maps import MAPS

    settings = Settings()
    if map_id not in MAPS:
        _fail(f"no map {map_id!r}; maps: {', '.join(MAPS)}")
    fmt = out.suffix.lstrip(".").lower()
    try:
        box = tuple(float(v) for v in bbox.split(",")) if bbox else None
        with db.make_engine(settings, pool_size=1).connect() as conn:
            data = render_city_map(conn, settings, MAPS[map_id], load_catalog(conn), held_cities(conn), city,
                                   bbox=box, width=width, height=height, fmt=fmt, lang=lang)
    except ValueError:
        _fail("bbox must be minlon,minlat,maxlon,maxlat")
    except PetaKotaError as exc:
        _fail(exc.detail)
    out.write_bytes(data)
    typer.echo(f"wrote {out} ({width}x{height})")


@app.command("export-embed")
def export_embed(map_id: str = typer.Argument(..., help="a public map id (e.g. binjai) or a city's Kemendagri code "
                                                     "(e.g. 12.07)"),
                 out: Path = typer.Option(..., help="a folder to write index.html, scripts and tiles into"),
                 minzoom: int = typer.Option(10), maxzoom: int = typer.Option(15),
                 lang: str = typer.Option("id")) -> None:
    """A public map the city website hosts as plain files: the embed page reading a PMTiles archive
    (public layers and fields only), no PetaKota server needed."""

    from gis.data.cities import held_cities
    from gis.data.registry import load_catalog
    from gis.render.webmap import export_static_embed, public_map_for
    from gis.tiles.pmtiles import export_pmtiles as write_pmtiles
    from gis.tiles.pmtiles import tiles_to_export

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
    out.mkdir(parents=True, exist_ok=True)
    try:
        with tqdm(total=len(tiles_to_export(bounds, minzoom, maxzoom)), desc="tiles", unit="tile") as bar:
            write_pmtiles(engine, layers, out / f"{map_id}.pmtiles", bounds, minzoom, maxzoom, include_private=False,
                          cap=settings.tile_feature_cap, progress=bar.update, cities=view.scope)
    except PetaKotaError as exc:
        _fail(exc.detail)
    page = export_static_embed(settings, mapdef, layers, out, f"{map_id}.pmtiles", lang, view)
    typer.echo(f"wrote {page} and {map_id}.pmtiles: copy the folder to the website and point an <iframe> at it")


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
