"""`petakota population`: population grids per city."""

from __future__ import annotations

from pathlib import Path

import typer

from gis.core import db
from gis.core.errors import PetaKotaError
from gis.core.settings import Settings

population_app = typer.Typer(help="Population grids per city (park-coverage counts people on them).",
                             no_args_is_help=True)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@population_app.command("build")
def population_build(
    city: str = typer.Option(..., help="Kemendagri code of the city, e.g. 12.07"),
    total: float = typer.Option(..., help="the city's population (cite the figure's source in your notes)"),
    per_desa: Path = typer.Option(None, exists=True, dir_okay=False,
                                  help="CSV with columns kode, population: figures per desa/kelurahan (the rest of "
                                       "the total goes to those not listed)"),
) -> None:
    """Build the city's 10 m population grid: the total (or each desa's figure) spread over residential zoning,
    else built-up land cover, else the land evenly. All-or-nothing; replaces the city's previous grid."""
    from gis.data.population import build_population

    settings = Settings()
    try:
        built = build_population(db.make_engine(settings, pool_size=1), settings, city, total, per_desa)
    except PetaKotaError as exc:
        _fail(exc.detail)
    typer.echo(built.line())
