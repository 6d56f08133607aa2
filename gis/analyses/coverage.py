"""Coverage analyses as pure functions (GeoDataFrames and rasters in, GeoDataFrames out): who lives within reach
of a park (SNI service radii), the RTH share of each kecamatan (UU 26/2007), and the Sakasanwira gap (one
business centre per kelurahan). No database and no web framework here, so notebooks and the OGC API - Processes
wrappers call the same code. Areas and distances are always measured in `metric_crs`; results are in EPSG:4326.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio.features import rasterize

from gis.analyses.grid import Raster, metric_crs_of  # one raster type for every analysis (re-exported)
from gis.analyses.rules import (
    PARK_STANDARDS,
    PARK_STANDARDS_SOURCE,
    RTH_PUBLIC_SHARE,
    RTH_TOTAL_SHARE,
    UNDERSERVED_BELOW,
)

OUT_CRS = 4326


def _checked(gdf: gpd.GeoDataFrame, name: str, columns: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise ValueError(f"{name}: the GeoDataFrame has no CRS")
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")
    return gdf


def _flag(series: pd.Series) -> np.ndarray:
    """A boolean column that may hold NULLs: NULL is False (only a confirmed `publik` counts as public)."""
    return series.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _output(frame: pd.DataFrame, geometry: gpd.GeoSeries) -> gpd.GeoDataFrame:
    out = gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=list(geometry.to_crs(OUT_CRS)), crs=OUT_CRS)
    return out.sort_values("kode", kind="stable").reset_index(drop=True)


def _burn(geoms, raster: Raster, values=None) -> np.ndarray:
    """Pixels whose centres fall inside the shapes (all_touched=False is GDAL's pixel-centre rule)."""
    values = values if values is not None else [1] * len(geoms)
    shapes = [(g, v) for g, v in zip(geoms, values, strict=True) if g is not None and not g.is_empty]
    if not shapes:
        return np.zeros(raster.array.shape, dtype="int32")
    return rasterize(shapes, out_shape=raster.array.shape, transform=raster.transform, fill=0,
                     all_touched=False, dtype="int32")


def _within_reach(area_m: shapely.Geometry, radius: float, raster: Raster, metric_crs) -> np.ndarray:
    """Pixels whose centre is within `radius` metres of `area_m` (a geometry in the metric CRS).

    A buffer is a polygon whose arcs are chords, so it misses a sliver just inside the true radius. Pixels
    clearly inside (buffer of r - band) or clearly outside (buffer of r + band) are decided by rasterizing;
    only the thin ring between them is settled by an exact distance, which keeps it exact and fast."""
    band = 0.005 * radius + 0.01  # much wider than the chord error of a 16-segment quarter circle (0.0012 r)

    def burn(r: float) -> np.ndarray:
        buf = gpd.GeoSeries([area_m.buffer(r)], crs=metric_crs).to_crs(raster.crs)
        return _burn(list(buf), raster).astype(bool)

    inside = burn(max(radius - band, 0.0))
    ring = burn(radius + band) & ~inside
    rows, cols = np.nonzero(ring)
    if rows.size:
        t = raster.transform
        x, y = t.c + t.a * (cols + 0.5) + t.b * (rows + 0.5), t.f + t.d * (cols + 0.5) + t.e * (rows + 0.5)
        pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=raster.crs).to_crs(metric_crs)
        inside[rows, cols] = shapely.distance(pts.values, area_m) <= radius
    return inside


def coverage_inputs(kelurahan: gpd.GeoDataFrame, parks: gpd.GeoDataFrame, radii_m: Mapping[str, float] | None,
                    public_only: bool, metric_crs: int | None) -> tuple[dict, dict, int | str]:
    """The checked inputs of a park coverage run: the radius of each class, the parks of each class that has
    one (a GeoSeries in the metric CRS, empty geometries left out) and the metric CRS."""
    _checked(kelurahan, "kelurahan", ("kode", "nama"))
    _checked(parks, "parks", ("kelas", "publik") if public_only else ("kelas",))
    metric_crs = metric_crs_of(kelurahan, metric_crs)
    radii = dict(radii_m) if radii_m is not None else {k: v.radius_m for k, v in PARK_STANDARDS.items() if v.radius_m}
    radii = {str(k).strip().lower(): float(v) for k, v in radii.items()}
    chosen = parks[_flag(parks["publik"])] if public_only else parks
    chosen = chosen.to_crs(metric_crs)
    kelas = chosen["kelas"].astype("string").str.strip().str.lower()
    by_class = {}
    for cls, radius in radii.items():
        geoms = chosen.geometry[(kelas == cls).to_numpy()]
        by_class[cls] = geoms[~(geoms.is_empty | geoms.isna())] if radius > 0 else geoms.iloc[:0]
    return radii, by_class, metric_crs


