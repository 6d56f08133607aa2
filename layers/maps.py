"""Maps, declared once: which layers each shows, in drawing order (bottom first). The planner map shows every
layer of the catalog; a public map (embed, static PNG) lists public layers only and shows public fields only.
A map drawn for one city can show another held city or a region (`?city=`), titled by its pattern."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MapDef:
    id: str
    title_id: str
    title_en: str
    layers: tuple[str, ...]
    visible: tuple[str, ...]  # switched on when the map opens
    public: bool = True
    city: str | None = None  # the Kemendagri code of the city the map was drawn for (its title names it)
    # The title shown for another city or a region ({city}: its name or names); None keeps the title as is.
    city_title_id: str | None = None
    city_title_en: str | None = None


MAPS = {
    "binjai": MapDef(
        id="binjai",
        title_id="Peta Tata Ruang Kota Binjai",
        title_en="Binjai city planning map",
        layers=("zoning", "kelurahan", "kecamatan", "parks", "rivers", "roads", "industrial_zones",
                "project_parcels", "business_centers", "toll_gates", "kota"),
        visible=("kelurahan", "kecamatan", "parks", "rivers", "roads", "industrial_zones", "business_centers",
                 "toll_gates", "kota"),
        city="12.75",
        city_title_id="Peta Tata Ruang {city}",
        city_title_en="{city}: planning map",
    ),
    "kawasan-industri-binjai": MapDef(
        id="kawasan-industri-binjai",
        title_id="Kawasan Industri Binjai: pengadaan tanah",
        title_en="Binjai industrial estate: land acquisition",
        layers=("kelurahan", "roads", "rivers", "zoning", "projects", "project_parcels", "toll_gates"),
        visible=("kelurahan", "roads", "rivers", "projects", "project_parcels", "toll_gates"),
    ),
}
# The planner map: every layer of the catalog, the Binjai map's layers switched on.
PLANNER_ORDER = ("zoning", "kelurahan", "kecamatan", "parks", "rivers", "roads", "industrial_zones", "projects",
                 "project_parcels", "project_milestones", "business_centers", "toll_gates", "kota")
