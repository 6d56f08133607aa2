"""`petakota rdtr`: a city's official RDTR in the national data standard: import (checked, all-or-nothing),
export for GISTARU / OSS, versions, comparison and rollback."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import typer
from tqdm import tqdm

from gis.core import db
from gis.core.errors import PetaKotaError
from gis.core.settings import Settings

rdtr_app = typer.Typer(help="A city's RDTR in the national data standard (Permen ATR/BPN 14/2021).",
                       no_args_is_help=True)
LANG = typer.Option("id", "--lang", help="language of the report on the terminal: id or en")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _engine():
    return db.make_engine(Settings(), pool_size=1)


@rdtr_app.command("import")
def rdtr_import(
    path: Path = typer.Argument(..., help="the RDTR package: GeoPackage, Shapefile (or a folder of them), zip, "
                                          "or FileGDB folder"),
    city: str = typer.Option(..., help="Kemendagri code of the city whose plan it is, e.g. 12.75"),
    itbx: Path = typer.Option(None, exists=True, dir_okay=False,
                              help="the plan's ITBX table, CSV or XLSX, long form (KODSZN,KBLI,KEGIATAN,KETENTUAN,"
                                   "SYARAT) or a Perda appendix matrix; default: keep the city's current table"),
    field_map: Path = typer.Option(None, "--field-map", exists=True, dir_okay=False,
                                   help='JSON mapping standard names to the file\'s, e.g. {"KODSZN": "kode_sub"}'),
    dry_run: bool = typer.Option(False, "--dry-run", help="check only: write nothing"),
    report: Path = typer.Option(None, help="write the full report (every problem) to this JSON file"),
    by: str = typer.Option(None, help="who imports it (kept with the version); default: the system user"),
    force: bool = typer.Option(False, help="import even when the package is the active plan already"),
    max_mb: int = typer.Option(1024, "--max-mb", min=1, help="refuse packages larger than this (MB)"),
    lang: str = LANG,
) -> None:
    """Check an RDTR package and, when it has no error, make it the city's plan: the zoning, special provisions
    and ITBX are replaced in one transaction and the previous plan is kept as a dated version. Exit code 1 when
    errors were found (nothing written), 0 otherwise."""
    from gis.analyses.rdtr_checks import report_lines
    from gis.data.rdtr_files import read_field_map
    from gis.data.rdtr_import import import_plan

    try:
        mapping = read_field_map(field_map) if field_map else None
        with tqdm(total=100, desc="rdtr import", unit="%", bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
                  disable=None) as bar:
            def progress(step: str, fraction: float) -> None:
                bar.set_postfix_str(step)
                bar.update(max(0, round(fraction * 100) - bar.n))

            result = import_plan(_engine(), path, city, itbx_path=itbx, field_map=mapping, dry_run=dry_run,
                                 actor=by or getpass.getuser(), force=force, max_bytes=max_mb << 20,
                                 progress=progress)
    except PetaKotaError as exc:
        _fail(exc.detail)
    if report:
        report.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    for line in report_lines(result.problems, lang=lang):
        typer.echo(line)
    if not result.ok:
        _fail({"id": "paket memiliki galat: tidak ada yang ditulis",
               "en": "the package has errors: nothing was written"}[lang if lang == "en" else "id"])
    if dry_run:
        typer.echo({"id": "uji saja (--dry-run): tidak ada yang ditulis",
                    "en": "dry run: nothing was written"}[lang if lang == "en" else "id"])
    elif result.unchanged:
        typer.echo({"id": "rencana sama dengan yang berlaku: tidak ada yang ditulis",
                    "en": "the plan is the active one already: nothing was written"}[lang if lang == "en" else "id"])
    else:
        typer.echo(f"RDTR {result.city} v{result.version}: {result.zones} zona/zones, {result.overlays} "
                   f"ketentuan khusus/special-provision areas, {result.itbx_rows} ITBX")


@rdtr_app.command("export")
def rdtr_export(
    city: str = typer.Option(..., help="Kemendagri code of the city, e.g. 12.75"),
    out: Path = typer.Option(..., help="FILE.gpkg or FILE.shp (overlays and the ITBX CSV are written next to it)"),
    version: int = typer.Option(None, help="a kept version (default: the active plan)"),
) -> None:
    """Write the city's plan in the standard's field names, for GISTARU / OSS submission."""
    from gis.data.rdtr_import import export_plan

    try:
        written = export_plan(_engine(), city, out, version)
    except PetaKotaError as exc:
        _fail(exc.detail)
    overlays = ", ".join(f"{code} {n}" for code, n in written["overlays"].items()) or "-"
    typer.echo(f"{out}: {written['zones']} zones; overlays: {overlays}; ITBX {written['itbx_rows']} rows in "
               f"{written['itbx']}")


@rdtr_app.command("versions")
def rdtr_versions(city: str = typer.Option(..., help="Kemendagri code of the city")) -> None:
    """The city's plan versions: when, by whom, from which file; * marks the active one."""
    from gis.data.rdtr_plans import versions

    with _engine().connect() as conn:
        found = versions(conn, city)
    if not found:
        typer.echo(f"{city}: no RDTR imported yet")
    for v in found:
        typer.echo(f"{'*' if v.active else ' '} v{v.version}  {v.imported_at[:19]}  {v.imported_by}  "
                   f"{v.zones} zones  {v.source or ''}")


@rdtr_app.command("compare")
def rdtr_compare(city: str = typer.Option(..., help="Kemendagri code of the city"),
                 a: int = typer.Option(..., "--from", help="older version"),
                 b: int = typer.Option(..., "--to", help="newer version")) -> None:
    """Hectares per sub-zone in two versions and the sub-blocks added, removed or changed."""
    from gis.data.rdtr_import import city_of
    from gis.data.rdtr_plans import compare

    try:
        engine = _engine()
        srid = city_of(engine, city).metric_crs or 32647
        with engine.connect() as conn:
            diff = compare(conn, city, a, b, srid)
    except PetaKotaError as exc:
        _fail(exc.detail)
    typer.echo(f"{city} v{a} -> v{b}: {diff['added']} added, {diff['removed']} removed, {diff['changed']} changed "
               "sub-blocks")
    for z in diff["zones"]:
        if abs(z["change_ha"]) >= 0.01:
            typer.echo(f"  {z['kodszn']:<8} {z['ha_a']:>10.2f} ha -> {z['ha_b']:>10.2f} ha ({z['change_ha']:+.2f})")


@rdtr_app.command("rollback")
def rdtr_rollback(city: str = typer.Option(..., help="Kemendagri code of the city"),
                  version: int = typer.Option(..., "--to", help="the version to make active again"),
                  by: str = typer.Option(None, help="who rolls back; default: the system user")) -> None:
    """Make a kept version the city's plan again (zoning, special provisions and ITBX, in one transaction)."""
    from gis.data.rdtr_plans import rollback

    try:
        with _engine().begin() as conn:
            rollback(conn, city, version, actor=by or getpass.getuser())
    except PetaKotaError as exc:
        _fail(exc.detail)
    typer.echo(f"{city}: RDTR v{version} is active")
