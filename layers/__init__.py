"""The layer catalog: every layer declared once. `CATALOG` maps collection id -> Layer."""

from layers.assets import ASSETS
from layers.boundaries import KECAMATAN, KELURAHAN, KOTA
from layers.network import RIVERS, ROADS, TOLL_GATES
from layers.planning import BUSINESS_CENTERS, INDUSTRIAL_ZONES, PARKS, ZONING, ZONING_OVERLAYS
from layers.programmes import PROGRAMME_AREAS, PROGRAMME_LINES, PROGRAMME_POINTS
from layers.projects import PROJECT_MILESTONES, PROJECT_PARCELS, PROJECTS
from layers.schema import Field, Layer, LegendEntry, Style

CATALOG: dict[str, Layer] = {
    layer.id: layer
    for layer in (
        KOTA, KECAMATAN, KELURAHAN, ZONING, ZONING_OVERLAYS, INDUSTRIAL_ZONES, PARKS, BUSINESS_CENTERS,
        PROJECTS, PROJECT_PARCELS, PROJECT_MILESTONES, ROADS, TOLL_GATES, RIVERS, ASSETS,
        PROGRAMME_POINTS, PROGRAMME_LINES, PROGRAMME_AREAS,
    )
}

__all__ = ["CATALOG", "Field", "Layer", "LegendEntry", "Style"]
