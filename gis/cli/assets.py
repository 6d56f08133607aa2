"""`petakota assets`: the regional asset register (KIB A land, KIB C buildings) in and out of CSV/XLSX."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from gis.core import db
from gis.core.errors import PetaKotaError
from gis.core.settings import Settings

assets_app = typer.Typer(help="The regional asset register (KIB A land, KIB C buildings): import and export "
                              "as CSV or XLSX.", no_args_is_help=True)
CITY = typer.Option(..., help="Kemendagri code of the city whose register it is, e.g. 12.75")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _engine():
    return db.make_engine(Settings(), pool_size=1)


@assets_app.command("import")
def assets_import(
    path: Path = typer.Argument(..., help="a .csv or .xlsx file: one asset per row, the columns of `petakota "
                                          "assets export` (the outline as WKT in EPSG:4326 in geometry_wkt)"),
    city: str = CITY,
    dry_run: bool = typer.Option(False, "--dry-run", help="check only: write nothing"),
    by: str = typer.Option(None, help="who imports it (kept in the history); default: the system user"),
) -> None:
    """Check a register file and, when every row is good, write it in one transaction: assets are matched on
    kode barang + NUP (updated in place), new ones added. Exit code 1, nothing written, when any row is bad;
    each bad row is named with its field and what is wrong."""
    from gis.data.assets import import_assets

    try:
        report = import_assets(_engine(), path, city, actor=f"assets import ({by or getpass.getuser()})",
                               dry_run=dry_run)
    except PetaKotaError as exc:
        _fail(str(exc))
    if not report.ok:
        for problem in report.problems:
            typer.echo(str(problem), err=True)
        _fail(f"{len(report.problems)} problem(s) in {len({p.row for p in report.problems})} row(s) of "
              f"{report.rows}; nothing was written")
    if dry_run:
        typer.echo(f"{report.rows} assets checked: no problem (dry run, nothing written)")
    else:
        typer.echo(f"{report.rows} assets imported: {report.inserted} new, {report.updated} updated")


@assets_app.command("export")
def assets_export(
    city: str = CITY,
    out: Path = typer.Option(..., "--out", help="the file to write: .csv or .xlsx"),
) -> None:
    """Write the city's register (every field, acquisition values included) with each outline as WKT."""
    from gis.data.assets import export_assets

    try:
        n = export_assets(_engine(), city, out)
    except PetaKotaError as exc:
        _fail(str(exc))
    typer.echo(f"{n} assets written to {out}")