def coverage_sums(labels: np.ndarray, n: int, population: Raster, parks: Mapping[str, shapely.Geometry | None],
                  radii: Mapping[str, float], metric_crs) -> dict[str, np.ndarray]:
    """Per kelurahan (labels 1..n on the population's grid, 0 outside): the people, the people within reach of
    any park and of each class's parks (`parks`: each class's parks unioned, None for none). Sums over parts of
    a grid add up to the sums over the whole grid."""
    pop = np.asarray(population.array, dtype="float64")

    def per_kelurahan(mask: np.ndarray | None = None) -> np.ndarray:
        weights = pop if mask is None else np.where(mask, pop, 0.0)
        return np.bincount(labels.ravel(), weights=weights.ravel(), minlength=n + 1)[1:]

    sums = {"population": per_kelurahan()}
    served_any = np.zeros(pop.shape, dtype=bool)
    for cls, radius in radii.items():
        union = parks.get(cls)
        if union is not None and radius > 0:
            # Union per class: a pixel near two parks of the class counts once.
            reach = _within_reach(union, radius, population, metric_crs)
            served_any |= reach
            sums[f"class:{cls}"] = per_kelurahan(reach)
        else:
            sums[f"class:{cls}"] = np.zeros(n)
    sums["served"] = per_kelurahan(served_any)
    return sums


def coverage_frame(kelurahan: gpd.GeoDataFrame, sums: Mapping[str, np.ndarray], radii: Mapping[str, float],
                   underserved_below: float) -> gpd.GeoDataFrame:
    """The park coverage result from the per-kelurahan sums (coverage_sums, or their total over chunks): the
    shares are taken once, here, from the summed parts."""
    frame = pd.DataFrame({"kode": kelurahan["kode"].to_numpy(), "nama": kelurahan["nama"].to_numpy(),
                          "kecamatan_kode": kelurahan.get("kecamatan_kode", pd.Series([None] * len(kelurahan)))
                          .to_numpy()})
    frame["population"] = sums["population"]
    frame["served"] = sums["served"]

    def ratio(part: np.ndarray) -> np.ndarray:  # nobody lives there: share 0, not NaN (choropleths, sorting)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nan_to_num(part / frame["population"].to_numpy(), nan=0.0)

    frame["share_served"] = ratio(frame["served"].to_numpy())
    for cls in radii:
        frame[f"share_{cls.replace(' ', '_')}"] = ratio(sums[f"class:{cls}"])
    frame["underserved"] = frame["share_served"] < underserved_below

    out = _output(frame, kelurahan.geometry)
    total, served = float(frame["population"].sum()), float(frame["served"].sum())
    out.attrs["radii_m"] = dict(radii)
    out.attrs["source"] = PARK_STANDARDS_SOURCE
    out.attrs["underserved_below"] = underserved_below
    out.attrs["city"] = {"population": total, "served": served, "share_served": served / total if total else 0.0}
    return out


def park_coverage(kelurahan: gpd.GeoDataFrame, parks: gpd.GeoDataFrame, population: Raster, *,
                  radii_m: Mapping[str, float] | None = None, public_only: bool = True,
                  underserved_below: float = UNDERSERVED_BELOW.value,
                  metric_crs: int | None = None) -> gpd.GeoDataFrame:
    """Share of each kelurahan's people (population pixels, by pixel centre) within the service radius of a park,
    measured to the park's edge. Classes without a radius (pemakaman, jalur hijau, hutan kota) serve no one."""
    radii, by_class, metric_crs = coverage_inputs(kelurahan, parks, radii_m, public_only, metric_crs)
    # Label each pixel with the kelurahan holding its centre (1-based, 0 = outside), so the kelurahan sums
    # add up to the city total and every per-kelurahan sum is one bincount.
    labels = _burn(list(kelurahan.geometry.to_crs(population.crs)), population, range(1, len(kelurahan) + 1))
    unions = {cls: geoms.union_all() if len(geoms) else None for cls, geoms in by_class.items()}
    sums = coverage_sums(labels, len(kelurahan), population, unions, radii, metric_crs)
    return coverage_frame(kelurahan, sums, radii, underserved_below)


