"""`petakota metadata`: show, edit and export the metadata record (Satu Data) of a layer or raster."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import typer

from gis.core.errors import PetaKotaError

metadata_app = typer.Typer(help="Metadata records (Satu Data) of layers and rasters: show, edit, export as ISO "
                                "19139 XML or DCAT JSON-LD. A layer's record id is the layer id, a raster's "
                                "raster-<raster id>.", no_args_is_help=True)
RECORD = typer.Argument(..., help="record id: a layer id (zoning) or raster-<raster id> (raster-slope)")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _context():
    from gis.core import db
    from gis.core.settings import Settings
    from gis.data.catalog import CatalogService

    settings = Settings()
    engine = db.make_engine(settings, pool_size=1)
    return settings, CatalogService(engine, ttl=0, count_budget_ms=settings.count_budget_ms)


def _record(record_id: str) -> dict:
    from gis.data import metadata
    from gis.data.auth import Principal

    settings, catalog = _context()
    records = metadata.records_for(catalog, Principal("petakota metadata", "admin"), settings.data_dir,
                                   settings.city.name)
    return metadata.find(records, record_id)


@metadata_app.command("show")
def show(record_id: str = RECORD) -> None:
    """Print the record as JSON (defaults from the declarations and the data, with the edits laid over them;
    `edited` names the members an admin has set)."""
    try:
        typer.echo(json.dumps(_record(record_id), indent=2, ensure_ascii=False))
    except PetaKotaError as exc:
        _fail(str(exc))


def _words(value: str | None) -> list[str] | None:
    return None if value is None else [w.strip() for w in value.split(",") if w.strip()]


def _extent(value: str | None):
    if value is None:
        return None
    try:
        return [float(v) for v in value.split(",")]
    except ValueError:
        _fail("--extent must be west,south,east,north in degrees, e.g. 98.44,3.55,98.55,3.67")


@metadata_app.command("set")
def set_(
    record_id: str = RECORD,
    title_id: str = typer.Option(None, help="title in Bahasa Indonesia"),
    title_en: str = typer.Option(None, help="title in English"),
    abstract_id: str = typer.Option(None, help="abstract in Bahasa Indonesia"),
    abstract_en: str = typer.Option(None, help="abstract in English"),
    keywords: str = typer.Option(None, help="comma-separated keywords"),
    topic_category: str = typer.Option(None, help="ISO 19115 topic category, e.g. planningCadastre"),
    extent: str = typer.Option(None, help="west,south,east,north (lon/lat); default: the data's"),
    temporal_start: str = typer.Option(None, help="YYYY-MM-DD"),
    temporal_end: str = typer.Option(None, help="YYYY-MM-DD"),
    lineage: str = typer.Option(None, help="where the data come from and how they were made"),
    licence: str = typer.Option(None, help="an SPDX id (CC-BY-4.0) or the licence's address"),
    contact_opd: str = typer.Option(None, help="the OPD responsible, e.g. Dinas PUPR Kota Binjai"),
    contact_role: str = typer.Option(None, help="ISO 19115 role, e.g. custodian, pointOfContact"),
    contact_email: str = typer.Option(None, help="the contact's e-mail"),
    contact_email_public: bool = typer.Option(None, "--contact-email-public/--contact-email-private",
                                              help="whether anonymous callers see the e-mail (default: not)"),
    update_frequency: str = typer.Option(None, help="ISO 19115 maintenance frequency, e.g. annually"),
    scale_denominator: int = typer.Option(None, help="e.g. 5000 for 1:5,000"),
    resolution_m: float = typer.Option(None, help="pixel size or positional resolution in metres"),
    illustrative: bool = typer.Option(None, "--illustrative/--official", help="illustrative or official data"),
    reset: list[str] = typer.Option([], help="a member to put back to its default (repeatable): licence, "
                                             "contact, title, ..."),
    by: str = typer.Option(None, help="who edits (kept in the history); default: the system user"),
) -> None:
    """Change members of a record; the others keep their value. Checked like the admin API."""
    from gis.data import metadata

    nested = {"title": {"id": title_id, "en": title_en}, "abstract": {"id": abstract_id, "en": abstract_en},
              "temporal": {"start": temporal_start, "end": temporal_end},
              "contact": {"opd": contact_opd, "role": contact_role, "email": contact_email,
                          "email_public": contact_email_public}}
    flat = {"keywords": _words(keywords), "topic_category": topic_category, "extent": _extent(extent),
            "lineage": lineage, "licence": licence, "update_frequency": update_frequency,
            "scale_denominator": scale_denominator, "resolution_m": resolution_m, "illustrative": illustrative}
    patch = {k: {s: v for s, v in d.items() if v is not None} for k, d in nested.items()}
    patch = {k: v for k, v in patch.items() if v}
    patch.update({k: v for k, v in flat.items() if v is not None})
    patch.update({member: None for member in reset})
    if not patch:
        _fail("nothing to change: give at least one option (see --help)")
    try:
        settings, catalog = _context()
        resource = metadata.resource_for(catalog, record_id)
        with catalog.engine.begin() as conn:
            metadata.apply_patch(conn, resource, patch, f"metadata set ({by or getpass.getuser()})")
    except PetaKotaError as exc:
        _fail(str(exc))
    typer.echo(f"{record_id}: {', '.join(patch)} changed")


@metadata_app.command("export")
def export(
    record_id: str = RECORD,
    format: str = typer.Option("iso", "--format", help="iso (ISO 19139 XML) or dcat (DCAT JSON-LD)"),
    base_url: str = typer.Option("http://localhost:8000", help="the service's public address, for the links"),
    output: Path = typer.Option(None, "--output", "-o", help="file to write; default: standard output"),
) -> None:
    """Write a record as ISO 19139 XML or DCAT JSON-LD, e.g. to send to a geoportal by hand."""
    from gis.render.metadata_records import dcat_record, iso_document

    if format not in ("iso", "dcat"):
        _fail(f"--format {format!r} is not offered; use iso or dcat")
    try:
        record = _record(record_id)
    except PetaKotaError as exc:
        _fail(str(exc))
    base = base_url.rstrip("/")
    if format == "iso":
        data = iso_document(record, base)
    else:
        data = json.dumps(dcat_record(record, base), indent=2, ensure_ascii=False).encode()
    if output:
        output.write_bytes(data)
        typer.echo(f"{record_id}: written to {output}")
    else:
        typer.echo(data.decode())
