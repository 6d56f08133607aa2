"""`petakota city`: adopt, list and remove the cities (kab/kota) a service holds."""

from __future__ import annotations

from pathlib import Path

import typer

from gis.core import db
from gis.core.errors import PetaKotaError
from gis.core.settings import Settings

city_app = typer.Typer(help="The cities held (kab/kota): adopt, list, remove.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def adopted_line(a) -> str:
    verb = "updated" if a.replaced else "adopted"
    removed = f", {a.removed} no longer in the files removed" if a.removed else ""
    return (f"{verb} {a.code} {a.name} ({a.kind}, metric CRS EPSG:{a.metric_crs}): {a.kecamatan} kecamatan, "
            f"{a.level4} kelurahan/desa ({a.desa} desa){removed}")


@city_app.command("add")
def city_add(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="the city's kelurahan/desa (GeoJSON, "
                                                                       "GeoPackage, Shapefile...)"),
    level: str = typer.Option(..., help="kelurahan or desa: the level-4 units in FILE"),
    kecamatan: Path = typer.Option(None, exists=True, dir_okay=False, help="the kecamatan (else dissolved)"),
    kabkota: Path = typer.Option(None, exists=True, dir_okay=False, help="the kab/kota boundary (else dissolved)"),
    population: int = typer.Option(None, help="the city's population (cite the figure's source in your notes)"),
    crs: str = typer.Option(None, help="metric CRS for areas and distances (default: the city's UTM zone)"),
    city: str = typer.Option(None, help="the city to take from a file holding several, e.g. 12.07"),
    code_field: str = typer.Option(None, help="field with the Kemendagri code (detected if omitted)"),
    name_field: str = typer.Option(None, help="field with the name (detected if omitted)"),
    file_crs: str = typer.Option(None, help="CRS of files that declare none, e.g. EPSG:32647"),
    repair: bool = typer.Option(False, help="repair invalid geometries instead of refusing the files"),
) -> None:
    """Adopt a city: kab/kota, kecamatan and kelurahan/desa checked together (codes nest, one city, no overlap
    with a city held), then written all-or-nothing. Adopting a held city again updates it, never copies it."""
    from gis.data.boundaries import add_city

    try:
        adopted = add_city(db.make_engine(Settings(), pool_size=1), file, level, kecamatan=kecamatan,
                           kabkota=kabkota, population=population, crs=crs, city=city, code_field=code_field,
                           name_field=name_field, repair=repair, crs_of_file=file_crs)
    except PetaKotaError as exc:
        _fail(exc.detail)
    typer.echo(adopted_line(adopted))


@city_app.command("list")
def city_list() -> None:
    """List the cities held."""
    from gis.data.cities import held_cities

    with db.make_engine(Settings(), pool_size=1).connect() as conn:
        for c in held_cities(conn):
            area = f"{c.area_ha / 100:,.1f} km2" if c.area_ha else "?"
            people = f"{c.population:,}" if c.population else "population unknown"
            typer.echo(f"{c.code}  {c.name} ({c.kind}), {area}, {people}, EPSG:{c.metric_crs}")


@city_app.command("remove")
def city_remove(code: str = typer.Argument(..., help="Kemendagri code, e.g. 12.07"),
                yes: bool = typer.Option(False, "--yes", help="do not ask for confirmation")) -> None:
    """Remove a city and every feature of every layer in it (the edit history keeps them)."""
    from gis.data.boundaries import remove_city

    if not yes:
        typer.confirm(f"Remove city {code} and every feature of every layer in it?", abort=True)
    try:
        counts = remove_city(db.make_engine(Settings(), pool_size=1), code)
    except PetaKotaError as exc:
        _fail(exc.detail)
    typer.echo(f"removed city {code}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
