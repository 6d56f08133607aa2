"""How each raster is drawn: a named colormap stretched over its value range (continuous), or one colour per
class (categorical). Declared once here; tiles and legends read it."""

LAND_COVER_CLASSES = {
    1: ("Lahan terbangun", "Built-up", "#D7191C"),
    2: ("Perkebunan", "Plantation", "#A6D96A"),
    3: ("Sawah / pertanian", "Rice field / farmland", "#FFFFBF"),
    4: ("Vegetasi / pohon", "Trees", "#1A9641"),
    5: ("Badan air", "Water", "#2B83BA"),
    6: ("Lahan terbuka", "Cleared land", "#FDAE61"),
}
FLOOD_CLASSES = {1: ("Rendah", "Low", "#FFFFB2"), 2: ("Sedang", "Medium", "#FD8D3C"), 3: ("Tinggi", "High", "#BD0026")}

# raster id -> style. `colormap` names a rio-tiler colormap; `classes` maps value -> (label id, label en, colour).
RASTER_STYLES = {
    "elevation": {"colormap": "terrain"},
    "slope": {"colormap": "rdylgn_r"},
    "flood_hazard": {"classes": FLOOD_CLASSES},
    "landcover_2019": {"classes": LAND_COVER_CLASSES},
    "landcover_2024": {"classes": LAND_COVER_CLASSES},
    "population": {"colormap": "ylorrd"},
}
DEFAULT_STYLE = {"colormap": "viridis"}
