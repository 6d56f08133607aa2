"""The leak scan over the programme records and locations: an anonymous crawl of every record collection (items
in JSON, HTML, CSV and GeoPackage, single items, histories), the location layers and the city's tiles carries
no private note, no reporter and nothing of a programme that is not public; with an analyst key the same scan
does find them (so it can fail)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from reliability import leaks
from tests import programme_rows


@pytest.fixture(scope="module")
def rows(engine):
    inserted = programme_rows.insert(engine)
    yield inserted
    programme_rows.remove(engine)


def crawl_in_parts(server, engine, values, plan: leaks.Crawl) -> tuple[leaks.Scanner, list[str]]:
    """The crawl of `plan` split into parts fetched side by side (the server answers on threads): the metadata,
    the records with the map pages, and the city's tiles one zoom at a time. Every part also fetches /layers.
    Returns one scanner holding every part's findings and counts, and every part's problems."""
    parts = [replace(plan, maps=(), records=False, multi_zooms=()),
             replace(plan, metadata=False, multi_zooms=()),
             *(replace(plan, metadata=False, maps=(), records=False, multi_zooms=(z,)) for z in plan.multi_zooms)]
    scanners = [leaks.Scanner(values) for _ in parts]
    problems: list[list[str]] = [[] for _ in parts]
    with ThreadPoolExecutor(len(parts)) as pool:
        for done in [pool.submit(leaks.crawl, server, engine, s, part, problems=p)
                     for part, s, p in zip(parts, scanners, problems, strict=True)]:
            done.result()
    merged = leaks.Scanner(values)
    for s in scanners:
        merged.scanned += s.scanned
        merged.findings += s.findings
        for kind, n in s.kinds.items():
            merged.kinds[kind] = merged.kinds.get(kind, 0) + n
    return merged, [p for part in problems for p in part]


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
                       maps=("embed", "map"), jobs=False, multi_zooms=(13, 14))
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
