"""Roads, toll gates and rivers (generated, illustrative: no open geometry exists for Binjai)."""

from layers.schema import ILLUSTRATIVE_ATTRIBUTION, Field, Layer, LegendEntry, Style

ROAD_CLASSES = ("toll", "arterial", "collector", "local")

ROADS = Layer(
    id="roads",
    title_id="Jaringan jalan",
    title_en="Roads",
    geometry_type="MultiLineString",
    fields=(
        Field("nama", "text", "Nama jalan", "Road name"),
        Field("road_class", "text", "Kelas jalan", "Road class", required=True, choices=ROAD_CLASSES),
    ),
    style=Style(
        color="#EB1E1E",
        weight=2,
        by="road_class",
        legend=(
            LegendEntry("Jalan tol", "Toll road", "#B3001B", "toll"),
            LegendEntry("Jalan arteri", "Arterial road", "#EB1E1E", "arterial"),
            LegendEntry("Jalan kolektor", "Collector road", "#F28C28", "collector"),
            LegendEntry("Jalan lokal", "Local road", "#B0B0B0", "local"),
        ),
    ),
    source=ILLUSTRATIVE_ATTRIBUTION,
    illustrative=True,
)

TOLL_GATES = Layer(
    id="toll_gates",
    title_id="Gerbang tol",
    title_en="Toll gates",
    geometry_type="Point",
    fields=(
        Field("nama", "text", "Nama gerbang", "Gate name", required=True),
        Field("ruas", "text", "Ruas tol", "Toll section"),
    ),
    style=Style(color="#B3001B", fill_opacity=1.0),
    source=ILLUSTRATIVE_ATTRIBUTION,
    illustrative=True,
)

RIVERS = Layer(
    id="rivers",
    title_id="Sungai",
    title_en="Rivers",
    geometry_type="MultiLineString",
    fields=(
        Field("nama", "text", "Nama sungai", "River name"),
        Field("depth_class", "text", "Kelas kedalaman", "Depth class", required=True,
              choices=("<=3m", "3-20m", ">20m"),
              labels=(("<=3m", "Dangkal (≤ 3 m)", "Shallow (≤ 3 m)"), ("3-20m", "Sedang (3-20 m)", "Medium (3-20 m)"),
                      (">20m", "Dalam (> 20 m)", "Deep (> 20 m)"))),
        Field("embanked", "boolean", "Bertanggul", "Embanked"),
        Field("setback_m", "number", "Garis sempadan (m)", "Setback (m)"),
    ),
    style=Style(color="#1E6FD9", weight=3),
    source=ILLUSTRATIVE_ATTRIBUTION,
    illustrative=True,
)
