"""The leak crawl (reliability/leaks.py) for the test suite: the same requests, fetched in parts side by side
against the threaded test server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from reliability import leaks


def crawl_in_parts(server: str, engine, values: dict[str, set[str]],
                   plan: leaks.Crawl) -> tuple[leaks.Scanner, list[str]]:
    """Every request of `leaks.crawl(plan)`, in parts fetched side by side: the metadata, collections, histories
    and processes; the records with the map pages; the city's tiles one zoom at a time. A part without the
    metadata also fetches /layers. Returns one scanner holding every part's findings and counts, and every
    part's problems."""
    rest = {"collections": [], "metadata": False, "history": 0, "processes": False, "jobs": False,
            "collection_tiles": False}
    parts = [replace(plan, records=False, maps=(), multi_zooms=()),
             replace(plan, **rest, multi_zooms=()),
             *(replace(plan, **rest, records=False, maps=(), multi_zooms=(z,)) for z in plan.multi_zooms)]
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
