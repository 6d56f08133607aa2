"""A Python client for a PetaKota service, for analysts: GeoDataFrames in and out, no JSON plumbing.

    from gis.client import Client
    client = Client("http://127.0.0.1:8000", api_key=None)      # a key for private fields and writes
    kelurahan = client.read("kelurahan")                          # every page, index = feature id
    res = client.run("site-suitability", target_ha=138)           # OGC API - Processes
    res["candidates"]                                             # a GeoDataFrame (EPSG:4326)
    res.raster_path("suitability_raster")                         # the result raster as a local COG

Frames come back in lon/lat (EPSG:4326) unless a projected `crs` is asked for; geometries sent to the service
(shapely geometries, GeoDataFrames, GeoSeries) are taken as lon/lat, or reprojected from the frame's CRS.
Every error response of the service (RFC 9457 problem+json) raises a `PetaKotaError` subclass whose message
is the service's `detail`. Only HTTP: this module imports nothing of the web framework or the database."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import pandas as pd
from shapely.geometry.base import BaseGeometry

from gis.client.convert import (
    MAX_PAGE,
    _content_crs,
    _crs_request,
    _datetime_param,
    _features,
    _frame,
    _geometry,
    _input,
    _is_feature_collection,
    _is_raster_ref,
    _names,
    _plain,
)
from gis.client.errors import NotFound, PetaKotaError, _error

# --- results of processes ---------------------------------------------------------------------------------

class RasterRef(dict):
    """A raster a process wrote (`{"id": ..., "tiles": ...}`); `.download()` fetches it as a local COG."""

    def __init__(self, value: Mapping, client: Client | None):
        super().__init__(value)
        self._client = client
        self._path: Path | None = None

    def download(self, dest_dir: str | Path | None = None) -> Path:
        if self._client is None:
            raise RuntimeError("this raster reference is not tied to a Client")
        if self._path is None or dest_dir is not None or not self._path.exists():
            self._path = self._client.download_raster(self["id"], dest_dir or self._client.cache_dir)
        return self._path


class ProcessResult(dict):
    """The JSON result of a process, with every GeoJSON FeatureCollection (also one level down) replaced by a
    GeoDataFrame in EPSG:4326 and every raster reference by a `RasterRef`; `raster_path(key)` downloads one."""

    def __init__(self, doc: Mapping, client: Client | None = None):
        super().__init__({k: self._convert(v, client, nested=True) for k, v in doc.items()})
        self.client = client

    @classmethod
    def _convert(cls, value: Any, client: Client | None, nested: bool) -> Any:
        if _is_feature_collection(value):
            return _frame(value["features"], "EPSG:4326")
        if _is_raster_ref(value):
            return RasterRef(value, client)
        if nested and isinstance(value, Mapping):
            return {k: cls._convert(v, client, nested=False) for k, v in value.items()}
        return value

    @property
    def rasters(self) -> list[str]:
        """The keys holding raster references."""
        return [k for k, v in self.items() if isinstance(v, RasterRef)]

    @property
    def frames(self) -> list[str]:
        """The keys holding GeoDataFrames."""
        return [k for k, v in self.items() if isinstance(v, gpd.GeoDataFrame)]

    def raster_path(self, key: str, dest_dir: str | Path | None = None) -> Path:
        """Download the raster under `key` (once) and return the local GeoTIFF's path (the client's temporary
        cache directory unless `dest_dir` is given)."""
        ref = self.get(key)
        if not isinstance(ref, RasterRef):
            raise KeyError(f"{key!r} is not a raster in this result; rasters: {', '.join(self.rasters) or 'none'}")
        return ref.download(dest_dir)


# --- the client -------------------------------------------------------------------------------------------


class Client:
    """A PetaKota service at `base_url`; `api_key` (analyst, planner or admin) for private fields and writes."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 120):
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/geo+json, application/json;q=0.9, application/problem+json;q=0.8",
                   "User-Agent": "petakota-client"}
        if api_key:
            headers["X-API-Key"] = api_key
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self._catalog: dict | None = None
        self._cache_dir: Path | None = None

    def __repr__(self) -> str:
        return f"Client({self.base_url!r}, api_key={'...' if 'X-API-Key' in self._http.headers else None})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def cache_dir(self) -> Path:
        """Where `ProcessResult.raster_path` puts downloads by default (a temporary directory)."""
        if self._cache_dir is None:
            self._cache_dir = Path(tempfile.mkdtemp(prefix="petakota-"))
        return self._cache_dir

    def _request(self, method: str, url: str, **kwargs) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise PetaKotaError(None, "Service unreachable",
                                f"cannot reach PetaKota at {self.base_url} ({exc}); is the service running "
                                f"(`make run`), and is PETAKOTA_URL right?") from exc
        if not response.is_success:
            raise _error(response)
        return response

    # catalog

    def _layer_info(self) -> dict:
        if self._catalog is None:
            self._catalog = {entry["id"]: entry for entry in self._request("GET", "/layers").json()["layers"]}
        return self._catalog

    def _declaration(self, layer: str) -> dict:
        if layer not in self._layer_info():
            self._catalog = None  # a layer added since the catalog was read
        return self._layer_info().get(layer) or {}

    def _fields(self, layer: str) -> dict[str, str]:
        return {f["name"]: f["type"] for f in self._declaration(layer).get("fields", [])}

    def layers(self) -> pd.DataFrame:
        """The layer catalog (what this key may see): id, title, title_en, geometry_type, illustrative, public,
        feature_count, bbox, source."""
        self._catalog = None
        rows = [{"id": e["id"], "title": e["title"]["id"], "title_en": e["title"]["en"],
                 "geometry_type": e["geometry_type"], "illustrative": e["illustrative"], "public": e["public"],
                 "feature_count": e.get("feature_count"), "bbox": e.get("bbox"), "source": e.get("source")}
                for e in self._layer_info().values()]
        return pd.DataFrame(rows, columns=["id", "title", "title_en", "geometry_type", "illustrative", "public",
                                           "feature_count", "bbox", "source"])

    # reading

    def read(self, layer: str, bbox=None, filter: str | dict | None = None, crs=None,
             properties: Iterable[str] | str | None = None, datetime=None, limit: int | None = None,
             page_size: int = 1000) -> gpd.GeoDataFrame:
        """Features of a layer as a GeoDataFrame, following `next` links until done (or `limit` features).

        bbox: (minx, miny, maxx, maxy) in lon/lat, or a shapely geometry (its bounds). filter: CQL2 text, or a
        CQL2 JSON dict. crs: a projected CRS (32647, "EPSG:32647"...) to get coordinates in; lon/lat otherwise.
        properties: the fields to fetch. datetime: a date, "2024-01-01/..", or a (start, end) tuple (None =
        open). The index is the feature id; `gdf.attrs["layer"]` names the layer and `gdf.attrs["declaration"]`
        holds its declaration as JSON (for `gis.render.explore`)."""
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE}")
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")
        params: dict[str, Any] = {"limit": min(page_size, limit) if limit else page_size}
        if bbox is not None:
            bounds = bbox.bounds if isinstance(bbox, BaseGeometry) else tuple(bbox)
            params["bbox"] = ",".join(repr(float(v)) for v in bounds)
        if filter is not None:
            if isinstance(filter, Mapping):
                params["filter"], params["filter-lang"] = json.dumps(filter), "cql2-json"
            else:
                params["filter"] = str(filter)
        crs_uri = _crs_request(crs)
        if crs_uri:
            params["crs"] = crs_uri
        if properties is not None:
            params["properties"] = properties if isinstance(properties, str) else ",".join(properties)
        if datetime is not None:
            params["datetime"] = _datetime_param(datetime)

        features: list[dict] = []
        url: str | httpx.URL | None = f"/collections/{layer}/items"
        header = None
        while url is not None:
            response = self._request("GET", url, params=params)
            params = None  # `next` links carry every parameter
            header = header or response.headers.get("content-crs")
            doc = response.json()
            features.extend(doc.get("features") or [])
            if limit is not None and len(features) >= limit:
                del features[limit:]
                break
            nxt = next((link["href"] for link in doc.get("links", []) if link.get("rel") == "next"), None)
            url = None
            if nxt and doc.get("features"):
                url = httpx.URL(nxt)
                if limit is not None:
                    url = url.copy_set_param("limit", min(page_size, limit - len(features)))
        frame_crs, lat_lon = _content_crs(header)
        fields = self._fields(layer)
        if properties is not None and fields:
            wanted = set(_names(properties))
            fields = {k: v for k, v in fields.items() if k in wanted}
        gdf = _frame(features, frame_crs, lat_lon, layer, fields)
        # explore() draws with the layer's own style; JSON text, as pandas deep-copies attrs on every operation
        gdf.attrs["declaration"] = json.dumps(self._declaration(layer))
        return gdf

    def get(self, layer: str, fid: int, crs=None) -> tuple[gpd.GeoDataFrame, str]:
        """One feature (a one-row GeoDataFrame) and its ETag (for `update`, `delete`, `restore`)."""
        crs_uri = _crs_request(crs)
        response = self._request("GET", f"/collections/{layer}/items/{int(fid)}",
                                 params={"crs": crs_uri} if crs_uri else None)
        frame_crs, lat_lon = _content_crs(response.headers.get("content-crs"))
        feature = response.json()
        return _frame([feature], frame_crs, lat_lon, layer, self._fields(layer)), response.headers["etag"]

    # writing (planner key)

    def create(self, layer: str, features: gpd.GeoDataFrame | dict) -> list[int]:
        """Add features (a GeoDataFrame, a GeoJSON Feature or FeatureCollection); returns the new ids. Each
        feature is one request: if one is refused, the error's `created` lists the ids already added."""
        ids: list[int] = []
        for n, feature in enumerate(_features(features)):
            try:
                ids.append(int(self._request("POST", f"/collections/{layer}/items", json=feature).json()["id"]))
            except PetaKotaError as exc:
                exc.created = ids
                if n:
                    exc.args = (f"feature {n + 1}: {exc.detail} (features 1-{n} were created: ids {ids})",)
                raise
        return ids

    def update(self, layer: str, fid: int, properties: Mapping | None = None, geometry=None,
               etag: str | None = None) -> str:
        """Change some properties and/or the geometry (shapely, lon/lat; or a GeoDataFrame/GeoJSON). Sends the
        ETag as If-Match (read first when not given); a stale ETag raises `Conflict`. Returns the new ETag."""
        if etag is None:
            etag = self.get(layer, fid)[1]
        body = {"type": "Feature", "properties": _plain(dict(properties or {})),
                "geometry": None if geometry is None else _geometry(geometry)}
        response = self._request("PATCH", f"/collections/{layer}/items/{int(fid)}", json=body,
                                 headers={"If-Match": etag})
        return response.headers["etag"]

    def delete(self, layer: str, fid: int, etag: str | None = None) -> None:
        """Delete a feature (If-Match: its ETag, read first when not given). `restore` brings it back."""
        if etag is None:
            etag = self.get(layer, fid)[1]
        self._request("DELETE", f"/collections/{layer}/items/{int(fid)}", headers={"If-Match": etag})

    def history(self, layer: str, fid: int) -> pd.DataFrame:
        """Every recorded write of a feature, oldest first: version, action, actor (analysts), at, before, after."""
        entries = self._request("GET", f"/collections/{layer}/items/{int(fid)}/history").json()["history"]
        frame = pd.DataFrame(entries, columns=["version", "action", "actor", "at", "before", "after"])
        frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
        return frame

    def restore(self, layer: str, fid: int, version: int, etag: str | None = None) -> str:
        """Bring a feature (also a deleted one) back to an earlier version; returns the new ETag."""
        if etag is None:
            try:
                etag = self.get(layer, fid)[1]
            except NotFound:
                etag = None  # deleted: nothing to match
        response = self._request("POST", f"/collections/{layer}/items/{int(fid)}/history/{int(version)}/restore",
                                 headers={"If-Match": etag} if etag else None)
        return response.headers["etag"]

    # processes and rasters

    def processes(self) -> pd.DataFrame:
        """The analyses offered (OGC API - Processes): id, title, title_en, description."""
        rows = self._request("GET", "/processes").json()["processes"]
        return pd.DataFrame(rows, columns=["id", "title", "title_en", "description"])

    def run(self, process: str, **inputs) -> ProcessResult:
        """Run a process synchronously. Shapely geometries and GeoDataFrames/GeoSeries among the inputs are sent
        as GeoJSON geometries in lon/lat (a frame as the union of its rows)."""
        body = {"inputs": {k: _input(v) for k, v in inputs.items()}}
        return ProcessResult(self._request("POST", f"/processes/{process}/execution", json=body).json(), self)

    def rasters(self) -> pd.DataFrame:
        """The raster registry: id, title, title_en, units, kind, illustrative."""
        rows = [{"id": r["id"], "title": r["title"]["id"], "title_en": r["title"]["en"], "units": r["units"],
                 "kind": r["kind"], "illustrative": r["illustrative"]}
                for r in self._request("GET", "/rasters").json()["rasters"]]
        return pd.DataFrame(rows, columns=["id", "title", "title_en", "units", "kind", "illustrative"])

    def raster_stats(self, raster_id: str, geometry, bins: int | None = None) -> dict:
        """Statistics (count, min, max, mean, sum, std, area_ha, histogram) of the pixels whose centres fall
        inside a polygon (shapely in lon/lat, a GeoDataFrame, or GeoJSON)."""
        return self._request("POST", f"/rasters/{raster_id}/statistics", json=_geometry(geometry),
                             params={"bins": bins} if bins else None).json()

    def download_raster(self, raster_id: str, dest_dir: str | Path = ".") -> Path:
        """Download a raster's Cloud Optimized GeoTIFF to `dest_dir/<id>.tif`; returns the path."""
        dest = Path(dest_dir)
        dest.mkdir(parents=True, exist_ok=True)
        path = dest / f"{raster_id}.tif"
        part = path.with_suffix(".tif.part")
        try:
            with self._http.stream("GET", f"/rasters/{raster_id}/download") as response:
                if not response.is_success:
                    response.read()
                    raise _error(response)
                with part.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        out.write(chunk)
        except httpx.TransportError as exc:
            part.unlink(missing_ok=True)
            raise PetaKotaError(None, "Service unreachable", f"downloading {raster_id!r} failed: {exc}") from exc
        part.replace(path)
        return path
