"""Reading RDTR packages from real files written with GDAL: GeoPackage, Shapefile sets, zips, FileGDB; the
standard's names in any case; field maps; and each file-level problem (no_layer, no_crs, unreadable,
file_too_large, field_map_absent, not_polygons)."""

import json
import os
import time
import zipfile

import geopandas as gpd
import pyogrio
import pytest
import shapely
from pyproj import CRS

from gis.core.errors import InvalidInput
from gis.data.rdtr_files import PackageError, RdtrPackage, read_field_map, read_package

X0, Y0 = 420_000.0, 400_000.0  # Binjai, UTM 47N


def zones_frame(n=4, crs=32647, case=str.upper) -> gpd.GeoDataFrame:
    """n adjacent 100 m x 200 m sub-zones, the standard's attributes named in `case`."""
    polys = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 200) for i in range(n)]
    # one zone as a MultiPolygon of two parts, the others plain Polygons
    polys[-1] = shapely.MultiPolygon([polys[-1], shapely.box(X0, Y0 + 300, X0 + 50, Y0 + 350)])
    codes = ["R-3", "K-1", "P-1", "KPI", "R-2", "SPU-1"]
    attrs = {
        "NAMOBJ": [f"Subzona {i + 1}" for i in range(n)], "NAMZON": ["Zona Perumahan"] * n,
        "KODZON": [codes[i % 6].split("-")[0] for i in range(n)], "NAMSZN": [f"Sub {i}" for i in range(n)],
        "KODSZN": [codes[i % 6] for i in range(n)], "KODBLK": [f"I.A.{i}" for i in range(n)],
        "KODSBL": ["a"] * n, "WADMKC": ["Binjai Utara"] * n,
        "LUASHA": [round(p.area / 10_000, 4) for p in polys], "KRB_03": ["Rawan banjir", None] * (n // 2),
    }
    frame = gpd.GeoDataFrame({case(k): v for k, v in attrs.items()}, geometry=polys, crs=32647)
    return frame.to_crs(crs)


def overlay_frame(crs=32647) -> gpd.GeoDataFrame:
    polys = [shapely.box(X0 + 150, Y0, X0 + 250, Y0 + 100), shapely.box(X0 + 300, Y0, X0 + 400, Y0 + 50)]
    return gpd.GeoDataFrame({"NAMOBJ": ["Sawah A", "Sawah B"]}, geometry=polys, crs=32647).to_crs(crs)


def assert_zones_equal(pkg: RdtrPackage, written: gpd.GeoDataFrame, fids):
    zones = pkg.zones
    assert len(zones) == len(written)
    assert list(zones["fid"]) == list(fids)
    for name in ("NAMOBJ", "NAMZON", "KODZON", "NAMSZN", "KODSZN", "KODBLK", "KODSBL", "WADMKC"):
        assert list(zones[name.lower()]) == list(written[name]), name
    assert zones["luasha"].tolist() == pytest.approx(written["LUASHA"].tolist())
    assert list(zones["krb_03"]) == [v if v else None for v in written["KRB_03"]]
    assert {"kodewp", "kodswp", "jnsrpr", "wadmpr", "lp2b_2"}.isdisjoint(zones.columns)  # absent stays absent
    assert set(zones.geom_type) == {"MultiPolygon"}
    for got, want in zip(zones.geometry, written.geometry, strict=True):
        assert got.equals(want)
    assert pkg.crs == CRS.from_user_input(written.crs)
    assert zones.crs == written.crs


def test_geopackage_zones_overlays_and_ignored_layers(tmp_path):
    path = tmp_path / "rdtr_binjai.gpkg"
    zones, lp2b = zones_frame(), overlay_frame()
    zones.to_file(path, layer="Pola_Ruang")
    lp2b.to_file(path, layer="lp2b_2_binjai")
    krb = overlay_frame().iloc[:1]
    krb.to_file(path, layer="KRB_BINJAI")
    gpd.GeoDataFrame({"NAMA": ["Tugu"]}, geometry=[shapely.Point(X0, Y0)], crs=32647).to_file(path, layer="Titik")
    gpd.GeoDataFrame({"NAMA": ["Batas"]}, geometry=[shapely.box(X0, Y0, X0 + 1, Y0 + 1)],
                     crs=32647).to_file(path, layer="Batas_Admin")

    pkg = read_package(path)

    assert pkg.zone_layer == "Pola_Ruang" and pkg.source == str(path)
    assert_zones_equal(pkg, zones, range(1, len(zones) + 1))
    assert pkg.fields["KODSZN"] == "KODSZN" and "KODEWP" not in pkg.fields
    assert set(pkg.overlays) == {"LP2B_2", "KRB_03"}
    lp = pkg.overlays["LP2B_2"]
    assert list(lp.columns) == ["kode", "namobj", "fid", "geometry"]
    assert list(lp["kode"]) == ["LP2B_2", "LP2B_2"] and list(lp["namobj"]) == ["Sawah A", "Sawah B"]
    assert list(lp["fid"]) == [1, 2] and lp.crs == lp2b.crs
    for got, want in zip(lp.geometry, lp2b.geometry, strict=True):
        assert got.equals(shapely.MultiPolygon([want]))
    assert len(pkg.overlays["KRB_03"]) == 1


def test_names_in_any_case_and_gdal_fids(tmp_path):
    path = tmp_path / "mixed.gpkg"
    written = zones_frame(case=str.capitalize)  # Kodszn, Namszn, Luasha...
    written = written.rename(columns={"Kodszn": "kodszn", "Namszn": "NamSzn"})
    written["fid"] = [10, 20, 30, 40]  # GeoPackage keeps these as its feature ids
    written.to_file(path, layer="zona")

    pkg = read_package(path)

    assert list(pkg.zones["fid"]) == [10, 20, 30, 40]
    assert list(pkg.zones["kodszn"]) == list(written["kodszn"])
    assert list(pkg.zones["namszn"]) == list(written["NamSzn"])
    assert pkg.fields["KODSZN"] == "kodszn" and pkg.fields["NAMSZN"] == "NamSzn"


def write_shapefiles(folder, crs=4326):
    folder.mkdir()
    zones = zones_frame(crs=crs)
    zones.to_file(folder / "Zonasi.shp")
    overlay_frame(crs).to_file(folder / "LP2B_2.shp")
    return zones


def test_shapefile_directory_and_single_shp_in_geographic_crs(tmp_path):
    zones = write_shapefiles(tmp_path / "shp")

    pkg = read_package(tmp_path / "shp")
    assert_zones_equal(pkg, zones, [1, 2, 3, 4])  # shapefile records numbered from 1
    assert pkg.crs.to_epsg() == 4326 and list(pkg.overlays) == ["LP2B_2"]
    assert list(pkg.overlays["LP2B_2"]["fid"]) == [1, 2]

    single = read_package(tmp_path / "shp" / "Zonasi.shp")  # the .shp alone: that layer only
    assert_zones_equal(single, zones, [1, 2, 3, 4])
    assert single.overlays == {}


def test_zip_of_shapefiles_and_zip_of_geopackage(tmp_path):
    zones = write_shapefiles(tmp_path / "shp", crs=32647)
    with zipfile.ZipFile(tmp_path / "rdtr.zip", "w") as z:
        for f in (tmp_path / "shp").iterdir():
            z.write(f, f"RDTR_Binjai/{f.name}")
    pkg = read_package(tmp_path / "rdtr.zip")
    assert_zones_equal(pkg, zones, [1, 2, 3, 4])
    assert list(pkg.overlays) == ["LP2B_2"]

    zones.to_file(tmp_path / "p.gpkg", layer="zona")
    with zipfile.ZipFile(tmp_path / "gpkg.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(tmp_path / "p.gpkg", "data/p.gpkg")
    assert_zones_equal(read_package(tmp_path / "gpkg.zip"), zones, [1, 2, 3, 4])


def test_filegdb_directory(tmp_path):
    assert "w" in pyogrio.list_drivers()["OpenFileGDB"]
    path = tmp_path / "RDTR.gdb"
    zones = zones_frame()
    pyogrio.write_dataframe(zones, path, layer="Zonasi", driver="OpenFileGDB", promote_to_multi=True)
    pyogrio.write_dataframe(overlay_frame(), path, layer="KRB_03", driver="OpenFileGDB", promote_to_multi=True)
    pkg = read_package(path)
    assert_zones_equal(pkg, zones, [1, 2, 3, 4])  # FileGDB OBJECTIDs start at 1
    assert list(pkg.overlays) == ["KRB_03"]


def test_overlays_from_a_code_column(tmp_path):
    path = tmp_path / "p.gpkg"
    zones_frame().to_file(path, layer="zona")
    kk = overlay_frame()
    kk["JNSKKH"] = ["LP2B_2", "Kawasan rawan bencana"]
    kk.to_file(path, layer="ketentuan_khusus")
    pkg = read_package(path)
    assert list(pkg.overlays["LP2B_2"]["namobj"]) == ["Sawah A"]
    assert list(pkg.overlays["KRB_03"]["namobj"]) == ["Sawah B"] and list(pkg.overlays["KRB_03"]["fid"]) == [2]


def test_field_map_for_other_names(tmp_path):
    path = tmp_path / "lokal.gpkg"
    written = zones_frame().rename(columns={"KODSZN": "kode_subzona", "NAMSZN": "nama_sub"})
    written.to_file(path, layer="rencana")
    overlay_frame().to_file(path, layer="sawah_lestari")
    map_file = tmp_path / "map.json"
    map_file.write_text(json.dumps({"kodszn": "KODE_SUBZONA", "NAMSZN": "nama_sub", "layer": "RENCANA",
                                    "overlays": {"lp2b_2": "sawah_lestari"}}))

    fmap = read_field_map(map_file)
    pkg = read_package(path, field_map=fmap)

    assert pkg.zone_layer == "rencana"
    assert list(pkg.zones["kodszn"]) == list(written["kode_subzona"])
    assert list(pkg.zones["namszn"]) == list(written["nama_sub"])
    assert pkg.fields["KODSZN"] == "kode_subzona"
    assert list(pkg.overlays) == ["LP2B_2"] and len(pkg.overlays["LP2B_2"]) == 2


def test_field_map_naming_absent_fields(tmp_path):
    path = tmp_path / "lokal.gpkg"
    zones_frame().to_file(path, layer="zona")
    with pytest.raises(PackageError) as err:
        read_package(path, field_map={"KODSZN": "kode_sub", "NAMSZN": "NAMSZN", "KODBLK": "blok"})
    assert err.value.code == "field_map_absent"
    problem = err.value.problem
    assert problem["severity"] == "error" and problem["features"] == []
    assert "kode_sub" in problem["message"]["en"] and "blok" in problem["message"]["en"]
    assert "KODSZN" in problem["message"]["id"] and "NAMSZN -> NAMSZN" not in problem["message"]["en"]
    assert "KODZON" in problem["available"]  # the file's fields are listed
    with pytest.raises(PackageError, match="layer 'zonasi'"):
        read_package(path, field_map={"layer": "zonasi"})


def test_bad_field_map_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"KODSZN": "kode",')
    with pytest.raises(InvalidInput, match="not valid JSON"):
        read_field_map(bad)
    bad.write_text('{"KODE_SUB": "kode"}')
    with pytest.raises(InvalidInput, match="'KODE_SUB' is not a standard name"):
        read_field_map(bad)
    bad.write_text('{"overlays": {"SAWAH": "x"}}')
    with pytest.raises(InvalidInput, match="unknown overlay code"):
        read_field_map(bad)


def test_shapefile_without_prj_has_no_crs(tmp_path):
    write_shapefiles(tmp_path / "shp")
    (tmp_path / "shp" / "Zonasi.prj").unlink()
    with pytest.raises(PackageError) as err:
        read_package(tmp_path / "shp")
    assert err.value.code == "no_crs" and ".prj" in err.value.detail


def test_zip_with_no_layer(tmp_path):
    with zipfile.ZipFile(tmp_path / "kosong.zip", "w") as z:
        z.writestr("BACA.txt", "peta menyusul")
    with pytest.raises(PackageError) as err:
        read_package(tmp_path / "kosong.zip")
    assert err.value.code == "no_layer" and err.value.problem["message"]["id"]


def test_no_zoning_layer_among_several(tmp_path):
    path = tmp_path / "p.gpkg"
    overlay_frame().to_file(path, layer="jalan")
    overlay_frame().to_file(path, layer="sungai")
    with pytest.raises(PackageError) as err:
        read_package(path)
    assert err.value.code == "no_layer" and "jalan, sungai" in err.value.detail


def test_zones_of_points_or_lines_are_not_polygons(tmp_path):
    zones = zones_frame()
    points = zones.set_geometry(zones.centroid)
    points.to_file(tmp_path / "titik.gpkg", layer="zona")
    with pytest.raises(PackageError) as err:
        read_package(tmp_path / "titik.gpkg")
    assert err.value.code == "not_polygons" and "Point" in err.value.detail
    lines = zones.set_geometry(zones.boundary)
    lines.to_file(tmp_path / "garis.shp")
    with pytest.raises(PackageError) as err:
        read_package(tmp_path / "garis.shp")
    assert err.value.code == "not_polygons"


def test_unreadable_file(tmp_path):
    path = tmp_path / "rusak.gpkg"
    path.write_bytes(b"this is not a geopackage" * 100)
    with pytest.raises(PackageError) as err:
        read_package(path)
    assert err.value.code == "unreadable" and "rusak.gpkg" in err.value.detail


def test_two_gigabyte_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "besar.gpkg"
    path.touch()
    os.truncate(path, 2 << 30)  # sparse: no disk used
    started = time.perf_counter()
    with pytest.raises(PackageError) as err:
        read_package(path)
    assert time.perf_counter() - started < 1.0
    assert err.value.code == "file_too_large" and err.value.problem["size_bytes"] == 2 << 30
    assert "2,048 MB" in err.value.detail

    write_shapefiles(tmp_path / "shp")  # a shapefile set counts all its files
    os.truncate(tmp_path / "shp" / "Zonasi.dbf", 2 << 30)
    with pytest.raises(PackageError, match="over the 1,024 MB limit"):
        read_package(tmp_path / "shp" / "Zonasi.shp")
    small = zones_frame()
    small.to_file(tmp_path / "kecil.gpkg")
    with pytest.raises(PackageError) as err:
        read_package(tmp_path / "kecil.gpkg", max_bytes=1000)
    assert err.value.code == "file_too_large"
