"""Shared helpers: problem+json checks, raw HTTP (paths sent byte for byte), database fingerprints, a threaded
load generator with per-request records, and percentiles."""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine, text

PROBLEM = "application/problem+json"
# The tables whose rows must not change under hostile input; checksummed whole (every column, geometry too).
CHECKSUMMED = ("parks", "project_parcels")


def is_problem(status: int, headers, body: bytes | str) -> str | None:
    """None when the response is a proper RFC 9457 problem for `status`, else what is wrong with it."""
    ctype = headers.get("content-type", "")
    if not ctype.startswith(PROBLEM):
        return f"content-type {ctype!r}, not {PROBLEM}"
    try:
        doc = json.loads(body)
    except ValueError:
        return "body is not JSON"
    if not isinstance(doc, dict) or doc.get("status") != status or not doc.get("detail"):
        return f"problem body without matching status/detail: {str(doc)[:120]}"
    return None


@dataclass
class Raw:
    status: int
    headers: dict
    body: bytes
    seconds: float


def raw_request(base: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 60, chunked: bool = False) -> Raw:
    """One request with the path sent exactly as given (httpx and browsers normalise `..` and `%2e`). A server
    may answer (413) and close before the whole body is sent: the answer is still read."""
    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    t0 = time.perf_counter()
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None and not chunked:
            conn.putheader("Content-Length", str(len(body)))
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        if body is not None:
            step = 1 << 20
            try:
                if chunked:
                    for i in range(0, len(body), step):
                        conn.send(b"%x\r\n" % len(body[i:i + step]) + body[i:i + step] + b"\r\n")
                    conn.send(b"0\r\n\r\n")
                else:
                    conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
        try:
            r = conn.getresponse()
            data = r.read()
        except (ConnectionResetError, http.client.RemoteDisconnected) as exc:
            return Raw(0, {}, repr(exc).encode(), time.perf_counter() - t0)
        return Raw(r.status, {k.lower(): v for k, v in r.getheaders()}, data, time.perf_counter() - t0)
    finally:
        conn.close()


def table_counts(engine: Engine) -> dict[str, int]:
    """Row counts of every layer table (from the catalog), the edit history and the API keys."""
    with engine.connect() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT LIKE 'spatial_ref_sys' "
            "ORDER BY 1"))]
        return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}


def fingerprint(engine: Engine) -> dict:
    """Row counts of all tables and an md5 over every row of the checksummed tables."""
    out = {"counts": table_counts(engine)}
    with engine.connect() as conn:
        for t in CHECKSUMMED:
            out[f"md5:{t}"] = conn.execute(text(
                f"SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY id), '')) FROM {t} t")).scalar()
    return out


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


@dataclass
class Record:
    path: str
    start: float  # time.monotonic() when sent
    seconds: float
    status: int  # 0: no response (connection error or timeout)
    ctype: str = ""
    retry_after: str | None = None
    problem_error: str | None = None  # set when a 5xx/4xx is not a proper problem+json
    error: str = ""


@dataclass
class LoadResult:
    records: list[Record] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> list[Record]:
        return [r for r in self.records if r.status == 0 or r.status >= 400]

    def summary(self) -> dict:
        lat = [r.seconds for r in self.records]
        return {"requests": len(self.records), "rps": len(self.records) / self.seconds if self.seconds else 0,
                "p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000,
                "errors": len(self.errors)}


def run_load(base: str, paths: list[str], concurrency: int, seconds: float, headers: dict | None = None,
             timeout: float = 30, stop: threading.Event | None = None) -> LoadResult:
    """`concurrency` threads, each with its own keep-alive connection, cycling through `paths` (each thread
    starting at a different place) for `seconds` or until `stop` is set. Every request is recorded."""
    result = LoadResult()
    lock = threading.Lock()
    stop = stop or threading.Event()
    t_end = time.monotonic() + seconds

    def worker(n: int):
        mine = []
        i = n * len(paths) // concurrency
        with httpx.Client(base_url=base, headers=headers, timeout=timeout) as client:
            while time.monotonic() < t_end and not stop.is_set():
                path = paths[i % len(paths)]
                i += 1
                t0 = time.monotonic()
                try:
                    r = client.get(path)
                    body = r.content
                    rec = Record(path, t0, time.monotonic() - t0, r.status_code, r.headers.get("content-type", ""),
                                 r.headers.get("retry-after"))
                    if r.status_code >= 400 and not path.startswith("/healthz"):
                        rec.problem_error = is_problem(r.status_code, r.headers, body)
                except httpx.HTTPError as exc:
                    rec = Record(path, t0, time.monotonic() - t0, 0, error=exc.__class__.__name__)
                mine.append(rec)
        with lock:
            result.records.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(concurrency)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - t0
    result.records.sort(key=lambda r: r.start)
    return result


def city_tiles(engine: Engine, zooms: tuple[int, ...], limit_per_zoom: int | None = None) -> list[tuple[int, int, int]]:
    """WebMercatorQuad tiles covering the city boundary (the `kota` layer) at the given zooms."""
    import morecantile

    with engine.connect() as conn:
        west, south, east, north = conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM kota) s")).one()
    tms = morecantile.tms.get("WebMercatorQuad")
    out = []
    for z in zooms:
        tiles = [(t.z, t.x, t.y) for t in tms.tiles(west, south, east, north, [z])]
        if limit_per_zoom and len(tiles) > limit_per_zoom:
            step = len(tiles) / limit_per_zoom
            tiles = [tiles[int(k * step)] for k in range(limit_per_zoom)]
        out += tiles
    return out
