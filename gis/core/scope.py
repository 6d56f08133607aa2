"""The `city` scope of a request: `?city=12.75` or `?city=12.75,12.07` (Kemendagri codes of held kab/kota)."""

from __future__ import annotations

from collections.abc import Mapping

from gis.core.errors import InvalidInput

MAX_CITIES = 50

Scope = tuple[str, ...]  # codes, sorted and unique; empty: every city


def parse_cities(value: str | None, held: Mapping[str, str]) -> Scope:
    """The codes named in `value` (comma-separated), checked against the cities held (code -> name). An unknown
    code is refused naming the choices; nothing named means no scope (every city)."""
    codes = [c.strip() for c in (value or "").split(",") if c.strip()]
    if len(codes) > MAX_CITIES:
        raise InvalidInput(f"at most {MAX_CITIES} cities per request")
    unknown = [c for c in dict.fromkeys(codes) if c not in held]
    if unknown:
        choices = ", ".join(f"{code} ({name})" for code, name in sorted(held.items())) or "none yet"
        raise InvalidInput(f"unknown city {', '.join(repr(c[:20]) for c in unknown[:5])}: city takes the "
                           f"Kemendagri codes of the cities held, comma-separated: {choices}")
    return tuple(sorted(set(codes)))
