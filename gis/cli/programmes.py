"""`petakota programmes`: a city's programmes (Renja / RKPD, SIPD-style) in and out of CSV / XLSX files."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import typer

from gis.core import db
from gis.core.errors import PetaKotaError
from gis.core.settings import Settings

programmes_app = typer.Typer(help="A city's programmes, indicators and locations (SIPD-style Renja export): "
                                  "import and export as CSV or XLSX.", no_args_is_help=True)
CITY = typer.Option(..., "--city", help="Kemendagri code of the city whose programmes they are, e.g. 12.75")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _engine():
    return db.make_engine(Settings(), pool_size=1)


def _read_map(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        _fail(f"column map {path.name}: cannot be read ({exc.strerror or exc})")
    except ValueError as exc:
        _fail(f"column map {path.name} is not valid JSON ({exc}); expected an object such as "
              '{"namaskpd": "Nama OPD", "pagu": "Pagu Anggaran"}')


@programmes_app.command("import")
def programmes_import(
    path: Path = typer.Argument(..., help="a .csv (long form) or .xlsx (sheets program, indikator, lokasi) file; "
                                          "see docs/programmes-import.md"),
    city: str = CITY,
    column_map: Path = typer.Option(None, "--column-map", exists=True, dir_okay=False,
                                    help='JSON naming the file\'s columns, e.g. {"namaskpd": "Nama OPD"}'),
    dry_run: bool = typer.Option(False, "--dry-run", help="check only: write nothing"),
    report: Path = typer.Option(None, "--report", help="write the full report (every problem) to this JSON file"),
    by: str = typer.Option(None, "--by", help="who imports it (kept in the history); default: the system user"),
) -> None:
    """Check a programme file and, when it has no problem, write it in one transaction: programmes and
    indicators are added or updated, the locations of the programmes in the file brought to the file's; progress
    updates are never touched. Exit code 1, nothing written, when any row is bad; each is named with its row
    and code."""
    from gis.data.programmes import import_programmes

    mapping = _read_map(column_map) if column_map else None
    try:
        result = import_programmes(_engine(), path, city, by=f"programmes import ({by or getpass.getuser()})",
                                   column_map=mapping, dry_run=dry_run)
    except PetaKotaError as exc:
        _fail(exc.detail)
    if report:
        report.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=1, default=str),
                          encoding="utf-8")
    if not result.ok:
        for problem in result.problems[:50]:
            typer.echo(str(problem), err=True)
        if len(result.problems) > 50:
            typer.echo(f"... and {len(result.problems) - 50} more{' (all in ' + str(report) + ')' if report else ''}",
                       err=True)
        counts = ", ".join(f"{code} {n}" for code, n in sorted(result.counts().items()))
        _fail(f"{len(result.problems)} problem(s) in {result.rows} rows ({counts}); nothing was written")
    p, i, loc = result.programmes, result.indicators, result.locations
    typer.echo(f"{result.city}: programmes {p['inserted']} new, {p['updated']} updated, {p['unchanged']} unchanged; "
               f"indicator rows {i['inserted']} new, {i['updated']} updated, {i['unchanged']} unchanged; "
               f"locations {loc['inserted']} new, {loc['updated']} updated, {loc['removed']} removed, "
               f"{loc['unchanged']} unchanged")
    if dry_run:
        typer.echo("dry run: nothing was written")


@programmes_app.command("export")
def programmes_export(
    out: Path = typer.Argument(..., help="the file to write: .csv (long form) or .xlsx (three sheets)"),
    city: str = CITY,
    year: int = typer.Option(None, "--year", help="only this budget year (default: every year)"),
) -> None:
    """Write the city's programmes, indicators and locations in the import's layout (it imports again as is)."""
    from gis.data.programmes import export_programmes

    try:
        n = export_programmes(_engine(), city, out, year)
    except PetaKotaError as exc:
        _fail(exc.detail)
    typer.echo(f"{n['programmes']} programmes, {n['indicators']} indicator rows and {n['locations']} locations "
               f"written to {out}")
