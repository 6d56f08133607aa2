"""API keys and roles. Keys are random 256-bit tokens shown once; only their SHA-256 is stored (a slow hash
adds nothing for tokens of that entropy, and keeps each request's check cheap).

A key may be limited to cities (Kemendagri kab/kota codes) and to layers: "Dinas PUPR Binjai edits zoning in
12.75 only". Outside its limits a key reads what anonymous callers read and writes nothing. Whether a feature
lies in a city is decided in the database (gis/data/key_scope.py)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, text

from gis.core.errors import InvalidInput, NotFound
from gis.data.registry import load_catalog

ROLES = ("anonymous", "analyst", "planner", "admin")  # each role can do what the ones before it can
CITY_CODE = re.compile(r"^\d{2}\.\d{2}$")  # Kemendagri kab/kota code: province.city, e.g. 12.75
KECAMATAN_CODE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")  # e.g. 12.75.01
OPD_CODE = re.compile(r"^[0-9A-Za-z.\-]{1,40}$")  # SIPD kodeskpd, e.g. 1.03.0.00.0.00.01.0000


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    cities: tuple[str, ...] | None = None  # None: every city
    layers: tuple[str, ...] | None = None  # None: every layer
    opd: str | None = None  # kodeskpd: the key edits that OPD's programmes only
    kecamatan: str | None = None  # Kemendagri kecamatan code: the key sees that kecamatan's programmes (a camat)

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)

    @property
    def sees_private(self) -> bool:
        """The role reads private layers and fields (where the key's limits allow)."""
        return self.can("analyst")

    @property
    def limited(self) -> bool:
        return self.cities is not None or self.layers is not None

    @property
    def reads_all_private(self) -> bool:
        """Reads every private field of every layer in every city (a key without limits)."""
        return self.sees_private and not self.limited

    def may_read_layer(self, layer_id: str) -> bool:
        """Reads the layer's private part (the layer if private, its private fields) - in its cities only, if
        the key is limited to cities. A camat's key (naming a kecamatan) reads its kecamatan's programmes
        (gis/data/programme_scope.py) and of the layers what the public reads: no layer row knows its
        kecamatan the way a programme does."""
        return self.sees_private and self.kecamatan is None and (self.layers is None or layer_id in self.layers)

    def sees_layer(self, layer) -> bool:
        return layer.public or self.may_read_layer(layer.id)

    def reads_private_everywhere(self, layer_id: str) -> bool:
        """Reads the layer's private fields in every feature (no city limit to check row by row)."""
        return self.may_read_layer(layer_id) and self.cities is None

    def may_write_layer(self, layer_id: str) -> bool:
        return self.can("planner") and (self.layers is None or layer_id in self.layers)

    def may_write_in(self, city: str | None) -> bool:
        """May write a feature lying in `city` (None: a feature in no known city)."""
        return self.cities is None or city in self.cities

    def may_write(self, layer_id: str, city: str | None) -> bool:
        return self.may_write_layer(layer_id) and self.may_write_in(city)


ANONYMOUS = Principal("anonymous", "anonymous")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _limit(values: Iterable[str] | None, what: str) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise InvalidInput(f"{what} must be a list of strings, or left out for every one")
    out = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if not out:
        raise InvalidInput(f"a key limited to no {what} could do nothing: name at least one, or leave {what} out "
                           f"for every one")
    return out


def _named(value: str | None, what: str, pattern: re.Pattern) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.match(value.strip()):
        raise InvalidInput(f"{what} is not a valid code: {str(value)[:60]!r}")
    return value.strip()


def check_cities(cities: Iterable[str] | None) -> list[str] | None:
    cities = _limit(cities, "cities")
    bad = [c for c in cities or () if not CITY_CODE.match(c)]
    if bad:
        raise InvalidInput(f"not Kemendagri kab/kota codes (like 12.75): {', '.join(map(repr, bad))}")
    return cities


def check_layers(conn: Connection, layers: Iterable[str] | None) -> list[str] | None:
    layers = _limit(layers, "layers")
    known = load_catalog(conn)
    unknown = [name for name in layers or () if name not in known]
    if unknown:
        raise InvalidInput(f"no layers {', '.join(repr(n[:60]) for n in unknown)}; "
                           f"layers: {', '.join(sorted(known))}")
    return layers


def create_key(conn: Connection, name: str, role: str, cities: Iterable[str] | None = None,
               layers: Iterable[str] | None = None, opd: str | None = None,
               kecamatan: str | None = None) -> tuple[int, str]:
    """Create a key, optionally limited to cities and layers, naming an OPD or a kecamatan; returns (id, the
    key). The key itself is not stored and cannot be shown again."""
    if role not in ROLES[1:]:
        raise InvalidInput(f"role must be one of {', '.join(ROLES[1:])}, got {role!r}")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a key needs a name (who holds it, e.g. 'Dinas PUPR')")
    cities, layers = check_cities(cities), check_layers(conn, layers)
    prefix = secrets.token_hex(4)
    key = f"pk_{prefix}_{secrets.token_urlsafe(32)}"
    key_id = conn.execute(
        text("INSERT INTO api_keys (name, role, prefix, key_hash, cities, layers, opd, kecamatan) "
             "VALUES (:n, :r, :p, :h, :c, :l, :o, :k) RETURNING id"),
        {"n": name.strip(), "r": role, "p": prefix, "h": _hash(key), "c": cities, "l": layers,
         "o": _named(opd, "opd", OPD_CODE), "k": _named(kecamatan, "kecamatan", KECAMATAN_CODE)},
    ).scalar_one()
    return key_id, key


def list_keys(conn: Connection, key_id: int | None = None) -> list[dict]:
    """Every key (or the one with `key_id`), without its hash."""
    rows = conn.execute(text(
        "SELECT id, name, role, prefix, cities, layers, opd, kecamatan, created_at, revoked_at FROM api_keys "
        "WHERE CAST(:id AS integer) IS NULL OR id = :id ORDER BY id"), {"id": key_id}).mappings()
    return [dict(r) for r in rows]


def revoke_key(conn: Connection, key_id: int) -> None:
    done = conn.execute(text(
        "UPDATE api_keys SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL"), {"id": key_id}).rowcount
    if not done:
        raise NotFound(f"no active API key with id {key_id}")


def principal_for(conn: Connection, key: str) -> Principal | None:
    """The holder of a valid, unrevoked key, or None."""
    if not key.startswith("pk_") or len(key) > 200:
        return None
    row = conn.execute(text(
        "SELECT name, role, cities, layers, opd, kecamatan FROM api_keys "
        "WHERE key_hash = :h AND revoked_at IS NULL"),
        {"h": _hash(key)}).first()
    if row is None:
        return None
    return Principal(f"{row.name} ({row.role})", row.role, tuple(row.cities) if row.cities is not None else None,
                     tuple(row.layers) if row.layers is not None else None, row.opd, row.kecamatan)
