"""The web map benchmark's measuring (bench/webmap.py) on the real embed in Debian's Chromium: what it counts as
the page's weight are the bytes that came over the wire, every tile of every visible layer is counted as a tile,
foreign hosts are noticed, and the Fast 3G emulation is in effect. Its speed figures are `make bench`'s business:
nothing here asserts how fast a page is."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest

from bench.webmap import FAST_3G, GOAL_KIB, KINDS, load_once, percentile, report
from layers import CATALOG
from layers.maps import MAPS
from tests.test_browser import OSM_HOST

EMBED = {"width": 560, "height": 320}


@pytest.fixture(scope="module")
def embed_loads(browser, server):
    """Cold loads of the embed: without the basemap unthrottled and on Fast 3G, with the basemap unthrottled."""
    url = f"{server}/embed/binjai"
    return {"none": load_once(browser, url + "?basemap=none", EMBED, None),
            "none, Fast 3G": load_once(browser, url + "?basemap=none", EMBED, FAST_3G),
            "osm": load_once(browser, url + "?basemap=online", EMBED, None)}


def wire_bytes(url: str) -> int:
    """The compressed body as the server sends it to a browser (gzip accepted)."""
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip, deflate"}) as r:
        r.read()
        return r.num_bytes_downloaded


def test_weight_is_the_compressed_bytes_of_every_response(embed_loads, server):
    load = embed_loads["none"]
    assert {urlsplit(r.url).netloc for r in load.resources} == {urlsplit(server).netloc}
    bodies = {r.url: wire_bytes(r.url) for r in load.resources}
    for r in load.resources:
        # what Chromium received: the same compressed body plus the status line and headers (a few hundred bytes)
        assert bodies[r.url] <= r.bytes <= bodies[r.url] + 1024, (r.url, bodies[r.url], r.bytes)
    assert sum(bodies.values()) <= load.weight <= sum(bodies.values()) + 1024 * len(bodies)
    assert any(r.bytes < len(httpx.get(r.url).content) / 2 for r in load.resources)  # compressed, not decoded size
    assert sum(load.by_kind().values()) == load.weight and set(load.by_kind()) == set(KINDS)
    # the embed carries its scripts, the libraries too, in its page (a file would cost a round trip)
    assert [r.kind for r in load.resources if urlsplit(r.url).path.endswith(".js")] == []
    assert [r.kind for r in load.resources].count("page") == 1


def test_every_visible_layers_tiles_count_as_tiles_and_ready_waits_for_them(embed_loads):
    load = embed_loads["none"]
    tiles = [r for r in load.resources if r.kind == "tiles"]
    # one tile request holds every visible layer (`/tiles/...?collections=`)
    layers = {c for r in tiles for c in parse_qs(urlsplit(r.url).query)["collections"][0].split(",")}
    assert layers == {i for i in MAPS["binjai"].visible if CATALOG[i].public}
    assert all(r.end is not None and r.status in (200, 204) for r in tiles)
    # "empty" means no feature there: the same tiles fetched again have no body
    no_body = {r.url for r in tiles if httpx.get(r.url).content == b""}
    assert {r.url for r in tiles if r.empty} == no_body and len(no_body) < len(tiles)
    assert load.seconds >= max(r.end for r in tiles) and load.seconds >= load.ready > 0


def test_the_basemap_is_a_foreign_host_and_absent_with_basemap_none(embed_loads, server):
    own = urlsplit(server).netloc
    assert embed_loads["none"].hosts() == {own}
    with_basemap = embed_loads["osm"]
    assert with_basemap.hosts() == {own, OSM_HOST}
    osm = [r for r in with_basemap.resources if urlsplit(r.url).netloc == OSM_HOST]
    assert osm and all(r.kind == "basemap" for r in osm)


def test_fast_3g_is_emulated(embed_loads):
    """Every response of the throttled load waits at least the preset's latency; the unthrottled ones do not."""
    latency = FAST_3G["latency"] / 1000
    throttled, free = embed_loads["none, Fast 3G"], embed_loads["none"]
    assert all(r.end - r.start >= latency * 0.95 for r in throttled.resources), [
        (r.url, r.end - r.start) for r in throttled.resources if r.end - r.start < latency * 0.95]
    assert min(r.end - r.start for r in free.resources) < latency
    # the same page, the same bytes: throttling changes the time, not the weight
    assert {urlsplit(r.url).path for r in throttled.resources} == {urlsplit(r.url).path for r in free.resources}


def test_percentile_is_the_nearest_rank():
    values = list(np.random.default_rng(16).uniform(0.5, 9, 23))
    for q in (50, 95, 100):
        assert percentile(values, q) == np.percentile(values, q, method="inverted_cdf")


def test_report_states_the_goals_from_the_loads(embed_loads, server):
    loads = [embed_loads["none, Fast 3G"]]
    results = {("embed", "none", "Fast 3G"): loads, ("embed", "none", "unthrottled"): [embed_loads["none"]]}
    machine = {"date": "today", "chromium": "x", "nproc": 2, "cpu": "cpu", "load_before": "0", "load_after": "0",
               "host": urlsplit(server).netloc, "internet": False}
    text = report(results, machine)
    weight = loads[0].weight
    verdict = "met" if weight <= GOAL_KIB * 1024 else "**missed**"
    assert f"| embed weight, basemap none | {weight / 1024:.0f} KiB | <= {GOAL_KIB} KiB | {verdict} |" in text
    largest = max(loads[0].resources, key=lambda r: r.bytes)
    assert f"`{urlsplit(largest.url).path}`" in text.split("largest responses")[1].splitlines()[4]
