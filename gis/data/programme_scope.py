"""Which programmes a caller sees, and whether with their private fields: the one place that says so for the
record collections, the dashboard and the programme-status process.

- anonymous callers (and keys outside their limits): programmes declared public (`publik`), public fields;
- a key naming a kecamatan (a camat): the programmes located in that kecamatan, private fields included;
- other keys of the analyst role or above: every programme of their cities (all cities if unlimited), private
  fields included, plus the public programmes elsewhere.
A programme lies in a kecamatan when one of its locations does, or one of its indicators targets that kecamatan
or one of its kelurahan/desa."""

from __future__ import annotations

from gis.data.auth import Principal

LOCATION_TABLES = ("programme_points", "programme_lines", "programme_areas")


def in_kecamatan_sql(alias: str = "programmes", param: str = "scope_kecamatan") -> str:
    """SQL true when programme `alias` lies in the kecamatan bound as :param."""
    located = " OR ".join(f"EXISTS (SELECT 1 FROM {t} l WHERE l.programme_kode = {alias}.kode "
                          f"AND l.kecamatan_kode = :{param})" for t in LOCATION_TABLES)
    targeted = (f"EXISTS (SELECT 1 FROM programme_indicators i WHERE i.programme_kode = {alias}.kode "
                f"AND (i.wilayah_kode = :{param} OR i.wilayah_kode LIKE :{param} || '.%'))")
    return f"({located} OR {targeted})"


def private_rows_sql(who: Principal, alias: str = "programmes") -> tuple[str, dict]:
    """SQL (and its parameters) true for the programmes whose private fields `who` reads; 'false' for none."""
    if not who.sees_private:
        return "false", {}
    params: dict = {}
    clauses = []
    if who.cities is not None:
        clauses.append(f"{alias}.kabkota = ANY(:scope_cities)")
        params["scope_cities"] = list(who.cities)
    if who.kecamatan is not None:
        clauses.append(in_kecamatan_sql(alias))
        params["scope_kecamatan"] = who.kecamatan
    return (" AND ".join(clauses) or "true"), params


def visible_rows_sql(who: Principal, alias: str = "programmes") -> tuple[str, dict]:
    """SQL (and its parameters) true for the programmes `who` sees at all."""
    private, params = private_rows_sql(who, alias)
    return f"({alias}.publik OR {private})", params


def may_edit(who: Principal, programme: dict) -> str | None:
    """Why `who` may not edit `programme` (a row with kodeskpd and kabkota), or None when it may."""
    if not who.can("planner"):
        return "editing programmes needs a planner key"
    if who.cities is not None and programme["kabkota"] not in who.cities:
        return f"this key may edit only in {', '.join(who.cities)}"
    if who.opd is not None and programme["kodeskpd"] != who.opd:
        return f"this key edits the programmes of OPD {who.opd} only, not of {programme['kodeskpd']}"
    if who.kecamatan is not None:
        return "a kecamatan key reads its kecamatan's programmes; it does not edit them"
    return None
