"""Where a key limited to cities may read private fields and write: the city a feature lies in; and what a key
naming an OPD or a kecamatan may write.

A feature lies in the kab/kota stored in its row (`kabkota`, kept by the database from codes or geometry): one
city per feature, even for one straddling a border, and the same rule for reads and writes.
`city_of_row_sql` is the only place that says so.

A key naming an OPD (kodeskpd) writes only features of layers with a `kodeskpd` field (the programme locations)
whose stored and new `kodeskpd` is its OPD; a key naming a kecamatan (a camat's) writes nothing."""

from __future__ import annotations

from sqlalchemy import Connection, text

from gis.core.errors import Forbidden
from gis.data.auth import Principal
from layers.schema import Layer
from layers.tables import CITY_COLUMN

CITIES_PARAM = "scope_cities"  # the bound parameter holding the key's city codes
OPD_FIELD = "kodeskpd"  # the field saying which OPD a feature belongs to


def city_of_row_sql(table: str) -> str:
    """SQL for the Kemendagri code of the city a row of `table` lies in (NULL: in no city held)."""
    return f"{table}.{CITY_COLUMN}"


def row_in_cities_sql(table: str) -> str:
    """SQL true when a row of `table` lies in one of the cities bound as :scope_cities."""
    return f"coalesce({city_of_row_sql(table)} = ANY(:{CITIES_PARAM}), false)"


def city_of(conn: Connection, layer: Layer, fid: int) -> tuple[bool, str | None]:
    """(whether feature `fid` exists, the city it lies in)."""
    row = conn.execute(text(f"SELECT {city_of_row_sql(layer.id)} AS city FROM {layer.id} WHERE id = :id"),
                       {"id": fid}).first()
    return (row is not None, row.city if row else None)


def has_opd_field(layer: Layer) -> bool:
    return any(f.name == OPD_FIELD for f in layer.fields)


def check_layer(who: Principal, layer: Layer) -> None:
    if not who.may_write_layer(layer.id):
        raise Forbidden(f"this key may edit only the layers {', '.join(who.layers or ())}, "
                        f"not {layer.id!r}")
    if who.kecamatan is not None:
        raise Forbidden(f"a kecamatan key ({who.kecamatan}) reads its kecamatan's data; it edits nothing")
    if who.opd is not None and not has_opd_field(layer):
        raise Forbidden(f"a key of OPD {who.opd} edits only its programmes and their locations (layers with a "
                        f"{OPD_FIELD} field), not {layer.id!r}")


def check_city(conn: Connection, who: Principal, layer: Layer, fid: int, which: str) -> None:
    """Refuse when feature `fid` lies outside the key's cities, or (a key naming an OPD) belongs to another OPD.
    `which` says what is checked: "stored" (before the write), "changed" (after it) or "new" (a feature being
    created, whose id will not be kept)."""
    what = f"the new feature of {layer.id!r}" if which == "new" else f"the {which} feature {fid} of {layer.id!r}"
    if who.cities is not None:
        exists, city = city_of(conn, layer, fid)
        if exists and not who.may_write_in(city):
            where = f"in city {city}" if city else "outside every city held"
            raise Forbidden(f"{what} lies {where}; this key may edit only in {', '.join(who.cities)}")
    if who.opd is not None:
        row = conn.execute(text(f"SELECT {OPD_FIELD} AS opd FROM {layer.id} WHERE id = :id"), {"id": fid}).first()
        if row is not None and row.opd != who.opd:
            owner = f"OPD {row.opd}" if row.opd else "no OPD"
            raise Forbidden(f"{what} belongs to {owner}; this key edits only the features of OPD {who.opd} "
                            f"({OPD_FIELD} = {who.opd!r})")


def reads_private_of(conn: Connection, who: Principal, layer: Layer, fid: int) -> bool:
    """Whether the caller reads the private fields of feature `fid` (an edit history, a single feature)."""
    if who.reads_private_everywhere(layer.id):
        return True
    if not who.may_read_layer(layer.id):
        return False
    exists, city = city_of(conn, layer, fid)
    return exists and city in (who.cities or ())
