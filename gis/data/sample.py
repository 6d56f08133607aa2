"""Loading the Binjai sample city: real boundaries + generated, illustrative layers and rasters."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, text

from gis.core.settings import Settings
from gis.data import store
from layers.sample.generate import build
from layers.sample.rasters import write_rasters


def is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return store.count(conn, "kelurahan") == 0


def load_sample(engine: Engine, settings: Settings, progress: Callable[[str], None] = lambda step: None) -> dict:
    """Replace the sample city's layers in one transaction (so loading twice never duplicates).
    Returns the number of features per layer."""
    progress("generating layers")
    city = build()
    progress("writing rasters")
    raster_rows = write_rasters(city, settings.raster_dir, settings.city.population)
    counts = {}
    with engine.begin() as conn:
        for layer_id, gdf in city.all_layers().items():
            progress(f"loading {layer_id}")
            if layer_id == "project_parcels":
                counts[layer_id] = _load_parcels_with_history(conn, gdf)
            else:
                counts[layer_id] = store.replace_features(conn, layer_id, gdf)
        progress("loading ITBX and raster registry")
        conn.execute(text("DELETE FROM itbx"))
        store.write_rows(conn, "itbx", city.itbx, key=("kode_zona", "kegiatan"))
        store.write_rows(conn, "rasters", raster_rows, key=("id",))
    return counts


def _load_parcels_with_history(conn, parcels) -> int:
    """Insert each parcel at its first acquisition status, then apply its later statuses as edits in date
    order, so the edit history carries the acquisition timeline (project-progress reads it)."""
    first = parcels.assign(status=[steps[0][0] for steps in parcels.status_steps],
                           status_date=[steps[0][1] for steps in parcels.status_steps])
    n = store.replace_features(conn, "project_parcels", first)
    conn.execute(text("SELECT set_config('petakota.actor', 'sample loader', true)"))
    later = sorted((day, parcel_id, status) for parcel_id, steps in zip(parcels.parcel_id, parcels.status_steps,
                                                                         strict=True) for status, day in steps[1:])
    if later:
        conn.execute(text("UPDATE project_parcels SET status = :s, status_date = :d WHERE parcel_id = :p"),
                     [{"s": status, "d": day, "p": parcel_id} for day, parcel_id, status in later])
    return n
