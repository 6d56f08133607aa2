"""The feature writer: each create, replace, patch, delete or restore is one unit of work. It validates the
input against the layer declaration, runs the write in one transaction under the caller's name (the database
triggers record the history and bump the version), and after the commit tells the caches that the layer
changed (so the next tile is fresh). Nothing is written when any step fails.

The actor is a name (trusted callers: imports, scripts) or the `Principal` of an API key: a key limited to
layers or cities, or naming an OPD, is checked inside the same transaction, against the stored feature before
the write and the new one after it, so a refused write leaves neither the feature nor its history changed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from gis.core.crs import Crs
from gis.core.crs import parse as parse_crs
from gis.core.errors import InvalidInput
from gis.data import edits, key_scope
from gis.data.auth import Principal
from gis.data.cities import inside_cities
from gis.data.edits import Expected
from layers.schema import Layer

# The CRS of GeoJSON (RFC 7946) when the client names none.
CRS84 = parse_crs(None, 0)


# Who writes: a trusted name, or the holder of an API key (whose limits are checked).
Actor = str | Principal


@dataclass(frozen=True)
class Written:
    """The feature a write left behind: its id and new version (None once deleted)."""

    id: int
    version: int | None


@dataclass(frozen=True)
class GeometryInput:
    """How to read an incoming geometry: its CRS (Content-Crs) and whether an invalid one may be repaired."""

    crs: Crs = CRS84
    repair: bool = False


def _key_holder(layer: Layer, actor: Actor) -> Principal | None:
    """The key's holder when the actor is one (refused here if the key may not edit `layer`), else None."""
    if not isinstance(actor, Principal):
        return None
    key_scope.check_layer(actor, layer)
    return actor


class FeatureWriter:
    def __init__(self, engine: Engine, on_commit: Sequence[Callable[[str], None]] = ()):
        self.engine = engine
        # Called with the layer id after every committed write; a live list, so hooks added later count.
        self.on_commit = on_commit

    def create(self, layer: Layer, feature, actor: Actor, geometry: GeometryInput = GeometryInput()) -> Written:
        _key_holder(layer, actor)  # a layer the key may not edit is refused before its input is read
        props, geom = self._feature(layer, edits.require_feature(feature), geometry, partial=False)
        return self._unit(layer, actor, lambda conn: Written(*edits.create(conn, layer, props, geom)))

    def replace(self, layer: Layer, fid: int, feature, expected: Expected, actor: Actor,
                geometry: GeometryInput = GeometryInput()) -> Written:
        """PUT: every writable property is set (absent ones to null), so private ones must be named."""
        _key_holder(layer, actor)  # a layer the key may not edit is refused before its input is read
        feature = edits.require_feature(feature)
        edits.require_private_fields(layer, feature.get("properties"))
        props, geom = self._feature(layer, feature, geometry, partial=False)
        return self._unit(layer, actor,
                          lambda conn: Written(fid, edits.update(conn, layer, fid, props, geom, expected)), fid)

    def patch(self, layer: Layer, fid: int, patch, expected: Expected, actor: Actor, merge: bool,
              geometry: GeometryInput = GeometryInput()) -> Written:
        """PATCH with a JSON Merge Patch (`merge`) or a partial Feature: only the named properties change."""
        _key_holder(layer, actor)  # a layer the key may not edit is refused before its input is read
        if merge:
            props, geojson = edits.merge_patch_members(patch)
            patch = {"properties": props, "geometry": geojson}
        else:
            patch = edits.require_feature(patch, " or a merge patch sent as application/merge-patch+json")
        props, geom = self._feature(layer, patch, geometry, partial=True)
        return self._unit(layer, actor,
                          lambda conn: Written(fid, edits.update(conn, layer, fid, props, geom, expected)), fid)

    def delete(self, layer: Layer, fid: int, expected: Expected, actor: Actor) -> Written:
        def work(conn: Connection) -> Written:
            edits.delete(conn, layer, fid, expected)
            return Written(fid, None)

        return self._unit(layer, actor, work, fid)

    def restore(self, layer: Layer, fid: int, version: int, expected: Expected | None, actor: Actor) -> Written:
        """Bring a feature (also a deleted one) back to its state at `version`."""
        return self._unit(layer, actor,
                          lambda conn: Written(fid, edits.restore(conn, layer, fid, version, expected)), fid,
                          action="restore")

    @staticmethod
    def _feature(layer: Layer, feature: dict, geometry: GeometryInput, partial: bool):
        props = edits.check_properties(layer, feature.get("properties") or {}, partial=partial)
        geojson = feature.get("geometry")
        if geojson is None:
            if not partial:
                raise InvalidInput("a feature needs a geometry")
            return props, None
        return props, edits.check_geometry(layer, geojson, geometry.crs, geometry.repair)

    def _unit(self, layer: Layer, actor: Actor, work: Callable[[Connection], Written], fid: int | None = None,
              action: str = "") -> Written:
        who = _key_holder(layer, actor)
        with inside_cities(), self.engine.begin() as conn:
            edits.set_actor(conn, who.name if who else actor, action)
            if who and fid is not None:  # the city (and, for an OPD's key, the OPD) before and after the write
                key_scope.check_city(conn, who, layer, fid, "stored")
            written = work(conn)
            if who and written.version is not None:
                key_scope.check_city(conn, who, layer, written.id, "new" if fid is None else "changed")
        for hook in self.on_commit:
            hook(layer.id)
        return written