def rth_ratio(kecamatan: gpd.GeoDataFrame, parks: gpd.GeoDataFrame, *, city: gpd.GeoDataFrame | None = None,
              total_target: float = RTH_TOTAL_SHARE.value, public_target: float = RTH_PUBLIC_SHARE.value,
              metric_crs: int | None = None) -> gpd.GeoDataFrame:
    """RTH hectares and shares per kecamatan and for the whole city (last row) against the UU 26/2007 targets.
    Every park class is RTH. Parks are unioned first, so overlaps count once; where a public and a private park
    overlap, the overlap is public (the private figure is what is left)."""
    _checked(kecamatan, "kecamatan", ("kode", "nama"))
    _checked(parks, "parks", ("publik",))
    metric_crs = metric_crs_of(kecamatan, metric_crs)
    m = parks.to_crs(metric_crs)
    m = m[~(m.geometry.is_empty | m.geometry.isna())]
    public = _flag(m["publik"])
    empty = shapely.Polygon()
    all_rth = m.geometry.union_all() if len(m) else empty
    public_rth = m.geometry[public].union_all() if public.any() else empty
    private_rth = all_rth.difference(public_rth)

    kec_m = kecamatan.geometry.to_crs(metric_crs)
    if city is not None:
        _checked(city, "city")
        city_geom, city_kode = city.geometry.to_crs(metric_crs).union_all(), str(city["kode"].iloc[0])
        city_nama = str(city["nama"].iloc[0]) if "nama" in city.columns else city_kode
    else:
        city_geom, city_kode, city_nama = kec_m.union_all(), "kota", "Seluruh kota"
    areas = gpd.GeoSeries([*kec_m, city_geom], crs=metric_crs)

    def ha(rth: shapely.Geometry) -> np.ndarray:
        return areas.intersection(rth).area.to_numpy() / 1e4

    frame = pd.DataFrame({"kode": [*kecamatan["kode"].astype(str), city_kode],
                          "nama": [*kecamatan["nama"].astype(str), city_nama]})
    frame["area_ha"] = areas.area.to_numpy() / 1e4
    frame["rth_ha"], frame["rth_public_ha"], frame["rth_private_ha"] = ha(all_rth), ha(public_rth), ha(private_rth)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["share_total"] = np.nan_to_num(frame["rth_ha"] / frame["area_ha"], nan=0.0)
        frame["share_public"] = np.nan_to_num(frame["rth_public_ha"] / frame["area_ha"], nan=0.0)
    frame["meets_total"] = frame["share_total"] >= total_target
    frame["meets_public"] = frame["share_public"] >= public_target
    frame["deficit_total_ha"] = (total_target * frame["area_ha"] - frame["rth_ha"]).clip(lower=0.0)
    frame["deficit_public_ha"] = (public_target * frame["area_ha"] - frame["rth_public_ha"]).clip(lower=0.0)

    geoms = areas.to_crs(OUT_CRS)
    out = _output(frame.iloc[:-1], geoms.iloc[:-1])
    city_row = gpd.GeoDataFrame(frame.iloc[-1:].reset_index(drop=True), geometry=[geoms.iloc[-1]], crs=OUT_CRS)
    out = pd.concat([out, city_row], ignore_index=True)  # the city last, after the kecamatan sorted by code
    out.attrs["targets"] = {"total": total_target, "public": public_target}
    out.attrs["sources"] = {"total": RTH_TOTAL_SHARE.source, "public": RTH_PUBLIC_SHARE.source}
    return out


def _centres_by_status(c: gpd.GeoDataFrame, kel_m: gpd.GeoDataFrame, codes) -> dict:
    """Centres per kelurahan for each status (where the layer has one): planned and inactive centres are shown
    beside the active ones, not counted as coverage."""
    if "status" not in c.columns or c.empty:
        return {}
    declared = c["kelurahan_kode"].where(c["kelurahan_kode"].isin(codes)) if "kelurahan_kode" in c.columns \
        else pd.Series(None, index=c.index)
    hit = gpd.sjoin(c[[c.geometry.name]], kel_m[["kode", kel_m.geometry.name]], predicate="within", how="left")
    where = declared.fillna(hit[~hit.index.duplicated(keep="first")]["kode"].reindex(c.index))
    table = pd.DataFrame({"kode": where, "status": c["status"]}).dropna(subset=["kode"])
    return {status: group.groupby("kode").size() for status, group in table.groupby("status")}


