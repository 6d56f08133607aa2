"""The leak scan over the programme records and locations: an anonymous crawl of every record collection (items
in JSON, HTML, CSV and GeoPackage, single items, histories), the location layers and the city's tiles carries
no private note, no reporter and nothing of a programme that is not public; with an analyst key the same scan
does find them (so it can fail)."""

from __future__ import annotations

import pytest

from reliability import leaks
from tests import programme_rows
from tests.leak_crawl import crawl_in_parts


@pytest.fixture(scope="module")
def rows(engine):
    inserted = programme_rows.insert(engine)
    yield inserted
    programme_rows.remove(engine)


def test_anonymous_crawl_of_programmes_carries_no_private_value(server, engine, keys, rows):
    values = leaks.record_private_values(engine)
    # the values looked for are the fixture's own: private notes, reporters, the hidden programme's names
    assert "Catatan rahasia Hotel 5523" in values["programmes.catatan"]
    assert "Petugas Alfa Uji" in values["programme_progress.oleh"]
    assert rows.hidden_a in values["programmes.kode (not public)"]
    assert "Lokasi rahasia Hotel Uji" in values["programme_points.nama (not public)"]
    assert "Keterangan Lokasi rahasia Hotel Uji" in values["programme_points.keterangan (not public)"]
    assert rows.public_a not in str(values)  # a public programme's code is public
    plan = leaks.Crawl(collections=[], collection_tiles=False, metadata=True, history=0, processes=False,
                       maps=("embed", "map"), jobs=False, multi_zooms=(13, 14), geoportal=False)
    scanner, problems = crawl_in_parts(server, engine, values, plan)
    assert problems == []
    assert scanner.findings == []
    assert scanner.kinds.get("gpkg") == 3 and scanner.kinds.get("csv") == 3 and scanner.kinds.get("html", 0) >= 5
    assert scanner.kinds.get("mvt", 0) > 0
    # the scan can fail: an analyst key's answers carry the private values and fields
    assert leaks.control(server, keys["analyst"], values) > 0


def test_scanner_finds_record_field_names_as_fields_only():
    scanner = leaks.Scanner({"x": {"Rahasia 1234"}})
    scanner.scan_text("attribution", '{"attribution": "Data ilustratif (dibuat oleh PetaKota)"}')
    assert scanner.findings == []
    for body in ('{"properties": {"oleh": null}}', "<th>catatan</th>", "id,kode,catatan\n1,a,b",
                 "id,oleh\r\n1,x", "note: Rahasia 1234."):
        scanner.scan_text("leaky", body)
    assert len(scanner.findings) == 5
