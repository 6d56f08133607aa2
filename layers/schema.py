"""The shape of a layer declaration. Every layer of the catalog is one `Layer`; everything else
(tables, migrations' consistency check, API, maps) reads these declarations."""

from __future__ import annotations

from dataclasses import dataclass, field

# Field types a layer may declare, and the SQL type each is stored as.
FIELD_SQL_TYPES = {
    "text": "text",
    "integer": "integer",
    "bigint": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "date": "date",
}

GEOMETRY_TYPES = ("Point", "MultiPoint", "MultiLineString", "MultiPolygon")

BOUNDARY_ATTRIBUTION = "Batas wilayah: cahyadsn/wilayah_boundaries (MIT), after Badan Informasi Geospasial"
ILLUSTRATIVE_ATTRIBUTION = "Data ilustratif (dibuat oleh PetaKota), bukan data resmi / illustrative, not official"


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    title_id: str
    title_en: str
    public: bool = True
    required: bool = False
    # Allowed values, for coded fields (status, class); validated on write.
    choices: tuple[str, ...] = ()
    # Derived by the database (e.g. area_ha), never taken from a client.
    computed: bool = False
    # What a coded value means, for people: (value, Bahasa Indonesia, English). Fields coloured by the style
    # take their legend's labels instead (Layer.value_labels).
    labels: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.type not in FIELD_SQL_TYPES:
            raise ValueError(f"field {self.name}: unknown type {self.type!r}")


@dataclass(frozen=True)
class LegendEntry:
    label_id: str
    label_en: str
    color: str
    value: str | None = None  # the value of `Style.by` this entry colours; None for a single-colour layer


@dataclass(frozen=True)
class Style:
    """Map style as declared: a single colour, or one colour per value of a field (`by`). Renderers read the
    normalised form built from it (gis/render/style_spec.py), never these fields directly."""

    color: str
    fill_opacity: float = 0.5
    weight: float = 1.5
    by: str | None = None
    legend: tuple[LegendEntry, ...] = ()


@dataclass(frozen=True)
class Layer:
    id: str
    title_id: str
    title_en: str
    geometry_type: str
    fields: tuple[Field, ...]
    style: Style
    source: str
    illustrative: bool
    # Anonymous users see a public layer, and only its public fields.
    public: bool = True
    # Unique natural key (e.g. Kemendagri code); loaders upsert on it.
    key: str | None = None
    # Field holding the feature's date, for `datetime` filtering.
    time_field: str | None = None
    description_id: str = ""
    description_en: str = ""
    min_zoom: int = 0
    # Small features matter (a park, a business centre): tiles draw them at a minimum size at every zoom
    # instead of dropping what is smaller than a pixel.
    keep_small_features: bool = False
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.geometry_type not in GEOMETRY_TYPES:
            raise ValueError(f"layer {self.id}: unknown geometry type {self.geometry_type!r}")
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError(f"layer {self.id}: duplicate field names")
        if self.key and self.key not in names:
            raise ValueError(f"layer {self.id}: key {self.key!r} is not a field")

    @property
    def public_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.public)

    @property
    def private_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.public)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def value_labels(self, name: str) -> dict[str, tuple[str, str]]:
        """value -> (Bahasa Indonesia, English) of a coded field: its declared labels, else the legend entries of
        the style when the style colours by that field; empty for a field without either."""
        declared = {value: (label_id, label_en) for value, label_id, label_en in self.field(name).labels}
        if declared or self.style.by != name:
            return declared
        return {e.value: (e.label_id, e.label_en) for e in self.style.legend if e.value is not None}

    @property
    def is_polygon(self) -> bool:
        return self.geometry_type.endswith("Polygon")

    def to_dict(self, include_private: bool = False) -> dict:
        fields = self.fields if include_private else self.public_fields
        return {
            "id": self.id,
            "title": {"id": self.title_id, "en": self.title_en},
            "description": {"id": self.description_id, "en": self.description_en},
            "geometry_type": self.geometry_type,
            "illustrative": self.illustrative,
            "public": self.public,
            "source": self.source,
            "key": self.key,
            "time_field": self.time_field,
            "keep_small_features": self.keep_small_features,
            "fields": [
                {
                    "name": f.name,
                    "type": f.type,
                    "title": {"id": f.title_id, "en": f.title_en},
                    "public": f.public,
                    "required": f.required,
                    "computed": f.computed,
                    **({"choices": list(f.choices)} if f.choices else {}),
                    **({"labels": {v: {"id": i, "en": e} for v, i, e in f.labels}} if f.labels else {}),
                }
                for f in fields
            ],
            "style": {
                "color": self.style.color,
                "fill_opacity": self.style.fill_opacity,
                "weight": self.style.weight,
                "by": self.style.by,
            },
            "legend": [
                {"label": {"id": e.label_id, "en": e.label_en}, "color": e.color, "value": e.value}
                for e in self.style.legend
            ],
        }


def _labels_from_dict(name: str, labels) -> tuple[tuple[str, str, str], ...]:
    """A field's labels as stored, {value: {"id": ..., "en": ...}}, checked."""
    if not labels:
        return ()
    ok = isinstance(labels, dict) and all(
        isinstance(t, dict) and isinstance(t.get("id"), str) and isinstance(t.get("en"), str) for t in labels.values())
    if not ok:
        raise ValueError(f"field {name}: labels must map each value to its labels, "
                         f'{{"value": {{"id": "...", "en": "..."}}}}')
    return tuple((str(v), t["id"], t["en"]) for v, t in labels.items())


def layer_from_dict(d: dict) -> Layer:
    """The inverse of `Layer.to_dict(include_private=True)`: a declaration stored as JSON (runtime layers)."""
    legend = tuple(LegendEntry(e["label"]["id"], e["label"]["en"], e["color"], e.get("value"))
                   for e in d.get("legend", ()))
    style = d.get("style") or {}
    return Layer(
        id=d["id"],
        title_id=d["title"]["id"],
        title_en=d["title"]["en"],
        description_id=(d.get("description") or {}).get("id", ""),
        description_en=(d.get("description") or {}).get("en", ""),
        geometry_type=d["geometry_type"],
        fields=tuple(
            Field(f["name"], f["type"], f["title"]["id"], f["title"]["en"], public=f.get("public", True),
                  required=f.get("required", False), choices=tuple(f.get("choices", ())),
                  computed=f.get("computed", False),
                  labels=_labels_from_dict(f["name"], f.get("labels")))
            for f in d["fields"]
        ),
        style=Style(color=style.get("color", "#3388ff"), fill_opacity=style.get("fill_opacity", 0.5),
                    weight=style.get("weight", 1.5), by=style.get("by"), legend=legend),
        source=d.get("source", ""),
        illustrative=d.get("illustrative", False),
        public=d.get("public", True),
        key=d.get("key"),
        time_field=d.get("time_field"),
        keep_small_features=bool(d.get("keep_small_features", False)),
    )
