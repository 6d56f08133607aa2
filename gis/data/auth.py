"""API keys and roles. Keys are random 256-bit tokens shown once; only their SHA-256 is stored (a slow hash
adds nothing for tokens of that entropy, and keeps each request's check cheap)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, text

from gis.core.errors import InvalidInput, NotFound

ROLES = ("anonymous", "analyst", "planner", "admin")  # each role can do what the ones before it can


@dataclass(frozen=True)
class Principal:
    name: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)

    @property
    def sees_private(self) -> bool:
        return self.can("analyst")


ANONYMOUS = Principal("anonymous", "anonymous")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(conn: Connection, name: str, role: str) -> tuple[int, str]:
    """Create a key; returns (id, the key). The key itself is not stored and cannot be shown again."""
    if role not in ROLES[1:]:
        raise InvalidInput(f"role must be one of {', '.join(ROLES[1:])}, got {role!r}")
    if not name.strip():
        raise InvalidInput("a key needs a name (who holds it, e.g. 'Dinas PUPR')")
    prefix = secrets.token_hex(4)
    key = f"pk_{prefix}_{secrets.token_urlsafe(32)}"
    key_id = conn.execute(
        text("INSERT INTO api_keys (name, role, prefix, key_hash) VALUES (:n, :r, :p, :h) RETURNING id"),
        {"n": name.strip(), "r": role, "p": prefix, "h": _hash(key)},
    ).scalar_one()
    return key_id, key


def list_keys(conn: Connection) -> list[dict]:
    rows = conn.execute(text(
        "SELECT id, name, role, prefix, created_at, revoked_at FROM api_keys ORDER BY id")).mappings()
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
        "SELECT name, role FROM api_keys WHERE key_hash = :h AND revoked_at IS NULL"), {"h": _hash(key)}).first()
    return Principal(f"{row.name} ({row.role})", row.role) if row else None