def business_center_coverage(kelurahan: gpd.GeoDataFrame, centers: gpd.GeoDataFrame, *,
                             active_only: bool = False, metric_crs: int | None = None) -> gpd.GeoDataFrame:
    """Sakasanwira: which kelurahan have an entrepreneurship centre, with their UMKM, and how far the nearest
    centre is from each kelurahan (from its representative point, metres)."""
    _checked(kelurahan, "kelurahan", ("kode", "nama"))
    _checked(centers, "centers", ("status",) if active_only else ())
    metric_crs = metric_crs_of(kelurahan, metric_crs)
    kel_m = kelurahan.to_crs(metric_crs)
    c = centers.to_crs(metric_crs)
    c = c[~(c.geometry.is_empty | c.geometry.isna())]
    codes = kel_m["kode"].astype(str).to_numpy()
    by_status = _centres_by_status(c, kel_m, codes)
    if active_only:
        c = c[(c["status"] == "active").fillna(False).to_numpy(dtype=bool)]

    # The declared kelurahan code wins (a centre may sit just across a border); otherwise point-in-polygon.
    declared = c["kelurahan_kode"] if "kelurahan_kode" in c.columns else pd.Series(None, index=c.index)
    declared = declared.where(declared.isin(codes))
    hit = gpd.sjoin(c[[c.geometry.name]], kel_m[["kode", kel_m.geometry.name]], predicate="within", how="left")
    located = hit[~hit.index.duplicated(keep="first")]["kode"].reindex(c.index)
    assigned = declared.fillna(located)

    umkm = pd.to_numeric(c["jumlah_umkm"], errors="coerce").fillna(0) if "jumlah_umkm" in c.columns else 0
    per = pd.DataFrame({"kode": assigned, "umkm": umkm}).dropna(subset=["kode"]).groupby("kode")["umkm"]
    n_centres = per.size().reindex(codes, fill_value=0).to_numpy()
    umkm_sum = per.sum().reindex(codes, fill_value=0).to_numpy()

    frame = pd.DataFrame({"kode": codes, "nama": kel_m["nama"].to_numpy(),
                          "kecamatan_kode": kel_m.get("kecamatan_kode", pd.Series([None] * len(kel_m))).to_numpy()})
    frame["n_centres"] = n_centres.astype("int64")
    for status in ("active", "planned", "inactive"):
        frame[f"n_{status}"] = by_status.get(status, pd.Series(0, index=codes)).reindex(codes, fill_value=0) \
            .to_numpy().astype("int64")
    frame["umkm"] = umkm_sum.astype("int64")
    frame["umkm_per_centre"] = np.where(n_centres > 0, umkm_sum / np.maximum(n_centres, 1), np.nan)
    frame["has_centre"] = n_centres > 0
    frame["gap"] = ~frame["has_centre"]
    reps = kel_m.geometry.representative_point().to_numpy()
    if len(c):
        frame["nearest_centre_m"] = shapely.distance(reps[:, None], c.geometry.to_numpy()[None, :]).min(axis=1)
    else:
        frame["nearest_centre_m"] = np.nan

    out = _output(frame, kelurahan.geometry)
    out.attrs["active_only"] = active_only
    out.attrs["gap_list"] = sorted(out.loc[out["gap"], "nama"].astype(str))
    summary = out.groupby("kecamatan_kode", dropna=False).agg(
        kelurahan=("kode", "size"), with_centre=("has_centre", "sum"), umkm=("umkm", "sum"))
    out.attrs["kecamatan"] = [
        {"kecamatan_kode": k, "kelurahan": int(r.kelurahan), "with_centre": int(r.with_centre), "umkm": int(r.umkm)}
        for k, r in summary.sort_index().iterrows()]
    return out


def _angka(value: float, decimals: int = 0) -> str:
    """Indonesian number format: '.' groups thousands, ',' marks decimals (12.345; 1,8)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def suggest_next_centres(coverage: gpd.GeoDataFrame, population_by_kelurahan: Mapping[str, float] | None = None,
                         n: int = 5) -> gpd.GeoDataFrame:
    """The kelurahan without a centre where one would help most: most people first (when known), then the
    farthest from any existing centre. Takes the result of `business_center_coverage`."""
    gaps = coverage[coverage["gap"].to_numpy(dtype=bool)].copy()
    population = pd.Series(dict(population_by_kelurahan) if population_by_kelurahan is not None else {},
                           dtype="float64")
    gaps["population"] = gaps["kode"].map(population).astype("float64")
    gaps = gaps.sort_values(["population", "nearest_centre_m", "kode"], ascending=[False, False, True],
                            na_position="last", kind="stable").head(n).reset_index(drop=True)

    def reason(row) -> str:
        parts = ["Belum ada sentra"]
        if not math.isnan(row.population):
            parts.append(f"penduduk {_angka(row.population)}")
        if math.isnan(row.nearest_centre_m):
            parts.append("belum ada sentra di seluruh kota")
        else:
            parts.append(f"sentra terdekat {_angka(row.nearest_centre_m / 1000, 1)} km")
        return "; ".join(parts)

    gaps["rank"] = np.arange(1, len(gaps) + 1)
    gaps["reason"] = [reason(r) for r in gaps.itertuples()]
    cols = ["rank", "kode", "nama", "kecamatan_kode", "population", "nearest_centre_m", "reason", "geometry"]
    out = gaps[[c for c in cols if c in gaps.columns]]
    out.attrs = {"n": n, "ranked_by": ["population", "nearest_centre_m"] if len(population) else ["nearest_centre_m"]}
    return out
